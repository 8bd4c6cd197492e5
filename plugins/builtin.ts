/**
 * The built-in plugins, and a registry holding them. Importing this module
 * registers nothing by itself; call {@linkcode createDefaultRegistry}.
 *
 * @module
 */

import { createRegistry, type Registry } from "../core/registry.ts";
import type { Plugin } from "../core/plugin.ts";
import { image2dAdapter, sliceMeanAdapter, sliceStackAdapter } from "./adapters/mod.ts";
import { abmilHead, decoder3dHead, knnHead, linearHead } from "./heads/mod.ts";
import { METRIC_PLUGINS } from "./metrics/mod.ts";
import { ctPlugin, mriPlugin, petPlugin, xrayPlugin } from "./modalities/mod.ts";
import { onnxEncoderPlugin } from "./encoders/onnx/onnx_encoder.ts";
import { DINOV3_ENCODERS } from "./encoders/dinov3/mod.ts";
import { TASK_PLUGINS } from "./tasks/mod.ts";
import { affinityHead } from "./heads/affinity/mod.ts";
import { emPlugin } from "./modalities/em/mod.ts";
import { tileBagAdapter } from "./adapters/tile_bag/mod.ts";
import { wsiPlugin } from "./modalities/wsi/mod.ts";

/** Every built-in plugin: encoders, adapters, heads, metrics, tasks, modalities. */
export function builtinPlugins(): Plugin[] {
  return [
    ...TASK_PLUGINS,
    ...DINOV3_ENCODERS,
    onnxEncoderPlugin,
    image2dAdapter,
    sliceMeanAdapter,
    sliceStackAdapter,
    tileBagAdapter,
    linearHead,
    knnHead,
    abmilHead,
    decoder3dHead,
    affinityHead,
    ...METRIC_PLUGINS,
    xrayPlugin,
    ctPlugin,
    mriPlugin,
    petPlugin,
    emPlugin,
    wsiPlugin,
  ];
}

/** A registry with every built-in plugin, plus extra ones (e.g. from `--plugin`). */
export function createDefaultRegistry(extra: readonly Plugin[] = []): Registry {
  return createRegistry([...builtinPlugins(), ...extra]);
}

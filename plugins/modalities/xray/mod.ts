/**
 * The `xray` modality: 2D chest radiograph classification with a frozen
 * encoder (PROTOCOLS.md, "2D classification — linear probe").
 *
 * - `nih14`: NIH ChestX-ray14 (PNG, 14 labels, official patient-wise split);
 * - `rsna`: RSNA Pneumonia (DICOM, binary, MGCA split: MGCA's files or recomputed exactly).
 *
 * Each dataset opens the folder exactly as downloaded and ships a
 * synthetic generator that writes the same layout (see README.md).
 * Loaders use `Deno.*` file APIs.
 *
 * @example Register the plugin and open a synthetic NIH-14
 * ```ts
 * import { xrayPlugin } from "./mod.ts";
 * import { createDefaultRegistry } from "../../builtin.ts";
 * import assert from "node:assert/strict";
 * // A registry holds the tasks, heads and metrics the datasets name: the built-ins here.
 * const registry = createDefaultRegistry();
 * assert.ok(registry.get("modality", "xray") === xrayPlugin);
 * const spec = registry.get("modality", "xray").datasets.find((d) => d.name === "nih14")!;
 * const dir = await Deno.makeTempDir();
 * await spec.synthesize(dir, { count: 6, seed: 0 });
 * const ds = await spec.open(dir);
 * assert.equal(ds.id, "xray/nih14");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { nih14Dataset } from "./nih14.ts";
import { rsnaDataset } from "./rsna.ts";

export {
  NIH14_LABELS,
  NIH14_LAYOUT,
  NIH14_NO_FINDING,
  NIH14_PROTOCOL,
  nih14Dataset,
  type Nih14SynthImage,
  openNih14,
  planNih14Synth,
  synthesizeNih14,
} from "./nih14.ts";
export {
  openRsna,
  planRsnaSynth,
  RSNA_FALLBACK_FRACTIONS,
  RSNA_LABELS,
  RSNA_LAYOUT,
  RSNA_MGCA_MIN_PATIENTS,
  RSNA_MGCA_SPLIT_FILES,
  RSNA_PROTOCOL,
  rsnaDataset,
  rsnaFallbackSplit,
  type RsnaOpenOptions,
  type RsnaSplitMethod,
  type RsnaSynthOptions,
  type RsnaSynthPatient,
  synthesizeRsna,
} from "./rsna.ts";
export {
  type MgcaRsnaSplit,
  mgcaRsnaSplit,
  type MgcaRsnaSplitOptions,
  Mt19937,
  permutation,
  randomInterval,
  splitSizes,
  trainTestSplit,
} from "./mgca_split.ts";
export type { SkippedRow, SplitInfo, XrayDataset, XraySynthOptions } from "./types.ts";

/** The `xray` modality plugin: datasets `nih14` and `rsna`. */
export const xrayPlugin: ModalityPlugin = {
  kind: "modality",
  name: "xray",
  description: "Chest radiographs (PNG, DICOM): NIH ChestX-ray14 and RSNA Pneumonia classification",
  version: "0.1.0",
  datasets: [nih14Dataset, rsnaDataset],
};

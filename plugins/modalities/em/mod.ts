/**
 * The `em` modality: electron-microscopy neuron segmentation, run by the
 * `affinity` task (nearest-neighbour affinities from stacked slice
 * features, then waterz's watershed + agglomeration, VOI and ARAND).
 * Datasets as downloaded: `em/cremi-a`, `em/cremi-b`, `em/cremi-c` (CREMI
 * HDF5 files) and `em/ac3ac4` (the `AC3_*.h5` / `AC4_*.h5` files with a
 * `main` dataset). Synthetic generators write neuron-like tubes with
 * membranes and EM-like texture, uint64 ids, in the same layouts.
 *
 * @example
 * ```ts
 * import { emPlugin } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(emPlugin.datasets.map((d) => d.name), ["cremi-a", "cremi-b", "cremi-c", "ac3ac4"]);
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { cremiDataset } from "./cremi.ts";
import { ac3ac4Dataset } from "./ac3ac4.ts";

export {
  CREMI_RESOLUTION_NM,
  cremiDataset,
  cremiFileName,
  type CremiSampleName,
  type EmDataset,
  type EmSynthOptions,
  openCremi,
  synthesizeCremi,
} from "./cremi.ts";
export {
  AC3AC4_LAYOUT,
  AC3AC4_RESOLUTION_NM,
  ac3ac4Dataset,
  openAc3Ac4,
  synthesizeAc3Ac4,
} from "./ac3ac4.ts";
export { checkEmSource, emProtocol, emSample, type EmSource, sectionSplit } from "./_common.ts";
export { type EmPhantom, type EmPhantomOptions, makeEmPhantom } from "./_phantom.ts";

/** The `em` modality plugin. */
export const emPlugin: ModalityPlugin = {
  kind: "modality",
  name: "em",
  description:
    "Electron microscopy (HDF5): CREMI A/B/C and AC3/AC4 neuron segmentation via affinities",
  datasets: [cremiDataset("A"), cremiDataset("B"), cremiDataset("C"), ac3ac4Dataset],
};

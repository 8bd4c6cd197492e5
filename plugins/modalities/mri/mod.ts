/**
 * The `mri` modality: the Medical Segmentation Decathlon's MRI tasks in
 * their layout as downloaded (`dataset.json`, `imagesTr/`, `labelsTr/`),
 * with stacked slice features + a 3D decoder and a 5-fold patient-level
 * cross-validation: `mri/msd-task01` (BrainTumour, 4 channels),
 * `mri/msd-task02` (Heart), `mri/msd-task04` (Hippocampus),
 * `mri/msd-task05` (Prostate, 2 channels). The intensity window is per
 * volume (percentiles), as MR intensities have no absolute scale.
 *
 * @example The datasets
 * ```ts
 * import { mriPlugin } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(mriPlugin.datasets.map((d) => d.name), [
 *   "msd-task01",
 *   "msd-task02",
 *   "msd-task04",
 *   "msd-task05",
 * ]);
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { MSD_MRI_DATASETS } from "../_msd/msd.ts";

export { MSD_MRI_DATASETS };

/** The `mri` modality plugin. */
export const mriPlugin: ModalityPlugin = {
  kind: "modality",
  name: "mri",
  description: "MRI volumes (NIfTI): MSD MRI tasks segmentation (5-fold CV)",
  version: "0.2.0",
  datasets: MSD_MRI_DATASETS,
};

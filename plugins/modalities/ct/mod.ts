/**
 * The `ct` modality: CT-RATE chest CT classification (18 abnormality labels,
 * slice-wise features, k-NN and linear probe) and the Medical Segmentation
 * Decathlon's CT tasks (stacked slice features + 3D decoder, 5-fold CV):
 * `ct/msd-task03` (Liver) … `ct/msd-task10` (Colon). The MSD MRI tasks are
 * the `mri` modality's.
 *
 * @example Writing and opening a synthetic CT-RATE dataset
 * ```ts ignore
 * import { ctPlugin } from "./mod.ts";
 * const spec = ctPlugin.datasets.find((d) => d.name === "ctrate")!;
 * await spec.synthesize("/tmp/ctrate", { count: 12, seed: 1 });
 * const dataset = await spec.open("/tmp/ctrate");
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { ctrateDataset } from "./ctrate.ts";
import { MSD_CT_DATASETS, msdDataset } from "../_msd/msd.ts";

export { ctrateDataset, MSD_CT_DATASETS, msdDataset };
export {
  CTRATE_LABELS,
  CTRATE_LAYOUT,
  CTRATE_PROTOCOL,
  openCtrate,
  synthesizeCtrate,
} from "./ctrate.ts";
export { MSD_LAYOUT, MSD_TASKS, openMsd, synthesizeMsd } from "../_msd/msd.ts";

/** The `ct` modality plugin. */
export const ctPlugin: ModalityPlugin = {
  kind: "modality",
  name: "ct",
  description: "CT volumes (NIfTI): CT-RATE classification, MSD CT tasks segmentation (5-fold CV)",
  datasets: [ctrateDataset, ...MSD_CT_DATASETS],
};

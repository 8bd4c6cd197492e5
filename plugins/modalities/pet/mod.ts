/**
 * The PET/CT modality (`"pet"`): FDG-PET/CT lesion segmentation datasets
 * in their released on-disk layouts, with synthetic generators.
 *
 * | dataset | task | layout | classes |
 * |---|---|---|---|
 * | `pet/autopet` | whole-body lesions | TCIA NIfTI `PETCT_<patient>/<study>/{CTres,SUV,SEG}.nii.gz` or nnU-Net | lesion |
 * | `pet/hecktor` | head & neck tumours | `imagesTr/<id>__CT/__PT.nii.gz`, `labelsTr/<id>.nii.gz` | GTVp, GTVn |
 *
 * Open option `channels`: `"ct"`, `"pet"` or `"ct+pet"` (default; CT first,
 * PET second, the PET resampled onto the CT grid when the grids differ).
 * Intensity windows: CT [−160, 240] HU, PET [0, 15] SUV. Protocol
 * (PROTOCOLS.md): `slice-stack` features → `decoder3d` (Dice + CE, AdamW lr
 * 1e-4, linear warm-up then cosine), one 80/20 patient-level split; Dice,
 * HD95, precision and recall. The report finds DINOv3 features weak on PET.
 *
 * @example
 * ```ts
 * import { petPlugin } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(petPlugin.datasets.map((d) => d.name), ["autopet", "hecktor"]);
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { autopetDataset } from "./autopet.ts";
import { hecktorDataset } from "./hecktor.ts";

export {
  AUTOPET_LABELS,
  AUTOPET_LAYOUT,
  AUTOPET_PROTOCOL,
  type AutopetDataset,
  autopetDataset,
  type AutopetOpenOptions,
  type AutopetSynthOptions,
  openAutopet,
  synthesizeAutopet,
} from "./autopet.ts";
export {
  HECKTOR_LABELS,
  HECKTOR_LAYOUT,
  HECKTOR_PROTOCOL,
  HECKTOR_SPLIT_SOURCE,
  type HecktorDataset,
  hecktorDataset,
  type HecktorOpenOptions,
  type HecktorSynthOptions,
  openHecktor,
  synthesizeHecktor,
} from "./hecktor.ts";
export {
  AUTOPET_SPLIT_SOURCE,
  CT_WINDOW,
  nnunetPatientFolds,
  type PatientFold,
  PET_CHANNEL_LABELS,
  PET_WINDOW,
  type PetChannels,
} from "./_common.ts";

/** The PET/CT modality plugin with the AutoPET and HECKTOR datasets. */
export const petPlugin: ModalityPlugin = {
  kind: "modality",
  name: "pet",
  description:
    "FDG-PET/CT lesion segmentation: AutoPET (whole body) and HECKTOR 2022 (head & neck)",
  version: "0.1.0",
  datasets: [autopetDataset, hecktorDataset],
};

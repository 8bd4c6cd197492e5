/**
 * AutoPET (FDG-PET-CT-Lesions, Gatidis et al. 2022; the autoPET-II
 * challenge): whole-body FDG-PET/CT studies with manual lesion masks.
 *
 * Layouts read:
 * - the TCIA NIfTI release: `[FDG-PET-CT-Lesions/]PETCT_<patient>/<study
 *   date and description>/{CTres, SUV, SEG}.nii.gz` (also `CT.nii.gz` and
 *   `PET.nii.gz`, not used): CTres is the CT resampled to the PET grid, SUV
 *   the PET in standardised uptake values, SEG the lesion mask (1 =
 *   lesion), all on one grid. A patient may have several studies; folds
 *   keep them together.
 * - the nnU-Net layout of the autoPET-II challenge: `imagesTr/<case>_0000
 *   .nii.gz` (CTres), `<case>_0001.nii.gz` (SUV), `labelsTr/<case>.nii.gz`.
 *
 * About half the studies are negative (no lesion): their Dice is undefined
 * and skipped by the NaN-aware reductions (MONAI `ignore_empty`). The
 * split: nnU-Net's autoPET-II patient-level 5-fold split (the challenge
 * baseline's `Dataset221_AutoPETII_2023.py`: sorted patients, fold f
 * validates on `patients[f::5]`), exposed as `folds(k)` with its
 * `splitSource`. The
 * protocol (PROTOCOLS.md): one 80/20 patient-level split, inputs CT, PET or
 * CT+PET (`channels` open option), Dice + CE with a linear warm-up, Dice,
 * HD95, precision, recall.
 *
 * Uses `Deno.readDir`/`Deno.open` to open and `Deno.writeFile` to synthesize.
 *
 * @example Generate a small synthetic copy and open it with both channels
 * ```ts
 * import { openAutopet, synthesizeAutopet } from "./autopet.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await synthesizeAutopet(dir, { count: 3, seed: 1, size: 24, depth: 8 });
 * const ds = await openAutopet(dir, { channels: "ct+pet" });
 * const volume = await ds.samples("train")[0].load();
 * assert.equal(volume.kind === "volume" && volume.channels, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { DatasetSpec, Sample, SynthOptions } from "../../../core/plugin.ts";
import { writeNifti } from "../../formats/nifti/mod.ts";
import type {
  SegmentationDataset,
  SegmentationProtocolDefaults,
} from "../../tasks/segmentation3d/types.ts";
import {
  AUTOPET_SPLIT_SOURCE,
  checkChannels,
  describeDir,
  findFolder,
  listDir,
  nnunetPatientFolds,
  type PatientFold,
  PET_CHANNEL_LABELS,
  type PetChannels,
  petCtProtocol,
  petCtSample,
  trainSplitOnly,
  windowsFor,
} from "./_common.ts";
import { randomLesions, renderPetCt } from "./_phantom.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { joinPath } from "../../../core/_fs.ts";

/** AutoPET classes. */
export const AUTOPET_LABELS: readonly string[] = ["background", "lesion"];

/** The files and folders {@linkcode openAutopet} reads (either layout). */
export const AUTOPET_LAYOUT: readonly string[] = [
  "[FDG-PET-CT-Lesions/]PETCT_<patient>/<study>/CTres.nii.gz (CT on the PET grid, HU)",
  "[FDG-PET-CT-Lesions/]PETCT_<patient>/<study>/SUV.nii.gz (PET, SUV)",
  "[FDG-PET-CT-Lesions/]PETCT_<patient>/<study>/SEG.nii.gz (lesion mask)",
  "or nnU-Net: imagesTr/<case>_0000.nii.gz (CTres), imagesTr/<case>_0001.nii.gz (SUV), labelsTr/<case>.nii.gz",
];

/** Protocol defaults of AutoPET (PROTOCOLS.md: 80/20, warm-up, CT+PET). */
export const AUTOPET_PROTOCOL: SegmentationProtocolDefaults = petCtProtocol();

/** Options of {@linkcode openAutopet}. */
export interface AutopetOpenOptions {
  /** Channels to load. @default {"ct+pet"} */
  channels?: PetChannels;
}

/** An opened AutoPET copy. */
export interface AutopetDataset extends SegmentationDataset {
  /** Which layout was found. */
  readonly layout: "tcia" | "nnunet";
  /** Channels loaded. */
  readonly channels: PetChannels;
  /** The input as Table 10 of the report names it: `"CT"`, `"PET"` or `"CT+PET"`. */
  readonly input: string;
  /**
   * nnU-Net's autoPET-II patient-level folds ({@linkcode nnunetPatientFolds});
   * a runner uses them instead of its own seeded folds.
   */
  folds(k: number): PatientFold[];
  /** Where the split comes from (`AUTOPET_SPLIT_SOURCE`), for the record. */
  readonly splitSource: string;
}

function findTciaBase(root: string): Promise<string | undefined> {
  return findFolder(
    root,
    2,
    (_, entries) => entries.some((e) => e.dir && e.name.startsWith("PETCT_")),
  );
}

/** Opens AutoPET in the TCIA NIfTI layout or the nnU-Net layout. */
export async function openAutopet(
  root: string,
  options: AutopetOpenOptions = {},
): Promise<AutopetDataset> {
  const channels = checkChannels(options.channels, "AutoPET");
  const samples: Sample[] = [];
  let layout: "tcia" | "nnunet";
  const base = await findTciaBase(root);
  if (base) {
    layout = "tcia";
    for (const patient of (await listDir(base))!) {
      if (!patient.dir || !patient.name.startsWith("PETCT_")) continue;
      for (const study of (await listDir(joinPath(base, patient.name)))!) {
        if (!study.dir) continue;
        const dir = joinPath(base, patient.name, study.name);
        const files = new Set((await listDir(dir))!.map((e) => e.name));
        const need = ["CTres.nii.gz", "SUV.nii.gz", "SEG.nii.gz"];
        const missing = need.filter((f) => !files.has(f));
        if (missing.length > 0) {
          throw new Deno.errors.NotFound(
            `Cannot open AutoPET study "${dir}" as it must hold ${need.join(", ")}: missing ${
              missing.join(", ")
            }; found ${await describeDir(dir)}`,
          );
        }
        samples.push(
          petCtSample(
            {
              id: `${patient.name}/${study.name}`,
              subject: patient.name,
              ct: joinPath(dir, "CTres.nii.gz"),
              pet: joinPath(dir, "SUV.nii.gz"),
              seg: joinPath(dir, "SEG.nii.gz"),
            },
            channels,
            AUTOPET_LABELS.length,
          ),
        );
      }
    }
  } else {
    const images = await listDir(joinPath(root, "imagesTr"));
    if (!images) {
      throw new Deno.errors.NotFound(
        `Cannot open AutoPET as "${root}" must hold PETCT_<patient>/<study>/ folders (TCIA NIfTI) or imagesTr/ + labelsTr/ (nnU-Net): found ${await describeDir(
          root,
        )}`,
      );
    }
    layout = "nnunet";
    for (const e of images) {
      const m = /^(.*)_0000\.nii\.gz$/.exec(e.name);
      if (!m) continue;
      const id = m[1];
      const subject = /^(PETCT_[0-9a-zA-Z]+)/.exec(id)?.[1] ?? id;
      samples.push(
        petCtSample(
          {
            id,
            subject,
            ct: joinPath(root, "imagesTr", `${id}_0000.nii.gz`),
            pet: joinPath(root, "imagesTr", `${id}_0001.nii.gz`),
            seg: joinPath(root, "labelsTr", `${id}.nii.gz`),
          },
          channels,
          AUTOPET_LABELS.length,
        ),
      );
    }
  }
  if (samples.length === 0) {
    throw new Deno.errors.NotFound(
      `Cannot open AutoPET as "${root}" holds no study: found ${await describeDir(root)}`,
    );
  }
  return {
    id: "pet/autopet",
    root,
    problem: "segmentation",
    labels: AUTOPET_LABELS,
    splits: ["train"],
    layout,
    channels,
    input: PET_CHANNEL_LABELS[channels],
    folds: (k: number) => nnunetPatientFolds(samples, k),
    splitSource: AUTOPET_SPLIT_SOURCE,
    adapterOptions: { window: windowsFor(channels) },
    samples: trainSplitOnly("AutoPET", samples),
  };
}

/** Options of {@linkcode synthesizeAutopet}. */
export interface AutopetSynthOptions extends SynthOptions {
  /** In-plane size. @default {48} */
  size?: number;
  /** Slices. @default {32} */
  depth?: number;
}

/**
 * Writes a synthetic copy in the TCIA NIfTI layout: `count` studies of
 * `ceil(count·0.8)` patients (some patients have two studies), one in five
 * negative (no lesion), CTres/SUV/SEG on a 2.04 × 2.04 × 3 mm RAS grid.
 * Lesions are hot on PET (SUV 7–13) and barely visible on CT; a bladder-like
 * physiological hot spot is not a lesion.
 */
export async function synthesizeAutopet(
  root: string,
  options: AutopetSynthOptions = {},
): Promise<void> {
  const count = options.count ?? 10;
  const size = options.size ?? 48;
  const depth = options.depth ?? 32;
  if (!Number.isInteger(count) || count < 1 || !(size >= 8) || !(depth >= 4)) {
    throw new RangeError(
      `Cannot synthesize AutoPET as count must be >= 1, size >= 8 and depth >= 4: current values are ${count}, ${size}, ${depth}`,
    );
  }
  const rng = createMulberry32(options.seed ?? 0);
  const base = joinPath(root, "FDG-PET-CT-Lesions");
  const patients = Math.max(1, Math.ceil(count * 0.8));
  const s = 2.0364;
  const affine = [[s, 0, 0, -size * s / 2], [0, s, 0, -size * s / 2], [0, 0, 3, -depth * 1.5], [
    0,
    0,
    0,
    1,
  ]];
  for (let n = 0; n < count; n++) {
    const p = n % patients;
    const patient = `PETCT_${(0x1a2b3c + p * 7919).toString(16).padStart(10, "0")}`;
    const study = `0${1 + Math.floor(n / patients)}-1${p % 10}-20${
      10 + (n % 9)
    }-NA-PET-CT Ganzkoerper  primaer mit KM-${10000 + n}`;
    const dir = joinPath(base, patient, study);
    await Deno.mkdir(dir, { recursive: true });
    const negative = n % 5 === 4;
    const lesions = negative
      ? []
      : randomLesions([depth, size, size], 1 + Math.floor(rng() * 3), [1], rng);
    const { ct, pet, labels } = renderPetCt([depth, size, size], lesions, rng);
    const shape = [size, size, depth];
    const description = "medprobe synthetic AutoPET (NOT patient data)";
    await writeNifti(joinPath(dir, "CTres.nii.gz"), Int16Array.from(ct, (v) => Math.round(v)), {
      shape,
      affine,
      sclSlope: 1,
      sclInter: 0,
      description,
    });
    await writeNifti(joinPath(dir, "SUV.nii.gz"), pet, {
      shape,
      affine,
      sformCode: 2,
      qformCode: 0,
      description,
    });
    await writeNifti(joinPath(dir, "SEG.nii.gz"), labels, {
      shape,
      affine,
      datatype: "uint8",
      description,
    });
  }
}

/** AutoPET: whole-body FDG-PET/CT lesion segmentation (CT, PET or CT+PET channels). */
export const autopetDataset: DatasetSpec = {
  name: "autopet",
  description:
    "AutoPET (FDG-PET-CT-Lesions): whole-body PET/CT lesion segmentation, TCIA NIfTI or nnU-Net layout, CT/PET/CT+PET",
  task: "segmentation3d",
  problem: "segmentation",
  layout: AUTOPET_LAYOUT,
  protocol: AUTOPET_PROTOCOL,
  open: (root: string, options?: Record<string, unknown>) =>
    openAutopet(root, options as AutopetOpenOptions),
  synthesize: (root: string, options?: SynthOptions) =>
    synthesizeAutopet(root, options as AutopetSynthOptions),
};

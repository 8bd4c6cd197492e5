/**
 * Shared pieces of the PET/CT datasets: channel choice, windows, the
 * protocol defaults, NIfTI loading on a common grid and the samples built
 * on it, file-system helpers.
 *
 * @module
 */

import type { Sample, Volume } from "../../../core/plugin.ts";
import type {
  SegmentationProtocolDefaults,
  SegmentationSample,
} from "../../tasks/segmentation3d/types.ts";
import { convertNiftiToVolume, readLabelVolume, readNifti } from "../../formats/nifti/mod.ts";
import type { IntensityWindow } from "../../adapters/slice_stack/mod.ts";
import { resampleToGrid } from "./_resample.ts";
import { joinPath } from "../../../core/_fs.ts";

/** Which image channels a PET/CT case loads: CT, PET, or both (CT first). */
export type PetChannels = "ct" | "pet" | "ct+pet";

/** How results and tables name each input (Table 10 of the report: CT, PET, CT+PET). */
export const PET_CHANNEL_LABELS: Readonly<Record<PetChannels, string>> = {
  ct: "CT",
  pet: "PET",
  "ct+pet": "CT+PET",
};

/** The CT window (soft tissue, HU) and the PET window (SUV) of the protocol. */
export const CT_WINDOW: IntensityWindow = [-160, 240];
/** PET window in SUV. */
export const PET_WINDOW: IntensityWindow = [0, 15];

/**
 * Protocol defaults of the PET/CT datasets (PROTOCOLS.md: one 80/20
 * patient-level split, Dice + CE with a linear warm-up, CT+PET), a fresh
 * object per call.
 */
export function petCtProtocol(): SegmentationProtocolDefaults {
  return {
    adapter: "slice-stack",
    adapterOptions: { window: [CT_WINDOW, PET_WINDOW] },
    heads: ["decoder3d"],
    headOptions: { decoder3d: { lr: 1e-4, schedule: "cosine", warmupFraction: 0.05 } },
    metrics: ["dice", "hd95", "voxel-precision", "voxel-recall"],
    resolution: 224,
    feature: "volume",
    trainSplit: "train",
    testSplit: "train",
    folds: 5,
    runFolds: 1,
  };
}

/** Checks the `channels` open option. */
export function checkChannels(value: unknown, dataset: string): PetChannels {
  const v = value ?? "ct+pet";
  if (v !== "ct" && v !== "pet" && v !== "ct+pet") {
    throw new TypeError(
      `Cannot open ${dataset} as option channels must be "ct", "pet" or "ct+pet": current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return v;
}

/** The intensity window of each loaded channel. */
export function windowsFor(channels: PetChannels): IntensityWindow[] {
  return channels === "ct"
    ? [CT_WINDOW]
    : channels === "pet"
    ? [PET_WINDOW]
    : [CT_WINDOW, PET_WINDOW];
}

/** Folder entries (names), or null when the folder does not exist. */
export async function listDir(path: string): Promise<{ name: string; dir: boolean }[] | null> {
  const out: { name: string; dir: boolean }[] = [];
  try {
    for await (const e of Deno.readDir(path)) out.push({ name: e.name, dir: e.isDirectory });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The first folder, breadth-first from `root` and at most `maxDepth` levels
 * below it, whose entries satisfy `holds`; undefined when none does.
 */
export async function findFolder(
  root: string,
  maxDepth: number,
  holds: (dir: string, entries: { name: string; dir: boolean }[]) => boolean | Promise<boolean>,
): Promise<string | undefined> {
  const queue: [string, number][] = [[root, 0]];
  while (queue.length > 0) {
    const [dir, depth] = queue.shift()!;
    const entries = await listDir(dir);
    if (!entries) continue;
    if (await holds(dir, entries)) return dir;
    if (depth < maxDepth) {
      for (const e of entries) if (e.dir) queue.push([joinPath(dir, e.name), depth + 1]);
    }
  }
  return undefined;
}

/** A short listing of what a folder holds, for error messages. */
export async function describeDir(path: string): Promise<string> {
  const entries = await listDir(path);
  if (entries === null) return "nothing (the folder does not exist)";
  if (entries.length === 0) return "nothing (the folder is empty)";
  const names = entries.map((e) => (e.dir ? `${e.name}/` : e.name));
  return names.length > 20
    ? `${names.slice(0, 20).join(", ")}, ... (${names.length} entries)`
    : names.join(", ");
}

function onSameGrid(a: Volume, b: Volume): boolean {
  return a.shape.every((d, i) => d === b.shape[i]) &&
    (a.affine ?? []).every((v, i) => Math.abs(v - (b.affine ?? [])[i]) < 1e-3);
}

/** The PET's voxels on another volume's grid (trilinear in world coordinates; as is on the same grid). */
function petOnGridOf(pet: Volume, grid: Volume): Float32Array {
  return onSameGrid(grid, pet) ? pet.data : resampleToGrid(
    { data: pet.data, shape: pet.shape, affine: pet.affine! },
    grid.shape,
    grid.affine!,
  );
}

/**
 * Loads the CT and/or PET of a case as one volume on the CT grid (or the
 * PET grid when only PET is loaded). A PET on another grid is resampled
 * onto the CT grid by trilinear interpolation in world coordinates. With
 * `gridPath` (the label map, for datasets whose labels lie on the CT grid,
 * e.g. HECKTOR), a PET-only volume is resampled onto that file's grid in
 * the same way — the same PET voxels as in the CT+PET volume.
 */
export async function loadPetCt(
  ctPath: string,
  petPath: string,
  channels: PetChannels,
  gridPath?: string,
): Promise<Volume> {
  const ct = channels === "pet" ? undefined : convertNiftiToVolume(await readNifti(ctPath));
  const pet = channels === "ct" ? undefined : convertNiftiToVolume(await readNifti(petPath));
  if (!ct && gridPath) {
    const grid = convertNiftiToVolume(await readNifti(gridPath));
    return {
      kind: "volume",
      shape: grid.shape,
      spacingMm: grid.spacingMm,
      ...(grid.affine ? { affine: grid.affine } : {}),
      data: petOnGridOf(pet!, grid),
      channels: 1,
    };
  }
  if (!ct) return pet!;
  if (!pet) return ct;
  const petOnCt = petOnGridOf(pet, ct);
  const block = ct.data.length;
  const data = new Float32Array(2 * block);
  data.set(ct.data);
  data.set(petOnCt, block);
  return { ...ct, data, channels: 2 };
}

/** The files of one PET/CT case. */
export interface PetCtCase {
  /** Sample id. */
  id: string;
  /** Patient id (folds keep a patient's cases together). */
  subject: string;
  /** CT image. */
  ct: string;
  /** PET image. */
  pet: string;
  /** Label map. */
  seg: string;
}

/**
 * A sample that loads a case with {@linkcode loadPetCt} and its labels on
 * the grid of the loaded volume (loading the volume first when needed);
 * `checkLabels` runs before the labels are read and may refuse them. With
 * `petOnLabelGrid`, a PET-only case is resampled onto the label map's grid.
 */
export function petCtSample(
  files: PetCtCase,
  channels: PetChannels,
  classes: number,
  checkLabels?: () => void,
  petOnLabelGrid = false,
): SegmentationSample {
  const { id, subject, ct, pet, seg } = files;
  let shape: [number, number, number] | undefined;
  const load = async (): Promise<Volume> => {
    const v = await loadPetCt(ct, pet, channels, petOnLabelGrid ? seg : undefined);
    shape = [...v.shape];
    return v;
  };
  return {
    id,
    subject,
    path: channels === "pet" ? pet : ct,
    // Both files make the features: the cache's fingerprint covers both (core/fingerprint.ts).
    ...(channels === "ct+pet" ? { sources: [ct, pet] } : {}),
    labelPath: seg,
    load,
    async loadLabels(): Promise<Uint8Array> {
      checkLabels?.();
      if (!shape) await load();
      return await readLabelVolume(seg, shape!, classes);
    },
  };
}

/** The `samples` of a dataset whose only split is `train`. */
export function trainSplitOnly(
  dataset: string,
  samples: readonly Sample[],
): (split: string) => readonly Sample[] {
  return (split: string): readonly Sample[] => {
    if (split !== "train") {
      throw new RangeError(`Cannot list split "${split}" of ${dataset}: the only split is train`);
    }
    return samples;
  };
}

/** One fold of a patient-level split: sample ids for training and validation. */
export interface PatientFold {
  /** 0-based fold index. */
  readonly index: number;
  /** Training sample ids, sorted. */
  readonly train: readonly string[];
  /** Validation sample ids, sorted. */
  readonly val: readonly string[];
}

/** Where the AutoPET split comes from, for result records and docs. */
export const AUTOPET_SPLIT_SOURCE =
  "nnU-Net's autoPET-II split (MIC-DKFZ/nnUNet, nnunetv2/dataset_conversion/Dataset221_AutoPETII_2023.py, the challenge baseline): patients (PETCT_<id> folders) in sorted order, fold f validates on patients[f::5]; fold 0 is the 80/20 split the report's 'official challenge protocol' uses";

/**
 * nnU-Net's manual patient-level split for autoPET-II
 * (`Dataset221_AutoPETII_2023.py`): the patients sorted as Python sorts
 * strings (code points), fold `f` of `k` validates on `patients[f::k]`
 * and trains on every other patient's studies.
 *
 * @example
 * ```ts
 * import { nnunetPatientFolds } from "./_common.ts";
 * import assert from "node:assert/strict";
 * const samples = ["b/1", "a/1", "a/2", "c/1", "d/1", "e/1", "f/1"].map((id) => ({ id, subject: id[0] }));
 * const [f0] = nnunetPatientFolds(samples, 5);
 * assert.deepEqual(f0.val, ["a/1", "a/2", "f/1"]); // patients a and f (indices 0 and 5)
 * ```
 */
export function nnunetPatientFolds(
  samples: readonly Pick<Sample, "id" | "subject">[],
  k = 5,
): PatientFold[] {
  const bySubject = new Map<string, string[]>();
  for (const s of samples) {
    const subject = s.subject ?? s.id;
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), s.id]);
  }
  const patients = [...bySubject.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!Number.isInteger(k) || k < 2 || patients.length < k) {
    throw new RangeError(
      `Cannot make nnU-Net's ${k}-fold split as k must be an integer >= 2 and at most the patient count: current patient count is ${patients.length}`,
    );
  }
  const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return Array.from({ length: k }, (_, f) => {
    const valPatients = new Set(patients.filter((_, i) => i % k === f));
    const val: string[] = [];
    const train: string[] = [];
    for (const [p, ids] of bySubject) (valPatients.has(p) ? val : train).push(...ids);
    return { index: f, train: train.sort(byCode), val: val.sort(byCode) };
  });
}

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

/**
 * Loads the CT and/or PET of a case as one volume on the CT grid (or the
 * PET grid when only PET is loaded). A PET on another grid is resampled
 * onto the CT grid by trilinear interpolation in world coordinates.
 */
export async function loadPetCt(
  ctPath: string,
  petPath: string,
  channels: PetChannels,
): Promise<Volume> {
  const ct = channels === "pet" ? undefined : convertNiftiToVolume(await readNifti(ctPath));
  const pet = channels === "ct" ? undefined : convertNiftiToVolume(await readNifti(petPath));
  if (!ct) return pet!;
  if (!pet) return ct;
  const sameGrid = ct.shape.every((d, i) => d === pet.shape[i]) &&
    (ct.affine ?? []).every((v, i) => Math.abs(v - (pet.affine ?? [])[i]) < 1e-3);
  const petOnCt = sameGrid ? pet.data : resampleToGrid(
    { data: pet.data, shape: pet.shape, affine: pet.affine! },
    ct.shape,
    ct.affine!,
  );
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
 * `checkLabels` runs before the labels are read and may refuse them.
 */
export function petCtSample(
  files: PetCtCase,
  channels: PetChannels,
  classes: number,
  checkLabels?: () => void,
): SegmentationSample {
  const { id, subject, ct, pet, seg } = files;
  let shape: [number, number, number] | undefined;
  const load = async (): Promise<Volume> => {
    const v = await loadPetCt(ct, pet, channels);
    shape = [...v.shape];
    return v;
  };
  return {
    id,
    subject,
    path: channels === "pet" ? pet : ct,
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

/**
 * Shared pieces of the PET/CT datasets: channel choice, windows, NIfTI
 * loading on a common grid, file-system helpers.
 *
 * @module
 */

import type { Volume } from "../../../core/plugin.ts";
import { convertNiftiToVolume, readNifti } from "../../formats/nifti/mod.ts";
import type { IntensityWindow } from "../../adapters/slice_stack/mod.ts";
import { resampleToGrid } from "./_resample.ts";

/** Which image channels a PET/CT case loads: CT, PET, or both (CT first). */
export type PetChannels = "ct" | "pet" | "ct+pet";

/** The CT window (soft tissue, HU) and the PET window (SUV) of the protocol. */
export const CT_WINDOW: IntensityWindow = [-160, 240];
/** PET window in SUV. */
export const PET_WINDOW: IntensityWindow = [0, 15];

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

/** Joins path parts with `/`. */
export function join(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).map((p, i) =>
    i === 0 ? p.replace(/\/+$/, "") : p.replace(/^\/+|\/+$/g, "")
  ).join("/");
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

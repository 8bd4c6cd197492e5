/**
 * Inputs of `medprobe pca` (the report's Figures 4–5): one 2D image from a
 * 2D file, or one slice of a volume along a chosen axis, read from
 *
 * - NIfTI (`.nii`, `.nii.gz`; a channel of a 4D file),
 * - a DICOM series (a folder of one series' files, ordered by position),
 * - a TIFF stack (one page per section, as EM stacks are stored),
 * - HDF5 (a 3D dataset, `volumes/raw` by default as in CREMI),
 * - PNG, JPEG or a single DICOM file (2D, used as is);
 *
 * and, for PET/CT, the PET volume resliced onto the CT slice through both
 * files' voxel-to-world affines (trilinear), so CT and PET of one case can
 * be shown side by side at the same anatomical position.
 *
 * Slices keep their physical aspect ratio (rows are resampled when the
 * spacing along them differs from the spacing across), and intensities are
 * scaled to [0, 1] by a window (`[low, high]` in the volume's units, e.g.
 * Hounsfield units for CT) or by default by the 0.5th–99.5th percentiles of
 * the slice.
 *
 * Uses `Deno.stat` and the format readers' file reads.
 *
 * @module
 */

import type { Image2D, Volume } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { resizeBilinear } from "../../../core/image.ts";
import {
  convertDicomToImage,
  convertNiftiToVolume,
  openHdf5,
  parseDicom,
  parseImage,
  readDicomSeries,
  readNifti,
  readTiffStack,
} from "../../formats/mod.ts";

/** Array axis a slice is taken across: `z` (axial for axial-first volumes), `y`, `x`. */
export type SliceAxis = "z" | "y" | "x";

/** Anatomical aliases of the array axes (for volumes stored axial-first, as CT and MR usually are). */
export const AXIS_ALIASES: Readonly<Record<string, SliceAxis>> = {
  z: "z",
  y: "y",
  x: "x",
  axial: "z",
  coronal: "y",
  sagittal: "x",
};

/** Options of {@linkcode readPcaInput}. */
export interface PcaInputOptions {
  /** Axis the slice is taken across. @default {"z"} */
  axis?: SliceAxis;
  /** Slice index along the axis; the middle slice when absent. */
  slice?: number;
  /** HDF5 dataset path; the first of `volumes/raw`, `raw`, `data` present, else the only 3D dataset. */
  dataset?: string;
  /** Channel of a multi-channel volume (a 4D NIfTI). @default {0} */
  channel?: number;
  /** Intensity window `[low, high]` mapped to [0, 1]; percentiles 0.5–99.5 of the slice when absent. */
  window?: readonly [number, number];
}

/** What {@linkcode readPcaInput} read. */
export interface PcaInput {
  /** The image given to the encoder (values in [0, 1], intensity `"unit"`, or a 2D file as decoded). */
  image: Image2D;
  /** The volume, for volume inputs (to reslice a second volume onto the same plane). */
  volume?: Volume;
  /** The axis and slice index, for volume inputs. */
  axis?: SliceAxis;
  /** The slice index, for volume inputs. */
  slice?: number;
  /** What was read, for messages: `"NIfTI, z slice 20 of 40"`. */
  description: string;
}

/**
 * Parses an axis name (`z`, `y`, `x`, `axial`, `coronal`, `sagittal`);
 * throws a `RangeError` for anything else.
 *
 * @example
 * ```ts
 * import { parseSliceAxis } from "./pca_input.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseSliceAxis("coronal"), "y");
 * assert.throws(() => parseSliceAxis("oblique"), RangeError);
 * ```
 */
export function parseSliceAxis(value: string): SliceAxis {
  const axis = AXIS_ALIASES[value.toLowerCase()];
  if (!axis) {
    throw new RangeError(
      `Cannot choose a slice axis as it must be one of ${
        Object.keys(AXIS_ALIASES).join(", ")
      }: current value is "${value}"`,
    );
  }
  return axis;
}

/** Slice count along an axis of a `[D, H, W]` volume. */
export function countSlices(volume: Volume, axis: SliceAxis): number {
  const [D, H, W] = volume.shape;
  return axis === "z" ? D : axis === "y" ? H : W;
}

function checkSlice(volume: Volume, axis: SliceAxis, index: number, source: string): void {
  const n = countSlices(volume, axis);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new RangeError(
      `Cannot take slice ${index} of "${source}" as the slice must be an integer in [0, ${
        n - 1
      }] along ${axis}: current value is ${index}`,
    );
  }
}

/**
 * The raw values of one slice of channel `channel` of a volume, with the
 * slice's size and its pixel spacing: across `z` rows are `y` and columns
 * `x`; across `y` or `x` rows run along `z` from the last slice to the
 * first (so the top of the image is the end of the `z` axis, superior for
 * volumes stored inferior-to-superior).
 */
export function extractSlice(
  volume: Volume,
  axis: SliceAxis,
  index: number,
  channel = 0,
): { data: Float32Array; rows: number; cols: number; spacing: [number, number] } {
  const [D, H, W] = volume.shape;
  const C = volume.channels ?? 1;
  if (!Number.isInteger(channel) || channel < 0 || channel >= C) {
    throw new RangeError(
      `Cannot take channel ${channel} of a volume as it must be an integer in [0, ${
        C - 1
      }]: current value is ${channel}`,
    );
  }
  checkSlice(volume, axis, index, "volume");
  const base = channel * D * H * W;
  const [sz, sy, sx] = volume.spacingMm;
  const v = volume.data;
  if (axis === "z") {
    return {
      data: v.slice(base + index * H * W, base + (index + 1) * H * W),
      rows: H,
      cols: W,
      spacing: [sy, sx],
    };
  }
  const cols = axis === "y" ? W : H;
  const out = new Float32Array(D * cols);
  for (let r = 0; r < D; r++) {
    const z = D - 1 - r;
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = axis === "y"
        ? v[base + (z * H + index) * W + c]
        : v[base + (z * H + c) * W + index];
    }
  }
  return { data: out, rows: D, cols, spacing: [sz, axis === "y" ? sx : sy] };
}

function percentile(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return 0;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * Maps slice values to [0, 1] by a window (`[low, high]`) or, without one,
 * by the 0.5th and 99.5th percentiles of the finite values; NaN becomes 0.
 *
 * @example
 * ```ts
 * import { windowToUnit } from "./pca_input.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...windowToUnit(new Float32Array([-1000, 40, 240]), [-160, 240])], [0, 0.5, 1]);
 * ```
 */
export function windowToUnit(
  values: Float32Array,
  window?: readonly [number, number],
): Float32Array {
  let lo: number;
  let hi: number;
  if (window) {
    [lo, hi] = window;
    if (!(hi > lo)) {
      throw new RangeError(
        `Cannot apply window as high must exceed low: current value is [${lo}, ${hi}]`,
      );
    }
  } else {
    const finite = Float32Array.from(values.filter(Number.isFinite)).sort();
    lo = percentile(finite, 0.005);
    hi = percentile(finite, 0.995);
  }
  const out = new Float32Array(values.length);
  const span = hi - lo;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    out[i] = !Number.isFinite(x) || !(span > 0) ? 0 : Math.min(1, Math.max(0, (x - lo) / span));
  }
  return out;
}

/** A slice as a grey image at its physical aspect ratio (rows resampled), values in [0, 1]. */
function sliceImage(
  slice: { data: Float32Array; rows: number; cols: number; spacing: [number, number] },
  window?: readonly [number, number],
): Image2D {
  const unit = windowToUnit(slice.data, window);
  const [rowSpacing, colSpacing] = slice.spacing;
  const ratio = rowSpacing > 0 && colSpacing > 0 ? rowSpacing / colSpacing : 1;
  const rows = Math.max(1, Math.round(slice.rows * ratio));
  const data = rows === slice.rows
    ? unit
    : resizeBilinear(unit, slice.rows, slice.cols, 1, rows, slice.cols);
  return { kind: "image", data, width: slice.cols, height: rows, channels: 1, intensity: "unit" };
}

async function statKind(path: string): Promise<"dir" | "file"> {
  const info = await Deno.stat(path);
  return info.isDirectory ? "dir" : "file";
}

const HDF5_DEFAULTS = ["volumes/raw", "raw", "data"];

async function readHdf5Volume(path: string, dataset?: string): Promise<Volume> {
  const file = await openHdf5(path);
  try {
    let name = dataset;
    if (name === undefined) {
      name = HDF5_DEFAULTS.find((d) => file.isDataset(d));
      if (name === undefined) {
        const volumes = file.list().filter((d) =>
          file.isDataset(d) && file.info(d).shape.length === 3
        );
        if (volumes.length !== 1) {
          throw new FormatError(
            `Cannot choose an HDF5 dataset for pca as none of ${
              HDF5_DEFAULTS.join(", ")
            } exists and ${volumes.length} 3D datasets do (${
              volumes.join(", ") || "none"
            }): pass --dataset`,
            { path },
          );
        }
        name = volumes[0];
      }
    }
    if (!file.isDataset(name)) {
      throw new FormatError(
        `Cannot read HDF5 dataset "${name}" as it does not exist: datasets are ${
          file.list().filter((d) => file.isDataset(d)).join(", ")
        }`,
        { path },
      );
    }
    const array = file.read(name);
    if (array.shape.length !== 3) {
      throw new FormatError(
        `Cannot read HDF5 dataset "${name}" as a volume as it must have 3 dimensions [z, y, x]: current shape is [${
          array.shape.join(", ")
        }]`,
        { path },
      );
    }
    const data = Float32Array.from(array.data as ArrayLike<number | bigint>, (x) => Number(x));
    // CREMI stores the voxel size in nm as the dataset's "resolution" attribute ([z, y, x]).
    const res = file.attributes(name).resolution?.value;
    const spacing = Array.isArray(res) || ArrayBuffer.isView(res)
      ? Array.from(res as ArrayLike<number>, (x) => Number(x) / 1e6)
      : [1, 1, 1];
    return {
      kind: "volume",
      data,
      shape: [array.shape[0], array.shape[1], array.shape[2]],
      spacingMm: spacing.length === 3 && spacing.every((s) => s > 0)
        ? [spacing[0], spacing[1], spacing[2]]
        : [1, 1, 1],
    };
  } finally {
    file.close();
  }
}

async function readTiffVolume(path: string): Promise<Volume | Image2D> {
  const stack = await readTiffStack(path);
  const [pages, rows, cols] = stack.shape;
  if (stack.samplesPerPixel !== 1) {
    if (pages !== 1) {
      throw new FormatError(
        `Cannot read a multi-page TIFF with ${stack.samplesPerPixel} samples per pixel as a volume: pca takes grey stacks or one RGB page`,
        { path },
      );
    }
    return {
      kind: "image",
      data: Float32Array.from(stack.data as ArrayLike<number>),
      width: cols,
      height: rows,
      channels: stack.samplesPerPixel,
      intensity: "minmax",
    };
  }
  return {
    kind: "volume",
    data: Float32Array.from(stack.data as ArrayLike<number>),
    shape: [pages, rows, cols],
    spacingMm: [1, 1, 1],
  };
}

/**
 * Reads what `medprobe pca` shows: a 2D image, or one slice of a volume
 * (NIfTI, DICOM series folder, TIFF stack, HDF5) along `options.axis` at
 * `options.slice` (the middle one by default). Throws `FormatError` naming
 * the file for content it cannot read, and `RangeError` for a slice or
 * channel out of range.
 */
export async function readPcaInput(
  path: string,
  options: PcaInputOptions = {},
): Promise<PcaInput> {
  const axis = options.axis ?? "z";
  let volume: Volume | undefined;
  let kind: string;
  if (await statKind(path) === "dir") {
    volume = (await readDicomSeries(path)).volume;
    kind = "DICOM series";
  } else if (/\.nii(\.gz)?$/i.test(path)) {
    volume = convertNiftiToVolume(await readNifti(path));
    kind = "NIfTI";
  } else if (/\.(h5|hdf|hdf5)$/i.test(path)) {
    volume = await readHdf5Volume(path, options.dataset);
    kind = `HDF5${options.dataset ? ` ${options.dataset}` : ""}`;
  } else if (/\.tiff?$/i.test(path)) {
    const read = await readTiffVolume(path);
    if (read.kind === "image") return { image: read as Image2D, description: "TIFF page" };
    volume = read as Volume;
    kind = "TIFF stack";
  } else {
    const bytes = await Deno.readFile(path);
    const isPng = bytes[0] === 0x89 && bytes[1] === 0x50;
    const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
    if (isPng || isJpeg) return { image: parseImage(bytes, path), description: "image" };
    const dicm = bytes.length > 132 &&
      String.fromCharCode(bytes[128], bytes[129], bytes[130], bytes[131]) === "DICM";
    if (dicm || /\.dcm$/i.test(path)) {
      return { image: convertDicomToImage(parseDicom(bytes, path)), description: "DICOM image" };
    }
    throw new FormatError(
      "Cannot read pca input as it is not PNG, JPEG, DICOM (a file, or a folder holding one series), NIfTI (.nii, .nii.gz), TIFF (.tif, .tiff) or HDF5 (.h5, .hdf, .hdf5)",
      { path },
    );
  }
  const n = countSlices(volume, axis);
  const slice = options.slice ?? Math.floor(n / 2);
  checkSlice(volume, axis, slice, path);
  const image = sliceImage(extractSlice(volume, axis, slice, options.channel ?? 0), options.window);
  return { image, volume, axis, slice, description: `${kind}, ${axis} slice ${slice} of ${n}` };
}

/** Inverse of a row-major 4×4 matrix (Gauss–Jordan with partial pivoting); throws when singular. */
export function invertAffine(m: readonly number[]): number[] {
  const a = Array.from({ length: 4 }, (_, r) => [
    ...m.slice(r * 4, r * 4 + 4),
    ...[0, 1, 2, 3].map((c) => (c === r ? 1 : 0)),
  ]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-12) {
      throw new RangeError("Cannot invert affine as it must be non-singular: current matrix is");
    }
    [a[c], a[p]] = [a[p], a[c]];
    const d = a[c][c];
    for (let k = 0; k < 8; k++) a[c][k] /= d;
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let k = 0; k < 8; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.flatMap((row) => row.slice(4));
}

/**
 * Samples `moving` (a PET volume) on the plane of slice `index` across
 * `axis` of `fixed` (the CT), trilinearly, through both volumes'
 * voxel-to-world affines (`(i, j, k)` = (x, y, z) voxel indices); points
 * outside `moving` are 0. Without affines, the volumes are taken to span
 * the same extent. Returns the slice laid out as {@linkcode extractSlice}
 * lays out `fixed`'s, and how many of its pixels fall inside `moving`.
 */
export function resliceOnto(
  moving: Volume,
  fixed: Volume,
  axis: SliceAxis,
  index: number,
): {
  data: Float32Array;
  rows: number;
  cols: number;
  spacing: [number, number];
  inside: number;
} {
  checkSlice(fixed, axis, index, "CT volume");
  const [D, H, W] = fixed.shape;
  const [md, mh, mw] = moving.shape;
  // voxel (i, j, k) of fixed → voxel of moving, as a 3×4 row-major map.
  let map: number[];
  if (fixed.affine && moving.affine) {
    const inv = invertAffine(moving.affine);
    const f = fixed.affine;
    map = [];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += inv[r * 4 + k] * f[k * 4 + c];
        map.push(s);
      }
    }
  } else {
    const scale = (to: number, from: number) => (from > 1 ? (to - 1) / (from - 1) : 0);
    map = [scale(mw, W), 0, 0, 0, 0, scale(mh, H), 0, 0, 0, 0, scale(md, D), 0];
  }
  const layout = extractSlice({ ...fixed, channels: 1 }, axis, index);
  const out = new Float32Array(layout.rows * layout.cols);
  const v = moving.data;
  const at = (z: number, y: number, x: number): number => v[(z * mh + y) * mw + x];
  let inside = 0;
  for (let r = 0; r < layout.rows; r++) {
    for (let c = 0; c < layout.cols; c++) {
      // The fixed voxel this output pixel shows (as extractSlice lays it out).
      let i: number, j: number, k: number;
      if (axis === "z") [i, j, k] = [c, r, index];
      else if (axis === "y") [i, j, k] = [c, index, D - 1 - r];
      else [i, j, k] = [index, c, D - 1 - r];
      const x = map[0] * i + map[1] * j + map[2] * k + map[3];
      const y = map[4] * i + map[5] * j + map[6] * k + map[7];
      const z = map[8] * i + map[9] * j + map[10] * k + map[11];
      if (x < 0 || y < 0 || z < 0 || x > mw - 1 || y > mh - 1 || z > md - 1) continue;
      inside++;
      const x0 = Math.min(Math.floor(x), mw - 1), y0 = Math.min(Math.floor(y), mh - 1);
      const z0 = Math.min(Math.floor(z), md - 1);
      const x1 = Math.min(x0 + 1, mw - 1), y1 = Math.min(y0 + 1, mh - 1);
      const z1 = Math.min(z0 + 1, md - 1);
      const fx = x - x0, fy = y - y0, fz = z - z0;
      const c00 = at(z0, y0, x0) * (1 - fx) + at(z0, y0, x1) * fx;
      const c01 = at(z0, y1, x0) * (1 - fx) + at(z0, y1, x1) * fx;
      const c10 = at(z1, y0, x0) * (1 - fx) + at(z1, y0, x1) * fx;
      const c11 = at(z1, y1, x0) * (1 - fx) + at(z1, y1, x1) * fx;
      out[r * layout.cols + c] = (c00 * (1 - fy) + c01 * fy) * (1 - fz) +
        (c10 * (1 - fy) + c11 * fy) * fz;
    }
  }
  return { data: out, rows: layout.rows, cols: layout.cols, spacing: layout.spacing, inside };
}

/**
 * The slice of `fixed` (the CT) across `axis` that passes through the
 * hottest voxel of `moving` (the PET), found through both affines (or the
 * shared extent without them), clamped to the CT's slices.
 *
 * @example The hottest PET voxel at world z = 6 lies on CT slice 6
 * ```ts
 * import { findHottestSlice } from "./pca_input.ts";
 * import assert from "node:assert/strict";
 * const identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
 * const ct = { kind: "volume" as const, data: new Float32Array(8 * 4 * 4), shape: [8, 4, 4] as const, spacingMm: [1, 1, 1] as const, affine: identity };
 * const petData = new Float32Array(4 * 2 * 2);
 * petData[3 * 4] = 9; // PET voxel k = 3 → world z = 6 (2 mm slices)
 * const pet = { kind: "volume" as const, data: petData, shape: [4, 2, 2] as const, spacingMm: [2, 2, 2] as const, affine: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1] };
 * assert.equal(findHottestSlice(pet, ct, "z"), 6);
 * ```
 */
export function findHottestSlice(moving: Volume, fixed: Volume, axis: SliceAxis): number {
  const [md, mh, mw] = moving.shape;
  let best = -Infinity;
  let at = 0;
  for (let n = 0; n < md * mh * mw; n++) {
    const v = moving.data[n];
    if (v > best) {
      best = v;
      at = n;
    }
  }
  const i = at % mw;
  const j = Math.floor(at / mw) % mh;
  const k = Math.floor(at / (mw * mh));
  const [D, H, W] = fixed.shape;
  let voxel: [number, number, number];
  if (fixed.affine && moving.affine) {
    const m = moving.affine;
    const world = [0, 1, 2].map((r) =>
      m[r * 4] * i + m[r * 4 + 1] * j + m[r * 4 + 2] * k + m[r * 4 + 3]
    );
    const inv = invertAffine(fixed.affine);
    const v = [0, 1, 2].map((r) =>
      inv[r * 4] * world[0] + inv[r * 4 + 1] * world[1] + inv[r * 4 + 2] * world[2] + inv[r * 4 + 3]
    );
    voxel = [v[0], v[1], v[2]];
  } else {
    const scale = (
      x: number,
      from: number,
      to: number,
    ) => (from > 1 ? (x * (to - 1)) / (from - 1) : 0);
    voxel = [scale(i, mw, W), scale(j, mh, H), scale(k, md, D)];
  }
  const [index, n] = axis === "z" ? [voxel[2], D] : axis === "y" ? [voxel[1], H] : [voxel[0], W];
  return Math.min(n - 1, Math.max(0, Math.round(index)));
}

/**
 * Reads a second volume (PET) and reslices it onto the slice `primary`
 * shows (CT), as an image at the same size and aspect. Throws a
 * `TypeError` when `primary` is not a volume slice.
 */
export async function readPetBeside(
  path: string,
  primary: PcaInput,
  options: { window?: readonly [number, number] } = {},
): Promise<PcaInput> {
  if (!primary.volume || primary.axis === undefined || primary.slice === undefined) {
    throw new TypeError(
      `Cannot put "${path}" beside the image as the first input must be a volume (NIfTI, DICOM series): current input is a ${primary.description}`,
    );
  }
  const pet = await readPcaInput(path, { axis: "z", slice: 0 });
  if (!pet.volume) {
    throw new TypeError(
      `Cannot put "${path}" beside the CT as it must be a volume (NIfTI or a DICOM series): current input is a ${pet.description}`,
    );
  }
  const slice = resliceOnto(pet.volume, primary.volume, primary.axis, primary.slice);
  if (slice.inside === 0) {
    throw new RangeError(
      `Cannot put "${path}" beside the CT as the PET must overlap the CT's ${primary.axis} slice ${primary.slice} in world coordinates: current overlap is none (are they the same case?)`,
    );
  }
  return {
    image: sliceImage(slice, options.window),
    volume: pet.volume,
    axis: primary.axis,
    slice: primary.slice,
    description: `PET resliced onto ${primary.axis} slice ${primary.slice} of the CT`,
  };
}
export type { Image2D, Volume } from "../../../core/plugin.ts";

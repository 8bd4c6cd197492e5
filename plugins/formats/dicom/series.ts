/**
 * DICOM series → volume: slices sorted by their Image Position (Patient)
 * projected on the slice normal (the cross product of the Image
 * Orientation row and column cosines) — never by file name or Instance
 * Number — rescaled to modality values (HU for CT), with the slice spacing
 * measured from the positions and a RAS+ affine.
 *
 * {@linkcode readDicomSeries} uses `Deno.readDir`/`Deno.open` (read
 * permission); {@linkcode parseDicomSeries} works on bytes.
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import type { Volume } from "../../../core/plugin.ts";
import { readFileBytes } from "../_io.ts";
import { type DicomImage, parseDicom } from "./reader.ts";

/** A sorted DICOM series and its volume. */
export interface DicomSeries {
  /** The volume: rescaled values `[slices, rows, columns]`, spacing `[slice, row, column]` mm, RAS+ affine. */
  readonly volume: Volume;
  /** The source paths in sorted (slice) order. */
  readonly files: readonly string[];
  /** Each slice's position along the normal (mm), ascending. */
  readonly positions: readonly number[];
  /** The slice normal `row cosine × column cosine` (LPS). */
  readonly normal: readonly [number, number, number];
  /** Image Orientation (Patient) shared by the slices. */
  readonly imageOrientationPatient: readonly number[];
  /** Image Position (Patient) of each slice, sorted. */
  readonly imagePositionPatient: readonly (readonly [number, number, number])[];
  /** Instance Number of each slice in sorted order (undefined where absent). */
  readonly instanceNumbers: readonly (number | undefined)[];
  /** Mean distance between neighbouring slices (mm). */
  readonly sliceSpacing: number;
  /** True when every gap is within 1% (and 0.01 mm) of the mean. */
  readonly uniformSpacing: boolean;
  /** Series Instance UID. */
  readonly seriesInstanceUid: string;
  /** The first slice's attributes (without pixels), for modality, UIDs and window. */
  readonly first: DicomImage;
}

/** One file of a series held in memory. */
export interface DicomSeriesFile {
  /** The file path or source name. */
  readonly path: string;
  /** The file's bytes. */
  readonly bytes: Uint8Array;
}

interface Header {
  path: string;
  image: DicomImage;
  position: number;
}

function cross(a: readonly number[], b: readonly number[]): [number, number, number] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function checkHeaders(images: { path: string; image: DicomImage }[]): {
  sorted: Header[];
  normal: [number, number, number];
  iop: readonly number[];
} {
  if (images.length === 0) {
    throw new FormatError("Cannot read DICOM series as it holds no files", {
      path: "(empty series)",
    });
  }
  const first = images[0].image;
  const iop = first.imageOrientationPatient;
  if (!iop) {
    throw new FormatError(
      "Cannot sort DICOM series as Image Orientation (Patient) (0020,0037) is missing",
      { path: first.path },
    );
  }
  const normal = cross(iop.slice(0, 3), iop.slice(3, 6));
  const headers: Header[] = [];
  for (const { path, image } of images) {
    const p = image.imagePositionPatient;
    if (!p) {
      throw new FormatError(
        "Cannot sort DICOM series as Image Position (Patient) (0020,0032) is missing",
        { path },
      );
    }
    const o = image.imageOrientationPatient;
    if (!o || o.some((v, i) => Math.abs(v - iop[i]) > 1e-4)) {
      throw new FormatError(
        `Cannot stack DICOM series as Image Orientation (Patient) must be the same in every slice: [${
          o?.join(", ")
        }] differs from [${iop.join(", ")}] in ${first.path}`,
        { path },
      );
    }
    if (image.rows !== first.rows || image.columns !== first.columns) {
      throw new FormatError(
        `Cannot stack DICOM series as every slice must be ${first.rows}x${first.columns}: current slice is ${image.rows}x${image.columns}`,
        { path },
      );
    }
    if (image.seriesInstanceUid !== first.seriesInstanceUid) {
      throw new FormatError(
        `Cannot stack DICOM series as the files belong to different series: "${image.seriesInstanceUid}" and "${first.seriesInstanceUid}"`,
        { path },
      );
    }
    if (image.frames !== 1 || image.samplesPerPixel !== 1) {
      throw new FormatError(
        `Cannot stack DICOM series as each file must hold one grey frame: current file has ${image.frames} frames of ${image.samplesPerPixel} samples`,
        { path },
      );
    }
    headers.push({ path, image, position: p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2] });
  }
  headers.sort((a, b) => a.position - b.position);
  for (let i = 1; i < headers.length; i++) {
    if (Math.abs(headers[i].position - headers[i - 1].position) < 1e-6) {
      throw new FormatError(
        `Cannot stack DICOM series as two slices share the position ${
          headers[i].position
        } mm along the normal: "${headers[i - 1].path}" and "${headers[i].path}"`,
        { path: headers[i].path },
      );
    }
  }
  return { sorted: headers, normal, iop };
}

/** Builds the series around a zeroed volume; the caller fills slice `i` at `data[i * rows * cols]`. */
function assemble(
  sorted: Header[],
  normal: [number, number, number],
  iop: readonly number[],
): DicomSeries {
  const first = sorted[0].image;
  const n = sorted.length;
  const positions = sorted.map((h) => h.position);
  let sliceSpacing: number;
  let uniform = true;
  if (n > 1) {
    sliceSpacing = (positions[n - 1] - positions[0]) / (n - 1);
    for (let i = 1; i < n; i++) {
      const gap = positions[i] - positions[i - 1];
      if (Math.abs(gap - sliceSpacing) > Math.max(0.01, 0.01 * sliceSpacing)) uniform = false;
    }
  } else {
    const t = first.spacingBetweenSlices ?? first.sliceThickness;
    if (t === undefined || !(t > 0)) {
      throw new FormatError(
        "Cannot determine the slice spacing of a one-slice DICOM series as it has no Spacing Between Slices or Slice Thickness",
        { path: sorted[0].path },
      );
    }
    sliceSpacing = t;
  }
  const ps = first.pixelSpacing;
  if (!ps) {
    throw new FormatError("Cannot read DICOM series as Pixel Spacing (0028,0030) is missing", {
      path: sorted[0].path,
    });
  }
  const rows = first.rows;
  const cols = first.columns;
  const data = new Float32Array(n * rows * cols);
  const origin = sorted[0].image.imagePositionPatient!;
  const last = sorted[n - 1].image.imagePositionPatient!;
  const step = n > 1
    ? [0, 1, 2].map((a) => (last[a] - origin[a]) / (n - 1))
    : normal.map((v) => v * sliceSpacing);
  // LPS → RAS: negate x and y. Columns: i = column index, j = row index, k = slice.
  const lps = [
    [iop[0] * ps[1], iop[3] * ps[0], step[0], origin[0]],
    [iop[1] * ps[1], iop[4] * ps[0], step[1], origin[1]],
    [iop[2] * ps[1], iop[5] * ps[0], step[2], origin[2]],
  ];
  const affine = [
    ...lps[0].map((v) => -v),
    ...lps[1].map((v) => -v),
    ...lps[2],
    0,
    0,
    0,
    1,
  ];
  return {
    volume: {
      kind: "volume",
      data,
      shape: [n, rows, cols],
      channels: 1,
      spacingMm: [sliceSpacing, ps[0], ps[1]],
      affine,
    },
    files: sorted.map((h) => h.path),
    positions,
    normal,
    imageOrientationPatient: iop,
    imagePositionPatient: sorted.map((h) => h.image.imagePositionPatient!),
    instanceNumbers: sorted.map((h) => h.image.instanceNumber),
    sliceSpacing,
    uniformSpacing: uniform,
    seriesInstanceUid: first.seriesInstanceUid,
    first: { ...first, pixels: undefined },
  };
}

function sliceOf(series: DicomSeries, index: number): Float32Array {
  const [, rows, cols] = series.volume.shape;
  return series.volume.data.subarray(index * rows * cols, (index + 1) * rows * cols);
}

function rescaleInto(image: DicomImage, out: Float32Array): void {
  const px = image.pixels!;
  const slope = image.rescaleSlope;
  const inter = image.rescaleIntercept;
  for (let i = 0; i < out.length; i++) out[i] = px[i] * slope + inter;
}

/**
 * Stacks DICOM files held in memory into a sorted volume (see
 * {@linkcode DicomSeries}). Throws {@linkcode FormatError} when slices
 * lack position/orientation, differ in orientation, size or series, or
 * share a position.
 *
 * @example Three slices given in the wrong order
 * ```ts
 * import { encodeDicom } from "./writer.ts";
 * import { parseDicomSeries } from "./series.ts";
 * import assert from "node:assert/strict";
 * const slice = (z: number) => ({
 *   path: `z${z}.dcm`,
 *   bytes: encodeDicom({ pixels: new Int16Array([z, z, z, z]), rows: 2, columns: 2, pixelSpacing: [0.7, 0.7], imagePositionPatient: [0, 0, z], imageOrientationPatient: [1, 0, 0, 0, 1, 0], seriesInstanceUid: "1.2.3" }),
 * });
 * const series = parseDicomSeries([slice(5), slice(0), slice(2.5)]);
 * assert.deepEqual(series.files, ["z0.dcm", "z2.5.dcm", "z5.dcm"]);
 * assert.equal(series.sliceSpacing, 2.5);
 * assert.deepEqual([...series.volume.data.subarray(4, 8)], [2, 2, 2, 2]);
 * ```
 */
export function parseDicomSeries(files: readonly DicomSeriesFile[]): DicomSeries {
  const parsed = files.map((f) => ({ path: f.path, image: parseDicom(f.bytes, f.path) }));
  const { sorted, normal, iop } = checkHeaders(parsed);
  const series = assemble(sorted, normal, iop);
  sorted.forEach((h, i) => rescaleInto(h.image, sliceOf(series, i)));
  return series;
}

/** Options of {@linkcode readDicomSeries}. */
export interface ReadDicomSeriesOptions {
  /** Which directory entries to read. @default every regular file whose name does not start with "." */
  filter?: (name: string) => boolean;
}

/**
 * Reads a DICOM series from a folder (every regular, non-hidden file, or
 * those `filter` keeps) or from a list of paths. Headers are read first to
 * sort the slices; pixels are then decoded one file at a time straight
 * into the volume, so only one decoded copy is held. Uses `Deno.readDir`
 * and `Deno.open` (read permission). A file that is not DICOM is a
 * {@linkcode FormatError}, not skipped.
 *
 * @example
 * ```ts ignore
 * import { readDicomSeries } from "./series.ts";
 * const { volume, files, sliceSpacing } = await readDicomSeries("ct_series/");
 * ```
 */
export async function readDicomSeries(
  source: string | readonly string[],
  options: ReadDicomSeriesOptions = {},
): Promise<DicomSeries> {
  let paths: string[];
  if (typeof source === "string") {
    const keep = options.filter ?? ((name: string) => !name.startsWith("."));
    const dir = source.endsWith("/") ? source : source + "/";
    paths = [];
    for await (const entry of Deno.readDir(source)) {
      if (entry.isFile && keep(entry.name)) paths.push(dir + entry.name);
    }
    paths.sort();
    if (paths.length === 0) {
      throw new FormatError("Cannot read DICOM series as the folder holds no files", {
        path: source,
      });
    }
  } else {
    paths = [...source];
  }
  const headers: { path: string; image: DicomImage }[] = [];
  for (const path of paths) {
    headers.push({ path, image: parseDicom(await readFileBytes(path), path, { pixels: false }) });
  }
  const { sorted, normal, iop } = checkHeaders(headers);
  const series = assemble(sorted, normal, iop);
  for (const [i, h] of sorted.entries()) {
    const image = parseDicom(await readFileBytes(h.path), h.path);
    if (image.rows !== h.image.rows || image.columns !== h.image.columns) {
      throw new FormatError("Cannot stack DICOM series as the file changed while reading", {
        path: h.path,
      });
    }
    rescaleInto(image, sliceOf(series, i));
  }
  return series;
}

/**
 * Multi-page TIFF stacks (EM sections, label stacks) as one array
 * `[pages, rows, columns(, samples)]`: 8/16/32/64-bit integer or float
 * samples, uncompressed, LZW, Deflate or PackBits, either byte order,
 * strips or tiles. The file structure is checked first (magic, IFD chain,
 * every strip inside the file, the same size and type on every page, a
 * supported compression); geotiff then decodes one page at a time straight
 * into the result.
 *
 * {@linkcode readTiffStack} uses `Deno.open` (read permission) and reads
 * pages lazily from disk; {@linkcode parseTiffStack} works on bytes.
 *
 * @module
 */

import * as GeoTIFF from "geotiff";
import { checkDecodeBudget } from "../limits.ts";
import { registerBoundedTiffDecoders } from "./_codecs.ts";
import { FormatError } from "../../../core/errors.ts";
import type { Volume } from "../../../core/plugin.ts";
import { createBytesSource, getErrorText, openFileSource } from "../_io.ts";
import {
  COMPRESSION_NAMES,
  getTagNumber,
  getTagNumbers,
  getTagString,
  getTiffBlocks,
  readTiffStructure,
  TAG,
  type TiffFile,
  type TiffIfd,
} from "./ifd.ts";

/** Element types of stack samples. */
export type TiffSampleType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "float64";

/** The typed array of each {@linkcode TiffSampleType}. */
export type TiffStackArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A decoded multi-page TIFF. */
export interface TiffStack {
  /** The file path or source name. */
  readonly path: string;
  /** `[pages, rows, columns]` (the samples per pixel are `samplesPerPixel`). */
  readonly shape: readonly [number, number, number];
  /** Samples per pixel (1 for grey and label stacks), interleaved last. */
  readonly samplesPerPixel: number;
  /** The sample type. */
  readonly dtype: TiffSampleType;
  /** All samples, page-major then row-major, samples interleaved. */
  readonly data: TiffStackArray;
  /** Indices of the IFDs read (full-resolution pages, in file order). */
  readonly ifdIndices: readonly number[];
  /** Compression code of the first page. */
  readonly compression: number;
  /** True when the file is big-endian ("MM"). */
  readonly bigEndian: boolean;
  /** ImageDescription of the first page ("" when absent); ImageJ writes `spacing=` here. */
  readonly description: string;
}

/** Compressions the stack reader decodes (through geotiff). */
export const STACK_COMPRESSIONS: readonly number[] = [1, 5, 8, 32773, 32946];

const ARRAY_TYPES: Readonly<Record<TiffSampleType, { bytes: number }>> = {
  uint8: { bytes: 1 },
  int8: { bytes: 1 },
  uint16: { bytes: 2 },
  int16: { bytes: 2 },
  uint32: { bytes: 4 },
  int32: { bytes: 4 },
  float32: { bytes: 4 },
  float64: { bytes: 8 },
};

function sampleType(bits: number, format: number): TiffSampleType | undefined {
  if (format === 3) return bits === 32 ? "float32" : bits === 64 ? "float64" : undefined;
  const signed = format === 2;
  if (format !== 1 && format !== 2) return undefined;
  if (bits === 8) return signed ? "int8" : "uint8";
  if (bits === 16) return signed ? "int16" : "uint16";
  if (bits === 32) return signed ? "int32" : "uint32";
  return undefined;
}

function allocate(type: TiffSampleType, n: number): TiffStackArray {
  switch (type) {
    case "uint8":
      return new Uint8Array(n);
    case "int8":
      return new Int8Array(n);
    case "uint16":
      return new Uint16Array(n);
    case "int16":
      return new Int16Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "int32":
      return new Int32Array(n);
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
  }
}

interface PageLayout {
  width: number;
  height: number;
  spp: number;
  bits: number;
  format: number;
  compression: number;
  dtype: TiffSampleType;
}

function describePage(file: TiffFile, ifd: TiffIfd): PageLayout {
  const path = file.path;
  const what = `TIFF page ${ifd.index}`;
  const compression = getTagNumber(ifd, TAG.Compression, 1);
  if (!STACK_COMPRESSIONS.includes(compression)) {
    throw new FormatError(
      `Cannot decode ${what} as compression ${compression} (${
        COMPRESSION_NAMES[compression] ?? "unknown"
      }) is unsupported: supported are none, LZW, Deflate and PackBits`,
      { path, offset: ifd.offset },
    );
  }
  const spp = getTagNumber(ifd, TAG.SamplesPerPixel, 1);
  const bitsList = getTagNumbers(ifd, TAG.BitsPerSample);
  const bits = bitsList[0] ?? 1;
  const format = getTagNumber(ifd, TAG.SampleFormat, 1);
  if (bitsList.some((b) => b !== bits)) {
    throw new FormatError(
      `Cannot decode ${what} as all samples must have the same bit depth: current BitsPerSample is [${
        bitsList.join(", ")
      }]`,
      { path, offset: ifd.offset },
    );
  }
  const dtype = sampleType(bits, format);
  if (!dtype) {
    throw new FormatError(
      `Cannot decode ${what} as ${bits}-bit samples of SampleFormat ${format} are unsupported (8/16/32-bit integers, 32/64-bit floats)`,
      { path, offset: ifd.offset },
    );
  }
  if (getTagNumber(ifd, TAG.PlanarConfiguration, 1) === 2 && spp > 1) {
    throw new FormatError(
      `Cannot decode ${what} as planar (separate) sample planes are unsupported`,
      {
        path,
        offset: ifd.offset,
      },
    );
  }
  const blocks = getTiffBlocks(file, ifd, what);
  const width = getTagNumber(ifd, TAG.ImageWidth, 0);
  const height = getTagNumber(ifd, TAG.ImageLength, 0);
  if (compression === 1) {
    const bytesPer = ARRAY_TYPES[dtype].bytes * spp;
    for (let i = 0; i < blocks.offsets.length; i++) {
      const rows = blocks.tiled
        ? blocks.blockHeight
        : Math.min(blocks.blockHeight, height - Math.floor(i / blocks.across) * blocks.blockHeight);
      const need = blocks.blockWidth * rows * bytesPer;
      if (blocks.byteCounts[i] < need) {
        throw new FormatError(
          `Cannot decode ${what} as ${blocks.tiled ? "tile" : "strip"} ${i} holds ${
            blocks.byteCounts[i]
          } bytes: ${width}x${height} ${dtype} x ${spp} needs ${need}`,
          { path, offset: blocks.offsets[i] },
        );
      }
    }
  }
  return { width, height, spp, bits, format, compression, dtype };
}

/** Options of {@linkcode readTiffStack} and {@linkcode parseTiffStack}. */
export interface ReadTiffStackOptions {
  /** Read only pages `[start, end)` of the full-resolution pages. @default all */
  pages?: readonly [number, number];
}

async function decodeStack(
  file: TiffFile,
  tiff: GeoTIFF.GeoTIFF,
  options: ReadTiffStackOptions,
): Promise<TiffStack> {
  const path = file.path;
  // Full-resolution pages only: not reduced (bit 0) and not a mask (bit 2).
  const pages = file.ifds.filter((ifd) => (getTagNumber(ifd, TAG.NewSubfileType, 0) & 5) === 0);
  if (pages.length === 0) {
    throw new FormatError(
      `Cannot read TIFF stack as it must hold at least one full-resolution page (NewSubfileType without the reduced or mask bit): current pages are all reduced or masks (${file.ifds.length} IFDs)`,
      { path },
    );
  }
  const [start, end] = options.pages ?? [0, pages.length];
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > pages.length ||
    start >= end
  ) {
    throw new RangeError(
      `Cannot read pages [${start}, ${end}) of "${path}" as it has ${pages.length} full-resolution pages`,
    );
  }
  const selected = pages.slice(start, end);
  const layouts = selected.map((ifd) => describePage(file, ifd));
  const first = layouts[0];
  for (const [i, l] of layouts.entries()) {
    if (
      l.width !== first.width || l.height !== first.height || l.spp !== first.spp ||
      l.dtype !== first.dtype
    ) {
      throw new FormatError(
        `Cannot stack TIFF pages as every page must be ${first.width}x${first.height} ${first.dtype} x ${first.spp}: page ${
          selected[i].index
        } is ${l.width}x${l.height} ${l.dtype} x ${l.spp}`,
        { path, offset: selected[i].offset },
      );
    }
  }
  const pageSize = first.width * first.height * first.spp;
  const field = `ImageWidth x ImageLength (${first.width}x${first.height}) x ${first.spp} samples`;
  checkDecodeBudget(path, { what: "TIFF page", field, pixels: first.width * first.height });
  checkDecodeBudget(path, {
    what: `TIFF stack of ${selected.length} pages`,
    field,
    bytes: pageSize * selected.length * ARRAY_TYPES[first.dtype].bytes,
  });
  registerBoundedTiffDecoders();
  const data = allocate(first.dtype, pageSize * selected.length);
  for (const [i, ifd] of selected.entries()) {
    let raster: ArrayLike<number>;
    try {
      const image = await tiff.getImage(ifd.index);
      raster = (await image.readRasters({ interleave: true })) as unknown as ArrayLike<number>;
    } catch (cause) {
      throw new FormatError(`Cannot decode TIFF page ${ifd.index}: ${getErrorText(cause)}`, {
        path,
        cause,
      });
    }
    if (raster.length !== pageSize) {
      throw new FormatError(
        `Cannot decode TIFF page ${ifd.index} as it decoded to ${raster.length} samples: ${first.width}x${first.height}x${first.spp} expected`,
        { path, offset: ifd.offset },
      );
    }
    data.set(raster, i * pageSize);
  }
  return {
    path,
    shape: [selected.length, first.height, first.width],
    samplesPerPixel: first.spp,
    dtype: first.dtype,
    data,
    ifdIndices: selected.map((ifd) => ifd.index),
    compression: first.compression,
    bigEndian: !file.littleEndian,
    description: getTagString(selected[0], TAG.ImageDescription),
  };
}

/**
 * Decodes a multi-page TIFF held in memory (see {@linkcode TiffStack}).
 * Throws {@linkcode FormatError} for a wrong magic, a strip past the end of
 * the file, pages of different sizes, a strip shorter than its rows need,
 * an unsupported compression or corrupt compressed data.
 *
 * @example A stack written by this package, read back
 * ```ts
 * import { encodeTiffStack } from "./writer.ts";
 * import { parseTiffStack } from "./stack.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeTiffStack(new Uint16Array([1, 2, 3, 4, 5, 6, 7, 8]), { shape: [2, 2, 2], compression: "deflate" });
 * const stack = await parseTiffStack(bytes, "mem.tif");
 * assert.deepEqual(stack.shape, [2, 2, 2]);
 * assert.deepEqual([...stack.data], [1, 2, 3, 4, 5, 6, 7, 8]);
 * ```
 */
export async function parseTiffStack(
  bytes: Uint8Array,
  path: string,
  options: ReadTiffStackOptions = {},
): Promise<TiffStack> {
  // The structure is validated before geotiff sees the bytes.
  const file = await readTiffStructure(createBytesSource(bytes, path));
  let tiff: GeoTIFF.GeoTIFF;
  try {
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer as ArrayBuffer
      : bytes.slice().buffer;
    tiff = await GeoTIFF.fromArrayBuffer(buffer);
  } catch (cause) {
    throw new FormatError(`Cannot open TIFF: ${getErrorText(cause)}`, { path, cause });
  }
  return await decodeStack(file, tiff, options);
}

/**
 * Reads a multi-page TIFF from disk, page by page (the file is not loaded
 * whole). Uses `Deno.open` (read permission); `Deno.errors.NotFound`
 * propagates. See {@linkcode parseTiffStack}.
 *
 * @example
 * ```ts ignore
 * import { readTiffStack } from "./stack.ts";
 * const em = await readTiffStack("em_stack_uint8.tif", { pages: [0, 8] });
 * console.log(em.shape); // [8, 128, 128]
 * ```
 */
export async function readTiffStack(
  path: string,
  options: ReadTiffStackOptions = {},
): Promise<TiffStack> {
  const source = await openFileSource(path);
  try {
    const file = await readTiffStructure(source);
    let tiff: GeoTIFF.GeoTIFF;
    try {
      tiff = await GeoTIFF.fromFile(path);
    } catch (cause) {
      throw new FormatError(`Cannot open TIFF: ${getErrorText(cause)}`, { path, cause });
    }
    try {
      return await decodeStack(file, tiff, options);
    } finally {
      tiff.close();
    }
  } finally {
    source.close();
  }
}

/**
 * A grey stack as the {@linkcode Volume} sample type: pages become slices
 * (`[D, H, W]` = `[pages, rows, columns]`), values float32. TIFF stacks
 * rarely carry trustworthy voxel sizes, so the spacing is required.
 */
export function convertTiffStackToVolume(
  stack: TiffStack,
  spacingMm: readonly [number, number, number],
): Volume {
  if (stack.samplesPerPixel !== 1) {
    throw new TypeError(
      `Cannot convert "${stack.path}" to a volume as it must have 1 sample per pixel: current value is ${stack.samplesPerPixel}`,
    );
  }
  if (spacingMm.length !== 3 || spacingMm.some((s) => !(s > 0))) {
    throw new RangeError(
      `Cannot convert "${stack.path}" to a volume as spacingMm must be 3 positive numbers`,
    );
  }
  return {
    kind: "volume",
    data: Float32Array.from(stack.data),
    shape: [...stack.shape],
    channels: 1,
    spacingMm: [spacingMm[0], spacingMm[1], spacingMm[2]],
  };
}

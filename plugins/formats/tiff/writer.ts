/**
 * TIFF writers for synthetic datasets in real layouts:
 * {@linkcode encodeTiffStack} writes multi-page grey stacks (EM sections,
 * label stacks) uncompressed, Deflate or PackBits, in either byte order;
 * {@linkcode encodePyramidTiff} writes a tiled pyramidal whole-slide TIFF
 * with JPEG tiles (jpeg-js) sharing one JPEGTables tag, YCbCr, resolution
 * tags, and optional thumbnail/label/macro pages placed as Aperio SVS does.
 *
 * `write*` functions use `Deno.writeFile`; `encode*` return bytes.
 *
 * @module
 */

import * as jpeg from "jpeg-js";
import { deflateSync } from "node:zlib";
import { TAG } from "./ifd.ts";
import { concatBytes } from "../_io.ts";

interface Entry {
  tag: number;
  type: 2 | 3 | 4 | 5 | 7;
  values: number[] | string | Uint8Array;
}

interface PageSpec {
  entries: Entry[];
  blocks: Uint8Array[];
  tiled: boolean;
}

const TYPE_SIZE: Record<number, number> = { 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

function entryCount(e: Entry): number {
  if (typeof e.values === "string") return e.values.length + 1;
  return e.values.length;
}

/** Lays out and serialises classic-TIFF pages: block data first, then the IFDs. */
function encodeTiff(pages: PageSpec[], littleEndian: boolean): Uint8Array {
  let offset = 8;
  const blockOffsets: number[][] = [];
  for (const page of pages) {
    const offsets: number[] = [];
    for (const b of page.blocks) {
      offsets.push(offset);
      offset += b.length + (b.length & 1);
    }
    blockOffsets.push(offsets);
  }
  const ifdOffsets: number[] = [];
  const fullEntries: Entry[][] = [];
  for (const [p, page] of pages.entries()) {
    const entries = [...page.entries];
    entries.push({
      tag: page.tiled ? TAG.TileOffsets : TAG.StripOffsets,
      type: 4,
      values: blockOffsets[p],
    });
    entries.push({
      tag: page.tiled ? TAG.TileByteCounts : TAG.StripByteCounts,
      type: 4,
      values: page.blocks.map((b) => b.length),
    });
    entries.sort((a, b) => a.tag - b.tag);
    fullEntries.push(entries);
    ifdOffsets.push(offset);
    offset += 2 + entries.length * 12 + 4;
    for (const e of entries) {
      const size = TYPE_SIZE[e.type] * entryCount(e);
      if (size > 4) offset += size + (size & 1);
    }
  }
  if (offset > 0xffffffff) {
    throw new RangeError(
      `Cannot encode TIFF as it needs ${offset} bytes: classic TIFF holds at most 4 GiB`,
    );
  }
  const out = new Uint8Array(offset);
  const v = new DataView(out.buffer);
  const le = littleEndian;
  out.set(le ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  v.setUint16(2, 42, le);
  v.setUint32(4, ifdOffsets[0], le);
  for (const [p, page] of pages.entries()) {
    page.blocks.forEach((b, i) => out.set(b, blockOffsets[p][i]));
  }
  for (const [p, entries] of fullEntries.entries()) {
    let at = ifdOffsets[p];
    let valueAt = at + 2 + entries.length * 12 + 4;
    v.setUint16(at, entries.length, le);
    at += 2;
    for (const e of entries) {
      const count = entryCount(e);
      const size = TYPE_SIZE[e.type] * count;
      v.setUint16(at, e.tag, le);
      v.setUint16(at + 2, e.type, le);
      v.setUint32(at + 4, count, le);
      const target = size > 4 ? valueAt : at + 8;
      if (size > 4) v.setUint32(at + 8, valueAt, le);
      writeValues(v, out, target, e, le);
      if (size > 4) valueAt += size + (size & 1);
      at += 12;
    }
    v.setUint32(at, p + 1 < pages.length ? ifdOffsets[p + 1] : 0, le);
  }
  return out;
}

function writeValues(v: DataView, out: Uint8Array, at: number, e: Entry, le: boolean): void {
  if (typeof e.values === "string") {
    for (let i = 0; i < e.values.length; i++) out[at + i] = e.values.charCodeAt(i) & 0xff;
    out[at + e.values.length] = 0;
    return;
  }
  if (e.values instanceof Uint8Array) {
    out.set(e.values, at);
    return;
  }
  e.values.forEach((x, i) => {
    switch (e.type) {
      case 3:
        v.setUint16(at + i * 2, x, le);
        break;
      case 4:
        v.setUint32(at + i * 4, x, le);
        break;
      case 5: {
        // rational: value * 10000 / 10000, exact for the resolutions we write
        const den = Number.isInteger(x) ? 1 : 10000;
        v.setUint32(at + i * 8, Math.round(x * den), le);
        v.setUint32(at + i * 8 + 4, den, le);
        break;
      }
    }
  });
}

/** Options of {@linkcode encodeTiffStack}. */
export interface EncodeTiffStackOptions {
  /** `[pages, rows, columns]`. */
  shape: readonly [number, number, number];
  /** Strip compression. @default {"none"} */
  compression?: "none" | "deflate" | "packbits";
  /** Byte order of the file. @default {"little"} */
  byteOrder?: "little" | "big";
  /** Rows per strip. @default the page height (one strip per page) */
  rowsPerStrip?: number;
  /** ImageDescription of the first page (e.g. ImageJ's `spacing=`). @default none */
  description?: string;
}

/** Sample arrays a stack can hold. */
export type TiffStackInput =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

function sampleFormat(data: TiffStackInput): { bits: number; format: number } {
  const bits = data.BYTES_PER_ELEMENT * 8;
  if (data instanceof Float32Array || data instanceof Float64Array) return { bits, format: 3 };
  if (data instanceof Int8Array || data instanceof Int16Array || data instanceof Int32Array) {
    return { bits, format: 2 };
  }
  return { bits, format: 1 };
}

function packBits(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 2) {
      out.push(257 - run, src[i]);
      i += run;
      continue;
    }
    let lit = 1;
    while (
      i + lit < src.length && lit < 128 &&
      !(i + lit + 1 < src.length && src[i + lit] === src[i + lit + 1])
    ) lit++;
    out.push(lit - 1);
    for (let k = 0; k < lit; k++) out.push(src[i + k]);
    i += lit;
  }
  return new Uint8Array(out);
}

/**
 * Encodes a grey stack `[pages, rows, columns]` as a multi-page TIFF, one
 * IFD per page, the sample type following the array type (SampleFormat
 * unsigned, signed or float).
 *
 * @example A big-endian PackBits uint8 stack
 * ```ts
 * import { encodeTiffStack } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeTiffStack(new Uint8Array(2 * 3 * 4), { shape: [2, 3, 4], compression: "packbits", byteOrder: "big" });
 * assert.equal(String.fromCharCode(bytes[0], bytes[1]), "MM");
 * ```
 */
export function encodeTiffStack(data: TiffStackInput, options: EncodeTiffStackOptions): Uint8Array {
  const [pages, rows, cols] = options.shape;
  if (![pages, rows, cols].every((d) => Number.isInteger(d) && d >= 1)) {
    throw new RangeError(
      `Cannot encode TIFF stack as shape must hold positive integers: current shape is [${
        options.shape.join(", ")
      }]`,
    );
  }
  if (data.length !== pages * rows * cols) {
    throw new TypeError(
      `Cannot encode TIFF stack as data length must be ${pages * rows * cols} for shape [${
        options.shape.join(", ")
      }]: current length is ${data.length}`,
    );
  }
  const le = (options.byteOrder ?? "little") === "little";
  const { bits, format } = sampleFormat(data);
  const bytesPer = bits / 8;
  const rowsPerStrip = Math.min(options.rowsPerStrip ?? rows, rows);
  const compression = options.compression ?? "none";
  const code = compression === "deflate" ? 8 : compression === "packbits" ? 32773 : 1;
  const specs: PageSpec[] = [];
  for (let p = 0; p < pages; p++) {
    const blocks: Uint8Array[] = [];
    for (let r0 = 0; r0 < rows; r0 += rowsPerStrip) {
      const r1 = Math.min(rows, r0 + rowsPerStrip);
      const n = (r1 - r0) * cols;
      const raw = new Uint8Array(n * bytesPer);
      const view = new DataView(raw.buffer);
      const base = (p * rows + r0) * cols;
      for (let i = 0; i < n; i++) {
        const x = data[base + i];
        const o = i * bytesPer;
        if (format === 3) {
          if (bits === 32) view.setFloat32(o, x, le);
          else view.setFloat64(o, x, le);
        } else if (bits === 8) {
          view.setUint8(o, x & 0xff);
        } else if (bits === 16) {
          view.setUint16(o, x & 0xffff, le);
        } else {
          view.setUint32(o, x >>> 0, le);
        }
      }
      if (compression === "deflate") blocks.push(new Uint8Array(deflateSync(raw)));
      else if (compression === "packbits") blocks.push(packBits(raw));
      else blocks.push(raw);
    }
    const entries: Entry[] = [
      { tag: TAG.ImageWidth, type: 4, values: [cols] },
      { tag: TAG.ImageLength, type: 4, values: [rows] },
      { tag: TAG.BitsPerSample, type: 3, values: [bits] },
      { tag: TAG.Compression, type: 3, values: [code] },
      { tag: TAG.Photometric, type: 3, values: [1] },
      { tag: TAG.SamplesPerPixel, type: 3, values: [1] },
      { tag: TAG.RowsPerStrip, type: 4, values: [rowsPerStrip] },
      { tag: TAG.PlanarConfiguration, type: 3, values: [1] },
      { tag: TAG.SampleFormat, type: 3, values: [format] },
    ];
    if (p === 0 && options.description) {
      entries.push({ tag: TAG.ImageDescription, type: 2, values: options.description });
    }
    specs.push({ entries, blocks, tiled: false });
  }
  return encodeTiff(specs, le);
}

/**
 * Writes a multi-page TIFF stack (see {@linkcode encodeTiffStack}). Uses
 * `Deno.writeFile` (write permission).
 */
export async function writeTiffStack(
  path: string,
  data: TiffStackInput,
  options: EncodeTiffStackOptions,
): Promise<void> {
  await Deno.writeFile(path, encodeTiffStack(data, options));
}

/** RGB pixels for the pyramid writer: 8-bit, row-major, 3 channels interleaved. */
export interface RgbPixels {
  /** `height * width * 3` samples. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** An associated image stored beside the pyramid (skipped by the slide reader as a level). */
export interface AssociatedImage {
  /** `"thumbnail"` goes right after level 0 (as in SVS); `"label"` and `"macro"` at the end. */
  readonly kind: "thumbnail" | "label" | "macro";
  /** The pixels, stored uncompressed in strips. */
  readonly image: RgbPixels;
}

/** Options of {@linkcode encodePyramidTiff}. */
export interface EncodePyramidOptions {
  /** Tile width and height, a multiple of 16. @default {256} */
  tileSize?: number;
  /** Level downsamples, starting at 1, increasing integers. @default {[1, 4, 16]} */
  downsamples?: readonly number[];
  /** JPEG quality 1-100. @default {90} */
  quality?: number;
  /** Microns per pixel at level 0 (written as XResolution/YResolution in px/cm). @default {0.5} */
  mpp?: number;
  /** ImageDescription of level 0. @default {"medprobe pyramid|MPP = <mpp>"} */
  description?: string;
  /** Thumbnail, label and macro pages. @default none */
  associated?: readonly AssociatedImage[];
}

function splitJpeg(stream: Uint8Array): { tables: Uint8Array[]; body: Uint8Array } {
  const tables: Uint8Array[] = [];
  const keep: Uint8Array[] = [stream.subarray(0, 2)];
  let at = 2;
  while (at < stream.length) {
    const marker = stream[at + 1];
    if (marker === 0xda) {
      keep.push(stream.subarray(at));
      break;
    }
    const length = (stream[at + 2] << 8) | stream[at + 3];
    const segment = stream.subarray(at, at + 2 + length);
    if (marker === 0xdb || marker === 0xc4) tables.push(segment);
    else if (marker !== 0xe0 && marker !== 0xfe) keep.push(segment);
    at += 2 + length;
  }
  return { tables, body: concatBytes(keep) };
}

function downsample(src: RgbPixels, d: number): RgbPixels {
  if (d === 1) return src;
  const width = Math.max(1, Math.ceil(src.width / d));
  const height = Math.max(1, Math.ceil(src.height / d));
  const out = new Uint8Array(width * height * 3);
  const sums = new Float64Array(width * 3);
  const counts = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    sums.fill(0);
    counts.fill(0);
    const y1 = Math.min(src.height, (y + 1) * d);
    for (let sy = y * d; sy < y1; sy++) {
      const row = sy * src.width * 3;
      for (let sx = 0; sx < src.width; sx++) {
        const x = Math.floor(sx / d);
        const o = row + sx * 3;
        sums[x * 3] += src.data[o];
        sums[x * 3 + 1] += src.data[o + 1];
        sums[x * 3 + 2] += src.data[o + 2];
        counts[x]++;
      }
    }
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        out[(y * width + x) * 3 + c] = Math.round(sums[x * 3 + c] / counts[x]);
      }
    }
  }
  return { data: out, width, height };
}

function checkRgb(image: RgbPixels, what: string): void {
  if (
    !Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 ||
    image.height < 1 || image.data.length !== image.width * image.height * 3
  ) {
    throw new TypeError(
      `Cannot encode ${what} as data must hold width x height x 3 = ${
        image.width * image.height * 3
      } samples: current length is ${image.data.length}`,
    );
  }
}

function stripPage(image: RgbPixels, kind: AssociatedImage["kind"]): PageSpec {
  checkRgb(image, `the ${kind} image`);
  // Aperio marks the label as reduced (1) and the macro as reduced + "macro" (9).
  const subfile = kind === "label" ? 1 : kind === "macro" ? 9 : 0;
  return {
    tiled: false,
    blocks: [image.data],
    entries: [
      { tag: TAG.NewSubfileType, type: 4, values: [subfile] },
      { tag: TAG.ImageWidth, type: 4, values: [image.width] },
      { tag: TAG.ImageLength, type: 4, values: [image.height] },
      { tag: TAG.BitsPerSample, type: 3, values: [8, 8, 8] },
      { tag: TAG.Compression, type: 3, values: [1] },
      { tag: TAG.Photometric, type: 3, values: [2] },
      { tag: TAG.ImageDescription, type: 2, values: `${kind} ${image.width}x${image.height}` },
      { tag: TAG.SamplesPerPixel, type: 3, values: [3] },
      { tag: TAG.RowsPerStrip, type: 4, values: [image.height] },
      { tag: TAG.PlanarConfiguration, type: 3, values: [1] },
    ],
  };
}

/**
 * Encodes an RGB image as a tiled pyramidal TIFF: one tiled IFD per
 * downsample (NewSubfileType 0 for level 0, 1 for the others), JPEG tiles
 * with the quantisation and Huffman tables moved into one shared
 * JPEGTables tag (abbreviated tile streams, as libtiff and Aperio write
 * them), Photometric YCbCr with YCbCrSubsampling 1×1 (jpeg-js encodes
 * 4:4:4), resolution in pixels per cm, partial edge tiles padded by
 * repeating the last row/column. Lower levels are box averages of level 0.
 *
 * @example A 40×30 image with two levels, read back by the slide reader
 * ```ts
 * import { encodePyramidTiff } from "./writer.ts";
 * import { openSlideBytes } from "./slide.ts";
 * import assert from "node:assert/strict";
 * const data = new Uint8Array(40 * 30 * 3).fill(200);
 * const bytes = encodePyramidTiff({ data, width: 40, height: 30 }, { tileSize: 16, downsamples: [1, 2] });
 * const slide = await openSlideBytes(bytes, "mem.tif");
 * assert.deepEqual(slide.levels.map((l) => [l.width, l.height]), [[40, 30], [20, 15]]);
 * ```
 */
export function encodePyramidTiff(
  image: RgbPixels,
  options: EncodePyramidOptions = {},
): Uint8Array {
  checkRgb(image, "the pyramid");
  const tile = options.tileSize ?? 256;
  if (!Number.isInteger(tile) || tile < 16 || tile % 16 !== 0) {
    throw new RangeError(
      `Cannot encode pyramid as tileSize must be a positive multiple of 16: current value is ${tile}`,
    );
  }
  const downsamples = options.downsamples ?? [1, 4, 16];
  if (
    downsamples[0] !== 1 ||
    downsamples.some((d, i) => !Number.isInteger(d) || (i > 0 && d <= downsamples[i - 1]))
  ) {
    throw new RangeError(
      `Cannot encode pyramid as downsamples must start at 1 and increase as integers: current value is [${
        downsamples.join(", ")
      }]`,
    );
  }
  const quality = options.quality ?? 90;
  const mpp = options.mpp ?? 0.5;
  const pxPerCm = 10000 / mpp;
  let sharedTables: Uint8Array | undefined;
  const levelPages: PageSpec[] = [];
  const rgba = new Uint8Array(tile * tile * 4);
  for (const [li, d] of downsamples.entries()) {
    const level = downsample(image, d);
    const across = Math.ceil(level.width / tile);
    const down = Math.ceil(level.height / tile);
    const blocks: Uint8Array[] = [];
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        for (let y = 0; y < tile; y++) {
          const sy = Math.min(level.height - 1, ty * tile + y);
          for (let x = 0; x < tile; x++) {
            const sx = Math.min(level.width - 1, tx * tile + x);
            const s = (sy * level.width + sx) * 3;
            const o = (y * tile + x) * 4;
            rgba[o] = level.data[s];
            rgba[o + 1] = level.data[s + 1];
            rgba[o + 2] = level.data[s + 2];
            rgba[o + 3] = 255;
          }
        }
        const encoded = jpeg.encode({ data: rgba, width: tile, height: tile }, quality).data;
        const { tables, body } = splitJpeg(
          new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length),
        );
        const tableBytes = concatBytes([
          new Uint8Array([0xff, 0xd8]),
          ...tables,
          new Uint8Array([0xff, 0xd9]),
        ]);
        if (!sharedTables) sharedTables = tableBytes;
        else if (
          tableBytes.length !== sharedTables.length ||
          tableBytes.some((b, i) => b !== sharedTables![i])
        ) {
          throw new Error(
            "Cannot share JPEG tables as jpeg-js produced different tables for two tiles",
          );
        }
        blocks.push(body);
      }
    }
    const entries: Entry[] = [
      { tag: TAG.NewSubfileType, type: 4, values: [li === 0 ? 0 : 1] },
      { tag: TAG.ImageWidth, type: 4, values: [level.width] },
      { tag: TAG.ImageLength, type: 4, values: [level.height] },
      { tag: TAG.BitsPerSample, type: 3, values: [8, 8, 8] },
      { tag: TAG.Compression, type: 3, values: [7] },
      { tag: TAG.Photometric, type: 3, values: [6] },
      { tag: TAG.SamplesPerPixel, type: 3, values: [3] },
      { tag: TAG.XResolution, type: 5, values: [pxPerCm / d] },
      { tag: TAG.YResolution, type: 5, values: [pxPerCm / d] },
      { tag: TAG.PlanarConfiguration, type: 3, values: [1] },
      { tag: TAG.ResolutionUnit, type: 3, values: [3] },
      { tag: TAG.TileWidth, type: 3, values: [tile] },
      { tag: TAG.TileLength, type: 3, values: [tile] },
      { tag: TAG.JPEGTables, type: 7, values: sharedTables! },
      { tag: TAG.YCbCrSubsampling, type: 3, values: [1, 1] },
    ];
    if (li === 0) {
      entries.push({
        tag: TAG.ImageDescription,
        type: 2,
        values: options.description ??
          `medprobe pyramid ${image.width}x${image.height}|MPP = ${mpp}`,
      });
    }
    levelPages.push({ entries, blocks, tiled: true });
  }
  const associated = options.associated ?? [];
  const thumbnail = associated.filter((a) => a.kind === "thumbnail").map((a) =>
    stripPage(a.image, a.kind)
  );
  const tail = associated.filter((a) => a.kind !== "thumbnail").map((a) =>
    stripPage(a.image, a.kind)
  );
  return encodeTiff([levelPages[0], ...thumbnail, ...levelPages.slice(1), ...tail], true);
}

/**
 * Writes a tiled pyramidal TIFF (see {@linkcode encodePyramidTiff}). Uses
 * `Deno.writeFile` (write permission).
 *
 * @example
 * ```ts ignore
 * import { writePyramidTiff } from "./writer.ts";
 * await writePyramidTiff("slide.tif", { data: rgb, width: 4608, height: 4608 }, { mpp: 0.25 });
 * ```
 */
export async function writePyramidTiff(
  path: string,
  image: RgbPixels,
  options: EncodePyramidOptions = {},
): Promise<void> {
  await Deno.writeFile(path, encodePyramidTiff(image, options));
}

/**
 * TIFF structure: the header, the chain of image file directories (IFDs)
 * and their tag values, read from a {@linkcode ByteSource} without
 * decoding any pixels. Classic TIFF and BigTIFF, both byte orders. Every
 * offset is checked against the file size, and an IFD chain that loops is
 * refused. Shared by the stack and slide readers.
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { type ByteSource, checkRange, formatHexBytes } from "../_io.ts";
import { checkDecodeBudget } from "../limits.ts";

/** Tag numbers used by the readers and writers. */
export const TAG = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  ResolutionUnit: 296,
  Software: 305,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubsampling: 530,
} as const;

/** Compression codes and names. */
export const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: "none",
  2: "CCITT RLE",
  3: "CCITT Group 3",
  4: "CCITT Group 4",
  5: "LZW",
  6: "old-style JPEG",
  7: "JPEG",
  8: "Deflate",
  32773: "PackBits",
  32946: "Deflate (PKZIP)",
  33003: "Aperio JPEG 2000 YCbCr",
  33005: "Aperio JPEG 2000 RGB",
  34712: "JPEG 2000",
  34887: "LERC",
  34925: "LZMA",
  50000: "Zstandard",
  50001: "WebP",
  50002: "JPEG XL",
};

/** A decoded tag value: numbers (integers, rationals as numbers), a string, or raw bytes. */
export type TiffValue = number[] | string | Uint8Array;

/** One image file directory. */
export interface TiffIfd {
  /** Position in the chain (0-based). */
  readonly index: number;
  /** Byte offset of the IFD in the file. */
  readonly offset: number;
  /** Tag values by tag number. */
  readonly tags: ReadonlyMap<number, TiffValue>;
}

/** The parsed structure of a TIFF file. */
export interface TiffFile {
  /** The file path or source name. */
  readonly path: string;
  /** True for "II" (little-endian), false for "MM". */
  readonly littleEndian: boolean;
  /** True for BigTIFF (version 43). */
  readonly bigTiff: boolean;
  /** The IFDs in chain order. */
  readonly ifds: readonly TiffIfd[];
  /** The file size in bytes. */
  readonly size: number;
}

const TYPE_SIZES: Readonly<Record<number, number>> = {
  1: 1, // BYTE
  2: 1, // ASCII
  3: 2, // SHORT
  4: 4, // LONG
  5: 8, // RATIONAL
  6: 1, // SBYTE
  7: 1, // UNDEFINED
  8: 2, // SSHORT
  9: 4, // SLONG
  10: 8, // SRATIONAL
  11: 4, // FLOAT
  12: 8, // DOUBLE
  13: 4, // IFD
  16: 8, // LONG8
  17: 8, // SLONG8
  18: 8, // IFD8
};

/** The most IFDs a file may chain (a guard against corrupt chains). */
const MAX_IFDS = 100_000;

function decodeValues(
  bytes: Uint8Array,
  type: number,
  count: number,
  le: boolean,
): TiffValue {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (type === 2) {
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    return new TextDecoder("latin1").decode(bytes.subarray(0, end));
  }
  if (type === 7) return bytes.slice();
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case 1:
        out[i] = v.getUint8(i);
        break;
      case 6:
        out[i] = v.getInt8(i);
        break;
      case 3:
        out[i] = v.getUint16(i * 2, le);
        break;
      case 8:
        out[i] = v.getInt16(i * 2, le);
        break;
      case 4:
      case 13:
        out[i] = v.getUint32(i * 4, le);
        break;
      case 9:
        out[i] = v.getInt32(i * 4, le);
        break;
      case 5:
        out[i] = v.getUint32(i * 8, le) / v.getUint32(i * 8 + 4, le);
        break;
      case 10:
        out[i] = v.getInt32(i * 8, le) / v.getInt32(i * 8 + 4, le);
        break;
      case 11:
        out[i] = v.getFloat32(i * 4, le);
        break;
      case 12:
        out[i] = v.getFloat64(i * 8, le);
        break;
      case 16:
      case 18:
        out[i] = Number(v.getBigUint64(i * 8, le));
        break;
      case 17:
        out[i] = Number(v.getBigInt64(i * 8, le));
        break;
    }
  }
  return out;
}

/**
 * Reads the TIFF header and every IFD of the chain with its tag values.
 * Throws {@linkcode FormatError} for a wrong magic or version, an IFD or a
 * tag value outside the file, or a looping chain.
 */
export async function readTiffStructure(source: ByteSource): Promise<TiffFile> {
  const path = source.path;
  if (source.size < 8) {
    throw new FormatError(
      `Cannot read TIFF as the file is truncated: ${source.size} bytes, the header needs 8`,
      { path, offset: 0 },
    );
  }
  const head = await source.read(0, Math.min(16, source.size));
  const order = String.fromCharCode(head[0], head[1]);
  if (order !== "II" && order !== "MM") {
    throw new FormatError(
      `Cannot read TIFF as the byte-order mark must be "II" or "MM": current bytes are ${
        formatHexBytes(head.subarray(0, 4))
      }`,
      { path, offset: 0 },
    );
  }
  const le = order === "II";
  const hv = new DataView(head.buffer, head.byteOffset, head.length);
  const version = hv.getUint16(2, le);
  if (version !== 42 && version !== 43) {
    throw new FormatError(
      `Cannot read TIFF as the version must be 42 (TIFF) or 43 (BigTIFF): current value is ${version}`,
      { path, offset: 2 },
    );
  }
  const big = version === 43;
  if (big && (head.length < 16 || hv.getUint16(4, le) !== 8)) {
    throw new FormatError(
      "Cannot read BigTIFF as its header is truncated or its offset size is not 8",
      {
        path,
        offset: 4,
      },
    );
  }
  let next = big ? Number(hv.getBigUint64(8, le)) : hv.getUint32(4, le);
  const ifds: TiffIfd[] = [];
  const seen = new Set<number>();
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  while (next !== 0) {
    if (seen.has(next)) {
      throw new FormatError(`Cannot read TIFF as its IFD chain loops back to offset ${next}`, {
        path,
        offset: next,
      });
    }
    if (ifds.length >= MAX_IFDS) {
      throw new FormatError(`Cannot read TIFF as it chains more than ${MAX_IFDS} IFDs`, { path });
    }
    seen.add(next);
    checkRange(path, source.size, next, countSize, `IFD ${ifds.length}`);
    const countBytes = await source.read(next, countSize);
    const cv = new DataView(countBytes.buffer, countBytes.byteOffset, countSize);
    const n = big ? Number(cv.getBigUint64(0, le)) : cv.getUint16(0, le);
    const tableLength = n * entrySize + (big ? 8 : 4);
    checkRange(
      path,
      source.size,
      next + countSize,
      tableLength,
      `IFD ${ifds.length} with ${n} entries`,
    );
    const table = await source.read(next + countSize, tableLength);
    const tv = new DataView(table.buffer, table.byteOffset, table.length);
    const tags = new Map<number, TiffValue>();
    for (let e = 0; e < n; e++) {
      const at = e * entrySize;
      const tag = tv.getUint16(at, le);
      const type = tv.getUint16(at + 2, le);
      const count = big ? Number(tv.getBigUint64(at + 4, le)) : tv.getUint32(at + 4, le);
      const size = TYPE_SIZES[type];
      if (size === undefined) continue; // unknown types are skipped, as libtiff does
      const length = size * count;
      let valueBytes: Uint8Array;
      if (length <= inline) {
        valueBytes = table.subarray(at + (big ? 12 : 8), at + (big ? 12 : 8) + length);
      } else {
        const offset = big ? Number(tv.getBigUint64(at + 12, le)) : tv.getUint32(at + 8, le);
        checkRange(path, source.size, offset, length, `TIFF tag ${tag} of IFD ${ifds.length}`);
        valueBytes = await source.read(offset, length);
      }
      tags.set(tag, decodeValues(valueBytes, type, count, le));
    }
    ifds.push({ index: ifds.length, offset: next, tags });
    next = big ? Number(tv.getBigUint64(n * entrySize, le)) : tv.getUint32(n * entrySize, le);
  }
  if (ifds.length === 0) {
    throw new FormatError("Cannot read TIFF as it holds no image (the first IFD offset is 0)", {
      path,
      offset: 4,
    });
  }
  return { path, littleEndian: le, bigTiff: big, ifds, size: source.size };
}

/** The first number of a tag, or `fallback` when absent. */
export function getTagNumber(ifd: TiffIfd, tag: number, fallback: number): number;
/** The first number of a tag, or undefined when absent. */
export function getTagNumber(ifd: TiffIfd, tag: number): number | undefined;
export function getTagNumber(ifd: TiffIfd, tag: number, fallback?: number): number | undefined {
  const v = ifd.tags.get(tag);
  if (Array.isArray(v) && v.length > 0) return v[0];
  return fallback;
}

/** The numbers of a tag (empty when absent or not numeric). */
export function getTagNumbers(ifd: TiffIfd, tag: number): number[] {
  const v = ifd.tags.get(tag);
  return Array.isArray(v) ? v : [];
}

/** The string of an ASCII tag ("" when absent). */
export function getTagString(ifd: TiffIfd, tag: number): string {
  const v = ifd.tags.get(tag);
  return typeof v === "string" ? v : "";
}

/** The raw bytes of an UNDEFINED/BYTE tag (e.g. JPEGTables), or undefined. */
export function getTagBytes(ifd: TiffIfd, tag: number): Uint8Array | undefined {
  const v = ifd.tags.get(tag);
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return Uint8Array.from(v);
  return undefined;
}

/** The data blocks (strips or tiles) of an IFD, checked to lie inside the file. */
export interface TiffBlocks {
  /** True for tiles, false for strips. */
  readonly tiled: boolean;
  /** Block width (image width for strips). */
  readonly blockWidth: number;
  /** Block height (rows per strip for strips). */
  readonly blockHeight: number;
  /** Blocks across. */
  readonly across: number;
  /** Blocks down. */
  readonly down: number;
  /** Byte offset of each block. */
  readonly offsets: readonly number[];
  /** Byte count of each block. */
  readonly byteCounts: readonly number[];
}

function roundUp16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/**
 * The strip or tile layout of an IFD, with every block checked against the
 * file size ("tile offset past the end of the file" is a {@linkcode FormatError}
 * here, before any decoding).
 */
export function getTiffBlocks(file: TiffFile, ifd: TiffIfd, what: string): TiffBlocks {
  const path = file.path;
  const width = getTagNumber(ifd, TAG.ImageWidth, 0);
  const height = getTagNumber(ifd, TAG.ImageLength, 0);
  if (!(width > 0) || !(height > 0)) {
    throw new FormatError(
      `Cannot read ${what} as ImageWidth and ImageLength must be positive: current size is ${width}x${height}`,
      { path, offset: ifd.offset },
    );
  }
  const tiled = ifd.tags.has(TAG.TileWidth);
  const blockWidth = tiled ? getTagNumber(ifd, TAG.TileWidth, 0) : width;
  const blockHeight = tiled
    ? getTagNumber(ifd, TAG.TileLength, 0)
    : Math.min(getTagNumber(ifd, TAG.RowsPerStrip, height), height);
  if (!(blockWidth > 0) || !(blockHeight > 0)) {
    throw new FormatError(
      `Cannot read ${what} as its ${
        tiled ? "tile size" : "rows per strip"
      } must be positive: current value is ${blockWidth}x${blockHeight}`,
      { path, offset: ifd.offset },
    );
  }
  // A tile may be larger than a small level (a 256² tile on a 100×80
  // thumbnail level is normal) but not by more than one tile grid step.
  if (
    tiled &&
    (blockWidth > Math.max(roundUp16(width), 1024) ||
      blockHeight > Math.max(roundUp16(height), 1024))
  ) {
    throw new FormatError(
      `Cannot read ${what} as TileWidth x TileLength must fit its ${width}x${height} level (at most ${
        Math.max(roundUp16(width), 1024)
      }x${Math.max(roundUp16(height), 1024)}): current tile size is ${blockWidth}x${blockHeight}`,
      { path, offset: ifd.offset },
    );
  }
  checkDecodeBudget(path, {
    what,
    field: tiled
      ? `TileWidth x TileLength (${blockWidth}x${blockHeight})`
      : `ImageWidth x RowsPerStrip (${blockWidth}x${blockHeight})`,
    pixels: blockWidth * blockHeight,
  });
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const planar = getTagNumber(ifd, TAG.PlanarConfiguration, 1);
  const planes = planar === 2 ? getTagNumber(ifd, TAG.SamplesPerPixel, 1) : 1;
  const offsets = getTagNumbers(ifd, tiled ? TAG.TileOffsets : TAG.StripOffsets);
  const byteCounts = getTagNumbers(ifd, tiled ? TAG.TileByteCounts : TAG.StripByteCounts);
  const expected = across * down * planes;
  if (offsets.length !== expected || byteCounts.length !== expected) {
    throw new FormatError(
      `Cannot read ${what} as it needs ${expected} ${
        tiled ? "tile" : "strip"
      } offsets and byte counts for ${width}x${height}: current counts are ${offsets.length} and ${byteCounts.length}`,
      { path, offset: ifd.offset },
    );
  }
  for (let i = 0; i < expected; i++) {
    if (byteCounts[i] === 0) continue; // sparse block
    if (offsets[i] + byteCounts[i] > file.size) {
      const kind = tiled ? "tile" : "strip";
      throw new FormatError(
        `Cannot read ${what} as ${kind} ${i} (${byteCounts[i]} bytes at offset ${
          offsets[i]
        }) lies past the end of the file (${file.size} bytes)`,
        { path, offset: offsets[i] },
      );
    }
  }
  return { tiled, blockWidth, blockHeight, across, down, offsets, byteCounts };
}

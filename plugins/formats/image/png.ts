/**
 * PNG reading and writing with fast-png: 1/2/4/8/16-bit grey, RGB, RGBA,
 * grey+alpha, palette (with tRNS alpha), interlaced (Adam7). Chunks are
 * walked and checked before decoding, and every failure is a
 * `FormatError`.
 *
 * {@linkcode readPng} and {@linkcode writePng} use `Deno.open` /
 * `Deno.writeFile`; {@linkcode parsePng} and {@linkcode encodePng} work on
 * bytes anywhere.
 *
 * @module
 */

import * as fastPng from "fast-png";
import { inflateSync } from "node:zlib";
import { FormatError } from "../../../core/errors.ts";
import { concatBytes, formatHexBytes, getErrorText, readFileBytes } from "../_io.ts";
import { checkDecodeBudget, getReadLimits } from "../limits.ts";
import type { RasterImage } from "./types.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const VALID_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** What the IHDR chunk of a PNG says. */
export interface PngHeader {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Bits per sample (or per palette index). */
  readonly bitDepth: number;
  /** Colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  readonly colorType: number;
  /** True when Adam7-interlaced. */
  readonly interlaced: boolean;
}

/**
 * Checks the PNG signature and chunk structure (IHDR first with valid
 * fields, every chunk inside the file, at least one IDAT, IEND present)
 * and returns the IHDR fields. Throws {@linkcode FormatError} otherwise.
 */
export function parsePngHeader(bytes: Uint8Array, path: string): PngHeader {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new FormatError(
      `Cannot read PNG as the signature must be 89 50 4e 47 0d 0a 1a 0a: current bytes are ${
        formatHexBytes(bytes.subarray(0, 8))
      }`,
      { path, offset: 0 },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 8;
  let header: PngHeader | undefined;
  let idat = false;
  let idatBytes = 0;
  let palette = false;
  while (true) {
    if (at + 12 > bytes.length) {
      throw new FormatError(
        `Cannot read PNG as it is truncated: chunk header expected at byte ${at}, file size is ${bytes.length} (no IEND)`,
        { path, offset: at },
      );
    }
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) {
      throw new FormatError(
        `Cannot read PNG as it is truncated: chunk "${type}" of ${length} bytes runs past the end of the file (${bytes.length} bytes)`,
        { path, offset: at },
      );
    }
    if (!header) {
      if (type !== "IHDR" || length !== 13) {
        throw new FormatError(
          `Cannot read PNG as the first chunk must be a 13-byte IHDR: current chunk is "${type}" of ${length} bytes`,
          { path, offset: at },
        );
      }
      const width = view.getUint32(at + 8);
      const height = view.getUint32(at + 12);
      const bitDepth = bytes[at + 16];
      const colorType = bytes[at + 17];
      const interlace = bytes[at + 20];
      if (width === 0 || height === 0 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) {
        throw new FormatError(
          `Cannot read PNG as width and height must be positive: current size is ${width}x${height}`,
          { path, offset: at + 8 },
        );
      }
      if (!VALID_DEPTHS[colorType]?.includes(bitDepth)) {
        throw new FormatError(
          `Cannot read PNG as colour type ${colorType} with bit depth ${bitDepth} is not a valid combination`,
          { path, offset: at + 16 },
        );
      }
      if (bytes[at + 18] !== 0 || bytes[at + 19] !== 0 || interlace > 1) {
        throw new FormatError(
          `Cannot decode PNG as its compression, filter or interlace method is unsupported: current values are ${
            bytes[at + 18]
          }, ${bytes[at + 19]}, ${interlace}`,
          { path, offset: at + 18 },
        );
      }
      header = { width, height, bitDepth, colorType, interlaced: interlace === 1 };
    } else if (type === "PLTE") {
      palette = true;
    } else if (type === "IDAT") {
      idat = true;
      idatBytes += length;
    } else if (type === "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (!idat) {
    throw new FormatError("Cannot read PNG as it holds no IDAT chunk", { path, offset: at });
  }
  if (header.colorType === 3 && !palette) {
    throw new FormatError("Cannot read PNG as a palette image must have a PLTE chunk", {
      path,
      offset: at,
    });
  }
  checkPngSize(header, idatBytes, path);
  return header;
}

/** Deflate's largest expansion: 258 bytes from a 2-bit code is about 1032:1. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * Checks the IHDR size against the read budget and against the compressed
 * data: the filtered rows (a filter byte + packed samples each) cannot be
 * more than deflate's maximum ratio times the IDAT bytes.
 */
function checkPngSize(header: PngHeader, idatBytes: number, path: string): void {
  const { width, height, bitDepth, colorType } = header;
  const channels = CHANNELS[colorType];
  const field = `IHDR (${width}x${height}, colour type ${colorType}, ${bitDepth} bits)`;
  const pixels = width * height;
  const outChannels = colorType === 3 ? 4 : channels;
  checkDecodeBudget(path, { what: "PNG", field, pixels });
  checkDecodeBudget(path, {
    what: "PNG",
    field,
    bytes: pixels * outChannels * (bitDepth === 16 ? 2 : 1) +
      height * (1 + Math.ceil((width * channels * bitDepth) / 8)),
  });
  const filtered = height * (1 + Math.ceil((width * channels * bitDepth) / 8));
  if (filtered > idatBytes * DEFLATE_MAX_RATIO + 1024) {
    throw new FormatError(
      `Cannot decode PNG as ${field} declares ${filtered} bytes of filtered rows, more than deflate can expand its ${idatBytes} bytes of IDAT data to (at most ${DEFLATE_MAX_RATIO}:1)`,
      { path },
    );
  }
}

/** Unpacks rows of 1/2/4-bit samples (each row padded to a byte) to one byte per sample. */
function unpackRows(
  packed: ArrayLike<number>,
  width: number,
  height: number,
  depth: number,
): Uint8Array {
  if (depth === 8) return Uint8Array.from(packed as ArrayLike<number>);
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [
  0,
  1,
  1,
  2,
]];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes Adam7-interlaced 1/2/4-bit single-channel data (grey or palette
 * indices) to one value per pixel. fast-png 8 treats every sub-byte sample
 * of an interlaced image as a whole byte, so this case is decoded here.
 */
/** The IDAT chunks' data, joined. */
function joinIdat(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const parts: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "IDAT") parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === "IEND") break;
    at += 12 + length;
  }
  return concatBytes(parts);
}

/**
 * Inflates the IDAT stream natively with its output capped at what the
 * IHDR declares (the filtered rows, Adam7's extra filter bytes included),
 * before fast-png inflates it without a cap: a small image whose IDAT
 * inflates to gigabytes is refused here.
 */
function checkIdatInflation(bytes: Uint8Array, header: PngHeader, path: string): void {
  const { width, height, bitDepth, colorType, interlaced } = header;
  const rowBytes = (w: number) => 1 + Math.ceil((w * CHANNELS[colorType] * bitDepth) / 8);
  let declared = height * rowBytes(width);
  if (interlaced) declared += 7 * (height + 8) + 7 * rowBytes(8); // pass row overheads
  try {
    inflateSync(joinIdat(bytes), { maxOutputLength: declared + 1024 });
  } catch (cause) {
    if ((cause as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") {
      throw new FormatError(
        `Cannot decode PNG as its IDAT data must inflate to at most ${declared} bytes as declared by IHDR (${width}x${height}, colour type ${colorType}, ${bitDepth} bits): it inflates to more`,
        { path, cause },
      );
    }
    // Corrupt data: fast-png's own message says what is wrong.
  }
}

function decodeAdam7LowBit(bytes: Uint8Array, header: PngHeader, path: string): Uint8Array {
  const joined = joinIdat(bytes);
  let data: Uint8Array;
  try {
    const inflated = inflateSync(joined, {
      maxOutputLength: Math.max(1, getReadLimits().maxBytes),
    });
    data = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } catch (cause) {
    throw new FormatError(
      `Cannot decode PNG as its compressed data is corrupt: ${getErrorText(cause)}`,
      {
        path,
        cause,
      },
    );
  }
  const { width, height, bitDepth } = header;
  const out = new Uint8Array(width * height);
  let at = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil((pw * bitDepth) / 8);
    let prev = new Uint8Array(rowBytes);
    for (let y = 0; y < ph; y++) {
      if (at + 1 + rowBytes > data.length) {
        throw new FormatError(
          `Cannot decode PNG as its image data is too short for ${width}x${height} at ${bitDepth} bits (interlaced)`,
          { path },
        );
      }
      const filter = data[at];
      const line = data.slice(at + 1, at + 1 + rowBytes);
      at += 1 + rowBytes;
      for (let i = 0; i < rowBytes; i++) {
        const a = i > 0 ? line[i - 1] : 0;
        const b = prev[i];
        const c = i > 0 ? prev[i - 1] : 0;
        switch (filter) {
          case 0:
            break;
          case 1:
            line[i] = (line[i] + a) & 255;
            break;
          case 2:
            line[i] = (line[i] + b) & 255;
            break;
          case 3:
            line[i] = (line[i] + ((a + b) >> 1)) & 255;
            break;
          case 4:
            line[i] = (line[i] + paeth(a, b, c)) & 255;
            break;
          default:
            throw new FormatError(`Cannot decode PNG as row filter ${filter} is unknown`, { path });
        }
      }
      const values = unpackRows(line, pw, 1, bitDepth);
      for (let x = 0; x < pw; x++) out[(y0 + y * dy) * width + x0 + x * dx] = values[x];
      prev = line;
    }
  }
  return out;
}

function scaleLowBit(values: Uint8Array, depth: number): Uint8Array {
  const scale = 255 / ((1 << depth) - 1);
  for (let i = 0; i < values.length; i++) values[i] = Math.round(values[i] * scale);
  return values;
}

function expandPalette(
  indices: Uint8Array,
  header: PngHeader,
  palette: readonly (readonly number[])[],
  path: string,
): { data: Uint8Array; channels: number } {
  const { width } = header;
  const channels = palette.some((c) => c.length === 4) ? 4 : 3;
  const out = new Uint8Array(indices.length * channels);
  for (let p = 0; p < indices.length; p++) {
    const colour = palette[indices[p]];
    if (!colour) {
      throw new FormatError(
        `Cannot decode PNG as pixel (${p % width}, ${Math.floor(p / width)}) uses palette index ${
          indices[p]
        }: the palette has ${palette.length} entries`,
        { path },
      );
    }
    const o = p * channels;
    out[o] = colour[0];
    out[o + 1] = colour[1];
    out[o + 2] = colour[2];
    if (channels === 4) out[o + 3] = colour[3] ?? 255;
  }
  return { data: out, channels };
}

function readPalette(bytes: Uint8Array): number[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let palette: number[][] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === "PLTE") {
      palette = [];
      for (let i = 0; i + 2 < body.length; i += 3) {
        palette.push([body[i], body[i + 1], body[i + 2]]);
      }
    } else if (type === "tRNS") {
      palette = palette.map((c, i) => [...c, i < body.length ? body[i] : 255]);
    } else if (type === "IDAT" || type === "IEND") break;
    at += 12 + length;
  }
  return palette;
}

/**
 * Decodes a PNG from bytes to typed pixels: grey → 1 channel, RGB → 3,
 * RGBA → 4, palette → RGB (RGBA when tRNS gives alpha), grey+alpha → RGBA;
 * 16-bit samples stay `Uint16Array`, 1/2/4-bit grey is scaled to 0..255.
 * Throws {@linkcode FormatError} for a wrong signature, a truncated file or
 * corrupt compressed data.
 *
 * @example Encoding and decoding a 16-bit grey image
 * ```ts
 * import { encodePng, parsePng } from "./png.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodePng({ data: new Uint16Array([0, 300, 65535, 7]), width: 2, height: 2, channels: 1 });
 * const image = parsePng(bytes, "memory.png");
 * assert.equal(image.bitDepth, 16);
 * assert.deepEqual([...image.data], [0, 300, 65535, 7]);
 * ```
 */
export function parsePng(bytes: Uint8Array, path: string): RasterImage {
  const header = parsePngHeader(bytes, path);
  const { width, height, bitDepth, colorType } = header;
  const sourceChannels = CHANNELS[colorType];
  let data: Uint8Array | Uint16Array;
  let channels = sourceChannels;
  if (header.interlaced && bitDepth < 8) {
    const values = decodeAdam7LowBit(bytes, header, path);
    if (colorType === 3) {
      ({ data, channels } = expandPalette(values, header, readPalette(bytes), path));
    } else {
      data = scaleLowBit(values, bitDepth);
    }
  } else {
    checkIdatInflation(bytes, header, path);
    let decoded: ReturnType<typeof fastPng.decode>;
    try {
      decoded = fastPng.decode(bytes, { checkCrc: true });
    } catch (cause) {
      throw new FormatError(`Cannot decode PNG: ${getErrorText(cause)}`, { path, cause });
    }
    const expected = bitDepth < 8
      ? Math.ceil((width * bitDepth) / 8) * height * sourceChannels
      : width * height * sourceChannels;
    if (
      decoded.width !== width || decoded.height !== height || decoded.data.length !== expected
    ) {
      throw new FormatError(
        `Cannot decode PNG as the image data does not fill ${width}x${height}x${sourceChannels} at ${bitDepth} bits: decoded ${decoded.data.length} samples, expected ${expected}`,
        { path },
      );
    }
    if (colorType === 3) {
      const indices = unpackRows(decoded.data, width, height, bitDepth);
      ({ data, channels } = expandPalette(indices, header, decoded.palette ?? [], path));
    } else if (bitDepth < 8) {
      data = scaleLowBit(unpackRows(decoded.data, width, height, bitDepth), bitDepth);
    } else if (colorType === 4) {
      const src = decoded.data;
      const out = bitDepth === 16
        ? new Uint16Array(width * height * 4)
        : new Uint8Array(width * height * 4);
      for (let i = 0, o = 0; i < src.length; i += 2, o += 4) {
        out[o] = out[o + 1] = out[o + 2] = src[i];
        out[o + 3] = src[i + 1];
      }
      data = out;
      channels = 4;
    } else if (bitDepth === 16) {
      data = decoded.data instanceof Uint16Array ? decoded.data : Uint16Array.from(decoded.data);
    } else {
      data = decoded.data instanceof Uint8Array && !(decoded.data instanceof Uint8ClampedArray)
        ? decoded.data
        : new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length);
    }
  }
  return {
    kind: "image",
    data,
    width,
    height,
    channels,
    intensity: "dtype",
    path,
    format: "png",
    bitDepth,
    sourceColor: colorType,
    interlaced: header.interlaced,
  };
}

/**
 * Reads a PNG file. Uses `Deno.open` (read permission); `Deno.errors.NotFound`
 * propagates. See {@linkcode parsePng}.
 *
 * @example
 * ```ts ignore
 * import { readPng } from "./png.ts";
 * const cxr = await readPng("00000013_005.png"); // { width: 256, height: 256, channels: 1, data: Uint8Array }
 * ```
 */
export async function readPng(path: string): Promise<RasterImage> {
  return parsePng(await readFileBytes(path), path);
}

/** Pixels to encode as PNG: 8-bit (`Uint8Array`) or 16-bit (`Uint16Array`) grey, grey+alpha, RGB or RGBA. */
export interface PngPixels {
  /** Samples, row-major, channels interleaved. */
  readonly data: Uint8Array | Uint16Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
}

/**
 * Encodes pixels as PNG with fast-png: the bit depth follows the array type
 * (8 for `Uint8Array`, 16 for `Uint16Array`). Throws `TypeError` when the
 * data length or channel count does not fit.
 *
 * @example An 8-bit RGB image
 * ```ts
 * import { encodePng, parsePng } from "./png.ts";
 * import assert from "node:assert/strict";
 * const rgb = new Uint8Array([255, 0, 0, 0, 255, 0]);
 * const image = parsePng(encodePng({ data: rgb, width: 2, height: 1, channels: 3 }), "rgb.png");
 * assert.equal(image.channels, 3);
 * assert.deepEqual([...image.data], [...rgb]);
 * ```
 */
export function encodePng(pixels: PngPixels, options: { interlace?: boolean } = {}): Uint8Array {
  const { data, width, height, channels } = pixels;
  if (![1, 2, 3, 4].includes(channels)) {
    throw new TypeError(
      `Cannot encode PNG as channels must be 1, 2, 3 or 4: current value is ${channels}`,
    );
  }
  if (!(data instanceof Uint8Array) && !(data instanceof Uint16Array)) {
    throw new TypeError("Cannot encode PNG as data must be a Uint8Array or Uint16Array");
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new TypeError(
      `Cannot encode PNG as the size must be positive integers: current size is ${width}x${height}`,
    );
  }
  if (data.length !== width * height * channels) {
    throw new TypeError(
      `Cannot encode PNG as data length must be ${
        width * height * channels
      } for ${width}x${height}x${channels}: current length is ${data.length}`,
    );
  }
  return fastPng.encode(
    { width, height, data, depth: data instanceof Uint16Array ? 16 : 8, channels },
    { interlace: options.interlace ? "Adam7" : "null" },
  );
}

/**
 * Writes pixels as a PNG file (see {@linkcode encodePng}). Uses
 * `Deno.writeFile` (write permission).
 *
 * @example
 * ```ts ignore
 * import { writePng } from "./png.ts";
 * await writePng("00000001_000.png", { data: new Uint8Array(256 * 256), width: 256, height: 256, channels: 1 });
 * ```
 */
export async function writePng(
  path: string,
  pixels: PngPixels,
  options: { interlace?: boolean } = {},
): Promise<void> {
  await Deno.writeFile(path, encodePng(pixels, options));
}

/**
 * JPEG validation and decoding shared by the PNG/JPEG, DICOM and TIFF
 * readers: a marker walk that checks the stream before jpeg-js sees it
 * (SOI, a supported frame type, 8-bit precision, an EOI after the scan), and
 * a decode wrapper that turns every jpeg-js failure into a `FormatError`.
 * Private to `plugins/formats`.
 *
 * @module
 */

import * as jpeg from "./_jpeg_decoder.js";
import { FormatError } from "../../core/errors.ts";
import { formatHexBytes, getErrorText } from "./_io.ts";
import { convertYcbcrInterleaved, upsamplePlane } from "./_jpeg_color.ts";
import { checkDecodeBudget, getReadLimits } from "./limits.ts";

/** What the frame header of a JPEG stream says. */
export interface JpegInfo {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Number of colour components (1 grey, 3 colour, 4 CMYK). */
  readonly components: number;
  /** Sample precision in bits (8 is the only one decoded). */
  readonly precision: number;
  /** True for a progressive (SOF2) stream. */
  readonly progressive: boolean;
  /** The SOF marker byte (`0xc0` baseline, `0xc1` extended, `0xc2` progressive). */
  readonly frameMarker: number;
  /** Horizontal × vertical sampling factor of each component. */
  readonly sampling: readonly (readonly [number, number])[];
  /** True when an Adobe APP14 segment is present. */
  readonly adobe: boolean;
  /** The Adobe APP14 transform byte (0 none/RGB/CMYK, 1 YCbCr, 2 YCCK), when present. */
  readonly adobeTransform?: number;
  /** Byte offset of the Adobe transform byte (for decoders that must not see it). */
  readonly adobeTransformOffset?: number;
  /** True when a JFIF APP0 segment is present. */
  readonly jfif?: boolean;
  /** The component identifiers of the frame header, in order. */
  readonly componentIds?: readonly number[];
  /** Bytes from the first scan header to the end of the stream (the entropy-coded data and what follows). */
  readonly scanBytes?: number;
}

const SOF_NAMES: Readonly<Record<number, string>> = {
  0xc3: "lossless (SOF3)",
  0xc5: "differential sequential (SOF5)",
  0xc6: "differential progressive (SOF6)",
  0xc7: "differential lossless (SOF7)",
  0xc9: "arithmetic sequential (SOF9)",
  0xca: "arithmetic progressive (SOF10)",
  0xcb: "arithmetic lossless (SOF11)",
  0xcd: "differential arithmetic sequential (SOF13)",
  0xce: "differential arithmetic progressive (SOF14)",
  0xcf: "differential arithmetic lossless (SOF15)",
};

/**
 * Walks the markers of a JPEG stream up to its first scan and checks that it
 * can be decoded: SOI first, a baseline/extended/progressive 8-bit frame,
 * segment lengths inside the data, and an EOI after the scan data (so a
 * truncated stream is refused instead of decoded partially).
 */
export function scanJpeg(bytes: Uint8Array, path: string, what = "JPEG data"): JpegInfo {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new FormatError(
      `Cannot read ${what} as it must start with the JPEG SOI marker ff d8: current bytes are ${
        formatHexBytes(bytes.subarray(0, 2))
      }`,
      { path, offset: 0 },
    );
  }
  let at = 2;
  let frame: Omit<JpegInfo, "adobe"> | undefined;
  let adobe = false;
  let adobeTransform: number | undefined;
  let adobeTransformOffset: number | undefined;
  let jfif = false;
  while (at < n) {
    if (bytes[at] !== 0xff) {
      throw new FormatError(
        `Cannot read ${what} as a marker was expected at byte ${at}: current byte is ${
          formatHexBytes(bytes.subarray(at, at + 1))
        }`,
        { path, offset: at },
      );
    }
    while (at < n && bytes[at] === 0xff) at++;
    if (at >= n) break;
    const marker = bytes[at++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) break;
    if (at + 2 > n) break;
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (length < 2 || at + length > n) {
      throw new FormatError(
        `Cannot read ${what} as segment ff ${
          marker.toString(16)
        } of length ${length} runs past the end of the data (${n} bytes)`,
        { path, offset: at - 2 },
      );
    }
    if (marker in SOF_NAMES) {
      throw new FormatError(
        `Cannot decode ${what} as the JPEG compression ${
          SOF_NAMES[marker]
        } is not supported (baseline, extended and progressive 8-bit only)`,
        { path, offset: at - 2 },
      );
    }
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      const precision = bytes[at + 2];
      const height = (bytes[at + 3] << 8) | bytes[at + 4];
      const width = (bytes[at + 5] << 8) | bytes[at + 6];
      const components = bytes[at + 7];
      const sampling: [number, number][] = [];
      const componentIds: number[] = [];
      for (let c = 0; c < components && 10 + c * 3 <= length; c++) {
        const s = bytes[at + 9 + c * 3];
        sampling.push([s >> 4, s & 15]);
        componentIds.push(bytes[at + 8 + c * 3]);
      }
      if (
        sampling.length !== components ||
        sampling.some(([h, v]) => h < 1 || h > 4 || v < 1 || v > 4)
      ) {
        throw new FormatError(
          `Cannot read ${what} as each of its ${components} components must have sampling factors 1 to 4 in the frame header: current factors are ${
            JSON.stringify(sampling)
          }`,
          { path, offset: at - 2 },
        );
      }
      if (precision !== 8) {
        throw new FormatError(
          `Cannot decode ${what} as only 8-bit JPEG is supported: current precision is ${precision} bits`,
          { path, offset: at - 2 },
        );
      }
      if (width === 0 || height === 0 || components === 0) {
        throw new FormatError(
          `Cannot read ${what} as its frame size must be positive: current size is ${width}x${height} with ${components} components`,
          { path, offset: at - 2 },
        );
      }
      frame = {
        width,
        height,
        components,
        precision,
        progressive: marker === 0xc2,
        frameMarker: marker,
        sampling,
        componentIds,
      };
    }
    if (marker === 0xee && length >= 7) {
      adobe = String.fromCharCode(...bytes.subarray(at + 2, at + 7)) === "Adobe";
      if (adobe && length >= 14) {
        adobeTransform = bytes[at + 13];
        adobeTransformOffset = at + 13;
      }
    }
    if (marker === 0xe0 && length >= 7) {
      jfif = jfif || String.fromCharCode(...bytes.subarray(at + 2, at + 7)) === "JFIF\0";
    }
    if (marker === 0xda) {
      if (!frame) {
        throw new FormatError(`Cannot read ${what} as a scan starts before any frame header`, {
          path,
          offset: at - 2,
        });
      }
      // The entropy-coded data never holds ff d9 (ff is byte-stuffed), so an
      // EOI after the first scan header means the stream was not cut short.
      let end = n - 2;
      while (end > at && !(bytes[end] === 0xff && bytes[end + 1] === 0xd9)) end--;
      if (end <= at) {
        throw new FormatError(
          `Cannot decode ${what} as it is truncated: no EOI marker (ff d9) after the scan data`,
          { path, offset: n },
        );
      }
      const info: JpegInfo = {
        ...frame,
        adobe,
        adobeTransform,
        adobeTransformOffset,
        jfif,
        scanBytes: n - (at - 2),
      };
      checkJpegFrameSize(info, path, what);
      return info;
    }
    at += length;
  }
  throw new FormatError(
    frame
      ? `Cannot decode ${what} as it holds no scan (SOS) data`
      : `Cannot read ${what} as it holds no frame header (SOF)`,
    { path, offset: at },
  );
}

/** Bytes jpeg-js holds per 8×8 block while decoding (an Int32Array(64) and its object). */
const JPEG_JS_BYTES_PER_BLOCK = 400;

/** The number of 8×8 blocks of each component of a frame (padded to whole MCUs). */
function countBlocks(info: JpegInfo): number[] {
  const maxH = Math.max(...info.sampling.map((s) => s[0]));
  const maxV = Math.max(...info.sampling.map((s) => s[1]));
  const mcusX = Math.ceil(info.width / (8 * maxH));
  const mcusY = Math.ceil(info.height / (8 * maxV));
  return info.sampling.map(([h, v]) => mcusX * h * mcusY * v);
}

/**
 * Checks what a frame header declares against the file and the read budget
 * before anything is allocated: the pixel count and the decoder's memory
 * (derived from the block count, never from jpeg-js's own header-derived
 * limits), and, for sequential Huffman streams, that the scan data is long
 * enough to hold the declared blocks (every block codes at least a DC
 * difference and an end-of-block: 2 bits).
 */
function checkJpegFrameSize(info: JpegInfo, path: string, what: string): void {
  const pixels = info.width * info.height;
  const blocks = countBlocks(info);
  const totalBlocks = blocks.reduce((a, b) => a + b, 0);
  const field =
    `the frame header (SOF ${info.width}x${info.height}, ${info.components} components)`;
  checkDecodeBudget(path, { what, field, pixels });
  checkDecodeBudget(path, {
    what,
    field,
    bytes: totalBlocks * JPEG_JS_BYTES_PER_BLOCK + pixels * (info.components + 3),
  });
  if (!info.progressive && info.scanBytes !== undefined) {
    // Non-interleaved scans code the unpadded blocks of one component; the
    // smallest count over layouts is the lower bound.
    const maxH = Math.max(...info.sampling.map((s) => s[0]));
    const maxV = Math.max(...info.sampling.map((s) => s[1]));
    const least = info.sampling.reduce(
      (sum, [h, v]) =>
        sum + Math.ceil(Math.ceil((info.width * h) / maxH) / 8) *
          Math.ceil(Math.ceil((info.height * v) / maxV) / 8),
      0,
    );
    if (least > info.scanBytes * 4) {
      throw new FormatError(
        `Cannot decode ${what} as ${field} declares ${least} blocks, which need at least ${
          Math.ceil(least / 4)
        } bytes of scan data: the stream holds ${info.scanBytes}`,
        { path },
      );
    }
  }
}

/**
 * Whether libjpeg would convert three components from YCbCr: an Adobe
 * marker decides by its transform byte, else component ids "R","G","B"
 * mean RGB, else YCbCr (JFIF or no marker).
 */
function isYcbcr(info: JpegInfo): boolean {
  if (info.adobeTransform !== undefined) return info.adobeTransform !== 0;
  const ids = info.componentIds ?? [];
  if (!info.jfif && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42) return false;
  return true;
}

/** Options of {@linkcode decodeJpeg}. */
export interface DecodeJpegOptions {
  /** What the stream is, for messages (`"JPEG tile 3 of level 0"`). */
  what?: string;
  /**
   * Whether three-component data is YCbCr to convert to RGB. `undefined`
   * lets jpeg-js decide (YCbCr unless an Adobe marker says otherwise).
   */
  colorTransform?: boolean;
  /** Keep grey images as 1 channel (true) or expand to RGB (false). @default {true} */
  keepGrey?: boolean;
}

/** Pixels decoded from a JPEG stream. */
export interface DecodedJpeg {
  /** Frame information from {@linkcode scanJpeg}. */
  readonly info: JpegInfo;
  /** Interleaved 8-bit samples, `height * width * channels`. */
  readonly data: Uint8Array;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: 1 | 3;
}

/** Validates with {@linkcode scanJpeg}, then decodes with jpeg-js; all failures are `FormatError`s. */
export function decodeJpeg(
  bytes: Uint8Array,
  path: string,
  options: DecodeJpegOptions = {},
): DecodedJpeg {
  const what = options.what ?? "JPEG data";
  const info = scanJpeg(bytes, path, what);
  const pixels = info.width * info.height;
  const limits = getReadLimits();
  // Three components are converted here (libjpeg's rounding and fancy
  // upsampling), so jpeg-js returns the planes unconverted. An Adobe
  // transform byte would force jpeg-js to convert: it is cleared in a copy.
  const ownColor = info.components === 3;
  const ycc = options.colorTransform ?? isYcbcr(info);
  let input = bytes;
  if (ownColor && info.adobeTransformOffset !== undefined && info.adobeTransform !== 0) {
    input = bytes.slice();
    input[info.adobeTransformOffset] = 0;
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(input, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      colorTransform: ownColor ? false : options.colorTransform,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: limits.maxBytes / 2 ** 20,
    });
  } catch (cause) {
    throw new FormatError(`Cannot decode ${what}: ${getErrorText(cause)}`, { path, cause });
  }
  if (
    decoded.width !== info.width || decoded.height !== info.height ||
    decoded.data.length !== pixels * 3
  ) {
    throw new FormatError(
      `Cannot decode ${what} as the decoder returned ${decoded.width}x${decoded.height} (${decoded.data.length} samples) for a ${info.width}x${info.height} frame`,
      { path },
    );
  }
  if (info.components === 1 && options.keepGrey !== false) {
    const grey = new Uint8Array(pixels);
    const rgb = decoded.data;
    for (let i = 0, j = 0; i < pixels; i++, j += 3) grey[i] = rgb[j];
    return { info, data: grey, channels: 1 };
  }
  if (ownColor) {
    upsampleLikeLibjpeg(decoded.data, info);
    if (ycc) convertYcbcrInterleaved(decoded.data, pixels);
  }
  return { info, data: decoded.data, channels: 3 };
}

/**
 * Replaces, in interleaved full-size samples from jpeg-js (which replicates
 * subsampled components), each subsampled component by libjpeg's fancy
 * upsampling of the same samples. The subsampled plane is recovered
 * exactly: jpeg-js's sample at output column `x` is plane column
 * `floor(x / hScale)`.
 */
function upsampleLikeLibjpeg(data: Uint8Array, info: JpegInfo): void {
  const { width, height, components, sampling } = info;
  const maxH = Math.max(...sampling.map((s) => s[0]));
  const maxV = Math.max(...sampling.map((s) => s[1]));
  for (let c = 0; c < components; c++) {
    const [h, v] = sampling[c];
    if (maxH % h !== 0 || maxV % v !== 0) continue; // fractional: libjpeg refuses, keep jpeg-js's
    const hScale = maxH / h;
    const vScale = maxV / v;
    if (hScale === 1 && vScale === 1) continue;
    const inWidth = Math.ceil(width / hScale);
    const inHeight = Math.ceil(height / vScale);
    const plane = new Uint8Array(inWidth * inHeight);
    for (let r = 0; r < inHeight; r++) {
      const row = r * vScale * width;
      for (let q = 0; q < inWidth; q++) {
        plane[r * inWidth + q] = data[(row + q * hScale) * components + c];
      }
    }
    const full = upsamplePlane(plane, inWidth, inHeight, hScale, vScale, width, height);
    for (let i = 0, o = c; i < full.length; i++, o += components) data[o] = full[i];
  }
}

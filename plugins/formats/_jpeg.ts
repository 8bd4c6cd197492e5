/**
 * JPEG validation and decoding shared by the PNG/JPEG, DICOM and TIFF
 * readers: a marker walk that checks the stream before jpeg-js sees it
 * (SOI, a supported frame type, 8-bit precision, an EOI after the scan), and
 * a decode wrapper that turns every jpeg-js failure into a `FormatError`.
 * Private to `plugins/formats`.
 *
 * @module
 */

import * as jpeg from "jpeg-js";
import { FormatError } from "../../core/errors.ts";
import { formatHexBytes, getErrorText } from "./_io.ts";

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
      for (let c = 0; c < components && at + 10 + c * 3 <= at + length; c++) {
        const s = bytes[at + 9 + c * 3];
        sampling.push([s >> 4, s & 15]);
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
      };
    }
    if (marker === 0xee && length >= 7) {
      adobe = String.fromCharCode(...bytes.subarray(at + 2, at + 7)) === "Adobe";
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
      return { ...frame, adobe };
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
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      colorTransform: options.colorTransform,
      maxResolutionInMP: Math.max(100, Math.ceil(pixels / 1e6) + 1),
      maxMemoryUsageInMB: Math.max(512, Math.ceil((pixels * 16) / 2 ** 20)),
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
  return { info, data: decoded.data, channels: 3 };
}

/**
 * JPEG reading with jpeg-js: baseline, extended and progressive 8-bit,
 * grey (1 channel) or colour (RGB). The stream is checked before decoding
 * (SOI, frame type, precision, no truncation), so a cut file is a
 * `FormatError`, never a partly grey image.
 *
 * {@linkcode readJpeg} uses `Deno.open`; {@linkcode parseJpeg} works on bytes.
 *
 * @module
 */

import { readFileBytes } from "../_io.ts";
import { decodeJpeg } from "../_jpeg.ts";
import type { RasterImage } from "./types.ts";

/**
 * Decodes a JPEG from bytes: grey images keep 1 channel, colour images
 * become RGB (3 channels), uint8. Throws {@linkcode FormatError} for a
 * wrong magic, a truncated stream, 12-bit or lossless/arithmetic coding.
 *
 * @example A stream that is not JPEG
 * ```ts
 * import { parseJpeg } from "./jpeg.ts";
 * import { FormatError } from "../../../core/errors.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseJpeg(new Uint8Array([1, 2, 3, 4]), "x.jpg"), FormatError);
 * ```
 */
export function parseJpeg(bytes: Uint8Array, path: string): RasterImage {
  const { info, data, channels } = decodeJpeg(bytes, path, { what: "JPEG" });
  return {
    kind: "image",
    data,
    width: info.width,
    height: info.height,
    channels,
    intensity: "dtype",
    path,
    format: "jpeg",
    bitDepth: info.precision,
    sourceColor: info.components,
    interlaced: info.progressive,
  };
}

/**
 * Reads a JPEG file. Uses `Deno.open` (read permission). See {@linkcode parseJpeg}.
 *
 * @example
 * ```ts ignore
 * import { readJpeg } from "./jpeg.ts";
 * const cxr = await readJpeg("view1_frontal.jpg"); // 272x320, 1 channel
 * ```
 */
export async function readJpeg(path: string): Promise<RasterImage> {
  return parseJpeg(await readFileBytes(path), path);
}

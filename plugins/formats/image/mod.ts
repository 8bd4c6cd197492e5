/**
 * PNG and JPEG images as typed pixels ({@linkcode RasterImage}, an
 * `Image2D`): {@linkcode readImage} picks the decoder from the file's magic
 * bytes; {@linkcode writePng} writes 8/16-bit grey and RGB.
 *
 * Path-based functions use `Deno.open`/`Deno.writeFile`.
 *
 * @example
 * ```ts
 * import { encodePng, parseImage } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const png = encodePng({ data: new Uint8Array([10, 20, 30, 40]), width: 2, height: 2, channels: 1 });
 * const image = parseImage(png, "tiny.png");
 * assert.equal(image.format, "png");
 * assert.deepEqual([...image.data], [10, 20, 30, 40]);
 * ```
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { formatHexBytes, readFileBytes } from "../_io.ts";
import { parseJpeg } from "./jpeg.ts";
import { parsePng } from "./png.ts";
import type { RasterImage } from "./types.ts";

export { parseJpeg, readJpeg } from "./jpeg.ts";
export {
  encodePng,
  parsePng,
  parsePngHeader,
  type PngHeader,
  type PngPixels,
  readPng,
  writePng,
} from "./png.ts";
export type { RasterImage } from "./types.ts";

/**
 * Decodes PNG or JPEG bytes, chosen by the magic bytes (not the name).
 * Throws {@linkcode FormatError} for anything else.
 */
export function parseImage(bytes: Uint8Array, path: string): RasterImage {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return parsePng(bytes, path);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return parseJpeg(bytes, path);
  throw new FormatError(
    `Cannot read image as it is neither PNG (89 50 4e 47) nor JPEG (ff d8): current bytes are ${
      formatHexBytes(bytes.subarray(0, 4))
    }`,
    { path, offset: 0 },
  );
}

/**
 * Reads a PNG or JPEG file (see {@linkcode parseImage}). Uses `Deno.open`.
 *
 * @example
 * ```ts ignore
 * import { readImage } from "./mod.ts";
 * const image = await readImage("view1_frontal.jpg");
 * ```
 */
export async function readImage(path: string): Promise<RasterImage> {
  return parseImage(await readFileBytes(path), path);
}

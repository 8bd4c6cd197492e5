/**
 * Streaming baseline JPEG for whole-slide images stored as one huge JPEG
 * file (BCNB): {@linkcode openJpegStream} decodes one MCU row (8 or 16
 * image rows) at a time with libjpeg-turbo's arithmetic, and
 * {@linkcode writeJpegStream} writes synthetic images of any size row by
 * row. Neither ever holds the whole image.
 *
 * @example Write and stream back a 64 × 48 image
 * ```ts
 * import { openJpegStream, writeJpegStream } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile({ suffix: ".jpg" });
 * await writeJpegStream(path, { width: 64, height: 48, rows: (_y, n) => new Uint8Array(n * 64 * 3).fill(200) });
 * const jpeg = await openJpegStream(path);
 * let rows = 0;
 * for await (const band of jpeg.bands()) rows += band.height;
 * jpeg.close();
 * assert.equal(rows, 48);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

export {
  type DecodedImage,
  decodeJpegBytes,
  type JpegBand,
  type JpegBandOptions,
  type JpegStream,
  openJpegStream,
} from "./decoder.ts";
export { writeJpegStream, type WriteJpegStreamOptions } from "./encoder.ts";

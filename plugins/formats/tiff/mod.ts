/**
 * TIFF: multi-page stacks as arrays ({@linkcode readTiffStack}), tiled
 * pyramidal whole-slide images read lazily by region ({@linkcode openSlide}),
 * and writers for both ({@linkcode writeTiffStack}, {@linkcode writePyramidTiff}).
 *
 * Path-based functions use `Deno.*` file APIs; bytes-based twins work anywhere.
 *
 * @example A two-level pyramid in memory
 * ```ts
 * import { encodePyramidTiff, openSlideBytes } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodePyramidTiff({ data: new Uint8Array(64 * 48 * 3).fill(240), width: 64, height: 48 }, { tileSize: 32, downsamples: [1, 2], mpp: 0.25 });
 * const slide = await openSlideBytes(bytes, "mem.tif");
 * assert.equal(slide.levels[1].downsample, 2);
 * assert.equal(slide.levels[1].mppX, 0.5);
 * const region = await slide.readRegion({ level: 0, x: 30, y: 10, width: 8, height: 8 });
 * assert.ok(Math.abs(region.data[0] - 240) <= 2);
 * ```
 *
 * @module
 */

export { COMPRESSION_NAMES } from "./ifd.ts";
export {
  openSlide,
  openSlideBytes,
  type Slide,
  SLIDE_COMPRESSIONS,
  type SlideAssociatedImage,
  type SlideJpegDecoder,
  type SlideLevel,
  type SlideOptions,
  type SlideRegion,
} from "./slide.ts";
export {
  convertTiffStackToVolume,
  parseTiffStack,
  readTiffStack,
  type ReadTiffStackOptions,
  STACK_COMPRESSIONS,
  type TiffSampleType,
  type TiffStack,
  type TiffStackArray,
} from "./stack.ts";
export {
  type AssociatedImage,
  type EncodePyramidOptions,
  encodePyramidTiff,
  encodeTiffStack,
  type EncodeTiffStackOptions,
  type RgbPixels,
  type TiffStackInput,
  writePyramidTiff,
  writeTiffStack,
} from "./writer.ts";

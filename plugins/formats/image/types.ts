// This module is browser compatible.
/**
 * The decoded-image type shared by the PNG and JPEG readers.
 *
 * @module
 */

import type { Image2D } from "../../../core/plugin.ts";

/** A decoded PNG or JPEG: an {@linkcode Image2D} plus what the file said. */
export interface RasterImage extends Image2D {
  /** Pixel values, row-major, channels interleaved: uint8, or uint16 for 16-bit PNG. */
  readonly data: Uint8Array | Uint16Array;
  /** The file path or source name. */
  readonly path: string;
  /** `"png"` or `"jpeg"`. */
  readonly format: "png" | "jpeg";
  /** Bits per sample in the file (1, 2, 4, 8 or 16). Samples below 8 bits are scaled to 0..255. */
  readonly bitDepth: number;
  /** PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA); JPEG: number of components. */
  readonly sourceColor: number;
  /** True for an interlaced PNG (Adam7) or a progressive JPEG. */
  readonly interlaced: boolean;
}

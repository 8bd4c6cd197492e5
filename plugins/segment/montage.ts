// This module is browser compatible.
/**
 * A montage of EM sections with their segments: for each chosen section, the
 * raw section (grey, top) and the segmentation over it (each segment a
 * fixed colour from its id, blended with the raw; background black,
 * bottom), sections side by side with a 2-pixel gap. RGB, 8 bits.
 *
 * @module
 */

/** An RGB image. */
export interface RgbImage {
  /** `height * width * 3` bytes. */
  readonly data: Uint8Array;
  /** Width. */
  readonly width: number;
  /** Height. */
  readonly height: number;
  /** Always 3. */
  readonly channels: 3;
}

/** A stable, well spread colour of a segment id. */
export function segmentColor(id: number): [number, number, number] {
  let x = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  const hue = ((x >>> 0) % 360) / 60;
  const c = 200, m = 55;
  const k = c * (1 - Math.abs((hue % 2) - 1));
  const [r, g, b] = hue < 1
    ? [c, k, 0]
    : hue < 2
    ? [k, c, 0]
    : hue < 3
    ? [0, c, k]
    : hue < 4
    ? [0, k, c]
    : hue < 5
    ? [k, 0, c]
    : [c, 0, k];
  return [r + m, g + m, b + m];
}

/**
 * Builds the montage.
 *
 * @example
 * ```ts
 * import { segmentMontage } from "./montage.ts";
 * import assert from "node:assert/strict";
 * const m = segmentMontage(new Uint8Array(2 * 4 * 4).fill(128), new Uint32Array(2 * 4 * 4).fill(3), [2, 4, 4]);
 * assert.equal(m.width, 4 * 2 + 2);
 * assert.equal(m.height, 4 * 2 + 2);
 * ```
 *
 * @param raw Raw sections `[z, y, x]`, uint8 (or float in [0, 1]).
 * @param seg Segment ids, same shape (0 = background).
 * @param shape `[z, y, x]`.
 * @param maxSections At most this many sections, evenly spaced. @default {8}
 * @returns The RGB montage.
 */
export function segmentMontage(
  raw: Uint8Array | Float32Array,
  seg: Uint32Array,
  shape: readonly [number, number, number],
  maxSections = 8,
): RgbImage {
  const [d, h, w] = shape;
  const count = Math.max(1, Math.min(d, maxSections));
  const sections = Array.from({ length: count }, (_, i) => Math.floor((i + 0.5) * d / count));
  const gap = 2;
  const width = count * w + (count - 1) * gap, height = 2 * h + gap;
  const out = new Uint8Array(width * height * 3);
  const grey = (i: number) =>
    raw instanceof Uint8Array ? raw[i] : Math.round(Math.min(1, Math.max(0, raw[i])) * 255);
  sections.forEach((z, k) => {
    const x0 = k * (w + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = z * h * w + y * w + x;
        const v = grey(i);
        const top = (y * width + x0 + x) * 3;
        out[top] = out[top + 1] = out[top + 2] = v;
        const bottom = ((h + gap + y) * width + x0 + x) * 3;
        const id = seg[i];
        if (id === 0) continue;
        const c = segmentColor(id);
        for (let ch = 0; ch < 3; ch++) out[bottom + ch] = Math.round(0.35 * v + 0.65 * c[ch]);
      }
    }
  });
  return { data: out, width, height, channels: 3 };
}

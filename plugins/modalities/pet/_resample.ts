/**
 * Resampling between NIfTI grids in world (RAS+ mm) coordinates, for PET
 * volumes stored on their own grid (HECKTOR: PET at ~4 mm, CT at ~1 mm).
 *
 * @module
 */

/** Inverse of a 4×4 matrix (row-major, 16 numbers) by Gauss–Jordan elimination. */
export function invert4(m: readonly number[]): number[] {
  const a = [...m];
  const inv = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let c = 0; c < 4; c++) {
    let pivot = c;
    for (let r = c + 1; r < 4; r++) {
      if (Math.abs(a[r * 4 + c]) > Math.abs(a[pivot * 4 + c])) pivot = r;
    }
    if (Math.abs(a[pivot * 4 + c]) < 1e-12) {
      throw new RangeError(`Cannot invert the affine as it is singular: [${m.join(", ")}]`);
    }
    for (let k = 0; k < 4; k++) {
      [a[c * 4 + k], a[pivot * 4 + k]] = [a[pivot * 4 + k], a[c * 4 + k]];
      [inv[c * 4 + k], inv[pivot * 4 + k]] = [inv[pivot * 4 + k], inv[c * 4 + k]];
    }
    const d = a[c * 4 + c];
    for (let k = 0; k < 4; k++) {
      a[c * 4 + k] /= d;
      inv[c * 4 + k] /= d;
    }
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r * 4 + c];
      for (let k = 0; k < 4; k++) {
        a[r * 4 + k] -= f * a[c * 4 + k];
        inv[r * 4 + k] -= f * inv[c * 4 + k];
      }
    }
  }
  return inv;
}

/** A single-channel grid: values `[D, H, W]` (NIfTI k, j, i) and its voxel-to-world affine. */
export interface Grid {
  /** Values, `D·H·W` of them (z slowest). */
  readonly data: Float32Array;
  /** `[D, H, W]`. */
  readonly shape: readonly [number, number, number];
  /** Voxel `(i, j, k)` to world, 16 numbers row-major. */
  readonly affine: readonly number[];
}

/**
 * Samples `src` on the grid of `target` (shape and affine) by trilinear
 * interpolation in world coordinates; voxels outside `src` get `outside`.
 *
 * @example Upsampling a 2-mm grid onto a 1-mm grid with the same origin
 * ```ts
 * import { resampleToGrid } from "./_resample.ts";
 * import assert from "node:assert/strict";
 * const src = { data: Float32Array.of(0, 2), shape: [1, 1, 2] as const, affine: [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
 * const out = resampleToGrid(src, [1, 1, 3], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
 * assert.deepEqual([...out], [0, 1, 2]);
 * ```
 */
export function resampleToGrid(
  src: Grid,
  shape: readonly [number, number, number],
  affine: readonly number[],
  outside = 0,
): Float32Array {
  const [sd, sh, sw] = src.shape;
  // target voxel → source voxel: inv(A_src) · A_target
  const inv = invert4(src.affine);
  const m = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      for (let k = 0; k < 4; k++) m[r * 4 + c] += inv[r * 4 + k] * affine[k * 4 + c];
    }
  }
  const [d, h, w] = shape;
  const out = new Float32Array(d * h * w);
  const at = (k: number, j: number, i: number) => src.data[(k * sh + j) * sw + i];
  let o = 0;
  for (let k = 0; k < d; k++) {
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++, o++) {
        const si = m[0] * i + m[1] * j + m[2] * k + m[3];
        const sj = m[4] * i + m[5] * j + m[6] * k + m[7];
        const sk = m[8] * i + m[9] * j + m[10] * k + m[11];
        const eps = 1e-6;
        if (
          si < -eps || sj < -eps || sk < -eps || si > sw - 1 + eps || sj > sh - 1 + eps ||
          sk > sd - 1 + eps
        ) {
          out[o] = outside;
          continue;
        }
        const ci = Math.min(Math.max(si, 0), sw - 1);
        const cj = Math.min(Math.max(sj, 0), sh - 1);
        const ck = Math.min(Math.max(sk, 0), sd - 1);
        const i0 = Math.floor(ci), j0 = Math.floor(cj), k0 = Math.floor(ck);
        const i1 = Math.min(i0 + 1, sw - 1),
          j1 = Math.min(j0 + 1, sh - 1),
          k1 = Math.min(k0 + 1, sd - 1);
        const fi = ci - i0, fj = cj - j0, fk = ck - k0;
        const v0 = (1 - fj) * ((1 - fi) * at(k0, j0, i0) + fi * at(k0, j0, i1)) +
          fj * ((1 - fi) * at(k0, j1, i0) + fi * at(k0, j1, i1));
        const v1 = (1 - fj) * ((1 - fi) * at(k1, j0, i0) + fi * at(k1, j0, i1)) +
          fj * ((1 - fi) * at(k1, j1, i0) + fi * at(k1, j1, i1));
        out[o] = (1 - fk) * v0 + fk * v1;
      }
    }
  }
  return out;
}

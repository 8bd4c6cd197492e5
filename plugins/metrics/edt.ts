// This module is browser compatible.
/**
 * Exact Euclidean distance transform with anisotropic voxel spacing, in
 * linear time: Felzenszwalb & Huttenlocher's lower envelope of parabolas
 * ("Distance Transforms of Sampled Functions", Theory of Computing 2012),
 * applied separably along each axis. It gives, for every voxel, the squared
 * distance to the nearest feature voxel, `min_f Σ_k (spacing_k·(x_k − f_k))²`,
 * exactly as `scipy.ndimage.distance_transform_edt(~features, sampling)`
 * squared.
 *
 * @example Distance to one feature voxel with spacing (2, 0.5)
 * ```ts
 * import { computeSquaredDistanceTransform } from "./edt.ts";
 * import assert from "node:assert/strict";
 *
 * const features = new Uint8Array(3 * 4);
 * features[0] = 1; // voxel (0, 0)
 * const d2 = computeSquaredDistanceTransform(features, [3, 4], [2, 0.5]);
 * assert.equal(d2[2 * 4 + 3], (2 * 2) ** 2 + (3 * 0.5) ** 2);
 * ```
 *
 * @module
 */

import { checkLength, checkSpacing } from "./_validate.ts";

/** Lines gathered at once along a strided axis, so reads stay cache-friendly. */
const BLOCK = 32;

/** Reusable scratch buffers of the transform. */
export interface EdtScratch {
  /** Up to {@linkcode BLOCK} gathered lines, line-major. */
  lines: Float64Array;
  /** One transformed line. */
  out: Float64Array;
  /** Positions of the parabolas of the lower envelope. */
  v: Int32Array;
  /** Boundaries between envelope parabolas. */
  z: Float64Array;
  /** Offsets `f[v] + w2·v²` of the envelope parabolas. */
  c: Float64Array;
  /** Values `f[v]` of the envelope parabolas. */
  g: Float64Array;
}

/**
 * Allocates scratch buffers for lines up to `length` voxels, to reuse across
 * calls of {@linkcode transformSquaredInPlace}.
 *
 * @example
 * ```ts
 * import { createEdtScratch } from "./edt.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(createEdtScratch(16).out.length, 16);
 * ```
 */
export function createEdtScratch(length: number): EdtScratch {
  return {
    lines: new Float64Array(length * BLOCK),
    out: new Float64Array(length),
    v: new Int32Array(length),
    z: new Float64Array(length + 1),
    c: new Float64Array(length),
    g: new Float64Array(length),
  };
}

/**
 * 1D squared distance transform of a sampled function `f[fo .. fo+n)`
 * (Infinity where there is no feature) with squared step `w2`:
 * `d[p] = min_q w2·(p−q)² + f[q]`, written back over `f`. Only the finite
 * samples enter the lower envelope, so an all-Infinity line stays Infinity.
 * `c[k] = f[v[k]] + w2·v[k]²` caches each envelope parabola's offset for
 * the intersections, `g[k] = f[v[k]]` its exact value for the evaluation.
 */
function transformLine(f: Float64Array, fo: number, n: number, w2: number, s: EdtScratch): void {
  const { out: d, v, z, c, g } = s;
  const w22 = 2 * w2;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[fo + q];
    if (fq === Infinity) continue;
    const cq = fq + w2 * q * q;
    if (k < 0) {
      k = 0;
      v[0] = q;
      c[0] = cq;
      g[0] = fq;
      z[0] = -Infinity;
      continue;
    }
    // Intersection of the new parabola with the rightmost one of the envelope.
    let x = (cq - c[k]) / (w22 * (q - v[k]));
    while (x <= z[k]) {
      k--;
      x = (cq - c[k]) / (w22 * (q - v[k]));
    }
    k++;
    v[k] = q;
    c[k] = cq;
    g[k] = fq;
    z[k] = x;
  }
  if (k < 0) return;
  z[k + 1] = Infinity;
  let j = 0;
  let vj = v[0];
  let fj = g[0];
  let next = z[1];
  for (let p = 0; p < n; p++) {
    while (next < p) {
      j++;
      vj = v[j];
      fj = g[j];
      next = z[j + 1];
    }
    const dp = p - vj;
    d[p] = w2 * dp * dp + fj;
  }
  for (let p = 0; p < n; p++) f[fo + p] = d[p];
}

/** Options of {@linkcode transformSquaredInPlace}. */
export interface EdtOptions {
  /** Buffers to reuse (from {@linkcode createEdtScratch}). */
  scratch?: EdtScratch;
  /**
   * Voxel indices where the result will be read: only the values there are
   * then guaranteed, and lines no query depends on are skipped.
   */
  queries?: Int32Array;
  /**
   * The feature voxels, when `values` is exactly 0 there and Infinity
   * elsewhere: slabs without a feature (still all Infinity) are skipped.
   */
  features?: Int32Array;
}

/**
 * In-place separable squared EDT of `values` (0 at features, Infinity
 * elsewhere, or any sampled function), row-major with `shape`, each axis
 * scaled by `spacing`. Internal building block of the surface metrics.
 *
 * With `queries`, the pass along axis a transforms only the lines whose
 * coordinates on the axes after a match a query (the lines the later passes
 * read); with `features`, it skips the slabs (fixed coordinates on the axes
 * before a) that hold no feature. Both skip most of the work when the
 * surfaces are sparse.
 *
 * @example Transform only what two voxels need
 * ```ts
 * import { transformSquaredInPlace } from "./edt.ts";
 * import assert from "node:assert/strict";
 *
 * const values = new Float64Array(4 * 5).fill(Infinity);
 * values[0] = 0; // feature at (0, 0)
 * transformSquaredInPlace(values, [4, 5], [1, 1], {
 *   queries: Int32Array.of(19, 7),
 *   features: Int32Array.of(0),
 * });
 * assert.equal(values[19], 3 * 3 + 4 * 4);
 * assert.equal(values[7], 1 + 4);
 * ```
 */
export function transformSquaredInPlace(
  values: Float64Array,
  shape: readonly number[],
  spacing: readonly number[],
  options: EdtOptions = {},
): void {
  const { scratch, queries, features } = options;
  const ndim = shape.length;
  const maxLen = Math.max(1, ...shape);
  const s = scratch && scratch.out.length >= maxLen ? scratch : createEdtScratch(maxLen);
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  let stride = 1;
  for (let axis = ndim - 1; axis >= 0; axis--) {
    const n = shape[axis];
    const w2 = spacing[axis] * spacing[axis];
    if (n > 1) {
      const block = n * stride;
      const outer = total / block;
      // Slabs (fixed coordinates on the axes before this one) holding a feature.
      let slabs: Uint8Array | undefined;
      if (features) {
        slabs = new Uint8Array(outer);
        for (let i = 0; i < features.length; i++) slabs[Math.floor(features[i] / block)] = 1;
      }
      if (stride === 1) {
        for (let o = 0; o < outer; o++) {
          if (!slabs || slabs[o]) transformLine(values, o * n, n, w2, s);
        }
      } else {
        // Lines needed by the later passes: their position on the trailing axes.
        let needed: Uint8Array | undefined;
        if (queries) {
          needed = new Uint8Array(stride);
          for (let i = 0; i < queries.length; i++) needed[queries[i] % stride] = 1;
        }
        const buf = s.lines;
        for (let o = 0; o < outer; o++) {
          if (slabs && !slabs[o]) continue;
          for (let inner = 0; inner < stride; inner += BLOCK) {
            const m = Math.min(BLOCK, stride - inner);
            // The range [lo, hi) of needed lines in this block.
            let lo = 0;
            let hi = m;
            if (needed) {
              while (lo < m && !needed[inner + lo]) lo++;
              if (lo === m) continue;
              while (!needed[inner + hi - 1]) hi--;
            }
            const base = o * block + inner;
            // Gather neighbouring lines: each read of hi - lo values is contiguous.
            for (let p = 0, row = base; p < n; p++, row += stride) {
              for (let b = lo; b < hi; b++) buf[b * n + p] = values[row + b];
            }
            for (let b = lo; b < hi; b++) {
              if (!needed || needed[inner + b]) transformLine(buf, b * n, n, w2, s);
            }
            for (let p = 0, row = base; p < n; p++, row += stride) {
              for (let b = lo; b < hi; b++) values[row + b] = buf[b * n + p];
            }
          }
        }
      }
    }
    stride *= n;
  }
}

/**
 * Squared Euclidean distance from every voxel to the nearest non-zero voxel
 * of `features`, with axis k scaled by `spacing[k]` (Infinity everywhere
 * when there is no feature). Exact and O(voxels) per axis.
 *
 * @example A feature line in 2D
 * ```ts
 * import { computeSquaredDistanceTransform } from "./edt.ts";
 * import assert from "node:assert/strict";
 *
 * // 3x3, features on the middle column; spacing 1 along rows, 2 along columns
 * const f = Uint8Array.of(0, 1, 0, 0, 1, 0, 0, 1, 0);
 * assert.deepEqual([...computeSquaredDistanceTransform(f, [3, 3], [1, 2])], [4, 0, 4, 4, 0, 4, 4, 0, 4]);
 * ```
 *
 * @param features Feature indicator, row-major (non-zero = feature).
 * @param shape Extent of each axis.
 * @param spacing Voxel size along each axis (> 0, required).
 * @returns Squared distances, row-major, same shape.
 */
export function computeSquaredDistanceTransform(
  features: ArrayLike<number>,
  shape: readonly number[],
  spacing: readonly number[],
): Float64Array {
  const metric = "distance transform";
  checkLength(metric, "features", features, shape);
  const sp = checkSpacing(metric, spacing, shape.length);
  const values = new Float64Array(features.length);
  const list: number[] = [];
  for (let i = 0; i < values.length; i++) {
    values[i] = features[i] ? 0 : Infinity;
    if (features[i]) list.push(i);
  }
  transformSquaredInPlace(values, shape, sp, { features: Int32Array.from(list) });
  return values;
}

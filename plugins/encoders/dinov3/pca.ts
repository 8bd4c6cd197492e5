// This module is browser compatible.
/**
 * Principal components of patch features, for the feature maps of reports
 * (`medprobe pca`): the first k PCs of the `h·w` patch tokens of one image,
 * and their projections mapped to an RGB image.
 *
 * The PCs come from subspace iteration on the centred features in f64
 * (`V ← orth(Xᵀ X V)`, Gram–Schmidt, deterministic start), which needs
 * only `X·v` products: no `C×C` covariance matrix is formed. Each
 * component's sign is fixed so that its largest-magnitude projection is
 * positive, so reruns give identical maps.
 *
 * @example Two clusters of patches separate on the first component
 * ```ts
 * import { patchPca } from "./pca.ts";
 * import assert from "node:assert/strict";
 * const data = new Float32Array(4 * 3);
 * data.set([1, 0, 0, 1.1, 0, 0, -1, 0, 0, -0.9, 0.1, 0], 0);
 * const pca = patchPca({ data, shape: [2, 2, 3] }, 1);
 * const s = pca.scores.data;
 * assert.ok(Math.sign(s[0]) === Math.sign(s[1]) && Math.sign(s[2]) === Math.sign(s[3]));
 * assert.ok(Math.sign(s[0]) !== Math.sign(s[2]));
 * ```
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../../core/tensor.ts";

/** The result of {@linkcode patchPca}. */
export interface PatchPca {
  /** Unit principal directions `[k, C]`. */
  components: HostTensor;
  /** Projections of the centred patches `[h, w, k]`. */
  scores: HostTensor;
  /** Variance along each component (descending). */
  variance: number[];
  /** Fraction of the total variance each component explains. */
  explained: number[];
}

/**
 * The first `k` principal components of patch tokens `[h, w, C]` (or
 * `[1, h, w, C]`).
 */
export function patchPca(patches: HostTensor, k = 3, iterations = 200): PatchPca {
  const shape = patches.shape.length === 4 && patches.shape[0] === 1
    ? patches.shape.slice(1)
    : patches.shape;
  if (shape.length !== 3) {
    throw new TypeError(
      `Cannot compute patch PCA as patches must have shape [h, w, C]: current shape is ${
        formatShape(patches.shape)
      }`,
    );
  }
  const [h, w, C] = shape;
  const n = h * w;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(n, C)) {
    throw new RangeError(
      `Cannot compute patch PCA as k must lie in [1, ${Math.min(n, C)}]: current value is ${k}`,
    );
  }
  const x = new Float64Array(n * C);
  const mean = new Float64Array(C);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) mean[c] += patches.data[i * C + c] / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const v = patches.data[i * C + c] - mean[c];
      x[i * C + c] = v;
      total += v * v;
    }
  }
  // Deterministic start: a fixed pseudo-random basis.
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const v: Float64Array[] = Array.from({ length: k }, () => Float64Array.from({ length: C }, rand));
  const xv = new Float64Array(n);
  const apply = (u: Float64Array): Float64Array => {
    // Xᵀ (X u)
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[i * C + c] * u[c];
      xv[i] = s;
    }
    const out = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const s = xv[i];
      if (s !== 0) { for (let c = 0; c < C; c++) out[c] += x[i * C + c] * s; }
    }
    return out;
  };
  const orthonormalise = (vs: Float64Array[]) => {
    for (let j = 0; j < vs.length; j++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let c = 0; c < C; c++) d += vs[j][c] * vs[i][c];
        for (let c = 0; c < C; c++) vs[j][c] -= d * vs[i][c];
      }
      let norm = 0;
      for (let c = 0; c < C; c++) norm += vs[j][c] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let c = 0; c < C; c++) vs[j][c] /= norm;
    }
  };
  orthonormalise(v);
  for (let it = 0; it < iterations; it++) {
    const next = v.map(apply);
    orthonormalise(next);
    for (let j = 0; j < k; j++) v[j] = next[j];
  }
  // Rayleigh quotients give the variances; sort descending (iteration order usually is).
  const order = v.map((u, j) => {
    const au = apply(u);
    let q = 0;
    for (let c = 0; c < C; c++) q += u[c] * au[c];
    return { j, variance: q / n };
  }).sort((a, b) => b.variance - a.variance);
  const components = new Float32Array(k * C);
  const scores = new Float32Array(n * k);
  order.forEach(({ j }, r) => {
    const u = v[j];
    let extreme = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[i * C + c] * u[c];
      xv[i] = s;
      if (Math.abs(s) > Math.abs(extreme)) extreme = s;
    }
    const sign = extreme < 0 ? -1 : 1;
    for (let c = 0; c < C; c++) components[r * C + c] = sign * u[c];
    for (let i = 0; i < n; i++) scores[i * k + r] = sign * xv[i];
  });
  const variance = order.map((o) => o.variance);
  return {
    components: { data: components, shape: [k, C] },
    scores: { data: scores, shape: [h, w, k] },
    variance,
    explained: variance.map((s) => total > 0 ? (s * n) / total : 0),
  };
}

/**
 * Maps 3 PC scores `[h, w, 3]` to 8-bit RGB `[h·w·3]`, each channel
 * min–max scaled over the image (a constant channel becomes 128).
 *
 * @example
 * ```ts
 * import { scoresToRgb } from "./pca.ts";
 * import assert from "node:assert/strict";
 * const rgb = scoresToRgb({ data: new Float32Array([-1, 0, 5, 1, 0, 7]), shape: [1, 2, 3] });
 * assert.deepEqual([...rgb], [0, 128, 0, 255, 128, 255]);
 * ```
 */
export function scoresToRgb(scores: HostTensor): Uint8Array {
  const [h, w, k] = scores.shape;
  if (scores.shape.length !== 3 || k !== 3) {
    throw new TypeError(
      `Cannot map PCA scores to RGB as they must have shape [h, w, 3]: current shape is ${
        formatShape(scores.shape)
      }`,
    );
  }
  const n = h * w;
  const out = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, scores.data[i * 3 + c]);
      hi = Math.max(hi, scores.data[i * 3 + c]);
    }
    for (let i = 0; i < n; i++) {
      out[i * 3 + c] = hi > lo
        ? Math.round(((scores.data[i * 3 + c] - lo) / (hi - lo)) * 255)
        : 128;
    }
  }
  return out;
}

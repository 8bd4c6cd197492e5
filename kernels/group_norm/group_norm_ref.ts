// This module is browser compatible.
/**
 * CPU references of group normalisation (Wu & He 2018) for channel-major
 * tensors `[N, C, ...spatial]` and its backward pass. With `groups = C` it
 * is instance normalisation, with `groups = 1` layer normalisation over
 * channels and space. Biased variance, as PyTorch's `GroupNorm`.
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/** Output of {@linkcode groupNormRef}: the result and the saved statistics. */
export interface GroupNormResult {
  /** Normalised, scaled and shifted values, same shape as the input. */
  y: HostTensor;
  /** Mean per (sample, group), `[N, G]`. */
  mean: Float32Array;
  /** `1 / sqrt(var + eps)` per (sample, group), `[N, G]`. */
  rstd: Float32Array;
}

function groupStats(
  x: HostTensor,
  groups: number,
  eps: number,
): { mean: Float64Array; rstd: Float64Array } {
  const [n, c] = x.shape;
  const spatial = x.data.length / (n * c);
  const m = (c / groups) * spatial;
  const mean = new Float64Array(n * groups);
  const rstd = new Float64Array(n * groups);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const start = (b * c + g * (c / groups)) * spatial;
      let s = 0;
      for (let i = 0; i < m; i++) s += x.data[start + i];
      const mu = s / m;
      let v = 0;
      for (let i = 0; i < m; i++) v += (x.data[start + i] - mu) ** 2;
      mean[b * groups + g] = mu;
      rstd[b * groups + g] = 1 / Math.sqrt(v / m + eps);
    }
  }
  return { mean, rstd };
}

/**
 * Group normalisation: `y = (x − mean_g) / sqrt(var_g + eps) · gamma[c] + beta[c]`.
 *
 * @example Instance normalisation of one 2-voxel channel
 * ```ts
 * import { groupNormRef } from "./group_norm_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 3]), shape: [1, 1, 2] };
 * const one = { data: new Float32Array([1]), shape: [1] };
 * const zero = { data: new Float32Array([0]), shape: [1] };
 * const { y } = groupNormRef(x, one, zero, 1, 0);
 * assert.deepEqual([...y.data], [-1, 1]);
 * ```
 */
export function groupNormRef(
  x: HostTensor,
  gamma: HostTensor,
  beta: HostTensor,
  groups: number,
  eps: number,
): GroupNormResult {
  const [n, c] = x.shape;
  const spatial = x.data.length / (n * c);
  const cpg = c / groups;
  const { mean, rstd } = groupStats(x, groups, eps);
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const k = b * groups + Math.floor(ch / cpg);
      for (let s = 0; s < spatial; s++) {
        const i = (b * c + ch) * spatial + s;
        out[i] = (x.data[i] - mean[k]) * rstd[k] * gamma.data[ch] + beta.data[ch];
      }
    }
  }
  return {
    y: { data: out, shape: [...x.shape] },
    mean: Float32Array.from(mean),
    rstd: Float32Array.from(rstd),
  };
}

/**
 * Gradients of {@linkcode groupNormRef} with respect to `x`, `gamma` and
 * `beta` (statistics recomputed from `x`):
 * `dx = rstd · (dy·γ − mean(dy·γ) − x̂ · mean(dy·γ·x̂))` over each group.
 *
 * @example The gradient of a normalised output sums to zero over its group
 * ```ts
 * import { groupNormBackwardRef } from "./group_norm_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 4]), shape: [1, 1, 3] };
 * const dy = { data: new Float32Array([1, 0, 0]), shape: [1, 1, 3] };
 * const one = { data: new Float32Array([1]), shape: [1] };
 * const { dx, dbeta } = groupNormBackwardRef(x, dy, one, 1, 1e-5);
 * assert.ok(Math.abs(dx.data[0] + dx.data[1] + dx.data[2]) < 1e-6);
 * assert.deepEqual([...dbeta.data], [1]);
 * ```
 */
export function groupNormBackwardRef(
  x: HostTensor,
  dy: HostTensor,
  gamma: HostTensor,
  groups: number,
  eps: number,
): { dx: HostTensor; dgamma: HostTensor; dbeta: HostTensor } {
  const [n, c] = x.shape;
  const spatial = x.data.length / (n * c);
  const cpg = c / groups;
  const m = cpg * spatial;
  const { mean, rstd } = groupStats(x, groups, eps);
  const dx = new Float32Array(x.data.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const k = b * groups + g;
      let a = 0;
      let bb = 0;
      for (let ch = g * cpg; ch < (g + 1) * cpg; ch++) {
        for (let s = 0; s < spatial; s++) {
          const i = (b * c + ch) * spatial + s;
          const xhat = (x.data[i] - mean[k]) * rstd[k];
          const gy = dy.data[i] * gamma.data[ch];
          a += gy;
          bb += gy * xhat;
          dgamma[ch] += dy.data[i] * xhat;
          dbeta[ch] += dy.data[i];
        }
      }
      for (let ch = g * cpg; ch < (g + 1) * cpg; ch++) {
        for (let s = 0; s < spatial; s++) {
          const i = (b * c + ch) * spatial + s;
          const xhat = (x.data[i] - mean[k]) * rstd[k];
          dx[i] = rstd[k] * (dy.data[i] * gamma.data[ch] - a / m - xhat * bb / m);
        }
      }
    }
  }
  return {
    dx: { data: dx, shape: [...x.shape] },
    dgamma: { data: Float32Array.from(dgamma), shape: [c] },
    dbeta: { data: Float32Array.from(dbeta), shape: [c] },
  };
}

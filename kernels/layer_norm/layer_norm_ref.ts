// This module is browser compatible.
/**
 * CPU references of the layer_norm family: LayerNorm over the last axis and
 * the mean over a token range, in plain loops with f64 accumulation.
 *
 * @module
 */

import { type HostTensor, numel } from "../../core/tensor.ts";

/** Arguments of {@linkcode layerNormRef} besides `x`. */
export interface LayerNormRefArgs {
  /** `[C]`. */
  weight: HostTensor;
  /** `[C]`. */
  bias: HostTensor;
  /** Added to the variance (DINOv3: 1e-5, from `layer_norm_eps`). */
  eps: number;
}

/**
 * LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`
 * with the biased variance.
 *
 * @example The hand-checked numbers of candle-nn/tests/ops.rs
 * ```ts
 * import { layerNormRef } from "./layer_norm_ref.ts";
 * import assert from "node:assert/strict";
 * const y = layerNormRef(
 *   { data: new Float32Array([3, 1, 4, 1, 5, 9]), shape: [2, 3] },
 *   { weight: { data: new Float32Array([1, 2, 3]), shape: [3] },
 *     bias: { data: new Float32Array([0.5, 0, -0.2]), shape: [3] }, eps: 1e-5 },
 * );
 * assert.deepEqual([...y.data.slice(0, 3)].map((v) => v.toFixed(4)), ["0.7673", "-2.6726", "3.0071"]);
 * ```
 */
export function layerNormRef(x: HostTensor, args: LayerNormRefArgs): HostTensor {
  const C = x.shape[x.shape.length - 1];
  const rows = numel(x.shape) / C;
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x.data[r * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[r * C + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / C + args.eps);
    for (let c = 0; c < C; c++) {
      out[r * C + c] = (x.data[r * C + c] - mean) * inv * args.weight.data[c] + args.bias.data[c];
    }
  }
  return { data: out, shape: [...x.shape] };
}

/**
 * Mean over tokens `[start, start + count)` of `x: [B, N, C]`, giving `[B, C]`.
 *
 * @example
 * ```ts
 * import { tokenMeanRef } from "./layer_norm_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([9, 9, 1, 2, 3, 4]), shape: [1, 3, 2] };
 * assert.deepEqual([...tokenMeanRef(x, 1, 2).data], [2, 3]);
 * ```
 */
export function tokenMeanRef(x: HostTensor, start: number, count: number): HostTensor {
  const [B, N, C] = x.shape;
  const out = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let t = start; t < start + count; t++) s += x.data[(b * N + t) * C + c];
      out[b * C + c] = s / count;
    }
  }
  return { data: out, shape: [B, C] };
}

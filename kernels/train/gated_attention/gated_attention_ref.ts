// This module is browser compatible.
/**
 * CPU references of the gated-attention family, in float64 per element:
 * ReLU and its backward, the gated score, a vector softmax and its
 * backward, and the gated-score backward. `gated_attention_test.ts` checks
 * the backward references against finite differences.
 *
 * @module
 */

import { sigmoid } from "../cross_entropy/cross_entropy_ref.ts";

/** `max(x, 0)` elementwise, into a new array. */
export function reluRef(x: Float32Array): Float32Array {
  return x.map((v) => Math.max(v, 0));
}

/** `dh ⊙ [h > 0]`, into a new array. */
export function reluBackwardRef(h: Float32Array, dh: Float32Array): Float32Array {
  return dh.map((v, i) => (h[i] > 0 ? v : 0));
}

/**
 * Gates `g = tanh(S[:, :D]) ⊙ σ(S[:, D:])` `[N, D]` and logits `e = g·w` `[N]`
 * from `S: [N, 2D]`.
 *
 * @example
 * ```ts
 * import { gatedScoreRef } from "./gated_attention_ref.ts";
 * import assert from "node:assert/strict";
 * const { e, g } = gatedScoreRef(new Float32Array([0, 0]), new Float32Array([2]), 1, 1);
 * assert.equal(g[0], 0); // tanh(0) = 0
 * assert.equal(e[0], 0);
 * ```
 */
export function gatedScoreRef(
  s: Float32Array,
  w: Float32Array,
  n: number,
  d: number,
): { e: Float32Array; g: Float32Array } {
  const e = new Float32Array(n); // [N]
  const g = new Float32Array(n * d); // [N, D]
  for (let r = 0; r < n; r++) {
    let acc = 0;
    for (let j = 0; j < d; j++) {
      const gate = Math.tanh(s[r * 2 * d + j]) * sigmoid(s[r * 2 * d + d + j]);
      g[r * d + j] = gate;
      acc += gate * w[j];
    }
    e[r] = acc;
  }
  return { e, g };
}

/**
 * Softmax of a vector.
 *
 * @example
 * ```ts
 * import { softmaxRef } from "./gated_attention_ref.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...softmaxRef(new Float32Array([0, 0]))], [0.5, 0.5]);
 * ```
 */
export function softmaxRef(e: Float32Array): Float32Array {
  let m = -Infinity;
  for (const v of e) m = Math.max(m, v);
  let s = 0;
  for (const v of e) s += Math.exp(v - m);
  return e.map((v) => Math.exp(v - m) / s);
}

/** Softmax backward: `de = a ⊙ (da − Σ a·da)`. */
export function softmaxBackwardRef(a: Float32Array, da: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * da[i];
  return a.map((v, i) => v * (da[i] - s));
}

/** `dS: [N, 2D]` of the gated score given `de: [N]`. */
export function gatedBackwardRef(
  s: Float32Array,
  de: Float32Array,
  w: Float32Array,
  n: number,
  d: number,
): Float32Array {
  const ds = new Float32Array(n * 2 * d); // [N, 2D]
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) {
      const v = Math.tanh(s[r * 2 * d + j]);
      const u = sigmoid(s[r * 2 * d + d + j]);
      const dg = de[r] * w[j];
      ds[r * 2 * d + j] = dg * u * (1 - v * v);
      ds[r * 2 * d + d + j] = dg * v * u * (1 - u);
    }
  }
  return ds;
}

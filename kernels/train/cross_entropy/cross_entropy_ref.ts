// This module is browser compatible.
/**
 * CPU references of the loss family, in float64: sigmoid binary
 * cross-entropy and softmax cross-entropy, each with the gradient with
 * respect to the logits. `cross_entropy_test.ts` checks the gradients
 * against finite differences of the losses.
 *
 * @module
 */

import type { HostTensor } from "../../../core/tensor.ts";

/** Losses and gradients of a loss reference. */
export interface LossResult {
  /** Per-sample losses: `[N, K]` for BCE, `[N]` for CE. */
  loss: HostTensor;
  /** `gradScale · ∂ℓ/∂z`, `[N, K]`. */
  grad: HostTensor;
}

/** The logistic function, stable for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Sigmoid BCE with logits: `ℓ = max(z,0) − z·y + log(1 + e^{−|z|})` per
 * element, gradient `(σ(z) − y)·gradScale`.
 *
 * @example
 * ```ts
 * import { sigmoidBceRef } from "./cross_entropy_ref.ts";
 * import assert from "node:assert/strict";
 * const z = { data: new Float32Array([0, 2]), shape: [1, 2] };
 * const y = { data: new Float32Array([1, 0]), shape: [1, 2] };
 * const { loss, grad } = sigmoidBceRef(z, y);
 * assert.ok(Math.abs(loss.data[0] - Math.LN2) < 1e-7);
 * assert.ok(Math.abs(loss.data[1] - (2 + Math.log1p(Math.exp(-2)))) < 1e-6);
 * assert.ok(Math.abs(grad.data[0] + 0.5) < 1e-7);
 * ```
 */
export function sigmoidBceRef(logits: HostTensor, targets: HostTensor, gradScale = 1): LossResult {
  const n = logits.data.length;
  const loss = new Float32Array(n);
  const grad = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = logits.data[i];
    const y = targets.data[i];
    loss[i] = Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    grad[i] = (sigmoid(z) - y) * gradScale;
  }
  return {
    loss: { data: loss, shape: [...logits.shape] },
    grad: { data: grad, shape: [...logits.shape] },
  };
}

/**
 * Softmax cross-entropy over the last axis of `[N, K]` logits against
 * one-hot (or probability) targets: `ℓ = Σ_k y_k·(lse − z_k)`, gradient
 * `(softmax·Σy − y)·gradScale`.
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropyRef } from "./cross_entropy_ref.ts";
 * import assert from "node:assert/strict";
 * const z = { data: new Float32Array([0, 0, 0, 0]), shape: [1, 4] };
 * const y = { data: new Float32Array([0, 1, 0, 0]), shape: [1, 4] };
 * const { loss, grad } = softmaxCrossEntropyRef(z, y);
 * assert.ok(Math.abs(loss.data[0] - Math.log(4)) < 1e-6);
 * assert.deepEqual([...grad.data], [0.25, -0.75, 0.25, 0.25]);
 * ```
 */
export function softmaxCrossEntropyRef(
  logits: HostTensor,
  targets: HostTensor,
  gradScale = 1,
): LossResult {
  const [n, k] = logits.shape;
  const loss = new Float32Array(n); // [N]
  const grad = new Float32Array(n * k); // [N, K]
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits.data[o + j]);
    let s = 0;
    let ysum = 0;
    for (let j = 0; j < k; j++) {
      s += Math.exp(logits.data[o + j] - m);
      ysum += targets.data[o + j];
    }
    const lse = m + Math.log(s);
    let l = 0;
    for (let j = 0; j < k; j++) {
      const z = logits.data[o + j];
      const y = targets.data[o + j];
      l += y * (lse - z);
      grad[o + j] = (Math.exp(z - m) / s * ysum - y) * gradScale;
    }
    loss[r] = l;
  }
  return { loss: { data: loss, shape: [n] }, grad: { data: grad, shape: [n, k] } };
}

// This module is browser compatible.
/**
 * CPU references of the linear family: plain loops with float64
 * accumulation. They are the specification of the WGSL kernels, the CPU
 * fallback of the heads and the oracle of the tests; their gradients are
 * checked against finite differences in `linear_test.ts`.
 *
 * Layouts: `x: [N, F]`, `weight: [K, F]`, `bias: [K]`, `y, dy: [N, K]`.
 *
 * @module
 */

import type { HostTensor } from "../../../core/tensor.ts";

/**
 * `y = x·Wᵀ + b`.
 *
 * @example
 * ```ts
 * import { linearForwardRef } from "./linear_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
 * const w = { data: new Float32Array([1, 0, -1, 0.5, 0.5, 0.5]), shape: [2, 3] };
 * const b = { data: new Float32Array([0, 1]), shape: [2] };
 * assert.deepEqual([...linearForwardRef(x, w, b).data], [-2, 4, -2, 8.5]);
 * ```
 */
export function linearForwardRef(x: HostTensor, weight: HostTensor, bias?: HostTensor): HostTensor {
  const [n, f] = x.shape;
  const k = weight.shape[0];
  const y = new Float32Array(n * k); // [N, K]
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let i = 0; i < f; i++) s += x.data[r * f + i] * weight.data[c * f + i];
      y[r * k + c] = s + (bias ? bias.data[c] : 0);
    }
  }
  return { data: y, shape: [n, k] };
}

/** Gradients of {@linkcode linearForwardRef}. */
export interface LinearGradients {
  /** `dL/dW = dyᵀ·x`, `[K, F]`. */
  dWeight: HostTensor;
  /** `dL/db = Σ_n dy[n]`, `[K]`. */
  dBias: HostTensor;
  /** `dL/dx = dy·W`, `[N, F]`. */
  dx: HostTensor;
}

/**
 * Backward pass of `y = x·Wᵀ + b` given `dy = dL/dy`.
 *
 * @example
 * ```ts
 * import { linearBackwardRef } from "./linear_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2]), shape: [1, 2] };
 * const w = { data: new Float32Array([3, 4]), shape: [1, 2] };
 * const dy = { data: new Float32Array([2]), shape: [1, 1] };
 * const g = linearBackwardRef(x, w, dy);
 * assert.deepEqual([...g.dWeight.data], [2, 4]);
 * assert.deepEqual([...g.dBias.data], [2]);
 * assert.deepEqual([...g.dx.data], [6, 8]);
 * ```
 */
export function linearBackwardRef(
  x: HostTensor,
  weight: HostTensor,
  dy: HostTensor,
): LinearGradients {
  const [n, f] = x.shape;
  const k = weight.shape[0];
  const dWeight = new Float32Array(k * f); // [K, F]
  const dBias = new Float32Array(k); // [K]
  const dx = new Float32Array(n * f); // [N, F]
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < f; i++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += dy.data[r * k + c] * x.data[r * f + i];
      dWeight[c * f + i] = s;
    }
    let sb = 0;
    for (let r = 0; r < n; r++) sb += dy.data[r * k + c];
    dBias[c] = sb;
  }
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < f; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += dy.data[r * k + c] * weight.data[c * f + i];
      dx[r * f + i] = s;
    }
  }
  return {
    dWeight: { data: dWeight, shape: [k, f] },
    dBias: { data: dBias, shape: [k] },
    dx: { data: dx, shape: [n, f] },
  };
}

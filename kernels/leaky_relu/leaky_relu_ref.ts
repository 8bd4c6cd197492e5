// This module is browser compatible.
/**
 * CPU references of the activation kernels: plain loops.
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/**
 * Leaky ReLU: `x > 0 ? x : slope * x` (slope 0 gives ReLU).
 *
 * @example
 * ```ts
 * import { leakyReluRef } from "./leaky_relu_ref.ts";
 * import assert from "node:assert/strict";
 * const y = leakyReluRef({ data: new Float32Array([-2, 0, 3]), shape: [3] }, 0.5);
 * assert.deepEqual([...y.data], [-1, 0, 3]);
 * ```
 */
export function leakyReluRef(x: HostTensor, slope: number): HostTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i];
    out[i] = v > 0 ? v : slope * v;
  }
  return { data: out, shape: [...x.shape] };
}

/**
 * Gradient of {@linkcode leakyReluRef} with respect to its input:
 * `dy * (x > 0 ? 1 : slope)`.
 *
 * @example
 * ```ts
 * import { leakyReluBackwardRef } from "./leaky_relu_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([-2, 3]), shape: [2] };
 * const dy = { data: new Float32Array([4, 5]), shape: [2] };
 * assert.deepEqual([...leakyReluBackwardRef(x, dy, 0.25).data], [1, 5]);
 * ```
 */
export function leakyReluBackwardRef(x: HostTensor, dy: HostTensor, slope: number): HostTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = dy.data[i] * (x.data[i] > 0 ? 1 : slope);
  return { data: out, shape: [...x.shape] };
}

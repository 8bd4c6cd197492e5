// This module is browser compatible.
/**
 * CPU reference of the reduction family: plain loops, float64 accumulation.
 *
 * @module
 */

import type { HostTensor } from "../../../core/tensor.ts";

/**
 * Column sums of `x: [R, C]` times `alpha`: `out[c] = alpha · Σ_r x[r, c]`, shape `[C]`.
 *
 * @example
 * ```ts
 * import { columnSumRef } from "./column_sum_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] };
 * assert.deepEqual([...columnSumRef(x).data], [9, 12]);
 * assert.deepEqual([...columnSumRef(x, 0.5).data], [4.5, 6]);
 * ```
 */
export function columnSumRef(x: HostTensor, alpha = 1): HostTensor {
  const [rows, cols] = x.shape;
  const out = new Float32Array(cols); // [C]
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x.data[r * cols + c];
    out[c] = alpha * s;
  }
  return { data: out, shape: [cols] };
}

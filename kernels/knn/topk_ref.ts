// This module is browser compatible.
/**
 * CPU reference of the top-k family: sort each row by score descending,
 * then index ascending, and keep the first k. Plain and slow on purpose.
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/** The k best entries of each row. */
export interface TopK {
  /** Scores `[Q, k]`, descending within a row. */
  values: Float32Array;
  /** Column indices `[Q, k]`. */
  indices: Uint32Array;
  /** `[Q, k]`. */
  shape: [number, number];
}

/**
 * Top-k of each row of `scores: [Q, M]` by (score desc, index asc).
 *
 * @example
 * ```ts
 * import { topkRef } from "./topk_ref.ts";
 * import assert from "node:assert/strict";
 * const s = { data: new Float32Array([0.1, 0.9, 0.5, 0.9]), shape: [1, 4] };
 * assert.deepEqual([...topkRef(s, 3).indices], [1, 3, 2]);
 * ```
 */
export function topkRef(scores: HostTensor, k: number): TopK {
  const [q, m] = scores.shape;
  const values = new Float32Array(q * k);
  const indices = new Uint32Array(q * k);
  for (let r = 0; r < q; r++) {
    const order = Array.from({ length: m }, (_, j) => j);
    order.sort((a, b) => scores.data[r * m + b] - scores.data[r * m + a] || a - b);
    for (let i = 0; i < k; i++) {
      indices[r * k + i] = order[i];
      values[r * k + i] = scores.data[r * m + order[i]];
    }
  }
  return { values, indices, shape: [q, k] };
}

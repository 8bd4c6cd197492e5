// This module is browser compatible.
/**
 * CPU references of channel concatenation and splitting for channel-major
 * tensors `[N, C, ...spatial]`.
 *
 * @module
 */

import { formatShape, type HostTensor, numel } from "../../core/tensor.ts";

/**
 * Concatenates tensors along axis 1 (channels). Every other axis must agree.
 *
 * @example
 * ```ts
 * import { concatRef } from "./concat_ref.ts";
 * import assert from "node:assert/strict";
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 1, 2] };
 * const b = { data: new Float32Array([5, 6, 7, 8]), shape: [2, 1, 2] };
 * const c = concatRef([a, b]);
 * assert.deepEqual(c.shape, [2, 2, 2]);
 * assert.deepEqual([...c.data], [1, 2, 5, 6, 3, 4, 7, 8]);
 * ```
 */
export function concatRef(parts: readonly HostTensor[]): HostTensor {
  const first = parts[0];
  const n = first.shape[0];
  const rest = first.shape.slice(2);
  const spatial = numel(rest);
  for (const p of parts) {
    if (p.shape[0] !== n || formatShape(p.shape.slice(2)) !== formatShape(rest)) {
      throw new TypeError(
        `Cannot concatenate as every part must have shape [${n}, *, ${
          rest.join(", ")
        }]: current shape is ${formatShape(p.shape)}`,
      );
    }
  }
  const total = parts.reduce((s, p) => s + p.shape[1], 0);
  const out = new Float32Array(n * total * spatial);
  for (let b = 0; b < n; b++) {
    let offset = 0;
    for (const p of parts) {
      const c = p.shape[1];
      for (let ch = 0; ch < c; ch++) {
        for (let s = 0; s < spatial; s++) {
          out[(b * total + offset + ch) * spatial + s] = p.data[(b * c + ch) * spatial + s];
        }
      }
      offset += c;
    }
  }
  return { data: out, shape: [n, total, ...rest] };
}

/**
 * Splits a tensor along axis 1 into parts of the given channel counts: the
 * backward of {@linkcode concatRef}.
 *
 * @example
 * ```ts
 * import { splitChannelsRef } from "./concat_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 5, 6, 3, 4, 7, 8]), shape: [2, 2, 2] };
 * const [a, b] = splitChannelsRef(x, [1, 1]);
 * assert.deepEqual([...a.data], [1, 2, 3, 4]);
 * assert.deepEqual([...b.data], [5, 6, 7, 8]);
 * ```
 */
export function splitChannelsRef(x: HostTensor, sizes: readonly number[]): HostTensor[] {
  const [n, total, ...rest] = x.shape;
  const spatial = numel(rest);
  if (sizes.reduce((a, b) => a + b, 0) !== total) {
    throw new TypeError(
      `Cannot split channels as the sizes must sum to ${total}: current sizes are [${
        sizes.join(", ")
      }]`,
    );
  }
  const out: HostTensor[] = [];
  let offset = 0;
  for (const c of sizes) {
    const data = new Float32Array(n * c * spatial);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        for (let s = 0; s < spatial; s++) {
          data[(b * c + ch) * spatial + s] = x.data[(b * total + offset + ch) * spatial + s];
        }
      }
    }
    out.push({ data, shape: [n, c, ...rest] });
    offset += c;
  }
  return out;
}

// This module is browser compatible.
/**
 * CPU references of the elementwise kernels: plain loops, no cleverness.
 *
 * @module
 */

import { formatShape, type HostTensor, numel, strides } from "../../core/tensor.ts";

/** The binary ops of the elementwise family. */
export type BinaryOp = "add" | "mul" | "sub";

/**
 * The NumPy broadcast shape of two shapes; throws a `TypeError` when they
 * are incompatible.
 *
 * @example
 * ```ts
 * import { broadcastShapes } from "./elementwise_ref.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(broadcastShapes([4, 1, 3], [5, 1]), [4, 5, 3]);
 * assert.throws(() => broadcastShapes([2, 3], [4]), TypeError);
 * ```
 */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new TypeError(
        `Cannot broadcast shapes as axis ${i} must be equal or 1: current shapes are ${
          formatShape(a)
        } and ${formatShape(b)}`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` as seen from the broadcast `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = strides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : s[j];
  });
}

/**
 * `a OP b` with NumPy broadcasting.
 *
 * @example
 * ```ts
 * import { binaryRef } from "./elementwise_ref.ts";
 * import assert from "node:assert/strict";
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * const b = { data: new Float32Array([10, 20]), shape: [2] };
 * assert.deepEqual([...binaryRef("add", a, b).data], [11, 22, 13, 24]);
 * ```
 */
export function binaryRef(op: BinaryOp, a: HostTensor, b: HostTensor): HostTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const as = broadcastStrides(a.shape, shape);
  const bs = broadcastStrides(b.shape, shape);
  const n = numel(shape);
  const out = new Float32Array(n);
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      coord[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < shape.length; d++) {
      ai += coord[d] * as[d];
      bi += coord[d] * bs[d];
    }
    const x = a.data[ai];
    const y = b.data[bi];
    out[i] = op === "add" ? x + y : op === "mul" ? x * y : x - y;
  }
  return { data: out, shape };
}

/** `x * alpha + beta`. */
export function scaleRef(x: HostTensor, alpha: number, beta = 0): HostTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i] * alpha + beta;
  return { data: out, shape: [...x.shape] };
}

// This module is browser compatible.
/**
 * Private helpers of the training kernels: shape checks shared by the
 * launchers and output-buffer handling.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";

/** Something with a shape and a dtype (a `GpuTensor` or a plain description). */
export interface ShapeLike {
  /** Extent of each axis. */
  readonly shape: readonly number[];
  /** Element type (`"f32"` required). @default {"f32"} */
  readonly dtype?: string;
}

/**
 * Checks that `t` is an f32 matrix with positive extents (or the given
 * extents, where not undefined) and returns `[rows, cols]`.
 */
export function checkMatrix(
  op: string,
  name: string,
  t: ShapeLike,
  expected: readonly (number | undefined)[] = [undefined, undefined],
): [number, number] {
  if ((t.dtype ?? "f32") !== "f32") {
    throw new TypeError(
      `Cannot run ${op} as ${name} must be f32: current dtype is ${t.dtype}`,
    );
  }
  const s = t.shape;
  const want = `[${expected.map((e) => e ?? "*").join(", ")}]`;
  if (s.length !== 2 || expected.some((e, i) => e !== undefined && s[i] !== e)) {
    throw new TypeError(
      `Cannot run ${op} as ${name} must have shape ${want}: current shape is ${formatShape(s)}`,
    );
  }
  if (!s.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new RangeError(
      `Cannot run ${op} as ${name} must have positive extents: current shape is ${formatShape(s)}`,
    );
  }
  return [s[0], s[1]];
}

/** Checks that `t` is an f32 vector of length `n` (any shape with n elements of rank ≤ 2). */
export function checkVector(op: string, name: string, t: ShapeLike, n: number): void {
  if ((t.dtype ?? "f32") !== "f32") {
    throw new TypeError(`Cannot run ${op} as ${name} must be f32: current dtype is ${t.dtype}`);
  }
  if (numel(t.shape) !== n || t.shape.length > 2) {
    throw new TypeError(
      `Cannot run ${op} as ${name} must have shape [${n}]: current shape is ${
        formatShape(t.shape)
      }`,
    );
  }
}

/**
 * Returns `out` when given (checking that its buffer holds `shape`), else a
 * new storage buffer of that shape.
 */
export function outputTensor(
  ctx: GpuContext,
  op: string,
  out: GpuTensor | undefined,
  shape: readonly number[],
  label: string,
): GpuTensor {
  const bytes = numel(shape) * 4;
  if (out) {
    if (out.buffer.size < bytes) {
      throw new RangeError(
        `Cannot run ${op} as the output buffer must hold ${bytes} bytes for shape ${
          formatShape(shape)
        }: current size is ${out.buffer.size} bytes`,
      );
    }
    return { buffer: out.buffer, shape: [...shape], dtype: "f32" };
  }
  return { buffer: ctx.createStorageBuffer(bytes, label), shape: [...shape], dtype: "f32" };
}

/** Checks that a buffer bound as a tensor holds it. */
export function checkHolds(op: string, name: string, t: GpuTensor): void {
  const bytes = numel(t.shape) * 4;
  if (t.buffer.size < bytes) {
    throw new RangeError(
      `Cannot run ${op} as the buffer of ${name} must hold ${bytes} bytes for shape ${
        formatShape(t.shape)
      }: current size is ${t.buffer.size} bytes`,
    );
  }
}

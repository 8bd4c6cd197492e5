// This module is browser compatible.
/**
 * Private input checks and conversions shared by the metric families. Every
 * message follows the std style: `Cannot compute <metric> as <constraint>:
 * current value is <x>`.
 *
 * @module
 */

import { formatShape } from "../../core/tensor.ts";
import type { MatrixInput, ShapedArray } from "./types.ts";

/** A normalised vector or matrix. */
export interface Matrix {
  data: ArrayLike<number>;
  shape: number[];
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** True for a `{ data, shape }` object. */
export function isShaped(value: unknown): value is ShapedArray {
  return typeof value === "object" && value !== null && "data" in value && "shape" in value;
}

/**
 * Normalises a vector/matrix input to `{ data, shape }` with shape `[N]` or
 * `[N, K]`, copying nested rows into a Float64Array.
 */
export function toMatrix(metric: string, what: string, input: MatrixInput): Matrix {
  if (typeof input !== "object" || input === null) {
    throw new TypeError(
      `Cannot compute ${metric} as ${what} must be an array, a list of rows or { data, shape }: current type is ${
        describe(input)
      }`,
    );
  }
  if (isShaped(input)) {
    const shape = [...input.shape];
    if (shape.length !== 1 && shape.length !== 2) {
      throw new TypeError(
        `Cannot compute ${metric} as ${what} must have shape [N] or [N, K]: current shape is ${
          formatShape(shape)
        }`,
      );
    }
    checkLength(metric, what, input.data, shape);
    return { data: input.data, shape };
  }
  const list = input as ArrayLike<unknown>;
  if (list.length > 0 && typeof list[0] === "object" && list[0] !== null) {
    const rows = input as readonly ArrayLike<number>[];
    const n = rows.length;
    const k = rows[0].length;
    const data = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (typeof row !== "object" || row === null || row.length !== k) {
        throw new TypeError(
          `Cannot compute ${metric} as every row of ${what} must have ${k} values: current length of row ${i} is ${
            typeof row === "object" && row !== null ? row.length : describe(row)
          }`,
        );
      }
      for (let j = 0; j < k; j++) data[i * k + j] = row[j];
    }
    return { data, shape: [n, k] };
  }
  return { data: input as ArrayLike<number>, shape: [list.length] };
}

/** Throws unless `data.length` equals the product of `shape`. */
export function checkLength(
  metric: string,
  what: string,
  data: { readonly length: number },
  shape: readonly number[],
): void {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new TypeError(
        `Cannot compute ${metric} as the shape of ${what} must hold non-negative integers: current shape is ${
          formatShape(shape)
        }`,
      );
    }
    n *= d;
  }
  if (data.length !== n) {
    throw new TypeError(
      `Cannot compute ${metric} as ${what} must have ${n} values for shape ${
        formatShape(shape)
      }: current length is ${data.length}`,
    );
  }
}

/** Throws the house-style shape mismatch error unless both shapes are equal. */
export function checkSameShape(
  metric: string,
  a: readonly number[],
  b: readonly number[],
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new TypeError(
      `Cannot compute ${metric} as prediction and target must have the same shape: current shapes are ${
        formatShape(a)
      } and ${formatShape(b)}`,
    );
  }
}

/** Throws a RangeError at the first NaN of `data`. */
export function checkNotNaN(metric: string, what: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new RangeError(
        `Cannot compute ${metric} as ${what} must not contain NaN: current value at index ${i} is ${v}`,
      );
    }
  }
}

/** Throws a RangeError unless every value is exactly 0 or 1. */
export function checkBinary(metric: string, what: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== 1) {
      throw new RangeError(
        `Cannot compute ${metric} as ${what} must be 0 or 1: current value at index ${i} is ${v}`,
      );
    }
  }
}

/** Throws a RangeError unless every value is an integer in [0, count). */
export function checkIndices(
  metric: string,
  what: string,
  data: ArrayLike<number>,
  count: number,
): void {
  const unsigned = data instanceof Uint8Array || data instanceof Uint16Array ||
    data instanceof Uint32Array || data instanceof Uint8ClampedArray;
  if (unsigned) {
    // Integers >= 0 by type: only the upper bound can fail.
    let max = 0;
    for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
    if (max < count) return;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0 || v >= count) {
      throw new RangeError(
        `Cannot compute ${metric} as ${what} must be integers in [0, ${count}): current value at index ${i} is ${v}`,
      );
    }
  }
}

/** Throws a TypeError/RangeError unless `value` is an integer >= `min`. */
export function checkInteger(metric: string, what: string, value: unknown, min: number): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot compute ${metric} as ${what} must be a number: current type is ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot compute ${metric} as ${what} must be an integer >= ${min}: current value is ${value}`,
    );
  }
  return value;
}

/** Throws unless `value` is a boolean (or undefined, giving the default). */
export function checkBoolean(
  metric: string,
  what: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot compute ${metric} as ${what} must be a boolean: current type is ${describe(value)}`,
    );
  }
  return value;
}

/** Throws unless `value` is one of `choices` (or undefined, giving the default). */
export function checkChoice<T extends string>(
  metric: string,
  what: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new RangeError(
      `Cannot compute ${metric} as ${what} must be one of ${
        choices.map((c) => `"${c}"`).join(", ")
      }: current value is ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Throws unless `value` is an object (or undefined). */
export function checkOptions(metric: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Cannot compute ${metric} as options must be an object: current type is ${describe(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Checks voxel spacing: present, one finite positive value per axis.
 * Distances never default to a spacing of 1 (STYLE §8.4).
 */
export function checkSpacing(metric: string, spacing: unknown, ndim: number): number[] {
  if (spacing === undefined || spacing === null) {
    throw new TypeError(
      `Cannot compute ${metric} as spacing is required: current value is ${spacing}`,
    );
  }
  if (typeof spacing !== "object" || typeof (spacing as ArrayLike<number>).length !== "number") {
    throw new TypeError(
      `Cannot compute ${metric} as spacing must be an array of ${ndim} numbers: current type is ${
        describe(spacing)
      }`,
    );
  }
  const list = Array.from(spacing as ArrayLike<number>);
  if (list.length !== ndim) {
    throw new TypeError(
      `Cannot compute ${metric} as spacing must have one value per axis (${ndim}): current length is ${list.length}`,
    );
  }
  for (const s of list) {
    if (typeof s !== "number" || !(s > 0) || !Number.isFinite(s)) {
      throw new RangeError(
        `Cannot compute ${metric} as spacing must be finite and > 0: current value is [${
          list.join(", ")
        }]`,
      );
    }
  }
  return list;
}

/** A validated pair of label maps. */
export interface LabelMapPair {
  pred: ArrayLike<number>;
  gt: ArrayLike<number>;
  shape: number[];
  numClasses: number;
}

/**
 * Checks a prediction/target pair of integer label maps: rank 1 to 3, same
 * shape, labels in [0, numClasses) (any non-negative integer when
 * `numClassesInput` is null).
 */
export function checkLabelMaps(
  metric: string,
  prediction: unknown,
  target: unknown,
  numClassesInput: unknown,
): LabelMapPair {
  for (const [what, value] of [["prediction", prediction], ["target", target]] as const) {
    if (!isShaped(value)) {
      throw new TypeError(
        `Cannot compute ${metric} as ${what} must be a label map { data, shape }: current type is ${
          describe(value)
        }`,
      );
    }
  }
  const p = prediction as ShapedArray;
  const t = target as ShapedArray;
  checkSameShape(metric, p.shape, t.shape);
  if (p.shape.length < 1 || p.shape.length > 3) {
    throw new TypeError(
      `Cannot compute ${metric} as label maps must have 1 to 3 axes: current shape is ${
        formatShape(p.shape)
      }`,
    );
  }
  checkLength(metric, "prediction", p.data, p.shape);
  checkLength(metric, "target", t.data, t.shape);
  const numClasses = numClassesInput === null
    ? Infinity
    : checkInteger(metric, "numClasses", numClassesInput, 1);
  checkIndices(metric, "prediction labels", p.data, numClasses);
  checkIndices(metric, "target labels", t.data, numClasses);
  return { pred: p.data, gt: t.data, shape: [...p.shape], numClasses };
}

/**
 * The classes a per-class metric reports: all of them, or without the
 * background 0 (MONAI keeps it when it is the only class).
 */
export function selectClasses(numClasses: number, includeBackground: boolean): number[] {
  const first = includeBackground || numClasses === 1 ? 0 : 1;
  return Array.from({ length: numClasses - first }, (_, i) => first + i);
}

// This module is browser compatible.
/**
 * Host tensors and shape helpers.
 *
 * Dimension glossary used in shape comments everywhere (`// [B, N, C]`):
 * B batch, N tokens, C embed dim, H heads, Dh head dim, P patch size,
 * h/w patch grid, D/H/W volume depth/height/width, K classes or labels.
 *
 * @module
 */

/** A dense row-major float32 tensor on the host. */
export interface HostTensor {
  /** The values, row-major (last axis fastest). */
  data: Float32Array;
  /** The extent of each axis. */
  shape: readonly number[];
}

/** Element types medprobe moves between host, disk and GPU. */
export type DType = "f32" | "f16";

/**
 * Number of elements of a shape (1 for a scalar `[]`).
 *
 * @example
 * ```ts
 * import { numel } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(numel([2, 3, 4]), 24);
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides of a shape, in elements.
 *
 * @example
 * ```ts
 * import { strides } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(strides([2, 3, 4]), [12, 4, 1]);
 * ```
 */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/** Formats a shape as `[2, 3]` for messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Throws a `TypeError` in the house style unless `actual` equals `expected`
 * (`-1` in `expected` matches any extent).
 *
 * @example
 * ```ts
 * import { checkShape } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * checkShape("run layerNorm", "weight", [768], [768]);
 * assert.throws(() => checkShape("run layerNorm", "weight", [384], [768]), TypeError);
 * ```
 */
export function checkShape(
  action: string,
  what: string,
  actual: readonly number[],
  expected: readonly number[],
): void {
  const ok = actual.length === expected.length &&
    expected.every((d, i) => d === -1 || d === actual[i]);
  if (!ok) {
    throw new TypeError(
      `Cannot ${action} as ${what} must have shape ${
        formatShape(expected).replaceAll("-1", "*")
      }: current shape is ${formatShape(actual)}`,
    );
  }
}

/**
 * Creates a host tensor, checking that the data length matches the shape.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const t = tensor(new Float32Array(6), [2, 3]);
 * assert.deepEqual(t.shape, [2, 3]);
 * assert.throws(() => tensor(new Float32Array(5), [2, 3]), TypeError);
 * ```
 */
export function tensor(data: Float32Array, shape: readonly number[]): HostTensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new TypeError(
        `Cannot create tensor as shape must hold non-negative integers: current shape is ${
          formatShape(shape)
        }`,
      );
    }
  }
  if (data.length !== numel(shape)) {
    throw new TypeError(
      `Cannot create tensor as data length must be ${numel(shape)} for shape ${
        formatShape(shape)
      }: current length is ${data.length}`,
    );
  }
  return { data, shape: [...shape] };
}

/** Creates a zero-filled host tensor. */
export function zeros(shape: readonly number[]): HostTensor {
  return tensor(new Float32Array(numel(shape)), shape);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Converts an IEEE half-precision bit pattern to a number (exact).
 *
 * @example
 * ```ts
 * import { f16BitsToNumber } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(f16BitsToNumber(0x3c00), 1);
 * assert.equal(f16BitsToNumber(0xc000), -2);
 * ```
 */
export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Rounds a number to the nearest half-precision bit pattern (ties to even),
 * with overflow to infinity, as IEEE 754 and numpy do.
 *
 * @example
 * ```ts
 * import { numberToF16Bits, f16BitsToNumber } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(numberToF16Bits(1), 0x3c00);
 * assert.equal(f16BitsToNumber(numberToF16Bits(0.1)), 0.0999755859375);
 * ```
 */
export function numberToF16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** Converts half-precision bit patterns to float32 values. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToNumber(bits[i]);
  return out;
}

/** Rounds float32 values to half-precision bit patterns (ties to even). */
export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]);
  return out;
}

/** Converts bfloat16 bit patterns to float32 values (exact). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/**
 * Concatenates tensors along one axis (shapes equal elsewhere): chunks of a
 * bag along 0, slabs of a `[C, D, h, w]` volume along 1.
 *
 * @example
 * ```ts
 * import { concatAxis } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const a = { data: Float32Array.of(1, 2, 3, 4), shape: [2, 1, 2] };
 * const b = { data: Float32Array.of(5, 6), shape: [2, 1, 1] };
 * assert.deepEqual(Array.from(concatAxis([a, b], 2).data), [1, 2, 5, 3, 4, 6]);
 * ```
 */
export function concatAxis(parts: readonly HostTensor[], axis: number): HostTensor {
  if (parts.length === 0) {
    throw new RangeError("Cannot concatenate as there must be at least one tensor");
  }
  const rank = parts[0].shape.length;
  if (!(Number.isInteger(axis) && axis >= 0 && axis < rank)) {
    throw new RangeError(
      `Cannot concatenate as axis must be in [0, ${rank}): current value is ${axis}`,
    );
  }
  for (const p of parts) {
    if (p.shape.length !== rank || p.shape.some((d, i) => i !== axis && d !== parts[0].shape[i])) {
      throw new TypeError(
        `Cannot concatenate along axis ${axis} as shapes must agree elsewhere: ${
          formatShape(parts[0].shape)
        } vs ${formatShape(p.shape)}`,
      );
    }
  }
  const outer = numel(parts[0].shape.slice(0, axis));
  const inner = numel(parts[0].shape.slice(axis + 1));
  const total = parts.reduce((a, p) => a + p.shape[axis], 0);
  const shape = [...parts[0].shape];
  shape[axis] = total;
  const data = new Float32Array(outer * total * inner);
  let offset = 0;
  for (const p of parts) {
    const block = p.shape[axis] * inner;
    for (let o = 0; o < outer; o++) {
      data.set(p.data.subarray(o * block, (o + 1) * block), (o * total + offset) * inner);
    }
    offset += p.shape[axis];
  }
  return { data, shape };
}

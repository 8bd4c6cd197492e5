// This module is browser compatible.
/**
 * Small statistics shared by the task runners: JSON-safe numbers, mean ±
 * sample standard deviation over folds or seeds, and the macro value of a
 * per-label metric.
 *
 * @example
 * ```ts
 * import { finiteOrNull, macroOf, meanStd } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.equal(finiteOrNull(NaN), null);
 * assert.deepEqual(meanStd([1, 3, NaN]), { mean: 2, std: Math.SQRT2, n: 2 });
 * assert.deepEqual(macroOf(Float64Array.of(0.5, NaN, 1)), { value: 0.75, validCount: 2 });
 * ```
 *
 * @module
 */

/** `v` when finite, else `null` (JSON has no NaN or Infinity). */
export function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Mean and sample standard deviation (n − 1) of the finite values; `std` is 0 for one value. */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const ok = values.filter(Number.isFinite);
  if (ok.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = ok.length > 1
    ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1))
    : 0;
  return { mean, std, n: ok.length };
}

/** Macro value of a per-label metric: the mean over labels where it is defined (NaN skipped). */
export function macroOf(values: ArrayLike<number>): { value: number; validCount: number } {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return { value: n === 0 ? NaN : sum / n, validCount: n };
}

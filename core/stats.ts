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

/**
 * Per-label decision thresholds by Youden's J (max TPR − FPR over the ROC
 * points), for the strict rule `score > threshold`: the midpoint between the
 * best point's lowest positive score and the next lower score (`-Infinity`
 * when every sample is predicted positive, `Infinity` when no point beats
 * predicting all negative), `fallback` where a label has one class only.
 * Tied scores form one ROC point.
 *
 * @example
 * ```ts
 * import { youdenThresholds } from "./stats.ts";
 * import assert from "node:assert/strict";
 * // one label: positives score 0.9 and 0.6, negatives 0.7 and 0.1
 * const { thresholds, j } = youdenThresholds([0.9, 0.7, 0.6, 0.1], [1, 0, 1, 0], 4, 1);
 * assert.equal(j[0], 0.5);
 * assert.equal(thresholds[0], 0.8); // between 0.9 and 0.7: the first point with the best J
 * ```
 *
 * @param scores Row-major `[n, k]` scores.
 * @param truth Row-major `[n, k]` 0/1 targets.
 */
export function youdenThresholds(
  scores: ArrayLike<number>,
  truth: ArrayLike<number>,
  n: number,
  k: number,
  fallback = 0.5,
): { thresholds: Float64Array; j: Float64Array } {
  const thresholds = new Float64Array(k).fill(fallback);
  const j = new Float64Array(k).fill(NaN);
  for (let c = 0; c < k; c++) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      scores[b * k + c] - scores[a * k + c]
    );
    let p = 0;
    for (let i = 0; i < n; i++) p += truth[i * k + c] ? 1 : 0;
    const neg = n - p;
    if (p === 0 || neg === 0) continue;
    let tp = 0, fp = 0, best = 0, bestAt = -1;
    for (let r = 0; r < n; r++) {
      const i = order[r];
      if (truth[i * k + c]) tp++;
      else fp++;
      const next = r + 1 < n ? scores[order[r + 1] * k + c] : -Infinity;
      if (next === scores[i * k + c]) continue; // tied scores form one point
      const value = tp / p - fp / neg;
      if (value > best) {
        best = value;
        bestAt = r;
      }
    }
    j[c] = best;
    if (bestAt < 0) {
      thresholds[c] = Infinity;
    } else {
      const lowest = scores[order[bestAt] * k + c];
      const below = bestAt + 1 < n ? scores[order[bestAt + 1] * k + c] : -Infinity;
      thresholds[c] = below === -Infinity ? -Infinity : (lowest + below) / 2;
    }
  }
  return { thresholds, j };
}

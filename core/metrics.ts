// This module is browser compatible.
/**
 * NaN-aware reduction of metric scores, with MONAI's vocabulary.
 *
 * Metric functions return one value per class (or label) for one sample,
 * and NaN where the value is undefined (an empty ground truth, a label with a
 * single class). {@linkcode reduceScores} averages or sums a `[B, C]` batch
 * of such scores while skipping the NaN entries, and says how many entries
 * counted, exactly like MONAI's `do_metric_reduction`.
 *
 * @example Mean foreground Dice over two images, one class empty in image 1
 * ```ts
 * import { reduceScores } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const dice = [[0.8, NaN], [0.6, 0.9]]; // [B, C]
 * const perClass = reduceScores(dice, "mean_batch");
 * assert.deepEqual([...perClass.value], [0.7, 0.9]);
 * assert.deepEqual([...perClass.validCount], [2, 1]);
 * ```
 *
 * @module
 */

/**
 * How a `[B, C]` batch of scores is reduced. The literal values are MONAI's
 * `MetricReduction` values:
 *
 * - `"none"`: no reduction, `[B, C]`;
 * - `"mean"`: mean over classes of each sample (NaN skipped), then mean over
 *   the samples that had at least one valid value, a scalar;
 * - `"sum"`: sum of every valid value, a scalar;
 * - `"mean_batch"` / `"sum_batch"`: over samples, one value per class `[C]`;
 * - `"mean_channel"` / `"sum_channel"`: over classes, one value per sample `[B]`.
 */
export type Reduction =
  | "none"
  | "mean"
  | "sum"
  | "mean_batch"
  | "sum_batch"
  | "mean_channel"
  | "sum_channel";

/** Every {@linkcode Reduction}, in MONAI's order. */
export const REDUCTIONS: readonly Reduction[] = [
  "none",
  "mean",
  "sum",
  "mean_batch",
  "sum_batch",
  "mean_channel",
  "sum_channel",
];

/**
 * Scores to reduce: one sample's per-class values (`[C]`, read as `[1, C]`),
 * a list of B rows of C values, or a row-major `{ data, shape: [B, C] }`
 * (a `HostTensor` fits).
 */
export type ScoreBatch =
  | ArrayLike<number>
  | readonly ArrayLike<number>[]
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/**
 * The result of {@linkcode reduceScores}: always the same three fields,
 * whatever the reduction.
 */
export interface ReducedScores {
  /**
   * The reduced values, row-major with {@linkcode ReducedScores.shape}: one
   * value for `"mean"` and `"sum"` (read `value[0]`). A mean with no valid
   * entry is 0, as in MONAI; `validCount` tells such a 0 from a real one.
   */
  value: Float64Array;
  /**
   * How many entries entered each value. For `"none"`, 1 or 0 per entry; for
   * `"mean"`, the number of samples with at least one non-NaN value (MONAI's
   * `not_nans`); otherwise the number of non-NaN entries summed or averaged.
   */
  validCount: Float64Array;
  /** Shape of `value`: `[]`, `[C]`, `[B]` or `[B, C]`. */
  shape: number[];
}

function isRowList(scores: ScoreBatch): scores is readonly ArrayLike<number>[] {
  return Array.isArray(scores) && scores.length > 0 && typeof scores[0] !== "number";
}

function toBatch(scores: ScoreBatch): { data: Float64Array; b: number; c: number } {
  if (scores === null || typeof scores !== "object") {
    throw new TypeError(
      `Cannot reduce scores as they must be an array, a list of rows or { data, shape }: current type is ${
        scores === null ? "null" : typeof scores
      }`,
    );
  }
  if ("shape" in scores && "data" in scores) {
    const shape = scores.shape;
    if (shape.length !== 1 && shape.length !== 2) {
      throw new TypeError(
        `Cannot reduce scores as they must have shape [C] or [B, C]: current shape is [${
          shape.join(", ")
        }]`,
      );
    }
    const b = shape.length === 2 ? shape[0] : 1;
    const c = shape[shape.length - 1];
    if (scores.data.length !== b * c) {
      throw new TypeError(
        `Cannot reduce scores as data must have ${b * c} values for shape [${
          shape.join(", ")
        }]: current length is ${scores.data.length}`,
      );
    }
    return { data: Float64Array.from(scores.data as ArrayLike<number>), b, c };
  }
  if (isRowList(scores)) {
    const b = scores.length;
    const c = scores[0].length;
    const data = new Float64Array(b * c);
    for (let i = 0; i < b; i++) {
      const row = scores[i];
      if (row.length !== c) {
        throw new TypeError(
          `Cannot reduce scores as every row must have ${c} values: current length of row ${i} is ${row.length}`,
        );
      }
      for (let j = 0; j < c; j++) data[i * c + j] = row[j];
    }
    return { data, b, c };
  }
  const flat = scores as ArrayLike<number>;
  return { data: Float64Array.from(flat), b: 1, c: flat.length };
}

/**
 * Reduces a `[B, C]` batch of metric scores, skipping NaN entries, with the
 * semantics of MONAI's `do_metric_reduction` (MONAI 1.5): NaN entries count
 * as missing, ±Infinity is kept, and a mean over no valid entry is 0.
 *
 * @example Macro AUC over the labels whose AUC is defined
 * ```ts
 * import { reduceScores } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const aucPerLabel = Float64Array.of(0.9, NaN, 0.7); // label 1 has one class
 * const { value, validCount, shape } = reduceScores(aucPerLabel, "mean");
 * assert.ok(Math.abs(value[0] - 0.8) < 1e-15);
 * assert.deepEqual(shape, []);
 * assert.equal(validCount[0], 1); // one sample with valid values
 * assert.equal(reduceScores(aucPerLabel, "mean_batch").validCount[1], 0);
 * ```
 *
 * @param scores One sample's per-class scores `[C]`, or a batch `[B, C]`.
 * @param reduction The reduction. @default {"mean"}
 * @returns The reduced values, the valid counts and the result shape.
 */
export function reduceScores(scores: ScoreBatch, reduction: Reduction = "mean"): ReducedScores {
  if (!REDUCTIONS.includes(reduction)) {
    throw new RangeError(
      `Cannot reduce scores as reduction must be one of ${
        REDUCTIONS.map((r) => `"${r}"`).join(", ")
      }: current value is ${JSON.stringify(reduction)}`,
    );
  }
  const { data, b, c } = toBatch(scores);
  const valid = (v: number): boolean => !Number.isNaN(v);
  if (reduction === "none") {
    const count = new Float64Array(b * c);
    for (let i = 0; i < data.length; i++) count[i] = valid(data[i]) ? 1 : 0;
    return { value: data, validCount: count, shape: [b, c] };
  }
  // Per-sample (channel) sums and counts, and per-class (batch) sums and counts.
  const rowSum = new Float64Array(b);
  const rowCount = new Float64Array(b);
  const colSum = new Float64Array(c);
  const colCount = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < c; j++) {
      const v = data[i * c + j];
      if (!valid(v)) continue;
      rowSum[i] += v;
      rowCount[i] += 1;
      colSum[j] += v;
      colCount[j] += 1;
    }
  }
  const mean = (sum: Float64Array, count: Float64Array): Float64Array =>
    sum.map((s, i) => count[i] > 0 ? s / count[i] : 0);
  switch (reduction) {
    case "mean": {
      const rowMean = mean(rowSum, rowCount);
      let total = 0;
      let samples = 0;
      for (let i = 0; i < b; i++) {
        if (rowCount[i] > 0) {
          total += rowMean[i];
          samples++;
        }
      }
      return {
        value: Float64Array.of(samples > 0 ? total / samples : 0),
        validCount: Float64Array.of(samples),
        shape: [],
      };
    }
    case "sum": {
      let total = 0;
      let count = 0;
      for (let i = 0; i < b; i++) {
        total += rowSum[i];
        count += rowCount[i];
      }
      return { value: Float64Array.of(total), validCount: Float64Array.of(count), shape: [] };
    }
    case "mean_batch":
      return { value: mean(colSum, colCount), validCount: colCount, shape: [c] };
    case "sum_batch":
      return { value: colSum, validCount: colCount, shape: [c] };
    case "mean_channel":
      return { value: mean(rowSum, rowCount), validCount: rowCount, shape: [b] };
    case "sum_channel":
      return { value: rowSum, validCount: rowCount, shape: [b] };
  }
}

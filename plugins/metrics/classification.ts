// This module is browser compatible.
/**
 * Classification metrics, identical to scikit-learn 1.2: ROC AUC (exact tie
 * handling, O(n log n)), average precision, accuracy, precision, recall,
 * specificity, F1, balanced accuracy, subset accuracy and confusion counts.
 *
 * Every function takes `scores` and `targets` and decides the task from
 * their shapes:
 *
 * - **binary / multi-label**: `scores` `[N]` or `[N, K]` and `targets` of the
 *   same shape holding 0 or 1. A score counts as positive when it is
 *   **strictly greater** than the threshold (0.5), so 0.5 is negative. The
 *   result has one value per label (`[K]`, `[1]` for binary).
 * - **multi-class**: `scores` `[N, C]` (C ≥ 2, e.g. softmax probabilities)
 *   and `targets` `[N]` holding class indices. The prediction is the argmax
 *   (the first maximum on ties); per-class values are one-vs-rest (`[C]`).
 *
 * Thresholds: one for every label (0.5 by default) or one per label
 * (`options.threshold` as an array), e.g. chosen on a validation split by
 * Youden's J with {@linkcode computeYoudenThresholds}. Every metric plugin
 * carries a `definition` (what is thresholded, how labels are averaged,
 * which scikit-learn function it equals) that result records keep;
 * {@linkcode thresholdDefinition} states the threshold rule in use. Note that
 * `accuracy` is the mean per-label accuracy (1 − Hamming loss) and
 * `subset-accuracy` the exact-match ratio (scikit-learn's multi-label
 * `accuracy_score`).
 *
 * Conventions (scikit-learn's, with `zero_division=0`): precision, recall,
 * specificity and F1 with a zero denominator are 0. The ROC AUC of a label
 * or class whose targets hold a single class is undefined: NaN here, skipped
 * by `reduceScores(auc, "mean")`, which gives the macro AUC over the defined
 * labels and their count. Scores may be ±Infinity (logits) but never NaN.
 *
 * @example Macro AUC of a multi-label problem
 * ```ts
 * import { computeRocAuc } from "./classification.ts";
 * import { reduceScores } from "../../core/metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const scores = [[0.9, 0.2], [0.4, 0.3], [0.6, 0.8], [0.1, 0.1]]; // [N, K]
 * const targets = [[1, 0], [0, 0], [1, 1], [0, 0]];
 * const auc = computeRocAuc(scores, targets);
 * assert.deepEqual([...auc], [1, 1]);
 * assert.equal(reduceScores(auc, "mean").value[0], 1);
 * ```
 *
 * @module
 */

import { youdenThresholds } from "../../core/stats.ts";
import type { MetricPlugin, TaskType } from "../../core/plugin.ts";
import { formatShape } from "../../core/tensor.ts";
import type { MatrixInput } from "./types.ts";
import {
  checkBinary,
  checkChoice,
  checkIndices,
  checkNotNaN,
  checkOptions,
  toMatrix,
} from "./_validate.ts";

/** How per-label values are combined. */
export type ClassificationAverage = "none" | "micro";

/** Options shared by every classification metric. */
export interface ClassificationOptions {
  /**
   * Decision threshold of binary and multi-label scores: a score is a
   * positive prediction when it is strictly greater. One number for every
   * label, or one per label (`[K]`, e.g. from
   * {@linkcode computeYoudenThresholds} on a validation split). Ignored for
   * multi-class (argmax). @default {0.5}
   */
  threshold?: number | ArrayLike<number>;
  /**
   * `"none"` returns one value per label or class; `"micro"` pools the
   * (sample, label) pairs of every label first and returns one value. The
   * macro average is `reduceScores(values, "mean")`. @default {"none"}
   */
  average?: ClassificationAverage;
}

/** Confusion counts per label or class (one-vs-rest for multi-class). */
export interface ConfusionCounts {
  /** True positives per label, `[K]`. */
  tp: Float64Array;
  /** False positives per label, `[K]`. */
  fp: Float64Array;
  /** False negatives per label, `[K]`. */
  fn: Float64Array;
  /** True negatives per label, `[K]`. */
  tn: Float64Array;
}

/** The problem as K binary columns: scores, truth and predictions, `[N, K]`. */
interface Columns {
  n: number;
  k: number;
  scores: ArrayLike<number>;
  truth: Uint8Array;
  pred: Uint8Array;
  multiclass: boolean;
  classes: Int32Array | undefined;
  predClasses: Int32Array | undefined;
}

const THRESHOLD = 0.5;

function checkThreshold(metric: string, threshold: unknown): number | Float64Array {
  if (threshold === undefined) return THRESHOLD;
  if (
    typeof threshold === "object" && threshold !== null &&
    typeof (threshold as ArrayLike<number>).length === "number"
  ) {
    const values = Float64Array.from(threshold as ArrayLike<number>);
    const bad = Array.from(values).findIndex((v) => Number.isNaN(v));
    if (bad >= 0) {
      throw new TypeError(
        `Cannot compute ${metric} as every per-label threshold must be a number: current value at ${bad} is NaN`,
      );
    }
    return values;
  }
  if (typeof threshold !== "number" || Number.isNaN(threshold)) {
    throw new TypeError(
      `Cannot compute ${metric} as threshold must be a number or one number per label: current value is ${
        String(threshold)
      }`,
    );
  }
  return threshold;
}

function argmaxRows(scores: ArrayLike<number>, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let max = scores[i * c];
    for (let j = 1; j < c; j++) {
      const v = scores[i * c + j];
      if (v > max) {
        max = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

function prepare(
  metric: string,
  scoresInput: MatrixInput,
  targetsInput: MatrixInput,
  thresholdInput?: unknown,
): Columns {
  const threshold = checkThreshold(metric, thresholdInput);
  const s = toMatrix(metric, "prediction", scoresInput);
  const t = toMatrix(metric, "target", targetsInput);
  const multiclass = s.shape.length === 2 && s.shape[1] >= 2 && t.shape.length === 1;
  if (multiclass) {
    if (t.shape[0] !== s.shape[0]) {
      throw new TypeError(
        `Cannot compute ${metric} as multi-class target must have shape [${
          s.shape[0]
        }] for prediction of shape ${formatShape(s.shape)}: current shape is ${
          formatShape(t.shape)
        }`,
      );
    }
  } else if (
    s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])
  ) {
    throw new TypeError(
      `Cannot compute ${metric} as prediction and target must have the same shape (or shapes [N, C] and [N] for multi-class): current shapes are ${
        formatShape(s.shape)
      } and ${formatShape(t.shape)}`,
    );
  }
  checkNotNaN(metric, "prediction", s.data);
  const n = s.shape[0];
  const k = s.shape.length === 2 ? s.shape[1] : 1;
  const truth = new Uint8Array(n * k);
  const pred = new Uint8Array(n * k);
  if (multiclass) {
    checkIndices(metric, "multi-class target", t.data, k);
    const classes = Int32Array.from(t.data);
    const predClasses = argmaxRows(s.data, n, k);
    for (let i = 0; i < n; i++) {
      truth[i * k + classes[i]] = 1;
      pred[i * k + predClasses[i]] = 1;
    }
    return { n, k, scores: s.data, truth, pred, multiclass, classes, predClasses };
  }
  checkBinary(metric, "target", t.data);
  if (typeof threshold !== "number" && threshold.length !== k) {
    throw new TypeError(
      `Cannot compute ${metric} as per-label thresholds must be ${k} (one per label): current count is ${threshold.length}`,
    );
  }
  for (let i = 0; i < n * k; i++) {
    truth[i] = t.data[i];
    pred[i] = s.data[i] > (typeof threshold === "number" ? threshold : threshold[i % k]) ? 1 : 0;
  }
  return {
    n,
    k,
    scores: s.data,
    truth,
    pred,
    multiclass,
    classes: undefined,
    predClasses: undefined,
  };
}

function parseAverage(metric: string, average: unknown): ClassificationAverage {
  return checkChoice(metric, "average", average, ["none", "micro"] as const, "none");
}

/** Splits one strided column into sorted positive and negative scores. */
function splitColumn(
  cols: Columns,
  columns: readonly number[],
): { pos: Float64Array; neg: Float64Array } {
  let np = 0;
  for (const j of columns) for (let i = 0; i < cols.n; i++) np += cols.truth[i * cols.k + j];
  const total = cols.n * columns.length;
  const pos = new Float64Array(np);
  const neg = new Float64Array(total - np);
  let p = 0;
  let q = 0;
  for (const j of columns) {
    for (let i = 0; i < cols.n; i++) {
      const idx = i * cols.k + j;
      if (cols.truth[idx] === 1) pos[p++] = cols.scores[idx];
      else neg[q++] = cols.scores[idx];
    }
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

/**
 * Exact ROC AUC from sorted positive and negative scores:
 * `(Σ_pos Σ_neg [s_p > s_n] + ½[s_p = s_n]) / (n_pos·n_neg)`, NaN when
 * either class is absent. The credit is a sum of integers and halves, exact
 * in float64 below 2^52.
 */
function aucSorted(pos: Float64Array, neg: Float64Array): number {
  if (pos.length === 0 || neg.length === 0) return NaN;
  let below = 0; // negatives strictly below the current positive score
  let atOrBelow = 0; // negatives at or below it
  let credit = 0;
  for (let i = 0; i < pos.length; i++) {
    const s = pos[i];
    while (below < neg.length && neg[below] < s) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < neg.length && neg[atOrBelow] <= s) atOrBelow++;
    credit += below + 0.5 * (atOrBelow - below);
  }
  return credit / (pos.length * neg.length);
}

/**
 * scikit-learn's average precision (`average_precision_score`): the sum over
 * distinct thresholds, highest first, of `(R_t − R_{t−1})·P_t`. With no
 * positive, scikit-learn 1.2 sets recall to 1 and returns 0; so does this.
 */
function averagePrecisionSorted(pos: Float64Array, neg: Float64Array): number {
  const np = pos.length;
  if (np === 0) return 0;
  let i = np - 1; // walk both ascending arrays from the top
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  while (i >= 0 || j >= 0) {
    const s = i >= 0 && (j < 0 || pos[i] >= neg[j]) ? pos[i] : neg[j];
    while (i >= 0 && pos[i] === s) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === s) {
      fp++;
      j--;
    }
    const recall = tp / np;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

function allColumns(k: number): number[] {
  return Array.from({ length: k }, (_, j) => j);
}

function perColumn(
  cols: Columns,
  average: ClassificationAverage,
  f: (columns: readonly number[]) => number,
): Float64Array {
  if (average === "micro") return Float64Array.of(f(allColumns(cols.k)));
  const out = new Float64Array(cols.k);
  for (let j = 0; j < cols.k; j++) out[j] = f([j]);
  return out;
}

function countColumns(cols: Columns, columns: readonly number[]): [number, number, number, number] {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (const j of columns) {
    for (let i = 0; i < cols.n; i++) {
      const idx = i * cols.k + j;
      const t = cols.truth[idx];
      const p = cols.pred[idx];
      if (t === 1) {
        if (p === 1) tp++;
        else fn++;
      } else if (p === 1) fp++;
      else tn++;
    }
  }
  return [tp, fp, fn, tn];
}

function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function f1Of(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/**
 * ROC AUC per label (binary, multi-label) or one-vs-rest per class
 * (multi-class), in O(n log n) with exact ties: a tied (positive, negative)
 * pair counts one half, ties meaning exact float equality. NaN where the
 * targets of a label hold a single class (scikit-learn raises there).
 *
 * @example Ties across classes get half credit
 * ```ts
 * import { computeRocAuc } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * // 5 ordered (positive, negative) pairs, 2 tied ones, 2 inverted: 6 / 9
 * const auc = computeRocAuc([0.2, 0.5, 0.5, 0.5, 0.8, 0.9], [0, 1, 0, 1, 0, 1]);
 * assert.equal(auc[0], 6 / 9);
 * assert.ok(Number.isNaN(computeRocAuc([0.1, 0.7], [1, 1])[0]));
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `average: "micro"` pools every (sample, label) pair.
 * @returns One AUC per label or class (`[1]` with `"micro"`).
 */
export function computeRocAuc(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("auc", scores, targets, options.threshold);
  const average = parseAverage("auc", options.average);
  return perColumn(cols, average, (columns) => {
    const { pos, neg } = splitColumn(cols, columns);
    return aucSorted(pos, neg);
  });
}

/**
 * Average precision per label or one-vs-rest class, as scikit-learn's
 * `average_precision_score` (step-wise area under the precision-recall
 * curve, tied scores forming one threshold). A label with no positive gets
 * 0, as in scikit-learn 1.2.
 *
 * @example The scikit-learn documentation example
 * ```ts
 * import { computeAveragePrecision } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * const ap = computeAveragePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * assert.ok(Math.abs(ap[0] - 0.8333333333333333) < 1e-15);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `average: "micro"` pools every (sample, label) pair.
 * @returns One average precision per label or class.
 */
export function computeAveragePrecision(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("average-precision", scores, targets, options.threshold);
  const average = parseAverage("average-precision", options.average);
  return perColumn(cols, average, (columns) => {
    const { pos, neg } = splitColumn(cols, columns);
    return averagePrecisionSorted(pos, neg);
  });
}

/**
 * Thresholded predictions: 1 where the score is strictly greater than the
 * threshold, row-major like the scores.
 *
 * @example A score of exactly 0.5 is negative
 * ```ts
 * import { predictLabels } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...predictLabels([0.2, 0.5, 0.5000000000000001])], [0, 0, 1]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores (NaN rejected).
 * @param threshold The decision threshold. @default {0.5}
 * @returns `[N]` or `[N, K]` 0/1 predictions, flat and row-major.
 */
export function predictLabels(
  scores: MatrixInput,
  threshold: number | ArrayLike<number> = THRESHOLD,
): Uint8Array {
  const s = toMatrix("predictLabels", "prediction", scores);
  checkNotNaN("predictLabels", "prediction", s.data);
  const t = checkThreshold("predictLabels", threshold);
  const k = s.shape.length === 2 ? s.shape[1] : 1;
  if (typeof t !== "number" && t.length !== k) {
    throw new TypeError(
      `Cannot compute predictLabels as per-label thresholds must be ${k} (one per label): current count is ${t.length}`,
    );
  }
  const out = new Uint8Array(s.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = s.data[i] > (typeof t === "number" ? t : t[i % k]) ? 1 : 0;
  }
  return out;
}

/** Per-label thresholds chosen by Youden's J, from {@linkcode computeYoudenThresholds}. */
export interface YoudenThresholds {
  /**
   * Per-label thresholds `[K]` for the strict rule `score > threshold`: the
   * midpoint between the ROC point's lowest positive score and the next
   * lower score (`-Infinity` when every sample is positive, `Infinity` when
   * no point beats predicting all negative), 0.5 where J is undefined.
   */
  thresholds: Float64Array;
  /** The best J = TPR − FPR per label (NaN where a label has one class only). */
  j: Float64Array;
}

/**
 * Youden's J thresholds: for each label, the ROC operating point (all
 * distinct scores as thresholds, `score ≥ s` positive, as scikit-learn's
 * `roc_curve`) with the largest `TPR − FPR`, ties to the highest
 * threshold, turned into a threshold for `score > t`. Meant for a
 * validation split; the thresholds then go to the test metrics as
 * `options.threshold`. Binary and multi-label only.
 *
 * @example
 * ```ts
 * import { computeYoudenThresholds } from "./classification.ts";
 * import assert from "node:assert/strict";
 * // positives score 0.3 and 0.4, negatives 0.1 and 0.2: J = 1 at score >= 0.3
 * const { thresholds, j } = computeYoudenThresholds([0.1, 0.3, 0.2, 0.4], [0, 1, 0, 1]);
 * assert.deepEqual([...j], [1]);
 * assert.ok(Math.abs(thresholds[0] - 0.25) < 1e-12);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores.
 * @param targets 0/1 targets of the same shape.
 */
export function computeYoudenThresholds(
  scores: MatrixInput,
  targets: MatrixInput,
): YoudenThresholds {
  const cols = prepare("youden-thresholds", scores, targets);
  if (cols.multiclass) {
    throw new TypeError(
      "Cannot compute youden-thresholds as the problem must be binary or multi-label: current targets are class indices",
    );
  }
  return youdenThresholds(cols.scores, cols.truth, cols.n, cols.k, THRESHOLD);
}

/** How a threshold metric's decision threshold was set, for {@linkcode thresholdDefinition}. */
export type ThresholdRule =
  | { readonly rule: "fixed"; readonly value?: number }
  | { readonly rule: "youden"; readonly split: string };

/**
 * One sentence stating how thresholded predictions were made, for result
 * records (`metricsDefinition`).
 *
 * @example
 * ```ts
 * import { thresholdDefinition } from "./classification.ts";
 * import assert from "node:assert/strict";
 * assert.match(thresholdDefinition({ rule: "youden", split: "val" }), /Youden's J .* on the "val" split/);
 * ```
 */
export function thresholdDefinition(rule: ThresholdRule = { rule: "fixed" }): string {
  return rule.rule === "youden"
    ? `a label is predicted positive when its score is greater than that label's threshold, chosen by Youden's J (max TPR − FPR over the ROC points) on the "${rule.split}" split`
    : `a label is predicted positive when its score is greater than ${
      rule.value ?? THRESHOLD
    } (sigmoid probability; the same threshold for every label)`;
}

/**
 * Multi-class predictions: the argmax of each row, the first (lowest) class
 * index on ties, like `numpy.argmax`.
 *
 * @example Tied maxima go to the first class
 * ```ts
 * import { predictClasses } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...predictClasses([[0.4, 0.4, 0.2], [0.1, 0.3, 0.6]])], [0, 2]);
 * ```
 *
 * @param probabilities `[N, C]` scores.
 * @returns `[N]` class indices.
 */
export function predictClasses(probabilities: MatrixInput): Int32Array {
  const s = toMatrix("predictClasses", "prediction", probabilities);
  checkNotNaN("predictClasses", "prediction", s.data);
  const c = s.shape.length === 2 ? s.shape[1] : 1;
  return argmaxRows(s.data, s.shape[0], c);
}

/**
 * Confusion counts per label, or one-vs-rest per class for multi-class
 * (the argmax is the prediction).
 *
 * @example Binary counts at threshold 0.5
 * ```ts
 * import { computeConfusionCounts } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * const c = computeConfusionCounts([0.9, 0.2, 0.7, 0.5], [1, 1, 0, 0]);
 * assert.deepEqual([c.tp[0], c.fp[0], c.fn[0], c.tn[0]], [1, 1, 1, 1]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`, and `average: "micro"` to pool the labels.
 * @returns `tp`, `fp`, `fn`, `tn`, each `[K]` (`[1]` with `"micro"`).
 */
export function computeConfusionCounts(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): ConfusionCounts {
  const cols = prepare("confusion counts", scores, targets, options.threshold);
  const average = parseAverage("confusion counts", options.average);
  const groups = average === "micro" ? [allColumns(cols.k)] : allColumns(cols.k).map((j) => [j]);
  const out: ConfusionCounts = {
    tp: new Float64Array(groups.length),
    fp: new Float64Array(groups.length),
    fn: new Float64Array(groups.length),
    tn: new Float64Array(groups.length),
  };
  groups.forEach((g, i) => {
    [out.tp[i], out.fp[i], out.fn[i], out.tn[i]] = countColumns(cols, g);
  });
  return out;
}

/**
 * Precision `tp / (tp + fp)` per label or class (0 when nothing is
 * predicted positive, scikit-learn's `zero_division=0`).
 *
 * @example
 * ```ts
 * import { computePrecision } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...computePrecision([0.9, 0.8, 0.1], [1, 0, 1])], [0.5]);
 * assert.deepEqual([...computePrecision([0.1, 0.2], [1, 0])], [0]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`, and `average: "micro"` to pool the labels.
 * @returns One precision per label or class.
 */
export function computePrecision(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("precision", scores, targets, options.threshold);
  return perColumn(cols, parseAverage("precision", options.average), (g) => {
    const [tp, fp] = countColumns(cols, g);
    return ratio(tp, tp + fp);
  });
}

/**
 * Recall (sensitivity) `tp / (tp + fn)` per label or class (0 when the
 * label has no positive).
 *
 * @example
 * ```ts
 * import { computeRecall } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...computeRecall([0.9, 0.8, 0.1], [1, 0, 1])], [0.5]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`, and `average: "micro"` to pool the labels.
 * @returns One recall per label or class.
 */
export function computeRecall(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("recall", scores, targets, options.threshold);
  return perColumn(cols, parseAverage("recall", options.average), (g) => {
    const [tp, , fn] = countColumns(cols, g);
    return ratio(tp, tp + fn);
  });
}

/**
 * Specificity `tn / (tn + fp)` per label or class (0 when the label has no
 * negative), i.e. scikit-learn's recall of the negative class.
 *
 * @example
 * ```ts
 * import { computeSpecificity } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...computeSpecificity([0.9, 0.8, 0.1, 0.3], [1, 0, 0, 0])], [2 / 3]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`, and `average: "micro"` to pool the labels.
 * @returns One specificity per label or class.
 */
export function computeSpecificity(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("specificity", scores, targets, options.threshold);
  return perColumn(cols, parseAverage("specificity", options.average), (g) => {
    const [, fp, , tn] = countColumns(cols, g);
    return ratio(tn, tn + fp);
  });
}

/**
 * F1 score `2PR / (P + R)` per label or class, from the zero-division-safe
 * precision and recall (0 when both are 0). With `"micro"`, P and R are
 * computed from the pooled counts.
 *
 * @example
 * ```ts
 * import { computeF1 } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * // P = 1/2, R = 1/2
 * assert.deepEqual([...computeF1([0.9, 0.8, 0.1], [1, 0, 1])], [0.5]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`, and `average: "micro"` to pool the labels.
 * @returns One F1 per label or class.
 */
export function computeF1(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("f1", scores, targets, options.threshold);
  return perColumn(cols, parseAverage("f1", options.average), (g) => {
    const [tp, fp, fn] = countColumns(cols, g);
    return f1Of(ratio(tp, tp + fp), ratio(tp, tp + fn));
  });
}

/**
 * Accuracy. Binary and multi-label: the accuracy of each label (`[K]`; its
 * mean is the mean label accuracy, 1 − Hamming loss). Multi-class: the
 * fraction of argmax predictions equal to the target (`[1]`).
 *
 * @example
 * ```ts
 * import { computeAccuracy } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...computeAccuracy([[0.9, 0.1], [0.2, 0.7]], [[1, 1], [0, 1]])], [1, 0.5]);
 * assert.deepEqual([...computeAccuracy([[0.9, 0.1], [0.2, 0.7]], [0, 0])], [0.5]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`; `average: "micro"` pools the labels (equal to
 *   the mean label accuracy).
 * @returns One accuracy per label, or one value for multi-class.
 */
export function computeAccuracy(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("accuracy", scores, targets, options.threshold);
  const average = parseAverage("accuracy", options.average);
  if (cols.multiclass) return Float64Array.of(multiclassAccuracy(cols));
  return perColumn(cols, average, (g) => {
    const [tp, fp, fn, tn] = countColumns(cols, g);
    return (tp + tn) / (tp + fp + fn + tn);
  });
}

function multiclassAccuracy(cols: Columns): number {
  let correct = 0;
  for (let i = 0; i < cols.n; i++) if (cols.classes![i] === cols.predClasses![i]) correct++;
  return correct / cols.n;
}

/**
 * Subset accuracy: the fraction of samples whose whole predicted label
 * vector equals the target (scikit-learn's multi-label `accuracy_score`).
 * For binary and multi-class it is the accuracy.
 *
 * @example
 * ```ts
 * import { computeSubsetAccuracy } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...computeSubsetAccuracy([[0.9, 0.1], [0.2, 0.7]], [[1, 1], [0, 1]])], [0.5]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`.
 * @returns One value, `[1]`.
 */
export function computeSubsetAccuracy(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("subset-accuracy", scores, targets, options.threshold);
  if (cols.multiclass) return Float64Array.of(multiclassAccuracy(cols));
  let exact = 0;
  for (let i = 0; i < cols.n; i++) {
    let same = true;
    for (let j = 0; j < cols.k && same; j++) {
      same = cols.truth[i * cols.k + j] === cols.pred[i * cols.k + j];
    }
    if (same) exact++;
  }
  return Float64Array.of(exact / cols.n);
}

/**
 * Balanced accuracy, scikit-learn's `balanced_accuracy_score`: the mean of
 * the recalls of the classes present in the target. Binary and multi-label:
 * per label, `(TPR + TNR) / 2`, or the recall of the only class present.
 * Multi-class: one value, the mean recall over the classes present.
 *
 * @example
 * ```ts
 * import { computeBalancedAccuracy } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * // TPR = 1/2, TNR = 1
 * assert.deepEqual([...computeBalancedAccuracy([0.9, 0.1, 0.2], [1, 1, 0])], [0.75]);
 * // only negatives: the specificity
 * assert.deepEqual([...computeBalancedAccuracy([0.9, 0.1], [0, 0])], [0.5]);
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options `threshold`.
 * @returns One value per label, or one value for multi-class.
 */
export function computeBalancedAccuracy(
  scores: MatrixInput,
  targets: MatrixInput,
  options: ClassificationOptions = {},
): Float64Array {
  const cols = prepare("balanced-accuracy", scores, targets, options.threshold);
  if (cols.multiclass) {
    let sum = 0;
    let present = 0;
    for (let j = 0; j < cols.k; j++) {
      const [tp, , fn] = countColumns(cols, [j]);
      if (tp + fn > 0) {
        sum += tp / (tp + fn);
        present++;
      }
    }
    return Float64Array.of(sum / present);
  }
  return perColumn(cols, "none", (g) => {
    const [tp, fp, fn, tn] = countColumns(cols, g);
    let sum = 0;
    let present = 0;
    if (tp + fn > 0) {
      sum += tp / (tp + fn);
      present++;
    }
    if (tn + fp > 0) {
      sum += tn / (tn + fp);
      present++;
    }
    return sum / present;
  });
}

/** How {@linkcode computeRocAucSklearn} averages, as scikit-learn's `average`. */
export type SklearnAucAverage = "macro" | "weighted" | "micro";

/** Options of {@linkcode computeRocAucSklearn}. */
export interface SklearnAucOptions {
  /** scikit-learn's `average`. @default {"macro"} */
  average?: SklearnAucAverage;
  /**
   * scikit-learn's `multi_class` for multi-class targets: one-vs-rest or
   * one-vs-one (Hand & Till). @default {"ovr"}
   */
  multiClass?: "ovr" | "ovo";
}

function sumsToOne(data: ArrayLike<number>, n: number, c: number): boolean {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += data[i * c + j];
    if (!(Math.abs(1 - s) <= 1e-8 + 1e-5 * Math.abs(s))) return false;
  }
  return true;
}

function aucOfRows(
  cols: Columns,
  rows: readonly number[],
  column: number,
  positive: (i: number) => boolean,
): number {
  const posList: number[] = [];
  const negList: number[] = [];
  for (const i of rows) {
    (positive(i) ? posList : negList).push(cols.scores[i * cols.k + column]);
  }
  const pos = Float64Array.from(posList).sort();
  const neg = Float64Array.from(negList).sort();
  return aucSorted(pos, neg);
}

/**
 * The single number scikit-learn 1.2's `roc_auc_score` returns, or
 * `undefined` where it raises. Use it to compare with published numbers;
 * medprobe's own macro AUC is `reduceScores(computeRocAuc(...), "mean")`,
 * which skips single-class labels instead of failing.
 *
 * - Binary: the AUC; undefined with a single class.
 * - Multi-label: `"macro"` / `"weighted"` (by positives) over the labels,
 *   undefined if any label has a single class; `"micro"` pools all pairs.
 * - Multi-class (C > 2): undefined unless every class occurs in the targets
 *   and every row sums to 1 (`numpy.allclose`), and for `"micro"`;
 *   `"ovr"` averages one-vs-rest AUCs (weighted by prevalence for
 *   `"weighted"`), `"ovo"` averages Hand & Till's pairwise
 *   `(AUC(a|b) + AUC(b|a)) / 2` (weighted by the pair's share of samples).
 * - Multi-class with C = 2: scikit-learn only accepts the binary form, so
 *   the `"ovr"`/`"macro"` value is the binary AUC of column 1 and the other
 *   combinations are undefined.
 *
 * @example Refuses what scikit-learn refuses
 * ```ts
 * import { computeRocAucSklearn } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * const probs = [[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]];
 * assert.equal(computeRocAucSklearn(probs, [0, 1, 2, 0]), 1);
 * assert.equal(computeRocAucSklearn(probs, [0, 1, 1, 0]), undefined); // class 2 absent
 * ```
 *
 * @param scores `[N]` or `[N, K]` scores, or `[N, C]` class probabilities.
 * @param targets 0/1 targets of the same shape, or `[N]` class indices.
 * @param options scikit-learn's `average` and `multi_class`.
 * @returns The value, or `undefined` where scikit-learn raises.
 */
export function computeRocAucSklearn(
  scores: MatrixInput,
  targets: MatrixInput,
  options: SklearnAucOptions = {},
): number | undefined {
  const metric = "auc";
  const cols = prepare(metric, scores, targets);
  const average = checkChoice(
    metric,
    "average",
    options.average,
    ["macro", "weighted", "micro"] as const,
    "macro",
  );
  const multiClass = checkChoice(
    metric,
    "multiClass",
    options.multiClass,
    ["ovr", "ovo"] as const,
    "ovr",
  );
  const defined = (v: number): number | undefined => Number.isNaN(v) ? undefined : v;
  if (!cols.multiclass) {
    if (cols.k === 1 || average === "micro") {
      const { pos, neg } = splitColumn(cols, allColumns(cols.k));
      return defined(aucSorted(pos, neg));
    }
    const aucs = computeRocAuc(scores, targets);
    if (aucs.some(Number.isNaN)) return undefined;
    let num = 0;
    let den = 0;
    for (let j = 0; j < cols.k; j++) {
      let w = 1;
      if (average === "weighted") {
        w = 0;
        for (let i = 0; i < cols.n; i++) w += cols.truth[i * cols.k + j];
      }
      num += w * aucs[j];
      den += w;
    }
    return num / den;
  }
  const c = cols.k;
  const classes = cols.classes!;
  if (c === 2) {
    if (multiClass !== "ovr" || average !== "macro") return undefined;
    const rows = allColumns(cols.n);
    return defined(aucOfRows(cols, rows, 1, (i) => classes[i] === 1));
  }
  if (average === "micro") return undefined;
  const prevalence = new Float64Array(c);
  for (let i = 0; i < cols.n; i++) prevalence[classes[i]]++;
  if (prevalence.some((p) => p === 0) || !sumsToOne(cols.scores, cols.n, c)) return undefined;
  let num = 0;
  let den = 0;
  if (multiClass === "ovr") {
    const rows = allColumns(cols.n);
    for (let j = 0; j < c; j++) {
      const w = average === "weighted" ? prevalence[j] : 1;
      num += w * aucOfRows(cols, rows, j, (i) => classes[i] === j);
      den += w;
    }
    return num / den;
  }
  for (let a = 0; a < c; a++) {
    for (let b = a + 1; b < c; b++) {
      const rows: number[] = [];
      for (let i = 0; i < cols.n; i++) if (classes[i] === a || classes[i] === b) rows.push(i);
      const ab = aucOfRows(cols, rows, a, (i) => classes[i] === a);
      const ba = aucOfRows(cols, rows, b, (i) => classes[i] === b);
      const w = average === "weighted" ? rows.length / cols.n : 1;
      num += (w * (ab + ba)) / 2;
      den += w;
    }
  }
  return num / den;
}

// ------------------------------------------------------------------ plugins --

const CLASSIFICATION_TASKS: readonly TaskType[] = ["binary", "multilabel", "multiclass"];

function parseClassificationOptions(metric: string, options: unknown): ClassificationOptions {
  const o = checkOptions(metric, options);
  return {
    threshold: checkThreshold(metric, o.threshold),
    average: parseAverage(metric, o.average),
  };
}

function createClassificationMetric(
  name: string,
  description: string,
  fn: (s: MatrixInput, t: MatrixInput, o: ClassificationOptions) => Float64Array,
  definition: string,
): MetricPlugin & { readonly definition: string } {
  return {
    kind: "metric",
    name,
    description,
    definition,
    higherIsBetter: true,
    tasks: CLASSIFICATION_TASKS,
    compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
      return fn(
        prediction as MatrixInput,
        target as MatrixInput,
        parseClassificationOptions(name, options),
      );
    },
  };
}

/**
 * `"auc"`: ROC AUC per label (one-vs-rest per class for multi-class), NaN
 * for a single-class label; `reduceScores(v, "mean")` is the macro AUC.
 * Wraps {@linkcode computeRocAuc}.
 *
 * @example
 * ```ts
 * import { aucMetric } from "./classification.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...aucMetric.compute([0.1, 0.8, 0.4], [0, 1, 1])], [1]);
 * ```
 */
export const aucMetric: MetricPlugin = createClassificationMetric(
  "auc",
  "ROC AUC per label or one-vs-rest class (exact ties, scikit-learn)",
  computeRocAuc,
  "ROC AUC per label from the scores (no threshold), scikit-learn roc_auc_score with exact ties; multi-class: one-vs-rest per class; NaN for a label with one class in the test set; the macro value is the mean over the labels where it is defined",
);

/** `"average-precision"`: wraps {@linkcode computeAveragePrecision}. */
export const averagePrecisionMetric: MetricPlugin = createClassificationMetric(
  "average-precision",
  "Average precision per label or one-vs-rest class (scikit-learn)",
  computeAveragePrecision,
  "average precision per label from the scores (no threshold), scikit-learn average_precision_score; macro value = mean over labels",
);

/** `"accuracy"`: per-label accuracy at score > 0.5, or multi-class argmax accuracy ({@linkcode computeAccuracy}). */
export const accuracyMetric: MetricPlugin = createClassificationMetric(
  "accuracy",
  "Accuracy per label at score > 0.5, or argmax accuracy for multi-class",
  computeAccuracy,
  "per-label accuracy (TP + TN) / N with a positive prediction when the label's score is greater than the threshold (0.5 unless per-label thresholds are given), then the macro mean over the labels (equal to scikit-learn's Hamming score 1 − hamming_loss, not the exact-match accuracy_score; see subset-accuracy); multi-class: argmax accuracy (accuracy_score)",
);

/** `"subset-accuracy"`: multi-label exact-match ratio ({@linkcode computeSubsetAccuracy}). */
export const subsetAccuracyMetric: MetricPlugin = createClassificationMetric(
  "subset-accuracy",
  "Fraction of samples whose whole label vector is predicted exactly",
  computeSubsetAccuracy,
  "exact-match ratio: the fraction of samples whose whole predicted label vector (score greater than the threshold, 0.5 unless per-label thresholds are given) equals the target vector, scikit-learn accuracy_score on the label matrix; binary and multi-class: accuracy",
);

/** `"precision"`: wraps {@linkcode computePrecision}. */
export const precisionMetric: MetricPlugin = createClassificationMetric(
  "precision",
  "Precision per label or class (zero division gives 0)",
  computePrecision,
  "per-label precision TP / (TP + FP) at score greater than the threshold (0.5 unless per-label thresholds are given), zero_division = 0, then the macro mean over labels (scikit-learn precision_score average='macro'); multi-class: one-vs-rest of the argmax",
);

/** `"recall"`: wraps {@linkcode computeRecall}. */
export const recallMetric: MetricPlugin = createClassificationMetric(
  "recall",
  "Recall (sensitivity) per label or class (zero division gives 0)",
  computeRecall,
  "per-label recall TP / (TP + FN) at score greater than the threshold (0.5 unless per-label thresholds are given), zero_division = 0, then the macro mean over labels (scikit-learn recall_score average='macro'); multi-class: one-vs-rest of the argmax",
);

/** `"specificity"`: wraps {@linkcode computeSpecificity}. */
export const specificityMetric: MetricPlugin = createClassificationMetric(
  "specificity",
  "Specificity per label or class (zero division gives 0)",
  computeSpecificity,
  "per-label specificity TN / (TN + FP) at score greater than the threshold (0.5 unless per-label thresholds are given), zero_division = 0, then the macro mean over labels",
);

/** `"f1"`: wraps {@linkcode computeF1}. */
export const f1Metric: MetricPlugin = createClassificationMetric(
  "f1",
  "F1 score per label or class (zero division gives 0)",
  computeF1,
  "per-label F1 = 2TP / (2TP + FP + FN) at score greater than the threshold (0.5 unless per-label thresholds are given), zero_division = 0, then the macro mean over labels (scikit-learn f1_score average='macro')",
);

/** `"balanced-accuracy"`: wraps {@linkcode computeBalancedAccuracy}. */
export const balancedAccuracyMetric: MetricPlugin = createClassificationMetric(
  "balanced-accuracy",
  "Balanced accuracy: mean recall over the classes present (scikit-learn)",
  computeBalancedAccuracy,
  "per-label balanced accuracy (TPR + TNR) / 2 at score greater than the threshold (0.5 unless per-label thresholds are given), scikit-learn balanced_accuracy_score; multi-class: mean recall over the classes present",
);

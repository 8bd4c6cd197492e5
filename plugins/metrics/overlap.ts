// This module is browser compatible.
/**
 * Overlap metrics of semantic segmentation, per class, with MONAI 1.5
 * semantics: Dice, voxel precision and voxel recall.
 *
 * Inputs are integer label maps `{ data, shape }` (1D to 3D) holding class
 * indices in [0, numClasses); for class c the masks are `P = pred == c` and
 * `G = gt == c`. One pass over the voxels counts every class at once.
 *
 * Empty masks are values, never errors:
 *
 * | case            | dice (ignoreEmpty) | dice (!ignoreEmpty) | precision | recall |
 * |-----------------|--------------------|---------------------|-----------|--------|
 * | both empty      | NaN                | 1                   | NaN       | NaN    |
 * | pred empty only | 0                  | 0                   | NaN       | 0      |
 * | gt empty only   | NaN                | 0                   | 0         | NaN    |
 *
 * (`convention: "medpy"` gives 0 instead of NaN for precision and recall.)
 *
 * @example Mean foreground Dice
 * ```ts
 * import { computeDice } from "./overlap.ts";
 * import { reduceScores } from "../../core/metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: Uint8Array.of(0, 1, 1, 2, 0, 0), shape: [2, 3] };
 * const gt = { data: Uint8Array.of(0, 1, 0, 2, 2, 0), shape: [2, 3] };
 * const dice = computeDice(pred, gt, { numClasses: 3 }); // classes 1 and 2
 * assert.deepEqual([...dice], [2 / 3, 2 / 3]);
 * assert.equal(reduceScores(dice, "mean").value[0], 2 / 3);
 * ```
 *
 * @module
 */

import type { MetricPlugin, TaskType } from "../../core/plugin.ts";
import type { LabelMap } from "./types.ts";
import {
  checkBoolean,
  checkChoice,
  checkLabelMaps,
  checkOptions,
  selectClasses,
} from "./_validate.ts";

/** Options shared by every segmentation metric (MONAI vocabulary). */
export interface SegmentationOptions {
  /** Number of classes C; labels are integers in [0, C). Required. */
  numClasses: number;
  /**
   * Whether class 0 (background) is reported. When false the result has
   * C − 1 values, for classes 1..C−1, as MONAI's `include_background=False`
   * (unlike MONAI's `DiceMetric`, the default is the same for every metric
   * here, because protocols report foreground means). @default {false}
   */
  includeBackground?: boolean;
}

/** Options of {@linkcode computeDice}. */
export interface DiceOptions extends SegmentationOptions {
  /**
   * MONAI's `ignore_empty`: when true a class whose target mask is empty
   * gets NaN (skipped by reductions); when false it gets 1 if the
   * prediction is empty too and 0 otherwise. @default {true}
   */
  ignoreEmpty?: boolean;
}

/** Which library's empty-mask convention a voxel ratio follows. */
export type VoxelRatioConvention = "monai" | "medpy";

/** Options of {@linkcode computeVoxelPrecision} and {@linkcode computeVoxelRecall}. */
export interface VoxelRatioOptions extends SegmentationOptions {
  /**
   * `"monai"`: 0/0 is NaN (MONAI `compute_confusion_matrix_metric`);
   * `"medpy"`: 0/0 is 0 (`medpy.metric.binary.precision`/`recall`).
   * @default {"monai"}
   */
  convention?: VoxelRatioConvention;
}

/** Per-class voxel counts: `|P|`, `|G|` and `|P ∩ G|`, one entry per class. */
export interface OverlapCounts {
  /** `|P|` per class, `[C]`. */
  pred: Float64Array;
  /** `|G|` per class, `[C]`. */
  gt: Float64Array;
  /** `|P ∩ G|` per class, `[C]`. */
  intersection: Float64Array;
}

/**
 * Counts `|P|`, `|G|` and `|P ∩ G|` of every class in one pass.
 *
 * @example
 * ```ts
 * import { computeOverlapCounts } from "./overlap.ts";
 * import assert from "node:assert/strict";
 *
 * const c = computeOverlapCounts(
 *   { data: [0, 1, 1], shape: [3] },
 *   { data: [1, 1, 0], shape: [3] },
 *   { numClasses: 2 },
 * );
 * assert.deepEqual([...c.intersection], [0, 1]);
 * ```
 *
 * @param prediction Predicted label map.
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` (all classes are counted).
 * @returns Counts for classes 0..C−1.
 */
export function computeOverlapCounts(
  prediction: LabelMap,
  target: LabelMap,
  options: { numClasses: number },
): OverlapCounts {
  return countLabels("overlap counts", prediction, target, options?.numClasses);
}

function countLabels(
  metric: string,
  prediction: unknown,
  target: unknown,
  numClasses: unknown,
): OverlapCounts {
  const maps = checkLabelMaps(metric, prediction, target, numClasses);
  const c = maps.numClasses;
  const pred = new Float64Array(c);
  const gt = new Float64Array(c);
  const intersection = new Float64Array(c);
  const p = maps.pred;
  const g = maps.gt;
  for (let i = 0; i < p.length; i++) {
    const a = p[i];
    const b = g[i];
    pred[a]++;
    gt[b]++;
    if (a === b) intersection[a]++;
  }
  return { pred, gt, intersection };
}

function optionsOf(metric: string, options: unknown): Record<string, unknown> {
  const o = checkOptions(metric, options);
  if (options === undefined) {
    throw new TypeError(
      `Cannot compute ${metric} as options { numClasses } are required: current value is undefined`,
    );
  }
  return o;
}

/**
 * Dice per class, `2|P∩G| / (|P| + |G|)`, MONAI's `compute_dice` (NaN for an
 * empty target with `ignoreEmpty`, see the module table).
 *
 * @example Empty target classes
 * ```ts
 * import { computeDice } from "./overlap.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: [1, 1, 0, 0], shape: [4] };
 * const gt = { data: [0, 0, 0, 0], shape: [4] };
 * assert.ok(Number.isNaN(computeDice(pred, gt, { numClasses: 2 })[0]));
 * assert.equal(computeDice(pred, gt, { numClasses: 2, ignoreEmpty: false })[0], 0);
 * ```
 *
 * @param prediction Predicted label map.
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` (required), `includeBackground`, `ignoreEmpty`.
 * @returns One Dice per reported class.
 */
export function computeDice(
  prediction: LabelMap,
  target: LabelMap,
  options: DiceOptions,
): Float64Array {
  const metric = "dice";
  const o = optionsOf(metric, options);
  const includeBackground = checkBoolean(metric, "includeBackground", o.includeBackground, false);
  const ignoreEmpty = checkBoolean(metric, "ignoreEmpty", o.ignoreEmpty, true);
  const counts = countLabels(metric, prediction, target, o.numClasses);
  const classes = selectClasses(counts.pred.length, includeBackground);
  return Float64Array.from(classes, (c) => {
    const den = counts.pred[c] + counts.gt[c];
    const dice = (2 * counts.intersection[c]) / den;
    if (ignoreEmpty) return counts.gt[c] > 0 ? dice : NaN;
    return den > 0 ? dice : 1;
  });
}

function voxelRatio(
  metric: string,
  prediction: unknown,
  target: unknown,
  options: unknown,
  denominator: "pred" | "gt",
): Float64Array {
  const o = optionsOf(metric, options);
  const includeBackground = checkBoolean(metric, "includeBackground", o.includeBackground, false);
  const convention = checkChoice(
    metric,
    "convention",
    o.convention,
    ["monai", "medpy"] as const,
    "monai",
  );
  const counts = countLabels(metric, prediction, target, o.numClasses);
  const classes = selectClasses(counts.pred.length, includeBackground);
  return Float64Array.from(classes, (c) => {
    const den = counts[denominator][c];
    if (den === 0) return convention === "medpy" ? 0 : NaN;
    return counts.intersection[c] / den;
  });
}

/**
 * Voxel precision per class, `|P∩G| / |P|` (MONAI `"precision"`; NaN on 0/0,
 * or 0 with `convention: "medpy"`).
 *
 * @example
 * ```ts
 * import { computeVoxelPrecision } from "./overlap.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: [1, 1, 1, 0], shape: [4] };
 * const gt = { data: [1, 0, 0, 0], shape: [4] };
 * assert.deepEqual([...computeVoxelPrecision(pred, gt, { numClasses: 2 })], [1 / 3]);
 * ```
 *
 * @param prediction Predicted label map.
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` (required), `includeBackground`, `convention`.
 * @returns One precision per reported class.
 */
export function computeVoxelPrecision(
  prediction: LabelMap,
  target: LabelMap,
  options: VoxelRatioOptions,
): Float64Array {
  return voxelRatio("voxel-precision", prediction, target, options, "pred");
}

/**
 * Voxel recall (sensitivity) per class, `|P∩G| / |G|` (MONAI
 * `"sensitivity"`; NaN on 0/0, or 0 with `convention: "medpy"`).
 *
 * @example
 * ```ts
 * import { computeVoxelRecall } from "./overlap.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: [1, 0, 0, 0], shape: [4] };
 * const gt = { data: [1, 1, 0, 0], shape: [4] };
 * assert.deepEqual([...computeVoxelRecall(pred, gt, { numClasses: 2 })], [0.5]);
 * ```
 *
 * @param prediction Predicted label map.
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` (required), `includeBackground`, `convention`.
 * @returns One recall per reported class.
 */
export function computeVoxelRecall(
  prediction: LabelMap,
  target: LabelMap,
  options: VoxelRatioOptions,
): Float64Array {
  return voxelRatio("voxel-recall", prediction, target, options, "gt");
}

// ------------------------------------------------------------------ plugins --

const SEGMENTATION_TASKS: readonly TaskType[] = ["segmentation"];

/**
 * `"dice"`: Dice per class ({@linkcode computeDice}); options
 * `{ numClasses, includeBackground, ignoreEmpty }`.
 *
 * @example
 * ```ts
 * import { diceMetric } from "./overlap.ts";
 * import assert from "node:assert/strict";
 *
 * const m = { data: [0, 1, 1, 0], shape: [2, 2] };
 * assert.deepEqual([...diceMetric.compute(m, m, { numClasses: 2 })], [1]);
 * ```
 */
export const diceMetric: MetricPlugin = {
  kind: "metric",
  name: "dice",
  description: "Dice per class (MONAI; NaN for an empty target)",
  higherIsBetter: true,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    return computeDice(
      prediction as LabelMap,
      target as LabelMap,
      options as unknown as DiceOptions,
    );
  },
};

/** `"voxel-precision"`: wraps {@linkcode computeVoxelPrecision}. */
export const voxelPrecisionMetric: MetricPlugin = {
  kind: "metric",
  name: "voxel-precision",
  description: "Voxel precision |P∩G|/|P| per class (MONAI; NaN on 0/0)",
  higherIsBetter: true,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    return computeVoxelPrecision(
      prediction as LabelMap,
      target as LabelMap,
      options as unknown as VoxelRatioOptions,
    );
  },
};

/** `"voxel-recall"`: wraps {@linkcode computeVoxelRecall}. */
export const voxelRecallMetric: MetricPlugin = {
  kind: "metric",
  name: "voxel-recall",
  description: "Voxel recall |P∩G|/|G| per class (MONAI; NaN on 0/0)",
  higherIsBetter: true,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    return computeVoxelRecall(
      prediction as LabelMap,
      target as LabelMap,
      options as unknown as VoxelRatioOptions,
    );
  },
};

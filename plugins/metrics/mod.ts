// This module is browser compatible.
/**
 * Built-in metrics of medprobe: pure compute functions plus `MetricPlugin`
 * objects, with the conventions of the field's reference libraries
 * (scikit-learn for classification, MONAI and medpy for segmentation, CREMI
 * for EM instances, DINO for k-NN), checked against the shared test vectors.
 *
 * - classification: ROC AUC (exact ties, O(n log n)), average precision,
 *   accuracy, subset accuracy, precision, recall, specificity, F1, balanced
 *   accuracy, per label or one-vs-rest per class;
 * - k-NN: cosine neighbours with a documented tie order, majority and
 *   DINO-weighted votes ({@linkcode classifyKnnCosine});
 * - segmentation: Dice, voxel precision and recall, HD, HD95 and ASSD with
 *   required voxel spacing through an exact linear-time distance transform;
 * - EM instances: VOI split and merge (bits), adapted Rand error (CREMI,
 *   waterz, scikit-image), CREMI score, through a sparse contingency table;
 * - {@linkcode bootstrapCi}: seeded percentile bootstrap confidence
 *   intervals, stratified by class for classification.
 *
 * Per-class values are NaN where undefined; reduce them with
 * `reduceScores` from `core/metrics.ts` (MONAI's NaN-aware reductions).
 *
 * @example Registering the metrics and computing a Dice
 * ```ts
 * import { createRegistry } from "../../core/registry.ts";
 * import { METRIC_PLUGINS } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const registry = createRegistry(METRIC_PLUGINS);
 * const dice = registry.get("metric", "dice");
 * const mask = { data: Uint8Array.of(0, 1, 1, 0), shape: [2, 2] };
 * assert.deepEqual([...dice.compute(mask, mask, { numClasses: 2 })], [1]);
 * ```
 *
 * @module
 */

import type { MetricPlugin } from "../../core/plugin.ts";
import {
  accuracyMetric,
  aucMetric,
  averagePrecisionMetric,
  balancedAccuracyMetric,
  f1Metric,
  precisionMetric,
  recallMetric,
  specificityMetric,
  subsetAccuracyMetric,
} from "./classification.ts";
import { diceMetric, voxelPrecisionMetric, voxelRecallMetric } from "./overlap.ts";
import { assdMetric, hausdorff95Metric, hausdorffMetric } from "./surface.ts";
import {
  arandMetric,
  cremiScoreMetric,
  voiMergeMetric,
  voiSplitMetric,
  voiSumMetric,
} from "./instance.ts";

export type { MetricPlugin, PluginBase, PluginKind, TaskType } from "../../core/plugin.ts";
export {
  type ReducedScores,
  reduceScores,
  type Reduction,
  REDUCTIONS,
  type ScoreBatch,
} from "../../core/metrics.ts";
export type { LabelData, LabelMap, LabelVolume, MatrixInput, ShapedArray } from "./types.ts";
export {
  accuracyMetric,
  aucMetric,
  averagePrecisionMetric,
  balancedAccuracyMetric,
  type ClassificationAverage,
  type ClassificationOptions,
  computeAccuracy,
  computeAveragePrecision,
  computeBalancedAccuracy,
  computeConfusionCounts,
  computeF1,
  computePrecision,
  computeRecall,
  computeRocAuc,
  computeRocAucSklearn,
  computeSpecificity,
  computeSubsetAccuracy,
  computeYoudenThresholds,
  type ConfusionCounts,
  f1Metric,
  precisionMetric,
  predictClasses,
  predictLabels,
  recallMetric,
  type SklearnAucAverage,
  type SklearnAucOptions,
  specificityMetric,
  subsetAccuracyMetric,
  thresholdDefinition,
  type ThresholdRule,
  type YoudenThresholds,
} from "./classification.ts";
export { classifyKnnCosine, KNN_TEMPERATURE, type KnnOptions, type KnnResult } from "./knn.ts";
export {
  computeDice,
  computeOverlapCounts,
  computeVoxelPrecision,
  computeVoxelRecall,
  diceMetric,
  type DiceOptions,
  type OverlapCounts,
  type SegmentationOptions,
  voxelPrecisionMetric,
  type VoxelRatioConvention,
  type VoxelRatioOptions,
  voxelRecallMetric,
} from "./overlap.ts";
export {
  assdMetric,
  computeAssd,
  computeHausdorff,
  computeSurfaceDistances,
  computeSurfaceMetrics,
  hausdorff95Metric,
  hausdorffMetric,
  type SurfaceConvention,
  type SurfaceDistanceOptions,
  type SurfaceDistances,
  type SurfaceMetrics,
} from "./surface.ts";
export { computeSquaredDistanceTransform } from "./edt.ts";
export {
  arandMetric,
  computeAdaptedRand,
  computeContingencyTable,
  computeInstanceScores,
  computeVoi,
  type ContingencyTable,
  cremiScoreMetric,
  type InstanceScores,
  type RandScores,
  type RandVariant,
  scoreContingencyTable,
  voiMergeMetric,
  type VoiScores,
  voiSplitMetric,
  voiSumMetric,
} from "./instance.ts";
export {
  bootstrapCi,
  type BootstrapInterval,
  type BootstrapMetric,
  type BootstrapOptions,
} from "../../core/bootstrap.ts";
export { createMulberry32 } from "../../core/random.ts";

/** Every built-in metric plugin, in listing order. */
export const METRIC_PLUGINS: readonly MetricPlugin[] = [
  aucMetric,
  averagePrecisionMetric,
  accuracyMetric,
  subsetAccuracyMetric,
  precisionMetric,
  recallMetric,
  specificityMetric,
  f1Metric,
  balancedAccuracyMetric,
  diceMetric,
  hausdorffMetric,
  hausdorff95Metric,
  assdMetric,
  voxelPrecisionMetric,
  voxelRecallMetric,
  voiSplitMetric,
  voiMergeMetric,
  voiSumMetric,
  arandMetric,
  cremiScoreMetric,
];

/** Names of the built-in metric plugins exported by this module. */
export const BUILTIN_METRICS: readonly string[] = METRIC_PLUGINS.map((p) => p.name);

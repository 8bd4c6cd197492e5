// This module is browser compatible.
/**
 * The waterz pipeline in one call: watershed fragments of the affinities,
 * then hierarchical agglomeration, one segmentation per threshold, and
 * the threshold sweep scored against ground truth (VOI split / merge /
 * sum and CREMI's adapted Rand error, lower is better) with the best
 * threshold picked by VOI sum.
 *
 * @module
 */

import { agglomerate, applyMap, type MergeFunction } from "./agglomerate.ts";
import { type Fragments, watershed, type WatershedOptions } from "./watershed.ts";
import { computeContingencyTable, scoreContingencyTable } from "../metrics/instance.ts";

/** Options of {@linkcode segmentAffinities}. */
export interface SegmentOptions extends WatershedOptions {
  /** Score thresholds of the sweep. @default {[0.5]} */
  thresholds?: readonly number[];
  /** Merge function (`"mean"`, `"quantile-75"`...). @default {"mean"} */
  mergeFunction?: MergeFunction | string;
}

/** One segmentation of the sweep. */
export interface Segmentation {
  /** The threshold. */
  readonly threshold: number;
  /** Segment ids `[z, y, x]` (0 = background). */
  readonly data: Uint32Array;
  /** Number of segments. */
  readonly segments: number;
}

/**
 * Watershed + agglomeration of an affinity volume: yields one segmentation
 * per threshold, ascending.
 *
 * @example Affinities from labels give the labels back
 * ```ts
 * import { affinitiesFromLabels } from "./affinities.ts";
 * import { segmentAffinities } from "./segment.ts";
 * import assert from "node:assert/strict";
 *
 * const labels = Uint32Array.of(1, 1, 2, 2, 1, 1, 2, 2);
 * const [seg] = segmentAffinities(affinitiesFromLabels(labels, [1, 2, 4]), [1, 2, 4], { thresholds: [0.5] });
 * assert.equal(seg.segments, 2);
 * ```
 *
 * @param affs Affinities `[3, z, y, x]`.
 * @param shape `[z, y, x]`.
 * @param options Thresholds, merge function and watershed thresholds.
 * @returns A generator of segmentations.
 */
export function* segmentAffinities(
  affs: Float32Array,
  shape: readonly number[],
  options: SegmentOptions = {},
): Generator<Segmentation> {
  const fragments: Fragments = watershed(affs, shape, options);
  for (
    const level of agglomerate(affs, fragments, options.thresholds ?? [0.5], {
      mergeFunction: options.mergeFunction,
    })
  ) {
    yield {
      threshold: level.threshold,
      data: applyMap(fragments.data, level.map),
      segments: level.segments,
    };
  }
}

/** VOI and ARAND of one threshold (CREMI conventions, gt background ignored). */
export interface SweepScore {
  /** The threshold. */
  threshold: number;
  /** `H(seg | gt)` in bits. */
  voiSplit: number;
  /** `H(gt | seg)` in bits. */
  voiMerge: number;
  /** `voiSplit + voiMerge`. */
  voiSum: number;
  /** CREMI adapted Rand error. */
  arand: number;
  /** Segments at this threshold. */
  segments: number;
}

/**
 * Scores a segmentation against dense ground truth (0 = background,
 * ignored), as CREMI does.
 *
 * @param seg Segment ids.
 * @param gt Dense gt ids (0 ignored).
 * @param shape `[z, y, x]`.
 * @returns VOI split / merge / sum and ARAND.
 */
export function scoreSegmentation(
  seg: Uint32Array | BigUint64Array,
  gt: Uint32Array | BigUint64Array,
  shape: readonly number[],
): Omit<SweepScore, "threshold" | "segments"> {
  const s = scoreContingencyTable(
    computeContingencyTable({ data: seg, shape }, { data: gt, shape }),
  );
  return { voiSplit: s.voiSplit, voiMerge: s.voiMerge, voiSum: s.voiSum, arand: s.arand };
}

/**
 * Runs the sweep and scores every threshold against ground truth.
 *
 * @param affs Affinities `[3, z, y, x]`.
 * @param gt Dense gt ids (0 ignored), `[z, y, x]`.
 * @param shape `[z, y, x]`.
 * @param options Sweep options.
 * @returns One score per threshold, ascending, and the index of the lowest VOI sum.
 */
export function sweepScores(
  affs: Float32Array,
  gt: Uint32Array | BigUint64Array,
  shape: readonly number[],
  options: SegmentOptions = {},
): { scores: SweepScore[]; best: number } {
  const scores: SweepScore[] = [];
  for (const seg of segmentAffinities(affs, shape, options)) {
    scores.push({
      threshold: seg.threshold,
      segments: seg.segments,
      ...scoreSegmentation(seg.data, gt, shape),
    });
  }
  let best = 0;
  for (let i = 1; i < scores.length; i++) {
    if (scores[i].voiSum < scores[best].voiSum) best = i;
  }
  return { scores, best };
}

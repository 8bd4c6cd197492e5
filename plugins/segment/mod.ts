/**
 * EM neuron segmentation from affinities, in TypeScript with no native
 * build: nearest-neighbour affinities from labels (the CREMI / waterz /
 * gunpowder convention) with class-balanced weights, the watershed of the
 * affinity graph (Zlateski & Seung, as waterz runs it), waterz's
 * hierarchical agglomeration on the region adjacency graph (mean and
 * histogram-quantile merge functions, one segmentation per threshold),
 * scoring of a threshold sweep with VOI / ARAND, exact uint64 ids, and
 * CREMI-style HDF5 writing.
 *
 * @example Labels → affinities → segments
 * ```ts
 * import { affinitiesFromLabels, segmentAffinities } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const labels = Uint32Array.of(1, 1, 1, 2, 2, 2);
 * const affs = affinitiesFromLabels(labels, [1, 1, 6]);
 * const [seg] = segmentAffinities(affs, [1, 1, 6], { thresholds: [0.5], mergeFunction: "quantile-75" });
 * assert.equal(seg.segments, 2);
 * ```
 *
 * @module
 */

export { cremiBorderMask } from "./border_mask.ts";
export { affinitiesFromLabels, balancedWeights, type BalanceOptions } from "./affinities.ts";
export {
  agglomerate,
  type AgglomerateOptions,
  type AgglomerationLevel,
  applyMap,
  type MergeFunction,
  mergeFunctionName,
  parseMergeFunction,
} from "./agglomerate.ts";
export {
  checkShape3,
  connectedComponents,
  type DenseLabels,
  type IntegerLabelData,
  type LabelVolume3D,
  NO_LABEL_ID,
  toDenseLabels,
  toUint64Labels,
} from "./labels.ts";
export { type AffinityVolume, type Hdf5DatasetWrite, readAffinities, writeHdf5 } from "./io.ts";
export {
  scoreSegmentation,
  segmentAffinities,
  type Segmentation,
  type SegmentOptions,
  type SweepScore,
  sweepScores,
} from "./segment.ts";
export { checkAffinities, type Fragments, watershed, type WatershedOptions } from "./watershed.ts";

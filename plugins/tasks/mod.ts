/**
 * The built-in task plugins: `classification` (one feature vector per
 * sample → linear probe / k-NN) and `segmentation3d` (stacked slice
 * features → 3D decoder, k-fold). Each runs the protocols of the datasets
 * that name it; see `docs/plugins.md` for writing your own.
 *
 * @example
 * ```ts
 * import { TASK_PLUGINS } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(TASK_PLUGINS.map((t) => t.name), ["classification", "segmentation3d", "affinity", "mil"]);
 * ```
 *
 * @module
 */
import type { TaskPlugin } from "../../core/plugin.ts";
import { classificationTask } from "./classification/mod.ts";
import { segmentation3dTask } from "./segmentation3d/mod.ts";
import { affinityTask } from "./affinity/mod.ts";
import { milTask } from "./mil/mod.ts";

export { classificationTask, predictionsCsv, runClassification } from "./classification/mod.ts";
export {
  assembleF16Slabs,
  casesCsv,
  type FeatureVolume,
  isSegmentationSample,
  readCachedVolume,
  runSegmentation3d,
  segmentation3dTask,
  type SegmentationDataset,
  type SegmentationProtocolDefaults,
  type SegmentationSample,
  type VolumeCase,
  type VolumeCaseData,
  type VolumePrediction,
} from "./segmentation3d/mod.ts";

/** Every built-in task plugin. */
export const TASK_PLUGINS: readonly TaskPlugin[] = [
  classificationTask,
  segmentation3dTask,
  affinityTask,
  milTask,
];

export { affinityTask, runAffinity } from "./affinity/mod.ts";
export { extractSlideBags, milTask, planMilRuns, runMil } from "./mil/mod.ts";

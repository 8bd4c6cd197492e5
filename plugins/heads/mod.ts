/**
 * Built-in head plugins of medprobe: the linear probe (`"linear"`), k-NN
 * (`"knn"`) and ABMIL (`"abmil"`). Each trains or searches on WebGPU with
 * the kernels of `kernels/train` and `kernels/knn`, and falls back to their
 * CPU references when no adapter exists (`hyperparameters.device` says
 * which ran).
 *
 * @example
 * ```ts
 * import { BUILTIN_HEADS, linearHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(BUILTIN_HEADS, ["linear", "knn", "abmil"]);
 * assert.equal(linearHead.defaults.lr, 0.005);
 * ```
 *
 * @module
 */

export {
  createLinearHead,
  LINEAR_HEAD_DEFAULTS,
  linearHead,
  type LinearHeadHyperparameters,
  type LinearHeadOptions,
  type LinearHeadPlugin,
  LinearProbe,
  resolveLinearHeadOptions,
} from "./linear/mod.ts";
export {
  createKnnHead,
  KNN_HEAD_DEFAULTS,
  KnnClassifier,
  knnHead,
  type KnnHeadHyperparameters,
  type KnnHeadOptions,
  type KnnHeadPlugin,
  knnLabelScores,
  type KnnVote,
  knnVote,
  type KnnVotes,
  resolveKnnHeadOptions,
} from "./knn/mod.ts";
export {
  ABMIL_HEAD_DEFAULTS,
  AbmilHead,
  abmilHead,
  type AbmilHeadHyperparameters,
  type AbmilHeadOptions,
  type AbmilHeadPlugin,
  createAbmilHead,
  resolveAbmilHeadOptions,
} from "./abmil/mod.ts";
export { type AbmilParams } from "./abmil/abmil_ref.ts";
export {
  createDecoder3dHead,
  DECODER3D_DEFAULTS,
  type Decoder3dArch,
  type Decoder3dCase,
  type Decoder3dData,
  Decoder3dHead,
  decoder3dHead,
  type Decoder3dHyperparameters,
  type Decoder3dOptions,
  type Decoder3dPrediction,
  type Decoder3dPredictOptions,
  type FeatureVolume,
  loadDecoder3dHead,
  resolveDecoder3dOptions,
} from "./decoder3d/mod.ts";
export type {
  ClassificationTask,
  HeadDevice,
  HeadDeviceRequest,
  TrainingBackendRequest,
} from "./_common.ts";
export { affinityHead } from "./affinity/mod.ts";
export type { Neighbours } from "../../kernels/knn/knn_ref.ts";
// Types of the core that the heads' signatures use, so this entry point documents itself.
export type {
  FitOptions,
  FitProgress,
  FitReport,
  Head,
  HeadPlugin,
  PluginBase,
  PluginKind,
  TaskType,
} from "../../core/plugin.ts";
export type { HostTensor } from "../../core/tensor.ts";
export type { GpuAdapterSummary, GpuContext, GpuTensor, PipelineSpec } from "../../core/gpu.ts";
export type { DeviceLostError } from "../../core/errors.ts";

/** Names of the built-in heads plugins exported by this module. */
export const BUILTIN_HEADS: readonly string[] = ["linear", "knn", "abmil"];

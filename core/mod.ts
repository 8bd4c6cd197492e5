// This module is browser compatible (except the file-based loaders, which say so).
/**
 * The small core of medprobe: plugin interfaces and registry, host tensors,
 * errors, the WebGPU device layer, safetensors I/O, image preprocessing,
 * metric reductions, result records, the feature cache and the experiment services that task
 * plugins share.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./plugin.ts";
export * from "./registry.ts";
export * from "./tensor.ts";
export * from "./gpu.ts";
export {
  Checkpoint,
  DTYPE_SIZE,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  parseSafetensors,
  parseSafetensorsHeader,
  type SafetensorsDType,
  SafetensorsFile,
  type SafetensorsHeader,
  saveSafetensors,
  sha256File,
  type TensorData,
  type TensorInfo,
  type TensorToWrite,
  toFloat32,
} from "./safetensors.ts";
export * from "./image.ts";
export * from "./metrics.ts";
export * from "./result.ts";
export {
  type CacheEntry,
  FEATURE_CACHE_FORMAT,
  FEATURE_CACHE_VERSION,
  FeatureCache,
  type FeatureCacheKey,
  type FeatureCacheOptions,
  namespaceOf,
  type RawTensor,
  type ShardInfo,
  type ShardProblem,
} from "./cache.ts";
export * from "./extract.ts";
export {
  expectSource,
  FINGERPRINT_SCHEME,
  fingerprintFile,
  FingerprintMemo,
  type FingerprintOptions,
  fingerprintSample,
  type FingerprintSource,
  WHOLE_SLIDE_EXTENSIONS,
} from "./fingerprint.ts";
export {
  environmentInfo,
  type EnvironmentOptions,
  type MedprobeBuild,
  medprobeBuild,
} from "./environment.ts";
export * from "./prefetch.ts";
export * from "./random.ts";
export * from "./bootstrap.ts";
export * from "./stats.ts";
export * from "./csv.ts";
export * from "./shard.ts";
export {
  adapterContext,
  cacheChunks,
  datasetFit,
  datasetIds,
  environmentOf,
  errorReason,
  type ExtractedSplits,
  extractSplits,
  type ExtractSplitsOptions,
  FailureLog,
  findDataset,
  fitProgress,
  type Fold,
  hasChunks,
  openRunCache,
  patientFolds,
  patientSplit,
  readChunks,
  readChunksRaw,
  resolveTask,
  runTask,
  StageTimer,
  type TaskRequest,
  writeFoldFiles,
  writeResult,
} from "./experiment.ts";

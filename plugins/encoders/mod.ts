/**
 * Built-in encoders: DINOv3 (WebGPU, or ONNX on CPU) and any ONNX encoder
 * described by a JSON descriptor; the backend choice rule.
 *
 * @module
 */

export { type BackendChoice, type BackendRequest, chooseBackend } from "./backend.ts";
export * from "./onnx/mod.ts";
export {
  buildDinov3Onnx,
  createDinov3OnnxEncoder,
  type Dinov3OnnxBuildOptions,
  type Dinov3OnnxEncoder,
  type Dinov3OnnxEncoderOptions,
  type Dinov3OnnxExport,
  type Dinov3OnnxModel,
  exportDinov3Onnx,
} from "./dinov3/onnx.ts";
export { blockOutputName, DINOV3_ONNX_INPUT, DINOV3_ONNX_OUTPUTS } from "./dinov3/onnx_graph.ts";
export {
  DEFAULT_HUB_FILES,
  downloadSnapshot,
  findCachedSnapshot,
  hubCacheDir,
  type HubOptions,
  type HubProgress,
  hubToken,
  parseRepoId,
  repoFolder,
  resolveWeights,
} from "./hub.ts";
export {
  DINOV3_HF_REPOS,
  DINOV3_PRESETS,
  type Dinov3Config,
  matchPreset,
  parseDinov3Config,
  toHfConfig,
} from "./dinov3/config.ts";
export {
  checkCheckpoint,
  type Dinov3Checkpoint,
  type ExpectedTensor,
  expectedTensors,
  openDinov3Checkpoint,
  randomDinov3Tensors,
  writeRandomDinov3,
} from "./dinov3/weights.ts";
export {
  checkPrecision,
  createDinov3Encoder,
  createDinov3Plugin,
  createDinov3ReferenceEncoder,
  createDinov3WebGpuEncoder,
  DINOV3_ENCODERS,
  DINOV3_PLUGIN_VERSION,
  dinov3ActivationBytesPerImage,
  dinov3Encoder,
  type Dinov3EncoderOptions,
  dinov3Flops,
  dinov3Forward,
  type Dinov3ForwardOptions,
  dinov3ForwardRef,
  type Dinov3GpuLayer,
  type Dinov3GpuOutput,
  type Dinov3GpuWeights,
  dinov3MaxBatch,
  type Dinov3MemoryEstimate,
  dinov3MemoryEstimate,
  type Dinov3RefOutputs,
  dinov3Vitb16Encoder,
  dinov3Vitl16Encoder,
  dinov3Vits16Encoder,
  type Dinov3WebGpuEncoder,
  dinov3WeightBytes,
  planChunks,
  uploadDinov3Weights,
} from "./dinov3/mod.ts";
export { type PatchPca, patchPca, scoresToRgb } from "./dinov3/pca.ts";

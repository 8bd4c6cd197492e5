/**
 * Built-in encoders: DINOv3 (WebGPU, or ONNX on CPU) and any ONNX encoder
 * described by a JSON descriptor; the backend choice rule.
 *
 * @module
 */

export { type BackendChoice, type BackendRequest, chooseBackend } from "./backend.ts";
export * from "./onnx/mod.ts";
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

/**
 * The ONNX encoder backend of medprobe:
 *
 * - **DINOv3 on onnxruntime** ({@linkcode createDinov3OnnxEncoder}): the
 *   DINOv3 graph built by medprobe from `config.json` + `model.safetensors`
 *   and run on `onnxruntime-node` (native CPU provider, needs
 *   `--allow-ffi`) or `onnxruntime-web`'s wasm provider. This is what
 *   `--backend onnx` (and `auto` on a software or missing GPU adapter)
 *   runs. {@linkcode exportDinov3Onnx} writes the same model to a file.
 * - **Any ONNX encoder** ({@linkcode onnxEncoderPlugin}, name `onnx`): a
 *   user's `.onnx` file plus a JSON descriptor (see README.md and
 *   `examples/`).
 *
 * @example Validating a descriptor
 * ```ts
 * import { parseOnnxDescriptor, validateDescriptorAgainstModel } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const d = parseOnnxDescriptor({
 *   name: "resnet50",
 *   input: { name: "input", size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 *   outputs: { pooled: { name: "pooled" } },
 * });
 * const check = validateDescriptorAgainstModel(
 *   d,
 *   [{ name: "input", type: "float32", shape: ["batch", 3, 224, 224] }],
 *   [{ name: "pooled", type: "float32", shape: ["batch", 2048] }],
 * );
 * assert.equal(check.dim, 2048);
 * assert.throws(
 *   () => validateDescriptorAgainstModel(d, [{ name: "x", type: "float32", shape: [] }], []),
 *   /input "input" is not in the model: model inputs are "x"/,
 * );
 * ```
 *
 * @module
 */

export {
  type DeclaredValue,
  type ModelCheck,
  type OnnxDescriptor,
  parseOnnxDescriptor,
  type PatchesLayout,
  type PooledLayout,
  validateDescriptorAgainstModel,
} from "./descriptor.ts";
export {
  createOnnxEncoder,
  mapOnnxOutputs,
  type OnnxEncoder,
  type OnnxEncoderOptions,
  onnxEncoderPlugin,
  resolveOnnxSources,
} from "./onnx_encoder.ts";
export {
  ffiAllowed,
  type OnnxRuntimeInfo,
  type OnnxRuntimeRequest,
  pickOnnxRuntime,
} from "./runtime.ts";
export { OnnxSession, type OnnxSessionOptions, type ValueSpec } from "./session.ts";

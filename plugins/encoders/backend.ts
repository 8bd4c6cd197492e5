// This module is browser compatible.
/**
 * Backend choice for encoders: `webgpu`, `onnx`, or `auto` — WebGPU on a
 * hardware adapter, ONNX on a software adapter (llvmpipe runs WGSL 20–60×
 * slower than onnxruntime's native CPU provider) or when there is no
 * adapter. The reason is recorded in result records and printed by
 * `medprobe gpu`; real work never goes silently to a software WGSL path.
 *
 * @example
 * ```ts
 * import { chooseBackend } from "./backend.ts";
 * import assert from "node:assert/strict";
 * const sw = { description: "llvmpipe (LLVM 15.0.6, 256 bits)", isSoftware: true };
 * assert.equal(chooseBackend("auto", sw).backend, "onnx");
 * assert.equal(chooseBackend("auto", { description: "NVIDIA H200", isSoftware: false }).backend, "webgpu");
 * assert.equal(chooseBackend("auto", undefined).backend, "onnx");
 * assert.equal(chooseBackend("webgpu", sw).backend, "webgpu");
 * ```
 *
 * @module
 */

/** A requested backend. */
export type BackendRequest = "webgpu" | "onnx" | "auto";

/** The chosen backend and why. */
export interface BackendChoice {
  /** What runs the encoder. */
  backend: "webgpu" | "onnx";
  /** One sentence for result records and `medprobe gpu`. */
  reason: string;
}

/**
 * Chooses the backend from the request and the adapter (undefined when
 * WebGPU has no adapter).
 */
export function chooseBackend(
  requested: BackendRequest,
  adapter: { description: string; isSoftware: boolean } | undefined,
): BackendChoice {
  if (!["webgpu", "onnx", "auto"].includes(requested)) {
    throw new TypeError(
      `Cannot choose backend as it must be "webgpu", "onnx" or "auto": current value is "${requested}"`,
    );
  }
  const name = adapter ? `"${adapter.description || "unnamed adapter"}"` : "";
  if (requested === "webgpu") {
    return {
      backend: "webgpu",
      reason: adapter?.isSoftware
        ? `requested --backend webgpu on software adapter ${name} (slow: ONNX is 20-60x faster here)`
        : `requested --backend webgpu${adapter ? ` on ${name}` : ""}`,
    };
  }
  if (requested === "onnx") return { backend: "onnx", reason: "requested --backend onnx" };
  if (!adapter) {
    return { backend: "onnx", reason: "auto: no WebGPU adapter, so onnxruntime on the CPU" };
  }
  if (adapter.isSoftware) {
    return {
      backend: "onnx",
      reason:
        `auto: ${name} is a software adapter, so onnxruntime's CPU provider (20-60x faster than WGSL on it)`,
    };
  }
  return { backend: "webgpu", reason: `auto: hardware adapter ${name}` };
}

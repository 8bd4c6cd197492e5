// This module is browser compatible.
/**
 * The small core of medprobe: plugin interfaces and registry, host tensors,
 * errors, the WebGPU device layer and safetensors I/O.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./plugin.ts";
export * from "./registry.ts";
export * from "./tensor.ts";

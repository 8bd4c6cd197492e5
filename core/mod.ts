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
export * from "./safetensors.ts";
export * from "./image.ts";
export * from "./metrics.ts";
export * from "./result.ts";
export * from "./cache.ts";
export * from "./extract.ts";
export * from "./fingerprint.ts";
export * from "./environment.ts";
export * from "./prefetch.ts";
export * from "./random.ts";
export * from "./bootstrap.ts";
export * from "./stats.ts";
export * from "./csv.ts";
export * from "./experiment.ts";

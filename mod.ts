/**
 * medprobe: how good are the frozen features of a vision foundation model on
 * medical images? DINOv3 (ViT-S/B/L, patch 16) on WebGPU with our own WGSL
 * kernels — or on onnxruntime without a GPU — light heads (linear probe,
 * k-NN, ABMIL, 3D decoder) and metrics identical to scikit-learn, MONAI and
 * CREMI, across X-ray, CT, MRI, pathology, EM and PET.
 *
 * The root module re-exports the core (plugin interfaces, registry, GPU
 * layer, safetensors, feature cache, runners) and each built-in plugin
 * family as a namespace (`metrics`, `formats`, `heads`, `adapters`,
 * `encoders`, `modalities`, `report`); each family is also its own subpath
 * (`jsr:@medprobe/medprobe/metrics`, ...).
 *
 * @example Scoring predictions with the report's metrics
 * ```ts
 * import { metrics, reduceScores } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const auc = metrics.computeRocAuc(
 *   [[0.9, 0.2], [0.4, 0.3], [0.6, 0.8], [0.1, 0.1]],
 *   [[1, 0], [0, 0], [1, 1], [0, 0]],
 * );
 * assert.equal(reduceScores(auc, "mean").value[0], 1);
 * ```
 *
 * @example Running an evaluation from code
 * ```ts ignore
 * import { createDefaultRegistry, runTask } from "jsr:@medprobe/medprobe";
 * const registry = createDefaultRegistry();
 * const encoder = await registry.get("encoder", "dinov3").create({ weights: "dinov3-vits16" });
 * const record = await runTask(registry, encoder, {
 *   dataset: "xray/nih14", root: "NIH", out: "out", version: "0.2.0",
 * });
 * console.log(record.metrics.macro.auc);
 * ```
 *
 * @module
 */

export * from "./core/mod.ts";
export { builtinPlugins, createDefaultRegistry } from "./plugins/builtin.ts";
export * as encoders from "./plugins/encoders/mod.ts";
export * as adapters from "./plugins/adapters/mod.ts";
export * as heads from "./plugins/heads/mod.ts";
export * as metrics from "./plugins/metrics/mod.ts";
export * as formats from "./plugins/formats/mod.ts";
export * as modalities from "./plugins/modalities/mod.ts";
export * as report from "./plugins/report/mod.ts";
export * as tasks from "./plugins/tasks/mod.ts";
export * as segment from "./plugins/segment/mod.ts";

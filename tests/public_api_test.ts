// A snapshot of what the root module exports, so that adding or removing a
// public name is a visible, reviewed change (update the list on purpose).
import assert from "node:assert/strict";
import * as medprobe from "../mod.ts";

const NAMESPACES = ["adapters", "encoders", "formats", "heads", "metrics", "modalities", "report"];

const CORE_VALUES = [
  "Checkpoint",
  "DeviceLostError",
  "FeatureCache",
  "FormatError",
  "GpuContext",
  "GpuUnavailableError",
  "IMAGENET_PREPROCESS",
  "PLUGIN_KINDS",
  "RESULT_SCHEMA",
  "SafetensorsFile",
  "ShaderCompilationError",
  "builtinPlugins",
  "cacheKeyFor",
  "createDefaultRegistry",
  "createMulberry32",
  "createRegistry",
  "encodeSafetensors",
  "extractFeatures",
  "imageToPixelValues",
  "imagesToBatch",
  "loadPluginModule",
  "parseSafetensors",
  "reduceScores",
  "requestGpu",
  "runEvaluation",
  "runSegmentationEvaluation",
  "saveSafetensors",
  "validatePlugin",
  "validateResultRecord",
];

Deno.test("mod.ts exports the core surface and one namespace per plugin family", () => {
  const names = Object.keys(medprobe);
  for (const n of [...CORE_VALUES, ...NAMESPACES]) {
    assert.ok(names.includes(n), `missing export ${n}`);
  }
  for (const ns of NAMESPACES) {
    assert.equal(typeof (medprobe as Record<string, unknown>)[ns], "object", ns);
  }
  // The built-in plugins are all reachable and valid.
  const registry = medprobe.createDefaultRegistry();
  for (const kind of medprobe.PLUGIN_KINDS) assert.ok(registry.list(kind).length > 0, kind);
  // No default export (house style).
  assert.equal("default" in medprobe, false);
});

Deno.test("the plugin-family namespaces expose their plugin objects", () => {
  assert.equal(medprobe.metrics.METRIC_PLUGINS.length >= 20, true);
  assert.equal(medprobe.heads.linearHead.name, "linear");
  assert.equal(medprobe.adapters.image2dAdapter.name, "image2d");
  assert.equal(medprobe.modalities.xrayPlugin.name, "xray");
  assert.equal(medprobe.encoders.chooseBackend("auto", undefined).backend, "onnx");
  assert.equal(typeof medprobe.formats.readNifti, "function");
  assert.equal(typeof medprobe.report.writeReport, "function");
});

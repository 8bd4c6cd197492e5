import assert from "node:assert/strict";
import { createRegistry } from "../../core/registry.ts";
import { BUILTIN_METRICS, METRIC_PLUGINS } from "./mod.ts";
import * as metrics from "./mod.ts";

Deno.test("every built-in metric plugin registers and has a unique name", () => {
  const registry = createRegistry(METRIC_PLUGINS);
  assert.equal(registry.list("metric").length, METRIC_PLUGINS.length);
  assert.deepEqual(BUILTIN_METRICS, METRIC_PLUGINS.map((p) => p.name));
  for (
    const name of [
      "auc",
      "accuracy",
      "precision",
      "recall",
      "f1",
      "balanced-accuracy",
      "average-precision",
      "dice",
      "hd",
      "hd95",
      "assd",
      "voi-split",
      "voi-merge",
      "arand",
      "cremi-score",
    ]
  ) {
    assert.ok(registry.has("metric", name), name);
  }
});

Deno.test("every exported plugin object is in METRIC_PLUGINS", () => {
  const exported = Object.values(metrics).filter((v) =>
    typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "metric"
  );
  assert.equal(exported.length, METRIC_PLUGINS.length);
  for (const p of exported) assert.ok(METRIC_PLUGINS.includes(p as never));
});

Deno.test("distance metrics say lower is better, scores higher", () => {
  const byName = new Map(METRIC_PLUGINS.map((p) => [p.name, p]));
  for (
    const name of [
      "hd",
      "hd95",
      "assd",
      "voi-split",
      "voi-merge",
      "voi-sum",
      "arand",
      "cremi-score",
    ]
  ) {
    assert.equal(byName.get(name)!.higherIsBetter, false, name);
  }
  for (const name of ["auc", "dice", "f1", "voxel-recall"]) {
    assert.equal(byName.get(name)!.higherIsBetter, true, name);
  }
});

import assert from "node:assert/strict";
import { runTask } from "../../../core/experiment.ts";
import { createDefaultRegistry } from "../../builtin.ts";
import { createDinov3OnnxEncoder } from "../../encoders/dinov3/onnx.ts";

const WEIGHTS = new URL("../../../fixtures/dinov3_demo", import.meta.url).pathname;

Deno.test({
  name:
    "classification task: Youden thresholds chosen on held-out training patients score the test set; the record says how",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe_cls_task_" });
    const registry = createDefaultRegistry();
    const encoder = await createDinov3OnnxEncoder(WEIGHTS);
    try {
      const spec = registry.get("modality", "xray").datasets.find((d) => d.name === "nih14")!;
      await spec.synthesize(`${dir}/data`, { count: 60, seed: 3 });
      const run = (out: string, threshold: string) =>
        runTask(registry, encoder, {
          dataset: "xray/nih14",
          root: `${dir}/data`,
          out: `${dir}/${out}`,
          cacheDir: `${dir}/cache`,
          version: "test",
          resolution: 64,
          bootstrap: 20,
          headOptions: { epochs: 5, minSteps: 0 },
          metrics: ["auc", "accuracy"],
          taskOptions: { threshold },
        });
      const fixed = await run("fixed", "fixed");
      assert.equal((fixed.protocol.threshold as { rule: string }).rule, "fixed");
      const youden = await run("youden", "youden");
      const t = youden.protocol.threshold as {
        rule: string;
        validation: number;
        perLabel: Record<string, number | null>;
      };
      assert.equal(t.rule, "youden");
      assert.deepEqual(Object.keys(t.perLabel), youden.labels);
      assert.ok(t.validation > 0);
      // The held-out patients come out of the training split (same cache: every sample a hit).
      assert.equal(youden.data.counts.train + t.validation, fixed.data.counts.train);
      assert.equal(youden.data.cacheHits, fixed.data.counts.train + fixed.data.counts.test);
      // The recorded accuracy is 1 − Hamming loss at the recorded per-label thresholds.
      const rows = (await Deno.readTextFile(`${dir}/youden/predictions.csv`)).trim().split("\n");
      const k = youden.labels.length;
      const data = rows.slice(1).map((r) => r.split(",").slice(1).map(Number));
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const th = t.perLabel[youden.labels[c]] ?? Infinity;
        const hits = data.filter((r) => (r[c] > th ? 1 : 0) === r[k + c]).length;
        sum += hits / data.length;
      }
      const accuracy = youden.metrics.macro.accuracy.value!;
      assert.ok(Math.abs(accuracy - sum / k) < 1e-9, `${accuracy} vs ${sum / k}`);
      // Per-label CIs around each label's AUC (same resamples as the macro CI).
      let withCi = 0;
      for (const l of youden.labels) {
        const row = youden.metrics.perLabel[l];
        if (row.auc === null || row.auc_ci_low === null || row.auc_ci_low === undefined) continue;
        assert.ok(row.auc_ci_low! <= row.auc + 1e-12 && row.auc <= row.auc_ci_high! + 1e-12, l);
        withCi++;
      }
      assert.ok(withCi > 0);
      // AUC does not depend on the threshold.
      assert.equal(youden.metrics.macro.auc.validCount, fixed.metrics.macro.auc.validCount);
    } finally {
      encoder.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

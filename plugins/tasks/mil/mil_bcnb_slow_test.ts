// The BCNB protocol end to end on a synthetic copy (single JPEG slides, the
// clinical .xlsx): 5-fold patient-level CV at 7:1:2 for one target, every
// slide tested exactly once, mean ± std over the folds.
import assert from "node:assert/strict";
import { createDefaultRegistry } from "../../builtin.ts";
import { runTask } from "../../../core/experiment.ts";
import { synthesizeBcnb } from "../../modalities/wsi/mod.ts";
import { createDinov3OnnxEncoder } from "../../encoders/dinov3/onnx.ts";
import { validateResultRecord } from "../../../core/result.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

Deno.test({
  name: "mil task: 5-fold CV at 7:1:2 on a synthetic BCNB (ER), each slide tested once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe-bcnb-" });
    await synthesizeBcnb(`${dir}/bcnb`, { count: 10, seed: 2, width: 640, height: 480 });
    const encoder = await createDinov3OnnxEncoder(`${ROOT}fixtures/dinov3_demo`);
    try {
      const record = validateResultRecord(JSON.parse(JSON.stringify(
        await runTask(createDefaultRegistry(), encoder, {
          dataset: "wsi/bcnb",
          root: `${dir}/bcnb`,
          openOptions: { mpp: 10 },
          out: `${dir}/out`,
          cacheDir: `${dir}/cache`,
          resolution: 112,
          batchSize: 8,
          bootstrap: 50,
          headBackend: "cpu",
          headOptions: { hiddenDim: 16, attentionDim: 8, lr: 2e-3 },
          adapterOptions: { tileSize: 128 },
          taskOptions: {
            folds: 5,
            "cv-ratio": "7:1:2",
            label: "ER",
            "select-epochs": "5",
            heatmaps: 0,
          },
          version: "test",
        }),
      )));
      assert.deepEqual(record.labels, ["ER+"]);
      assert.equal(record.protocol.split, "5-fold patient-level CV");
      assert.equal(record.protocol.cvRatio, "7:1:2");
      const runs = record.protocol.runs as {
        counts: { train: number; val: number; test: number };
      }[];
      assert.equal(runs.length, 5);
      // 8 slides left per fold, 4 per class: val takes 1/8 of each class, at least one.
      for (const r of runs) assert.deepEqual(r.counts, { train: 6, val: 2, test: 2 });
      const rows = (await Deno.readTextFile(`${dir}/out/predictions.csv`)).trim().split("\n").slice(
        1,
      );
      const tested = rows.map((l) => l.split(",")[4]).sort((a, b) => Number(a) - Number(b));
      assert.deepEqual(tested, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
      assert.ok(record.metrics.macro.auc.std !== undefined);
      assert.equal((record.data.splitInfo as { target: string }).target, "ER");
      assert.deepEqual(record.data.failed, []);
      // Every target in one record: per-label metrics for the radar.
      const all = validateResultRecord(JSON.parse(JSON.stringify(
        await runTask(createDefaultRegistry(), encoder, {
          dataset: "wsi/bcnb",
          root: `${dir}/bcnb`,
          openOptions: { mpp: 10 },
          out: `${dir}/out-all`,
          cacheDir: `${dir}/cache`,
          resolution: 112,
          batchSize: 8,
          bootstrap: 0,
          headBackend: "cpu",
          headOptions: { hiddenDim: 16, attentionDim: 8, lr: 2e-3 },
          adapterOptions: { tileSize: 128 },
          taskOptions: { folds: 5, label: "all", "select-epochs": "5", heatmaps: 0 },
          version: "test",
        }),
      )));
      assert.deepEqual(all.labels, ["ALN N+", "ER+", "PR+", "HER2+", "Ki67+"]);
      assert.deepEqual(Object.keys(all.metrics.perLabel), all.labels);
      assert.equal(all.data.cacheHits, 10, "the bags are shared by every target");
      const perTarget = all.protocol.targets as Record<string, { runs: unknown[] }>;
      assert.equal(perTarget["ER+"].runs.length, 5);
      const values = all.labels.map((l) => all.metrics.perLabel[l].auc as number);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(Math.abs((all.metrics.macro.auc.value as number) - mean) < 1e-9);
      const lines = (await Deno.readTextFile(`${dir}/out-all/predictions.csv`)).trim().split("\n");
      assert.equal(lines.length, 1 + 5 * 10);
      assert.ok(lines[0].endsWith(",label"));
    } finally {
      encoder.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

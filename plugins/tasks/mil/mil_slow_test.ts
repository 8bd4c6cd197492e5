// End to end on a synthetic Camelyon16 in its real layout (pyramidal TIFFs,
// reference.csv): tissue → tiles → the shipped small random DINOv3 (ONNX on
// the CPU) → bags in the cache → ABMIL → metrics, predictions, tiles,
// thumbnails and heatmaps; a broken slide and a slide without tissue are
// recorded and the run goes on; a rerun is served from the cache.
import assert from "node:assert/strict";
import { createRegistry } from "../../../core/registry.ts";
import { runTask } from "../../../core/experiment.ts";
import { builtinPlugins } from "../../builtin.ts";
import { tileBagAdapter } from "../../adapters/tile_bag/mod.ts";
import {
  synthesizeCamelyon16,
  synthesizeCamelyon17,
  writeSyntheticSlide,
  wsiPlugin,
} from "../../modalities/wsi/mod.ts";
import { milTask } from "./mod.ts";
import { createDinov3OnnxEncoder } from "../../encoders/dinov3/onnx.ts";
import { validateResultRecord } from "../../../core/result.ts";
import { parsePng } from "../../formats/image/png.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

function registry() {
  const have = builtinPlugins();
  const extra = [tileBagAdapter, wsiPlugin, milTask].filter((p) =>
    !have.some((h) => h.kind === p.kind && h.name === p.name)
  );
  return createRegistry([...have, ...extra]);
}

Deno.test({
  name:
    "mil task: ABMIL end to end on a synthetic Camelyon16, failures recorded, external test on Camelyon17",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe-mil-" });
    const size = { width: 1024, height: 768 };
    await synthesizeCamelyon16(`${dir}/c16`, { count: 10, testCount: 4, seed: 3, ...size });
    await synthesizeCamelyon17(`${dir}/c17`, { count: 5, seed: 4, ...size });
    // A slide without tissue and a truncated slide among the training slides.
    await writeSyntheticSlide(`${dir}/c16/training/normal/normal_098.tif`, {
      ...size,
      seed: 9,
      tumour: false,
      tissue: false,
    });
    const good = await Deno.readFile(`${dir}/c16/training/normal/normal_001.tif`);
    await Deno.writeFile(`${dir}/c16/training/normal/normal_099.tif`, good.subarray(0, 4000));
    const encoder = await createDinov3OnnxEncoder(`${ROOT}fixtures/dinov3_demo`);
    try {
      const request = {
        dataset: "wsi/camelyon16",
        root: `${dir}/c16`,
        out: `${dir}/out`,
        cacheDir: `${dir}/cache`,
        resolution: 112 as const,
        batchSize: 8,
        bootstrap: 100,
        headBackend: "cpu" as const,
        headOptions: { hiddenDim: 32, attentionDim: 16, lr: 2e-3 },
        adapterOptions: { tileSize: 128 },
        taskOptions: {
          "select-epochs": "5,15",
          "val-fraction": 0.2,
          seeds: 2,
          external: "wsi/camelyon17",
          "external-data": `${dir}/c17`,
          heatmaps: 2,
        },
        version: "test",
      };
      const record = validateResultRecord(
        JSON.parse(JSON.stringify(await runTask(registry(), encoder, request))),
      );
      assert.equal(record.dataset, "wsi/camelyon16");
      assert.equal(record.task, "binary");
      assert.equal(record.protocol.taskPlugin, "mil");
      assert.equal(record.adapter.name, "tile-bag");
      assert.equal(record.adapter.settings.pool, "mean");
      assert.equal(record.head.name, "abmil");
      const failed = new Map(record.data.failed.map((f) => [f.id, f.reason]));
      assert.match(failed.get("normal_098") ?? "", /no tissue/);
      assert.ok(failed.has("normal_099"), "truncated slide recorded");
      assert.equal(record.data.counts.train, 10);
      assert.equal(record.data.counts.test, 4);
      const runs = record.protocol.runs as {
        selectedEpochs: number;
        valAuc: Record<string, unknown>;
      }[];
      assert.equal(runs.length, 2);
      for (const r of runs) assert.ok([5, 15].includes(r.selectedEpochs));
      for (const m of ["auc", "accuracy", "precision", "recall"]) {
        const v = record.metrics.macro[m];
        assert.ok(v.value !== null && v.value >= 0 && v.value <= 1, `${m} ${v.value}`);
        assert.ok(v.ci && v.ci.samples === 100, `${m} has a CI`);
        assert.ok(v.std !== undefined, `${m} has a std over seeds`);
      }
      const ext = record.protocol.external as {
        count: number;
        metrics: Record<string, { runs: number }>;
      };
      assert.equal(ext.metrics.auc.runs, 2);
      assert.ok(ext.count >= 1, "ITC removed, unseen-centre slides scored");
      const csv = (await Deno.readTextFile(`${dir}/out/predictions.csv`)).trim().split("\n");
      assert.equal(csv.length, 1 + 2 * 4 + 2 * ext.count);
      // Tiles per slide with coordinates, level and µm/px; thumbnails; heatmaps.
      const tiles = JSON.parse(await Deno.readTextFile(`${dir}/out/tiles/tumor_001.json`));
      assert.equal(tiles.level, 0);
      assert.equal(tiles.slideMpp, 4);
      assert.ok(tiles.coords.length > 0 && tiles.coords.every((c: number[]) => c[0] % 128 === 0));
      const thumb = parsePng(await Deno.readFile(`${dir}/out/tiles/tumor_001.png`), "t.png");
      assert.equal(thumb.width, 1024); // ~1024 px on the longer side
      const heat = parsePng(await Deno.readFile(`${dir}/out/heatmaps/test_001.png`), "h.png");
      assert.equal(heat.channels, 3);
      // A rerun is served from the cache.
      const again = await runTask(registry(), encoder, { ...request, out: `${dir}/out2` });
      assert.equal(again.data.cacheHits, 14 + ext.count);
      assert.deepEqual(again.metrics.macro.auc.value, record.metrics.macro.auc.value);
    } finally {
      encoder.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

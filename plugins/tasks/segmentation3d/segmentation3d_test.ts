import assert from "node:assert/strict";
import { toyEncoder } from "../_testing.ts";
import { casesCsv, isSegmentationSample, readCachedVolume } from "./mod.ts";
import {
  cacheChunks,
  hasChunks,
  patientFolds,
  resolveTask,
  runTask,
  writeFoldFiles,
} from "../../../core/experiment.ts";
import { FeatureCache } from "../../../core/cache.ts";
import { cacheKeyFor } from "../../../core/extract.ts";
import type { Volume } from "../../../core/plugin.ts";
import { f32ToF16 } from "../../../core/tensor.ts";
import { validateResultRecord } from "../../../core/result.ts";
import { createSliceStackAdapter } from "../../adapters/slice_stack/mod.ts";
import { MSD_TASKS, msdDataset, synthesizeMsd } from "../../modalities/_msd/msd.ts";
import { readLabelVolume, readNifti, writeNifti } from "../../formats/nifti/mod.ts";
import { createDefaultRegistry } from "../../builtin.ts";
import { hasGpu, requireGpu, testGpu } from "../../../kernels/_testing.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_seg_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("patientFolds(): disjoint patients, every case validated once, seeded", () => {
  const samples = Array.from(
    { length: 23 },
    (_, i) => ({ id: `c${i}`, subject: `p${Math.floor(i / 2)}` }),
  );
  const folds = patientFolds(samples, 5, 7);
  const seen = folds.flatMap((f) => f.val).sort();
  assert.deepEqual(seen, samples.map((s) => s.id).sort());
  for (const f of folds) {
    const val = new Set(f.val.map((id) => samples.find((s) => s.id === id)!.subject));
    const train = new Set(f.train.map((id) => samples.find((s) => s.id === id)!.subject));
    assert.ok([...val].every((p) => !train.has(p)));
    assert.ok(f.val.length >= 3 && f.val.length <= 6, `fold size ${f.val.length}`); // 2 or 3 of 12 patients
  }
  assert.deepEqual(patientFolds(samples, 5, 7), folds);
  assert.notDeepEqual(patientFolds(samples, 5, 8), folds);
  assert.throws(() => patientFolds(samples.slice(0, 4), 5, 1), /at least 5 patients/);
  assert.throws(() => patientFolds(samples, 1, 1), RangeError);
});

Deno.test("writeFoldFiles() writes per-fold JSON and nnU-Net splits_final.json", async () => {
  await withTemp(async (dir) => {
    const samples = ["a", "b", "c"].map((id) => ({ id, subject: id.toUpperCase() }));
    const folds = patientFolds(samples, 3, 1);
    const files = await writeFoldFiles(dir, folds, samples, 1);
    assert.deepEqual(files, [
      "folds/fold_0.json",
      "folds/fold_1.json",
      "folds/fold_2.json",
      "splits_final.json",
    ]);
    const f1 = JSON.parse(await Deno.readTextFile(`${dir}/folds/fold_1.json`));
    assert.equal(f1.level, "patient");
    assert.deepEqual(f1.val, folds[1].val);
    assert.equal(f1.valSubjects[0], f1.val[0].toUpperCase());
    const splits = JSON.parse(await Deno.readTextFile(`${dir}/splits_final.json`));
    assert.deepEqual(splits[2], { train: folds[2].train, val: folds[2].val });
  });
});

Deno.test("cacheChunks() stores the slice-stack's float16 slabs that readCachedVolume() reassembles exactly", async () => {
  await withTemp(async (dir) => {
    const d = 7, h = 32, w = 48;
    const data = Float32Array.from({ length: d * h * w }, (_, i) => Math.sin(i / 97) * 300);
    const volume: Volume = { kind: "volume", data, shape: [d, h, w], spacingMm: [2, 1, 1] };
    const encoder = toyEncoder();
    const ctx = { encoder, resolution: "native" as const, batchSize: 3 };
    const key = cacheKeyFor({
      dataset: "ct/test",
      encoder,
      resolution: "native",
      adapter: { name: "slice-stack" },
    });
    const cache = await FeatureCache.open(dir, key);
    assert.equal(hasChunks(cache, "case 1"), false);
    const adapter = createSliceStackAdapter({ window: [-300, 300], slabBytes: 4 * 2 * 3 * 4 * 3 });
    const chunks = await cacheChunks(cache, "case 1", adapter, volume, ctx);
    assert.equal(chunks, 3); // slabs of 3, 3 and 1 slices
    assert.equal(hasChunks(cache, "case 1"), true);
    const f16 = await readCachedVolume(cache, "case 1", "volume");
    assert.ok(f16.data instanceof Uint16Array);
    const reference = await createSliceStackAdapter({ window: [-300, 300] }).extract(volume, ctx);
    assert.deepEqual(f16.shape, [4, 7, 2, 3]);
    assert.deepEqual([...f16.data], [...f32ToF16(reference.volume.data)]);
    cache.close();
  });
});

Deno.test("casesCsv() writes one row per case, metric by label, empty for undefined", () => {
  const csv = casesCsv(
    [{ fold: 0, id: "a,1", scores: [Float64Array.of(0.5, NaN), Float64Array.of(1.25, 2)] }],
    ["dice", "hd95"],
    ["liver", "tumour"],
  ).trim().split("\n");
  assert.deepEqual(csv, [
    "fold,case,dice_liver,hd95_liver,dice_tumour,hd95_tumour",
    '0,"a,1",0.5,1.25,,2',
  ]);
});

Deno.test("readLabelVolume() checks the grid and the class range", async () => {
  await withTemp(async (dir) => {
    const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    await writeNifti(`${dir}/l.nii.gz`, Uint8Array.of(0, 1, 2, 1, 0, 0), {
      shape: [3, 2, 1],
      affine,
    });
    assert.deepEqual([...await readLabelVolume(`${dir}/l.nii.gz`, [1, 2, 3], 3)], [
      0,
      1,
      2,
      1,
      0,
      0,
    ]);
    await assert.rejects(
      () => readLabelVolume(`${dir}/l.nii.gz`, [1, 3, 2], 3),
      /must lie on the image grid \[1, 3, 2\]/,
    );
    await assert.rejects(() => readLabelVolume(`${dir}/l.nii.gz`, [1, 2, 3], 2), /voxel 2 holds 2/);
  });
});

Deno.test({
  name: "segmentation3d task: folds, cache reuse, masks on the source grid, a valid result record",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    await withTemp(async (dir) => {
      await synthesizeMsd(`${dir}/data`, MSD_TASKS["Task09_Spleen"], {
        count: 3,
        seed: 5,
        size: 32,
        depth: 8,
      });
      const spec = msdDataset(9);
      const opened = await spec.open(`${dir}/data`);
      const registry = createDefaultRegistry();
      const run = (out: string) =>
        runTask(registry, toyEncoder(), {
          dataset: "ct/msd-task09",
          root: `${dir}/data`,
          out,
          cacheDir: `${dir}/cache`,
          version: "test",
          resolution: "native",
          batchSize: 4,
          taskOptions: { folds: 3, runFolds: 1 },
          headBackend: "webgpu",
          headOptions: {
            gpu,
            channels: [8, 8, 4],
            lr: 1e-2,
            epochs: 2,
            cropsPerVolume: 2,
            patchSize: [8, 16, 16],
          },
        });
      const record = await run(`${dir}/out`);
      validateResultRecord(JSON.parse(await Deno.readTextFile(`${dir}/out/result.json`)));
      assert.equal(record.task, "segmentation");
      assert.deepEqual(record.labels, ["spleen"]);
      assert.equal(record.folds!.length, 1);
      assert.equal(record.data.cacheHits, 0);
      for (const m of ["dice", "hd95", "voxel-precision", "voxel-recall"]) {
        assert.ok(m in record.metrics.macro);
      }
      assert.ok("dice/spleen" in record.folds![0].metrics);
      const dice = record.metrics.macro.dice.value;
      assert.ok(dice === null || (dice >= 0 && dice <= 1));
      const fold0 = JSON.parse(await Deno.readTextFile(`${dir}/out/folds/fold_0.json`));
      assert.equal(fold0.val.length, 1);
      const id = fold0.val[0];
      const mask = await readNifti(`${dir}/out/masks/fold_0/${id}.nii.gz`);
      const source = await readNifti(opened.samples("train").find((s) => s.id === id)!.path!);
      assert.deepEqual(mask.shape, source.shape);
      assert.deepEqual(mask.affine, source.affine);
      assert.equal(mask.datatype, "uint8");
      const csv = (await Deno.readTextFile(`${dir}/out/cases.csv`)).trim().split("\n");
      assert.deepEqual(csv[0].split(","), [
        "fold",
        "case",
        "dice_spleen",
        "hd95_spleen",
        "voxel-precision_spleen",
        "voxel-recall_spleen",
      ]);
      assert.equal(csv.length, 2);
      // a second run reuses every cached feature volume
      const again = await run(`${dir}/out2`);
      assert.equal(again.data.cacheHits, 3);
      assert.deepEqual(again.metrics, record.metrics); // deterministic for a seed
      assert.ok(isSegmentationSample(opened.samples("train")[0]));
    });
  },
});

Deno.test("segmentation3d extract(): whole volumes per shard; two shards fill the cache as one process does", async () => {
  await withTemp(async (dir) => {
    await synthesizeMsd(`${dir}/data`, MSD_TASKS["Task09_Spleen"], {
      count: 5,
      seed: 2,
      size: 32,
      depth: 8,
    });
    const registry = createDefaultRegistry();
    const encoder = toyEncoder();
    const task = registry.get("task", "segmentation3d");
    const context = (cacheDir: string) =>
      resolveTask(registry, {
        dataset: "ct/msd-task09",
        root: `${dir}/data`,
        out: cacheDir,
        cacheDir,
        version: "test",
        resolution: "native",
        batchSize: 4,
      }, encoder).context;
    const half = (k: number) => (samples: readonly { id: string }[]) =>
      samples.filter((_, i) => i % 2 === k) as never;
    const a = await task.extract!(context(`${dir}/sharded`), half(0));
    const b = await task.extract!(context(`${dir}/sharded`), half(1));
    assert.equal(a.samples.length + b.samples.length, 5);
    assert.deepEqual(a.samples.filter((id) => b.samples.includes(id)), []);
    assert.equal(a.computed + b.computed, 5);
    const one = await task.extract!(context(`${dir}/one`), (s) => s);
    assert.equal(one.computed, 5);
    const again = await task.extract!(context(`${dir}/one`), (s) => s);
    assert.deepEqual([again.computed, again.cached], [0, 5]);
    const key = cacheKeyFor({
      dataset: "ct/msd-task09",
      encoder,
      resolution: "native",
      adapter: {
        name: "slice-stack",
        settings: registry.get("adapter", "slice-stack").create(
          msdDataset(9).protocol.adapterOptions,
        ).settings,
      },
    });
    const sharded = await FeatureCache.open(`${dir}/sharded`, key);
    const whole = await FeatureCache.open(`${dir}/one`, key);
    for (const id of one.samples) {
      assert.ok(hasChunks(sharded, id), id);
      const x = await readCachedVolume(sharded, id, "volume");
      const y = await readCachedVolume(whole, id, "volume");
      assert.deepEqual(x.shape, y.shape);
      assert.deepEqual(x.data, y.data);
    }
    sharded.close();
    whole.close();
  });
});

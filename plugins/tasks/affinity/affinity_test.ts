import assert from "node:assert/strict";
import { toyEncoder } from "../_testing.ts";
import { parseThresholds } from "./mod.ts";
import { runTask } from "../../../core/experiment.ts";
import { validateResultRecord } from "../../../core/result.ts";
import { createDefaultRegistry } from "../../builtin.ts";
import { cremiDataset } from "../../modalities/em/mod.ts";
import { CREMI_BACKGROUND_ID, readCremi } from "../../formats/hdf5/mod.ts";
import { readAffinities } from "../../segment/io.ts";
import { parsePng } from "../../formats/image/png.ts";

Deno.test("parseThresholds() sorts, dedups and rejects non-numbers", () => {
  assert.deepEqual(parseThresholds([0.5, 0.1, 0.5]), [0.1, 0.5]);
  assert.throws(() => parseThresholds("0.1,x"), /non-empty list of numbers/);
});

Deno.test("affinity task end to end on a tiny synthetic CREMI: train → sweep → threshold on train → test VOI/ARAND, CREMI HDF5 and montage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_affinity_" });
  try {
    const data = `${dir}/cremi`, out = `${dir}/out`;
    await cremiDataset("A").synthesize(data, { count: 10, seed: 4, size: 32 } as never);
    const registry = createDefaultRegistry();
    const record = await runTask(registry, toyEncoder("toy-em"), {
      dataset: "em/cremi-a",
      root: data,
      out,
      version: "test",
      resolution: 32,
      batchSize: 4,
      seed: 1,
      headOptions: { epochs: 4, cropsPerEpoch: 4, patchSize: [4, 32, 32], hidden: 4 },
      taskOptions: { thresholds: "0.2,0.5,0.8", "merge-function": "mean", "montage-sections": 2 },
    });
    validateResultRecord(JSON.parse(await Deno.readTextFile(`${out}/result.json`)));
    assert.equal(record.task, "affinity");
    const post = record.protocol.postprocessing as {
      threshold: number;
      thresholds: number[];
      mergeFunction: string;
    };
    assert.deepEqual(post.thresholds, [0.2, 0.5, 0.8]);
    assert.ok(post.thresholds.includes(post.threshold));
    assert.equal(post.mergeFunction, "mean");
    assert.deepEqual(record.protocol.lowerIsBetter, ["voi-split", "voi-merge", "voi-sum", "arand"]);
    for (const m of ["voi-split", "voi-merge", "voi-sum", "arand"]) {
      const v = record.metrics.macro[m].value!;
      assert.ok(Number.isFinite(v) && v >= 0, `${m} = ${v}`);
    }
    const macro = record.metrics.macro;
    assert.ok(
      Math.abs(macro["voi-sum"].value! - macro["voi-split"].value! - macro["voi-merge"].value!) <
        1e-9,
    );
    assert.equal(record.head.losses!.length, 4);
    // the sweep: 3 thresholds × (1 train + 1 test) rows; the chosen threshold has the lowest train VOI sum
    const csv = (await Deno.readTextFile(`${out}/thresholds.csv`)).trim().split("\n");
    assert.equal(csv.length, 1 + 6);
    const header = csv[0].split(",");
    const vs = header.indexOf("voi-sum");
    const train = csv.slice(1).map((l) => l.split(",")).filter((r) => r[0] === "train");
    const bestTrain = train.reduce((a, b) => (Number(b[vs]) < Number(a[vs]) ? b : a));
    assert.equal(Number(bestTrain[2]), post.threshold);
    // the chosen threshold's test row is what the record reports
    const testRow = csv.slice(1).map((l) => l.split(",")).find((r) =>
      r[0] === "test" && Number(r[2]) === post.threshold
    )!;
    assert.ok(Math.abs(Number(testRow[vs]) - macro["voi-sum"].value!) < 1e-5);
    // outputs: CREMI-style segmentation (uint64), affinities (3, z, y, x), montage PNG
    const segFile = `${out}/${record.artifacts!["segmentation/cremi-A:8-10"]}`;
    const seg = await readCremi(segFile);
    assert.equal(seg.neuronIds!.dtype, "uint64");
    assert.deepEqual(seg.neuronIds!.shape, [2, 32, 32]);
    assert.ok(!(seg.neuronIds!.data as BigUint64Array).includes(CREMI_BACKGROUND_ID));
    const affs = await readAffinities(`${out}/${record.artifacts!["affinities/cremi-A:8-10"]}`);
    assert.deepEqual(affs.shape, [2, 32, 32]);
    const png = parsePng(
      await Deno.readFile(`${out}/${record.artifacts!["montage/cremi-A:8-10"]}`),
      "montage.png",
    );
    assert.equal(png.width, 2 * 32 + 2);
    assert.equal(png.height, 2 * 32 + 2);
    // a second run hits the feature cache
    const again = await runTask(registry, toyEncoder("toy-em"), {
      dataset: "em/cremi-a",
      root: data,
      out,
      version: "test",
      resolution: 32,
      batchSize: 4,
      seed: 1,
      headOptions: { epochs: 1, cropsPerEpoch: 1, patchSize: [4, 32, 32], hidden: 4 },
      taskOptions: {
        thresholds: "0.5",
        "write-segmentation": false,
        "montage-sections": 0,
        "selection-sections": 3,
        "border-threshold": 8,
      },
    });
    assert.equal(again.data.cacheHits, 2);
    const selection =
      (again.protocol.postprocessing as { thresholdSelection: string }).thresholdSelection;
    assert.match(selection, /last 3 train sections/);
    assert.equal(again.protocol.borderThresholdNm, 8);
    assert.ok(Number.isFinite(again.metrics.macro["voi-sum"].value));
    assert.ok(!("montage/cremi-A:8-10" in again.artifacts!));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

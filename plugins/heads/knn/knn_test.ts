import assert from "node:assert/strict";
import { createKnnHead, KNN_HEAD_DEFAULTS, knnHead, knnLabelScores, knnVote } from "./mod.ts";
import { cosineKnnRef } from "../../../kernels/knn/knn_ref.ts";
import { gpuTest, testGpu } from "../../../kernels/_testing.ts";
import { gaussianLabels } from "../_testing.ts";

interface Case {
  name: string;
  inputs: Record<string, unknown> & { k: number; temperature: number };
  expected: Record<string, unknown>;
  tolerance: { abs: number; rel: number };
}

const FIXTURE = new URL("../../../fixtures/metrics/knn.json", import.meta.url);
const cases: Case[] = await Deno.readTextFile(FIXTURE).then((t) => JSON.parse(t).cases).catch(
  () => [],
);

const rows = (c: Case, key: string) => c.inputs[key] as number[][];

function close(
  actual: ArrayLike<number>,
  expected: number[],
  tol: { abs: number; rel: number },
  what: string,
): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol.abs + tol.rel * Math.abs(expected[i]),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function accuracy(pred: Int32Array, truth: number[]): number {
  return pred.reduce((s, p, i) => s + (p === truth[i] ? 1 : 0), 0) / truth.length;
}

Deno.test({
  name:
    "knnVote() over cosineKnnRef() reproduces every knn.json value at the fixture tolerance (float64)",
  ignore: cases.length === 0,
  fn() {
    for (const c of cases) {
      const train = {
        data: rows(c, "train_features").flat(),
        shape: [rows(c, "train_features").length, rows(c, "train_features")[0].length],
      };
      const query = {
        data: rows(c, "query_features").flat(),
        shape: [rows(c, "query_features").length, train.shape[1]],
      };
      const nb = cosineKnnRef(train, query, c.inputs.k);
      const v = knnVote(
        nb,
        c.inputs.train_labels as number[],
        c.inputs.num_classes as number,
        c.inputs.temperature,
      );
      assert.deepEqual([...nb.indices], (c.expected.neighbors as number[][]).flat(), c.name);
      close(
        nb.distances,
        (c.expected.distances as number[][]).flat(),
        c.tolerance,
        `${c.name} distances`,
      );
      assert.deepEqual([...v.majorityPred], c.expected.majority_pred, c.name);
      assert.deepEqual([...v.weightedPred], c.expected.weighted_pred, c.name);
      close(
        v.weightedScores,
        (c.expected.weighted_scores as number[][]).flat(),
        c.tolerance,
        `${c.name} weighted`,
      );
      const truth = c.inputs.query_labels as number[];
      close(
        [accuracy(v.majorityPred, truth), accuracy(v.weightedPred, truth)],
        [c.expected.majority_accuracy as number, c.expected.weighted_accuracy as number],
        c.tolerance,
        "accuracy",
      );
    }
  },
});

async function checkHeadOnFixture(device: "cpu" | "webgpu"): Promise<void> {
  assert.equal(cases.length, 4, "knn.json must be readable beside the repository (../shared)");
  for (const c of cases) {
    const f = rows(c, "train_features")[0].length;
    const head = createKnnHead({
      task: "multiclass",
      k: c.inputs.k,
      numClasses: c.inputs.num_classes as number,
      device,
      gpu: await testGpu(),
    });
    await head.fit(
      {
        data: Float32Array.from(rows(c, "train_features").flat()),
        shape: [rows(c, "train_features").length, f],
      },
      {
        data: Float32Array.from(c.inputs.train_labels as number[]),
        shape: [rows(c, "train_features").length],
      },
    );
    const v = await head.classify({
      data: Float32Array.from(rows(c, "query_features").flat()),
      shape: [rows(c, "query_features").length, f],
    });
    assert.equal(head.hyperparameters.device, device);
    assert.deepEqual(
      [...v.neighbours.indices],
      (c.expected.neighbors as number[][]).flat(),
      c.name,
    );
    assert.deepEqual([...v.majorityPred], c.expected.majority_pred, c.name);
    assert.deepEqual([...v.weightedPred], c.expected.weighted_pred, c.name);
    // float32 features: distances agree to 1e-6, exp(sim/T) scores to ~1e-5 relative.
    close(v.neighbours.distances, (c.expected.distances as number[][]).flat(), {
      abs: 1e-6,
      rel: 0,
    }, `${c.name} distances`);
    close(v.weightedScores, (c.expected.weighted_scores as number[][]).flat(), {
      abs: 1e-9,
      rel: 2e-5,
    }, `${c.name} weighted`);
    head.dispose();
  }
}

Deno.test("knn head (CPU) agrees with knn.json", () => checkHeadOnFixture("cpu"));
gpuTest("knn head (WebGPU) agrees with knn.json", () => checkHeadOnFixture("webgpu"));

gpuTest(
  "knn head multi-label scores are per-label binary k-NN votes, equal on WebGPU and CPU",
  async (gpu) => {
    assert.equal(KNN_HEAD_DEFAULTS.k, 20);
    assert.equal(KNN_HEAD_DEFAULTS.temperature, 0.07);
    const train = gaussianLabels(3000, 32, 4, 11, { delta: 3 });
    const test = gaussianLabels(200, 32, 4, 11, { delta: 3, sampleSeed: 12 });
    const gpuHead = knnHead.create({ gpu });
    await gpuHead.fit(train.x, train.y);
    const cpuHead = knnHead.create({ device: "cpu" });
    await cpuHead.fit(train.x, train.y);
    const pg = await gpuHead.predict(test.x);
    const pc = await cpuHead.predict(test.x);
    assert.deepEqual(pg.shape, [200, 4]);
    assert.deepEqual(pg.data, pc.data);
    // Label j's score is the weighted positive share of a binary k-NN on label j.
    const nb = await gpuHead.neighbours(test.x);
    for (let j = 0; j < 4; j++) {
      const binary = Int32Array.from({ length: 3000 }, (_, i) => train.y.data[i * 4 + j]);
      const v = knnVote(nb, binary, 2, 0.07);
      for (let r = 0; r < 200; r++) {
        const share = v.weightedScores[r * 2 + 1] /
          (v.weightedScores[r * 2] + v.weightedScores[r * 2 + 1]);
        assert.ok(Math.abs(pg.data[r * 4 + j] - share) < 1e-6);
      }
    }
    const majority = knnLabelScores(nb, train.y.data, 4, "majority", 0.07);
    assert.ok(majority.every((s) => s * 20 === Math.round(s * 20)));
    const loaded = knnHead.load(gpuHead.save(), { gpu });
    assert.deepEqual((await loaded.predict(test.x)).data, pg.data);
    for (const h of [gpuHead, cpuHead, loaded]) {
      h.dispose();
    }
  },
);

Deno.test("knn: k above the training-set size is clipped to it, with a note in the hyperparameters", async () => {
  // 6 training rows, two clusters; k = 20 (the default) must behave as k = 6
  const x = {
    data: new Float32Array([1, 0, 0.9, 0.1, 0.95, 0.05, 0, 1, 0.1, 0.9, 0.05, 0.95]),
    shape: [6, 2],
  };
  const y = { data: new Float32Array([1, 1, 1, 0, 0, 0]), shape: [6, 1] };
  const q = { data: new Float32Array([1, 0.02, 0.02, 1]), shape: [2, 2] };
  const clipped = knnHead.create({ task: "binary", device: "cpu" });
  await clipped.fit(x, y);
  const six = knnHead.create({ task: "binary", k: 6, device: "cpu" });
  await six.fit(x, y);
  assert.deepEqual((await clipped.predict(q)).data, (await six.predict(q)).data);
  assert.equal((await clipped.neighbours(q)).shape[1], 6);
  const hp = clipped.hyperparameters;
  assert.equal(hp.k, KNN_HEAD_DEFAULTS.k);
  assert.equal(hp.kUsed, 6);
  assert.match(String(hp.kNote), /k = 20 clipped to the 6 training samples/);
  assert.equal(six.hyperparameters.kUsed, 6);
  assert.equal(six.hyperparameters.kNote, undefined);
  assert.match(String((hp.sources as Record<string, string>).k), /not stated in the report/);
  // a saved and restored clipped head predicts the same
  const loaded = knnHead.load(clipped.save(), { device: "cpu" });
  assert.deepEqual((await loaded.predict(q)).data, (await clipped.predict(q)).data);
  for (const h of [clipped, six, loaded]) h.dispose();
});

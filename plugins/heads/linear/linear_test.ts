import assert from "node:assert/strict";
import {
  createLinearHead,
  LINEAR_HEAD_DEFAULTS,
  linearHead,
  probeSchedule,
  resolveLinearHeadOptions,
} from "./mod.ts";
import { gpuTest, testGpu } from "../../../kernels/_testing.ts";
import { gaussianLabels, logisticRegressionLoss, macroAuc, meanBce } from "../_testing.ts";
import type { HostTensor } from "../../../core/tensor.ts";

Deno.test("linearHead defaults follow PROTOCOLS.md (lr 0.005, batch 1024, 50 epochs, AdamW)", () => {
  assert.equal(linearHead.name, "linear");
  assert.equal(LINEAR_HEAD_DEFAULTS.lr, 0.005);
  assert.equal(LINEAR_HEAD_DEFAULTS.batchSize, 1024);
  assert.equal(LINEAR_HEAD_DEFAULTS.epochs, 50);
  const hp = linearHead.create().hyperparameters;
  assert.equal(hp.lr, 0.005);
  assert.equal(hp.task, "multilabel");
  assert.throws(() => resolveLinearHeadOptions({ batchSize: 0 }), RangeError);
  assert.throws(() => resolveLinearHeadOptions({ task: "regression" }), TypeError);
  assert.throws(() => resolveLinearHeadOptions({ standardize: "yes" }), TypeError);
});

Deno.test("linear head rejects bad inputs with shapes in the message", async () => {
  const head = createLinearHead({ device: "cpu", epochs: 1 });
  const x = { data: new Float32Array(6), shape: [3, 2] };
  await assert.rejects(
    () => head.fit(x, { data: new Float32Array(4), shape: [4] }),
    /targets must have 3 rows like the features: current shape is \[4\]/,
  );
  await assert.rejects(() => head.predict(x), /not trained: call fit\(\) first/);
  const bad = { data: new Float32Array([0, NaN, 0, 0, 0, 0]), shape: [3, 2] };
  await assert.rejects(() => head.fit(bad, { data: new Float32Array(3), shape: [3] }), RangeError);
  await assert.rejects(
    () =>
      createLinearHead({ task: "multiclass", device: "cpu" }).fit(x, {
        data: new Float32Array([0, 1.5, 1]),
        shape: [3],
      }),
    /class indices must be non-negative integers/,
  );
});

// The separable-but-overlapping problem: 3 labels, Bayes AUC Φ(4/√2) ≈ 0.998.
// Features are scaled by 4 so that the optimal weights are O(1) and 800 AdamW
// steps at the protocol's lr reach them (batch 256 × 50 epochs on 4096 rows).
// Weight decay is 0 here because the reference is the *unregularised*
// logistic regression optimum.
const N = 4096;
const F = 24;
const K = 3;
const train = gaussianLabels(N, F, K, 7, { scale: 4, delta: 4 });
const test = gaussianLabels(2048, F, K, 7, { scale: 4, delta: 4, sampleSeed: 8 });
const optimum = logisticRegressionLoss(train.x, train.y);
const probeOptions = { batchSize: 256, weightDecay: 0, minSteps: 0 };

async function checkProbe(device: "cpu" | "webgpu"): Promise<Float32Array> {
  const head = createLinearHead({
    ...probeOptions,
    device,
    gpu: device === "webgpu" ? await testGpu() : undefined,
  });
  const report = await head.fit(train.x, train.y, { seed: 1 });
  assert.equal(report.losses.length, 50);
  assert.equal(head.hyperparameters.device, device);
  const trainLoss = meanBce((await head.predict(train.x)).data, train.y.data);
  assert.ok(
    Math.abs(trainLoss - optimum) <= 1e-3,
    `${device}: probe loss ${trainLoss} vs logistic regression optimum ${optimum}`,
  );
  const auc = macroAuc(await head.predict(test.x), test.y);
  assert.ok(auc >= 0.99, `${device}: test AUC ${auc}`);
  return head.parameters.weight.data;
}

Deno.test("linear probe (CPU) reaches AUC ≥ 0.99 and the logistic-regression optimum within 1e-3", async () => {
  await checkProbe("cpu");
});

gpuTest(
  "linear probe (WebGPU) reaches AUC ≥ 0.99 and the logistic-regression optimum within 1e-3",
  async () => {
    await checkProbe("webgpu");
  },
);

gpuTest("linear probe is deterministic for a seed, and save/load round-trips", async (gpu) => {
  const x: HostTensor = { data: train.x.data.subarray(0, 1000 * F), shape: [1000, F] };
  const y: HostTensor = { data: train.y.data.subarray(0, 1000 * K), shape: [1000, K] };
  const fit = async (seed: number) => {
    const head = createLinearHead({
      epochs: 3,
      batchSize: 300,
      minSteps: 0,
      gpu,
      standardize: true,
    });
    const r = await head.fit(x, y, { seed });
    return { head, r };
  };
  const a = await fit(5);
  const b = await fit(5);
  const c = await fit(6);
  assert.deepEqual(a.r.losses, b.r.losses);
  assert.deepEqual(a.head.parameters.weight.data, b.head.parameters.weight.data);
  assert.notDeepEqual(a.head.parameters.weight.data, c.head.parameters.weight.data);
  const loaded = linearHead.load(a.head.save(), { gpu });
  assert.deepEqual((await loaded.predict(test.x)).data, (await a.head.predict(test.x)).data);
  assert.equal(loaded.hyperparameters.standardize, true);
  const onCpu = linearHead.load(a.head.save(), { device: "cpu" });
  const pc = (await onCpu.predict(test.x)).data;
  const pg = (await a.head.predict(test.x)).data;
  for (let i = 0; i < pc.length; i++) assert.ok(Math.abs(pc[i] - pg[i]) < 1e-5);
  assert.throws(() => linearHead.load(new Uint8Array(16)), SyntaxError);
});

gpuTest(
  "linear probe multi-class (softmax CE) learns three classes on WebGPU and CPU alike",
  async (gpu) => {
    const n = 600;
    const src = gaussianLabels(n, 8, 2, 3, { delta: 6 });
    const cls = new Float32Array(n);
    for (let i = 0; i < n; i++) cls[i] = src.y.data[i * 2] + src.y.data[i * 2 + 1]; // 0, 1 or 2
    const y = { data: cls, shape: [n] };
    const losses: number[][] = [];
    for (const device of ["webgpu", "cpu"] as const) {
      const head = createLinearHead({
        task: "multiclass",
        epochs: 30,
        batchSize: 64,
        minSteps: 0,
        lr: 0.02,
        device,
        gpu,
      });
      const r = await head.fit(src.x, y, { seed: 2 });
      losses.push(r.losses);
      const p = await head.predict(src.x);
      assert.deepEqual(p.shape, [n, 3]);
      let correct = 0;
      for (let i = 0; i < n; i++) {
        const row = [...p.data.subarray(i * 3, i * 3 + 3)];
        if (row.indexOf(Math.max(...row)) === cls[i]) correct++;
        assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-5);
      }
      assert.ok(correct / n > 0.85, `${device} accuracy ${correct / n}`);
    }
    for (let e = 0; e < 30; e++) {
      assert.ok(
        Math.abs(losses[0][e] - losses[1][e]) < 1e-3 * (1 + losses[1][e]),
      );
    }
  },
);

Deno.test("linear probe on a small set trains to minSteps (or convergence) and records it", async () => {
  // 150 rows at batch 1024: the report's 50 epochs are 50 steps
  const small = gaussianLabels(150, 16, 3, 11, { scale: 1, delta: 1.5 });
  const fit = async (options: Record<string, unknown>) => {
    const head = createLinearHead({ device: "cpu", ...options });
    const report = await head.fit(small.x, small.y, { seed: 3 });
    return { head, report, loss: meanBce((await head.predict(small.x)).data, small.y.data) };
  };
  const fixed = await fit({ minSteps: 0 });
  assert.equal(fixed.report.losses.length, 50);
  assert.equal(fixed.head.hyperparameters.steps, 50);
  assert.equal(fixed.head.hyperparameters.stopReason, "epochs");
  const budget = await fit({ minSteps: 400, tolerance: 0 });
  assert.equal(budget.report.losses.length, 400);
  const hp = budget.head.hyperparameters;
  assert.deepEqual([hp.stepsPerEpoch, hp.epochsRun, hp.steps, hp.stopReason], [
    1,
    400,
    400,
    "min-steps",
  ]);
  assert.match(String(hp.trainingNote), /50 epochs of 1 step\(s\) are fewer than minSteps 400/);
  assert.ok(budget.loss < fixed.loss - 0.01, `${budget.loss} vs ${fixed.loss}`);
  // the first 50 epochs are the same training
  assert.deepEqual(budget.report.losses.slice(0, 50), fixed.report.losses);
  // a loose tolerance stops the extra epochs early, never before the report's 50
  const converged = await fit({ minSteps: 400, tolerance: 0.05, patience: 2 });
  const c = converged.head.hyperparameters;
  assert.equal(c.stopReason, "epochs");
  assert.equal(c.epochsRun, 50);
  const loose = await fit({ minSteps: 400, tolerance: 0.002, patience: 3 });
  const l = loose.head.hyperparameters;
  assert.equal(l.stopReason, "converged");
  assert.ok((l.epochsRun as number) > 50 && (l.epochsRun as number) < 400, `${l.epochsRun}`);
  const deltas = loose.report.losses.slice(-4).map((v, i, a) =>
    i === 0 ? 0 : (a[i - 1] - v) / a[i - 1]
  );
  assert.ok(deltas.slice(1).every((d) => d < 0.002), `${deltas}`);
  assert.match(String((hp.sources as Record<string, string>).minSteps), /not stated in the report/);
  assert.equal((hp.sources as Record<string, string>).lr, "report (0.005)");
  assert.throws(() => createLinearHead({ minSteps: -1 }), RangeError);
  assert.throws(() => createLinearHead({ patience: 0 }), RangeError);
});

Deno.test("probeSchedule: the report's epochs, extended to minSteps only when they are fewer", () => {
  assert.deepEqual(probeSchedule(LINEAR_HEAD_DEFAULTS, 150), {
    stepsPerEpoch: 1,
    minEpochs: 50,
    maxEpochs: 1000,
  });
  // ~100,000 images (NIH-14 train): 98 steps per epoch, 4,900 steps, no extension
  assert.deepEqual(probeSchedule(LINEAR_HEAD_DEFAULTS, 100_000), {
    stepsPerEpoch: 98,
    minEpochs: 50,
    maxEpochs: 50,
  });
  assert.equal(probeSchedule({ ...LINEAR_HEAD_DEFAULTS, minSteps: 1001 }, 2048).maxEpochs, 501);
});

gpuTest("linear probe extends to minSteps on WebGPU as on the CPU", async (gpu) => {
  const small = gaussianLabels(64, 8, 2, 5, { scale: 1, delta: 1.5 });
  const losses: number[][] = [];
  for (const device of ["webgpu", "cpu"] as const) {
    const head = createLinearHead({ device, gpu, epochs: 10, minSteps: 60, tolerance: 0 });
    const r = await head.fit(small.x, small.y, { seed: 4 });
    assert.equal(head.hyperparameters.steps, 60);
    assert.equal(head.hyperparameters.stopReason, "min-steps");
    losses.push(r.losses);
    head.dispose();
  }
  assert.equal(losses[0].length, 60);
  for (let e = 0; e < 60; e++) {
    assert.ok(Math.abs(losses[0][e] - losses[1][e]) < 1e-3 * (1 + losses[1][e]), `epoch ${e}`);
  }
});

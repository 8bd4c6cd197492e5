import assert from "node:assert/strict";
import { abmilHead, createAbmilHead } from "./mod.ts";
import { abmilBackwardRef, abmilForwardRef, type AbmilParams, crossEntropy } from "./abmil_ref.ts";
import { abmilGradientsGpu } from "./model.ts";
import { AbmilCpu } from "./onnx.ts";
import { assertAllClose, gpuTest, randomTensor, seededRandom } from "../../../kernels/_testing.ts";
import { gaussian, rocAuc } from "../_testing.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import type { GpuContext } from "../../../core/gpu.ts";

function randomParams(f: number, l: number, d: number, k: number, seed: number): AbmilParams {
  const r = (shape: number[], s: number) => randomTensor(shape, seed * 10 + s, 0.5).data;
  return {
    w1: r([l, f], 1),
    b1: r([l], 2),
    vu: r([2 * d, l], 3),
    bvu: r([2 * d], 4),
    w: r([d], 5),
    c: r([k, l], 6),
    cb: r([k], 7),
    f,
    l,
    d,
    k,
  };
}

Deno.test("abmilBackwardRef() matches finite differences of the bag cross-entropy", () => {
  const p = randomParams(5, 4, 3, 3, 1);
  const bag = randomTensor([6, 5], 2);
  const { grads, loss } = abmilBackwardRef(p, bag, 2);
  assert.ok(Math.abs(loss - crossEntropy(abmilForwardRef(p, bag).logits, 2)) < 1e-12);
  for (const name of ["w1", "b1", "vu", "bvu", "w", "c", "cb"] as const) {
    const t = p[name];
    const fd = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const v = t[i];
      const eps = 1e-4;
      t[i] = v + eps;
      const up = crossEntropy(abmilForwardRef(p, bag).logits, 2);
      t[i] = v - eps;
      const down = crossEntropy(abmilForwardRef(p, bag).logits, 2);
      t[i] = v;
      fd[i] = (up - down) / (2 * eps);
    }
    assertAllClose(grads[name], fd, { atol: 2e-4, rtol: 2e-3 }, name);
  }
});

Deno.test({
  name: "ABMIL onnxruntime CPU step matches abmilBackwardRef() (loss, every gradient, attention)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (const [n, f, l, d, k] of [[1, 8, 8, 4, 2], [37, 13, 12, 6, 3], [500, 96, 32, 16, 2]]) {
      const p = randomParams(f, l, d, k, n);
      const bag = randomTensor([n, f], 3 + n);
      const ref = abmilBackwardRef(p, bag, 1);
      const cpu = new AbmilCpu(p);
      const got = await cpu.step(p, bag, 1);
      assert.ok(
        Math.abs(got.loss - ref.loss) < 1e-5 * (1 + ref.loss),
        `loss ${got.loss} vs ${ref.loss}`,
      );
      for (const name of ["w1", "b1", "vu", "bvu", "w", "c", "cb"] as const) {
        assertAllClose(
          got.grads[name],
          ref.grads[name],
          { atol: 1e-5, rtol: 1e-3 },
          `${n}: ${name}`,
        );
      }
      const fw = await cpu.forward(p, bag);
      assertAllClose(fw.attention, ref.forward.a, { atol: 1e-6, rtol: 1e-4 });
      assertAllClose(fw.logits, ref.forward.logits, { atol: 1e-5, rtol: 1e-4 });
      await cpu.release();
    }
  },
});

gpuTest("ABMIL device auto takes the CPU on a software adapter and says why", async (gpu) => {
  const head = createAbmilHead({ hiddenDim: 8, attentionDim: 4, epochs: 1, gpu });
  await head.fit(train.bags.slice(0, 4), { data: train.y.data.slice(0, 4), shape: [4] });
  assert.equal(head.hyperparameters.device, gpu.info.isSoftware ? "cpu" : "webgpu");
  assert.match(String(head.hyperparameters.deviceReason), /^auto: /);
  head.dispose();
});

// [N, F, L, D, K]: one instance, odd sizes (scalar kernels), a 20,000-instance bag.
for (const [n, f, l, d, k] of [[1, 8, 8, 4, 2], [37, 13, 12, 6, 3], [20000, 64, 32, 16, 2]]) {
  gpuTest(
    `ABMIL WebGPU step matches abmilBackwardRef() on a bag [${n}, ${f}], L=${l}, D=${d}, K=${k}`,
    async (gpu) => {
      const p = randomParams(f, l, d, k, n);
      const bag = randomTensor([n, f], 3 + n);
      const ref = abmilBackwardRef(p, bag, 1);
      const got = await abmilGradientsGpu(gpu, p, bag, 1);
      assert.ok(
        Math.abs(got.loss - ref.loss) < 1e-5 * (1 + ref.loss),
        `loss ${got.loss} vs ${ref.loss}`,
      );
      for (const name of ["w1", "b1", "vu", "bvu", "w", "c", "cb"] as const) {
        let scale = 0;
        for (const v of ref.grads[name]) scale = Math.max(scale, Math.abs(v));
        assertAllClose(got.grads[name], ref.grads[name], {
          atol: 1e-5 * (1 + scale) + 1e-7,
          rtol: 1e-3,
        }, name);
      }
    },
  );
}

/**
 * MIL problem: instances N(0, I) in 16 dims; a positive bag holds exactly one
 * instance shifted by 5 along a fixed direction. Returns bags, labels and the
 * position of the positive instance (−1 in negative bags).
 */
function milBags(
  count: number,
  seed: number,
): { bags: HostTensor[]; y: HostTensor; positive: number[] } {
  const f = 16;
  const dir = seededRandom(99);
  const u = Float64Array.from({ length: f }, () => gaussian(dir));
  const norm = Math.hypot(...u);
  const r = seededRandom(seed);
  const bags: HostTensor[] = [];
  const labels = new Float32Array(count);
  const positive: number[] = [];
  for (let b = 0; b < count; b++) {
    const n = 5 + Math.floor(r() * 26);
    const data = new Float32Array(n * f).map(() => gaussian(r));
    const label = b % 2;
    labels[b] = label;
    const at = label ? Math.floor(r() * n) : -1;
    if (label) { for (let j = 0; j < f; j++) data[at * f + j] += 5 * u[j] / norm; }
    positive.push(at);
    bags.push({ data, shape: [n, f] });
  }
  return { bags, y: { data: labels, shape: [count] }, positive };
}

const train = milBags(80, 1);
const test = milBags(60, 2);
const options = { hiddenDim: 32, attentionDim: 16, epochs: 10, lr: 5e-3 };

async function checkLearns(
  device: "cpu" | "webgpu",
  gpu?: GpuContext,
): Promise<void> {
  const head = createAbmilHead({ ...options, device, gpu });
  const report = await head.fit(train.bags, train.y, { seed: 3 });
  assert.equal(head.hyperparameters.device, device);
  assert.ok(report.losses.at(-1)! < report.losses[0]);
  const p = await head.predict(test.bags);
  const scores = Array.from({ length: 60 }, (_, i) => p.data[i * 2 + 1]);
  const auc = rocAuc(scores, test.y.data);
  assert.ok(auc >= 0.95, `${device}: bag AUC ${auc}`);
  const attention = await head.attention(test.bags);
  let first = 0;
  let positives = 0;
  attention.forEach((a, i) => {
    assert.ok(Math.abs(a.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    if (test.positive[i] < 0) return;
    positives++;
    if (a.indexOf(Math.max(...a)) === test.positive[i]) first++;
  });
  assert.equal(
    first,
    positives,
    `${device}: the positive instance ranks first in ${first} of ${positives} positive bags`,
  );
}

Deno.test("ABMIL (CPU) learns 'one positive instance makes the bag positive' and attends to it", async () => {
  await checkLearns("cpu");
});

gpuTest(
  "ABMIL (WebGPU) learns 'one positive instance makes the bag positive' and attends to it",
  async (gpu) => {
    await checkLearns("webgpu", gpu);
  },
);

gpuTest(
  "ABMIL is deterministic for a seed, save/load round-trips, and bad input is rejected",
  async (gpu) => {
    const small = { ...options, epochs: 2, gpu, device: "webgpu" as const };
    const a = createAbmilHead(small);
    const b = createAbmilHead(small);
    const ra = await a.fit(train.bags.slice(0, 20), {
      data: train.y.data.slice(0, 20),
      shape: [20],
    }, { seed: 7 });
    const rb = await b.fit(train.bags.slice(0, 20), {
      data: train.y.data.slice(0, 20),
      shape: [20],
    }, { seed: 7 });
    assert.deepEqual(ra.losses, rb.losses);
    assert.deepEqual(a.parameters.w1, b.parameters.w1);
    const loaded = abmilHead.load(a.save(), { gpu, device: "webgpu" });
    assert.deepEqual((await loaded.predict(test.bags)).data, (await a.predict(test.bags)).data);
    const onCpu = abmilHead.load(a.save(), { device: "cpu" });
    assertAllClose((await onCpu.predict(test.bags)).data, (await a.predict(test.bags)).data, {
      atol: 1e-5,
      rtol: 1e-4,
    });
    await assert.rejects(
      () => a.predict([{ data: new Float32Array(3), shape: [1, 3] }]),
      /must be a non-empty \[N, 16\]/,
    );
    await assert.rejects(() =>
      createAbmilHead(small).fit(train.bags.slice(0, 2), {
        data: new Float32Array([0, 2]),
        shape: [2],
      }), RangeError);
  },
);

gpuTest(
  "ABMIL trains on a bag of 20,000 ViT-B tiles (768 features) within the binding limit",
  async (gpu) => {
    const bag = randomTensor([20000, 768], 5);
    const head = createAbmilHead({
      hiddenDim: 8,
      attentionDim: 4,
      epochs: 1,
      gpu,
      device: "webgpu",
    });
    const report = await head.fit([bag, randomTensor([1, 768], 6)], {
      data: new Float32Array([1, 0]),
      shape: [2],
    });
    assert.ok(Number.isFinite(report.losses[0]));
    const [a] = await head.attention([bag]);
    assert.equal(a.length, 20000);
  },
);

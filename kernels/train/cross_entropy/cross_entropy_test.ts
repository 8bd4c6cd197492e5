import assert from "node:assert/strict";
import { checkLossArgs, packLossParams, sigmoidBce, softmaxCrossEntropy } from "./cross_entropy.ts";
import { sigmoidBceRef, softmaxCrossEntropyRef } from "./cross_entropy_ref.ts";
import { assertAllClose, gpuTest, randomTensor, seededRandom } from "../../_testing.ts";
import type { HostTensor } from "../../../core/tensor.ts";

function binaryTargets(shape: number[], seed: number): HostTensor {
  const rand = seededRandom(seed);
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) data[i] = rand() < 0.4 ? 1 : 0;
  return { data, shape };
}

function oneHot(n: number, k: number, seed: number): HostTensor {
  const rand = seededRandom(seed);
  const data = new Float32Array(n * k);
  for (let r = 0; r < n; r++) data[r * k + Math.floor(rand() * k)] = 1;
  return { data, shape: [n, k] };
}

function sum(t: HostTensor): number {
  let s = 0;
  for (const v of t.data) s += v;
  return s;
}

/** Central differences of `loss(logits)` in float64 logits (the refs compute in float64). */
function finiteDifferences(z: HostTensor, loss: () => number): Float64Array {
  const g = new Float64Array(z.data.length);
  const eps = 1e-2;
  for (let i = 0; i < z.data.length; i++) {
    const v = z.data[i];
    z.data[i] = v + eps;
    const up = loss();
    z.data[i] = v - eps;
    const down = loss();
    z.data[i] = v;
    g[i] = (up - down) / (2 * eps) / 1; // derivative of the summed loss
  }
  return g;
}

Deno.test("sigmoidBceRef() gradient matches finite differences of its loss", () => {
  // Logits on a grid of exactly representable values so z ± eps stays accurate.
  const z = randomTensor([6, 4], 1, 4);
  for (let i = 0; i < z.data.length; i++) z.data[i] = Math.round(z.data[i] * 64) / 64;
  const y = binaryTargets([6, 4], 2);
  const fd = finiteDifferences(z, () => sum(sigmoidBceRef(z, y).loss));
  assertAllClose(sigmoidBceRef(z, y).grad.data, fd, { atol: 2e-4, rtol: 1e-3 });
  // gradScale scales only the gradient.
  const half = sigmoidBceRef(z, y, 0.5);
  assertAllClose(half.grad.data, fd.map((v) => v / 2), { atol: 1e-4, rtol: 1e-3 });
});

Deno.test("softmaxCrossEntropyRef() gradient matches finite differences of its loss", () => {
  const z = randomTensor([5, 7], 3, 3);
  for (let i = 0; i < z.data.length; i++) z.data[i] = Math.round(z.data[i] * 64) / 64;
  for (const y of [oneHot(5, 7, 4), { data: new Float32Array(35).fill(1 / 7), shape: [5, 7] }]) {
    const fd = finiteDifferences(z, () => sum(softmaxCrossEntropyRef(z, y).loss));
    assertAllClose(softmaxCrossEntropyRef(z, y).grad.data, fd, { atol: 2e-4, rtol: 1e-3 });
  }
});

Deno.test("sigmoidBceRef() and softmaxCrossEntropyRef() are stable for large logits", () => {
  const z = { data: new Float32Array([80, -80, 0, 1000]), shape: [2, 2] };
  const y = { data: new Float32Array([1, 0, 1, 0]), shape: [2, 2] };
  const bce = sigmoidBceRef(z, y);
  assert.ok(bce.loss.data.every(Number.isFinite));
  assert.equal(bce.loss.data[3], 1000);
  const ce = softmaxCrossEntropyRef(z, y);
  assert.ok(ce.loss.data.every(Number.isFinite));
  assert.equal(ce.loss.data[0], 0);
  assert.equal(ce.loss.data[1], 1000);
});

Deno.test("checkLossArgs() rejects bad shapes and scales; packLossParams() lays out 16 bytes", () => {
  assert.throws(
    () => checkLossArgs("softmaxCrossEntropy", { shape: [4] }, { shape: [4] }),
    TypeError,
  );
  assert.throws(
    () => checkLossArgs("sigmoidBce", { shape: [4, 2] }, { shape: [4, 2] }, NaN),
    RangeError,
  );
  const p = new DataView(packLossParams(3, 5, 0.25));
  assert.deepEqual([p.getUint32(0, true), p.getUint32(4, true), p.getFloat32(8, true)], [
    3,
    5,
    0.25,
  ]);
});

for (const [n, k] of [[1024, 14], [1, 1], [37, 3], [130, 65]]) {
  gpuTest(
    `sigmoidBce() and softmaxCrossEntropy() match the references on [${n}, ${k}]`,
    async (gpu) => {
      const z = randomTensor([n, k], n + k, 6);
      const gz = gpu.uploadTensor(z);
      const scale = 1 / (n * k);
      const yb = binaryTargets([n, k], 7);
      const bce = await sigmoidBce(gpu, {
        logits: gz,
        targets: gpu.uploadTensor(yb),
        gradScale: scale,
      });
      const rb = sigmoidBceRef(z, yb, scale);
      assertAllClose(
        await gpu.readTensor(bce.loss),
        rb.loss,
        { atol: 1e-5, rtol: 1e-5 },
        "bce loss",
      );
      assertAllClose(
        await gpu.readTensor(bce.grad),
        rb.grad,
        { atol: 1e-7, rtol: 1e-5 },
        "bce grad",
      );
      const yc = oneHot(n, k, 8);
      const ce = await softmaxCrossEntropy(gpu, {
        logits: gz,
        targets: gpu.uploadTensor(yc),
        gradScale: 1 / n,
      });
      const rc = softmaxCrossEntropyRef(z, yc, 1 / n);
      assertAllClose(await gpu.readTensor(ce.loss), rc.loss, { atol: 1e-5, rtol: 1e-5 }, "ce loss");
      assertAllClose(await gpu.readTensor(ce.grad), rc.grad, { atol: 1e-7, rtol: 1e-5 }, "ce grad");
    },
  );
}

import assert from "node:assert/strict";
import { checkSegLossArgs, segLoss, segLossFromSums, softmax3d } from "./dice_ce.ts";
import { type SegLossOptions, segLossRef } from "./dice_ce_ref.ts";
import { assertAllClose, gpuTest, randomTensor, seededRandom } from "../_testing.ts";
import { assertGradientMatches } from "../conv3d/_gradcheck.ts";
import type { HostTensor } from "../../core/tensor.ts";

const OPTS: SegLossOptions = {
  includeBackground: false,
  ceWeight: 1,
  diceWeight: 1,
  smoothNr: 1e-5,
  smoothDr: 1e-5,
};

function randomLabels(shape: number[], k: number, seed: number): HostTensor {
  const r = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => Math.floor(r() * k)), shape };
}

Deno.test("segLossRef() matches hand numbers", () => {
  // two voxels, two classes, logits 0 everywhere: p = 0.5
  const logits = { data: new Float32Array(4), shape: [1, 2, 2] };
  const labels = { data: new Float32Array([0, 1]), shape: [1, 2] };
  const { value, grad } = segLossRef(logits, labels, { ...OPTS, smoothNr: 0, smoothDr: 0 });
  // CE = ln 2; Dice_1 = 2·0.5 / (1 + 1) = 0.5
  assert.ok(Math.abs(value.ce - Math.LN2) < 1e-12);
  assert.ok(Math.abs(value.dice[1] - 0.5) < 1e-12);
  assert.ok(Math.abs(value.loss - (Math.LN2 + 0.5)) < 1e-12);
  // CE part of the gradient: (p − g)/2 = ∓0.25. Dice part: a_1 = −(2 g U − 2I)/U²
  // with U = 2, I = 0.5 → voxel 0 (g=0): 0.25, voxel 1 (g=1): −0.75; then
  // dz_c = p_c (a_c − Σ p a): voxel 0 → [−0.0625, 0.0625], voxel 1 → [0.1875, −0.1875].
  // Layout [N, K, S]: (c0 v0, c0 v1, c1 v0, c1 v1).
  assertAllClose(grad.data, [-0.25 - 0.0625, 0.25 + 0.1875, 0.25 + 0.0625, -0.25 - 0.1875], {
    atol: 1e-7,
  });
});

Deno.test("segLossFromSums() skips the background unless asked, and handles one class", () => {
  const sums = [0, 1, 1, 1, 1, 1, 0.5]; // [I0, I1, P0, P1, G0, G1, Σnll]
  const a = segLossFromSums(sums, 2, 2, { ...OPTS, smoothNr: 0, smoothDr: 0, ceWeight: 0 });
  assert.deepEqual(a.dice, [0, 1]);
  assert.equal(a.loss, 0);
  assert.equal(a.ce, 0.25);
  const b = segLossFromSums(sums, 2, 2, {
    ...OPTS,
    includeBackground: true,
    smoothNr: 0,
    smoothDr: 0,
    ceWeight: 0,
  });
  assert.equal(b.loss, 0.5);
  const one = segLossFromSums([1, 1, 1, 0], 1, 1, {
    ...OPTS,
    smoothNr: 0,
    smoothDr: 0,
    ceWeight: 0,
  });
  assert.deepEqual(one.dice, [1]);
});

for (
  const [shape, k, include] of [[[2, 3, 2, 2], 3, false], [[1, 2, 5], 2, true], [
    [1, 4, 3, 2],
    4,
    false,
  ]] as const
) {
  Deno.test(`segLossRef() gradient matches finite differences for K=${k} on [${shape}], background ${include}`, () => {
    const logits = randomTensor([shape[0], k, ...shape.slice(1)], 1, 2);
    const labels = randomLabels([...shape], k, 2);
    const opts = { ...OPTS, includeBackground: include, ceWeight: 0.7, diceWeight: 1.3 };
    const { grad } = segLossRef(logits, labels, opts);
    assertGradientMatches(
      "segLoss dlogits",
      () => segLossRef(logits, labels, opts).value.loss,
      logits.data,
      grad.data,
      {
        eps: 1e-3,
        atol: 1e-4,
      },
    );
  });
}

Deno.test("checkSegLossArgs() rejects bad shapes and weights without a GPU", () => {
  const l = { shape: [1, 2, 3, 3], dtype: "f32" };
  assert.throws(() => checkSegLossArgs(l, { shape: [1, 3, 3], dtype: "f16" }, OPTS), TypeError);
  assert.throws(
    () => checkSegLossArgs(l, { shape: [1, 3, 3], dtype: "f32" }, { ...OPTS, ceWeight: -1 }),
    RangeError,
  );
  assert.throws(
    () => checkSegLossArgs(l, { shape: [1, 3, 3], dtype: "f32" }, { ...OPTS, smoothDr: 0 }),
    RangeError,
  );
  assert.throws(
    () => checkSegLossArgs({ shape: [2], dtype: "f32" }, { shape: [2], dtype: "f32" }, OPTS),
    TypeError,
  );
});

for (
  const [shape, k] of [[[2, 8, 16, 16], 2], [[1, 5, 7, 9], 3], [[1, 1, 1, 1], 2], [
    [1, 40, 40, 40],
    4,
  ]] as const
) {
  gpuTest(
    `segLoss() and softmax3d() match the references for K=${k} on [${shape}]`,
    async (gpu) => {
      const logits = randomTensor([shape[0], k, ...shape.slice(1)], 3, 3);
      const labels = randomLabels([...shape], k, 4);
      const ref = segLossRef(logits, labels, OPTS);
      const gl = gpu.uploadTensor(logits);
      const { dlogits, sums } = await segLoss(gpu, {
        logits: gl,
        labels: gpu.uploadTensor(labels),
        ...OPTS,
      });
      const voxels = labels.data.length;
      const value = segLossFromSums((await gpu.readTensor(sums)).data, k, voxels, OPTS);
      assert.ok(Math.abs(value.loss - ref.value.loss) < 1e-4, `${value.loss} vs ${ref.value.loss}`);
      assertAllClose(value.dice, ref.value.dice, { atol: 1e-5, rtol: 1e-4 }, "dice");
      let scale = 0;
      for (const g of ref.grad.data) scale = Math.max(scale, Math.abs(g));
      assertAllClose(
        await gpu.readTensor(dlogits),
        ref.grad,
        { atol: 1e-4 * scale, rtol: 1e-3 },
        "dlogits",
      );
      const probs = await softmax3d(gpu, { logits: gl });
      assertAllClose(await gpu.readTensor(probs), ref.probs, { atol: 1e-6, rtol: 1e-5 }, "probs");
    },
  );
}

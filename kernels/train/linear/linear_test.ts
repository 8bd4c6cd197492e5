import assert from "node:assert/strict";
import {
  checkLinearArgs,
  linearBackward,
  linearForward,
  linearInputGrad,
  packLinearParams,
} from "./linear.ts";
import { linearBackwardRef, linearForwardRef } from "./linear_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../../_testing.ts";
import type { HostTensor } from "../../../core/tensor.ts";

Deno.test("linearForwardRef() matches hand numbers", () => {
  const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  const w = { data: new Float32Array([1, 0, -1, 0.5, 0.5, 0.5, 2, -1, 0]), shape: [3, 3] };
  const b = { data: new Float32Array([0, 1, -2]), shape: [3] };
  const y = linearForwardRef(x, w, b);
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual([...y.data], [-2, 4, -2, -2, 8.5, 1]);
  assert.deepEqual([...linearForwardRef(x, w).data], [-2, 3, 0, -2, 7.5, 3]);
});

/** L(x, W, b) = Σ R ⊙ (x·Wᵀ + b), evaluated in float64 from float32 inputs. */
function projectedLoss(x: HostTensor, w: HostTensor, b: HostTensor, r: HostTensor): number {
  const y = linearForwardRef(x, w, b);
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += y.data[i] * r.data[i];
  return s;
}

/** Central finite differences of `loss` with respect to every element of `t`. */
function finiteDifferences(t: HostTensor, loss: () => number, eps: number): Float64Array {
  const g = new Float64Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    t.data[i] = v + eps;
    const up = loss();
    t.data[i] = v - eps;
    const down = loss();
    t.data[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

Deno.test("linearBackwardRef() matches finite differences on [7, 5] → [7, 3]", () => {
  const x = randomTensor([7, 5], 1);
  const w = randomTensor([3, 5], 2);
  const b = randomTensor([3], 3);
  const r = randomTensor([7, 3], 4); // dL/dy
  const g = linearBackwardRef(x, w, r);
  const loss = () => projectedLoss(x, w, b, r);
  // The loss is linear in each argument, so a large step is exact up to rounding.
  assertAllClose(g.dWeight.data, finiteDifferences(w, loss, 0.25), { atol: 1e-4, rtol: 1e-4 });
  assertAllClose(g.dBias.data, finiteDifferences(b, loss, 0.25), { atol: 1e-4, rtol: 1e-4 });
  assertAllClose(g.dx.data, finiteDifferences(x, loss, 0.25), { atol: 1e-4, rtol: 1e-4 });
});

Deno.test("checkLinearArgs() rejects mismatched shapes and dtypes without a GPU", () => {
  assert.throws(
    () =>
      checkLinearArgs({ x: { shape: [4, 3] }, weight: { shape: [2, 3] }, bias: { shape: [3] } }),
    /Cannot run linear as bias must have shape \[2\]: current shape is \[3\]/,
  );
  assert.throws(
    () =>
      checkLinearArgs({ x: { shape: [4, 3] }, weight: { shape: [2, 3] }, dy: { shape: [4, 3] } }),
    /dy must have shape \[4, 2\]: current shape is \[4, 3\]/,
  );
  assert.throws(
    () => checkLinearArgs({ x: { shape: [0, 3] }, weight: { shape: [2, 3] } }),
    RangeError,
  );
  assert.throws(
    () => checkLinearArgs({ x: { shape: [4, 3], dtype: "f16" }, weight: { shape: [2, 3] } }),
    TypeError,
  );
  assert.throws(
    () => checkLinearArgs({ x: { shape: [12] }, weight: { shape: [2, 3] } }),
    TypeError,
  );
});

Deno.test("packLinearParams() lays out rows, cols, depth, threads and inner blocks", () => {
  assert.deepEqual(
    [...new Uint32Array(packLinearParams("forward", { n: 9, f: 8, k: 5 }))],
    [9, 5, 2, 6, 2, 0, 0, 0],
  );
  assert.deepEqual(
    [...new Uint32Array(packLinearParams("weight_grad", { n: 9, f: 7, k: 5 }))],
    [9, 5, 7, 14, 7, 0, 0, 0],
  );
  assert.deepEqual(
    [...new Uint32Array(packLinearParams("input_grad", { n: 9, f: 8, k: 5 }))],
    [9, 5, 2, 6, 2, 0, 0, 0],
  );
});

// [N, F, K]: the linear probe on ViT-B features with 14 labels, ABMIL's
// projection, odd sizes (scalar path, partial 4×4 blocks), a single row/column.
const SHAPES: [number, number, number][] = [
  [1024, 768, 14],
  [301, 384, 128],
  [7, 13, 5],
  [33, 12, 17],
  [1, 1, 1],
  [130, 20, 1],
  [2, 3, 65],
];

for (const [n, f, k] of SHAPES) {
  gpuTest(
    `linearForward() and linearBackward() match the references on [${n}, ${f}] → [${n}, ${k}]`,
    async (gpu) => {
      const x = randomTensor([n, f], 10 + n);
      const w = randomTensor([k, f], 20 + k);
      const b = randomTensor([k], 30 + k);
      const dy = randomTensor([n, k], 40 + f);
      const gx = gpu.uploadTensor(x);
      const gw = gpu.uploadTensor(w);
      const y = await linearForward(gpu, { x: gx, weight: gw, bias: gpu.uploadTensor(b) });
      const tol = { atol: 1e-5 * Math.sqrt(f), rtol: 1e-4 };
      assertAllClose(await gpu.readTensor(y), linearForwardRef(x, w, b), tol, "y");
      const yNoBias = await linearForward(gpu, { x: gx, weight: gw });
      assertAllClose(await gpu.readTensor(yNoBias), linearForwardRef(x, w), tol, "y without bias");
      const g = await linearBackward(gpu, {
        x: gx,
        weight: gw,
        dy: gpu.uploadTensor(dy),
        inputGrad: true,
      });
      const ref = linearBackwardRef(x, w, dy);
      const tolN = { atol: 1e-5 * Math.sqrt(n), rtol: 1e-4 };
      assertAllClose(await gpu.readTensor(g.dWeight), ref.dWeight, tolN, "dWeight");
      assertAllClose(await gpu.readTensor(g.dBias), ref.dBias, tolN, "dBias");
      assertAllClose(
        await gpu.readTensor(g.dx!),
        ref.dx,
        { atol: 1e-5 * Math.sqrt(k), rtol: 1e-4 },
        "dx",
      );
    },
  );
}

gpuTest("linearInputGrad() accumulates into out and writes into a larger buffer", async (gpu) => {
  const dy = randomTensor([9, 6], 1);
  const w = randomTensor([6, 10], 2);
  const base = randomTensor([9, 10], 3);
  const out = gpu.uploadTensor({ data: new Float32Array([...base.data, 7, 7, 7, 7]), shape: [94] });
  const dx = await linearInputGrad(gpu, {
    dy: gpu.uploadTensor(dy),
    weight: gpu.uploadTensor(w),
    out: { ...out, shape: [9, 10] },
    accumulate: true,
  });
  const all = new Float32Array(await gpu.readback(dx.buffer, 94 * 4));
  const x0 = { data: new Float32Array(9 * 10), shape: [9, 10] };
  const expected = linearBackwardRef(x0, w, dy).dx.data.map((v, i) => v + base.data[i]);
  assertAllClose(all.subarray(0, 90), expected, { atol: 1e-5, rtol: 1e-5 });
  assert.deepEqual([...all.subarray(90)], [7, 7, 7, 7]);
  await assert.rejects(
    () =>
      linearInputGrad(gpu, {
        dy: gpu.uploadTensor(dy),
        weight: gpu.uploadTensor(w),
        accumulate: true,
      }),
    TypeError,
  );
});

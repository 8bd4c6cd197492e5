import assert from "node:assert/strict";
import { checkColumnSumArgs, columnSum, packColumnSumParams } from "./column_sum.ts";
import { columnSumRef } from "./column_sum_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../../_testing.ts";

Deno.test("columnSumRef() matches hand numbers", () => {
  const x = { data: new Float32Array([1, -2, 3, 4, 5, -6]), shape: [2, 3] };
  assert.deepEqual([...columnSumRef(x).data], [5, 3, -3]);
  assert.deepEqual([...columnSumRef({ data: x.data, shape: [6, 1] }, 2).data], [10]);
});

Deno.test("checkColumnSumArgs() rejects bad shapes and offsets", () => {
  assert.throws(() => checkColumnSumArgs({ shape: [0, 3] }), RangeError);
  assert.throws(() => checkColumnSumArgs({ shape: [2, 3] }, -1), RangeError);
  assert.throws(() => checkColumnSumArgs({ shape: [2, 3], dtype: "f16" }), TypeError);
  assert.deepEqual([...new Uint32Array(packColumnSumParams(4, 5, 6, 1)).slice(0, 3)], [4, 5, 6]);
});

for (const [r, c] of [[1024, 14], [1, 1], [20000, 3], [7, 300], [65, 1], [20000, 256], [3, 64]]) {
  gpuTest(`columnSum() matches columnSumRef() on [${r}, ${c}]`, async (gpu) => {
    const x = randomTensor([r, c], r + c);
    const out = await columnSum(gpu, { x: gpu.uploadTensor(x), alpha: 0.5 });
    assertAllClose(await gpu.readTensor(out), columnSumRef(x, 0.5), {
      atol: 1e-6 * Math.sqrt(r),
      rtol: 1e-5,
    });
  });
}

gpuTest(
  "columnSum() writes at an offset of an existing buffer and is deterministic",
  async (gpu) => {
    const x = randomTensor([5000, 2], 3);
    const out = gpu.uploadTensor({ data: new Float32Array([9, 9, 9, 9, 9]), shape: [5] });
    const gx = gpu.uploadTensor(x);
    await columnSum(gpu, { x: gx, out, offset: 2 });
    const first = new Float32Array(await gpu.readback(out.buffer, 20));
    assert.deepEqual([...first.subarray(0, 2)], [9, 9]);
    assert.equal(first[4], 9);
    assertAllClose(first.subarray(2, 4), columnSumRef(x).data, { atol: 1e-4, rtol: 1e-5 });
    await columnSum(gpu, { x: gx, out, offset: 2 });
    assert.deepEqual([...new Float32Array(await gpu.readback(out.buffer, 20))], [...first]);
  },
);

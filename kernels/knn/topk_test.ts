import assert from "node:assert/strict";
import { checkTopKArgs, packTopKParams, topk } from "./topk.ts";
import { topkRef } from "./topk_ref.ts";
import { gpuTest, seededRandom } from "../_testing.ts";
import type { HostTensor } from "../../core/tensor.ts";

Deno.test("topkRef() orders by score descending, then index ascending", () => {
  const s = { data: new Float32Array([0.5, 0.9, 0.5, 0.1, 0.9, 0.7, 0, 0, 0, 1]), shape: [2, 5] };
  const r = topkRef(s, 3);
  assert.deepEqual([...r.indices], [1, 4, 0, 4, 0, 1]);
  assert.deepEqual([...r.values], [0.9, 0.9, 0.5, 1, 0.7, 0].map(Math.fround));
});

Deno.test("checkTopKArgs() rejects bad k, shapes and offsets; packTopKParams() lays out 8 u32", () => {
  assert.throws(() => checkTopKArgs({ shape: [2, 5] }, 0), RangeError);
  assert.throws(() => checkTopKArgs({ shape: [2, 500] }, 257), RangeError);
  assert.throws(() => checkTopKArgs({ shape: [10] }, 1), TypeError);
  assert.throws(() => checkTopKArgs({ shape: [2, 5] }, 1, -1), RangeError);
  assert.deepEqual([...new Uint32Array(packTopKParams(1, 2, 3, 4, 5, 6))], [
    1,
    2,
    3,
    4,
    5,
    6,
    0,
    0,
  ]);
});

/** Scores on a coarse grid so that many tie exactly. */
function tiedScores(q: number, m: number, seed: number): HostTensor {
  const r = seededRandom(seed);
  return { data: new Float32Array(q * m).map(() => Math.round(r() * 50) / 50), shape: [q, m] };
}

for (const [q, m, k] of [[1, 1, 1], [3, 1000, 28], [5, 70000, 20], [33, 257, 64], [2, 600, 100]]) {
  gpuTest(`topk() matches topkRef() with ties on [${q}, ${m}], k=${k}`, async (gpu) => {
    const s = tiedScores(q, m, q * m + k);
    const out = await topk(gpu, { scores: gpu.uploadTensor(s), k, indexOffset: 0 });
    const ref = topkRef(s, k);
    assert.deepEqual(new Uint32Array(await gpu.readback(out.indices, q * k * 4)), ref.indices);
    assert.deepEqual(new Float32Array(await gpu.readback(out.values, q * k * 4)), ref.values);
  });
}

gpuTest("topk() adds indexOffset to the returned indices", async (gpu) => {
  const s = tiedScores(2, 300, 9);
  const out = await topk(gpu, { scores: gpu.uploadTensor(s), k: 5, indexOffset: 1000 });
  const ref = topkRef(s, 5);
  assert.deepEqual(
    [...new Uint32Array(await gpu.readback(out.indices, 40))],
    [...ref.indices].map((i) => i + 1000),
  );
});

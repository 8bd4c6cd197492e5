import assert from "node:assert/strict";
import {
  checkLayerNormArgs,
  checkTokenMeanArgs,
  layerNorm,
  packLayerNormParams,
  tokenMean,
} from "./layer_norm.ts";
import { layerNormRef, tokenMeanRef } from "./layer_norm_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";

Deno.test("layerNormRef() matches the hand-checked candle numbers", () => {
  const y = layerNormRef(
    { data: new Float32Array([3, 1, 4, 1, 5, 9]), shape: [2, 3] },
    {
      weight: { data: new Float32Array([1, 2, 3]), shape: [3] },
      bias: { data: new Float32Array([0.5, 0, -0.2]), shape: [3] },
      eps: 1e-5,
    },
  );
  assertAllClose(y.data.subarray(0, 3), [0.7673, -2.6726, 3.0071], { atol: 1e-4, rtol: 0 });
  // Row 1: mean 5, biased variance 32/3.
  const inv = 1 / Math.sqrt(32 / 3 + 1e-5);
  assertAllClose(y.data.subarray(3), [-4 * inv + 0.5, 0, 4 * inv * 3 - 0.2], { atol: 1e-6 });
});

Deno.test("tokenMeanRef() averages the requested token range", () => {
  const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2] };
  assert.deepEqual([...tokenMeanRef(x, 0, 2).data], [2, 3, 6, 7]);
  assert.deepEqual([...tokenMeanRef(x, 1, 1).data], [3, 4, 7, 8]);
});

Deno.test("checkLayerNormArgs() and checkTokenMeanArgs() reject bad arguments", () => {
  assert.throws(
    () => checkLayerNormArgs({ x: [201, 768], weight: [768], bias: [384], eps: 1e-5 }),
    /bias must have shape \[768\]: current shape is \[384\]/,
  );
  assert.throws(
    () => checkLayerNormArgs({ x: [4, 8], weight: [8], bias: [8], eps: 0 }),
    RangeError,
  );
  assert.throws(
    () => checkLayerNormArgs({ x: [4, 8], weight: [8], bias: [8], eps: 1e-5, out: [4, 4] }),
    TypeError,
  );
  assert.throws(
    () => checkLayerNormArgs({ x: [4, 8], weight: [8], bias: [8], eps: 1e-5, dtypes: ["f16"] }),
    TypeError,
  );
  assert.throws(() => checkTokenMeanArgs({ x: [201, 384], start: 0, count: 1 }), TypeError);
  assert.throws(() => checkTokenMeanArgs({ x: [1, 201, 384], start: 5, count: 0 }), RangeError);
  assert.throws(
    () => checkTokenMeanArgs({ x: [1, 201, 384], start: 5, count: 196, out: [384] }),
    TypeError,
  );
});

Deno.test("packLayerNormParams() lays out rows, cols and eps", () => {
  const v = new DataView(packLayerNormParams(201, 384, 1e-5));
  assert.equal(v.byteLength, 16);
  assert.equal(v.getUint32(0, true), 201);
  assert.equal(v.getUint32(4, true), 384);
  assert.equal(v.getFloat32(8, true), Math.fround(1e-5));
});

// Tokens = patches + CLS + 4 registers: 201 at 224 px, 1029 at 512 px.
const SHAPES: number[][] = [[201, 384], [201, 768], [1029, 1024], [2, 21, 64], [1, 1], [7, 1000]];

for (const [shape, variant] of SHAPES.flatMap((s) => [[s, "rows"], [s, "workgroup"]] as const)) {
  gpuTest(`layerNorm() (${variant}) matches layerNormRef() on [${shape}]`, async (gpu) => {
    const C = shape[shape.length - 1];
    // An offset mean makes a one-pass variance visibly wrong.
    const x = randomTensor(shape, C, 2);
    for (let i = 0; i < x.data.length; i++) x.data[i] += 30;
    const weight = randomTensor([C], 2);
    const bias = randomTensor([C], 3);
    const y = await layerNorm(gpu, {
      x: gpu.uploadTensor(x),
      weight: gpu.uploadTensor(weight),
      bias: gpu.uploadTensor(bias),
      eps: 1e-5,
      variant,
    });
    assertAllClose(
      await gpu.readTensor(y),
      layerNormRef(x, { weight, bias, eps: 1e-5 }),
      { atol: 1e-5, rtol: 1e-4 },
    );
  });
}

gpuTest("layerNorm() folds more than 65535 workgroups", async (gpu) => {
  // "rows" packs 8 rows per workgroup, "workgroup" one.
  for (const [variant, rows] of [["rows", 8 * 65536 + 5], ["workgroup", 65536 + 5]] as const) {
    const x = randomTensor([rows, 4], 4);
    const weight = randomTensor([4], 5);
    const bias = randomTensor([4], 6);
    const y = await layerNorm(gpu, {
      x: gpu.uploadTensor(x),
      weight: gpu.uploadTensor(weight),
      bias: gpu.uploadTensor(bias),
      eps: 1e-5,
      variant,
    });
    assertAllClose(
      await gpu.readTensor(y),
      layerNormRef(x, { weight, bias, eps: 1e-5 }),
      { atol: 1e-5, rtol: 1e-4 },
      variant,
    );
  }
});

for (
  const [shape, start, count] of [[[8, 201, 384], 5, 196], [[1, 20, 64], 5, 15], [
    [3, 4, 5],
    0,
    4,
  ]] as const
) {
  gpuTest(
    `tokenMean() matches tokenMeanRef() on [${shape}] tokens ${start}+${count}`,
    async (gpu) => {
      const x = randomTensor(shape, 9);
      const y = await tokenMean(gpu, { x: gpu.uploadTensor(x), start, count });
      assertAllClose(await gpu.readTensor(y), tokenMeanRef(x, start, count), { atol: 1e-6 });
    },
  );
}

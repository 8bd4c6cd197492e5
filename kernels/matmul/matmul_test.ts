import assert from "node:assert/strict";
import {
  checkMatmulArgs,
  matmul,
  type MatmulVariant,
  packMatmulParams,
  useTiles,
} from "./matmul.ts";
import { erfRef, geluRef, type MatmulEpilogue, matmulRef } from "./matmul_ref.ts";
import { GELU_WGSL, MATMUL_TILE_HARDWARE, MATMUL_TILE_SOFTWARE } from "./matmul.wgsl.ts";
import { assertAllClose, gpuTest, maxAbsDiff, randomTensor } from "../_testing.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import type { HostTensor } from "../../core/tensor.ts";
import type { GpuContext } from "../../core/gpu.ts";

Deno.test("erfRef() and geluRef() match hand-checked values", () => {
  // mpmath (30 digits), rounded to 16.
  const table: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [2.5, 0.9995930479825550],
    [3.5, 0.9999992569016276],
    [-4, -0.9999999845827421],
  ];
  for (const [x, e] of table) assert.ok(Math.abs(erfRef(x) - e) < 2e-15, `erf(${x})`);
  assert.ok(Math.abs(geluRef(2) - 1.9544997361036416) < 1e-15);
  assert.ok(Math.abs(geluRef(-3) + 0.0040496940948902836) < 1e-15);
  // The tanh approximation differs by ~1e-4 here: the reference is the erf form.
  const tanhGelu = (x: number) =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  assert.ok(Math.abs(tanhGelu(-1.5) - geluRef(-1.5)) > 1e-4);
});

Deno.test("matmulRef() applies bias, GELU and LayerScale + residual", () => {
  const x = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
  const weight = { data: new Float32Array([1, 0, 0, 1, 1, -1]), shape: [3, 2] };
  const bias = { data: new Float32Array([0.5, 0, 0]), shape: [3] };
  const gamma = { data: new Float32Array([2, -1, 0.5]), shape: [3] };
  const residual = { data: new Float32Array([10, 20, 30, 40, 50, 60]), shape: [2, 3] };
  const y = matmulRef(x, { weight, bias, epilogue: "layer_scale_residual", gamma, residual });
  assert.deepEqual([...y.data], [13, 18, 29.5, 47, 46, 59.5]);
  assert.deepEqual(y.shape, [2, 3]);
});

Deno.test("checkMatmulArgs() rejects bad shapes, epilogue operands and remaps", () => {
  assert.throws(
    () => checkMatmulArgs({ x: [201, 384], weight: [1152, 385] }),
    /Cannot run matmul as weight must have shape \[N, 384\]: current shape is \[1152, 385\]/,
  );
  assert.throws(() => checkMatmulArgs({ x: [4, 8], weight: [3, 8], bias: [4] }), TypeError);
  assert.throws(
    () => checkMatmulArgs({ x: [4, 8], weight: [3, 8], epilogue: "layer_scale_residual" }),
    /gamma/,
  );
  assert.throws(
    () =>
      checkMatmulArgs({
        x: [4, 8],
        weight: [3, 8],
        epilogue: "layer_scale_residual",
        gamma: [3],
        residual: [4, 4],
      }),
    /residual/,
  );
  assert.throws(() => checkMatmulArgs({ x: [4, 8], weight: [3, 8], epilogue: "relu" }), TypeError);
  assert.throws(
    () => checkMatmulArgs({ x: [4, 6], weight: [3, 6], variant: "blocked" }),
    /multiple of 4/,
  );
  assert.equal(checkMatmulArgs({ x: [4, 6], weight: [3, 6] }).variant, "naive");
  assert.throws(
    () =>
      checkMatmulArgs({
        x: [4, 8],
        weight: [3, 8],
        out: [5, 3],
        outRows: { group: 2, stride: 3, offset: 1 },
      }),
    RangeError,
  );
  const ok = checkMatmulArgs({
    x: [4, 8],
    weight: [3, 8],
    out: [6, 3],
    outRows: { group: 2, stride: 3, offset: 1 },
  });
  assert.deepEqual(ok.outShape, [6, 3]);
  assert.throws(() => checkMatmulArgs({ x: [4, 8], weight: [3, 8], dtypes: ["f16"] }), TypeError);
  assert.throws(
    () =>
      checkMatmulArgs({ x: [4, 8], weight: [3, 8], outRows: { group: 2, stride: 3, offset: 1 } }),
    /needs an out tensor/,
  );
});

Deno.test("packMatmulParams() lays out m, n, k and the row remap", () => {
  const u = new Uint32Array(packMatmulParams(7, 5, 3, { group: 2, stride: 9, offset: 4 }));
  assert.equal(u.byteLength, 32);
  assert.deepEqual([...u], [7, 5, 3, 2, 9, 4, 0, 0]);
});

gpuTest("the WGSL erf and GELU stay within 1.5e-7 of the exact ones on [-8, 8]", async (gpu) => {
  const n = 64001;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -8 + 16 * i / (n - 1);
  for (const mode of [1, 0]) {
    const pipeline = await getPipeline(gpu, {
      label: "gelu_test",
      code: GELU_WGSL,
      constants: { MODE: mode },
    });
    const x = gpu.upload(xs, "x");
    const out = gpu.createStorageBuffer(n * 4, "out");
    dispatch(gpu, {
      label: "gelu_test",
      pipeline,
      buffers: [x, out, writeUniforms(gpu, "gelu_test", new Uint32Array([n, 0, 0, 0]).buffer)],
      workgroups: Math.ceil(n / 64),
    });
    const got = new Float32Array(await gpu.readback(out, n * 4));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const exact = mode === 1 ? erfRef(xs[i]) : geluRef(xs[i]);
      // GELU error scales with |x|: compare 0.5·x·(1 + erf) to its own magnitude.
      const scale = mode === 1 ? 1 : Math.max(1, Math.abs(xs[i]));
      worst = Math.max(worst, Math.abs(got[i] - exact) / scale);
    }
    assert.ok(worst < 1.5e-7, `${mode === 1 ? "erf" : "gelu"}: max error ${worst}`);
  }
});

async function check(
  gpu: GpuContext,
  m: number,
  n: number,
  k: number,
  epilogue: MatmulEpilogue,
  variant: MatmulVariant,
  seed: number,
) {
  const x = randomTensor([m, k], seed);
  const weight = randomTensor([n, k], seed + 1, 1 / Math.sqrt(k));
  const bias = randomTensor([n], seed + 2, 0.5);
  const gamma = randomTensor([n], seed + 3);
  const residual = randomTensor([m, n], seed + 4);
  const expected = matmulRef(x, { weight, bias, epilogue, gamma, residual });
  const y = await matmul(gpu, {
    x: gpu.uploadTensor(x),
    weight: gpu.uploadTensor(weight),
    bias: gpu.uploadTensor(bias),
    gamma: gpu.uploadTensor(gamma),
    residual: gpu.uploadTensor(residual),
    epilogue,
    variant,
  });
  assertAllClose(await gpu.readTensor(y), expected, { atol: 2e-5, rtol: 1e-5 }, `${m}x${n}x${k}`);
}

const CASES: [number, number, number, MatmulEpilogue][] = [
  [201, 1152, 384, "none"], // ViT-S qkv at 224 px
  [201, 1536, 384, "gelu"], // ViT-S up_proj
  [201, 384, 1536, "layer_scale_residual"], // ViT-S down_proj
  [201, 768, 768, "layer_scale_residual"], // ViT-B o_proj
  [1, 64, 16, "gelu"],
  [13, 7, 20, "none"], // N not a multiple of 4 or of the tile
  [67, 130, 36, "layer_scale_residual"],
];

for (const [m, n, k, epilogue] of CASES) {
  gpuTest(
    `matmul() matches matmulRef() on [${m}, ${k}]·[${n}, ${k}]ᵀ with ${epilogue}`,
    (gpu) => check(gpu, m, n, k, epilogue, "auto", m + n + k),
  );
}

gpuTest(
  "matmul() matches matmulRef() on [1029, 1024]·[1024, 1024]ᵀ (ViT-L at 512 px)",
  (gpu) => check(gpu, 1029, 1024, 1024, "none", "blocked", 5),
);

gpuTest("the naive matmul matches matmulRef(), also for K not a multiple of 4", async (gpu) => {
  await check(gpu, 37, 45, 33, "gelu", "auto", 11);
  await check(gpu, 201, 96, 64, "layer_scale_residual", "naive", 12);
});

gpuTest(
  "the workgroup-memory tiled matmul matches matmulRef() (both tiles, k tails, edges)",
  async (gpu) => {
    for (const [m, n, k, epilogue] of CASES) {
      if (k % 4 !== 0) continue;
      await check(gpu, m, n, k, epilogue, "tiled", m + n + k);
    }
    await check(gpu, 70, 90, 68, "gelu", "tiled", 3); // k4 = 17: a partial last k-block
    for (const tile of [MATMUL_TILE_HARDWARE, MATMUL_TILE_SOFTWARE]) {
      const x = randomTensor([70, 64], 1);
      const weight = randomTensor([90, 64], 2, 0.125);
      const y = await matmul(gpu, {
        x: gpu.uploadTensor(x),
        weight: gpu.uploadTensor(weight),
        tile,
        variant: "tiled",
      });
      assertAllClose(await gpu.readTensor(y), matmulRef(x, { weight }), { atol: 1e-5, rtol: 1e-5 });
    }
    assert.equal(useTiles(gpu), !gpu.info.isSoftware);
    assert.throws(
      () => checkMatmulArgs({ x: [4, 6], weight: [3, 6], variant: "tiled" }),
      TypeError,
    );
  },
);

gpuTest("matmul() with the hardware tile matches matmulRef()", async (gpu) => {
  const x = randomTensor([70, 64], 1);
  const weight = randomTensor([90, 64], 2, 0.125);
  const y = await matmul(gpu, {
    x: gpu.uploadTensor(x),
    weight: gpu.uploadTensor(weight),
    tile: MATMUL_TILE_HARDWARE,
  });
  assertAllClose(await gpu.readTensor(y), matmulRef(x, { weight }), { atol: 1e-5, rtol: 1e-5 });
});

gpuTest("matmul() writes remapped rows into a larger out and leaves the others", async (gpu) => {
  // 2 images × 3 patches go to rows 2..4 and 7..9 of a [2, 5, 8] token tensor.
  const x = randomTensor([6, 12], 1);
  const weight = randomTensor([8, 12], 2);
  const fill: HostTensor = { data: new Float32Array(80).fill(-7), shape: [2, 5, 8] };
  const out = gpu.uploadTensor(fill);
  await matmul(gpu, {
    x: gpu.uploadTensor(x),
    weight: gpu.uploadTensor(weight),
    out,
    outRows: { group: 3, stride: 5, offset: 2 },
  });
  const got = (await gpu.readTensor(out)).data;
  const ref = matmulRef(x, { weight }).data;
  for (let r = 0; r < 10; r++) {
    const b = Math.floor(r / 5);
    const t = r % 5;
    const row = got.subarray(r * 8, r * 8 + 8);
    if (t < 2) assert.ok(row.every((v) => v === -7), `row ${r} untouched`);
    else assert.ok(maxAbsDiff(row, ref.subarray((b * 3 + t - 2) * 8, (b * 3 + t - 1) * 8)) < 1e-5);
  }
  await assert.rejects(
    () => matmul(gpu, { x: out, weight: gpu.uploadTensor(randomTensor([8, 8], 1)), out }),
    /must not share a buffer/,
  );
});

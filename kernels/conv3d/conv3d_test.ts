import assert from "node:assert/strict";
import {
  checkConv3dArgs,
  conv3d,
  conv3dBackwardData,
  conv3dBackwardWeights,
  type Conv3dCommonArgs,
  conv3dTileFor,
  packConv3dParams,
} from "./conv3d.ts";
import { CONV3D_TILE_HARDWARE, CONV3D_TILE_SOFTWARE } from "./conv3d.wgsl.ts";
import {
  conv3dBackwardDataRef,
  conv3dBackwardWeightsRef,
  conv3dRef,
  type Padding3d,
} from "./conv3d_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { assertGradientMatches, dot, sampleIndices } from "./_gradcheck.ts";

Deno.test("conv3dRef() of ones with a 3×3×3 ones kernel counts in-bounds neighbours", () => {
  const x = { data: new Float32Array(27).fill(1), shape: [1, 1, 3, 3, 3] };
  const w = { data: new Float32Array(27).fill(1), shape: [1, 1, 3, 3, 3] };
  const y = conv3dRef(x, w, undefined, [1, 1, 1]);
  // corner 2·2·2, edge 2·2·3, face 2·3·3, centre 27
  assert.equal(y.data[0], 8);
  assert.equal(y.data[1], 12);
  assert.equal(y.data[4], 18);
  assert.equal(y.data[13], 27);
  const valid = conv3dRef(x, w, { data: new Float32Array([-1]), shape: [1] }, [0, 0, 0]);
  assert.deepEqual(valid.shape, [1, 1, 1, 1, 1]);
  assert.equal(valid.data[0], 26);
});

Deno.test("conv3dRef() cross-correlates (no kernel flip), as PyTorch does", () => {
  const x = { data: new Float32Array([1, 2, 3]), shape: [1, 1, 1, 1, 3] };
  const w = { data: new Float32Array([1, 0, 0]), shape: [1, 1, 1, 1, 3] };
  // padding 1: y[i] = x[i - 1]
  assert.deepEqual([...conv3dRef(x, w, undefined, [0, 0, 1]).data], [0, 1, 2]);
});

const GRAD_CASES: [number[], number[], Padding3d][] = [
  [[2, 3, 3, 4, 5], [2, 3, 3, 3, 3], [1, 1, 1]],
  [[1, 2, 2, 3, 4], [3, 2, 1, 3, 3], [0, 1, 0]],
  [[1, 2, 3, 3, 3], [2, 2, 1, 1, 1], [0, 0, 0]],
];

for (const [xs, ws, pad] of GRAD_CASES) {
  Deno.test(`conv3d backward references match finite differences for x [${xs}], w [${ws}], pad [${pad}]`, () => {
    const x = randomTensor(xs, 1);
    const w = randomTensor(ws, 2, 0.5);
    const b = randomTensor([ws[0]], 3);
    const y = conv3dRef(x, w, b, pad);
    const r = randomTensor(y.shape, 4);
    const loss = () => dot(r.data, conv3dRef(x, w, b, pad).data);
    const dx = conv3dBackwardDataRef(r, w, xs, pad);
    const { dweight, dbias } = conv3dBackwardWeightsRef(x, r, [ws[2], ws[3], ws[4]], pad);
    assertGradientMatches("conv3d dx", loss, x.data, dx.data, {
      indices: sampleIndices(x.data.length, 40),
    });
    assertGradientMatches("conv3d dw", loss, w.data, dweight.data, {
      indices: sampleIndices(w.data.length, 40),
    });
    assertGradientMatches("conv3d db", loss, b.data, dbias.data);
  });
}

Deno.test("checkConv3dArgs() rejects bad shapes, padding and dtypes without a GPU", () => {
  const x = { shape: [1, 4, 8, 8, 8], dtype: "f32" };
  const w = { shape: [2, 4, 3, 3, 3], dtype: "f32" };
  assert.throws(
    () => checkConv3dArgs({ shape: [4, 8, 8, 8], dtype: "f32" }, w, undefined, [1, 1, 1]),
    /\[N, Ci, D, H, W\]/,
  );
  assert.throws(
    () => checkConv3dArgs(x, { shape: [2, 3, 3, 3, 3], dtype: "f32" }, undefined, [1, 1, 1]),
    /weight must have shape \[Co, 4, kd, kh, kw\]: current shape is \[2, 3, 3, 3, 3\]/,
  );
  assert.throws(
    () => checkConv3dArgs(x, w, { shape: [3], dtype: "f32" }, [1, 1, 1]),
    /bias must have shape \[2\]/,
  );
  assert.throws(() => checkConv3dArgs(x, w, undefined, [1, 3, 1]), RangeError);
  assert.throws(() => checkConv3dArgs(x, w, undefined, [1, -1, 1]), RangeError);
  assert.throws(
    () => checkConv3dArgs({ shape: [1, 4, 1, 8, 8], dtype: "f32" }, w, undefined, [0, 1, 1]),
    /output must not be empty/,
  );
  assert.throws(() => checkConv3dArgs({ ...x, dtype: "f16" }, w, undefined, [1, 1, 1]), TypeError);
});

Deno.test("packConv3dParams() lays out shapes, strides and the thread count", () => {
  const p = packConv3dParams({
    n: 2,
    ci: 5,
    co: 6,
    hasBias: true,
    input: [4, 7, 9],
    output: [4, 7, 9],
    kernel: [3, 3, 3],
    padding: [1, 1, 1],
    flip: false,
    strideOut: 135,
    strideIn: 27,
  });
  assert.equal(p.byteLength, 96);
  const u = new Uint32Array(p);
  assert.deepEqual([...u.slice(0, 4)], [2, 5, 6, 1]);
  assert.deepEqual([...u.slice(8, 12)], [4, 7, 9, 3]);
  assert.equal(u[15], 135);
  assert.deepEqual([...new Int32Array(p).slice(16, 19)], [1, 1, 1]);
  assert.equal(u[19], 27);
  assert.equal(u[20], 2);
  assert.equal(u[21], 4 * 7 * 3);
});

const GPU_CASES: [string, number[], number[], Padding3d][] = [
  ["decoder stage 3×3×3", [2, 17, 6, 16, 16], [8, 17, 3, 3, 3], [1, 1, 1]],
  ["feature projection 1×1×1", [1, 64, 5, 4, 4], [32, 64, 1, 1, 1], [0, 0, 0]],
  ["odd sizes (Co, W not multiples of 4)", [1, 3, 5, 7, 13], [5, 3, 3, 3, 3], [1, 1, 1]],
  ["in-plane kernel, valid depth", [2, 2, 4, 9, 6], [3, 2, 2, 3, 3], [0, 1, 1]],
  ["one voxel", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0]],
];

// Every kernel variant: the direct baseline, the implicit GEMM with each
// adapter's tile, and an odd tile (no size divides the shapes).
const VARIANTS: [string, Pick<Conv3dCommonArgs, "variant" | "tile">][] = [
  ["direct", { variant: "direct" }],
  ["gemm, software tile", { variant: "gemm", tile: CONV3D_TILE_SOFTWARE }],
  ["gemm, hardware tile", { variant: "gemm", tile: CONV3D_TILE_HARDWARE }],
  ["gemm, odd tile 3×5×7", { variant: "gemm", tile: { cols: 3, channels: 5, threads: 7 } }],
];

Deno.test("conv3dTileFor() picks the tile from the adapter", () => {
  assert.equal(conv3dTileFor({ isSoftware: true }), CONV3D_TILE_SOFTWARE);
  assert.equal(conv3dTileFor({ isSoftware: false }), CONV3D_TILE_HARDWARE);
});

for (const [name, xs, ws, pad] of GPU_CASES) {
  gpuTest(`conv3d() and its backward passes match the references: ${name}`, async (gpu) => {
    for (const [variantName, v] of VARIANTS) {
      await checkVariant(gpu, xs, ws, pad, v, `${name}, ${variantName}`);
    }
  });
}

async function checkVariant(
  gpu: Parameters<Parameters<typeof gpuTest>[1]>[0],
  xs: number[],
  ws: number[],
  pad: Padding3d,
  v: Pick<Conv3dCommonArgs, "variant" | "tile">,
  what: string,
): Promise<void> {
  {
    const x = randomTensor(xs, 11);
    const w = randomTensor(ws, 12, 0.3);
    const b = randomTensor([ws[0]], 13);
    const gx = gpu.uploadTensor(x);
    const gw = gpu.uploadTensor(w);
    const y = await conv3d(gpu, {
      x: gx,
      weight: gw,
      bias: gpu.uploadTensor(b),
      padding: pad,
      ...v,
    });
    const yRef = conv3dRef(x, w, b, pad);
    assertAllClose(await gpu.readTensor(y), yRef, { atol: 1e-4, rtol: 1e-4 }, `${what}: y`);
    const dy = randomTensor(yRef.shape, 14);
    const gdy = gpu.uploadTensor(dy);
    const dx = await conv3dBackwardData(gpu, {
      dy: gdy,
      weight: gw,
      inputShape: xs,
      padding: pad,
      ...v,
    });
    assertAllClose(await gpu.readTensor(dx), conv3dBackwardDataRef(dy, w, xs, pad), {
      atol: 1e-4,
      rtol: 1e-4,
    }, `${what}: dx`);
    const grads = await conv3dBackwardWeights(gpu, {
      x: gx,
      dy: gdy,
      kernel: [ws[2], ws[3], ws[4]],
      padding: pad,
      withBias: true,
      ...v,
    });
    const ref = conv3dBackwardWeightsRef(x, dy, [ws[2], ws[3], ws[4]], pad);
    assertAllClose(
      await gpu.readTensor(grads.dweight),
      ref.dweight,
      { atol: 1e-3, rtol: 1e-4 },
      `${what}: dw`,
    );
    assertAllClose(await gpu.readTensor(grads.dbias!), ref.dbias, {
      atol: 1e-3,
      rtol: 1e-4,
    }, `${what}: db`);
  }
}

gpuTest("conv3d() writes into a given output and records into a given encoder", async (gpu) => {
  const x = randomTensor([1, 2, 3, 4, 5], 21);
  const w = randomTensor([3, 2, 3, 3, 3], 22);
  const out = {
    buffer: gpu.createStorageBuffer(3 * 60 * 4, "out"),
    shape: [1, 3, 3, 4, 5],
    dtype: "f32" as const,
  };
  const encoder = gpu.device.createCommandEncoder();
  const transients: GPUBuffer[] = [];
  const y = await conv3d(gpu, {
    x: gpu.uploadTensor(x),
    weight: gpu.uploadTensor(w),
    padding: [1, 1, 1],
    out,
    encoder,
    transients,
  });
  assert.equal(y, out);
  assert.equal(transients.length, 1);
  gpu.device.queue.submit([encoder.finish()]);
  assertAllClose(await gpu.readTensor(out), conv3dRef(x, w, undefined, [1, 1, 1]), {
    atol: 1e-4,
    rtol: 1e-4,
  });
  await assert.rejects(
    () =>
      conv3d(gpu, {
        x: gpu.uploadTensor(x),
        weight: gpu.uploadTensor(w),
        padding: [1, 1, 1],
        out: { ...out, shape: [1, 3, 3, 4, 4] },
      }),
    TypeError,
  );
});

import assert from "node:assert/strict";
import {
  checkGatedArgs,
  gatedBackward,
  gatedScore,
  packGatedParams,
  relu,
  reluBackward,
  softmaxVector,
  softmaxVectorBackward,
} from "./gated_attention.ts";
import {
  gatedBackwardRef,
  gatedScoreRef,
  reluBackwardRef,
  reluRef,
  softmaxBackwardRef,
  softmaxRef,
} from "./gated_attention_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../../_testing.ts";

/** Central differences of a scalar function of `x` (float64 loss of float32 inputs). */
function fd(x: Float32Array, loss: () => number, eps = 1e-2): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + eps;
    const up = loss();
    x[i] = v - eps;
    const down = loss();
    x[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

Deno.test("softmaxBackwardRef() and gatedBackwardRef() match finite differences", () => {
  const n = 5;
  const d = 3;
  const e = randomTensor([n], 1, 2).data;
  const r = randomTensor([n], 2).data; // dL/da
  const de = softmaxBackwardRef(softmaxRef(e), r);
  assertAllClose(de, fd(e, () => dot(softmaxRef(e), r)), { atol: 1e-4, rtol: 1e-3 });
  const s = randomTensor([n, 2 * d], 3, 2).data;
  const w = randomTensor([d], 4).data;
  const q = randomTensor([n], 5).data; // dL/de
  const ds = gatedBackwardRef(s, q, w, n, d);
  assertAllClose(ds, fd(s, () => dot(gatedScoreRef(s, w, n, d).e, q)), { atol: 1e-4, rtol: 1e-3 });
  const h = randomTensor([7], 6).data;
  const dh = randomTensor([7], 7).data;
  assertAllClose(reluBackwardRef(h, dh), fd(h, () => dot(reluRef(h), dh), 1e-3), {
    atol: 1e-3,
    rtol: 1e-3,
  });
});

Deno.test("checkGatedArgs() rejects too-small buffers; packGatedParams() lays out {n, d}", () => {
  assert.throws(
    () => checkGatedArgs("relu", { n: 10 }, { x: [36, 10] }),
    /must hold 10 f32 values: current size is 36 bytes/,
  );
  assert.deepEqual([...new Uint32Array(packGatedParams(5, 3))], [5, 3, 0, 0]);
});

for (const [n, d] of [[1, 1], [13, 7], [1000, 64], [20000, 32]]) {
  gpuTest(`gated attention kernels match the references on N=${n}, D=${d}`, async (gpu) => {
    const s = randomTensor([n, 2 * d], n + d, 3).data;
    const w = randomTensor([d], 2).data;
    const up = (x: Float32Array) => gpu.upload(x, "t");
    const buf = (len: number) => gpu.createStorageBuffer(len * 4, "t");
    const read = async (b: GPUBuffer, len: number) =>
      new Float32Array(await gpu.readback(b, len * 4));
    const gs = up(s);
    const gw = up(w);
    const e = buf(n);
    const g = buf(n * d);
    await gatedScore(gpu, { s: gs, w: gw, e, g, n, d });
    const ref = gatedScoreRef(s, w, n, d);
    assertAllClose(await read(e, n), ref.e, { atol: 1e-5, rtol: 1e-4 }, "e");
    assertAllClose(await read(g, n * d), ref.g, { atol: 1e-6, rtol: 1e-5 }, "g");
    const a = buf(n);
    await softmaxVector(gpu, { e, a, n });
    const aRef = softmaxRef(ref.e);
    assertAllClose(await read(a, n), aRef, { atol: 1e-7, rtol: 1e-4 }, "a");
    const da = randomTensor([n], 9).data;
    const de = buf(n);
    await softmaxVectorBackward(gpu, { a, da: up(da), de, n });
    const deRef = softmaxBackwardRef(aRef, da);
    assertAllClose(await read(de, n), deRef, { atol: 1e-7, rtol: 1e-3 }, "de");
    const ds = buf(n * 2 * d);
    await gatedBackward(gpu, { s: gs, de: up(deRef), w: gw, ds, n, d });
    assertAllClose(await read(ds, n * 2 * d), gatedBackwardRef(s, deRef, w, n, d), {
      atol: 1e-7,
      rtol: 1e-4,
    }, "dS");
    const x = randomTensor([n * d], 11).data;
    const gx = up(x);
    await relu(gpu, { x: gx, n: n * d });
    assert.deepEqual(await read(gx, n * d), reluRef(x));
    const dh = randomTensor([n * d], 12).data;
    const gdh = up(dh);
    await reluBackward(gpu, { h: up(x), dh: gdh, n: n * d });
    assert.deepEqual(await read(gdh, n * d), reluBackwardRef(x, dh));
  });
}

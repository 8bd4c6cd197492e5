import assert from "node:assert/strict";
import { adamw, checkAdamWArgs, packAdamWParams } from "./adamw.ts";
import { adamwRef } from "./adamw_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../../_testing.ts";

Deno.test("adamwRef() matches hand-computed PyTorch AdamW steps", () => {
  // Two steps on one parameter, g = 0.5 then -1, lr 0.1, λ 0.01 (values by hand):
  // t=1: p = 1·(1 − 0.001) = 0.999; m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25 → p = 0.999 − 0.1 = 0.899
  // t=2: p = 0.899·0.999 = 0.898101; m = 0.045 − 0.1 = −0.055; v = 0.00024975 + 0.001 = 0.00124975
  //      m̂ = −0.055/0.19 = −0.289474; v̂ = 0.00124975/0.001999 = 0.625188; √ = 0.790688
  //      p = 0.898101 + 0.1·0.289474/0.790688 = 0.934712
  const p = new Float32Array([1]);
  const m = new Float32Array(1);
  const v = new Float32Array(1);
  adamwRef(p, new Float32Array([0.5]), m, v, { lr: 0.1, weightDecay: 0.01, step: 1 });
  assert.ok(Math.abs(p[0] - 0.899) < 1e-6, String(p[0]));
  adamwRef(p, new Float32Array([-1]), m, v, { lr: 0.1, weightDecay: 0.01, step: 2 });
  assert.ok(Math.abs(p[0] - 0.934712) < 2e-6, String(p[0]));
  assert.ok(Math.abs(m[0] + 0.055) < 1e-7);
});

Deno.test("adamwRef() minimises a quadratic", () => {
  const p = new Float32Array([3, -2, 0.5]);
  const target = [1, 1, -1];
  const m = new Float32Array(3);
  const v = new Float32Array(3);
  for (let t = 1; t <= 2000; t++) {
    const g = new Float32Array(3).map((_, i) => 2 * (p[i] - target[i]));
    adamwRef(p, g, m, v, { lr: 0.01, weightDecay: 0, step: t });
  }
  assertAllClose(p, target, { atol: 1e-2, rtol: 0 });
});

Deno.test("checkAdamWArgs() rejects mismatched sizes and bad hyperparameters", () => {
  const t = { shape: [4] };
  assert.throws(
    () => checkAdamWArgs({ param: t, grad: { shape: [5] }, m: t, v: t, lr: 1, step: 1 }),
    /grad must have 4 elements like param \[4\]: current shape is \[5\]/,
  );
  for (const bad of [{ lr: 0 }, { beta1: 1 }, { beta2: -0.1 }, { eps: 0 }, { weightDecay: -1 }]) {
    assert.throws(
      () => checkAdamWArgs({ param: t, grad: t, m: t, v: t, lr: 1, step: 1, ...bad }),
      RangeError,
    );
  }
  const p = new DataView(packAdamWParams(7, { lr: 0.5, step: 2 }));
  assert.equal(p.getUint32(0, true), 7);
  assert.ok(Math.abs(p.getFloat32(24, true) - (1 - 0.81)) < 1e-7);
});

for (const n of [1, 77, 768 * 14 + 3]) {
  gpuTest(`adamw() matches adamwRef() over 5 steps on [${n}]`, async (gpu) => {
    const p = randomTensor([n], 1).data;
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const gp = gpu.upload(p, "p");
    const gm = gpu.upload(m, "m");
    const gv = gpu.upload(v, "v");
    const t = (b: GPUBuffer) => ({ buffer: b, shape: [n], dtype: "f32" as const });
    for (let step = 1; step <= 5; step++) {
      const g = randomTensor([n], 10 + step).data;
      const o = { lr: 0.005, weightDecay: 0.01, step };
      adamwRef(p, g, m, v, o);
      await adamw(gpu, { param: t(gp), grad: t(gpu.upload(g, "g")), m: t(gm), v: t(gv), ...o });
    }
    assertAllClose(new Float32Array(await gpu.readback(gp, n * 4)), p, { atol: 1e-6, rtol: 1e-5 });
    assertAllClose(new Float32Array(await gpu.readback(gv, n * 4)), v, { atol: 1e-9, rtol: 1e-4 });
  });
}

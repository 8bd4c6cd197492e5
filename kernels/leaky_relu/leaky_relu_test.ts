import assert from "node:assert/strict";
import { checkLeakyReluArgs, leakyRelu, leakyReluBackward } from "./leaky_relu.ts";
import { leakyReluBackwardRef, leakyReluRef } from "./leaky_relu_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { assertGradientMatches, dot } from "../conv3d/_gradcheck.ts";

Deno.test("leakyReluRef() matches hand numbers", () => {
  const x = { data: new Float32Array([-4, -0.5, 0, 0.5, 4]), shape: [5] };
  assert.deepEqual([...leakyReluRef(x, 0.1).data].map((v) => Math.round(v * 1e6) / 1e6), [
    -0.4,
    -0.05,
    0,
    0.5,
    4,
  ]);
  assert.deepEqual([...leakyReluRef(x, 0).data], [-0, -0, 0, 0.5, 4]);
});

Deno.test("leakyReluBackwardRef() matches finite differences", () => {
  const x = randomTensor([3, 17], 1);
  // keep inputs away from the kink at 0
  for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]) < 0.05) x.data[i] = 0.3;
  const r = randomTensor([3, 17], 2);
  const dx = leakyReluBackwardRef(x, r, 0.2);
  assertGradientMatches(
    "leakyRelu dx",
    () => dot(r.data, leakyReluRef(x, 0.2).data),
    x.data,
    dx.data,
  );
});

Deno.test("checkLeakyReluArgs() rejects bad slopes, dtypes and shapes without a GPU", () => {
  assert.throws(() => checkLeakyReluArgs({ shape: [2], dtype: "f32" }, NaN), RangeError);
  assert.throws(() => checkLeakyReluArgs({ shape: [2], dtype: "f16" }, 0), TypeError);
  assert.throws(
    () => checkLeakyReluArgs({ shape: [2], dtype: "f32" }, 0, { shape: [3], dtype: "f32" }),
    /must have shape \[2\]: current shape is \[3\]/,
  );
});

for (const shape of [[1], [2, 8, 5, 7, 9], [70000]]) {
  gpuTest(`leakyRelu() and leakyReluBackward() match the references on [${shape}]`, async (gpu) => {
    const x = randomTensor(shape, 3);
    const dy = randomTensor(shape, 4);
    const gx = gpu.uploadTensor(x);
    const y = await leakyRelu(gpu, { x: gx, slope: 0.01 });
    assertAllClose(await gpu.readTensor(y), leakyReluRef(x, 0.01), { atol: 1e-7, rtol: 1e-6 });
    const dx = await leakyReluBackward(gpu, { x: gx, dy: gpu.uploadTensor(dy), slope: 0.01 });
    assertAllClose(await gpu.readTensor(dx), leakyReluBackwardRef(x, dy, 0.01), {
      atol: 1e-7,
      rtol: 1e-6,
    });
  });
}

import assert from "node:assert/strict";
import { checkGroupNormArgs, groupNorm, groupNormBackward } from "./group_norm.ts";
import { groupNormBackwardRef, groupNormRef } from "./group_norm_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { assertGradientMatches, dot } from "../conv3d/_gradcheck.ts";

Deno.test("groupNormRef() matches hand numbers", () => {
  // one sample, 2 channels, 1 group over 4 values [1, 2, 3, 4]: mean 2.5, var 1.25
  const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 2] };
  const gamma = { data: new Float32Array([1, 2]), shape: [2] };
  const beta = { data: new Float32Array([0, 1]), shape: [2] };
  const { y, mean, rstd } = groupNormRef(x, gamma, beta, 1, 0);
  const s = 1 / Math.sqrt(1.25);
  assertAllClose(y.data, [-1.5 * s, -0.5 * s, 2 * 0.5 * s + 1, 2 * 1.5 * s + 1], { atol: 1e-6 });
  assertAllClose(mean, [2.5], { atol: 0 });
  assertAllClose(rstd, [s], { atol: 1e-7 });
  // instance norm (groups = C): each channel normalised alone
  const inst = groupNormRef(
    x,
    { data: new Float32Array([1, 1]), shape: [2] },
    {
      data: new Float32Array(2),
      shape: [2],
    },
    2,
    0,
  );
  assertAllClose(inst.y.data, [-1, 1, -1, 1], { atol: 1e-6 });
});

for (const [shape, groups] of [[[2, 4, 3, 2, 2], 2], [[1, 3, 5], 3], [[2, 6, 2, 3], 1]] as const) {
  Deno.test(`groupNormBackwardRef() matches finite differences on [${shape}] with ${groups} groups`, () => {
    const x = randomTensor(shape, 1);
    const gamma = randomTensor([shape[1]], 2);
    const beta = randomTensor([shape[1]], 3);
    const r = randomTensor(shape, 4);
    const loss = () => dot(r.data, groupNormRef(x, gamma, beta, groups, 1e-5).y.data);
    const { dx, dgamma, dbeta } = groupNormBackwardRef(x, r, gamma, groups, 1e-5);
    assertGradientMatches("groupNorm dx", loss, x.data, dx.data, { eps: 1e-3, atol: 2e-3 });
    assertGradientMatches("groupNorm dgamma", loss, gamma.data, dgamma.data, { eps: 1e-3 });
    assertGradientMatches("groupNorm dbeta", loss, beta.data, dbeta.data, { eps: 1e-3 });
  });
}

Deno.test("checkGroupNormArgs() rejects bad shapes, groups and eps without a GPU", () => {
  const x = { shape: [1, 6, 4], dtype: "f32" };
  const p = { shape: [6], dtype: "f32" };
  assert.throws(
    () => checkGroupNormArgs(x, { shape: [5], dtype: "f32" }, p, 2, 1e-5),
    /gamma must have shape \[6\]/,
  );
  assert.throws(() => checkGroupNormArgs(x, p, p, 4, 1e-5), /positive divisor of 6/);
  assert.throws(() => checkGroupNormArgs(x, p, p, 2, 0), RangeError);
  assert.throws(() => checkGroupNormArgs({ shape: [6], dtype: "f32" }, p, p, 2, 1e-5), TypeError);
});

const CASES: [number[], number][] = [
  [[2, 16, 8, 16, 16], 8],
  [[1, 8, 4, 33, 17], 8],
  [[3, 5, 1, 1, 1], 5],
  [[1, 4, 7, 9, 11], 1],
];

for (const [shape, groups] of CASES) {
  gpuTest(
    `groupNorm() and groupNormBackward() match the references on [${shape}], ${groups} groups`,
    async (gpu) => {
      const x = randomTensor(shape, 5, 3);
      for (let i = 0; i < x.data.length; i++) x.data[i] += 2; // non-zero mean
      const gamma = randomTensor([shape[1]], 6);
      const beta = randomTensor([shape[1]], 7);
      const gx = gpu.uploadTensor(x);
      const gg = gpu.uploadTensor(gamma);
      const { y, stats } = await groupNorm(gpu, {
        x: gx,
        gamma: gg,
        beta: gpu.uploadTensor(beta),
        groups,
        eps: 1e-5,
      });
      const ref = groupNormRef(x, gamma, beta, groups, 1e-5);
      assertAllClose(await gpu.readTensor(y), ref.y, { atol: 1e-4, rtol: 1e-4 }, "y");
      const st = (await gpu.readTensor(stats)).data;
      assertAllClose(
        st.filter((_, i) => i % 2 === 0),
        ref.mean,
        { atol: 1e-5, rtol: 1e-5 },
        "mean",
      );
      const dy = randomTensor(shape, 8);
      const g = await groupNormBackward(gpu, {
        x: gx,
        dy: gpu.uploadTensor(dy),
        gamma: gg,
        stats,
        groups,
      });
      const gr = groupNormBackwardRef(x, dy, gamma, groups, 1e-5);
      assertAllClose(await gpu.readTensor(g.dx), gr.dx, { atol: 1e-4, rtol: 1e-3 }, "dx");
      assertAllClose(
        await gpu.readTensor(g.dgamma),
        gr.dgamma,
        { atol: 1e-3, rtol: 1e-4 },
        "dgamma",
      );
      assertAllClose(await gpu.readTensor(g.dbeta), gr.dbeta, { atol: 1e-3, rtol: 1e-4 }, "dbeta");
    },
  );
}

// Group norm (8 groups) over a decoder activation [2, 16, 32, 64, 64]
// (4.2M elements): forward reads x twice (two-pass variance) and writes y;
// backward reads x and dy three times. Memory bound.
import { groupNorm, groupNormBackward } from "./group_norm.ts";
import { groupNormRef } from "./group_norm_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const shape = [2, 16, 32, 64, 64];
const x = randomTensor(shape, 1);
const gamma = randomTensor([16], 2);
const beta = randomTensor([16], 3);
const group = "group_norm 8 groups [2,16,32,64,64]";

Deno.bench({ group, name: "groupNormRef (CPU)", baseline: true }, () => {
  groupNormRef(x, gamma, beta, 8, 1e-5);
});

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const gg = gpu.uploadTensor(gamma);
  const gb = gpu.uploadTensor(beta);
  const first = await groupNorm(gpu, { x: gx, gamma: gg, beta: gb, groups: 8, eps: 1e-5 });
  Deno.bench({ group, name: "groupNorm (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await groupNorm(gpu, {
      x: gx,
      gamma: gg,
      beta: gb,
      groups: 8,
      eps: 1e-5,
      out: first.y,
      stats: first.stats,
      transients: t,
    });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
  Deno.bench({ group, name: "groupNormBackward (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    const g = await groupNormBackward(gpu, {
      x: gx,
      dy: first.y,
      gamma: gg,
      stats: first.stats,
      groups: 8,
      transients: t,
    });
    await gpu.sync();
    for (const b of [...t, g.dx.buffer, g.dgamma.buffer, g.dbeta.buffer]) b.destroy();
  });
}

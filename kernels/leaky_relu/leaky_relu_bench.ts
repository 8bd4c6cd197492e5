// Leaky ReLU over a decoder activation [2, 16, 32, 64, 64] (4.2M elements,
// 2 × 16.8 MB per call): memory bound.
import { leakyRelu } from "./leaky_relu.ts";
import { leakyReluRef } from "./leaky_relu_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const x = randomTensor([2, 16, 32, 64, 64], 1);

Deno.bench(
  { group: "leaky_relu [2,16,32,64,64]", name: "leakyReluRef (CPU)", baseline: true },
  () => {
    leakyReluRef(x, 0.01);
  },
);

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const out = gpu.uploadTensor(x);
  Deno.bench({ group: "leaky_relu [2,16,32,64,64]", name: "leakyRelu (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await leakyRelu(gpu, { x: gx, slope: 0.01, out, transients: t });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
}

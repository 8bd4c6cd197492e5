// Trilinear in-plane ×2 of a decoder activation [2, 16, 32, 32, 32] →
// [2, 16, 32, 64, 64] (4.2M outputs, 8 taps each): memory and gather bound.
import { upsample3d, upsample3dBackward } from "./upsample3d.ts";
import { resizeMapping, upsample3dRef } from "./upsample3d_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const xs = [2, 16, 32, 32, 32];
const out: [number, number, number] = [32, 64, 64];
const x = randomTensor(xs, 1);
const group = "upsample3d ×2 in-plane [2,16,32,32,32]";

Deno.bench({ group, name: "upsample3dRef (CPU)", baseline: true }, () => {
  upsample3dRef(x, out, resizeMapping(xs.slice(2), out));
});

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const y = await upsample3d(gpu, { x: gx, outSize: out });
  const dx = gpu.uploadTensor(x);
  Deno.bench({ group, name: "upsample3d (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await upsample3d(gpu, { x: gx, outSize: out, out: y, transients: t });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
  Deno.bench({ group, name: "upsample3dBackward (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await upsample3dBackward(gpu, { dy: y, inputShape: xs, out: dx, transients: t });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
}

// conv3d at a decoder full-resolution stage: x [2, 17, 16, 64, 64],
// weight [8, 17, 3, 3, 3] → 2·8·16·64·64 outputs × 17·27 MACs
// = 240 MFLOP per pass (forward, data backward and weight backward alike).
// On Mesa llvmpipe (2 cores) the register-blocked kernels run at roughly
// 2–4 GFLOP/s; the CPU reference (f64 loops) at ~0.3.
import { conv3d, conv3dBackwardData, conv3dBackwardWeights } from "./conv3d.ts";
import { conv3dRef } from "./conv3d_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const xs = [2, 17, 16, 64, 64];
const ws = [8, 17, 3, 3, 3];
const x = randomTensor(xs, 1);
const w = randomTensor(ws, 2, 0.2);
const group = "conv3d 17→8 3×3×3 @ [2,*,16,64,64]";

Deno.bench({ group, name: "conv3dRef (CPU)", baseline: true, n: 1, warmup: 0 }, () => {
  conv3dRef(x, w, undefined, [1, 1, 1]);
});

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const gw = gpu.uploadTensor(w);
  const y = await conv3d(gpu, { x: gx, weight: gw, padding: [1, 1, 1] });
  const dy = y;
  const dx = {
    buffer: gpu.createStorageBuffer(x.data.length * 4, "dx"),
    shape: xs,
    dtype: "f32" as const,
  };
  const dw = {
    buffer: gpu.createStorageBuffer(w.data.length * 4, "dw"),
    shape: ws,
    dtype: "f32" as const,
  };
  Deno.bench({ group, name: "conv3d forward (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await conv3d(gpu, { x: gx, weight: gw, padding: [1, 1, 1], out: y, transients: t });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
  Deno.bench({ group, name: "conv3dBackwardData (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await conv3dBackwardData(gpu, {
      dy,
      weight: gw,
      inputShape: xs,
      padding: [1, 1, 1],
      out: dx,
      transients: t,
    });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
  Deno.bench({ group, name: "conv3dBackwardWeights (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    await conv3dBackwardWeights(gpu, {
      x: gx,
      dy,
      kernel: [3, 3, 3],
      padding: [1, 1, 1],
      dweight: dw,
      transients: t,
    });
    await gpu.sync();
    for (const b of t) b.destroy();
  });
}

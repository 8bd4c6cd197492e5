// The linear-probe step's GEMMs on a ViT-B batch: x [1024, 768] · Wᵀ [14, 768]
// and dW = dyᵀ·x. Each is 2·1024·768·14 ≈ 22 MFLOP; divide by the time for GFLOP/s.
import { linearForward, linearWeightGrad } from "./linear.ts";
import { linearBackwardRef, linearForwardRef } from "./linear_ref.ts";
import { randomTensor, testGpu } from "../../_testing.ts";

const x = randomTensor([1024, 768], 1);
const w = randomTensor([14, 768], 2);
const dy = randomTensor([1024, 14], 3);

Deno.bench({
  group: "linear forward [1024,768]·[14,768]ᵀ",
  name: "linearForwardRef (CPU)",
  baseline: true,
}, () => {
  linearForwardRef(x, w);
});
Deno.bench({
  group: "linear backward [1024,768], K=14",
  name: "linearBackwardRef (CPU)",
  baseline: true,
}, () => {
  linearBackwardRef(x, w, dy);
});

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const gw = gpu.uploadTensor(w);
  const gdy = gpu.uploadTensor(dy);
  Deno.bench(
    { group: "linear forward [1024,768]·[14,768]ᵀ", name: "linearForward (WebGPU)" },
    async () => {
      const y = await linearForward(gpu, { x: gx, weight: gw });
      await gpu.sync();
      y.buffer.destroy();
    },
  );
  Deno.bench(
    { group: "linear backward [1024,768], K=14", name: "linearWeightGrad (WebGPU)" },
    async () => {
      const d = await linearWeightGrad(gpu, { x: gx, dy: gdy });
      await gpu.sync();
      d.buffer.destroy();
    },
  );
}

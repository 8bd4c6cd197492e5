// Dice + CE over a training batch of logits [2, 2, 32, 128, 128]
// (1M voxels, 2 classes): four passes, memory bound.
import { segLoss } from "./dice_ce.ts";
import { segLossRef } from "./dice_ce_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const logits = randomTensor([2, 2, 32, 128, 128], 1, 3);
const labels = {
  data: new Float32Array(2 * 32 * 128 * 128).map((_, i) => (i % 7 === 0 ? 1 : 0)),
  shape: [2, 32, 128, 128],
};
const opts = {
  includeBackground: false,
  ceWeight: 1,
  diceWeight: 1,
  smoothNr: 1e-5,
  smoothDr: 1e-5,
};
const group = "seg_loss K=2 [2,*,32,128,128]";

Deno.bench({ group, name: "segLossRef (CPU)", baseline: true }, () => {
  segLossRef(logits, labels, opts);
});

const gpu = await testGpu();
if (gpu) {
  const gl = gpu.uploadTensor(logits);
  const gt = gpu.uploadTensor(labels);
  const d = gpu.uploadTensor(logits);
  Deno.bench({ group, name: "segLoss (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    const { sums } = await segLoss(gpu, {
      logits: gl,
      labels: gt,
      dlogits: d,
      ...opts,
      transients: t,
    });
    await gpu.readback(sums.buffer);
    for (const b of [...t, sums.buffer]) b.destroy();
  });
}

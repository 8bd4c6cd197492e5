// BCE and CE over a [1024, 14] batch of logits: memory bound, ~0.2 MB per call.
import { sigmoidBce, softmaxCrossEntropy } from "./cross_entropy.ts";
import { sigmoidBceRef, softmaxCrossEntropyRef } from "./cross_entropy_ref.ts";
import { randomTensor, testGpu } from "../../_testing.ts";

const z = randomTensor([1024, 14], 1, 4);
const y = { data: randomTensor([1024, 14], 2).data.map((v) => (v > 0 ? 1 : 0)), shape: [1024, 14] };

Deno.bench({ group: "loss [1024,14]", name: "sigmoidBceRef (CPU)", baseline: true }, () => {
  sigmoidBceRef(z, y);
});
Deno.bench({ group: "loss [1024,14]", name: "softmaxCrossEntropyRef (CPU)" }, () => {
  softmaxCrossEntropyRef(z, y);
});

const gpu = await testGpu();
if (gpu) {
  const gz = gpu.uploadTensor(z);
  const gy = gpu.uploadTensor(y);
  Deno.bench({ group: "loss [1024,14]", name: "sigmoidBce (WebGPU)" }, async () => {
    const r = await sigmoidBce(gpu, { logits: gz, targets: gy });
    await gpu.sync();
    r.loss.buffer.destroy();
    r.grad.buffer.destroy();
  });
  Deno.bench({ group: "loss [1024,14]", name: "softmaxCrossEntropy (WebGPU)" }, async () => {
    const r = await softmaxCrossEntropy(gpu, { logits: gz, targets: gy });
    await gpu.sync();
    r.loss.buffer.destroy();
    r.grad.buffer.destroy();
  });
}

// Elementwise add over [1029, 1024] (ViT-L at 512 px): memory bound, 3 × 4 MB per call.
import { binary } from "./elementwise.ts";
import { binaryRef } from "./elementwise_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const a = randomTensor([1029, 1024], 1);
const b = randomTensor([1024], 2);

Deno.bench({ group: "add [1029,1024]+[1024]", name: "binaryRef (CPU)", baseline: true }, () => {
  binaryRef("add", a, b);
});

const gpu = await testGpu();
if (gpu) {
  const ga = gpu.uploadTensor(a);
  const gb = gpu.uploadTensor(b);
  Deno.bench({ group: "add [1029,1024]+[1024]", name: "binary (WebGPU)" }, async () => {
    const out = await binary(gpu, { op: "add", a: ga, b: gb });
    await gpu.sync();
    out.buffer.destroy();
  });
}

// Top-28 (k = 20 plus the re-ranking margin) of 256 rows of 20,000 similarities
// (one k-NN query block against a 20k-key chunk): ~20 MB read.
import { topk } from "./topk.ts";
import { topkRef } from "./topk_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const s = randomTensor([256, 20000], 1);

Deno.bench({
  group: "topk [256,20000] k=28",
  name: "topkRef (CPU, full sort)",
  baseline: true,
  n: 3,
}, () => {
  topkRef(s, 28);
});

const gpu = await testGpu();
if (gpu) {
  const gs = gpu.uploadTensor(s);
  Deno.bench({ group: "topk [256,20000] k=28", name: "topk (WebGPU)" }, async () => {
    const r = await topk(gpu, { scores: gs, k: 28 });
    r.values.destroy();
    r.indices.destroy();
  });
}

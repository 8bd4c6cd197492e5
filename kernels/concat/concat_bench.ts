// Concatenating a decoder activation [2, 16, 32, 64, 64] with a 1-channel
// image skip: a copy of 4.5M elements (≈ 36 MB moved), memory bound.
import { concat } from "./concat.ts";
import { concatRef } from "./concat_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const a = randomTensor([2, 16, 32, 64, 64], 1);
const b = randomTensor([2, 1, 32, 64, 64], 2);

Deno.bench(
  { group: "concat 16+1 @ [2,*,32,64,64]", name: "concatRef (CPU)", baseline: true },
  () => {
    concatRef([a, b]);
  },
);

const gpu = await testGpu();
if (gpu) {
  const ga = gpu.uploadTensor(a);
  const gb = gpu.uploadTensor(b);
  Deno.bench({ group: "concat 16+1 @ [2,*,32,64,64]", name: "concat (WebGPU)" }, async () => {
    const t: GPUBuffer[] = [];
    const out = await concat(gpu, { parts: [ga, gb], transients: t });
    await gpu.sync();
    out.buffer.destroy();
    for (const x of t) x.destroy();
  });
}

// One AdamW step over ViT-B linear-probe weights (768·14 values) and ABMIL's
// projection (768·256): memory bound, 4 arrays read and 3 written per element.
import { adamw } from "./adamw.ts";
import { adamwRef } from "./adamw_ref.ts";
import { randomTensor, testGpu } from "../../_testing.ts";

const n = 768 * 256;
const p = randomTensor([n], 1).data;
const g = randomTensor([n], 2).data;
const m = new Float32Array(n);
const v = new Float32Array(n);
let step = 0;

Deno.bench({ group: "adamw [196608]", name: "adamwRef (CPU)", baseline: true }, () => {
  adamwRef(p, g, m, v, { lr: 0.005, step: ++step });
});

const gpu = await testGpu();
if (gpu) {
  const t = (data: Float32Array) => ({
    buffer: gpu.upload(data, "adamw"),
    shape: [n],
    dtype: "f32" as const,
  });
  const args = { param: t(p), grad: t(g), m: t(m), v: t(v) };
  let s = 0;
  Deno.bench({ group: "adamw [196608]", name: "adamw (WebGPU)" }, async () => {
    await adamw(gpu, { ...args, lr: 0.005, step: ++s });
    await gpu.sync();
  });
}

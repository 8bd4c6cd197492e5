// Gated attention of one 20,000-tile bag with D = 128: scores and the softmax
// over instances (S [20000, 256] read once, ~20 MB).
import { gatedScore, softmaxVector } from "./gated_attention.ts";
import { gatedScoreRef, softmaxRef } from "./gated_attention_ref.ts";
import { randomTensor, testGpu } from "../../_testing.ts";

const n = 20000;
const d = 128;
const s = randomTensor([n, 2 * d], 1).data;
const w = randomTensor([d], 2).data;

Deno.bench({
  group: "gated attention N=20000 D=128",
  name: "gatedScoreRef + softmaxRef (CPU)",
  baseline: true,
}, () => {
  softmaxRef(gatedScoreRef(s, w, n, d).e);
});

const gpu = await testGpu();
if (gpu) {
  const gs = gpu.upload(s, "s");
  const gw = gpu.upload(w, "w");
  const e = gpu.createStorageBuffer(n * 4, "e");
  const g = gpu.createStorageBuffer(n * d * 4, "g");
  const a = gpu.createStorageBuffer(n * 4, "a");
  Deno.bench({
    group: "gated attention N=20000 D=128",
    name: "gatedScore + softmaxVector (WebGPU)",
  }, async () => {
    await gatedScore(gpu, { s: gs, w: gw, e, g, n, d });
    await softmaxVector(gpu, { e, a, n });
    await gpu.sync();
  });
}

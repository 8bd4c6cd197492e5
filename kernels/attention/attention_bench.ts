// Fused attention (RoPE pass + online-softmax kernel), 4·B·N²·C FLOP per call:
// ViT-S batch 8 at 224 px (N 201, 6 heads) is 0.5 GFLOP; ViT-L at 512 px
// (N 1029, 16 heads) is 4.3 GFLOP. The reference is the f64 baseline.
import { attention } from "./attention.ts";
import { attentionRef } from "./attention_ref.ts";
import { ropeTables } from "../rope/rope.ts";
import { ropeTablesRef } from "../rope/rope_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const gpu = await testGpu();
const CASES: [string, number, number, number][] = [
  ["ViT-S batch 8 at 224 px", 8, 14, 6],
  ["ViT-L batch 1 at 512 px", 1, 32, 16],
];
for (const [label, B, g, H] of CASES) {
  const N = 5 + g * g;
  const qkv = randomTensor([B, N, 3 * H * 64], 1);
  const group = `attention ${label} [${B}, ${N}, ${3 * H * 64}]`;
  const t = ropeTablesRef(g, g, 64, 100);
  Deno.bench({ group, name: "attentionRef (CPU)", baseline: true, n: 1, warmup: 0 }, () => {
    attentionRef(qkv, { heads: H, sin: t.sin, cos: t.cos, prefix: 5 });
  });
  if (gpu) {
    const buf = gpu.uploadTensor(qkv);
    const rope = ropeTables(gpu, g, g, 64, 100);
    const out = {
      buffer: gpu.createStorageBuffer(B * N * H * 64 * 4, "out"),
      shape: [B, N, H * 64],
      dtype: "f32" as const,
    };
    Deno.bench({ group, name: "attention (WebGPU)", n: 2, warmup: 1 }, async () => {
      // RoPE rotates in place: the input drifts between iterations, the cost does not.
      await attention(gpu, { qkv: buf, heads: H, rope, prefix: 5, out });
      await gpu.sync();
    });
  }
}

// Patch embedding of ViT-S at 224 px, batch 8: im2col + a [1568, 768]·[384, 768]ᵀ GEMM
// (0.92 GFLOP) + prefix tokens. The reference (f64 loops) is the baseline.
import { patchEmbed } from "./patch_embed.ts";
import { patchEmbedRef } from "./patch_embed_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const pixels = randomTensor([8, 3, 224, 224], 1);
const weight = randomTensor([384, 3, 16, 16], 2, 0.03);
const bias = randomTensor([384], 3);
const cls = randomTensor([384], 4);
const registers = randomTensor([4, 384], 5);
const group = "patchEmbed [8, 3, 224, 224] → [8, 201, 384]";
Deno.bench({ group, name: "patchEmbedRef (CPU)", baseline: true, n: 1, warmup: 0 }, () => {
  patchEmbedRef(pixels, { weight, bias, cls, registers });
});
const gpu = await testGpu();
if (gpu) {
  const args = {
    pixels: gpu.uploadTensor(pixels),
    weight: gpu.uploadTensor(weight),
    bias: gpu.uploadTensor(bias),
    cls: gpu.uploadTensor(cls),
    registers: gpu.uploadTensor(registers),
    out: {
      buffer: gpu.createStorageBuffer(8 * 201 * 384 * 4, "out"),
      shape: [8, 201, 384],
      dtype: "f32" as const,
    },
    scratch: gpu.createStorageBuffer(8 * 196 * 768 * 4, "im2col"),
  };
  Deno.bench({ group, name: "patchEmbed (WebGPU)", n: 2, warmup: 1 }, async () => {
    await patchEmbed(gpu, args);
    await gpu.sync();
  });
}

/**
 * Kernel conformance (burn style): every DINOv3 kernel against its CPU
 * reference on one shared list of token geometries, the real ones
 * (ViT-S/B at 224 px: 201 tokens; ViT-L at 512 px: 1029 tokens) and odd
 * ones (the fixture's 3×5 grid, a 1×2 grid with Dh 8, non-square, no
 * multiple of any tile). Unit tests beside each kernel cover their edge
 * cases; this suite checks that the launchers agree with the references on
 * the same inputs, in the layouts the encoder passes between them.
 */

import { assertAllClose, gpuTest, randomTensor } from "../kernels/_testing.ts";
import {
  attention,
  attentionRef,
  layerNorm,
  layerNormRef,
  matmul,
  matmulRef,
  patchEmbed,
  patchEmbedRef,
  rope,
  ropeRef,
  ropeTablesRef,
  tokenMean,
  tokenMeanRef,
  uploadRopeTables,
} from "../kernels/mod.ts";

/** `[name, batch, grid h, grid w, C, heads, heavy]`: tokens N = 5 + h·w. */
const GEOMETRIES: [string, number, number, number, number, number, boolean][] = [
  ["ViT-S 224 px", 2, 14, 14, 384, 6, false],
  ["ViT-B 224 px", 1, 14, 14, 768, 12, false],
  ["ViT-L 512 px", 1, 32, 32, 1024, 16, true],
  ["fixture 3×5", 1, 3, 5, 64, 4, false],
  ["odd 1×2, Dh 8", 3, 1, 2, 24, 3, false],
];

const TOL = { atol: 2e-5, rtol: 1e-5 };

for (const [name, B, h, w, C, H, heavy] of GEOMETRIES) {
  const N = 5 + h * w;
  const D = C / H;
  gpuTest(`kernels match their references on ${name} tokens [${B}, ${N}, ${C}]`, async (gpu) => {
    const seed = N + C;
    const x = randomTensor([B, N, C], seed, 2);
    const weight = randomTensor([C], seed + 1);
    const bias = randomTensor([C], seed + 2);
    const gx = gpu.uploadTensor(x);

    // LayerNorm, both variants, and the mean patch token.
    for (const variant of ["rows", "workgroup"] as const) {
      const y = await layerNorm(gpu, {
        x: gx,
        weight: gpu.uploadTensor(weight),
        bias: gpu.uploadTensor(bias),
        eps: 1e-5,
        variant,
      });
      assertAllClose(
        await gpu.readTensor(y),
        layerNormRef(x, { weight, bias, eps: 1e-5 }),
        TOL,
        `layerNorm ${variant}`,
      );
    }
    const mean = await tokenMean(gpu, { x: gx, start: 5, count: h * w });
    assertAllClose(await gpu.readTensor(mean), tokenMeanRef(x, 5, h * w), TOL, "tokenMean");

    // GEMM with each epilogue (96 output columns keep the references fast).
    const wt = randomTensor([96, C], seed + 3, 1 / Math.sqrt(C));
    const b96 = randomTensor([96], seed + 4);
    const gamma = randomTensor([96], seed + 5);
    const residual = randomTensor([B, N, 96], seed + 6);
    for (const epilogue of ["none", "gelu", "layer_scale_residual"] as const) {
      const y = await matmul(gpu, {
        x: gx,
        weight: gpu.uploadTensor(wt),
        bias: gpu.uploadTensor(b96),
        epilogue,
        gamma: gpu.uploadTensor(gamma),
        residual: gpu.uploadTensor(residual),
      });
      assertAllClose(
        await gpu.readTensor(y),
        matmulRef(x, { weight: wt, bias: b96, epilogue, gamma, residual }),
        TOL,
        `matmul ${epilogue}`,
      );
    }

    // RoPE on q and k of a packed qkv, then attention.
    const tables = ropeTablesRef(h, w, D, 100);
    const gpuTables = uploadRopeTables(gpu, tables, [h, w]);
    const qkvHeads = heavy ? 2 : H; // ViT-L: two of the 16 heads keep the f64 reference quick
    const qkv = randomTensor([B, N, 3 * qkvHeads * D], seed + 7);
    const rotated = gpu.uploadTensor(qkv);
    await rope(gpu, { x: rotated, tables: gpuTables, heads: qkvHeads, prefix: 5, blocks: 2 });
    assertAllClose(
      await gpu.readTensor(rotated),
      ropeRef(qkv, { tables, heads: qkvHeads, prefix: 5, blocks: 2 }),
      TOL,
      "rope",
    );
    const o = await attention(gpu, {
      qkv: gpu.uploadTensor(qkv),
      heads: qkvHeads,
      rope: gpuTables,
      prefix: 5,
    });
    assertAllClose(
      await gpu.readTensor(o),
      attentionRef(qkv, { heads: qkvHeads, sin: tables.sin, cos: tables.cos, prefix: 5 }),
      TOL,
      "attention",
    );

    // Patch embedding of 16-pixel patches into the same token layout.
    if (!heavy) {
      const pixels = randomTensor([B, 3, 16 * h, 16 * w], seed + 8);
      const pw = randomTensor([C, 3, 16, 16], seed + 9, 1 / 28);
      const pb = randomTensor([C], seed + 10);
      const cls = randomTensor([C], seed + 11);
      const registers = randomTensor([4, C], seed + 12);
      const tokens = await patchEmbed(gpu, {
        pixels: gpu.uploadTensor(pixels),
        weight: gpu.uploadTensor(pw),
        bias: gpu.uploadTensor(pb),
        cls: gpu.uploadTensor(cls),
        registers: gpu.uploadTensor(registers),
      });
      assertAllClose(
        await gpu.readTensor(tokens),
        patchEmbedRef(pixels, { weight: pw, bias: pb, cls, registers }),
        TOL,
        "patchEmbed",
      );
    }
  });
}

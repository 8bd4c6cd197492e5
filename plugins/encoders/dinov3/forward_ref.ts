// This module is browser compatible.
/**
 * The DINOv3 ViT forward pass in plain TypeScript, built from the kernel
 * references (patchEmbedRef, layerNormRef, matmulRef, attentionRef,
 * ropeTablesRef, tokenMeanRef): the oracle for the WebGPU forward, and a
 * slow CPU backend where there is no GPU. Returns every stage the golden
 * fixture checks.
 *
 * @example A random 1-block model on one 32×48 image
 * ```ts
 * import { dinov3ForwardRef } from "./forward_ref.ts";
 * import { parseDinov3Config } from "./config.ts";
 * import { assembleWeights, randomDinov3Tensors } from "./weights.ts";
 * import assert from "node:assert/strict";
 * const config = parseDinov3Config({ hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2 });
 * const t = randomDinov3Tensors(config, 1);
 * const weights = assembleWeights(config, (n) => t[n]?.data as Float32Array | undefined);
 * const out = dinov3ForwardRef(weights, { data: new Float32Array(3 * 32 * 48), shape: [1, 3, 32, 48] });
 * assert.deepEqual(out.patchTokens.shape, [1, 2, 3, 32]);
 * assert.deepEqual(out.registers.shape, [1, 4, 32]);
 * ```
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../../core/tensor.ts";
import { attentionRef } from "../../../kernels/attention/attention_ref.ts";
import { layerNormRef, tokenMeanRef } from "../../../kernels/layer_norm/layer_norm_ref.ts";
import { matmulRef } from "../../../kernels/matmul/matmul_ref.ts";
import { patchEmbedRef } from "../../../kernels/patch_embed/patch_embed_ref.ts";
import { ropeTablesRef } from "../../../kernels/rope/rope_ref.ts";
import type { Dinov3BlockWeights, Dinov3Weights } from "./weights.ts";

/** Every stage of one forward pass (DINOV3_SPEC.md §2, fixture names in brackets). */
export interface Dinov3RefOutputs {
  /** Patch grid `[h, w]`. */
  grid: [number, number];
  /** RoPE sin table `[h·w, Dh]` (`rope_sin`). */
  ropeSin: HostTensor;
  /** RoPE cos table `[h·w, Dh]` (`rope_cos`). */
  ropeCos: HostTensor;
  /** Tokens entering block 0, `[B, N, C]` (`embeddings`). */
  embeddings: HostTensor;
  /** Output of every block (before the final norm), `[B, N, C]` each (`block0` … ; the last is `prenorm`). */
  blocks: HostTensor[];
  /** Final LayerNorm of all tokens, `[B, N, C]` (`last_hidden_state`). */
  lastHiddenState: HostTensor;
  /** Normalised CLS `[B, C]` (`cls`). */
  cls: HostTensor;
  /** Normalised registers `[B, R, C]` (`registers`). */
  registers: HostTensor;
  /** Normalised patch tokens `[B, h, w, C]` (`patch_tokens`). */
  patchTokens: HostTensor;
  /** Mean normalised patch token `[B, C]` (`patch_mean`). */
  patchMean: HostTensor;
}

function t(data: Float32Array, shape: number[]): HostTensor {
  return { data, shape };
}

/** The fused `[3C, C]` q|k|v weight and `[3C]` bias of a block (absent biases are zeros). */
export function fuseQkv(layer: Dinov3BlockWeights, dim: number): {
  weight: Float32Array;
  bias: Float32Array;
} {
  const weight = new Float32Array(3 * dim * dim);
  weight.set(layer.qWeight, 0);
  weight.set(layer.kWeight, dim * dim);
  weight.set(layer.vWeight, 2 * dim * dim);
  const bias = new Float32Array(3 * dim);
  bias.set(layer.qBias, 0);
  bias.set(layer.kBias, dim);
  bias.set(layer.vBias, 2 * dim);
  return { weight, bias };
}

/** One transformer block on `x: [B, N, C]` (pre-norm, LayerScale, RoPE attention, GELU MLP). */
export function dinov3BlockRef(
  x: HostTensor,
  layer: Dinov3BlockWeights,
  weights: Dinov3Weights,
  rope: { sin: HostTensor; cos: HostTensor },
): HostTensor {
  const c = weights.config;
  const C = c.dim;
  const prefix = 1 + c.numRegisters;
  const a = layerNormRef(x, {
    weight: t(layer.norm1Weight, [C]),
    bias: t(layer.norm1Bias, [C]),
    eps: c.layerNormEps,
  }); // [B, N, C]
  const qkvW = fuseQkv(layer, C);
  const qkv = matmulRef(a, {
    weight: t(qkvW.weight, [3 * C, C]),
    bias: t(qkvW.bias, [3 * C]),
  }); // [B, N, 3C]
  const o = attentionRef(qkv, { heads: c.heads, sin: rope.sin, cos: rope.cos, prefix }); // [B, N, C]
  const x1 = matmulRef(o, {
    weight: t(layer.oWeight, [C, C]),
    bias: t(layer.oBias, [C]),
    epilogue: "layer_scale_residual",
    gamma: t(layer.ls1, [C]),
    residual: x,
  }); // [B, N, C]
  const m = layerNormRef(x1, {
    weight: t(layer.norm2Weight, [C]),
    bias: t(layer.norm2Bias, [C]),
    eps: c.layerNormEps,
  }); // [B, N, C]
  const hidden = matmulRef(m, {
    weight: t(layer.upWeight, [c.intermediateSize, C]),
    bias: t(layer.upBias, [c.intermediateSize]),
    epilogue: "gelu",
  }); // [B, N, M]
  return matmulRef(hidden, {
    weight: t(layer.downWeight, [C, c.intermediateSize]),
    bias: t(layer.downBias, [C]),
    epilogue: "layer_scale_residual",
    gamma: t(layer.ls2, [C]),
    residual: x1,
  }); // [B, N, C]
}

/** Splits normalised tokens `[B, N, C]` into CLS, registers, patches `[B, h, w, C]` and their mean. */
export function splitTokens(
  tokens: HostTensor,
  numRegisters: number,
  grid: readonly [number, number],
): Pick<Dinov3RefOutputs, "cls" | "registers" | "patchTokens" | "patchMean"> {
  const [B, N, C] = tokens.shape;
  const [h, w] = grid;
  const R = numRegisters;
  if (N !== 1 + R + h * w) {
    throw new TypeError(
      `Cannot split tokens as they must have shape [B, ${1 + R + h * w}, C]: current shape is ${
        formatShape(tokens.shape)
      }`,
    );
  }
  const cls = new Float32Array(B * C);
  const registers = new Float32Array(B * R * C);
  const patches = new Float32Array(B * h * w * C);
  for (let b = 0; b < B; b++) {
    const base = b * N * C;
    cls.set(tokens.data.subarray(base, base + C), b * C);
    registers.set(tokens.data.subarray(base + C, base + (1 + R) * C), b * R * C);
    patches.set(tokens.data.subarray(base + (1 + R) * C, base + N * C), b * h * w * C);
  }
  return {
    cls: t(cls, [B, C]),
    registers: t(registers, [B, R, C]),
    patchTokens: t(patches, [B, h, w, C]),
    patchMean: tokenMeanRef(tokens, 1 + R, h * w),
  };
}

/**
 * Runs the whole model on normalised pixels `[B, 3, H, W]` (H, W floored to
 * multiples of the patch size, as the official model does).
 */
export function dinov3ForwardRef(weights: Dinov3Weights, pixels: HostTensor): Dinov3RefOutputs {
  const c = weights.config;
  const C = c.dim;
  const P = c.patchSize;
  const grid: [number, number] = [Math.floor(pixels.shape[2] / P), Math.floor(pixels.shape[3] / P)];
  const rope = ropeTablesRef(grid[0], grid[1], c.headDim, c.ropeTheta);
  const embeddings = patchEmbedRef(pixels, {
    weight: t(weights.patchWeight, [C, c.channels, P, P]),
    bias: t(weights.patchBias, [C]),
    cls: t(weights.cls, [C]),
    registers: t(weights.registers, [c.numRegisters, C]),
  }); // [B, N, C]
  const blocks: HostTensor[] = [];
  let x = embeddings;
  for (const layer of weights.layers) {
    x = dinov3BlockRef(x, layer, weights, rope); // [B, N, C]
    blocks.push(x);
  }
  const lastHiddenState = layerNormRef(x, {
    weight: t(weights.normWeight, [C]),
    bias: t(weights.normBias, [C]),
    eps: c.layerNormEps,
  }); // [B, N, C]
  return {
    grid,
    ropeSin: rope.sin,
    ropeCos: rope.cos,
    embeddings,
    blocks,
    lastHiddenState,
    ...splitTokens(lastHiddenState, c.numRegisters, grid),
  };
}

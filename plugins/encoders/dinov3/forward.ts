// This module is browser compatible.
/**
 * The DINOv3 ViT forward pass on WebGPU with medprobe's kernels: weights
 * uploaded once (q|k|v fused into one `[3C, C]` GEMM per block), activations
 * from a reusable {@linkcode BufferPool}, every dispatch of a batch recorded
 * into one command encoder and submitted once.
 *
 * Per block: `a = LN1(x)` → `qkv = a·Wqkvᵀ + b` → RoPE on q, k of the patch
 * tokens (in place) → fused online-softmax attention → `x += γ1 ⊙ (o·Woᵀ + b)`
 * (GEMM epilogue) → `m = LN2(x)` → `h = GELU(m·Wupᵀ + b)` (epilogue) →
 * `x += γ2 ⊙ (h·Wdownᵀ + b)` (epilogue). Then the final LayerNorm of all
 * tokens and the mean patch token.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { formatShape } from "../../../core/tensor.ts";
import { BufferPool } from "../../../kernels/_runtime.ts";
import { attention } from "../../../kernels/attention/attention.ts";
import { layerNorm, tokenMean } from "../../../kernels/layer_norm/layer_norm.ts";
import { matmul, type MatmulTile } from "../../../kernels/matmul/matmul.ts";
import { patchEmbed } from "../../../kernels/patch_embed/patch_embed.ts";
import { ropeTables } from "../../../kernels/rope/rope.ts";
import type { Dinov3Config } from "./config.ts";
import { type ExpectedTensor, expectedTensors } from "./weights.ts";

export { BufferPool };

/** One block's weights on the GPU. */
export interface Dinov3GpuLayer {
  /** `[C]`. */ norm1Weight: GpuTensor;
  /** `[C]`. */ norm1Bias: GpuTensor;
  /** q|k|v rows of the three projections, `[3C, C]`. */ qkvWeight: GpuTensor;
  /** `[3C]` (zeros where the checkpoint has no bias, e.g. k). */ qkvBias: GpuTensor;
  /** `[C, C]`. */ oWeight: GpuTensor;
  /** `[C]`. */ oBias: GpuTensor;
  /** LayerScale 1 `[C]`. */ ls1: GpuTensor;
  /** `[C]`. */ norm2Weight: GpuTensor;
  /** `[C]`. */ norm2Bias: GpuTensor;
  /** `[M, C]`. */ upWeight: GpuTensor;
  /** `[M]`. */ upBias: GpuTensor;
  /** `[C, M]`. */ downWeight: GpuTensor;
  /** `[C]`. */ downBias: GpuTensor;
  /** LayerScale 2 `[C]`. */ ls2: GpuTensor;
}

/** All weights of a model on the GPU, uploaded once. */
export interface Dinov3GpuWeights {
  /** The config. */
  readonly config: Dinov3Config;
  /** CLS token `[C]`. */ readonly cls: GpuTensor;
  /** Registers `[R, C]`. */ readonly registers: GpuTensor;
  /** Patch conv weight `[C, channels, P, P]`. */ readonly patchWeight: GpuTensor;
  /** Patch conv bias `[C]`. */ readonly patchBias: GpuTensor;
  /** Blocks. */ readonly layers: readonly Dinov3GpuLayer[];
  /** Final norm weight `[C]`. */ readonly normWeight: GpuTensor;
  /** Final norm bias `[C]`. */ readonly normBias: GpuTensor;
  /** Bytes of GPU memory the weights occupy. */
  readonly bytes: number;
  /** Destroys every weight buffer. */
  destroy(): void;
}

/** Where each HF tensor goes: a GPU tensor and a byte offset in it. */
interface Slot {
  tensor: GpuTensor;
  offset: number;
}

/**
 * Allocates the weight buffers of a config (zero-filled, so absent biases
 * are zeros) and returns them with a router from HF tensor names to slots.
 */
function allocateWeights(ctx: GpuContext, c: Dinov3Config): {
  weights: Dinov3GpuWeights;
  slot: (name: string) => Slot | undefined;
} {
  const C = c.dim;
  const M = c.intermediateSize;
  const buffers: GPUBuffer[] = [];
  let bytes = 0;
  const make = (shape: number[], label: string): GpuTensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const buffer = ctx.createStorageBuffer(n * 4, `dinov3:${label}`);
    buffers.push(buffer);
    bytes += buffer.size;
    return { buffer, shape, dtype: "f32" };
  };
  const slots = new Map<string, Slot>();
  const at = (name: string, tensor: GpuTensor, offset = 0) => slots.set(name, { tensor, offset });
  const cls = make([C], "cls");
  const registers = make([c.numRegisters, C], "registers");
  const patchWeight = make([C, c.channels, c.patchSize, c.patchSize], "patch_weight");
  const patchBias = make([C], "patch_bias");
  at("embeddings.cls_token", cls);
  at("embeddings.register_tokens", registers);
  at("embeddings.patch_embeddings.weight", patchWeight);
  at("embeddings.patch_embeddings.bias", patchBias);
  const layers: Dinov3GpuLayer[] = [];
  for (let i = 0; i < c.depth; i++) {
    const p = `layer.${i}.`;
    const l: Dinov3GpuLayer = {
      norm1Weight: make([C], p + "norm1.weight"),
      norm1Bias: make([C], p + "norm1.bias"),
      qkvWeight: make([3 * C, C], p + "qkv.weight"),
      qkvBias: make([3 * C], p + "qkv.bias"),
      oWeight: make([C, C], p + "o.weight"),
      oBias: make([C], p + "o.bias"),
      ls1: make([C], p + "ls1"),
      norm2Weight: make([C], p + "norm2.weight"),
      norm2Bias: make([C], p + "norm2.bias"),
      upWeight: make([M, C], p + "up.weight"),
      upBias: make([M], p + "up.bias"),
      downWeight: make([C, M], p + "down.weight"),
      downBias: make([C], p + "down.bias"),
      ls2: make([C], p + "ls2"),
    };
    at(p + "norm1.weight", l.norm1Weight);
    at(p + "norm1.bias", l.norm1Bias);
    at(p + "attention.q_proj.weight", l.qkvWeight, 0);
    at(p + "attention.k_proj.weight", l.qkvWeight, C * C * 4);
    at(p + "attention.v_proj.weight", l.qkvWeight, 2 * C * C * 4);
    at(p + "attention.q_proj.bias", l.qkvBias, 0);
    at(p + "attention.k_proj.bias", l.qkvBias, C * 4);
    at(p + "attention.v_proj.bias", l.qkvBias, 2 * C * 4);
    at(p + "attention.o_proj.weight", l.oWeight);
    at(p + "attention.o_proj.bias", l.oBias);
    at(p + "layer_scale1.lambda1", l.ls1);
    at(p + "norm2.weight", l.norm2Weight);
    at(p + "norm2.bias", l.norm2Bias);
    at(p + "mlp.up_proj.weight", l.upWeight);
    at(p + "mlp.up_proj.bias", l.upBias);
    at(p + "mlp.down_proj.weight", l.downWeight);
    at(p + "mlp.down_proj.bias", l.downBias);
    at(p + "layer_scale2.lambda1", l.ls2);
    layers.push(l);
  }
  const normWeight = make([C], "norm.weight");
  const normBias = make([C], "norm.bias");
  at("norm.weight", normWeight);
  at("norm.bias", normBias);
  const weights: Dinov3GpuWeights = {
    config: c,
    cls,
    registers,
    patchWeight,
    patchBias,
    layers,
    normWeight,
    normBias,
    bytes,
    destroy() {
      for (const b of buffers) b.destroy();
    },
  };
  return { weights, slot: (name) => slots.get(name) };
}

/** Bytes the weights of a config occupy on the GPU (without allocating them). */
export function dinov3WeightBytes(c: Dinov3Config): number {
  const C = c.dim;
  const M = c.intermediateSize;
  const round = (n: number) => Math.max(4, n * 4);
  const perLayer = 4 * round(C) + round(3 * C * C) + round(3 * C) + round(C * C) + 2 * round(C) +
    round(M * C) + round(M) + round(C * M) + round(C) + round(C);
  return round(C) + round(c.numRegisters * C) + round(C * c.channels * c.patchSize ** 2) +
    round(C) + c.depth * perLayer + 2 * round(C);
}

/**
 * Uploads weights tensor by tensor: `source` calls `use(tensor, data)` once
 * per expected tensor (e.g. {@linkcode streamDinov3Tensors} reading a
 * checkpoint one tensor at a time); each is written to its GPU buffer and
 * the host copy can be dropped.
 */
export async function uploadDinov3Weights(
  ctx: GpuContext,
  config: Dinov3Config,
  source: (use: (tensor: ExpectedTensor, data: Float32Array) => void) => Promise<void> | void,
): Promise<Dinov3GpuWeights> {
  const { weights, slot } = allocateWeights(ctx, config);
  const seen = new Set<string>();
  try {
    await source((tensor, data) => {
      const s = slot(tensor.name);
      if (!s) {
        throw new TypeError(
          `Cannot upload DINOv3 weights as tensor "${tensor.name}" is not part of the model`,
        );
      }
      ctx.write(s.tensor.buffer, data, s.offset);
      seen.add(tensor.name);
    });
    const missing = expectedTensors(config).filter((e) => !seen.has(e.name));
    if (missing.length > 0) {
      throw new TypeError(
        `Cannot upload DINOv3 weights as tensor "${missing[0].name}" was not provided`,
      );
    }
  } catch (e) {
    weights.destroy();
    throw e;
  }
  return weights;
}

/** Options of {@linkcode dinov3Forward}. */
export interface Dinov3ForwardOptions {
  /** Where activations come from (and outputs, released by `release()`). */
  pool: BufferPool;
  /** 0-based blocks whose outputs (before the final norm) to keep. */
  intermediateLayers?: readonly number[];
  /** Also keep the embeddings (input of block 0). */
  keepEmbeddings?: boolean;
  /** GEMM register tile. */
  tile?: MatmulTile;
}

/** The outputs of one forward pass, resident on the GPU. */
export interface Dinov3GpuOutput {
  /** Patch grid `[h, w]`. */
  readonly grid: readonly [number, number];
  /** Tokens per image N = 1 + R + h·w; layout `[CLS, registers, patches row-major]`. */
  readonly tokens: number;
  /** Final LayerNorm of all tokens, `[B, N, C]`. */
  readonly lastHiddenState: GpuTensor;
  /** Mean normalised patch token `[B, C]`. */
  readonly patchMean: GpuTensor;
  /** Outputs of the requested blocks (before the final norm), `[B, N, C]` each. */
  readonly intermediates: readonly GpuTensor[];
  /** Embeddings `[B, N, C]` when `keepEmbeddings` was set. */
  readonly embeddings?: GpuTensor;
  /** Returns the output buffers to the pool (the tensors must not be used afterwards). */
  release(): void;
}

/** The largest per-image activation of a forward pass at a size, in bytes. */
export function dinov3ActivationBytesPerImage(
  c: Dinov3Config,
  height: number,
  width: number,
): number {
  const hw = Math.floor(height / c.patchSize) * Math.floor(width / c.patchSize);
  const N = 1 + c.numRegisters + hw;
  return 4 * Math.max(
    N * c.intermediateSize,
    N * 3 * c.dim,
    hw * c.channels * c.patchSize ** 2,
    c.channels * height * width,
  );
}

/**
 * The most images one forward pass may take at a size so that no buffer
 * exceeds `maxStorageBufferBindingSize` or `maxBufferSize`.
 */
export function dinov3MaxBatch(
  c: Dinov3Config,
  height: number,
  width: number,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
): number {
  const max = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  return Math.floor(max / dinov3ActivationBytesPerImage(c, height, width));
}

/** The activation buffers of one pass, from a pool. */
interface Activations {
  scratch: GpuTensor[];
  im2col: GpuTensor;
  x: GpuTensor;
  x2: GpuTensor;
  a: GpuTensor;
  qkv: GpuTensor;
  o: GpuTensor;
  hidden: GpuTensor;
  last: GpuTensor;
  mean: GpuTensor;
  kept: GpuTensor[];
  embeddings?: GpuTensor;
}

/** Acquires every activation of a pass (the dry run and the real pass share this). */
function acquireActivations(
  pool: BufferPool,
  c: Dinov3Config,
  B: number,
  h: number,
  w: number,
  layers: readonly number[],
  keepEmbeddings: boolean,
): Activations {
  const N = 1 + c.numRegisters + h * w;
  const C = c.dim;
  const tensor = (shape: number[], label: string): GpuTensor => ({
    buffer: pool.acquire(shape.reduce((a, b) => a * b, 1) * 4, `dinov3:${label}`),
    shape,
    dtype: "f32",
  });
  const im2col = tensor([B * h * w, c.channels * c.patchSize ** 2], "im2col");
  const x = tensor([B, N, C], "x"); // residual stream [B, N, C]
  const x2 = tensor([B, N, C], "x2"); // residual stream after attention [B, N, C]
  const a = tensor([B, N, C], "normed"); // LayerNorm output [B, N, C]
  const qkv = tensor([B, N, 3 * C], "qkv"); // [B, N, 3C]
  const o = tensor([B, N, C], "attention"); // [B, N, C]
  const hidden = tensor([B, N, c.intermediateSize], "hidden"); // [B, N, M]
  return {
    scratch: [im2col, x, x2, a, qkv, o, hidden],
    im2col,
    x,
    x2,
    a,
    qkv,
    o,
    hidden,
    last: tensor([B, N, C], "last_hidden_state"),
    mean: tensor([B, C], "patch_mean"),
    kept: layers.map((i) => tensor([B, N, C], `block${i}`)),
    embeddings: keepEmbeddings ? tensor([B, N, C], "embeddings") : undefined,
  };
}

/** GPU memory of a batch, as the encoder would run it. */
export interface Dinov3MemoryEstimate {
  /** Bytes of the uploaded weights. */
  weightsBytes: number;
  /** Peak bytes the activation pool holds (pixels staging included). */
  activationBytes: number;
  /** Images per forward pass after splitting by the device limits. */
  chunks: number[];
}

/**
 * Measures the GPU memory of encoding `batch` images at `height × width`
 * without running the model: splits the batch as the encoder does, then
 * acquires from a fresh {@linkcode BufferPool} exactly the buffers one
 * pass acquires (real allocations, so the pool's rounding counts), and
 * reads its peak. The weights are counted, not uploaded.
 */
export function dinov3MemoryEstimate(
  ctx: GpuContext,
  config: Dinov3Config,
  batch: number,
  height: number,
  width: number,
  options: { intermediateLayers?: readonly number[] } = {},
): Dinov3MemoryEstimate {
  const max = dinov3MaxBatch(config, height, width, ctx.limits);
  const chunks = Math.ceil(batch / max);
  const size = Math.ceil(batch / chunks);
  const sizes = Array.from({ length: chunks }, (_, i) => Math.min(size, batch - i * size));
  const pool = new BufferPool(ctx);
  const h = Math.floor(height / config.patchSize);
  const w = Math.floor(width / config.patchSize);
  for (const b of sizes) {
    const pixels = pool.acquire(b * config.channels * height * width * 4, "dinov3:pixels");
    const acts = acquireActivations(pool, config, b, h, w, options.intermediateLayers ?? [], false);
    for (const t of acts.scratch) pool.release(t.buffer);
    pool.release(pixels);
    for (const t of [acts.last, acts.mean, ...acts.kept]) pool.release(t.buffer);
  }
  const activationBytes = pool.peakBytes;
  pool.trim();
  return { weightsBytes: dinov3WeightBytes(config), activationBytes, chunks: sizes };
}

/**
 * FLOPs of one image through the model (multiply-adds count 2; LayerNorm,
 * softmax and GELU not counted): the patch GEMM, and per block the q|k|v,
 * attention (q·kᵀ and p·v), output and MLP GEMMs.
 *
 * @example ViT-S/16 at 224 px: 9.4 GFLOP per image
 * ```ts
 * import { dinov3Flops } from "./forward.ts";
 * import { DINOV3_PRESETS } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(Math.round(dinov3Flops(DINOV3_PRESETS["dinov3-vits16"], 224, 224) / 1e8), 94);
 * ```
 */
export function dinov3Flops(c: Dinov3Config, height: number, width: number): number {
  const hw = Math.floor(height / c.patchSize) * Math.floor(width / c.patchSize);
  const N = 1 + c.numRegisters + hw;
  const C = c.dim;
  const M = c.intermediateSize;
  const patch = 2 * hw * C * c.channels * c.patchSize ** 2;
  const block = 2 * N * C * 3 * C + 4 * N * N * C + 2 * N * C * C + 4 * N * C * M;
  return patch + c.depth * block;
}

/**
 * Runs the model on normalised pixels `[B, channels, H, W]` already on the
 * GPU (H, W floored to multiples of the patch size). All work is recorded
 * into one command encoder and submitted; the outputs stay on the GPU.
 *
 * @throws {RangeError} when the batch does not fit the device limits (see {@linkcode dinov3MaxBatch}).
 */
export async function dinov3Forward(
  ctx: GpuContext,
  weights: Dinov3GpuWeights,
  pixels: GpuTensor,
  options: Dinov3ForwardOptions,
): Promise<Dinov3GpuOutput> {
  const c = weights.config;
  const [B, CH, H, W] = pixels.shape;
  if (pixels.shape.length !== 4 || CH !== c.channels) {
    throw new TypeError(
      `Cannot run DINOv3 as pixels must have shape [B, ${c.channels}, H, W]: current shape is ${
        formatShape(pixels.shape)
      }`,
    );
  }
  const h = Math.floor(H / c.patchSize);
  const w = Math.floor(W / c.patchSize);
  if (h < 1 || w < 1) {
    throw new RangeError(
      `Cannot run DINOv3 as the image must be at least ${c.patchSize}×${c.patchSize} pixels: current size is ${H}×${W}`,
    );
  }
  const maxBatch = dinov3MaxBatch(c, H, W, ctx.limits);
  if (B > maxBatch) {
    throw new RangeError(
      `Cannot run DINOv3 as the batch must be at most ${maxBatch} images at ${H}×${W} on this device (maxStorageBufferBindingSize ${ctx.limits.maxStorageBufferBindingSize}): current batch is ${B}; split it (the encoder does this itself)`,
    );
  }
  const layers = options.intermediateLayers ?? [];
  for (const i of layers) {
    if (!Number.isInteger(i) || i < 0 || i >= c.depth) {
      throw new RangeError(
        `Cannot run DINOv3 as intermediate layers must lie in [0, ${c.depth}): current value is ${i}`,
      );
    }
  }
  const C = c.dim;
  const N = 1 + c.numRegisters + h * w;
  const prefix = 1 + c.numRegisters;
  const pool = options.pool;
  const tile = options.tile;
  const { im2col, x, x2, a, qkv, o, hidden, last, mean, kept, embeddings, scratch } =
    acquireActivations(pool, c, B, h, w, layers, options.keepEmbeddings ?? false);
  const encoder = ctx.device.createCommandEncoder({ label: "dinov3" });
  try {
    const rope = ropeTables(ctx, h, w, c.headDim, c.ropeTheta);
    await patchEmbed(ctx, {
      pixels,
      weight: weights.patchWeight,
      bias: weights.patchBias,
      cls: weights.cls,
      registers: weights.registers,
      out: x,
      scratch: im2col.buffer,
      tile,
      encoder,
    }); // [B, N, C]
    if (embeddings) encoder.copyBufferToBuffer(x.buffer, 0, embeddings.buffer, 0, B * N * C * 4);
    for (let i = 0; i < c.depth; i++) {
      const l = weights.layers[i];
      await layerNorm(ctx, {
        x,
        weight: l.norm1Weight,
        bias: l.norm1Bias,
        eps: c.layerNormEps,
        out: a,
        encoder,
      }); // [B, N, C]
      await matmul(ctx, { x: a, weight: l.qkvWeight, bias: l.qkvBias, out: qkv, tile, encoder }); // [B, N, 3C]
      await attention(ctx, { qkv, heads: c.heads, rope, prefix, out: o, encoder }); // [B, N, C]
      await matmul(ctx, {
        x: o,
        weight: l.oWeight,
        bias: l.oBias,
        epilogue: "layer_scale_residual",
        gamma: l.ls1,
        residual: x,
        out: x2,
        tile,
        encoder,
      }); // [B, N, C]
      await layerNorm(ctx, {
        x: x2,
        weight: l.norm2Weight,
        bias: l.norm2Bias,
        eps: c.layerNormEps,
        out: a,
        encoder,
      }); // [B, N, C]
      await matmul(ctx, {
        x: a,
        weight: l.upWeight,
        bias: l.upBias,
        epilogue: "gelu",
        out: hidden,
        tile,
        encoder,
      }); // [B, N, M]
      await matmul(ctx, {
        x: hidden,
        weight: l.downWeight,
        bias: l.downBias,
        epilogue: "layer_scale_residual",
        gamma: l.ls2,
        residual: x2,
        out: x,
        tile,
        encoder,
      }); // [B, N, C]
      layers.forEach((li, j) => {
        if (li === i) encoder.copyBufferToBuffer(x.buffer, 0, kept[j].buffer, 0, B * N * C * 4);
      });
    }
    await layerNorm(ctx, {
      x,
      weight: weights.normWeight,
      bias: weights.normBias,
      eps: c.layerNormEps,
      out: last,
      encoder,
    }); // [B, N, C]
    await tokenMean(ctx, { x: last, start: prefix, count: h * w, out: mean, encoder }); // [B, C]
    ctx.device.queue.submit([encoder.finish()]);
  } catch (e) {
    for (const t of [last, mean, ...kept, ...(embeddings ? [embeddings] : [])]) {
      pool.release(t.buffer);
    }
    throw e;
  } finally {
    for (const t of scratch) pool.release(t.buffer);
  }
  let released = false;
  return {
    grid: [h, w],
    tokens: N,
    lastHiddenState: last,
    patchMean: mean,
    intermediates: kept,
    embeddings,
    release() {
      if (released) return;
      released = true;
      for (const t of [last, mean, ...kept, ...(embeddings ? [embeddings] : [])]) {
        pool.release(t.buffer);
      }
    },
  };
}

// This module is browser compatible.
/**
 * Launcher of DINOv3's embeddings: im2col of the P×P stride-P patches, the
 * patch projection as a GEMM (matmul family, rows remapped after the prefix
 * tokens of each image), and the CLS and register tokens. No position
 * embedding: DINOv3 uses RoPE only.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { matmul, type MatmulTile } from "../matmul/matmul.ts";
import { IM2COL_WGSL, PREFIX_TOKENS_WGSL } from "./patch_embed.wgsl.ts";

const WORKGROUP_SIZE = 64;

/** Arguments of {@linkcode patchEmbed}. */
export interface PatchEmbedArgs {
  /** `[B, channels, H, W]` normalised pixels (NCHW). */
  pixels: GpuTensor;
  /** Conv weight `[C, channels, P, P]`. */
  weight: GpuTensor;
  /** Conv bias `[C]`. */
  bias: GpuTensor;
  /** CLS token, C values (`[C]` or `[1, 1, C]`). */
  cls: GpuTensor;
  /** Register tokens `[R, C]` or `[1, R, C]`; R may be 0 (then pass any tensor with 0 elements). */
  registers: GpuTensor;
  /** Destination `[B, 1 + R + h·w, C]`; allocated when absent. */
  out?: GpuTensor;
  /** im2col scratch, at least `B·h·w·channels·P·P` floats; allocated when absent. */
  scratch?: GPUBuffer;
  /** Register tile of the GEMM. */
  tile?: MatmulTile;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** Geometry derived by {@linkcode checkPatchEmbedArgs}. */
export interface PatchEmbedPlan {
  /** Batch. */
  batch: number;
  /** Input channels. */
  channels: number;
  /** Pixel height. */
  height: number;
  /** Pixel width. */
  width: number;
  /** Patch size P. */
  patch: number;
  /** Embedding width C. */
  dim: number;
  /** Register tokens R. */
  registers: number;
  /** Patch grid rows h = floor(H / P). */
  gridH: number;
  /** Patch grid columns w = floor(W / P). */
  gridW: number;
  /** Tokens N = 1 + R + h·w. */
  tokens: number;
}

/**
 * Validates patch-embedding arguments without a GPU.
 *
 * @example
 * ```ts
 * import { checkPatchEmbedArgs } from "./patch_embed.ts";
 * import assert from "node:assert/strict";
 * const p = checkPatchEmbedArgs({ pixels: [8, 3, 224, 224], weight: [384, 3, 16, 16], bias: [384], cls: [1, 1, 384], registers: [1, 4, 384] });
 * assert.deepEqual([p.gridH, p.gridW, p.tokens], [14, 14, 201]);
 * assert.throws(() => checkPatchEmbedArgs({ pixels: [8, 3, 8, 224], weight: [384, 3, 16, 16], bias: [384], cls: [384], registers: [0, 384] }), RangeError);
 * ```
 */
export function checkPatchEmbedArgs(s: {
  pixels: readonly number[];
  weight: readonly number[];
  bias: readonly number[];
  cls: readonly number[];
  registers: readonly number[];
  out?: readonly number[];
}): PatchEmbedPlan {
  const [C, CH, P, P2] = s.weight;
  if (s.weight.length !== 4 || P !== P2 || !(P > 0)) {
    throw new TypeError(
      `Cannot run patchEmbed as weight must have shape [C, channels, P, P]: current shape is ${
        formatShape(s.weight)
      }`,
    );
  }
  const [B, CH2, H, W] = s.pixels;
  if (s.pixels.length !== 4 || CH2 !== CH) {
    throw new TypeError(
      `Cannot run patchEmbed as pixels must have shape [B, ${CH}, H, W]: current shape is ${
        formatShape(s.pixels)
      }`,
    );
  }
  if (H < P || W < P) {
    throw new RangeError(
      `Cannot run patchEmbed as the image must be at least ${P}×${P} pixels: current size is ${H}×${W}`,
    );
  }
  if (s.bias.length !== 1 || s.bias[0] !== C) {
    throw new TypeError(
      `Cannot run patchEmbed as bias must have shape [${C}]: current shape is ${
        formatShape(s.bias)
      }`,
    );
  }
  if (numel(s.cls) !== C) {
    throw new TypeError(
      `Cannot run patchEmbed as cls must hold ${C} values: current shape is ${formatShape(s.cls)}`,
    );
  }
  const R = numel(s.registers) / C;
  if (!Number.isInteger(R) || s.registers[s.registers.length - 1] !== C) {
    throw new TypeError(
      `Cannot run patchEmbed as registers must have shape [R, ${C}]: current shape is ${
        formatShape(s.registers)
      }`,
    );
  }
  const gridH = Math.floor(H / P);
  const gridW = Math.floor(W / P);
  const tokens = 1 + R + gridH * gridW;
  if (s.out && formatShape(s.out) !== formatShape([B, tokens, C])) {
    throw new TypeError(
      `Cannot run patchEmbed as out must have shape [${B}, ${tokens}, ${C}]: current shape is ${
        formatShape(s.out)
      }`,
    );
  }
  return {
    batch: B,
    channels: CH,
    height: H,
    width: W,
    patch: P,
    dim: C,
    registers: R,
    gridH,
    gridW,
    tokens,
  };
}

/**
 * Embeds pixels into DINOv3 tokens `[B, 1 + R + h·w, C]`:
 * `[CLS, registers, patches row-major]`.
 *
 * @example
 * ```ts ignore
 * const x = await patchEmbed(gpu, { pixels, weight, bias, cls, registers }); // [B, N, C]
 * ```
 */
export async function patchEmbed(ctx: GpuContext, args: PatchEmbedArgs): Promise<GpuTensor> {
  const p = checkPatchEmbedArgs({
    pixels: args.pixels.shape,
    weight: args.weight.shape,
    bias: args.bias.shape,
    cls: args.cls.shape,
    registers: args.registers.shape,
    out: args.out?.shape,
  });
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(p.batch * p.tokens * p.dim * 4, "patch_embed:out"),
      shape: [p.batch, p.tokens, p.dim],
      dtype: "f32" as const,
    };
  const cells = p.gridH * p.gridW;
  const k = p.channels * p.patch * p.patch;
  const rows = p.batch * cells;
  const scratch = args.scratch ?? ctx.createStorageBuffer(rows * k * 4, "patch_embed:im2col");
  if (scratch.size < rows * k * 4) {
    throw new RangeError(
      `Cannot run patchEmbed as scratch must hold ${
        rows * k * 4
      } bytes: current size is ${scratch.size}`,
    );
  }
  const im2col = await getPipeline(ctx, {
    label: "im2col",
    code: IM2COL_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "im2col",
    pipeline: im2col,
    buffers: [
      args.pixels.buffer,
      scratch,
      writeUniforms(
        ctx,
        "im2col",
        new Uint32Array([
          p.batch,
          p.channels,
          p.height,
          p.width,
          p.patch,
          p.gridH,
          p.gridW,
          0,
        ]).buffer,
      ),
    ],
    workgroups: Math.ceil(rows * p.channels * p.patch / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  await matmul(ctx, {
    x: { buffer: scratch, shape: [rows, k], dtype: "f32" },
    weight: { buffer: args.weight.buffer, shape: [p.dim, k], dtype: args.weight.dtype },
    bias: args.bias,
    out,
    outRows: { group: cells, stride: p.tokens, offset: 1 + p.registers },
    tile: args.tile,
    encoder: args.encoder,
  });
  const prefix = await getPipeline(ctx, {
    label: "prefix_tokens",
    code: PREFIX_TOKENS_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "prefix_tokens",
    pipeline: prefix,
    buffers: [
      args.cls.buffer,
      p.registers > 0 ? args.registers.buffer : args.cls.buffer,
      out.buffer,
      writeUniforms(
        ctx,
        "prefix_tokens",
        new Uint32Array([p.batch, p.tokens, p.dim, p.registers]).buffer,
      ),
    ],
    workgroups: Math.ceil(p.batch * (1 + p.registers) * p.dim / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

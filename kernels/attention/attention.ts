// This module is browser compatible.
/**
 * Launcher of multi-head attention with DINOv3's RoPE on the patch tokens
 * (CLS and registers unrotated, v never rotated): an in-place rotation of
 * q and k (the rope family's kernel), then one fused kernel with online
 * softmax, f32 accumulation and no N×N matrix in global memory.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { type GpuRopeTables, rope } from "../rope/rope.ts";
import { type AttentionShape, attentionWgsl, defaultAttentionShape } from "./attention.wgsl.ts";

export type { AttentionShape };

/** Arguments of {@linkcode attention}. */
export interface AttentionArgs {
  /**
   * `[B, N, 3·C]`: q, k, v blocks of C = heads·Dh channels. With `rope`,
   * q and k of the patch tokens are rotated in place.
   */
  qkv: GpuTensor;
  /** Attention heads. */
  heads: number;
  /** RoPE tables of the patch grid (`N = prefix + h·w`); no rotation when absent. */
  rope?: GpuRopeTables;
  /** Tokens before the patches (CLS + registers). @default {0} */
  prefix?: number;
  /** Score scale. @default {Dh ** -0.5} */
  scale?: number;
  /** Destination `[B, N, C]`; allocated when absent. */
  out?: GpuTensor;
  /** Tile sizes. @default {defaultAttentionShape(Dh, ctx.info.isSoftware)} */
  shape?: AttentionShape;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Validates attention arguments without a GPU; returns `[B, N, heads, Dh]`.
 *
 * @example
 * ```ts
 * import { checkAttentionArgs } from "./attention.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkAttentionArgs({ qkv: [8, 201, 1152], heads: 6, table: [196, 64], prefix: 5 }), [8, 201, 6, 64]);
 * assert.throws(() => checkAttentionArgs({ qkv: [8, 201, 1152], heads: 5 }), TypeError);
 * ```
 */
export function checkAttentionArgs(s: {
  qkv: readonly number[];
  heads: number;
  table?: readonly number[];
  prefix?: number;
  out?: readonly number[];
  dtypes?: readonly string[];
}): [number, number, number, number] {
  if (!Number.isInteger(s.heads) || s.heads < 1) {
    throw new RangeError(`Cannot run attention as heads must be >= 1: current value is ${s.heads}`);
  }
  const [B, N, C3] = s.qkv;
  const D = C3 / 3 / s.heads;
  if (s.qkv.length !== 3 || !Number.isInteger(D) || D % 4 !== 0 || N < 1) {
    throw new TypeError(
      `Cannot run attention as qkv must have shape [B, N, 3·${s.heads}·Dh] with Dh a multiple of 4: current shape is ${
        formatShape(s.qkv)
      }`,
    );
  }
  const prefix = s.prefix ?? 0;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > N) {
    throw new RangeError(
      `Cannot run attention as prefix must lie in [0, ${N}]: current value is ${prefix}`,
    );
  }
  if (s.table && (s.table.length !== 2 || s.table[0] !== N - prefix || s.table[1] !== D)) {
    throw new TypeError(
      `Cannot run attention as the RoPE tables must have shape [${
        N - prefix
      }, ${D}]: current shape is ${formatShape(s.table)}`,
    );
  }
  if (s.out && formatShape(s.out) !== formatShape([B, N, s.heads * D])) {
    throw new TypeError(
      `Cannot run attention as out must have shape [${B}, ${N}, ${s.heads * D}]: current shape is ${
        formatShape(s.out)
      }`,
    );
  }
  for (const d of s.dtypes ?? []) {
    if (d !== "f32") {
      throw new TypeError(
        `Cannot run attention as every tensor must be f32: current dtype is ${d}`,
      );
    }
  }
  return [B, N, s.heads, D];
}

/**
 * Attention `softmax(rope(q)·rope(k)ᵀ·scale)·v` per head, heads concatenated
 * in head order. With `rope`, q and k of `qkv` are rotated in place first.
 *
 * @example
 * ```ts ignore
 * const o = await attention(gpu, { qkv, heads: 6, rope: ropeTables(gpu, 14, 14, 64, 100), prefix: 5 });
 * ```
 */
export async function attention(ctx: GpuContext, args: AttentionArgs): Promise<GpuTensor> {
  const [B, N, H, D] = checkAttentionArgs({
    qkv: args.qkv.shape,
    heads: args.heads,
    table: args.rope?.sin.shape,
    prefix: args.prefix,
    out: args.out?.shape,
    dtypes: [args.qkv, ...(args.out ? [args.out] : [])].map((t) => t.dtype),
  });
  const shape = args.shape ?? defaultAttentionShape(D, ctx.info.isSoftware);
  if (shape.headDim !== D) {
    throw new RangeError(
      `Cannot run attention as the tile must have headDim ${D}: current tile is ${
        JSON.stringify(shape)
      }`,
    );
  }
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(B * N * H * D * 4, "attention:out"),
      shape: [B, N, H * D],
      dtype: "f32" as const,
    };
  if (out.buffer === args.qkv.buffer) {
    throw new TypeError("Cannot run attention as out must not share a buffer with qkv");
  }
  if (args.rope) {
    await rope(ctx, {
      x: args.qkv,
      tables: args.rope,
      heads: H,
      prefix: args.prefix ?? 0,
      blocks: 2,
      encoder: args.encoder,
    });
  }
  const pipeline = await getPipeline(ctx, { label: "attention", code: attentionWgsl(shape) });
  const params = new DataView(new ArrayBuffer(16));
  params.setUint32(0, N, true);
  params.setUint32(4, H, true);
  params.setFloat32(8, args.scale ?? 1 / Math.sqrt(D), true);
  dispatch(ctx, {
    label: "attention",
    pipeline,
    buffers: [args.qkv.buffer, out.buffer, writeUniforms(ctx, "attention", params.buffer)],
    workgroups: [Math.ceil(N / (shape.threads * shape.queriesPerThread)), H, B],
    encoder: args.encoder,
  });
  return out;
}

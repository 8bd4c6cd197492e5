// This module is browser compatible.
/**
 * Launchers of the layer_norm family: {@linkcode layerNorm} over the last
 * axis and {@linkcode tokenMean} over a token range.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { LAYER_NORM_ROWS_WGSL, LAYER_NORM_WGSL, TOKEN_MEAN_WGSL } from "./layer_norm.wgsl.ts";

const WORKGROUP_SIZE = 64;
const ROWS_WORKGROUP_SIZE = 8;

/** Arguments of {@linkcode layerNorm}. */
export interface LayerNormArgs {
  /** `[..., C]`. */
  x: GpuTensor;
  /** `[C]`. */
  weight: GpuTensor;
  /** `[C]`. */
  bias: GpuTensor;
  /** Added to the variance; comes from the model config (DINOv3: 1e-5). */
  eps: number;
  /** Destination with x's shape; allocated when absent. Must not be x. */
  out?: GpuTensor;
  /**
   * `"workgroup"`: one workgroup per row with tree reductions (hardware
   * GPUs); `"rows"`: one thread per row (software adapters).
   * @default {by adapter}
   */
  variant?: "workgroup" | "rows";
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Validates LayerNorm arguments without a GPU; returns `[rows, cols]`.
 *
 * @example
 * ```ts
 * import { checkLayerNormArgs } from "./layer_norm.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkLayerNormArgs({ x: [2, 201, 384], weight: [384], bias: [384], eps: 1e-5 }), [402, 384]);
 * assert.throws(
 *   () => checkLayerNormArgs({ x: [201, 768], weight: [384], bias: [768], eps: 1e-5 }),
 *   /Cannot run layerNorm as weight must have shape \[768\]: current shape is \[384\]/,
 * );
 * ```
 */
export function checkLayerNormArgs(s: {
  x: readonly number[];
  weight: readonly number[];
  bias: readonly number[];
  eps: number;
  out?: readonly number[];
  dtypes?: readonly string[];
}): [number, number] {
  const C = s.x[s.x.length - 1];
  if (s.x.length < 1 || !(C > 0)) {
    throw new TypeError(
      `Cannot run layerNorm as x must have shape [..., C] with C > 0: current shape is ${
        formatShape(s.x)
      }`,
    );
  }
  for (const [what, shape] of [["weight", s.weight], ["bias", s.bias]] as const) {
    if (shape.length !== 1 || shape[0] !== C) {
      throw new TypeError(
        `Cannot run layerNorm as ${what} must have shape [${C}]: current shape is ${
          formatShape(shape)
        }`,
      );
    }
  }
  if (s.out && formatShape(s.out) !== formatShape(s.x)) {
    throw new TypeError(
      `Cannot run layerNorm as out must have shape ${formatShape(s.x)}: current shape is ${
        formatShape(s.out)
      }`,
    );
  }
  if (!(s.eps > 0) || !Number.isFinite(s.eps)) {
    throw new RangeError(`Cannot run layerNorm as eps must be > 0: current value is ${s.eps}`);
  }
  for (const d of s.dtypes ?? []) {
    if (d !== "f32") {
      throw new TypeError(
        `Cannot run layerNorm as every tensor must be f32: current dtype is ${d}`,
      );
    }
  }
  return [numel(s.x) / C, C];
}

/** Packs `{ rows, cols, eps, pad }` (16 bytes). */
export function packLayerNormParams(rows: number, cols: number, eps: number): ArrayBuffer {
  const v = new DataView(new ArrayBuffer(16));
  v.setUint32(0, rows, true);
  v.setUint32(4, cols, true);
  v.setFloat32(8, eps, true);
  return v.buffer;
}

/**
 * LayerNorm over the last axis.
 *
 * @example
 * ```ts ignore
 * const y = await layerNorm(gpu, { x, weight, bias, eps: 1e-5 }); // [B, N, C]
 * ```
 */
export async function layerNorm(ctx: GpuContext, args: LayerNormArgs): Promise<GpuTensor> {
  const [rows, cols] = checkLayerNormArgs({
    x: args.x.shape,
    weight: args.weight.shape,
    bias: args.bias.shape,
    eps: args.eps,
    out: args.out?.shape,
    dtypes: [args.x, args.weight, args.bias, ...(args.out ? [args.out] : [])].map((t) => t.dtype),
  });
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(rows * cols * 4, "layer_norm:out"),
      shape: [...args.x.shape],
      dtype: "f32" as const,
    };
  if (out.buffer === args.x.buffer) {
    throw new TypeError("Cannot run layerNorm as out must not share a buffer with x");
  }
  const rowsVariant = (args.variant ?? (ctx.info.isSoftware ? "rows" : "workgroup")) === "rows";
  const pipeline = await getPipeline(ctx, {
    label: "layer_norm",
    code: rowsVariant ? LAYER_NORM_ROWS_WGSL : LAYER_NORM_WGSL,
    constants: { WORKGROUP_SIZE: rowsVariant ? ROWS_WORKGROUP_SIZE : WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "layer_norm",
    pipeline,
    buffers: [
      args.x.buffer,
      args.weight.buffer,
      args.bias.buffer,
      out.buffer,
      writeUniforms(ctx, "layer_norm", packLayerNormParams(rows, cols, args.eps)),
    ],
    workgroups: rowsVariant ? Math.ceil(rows / ROWS_WORKGROUP_SIZE) : rows,
    encoder: args.encoder,
  });
  return out;
}

/** Arguments of {@linkcode tokenMean}. */
export interface TokenMeanArgs {
  /** `[B, N, C]`. */
  x: GpuTensor;
  /** First token of the range. */
  start: number;
  /** Number of tokens averaged (> 0). */
  count: number;
  /** Destination `[B, C]`; allocated when absent. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Validates tokenMean arguments without a GPU; returns `[B, N, C]`.
 *
 * @example
 * ```ts
 * import { checkTokenMeanArgs } from "./layer_norm.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkTokenMeanArgs({ x: [2, 201, 384], start: 5, count: 196 }), [2, 201, 384]);
 * assert.throws(() => checkTokenMeanArgs({ x: [2, 201, 384], start: 5, count: 197 }), RangeError);
 * ```
 */
export function checkTokenMeanArgs(
  s: { x: readonly number[]; start: number; count: number; out?: readonly number[] },
): [number, number, number] {
  if (s.x.length !== 3) {
    throw new TypeError(
      `Cannot run tokenMean as x must have shape [B, N, C]: current shape is ${formatShape(s.x)}`,
    );
  }
  const [B, N, C] = s.x;
  if (
    !Number.isInteger(s.start) || !Number.isInteger(s.count) || s.start < 0 || s.count < 1 ||
    s.start + s.count > N
  ) {
    throw new RangeError(
      `Cannot run tokenMean as the token range must lie in [0, ${N}) and be non-empty: current range is start ${s.start}, count ${s.count}`,
    );
  }
  if (s.out && formatShape(s.out) !== formatShape([B, C])) {
    throw new TypeError(
      `Cannot run tokenMean as out must have shape [${B}, ${C}]: current shape is ${
        formatShape(s.out)
      }`,
    );
  }
  return [B, N, C];
}

/**
 * Mean over a token range of `[B, N, C]`, giving `[B, C]` (DINOv3's mean
 * patch token: start `1 + R`, count `h·w`).
 */
export async function tokenMean(ctx: GpuContext, args: TokenMeanArgs): Promise<GpuTensor> {
  const [B, N, C] = checkTokenMeanArgs({
    x: args.x.shape,
    start: args.start,
    count: args.count,
    out: args.out?.shape,
  });
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(B * C * 4, "token_mean:out"),
      shape: [B, C],
      dtype: "f32" as const,
    };
  const pipeline = await getPipeline(ctx, {
    label: "token_mean",
    code: TOKEN_MEAN_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "token_mean",
    pipeline,
    buffers: [
      args.x.buffer,
      out.buffer,
      writeUniforms(
        ctx,
        "token_mean",
        new Uint32Array([B, N, C, args.start, args.count, 0, 0, 0]).buffer,
      ),
    ],
    workgroups: Math.ceil(B * C / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

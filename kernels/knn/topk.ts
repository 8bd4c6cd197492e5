// This module is browser compatible.
/**
 * Launcher of the top-k family: {@linkcode topk} returns the k largest
 * scores of each row with their column indices, ties to the smaller index.
 * Used by the k-NN head on cosine similarities.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { TOPK_MAX_K_BUCKETS, topkWgsl } from "./topk.wgsl.ts";

const WORKGROUP_SIZE = 64;
/** Columns scanned by one thread of the partial pass. */
const SEGMENT = 256;

/** Arguments of {@linkcode topk}. */
export interface TopKArgs {
  /** Scores `[Q, M]`. */
  scores: GpuTensor;
  /** How many to keep, 1 ≤ k ≤ min(M, 256). */
  k: number;
  /** Added to every returned index (the first column's global index). @default {0} */
  indexOffset?: number;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** Scores `[Q, k]` (f32) and indices `[Q, k]` (u32) on the GPU. */
export interface TopKTensors {
  /** The k best scores per row, descending. */
  values: GPUBuffer;
  /** Their column indices (plus `indexOffset`). */
  indices: GPUBuffer;
  /** `[Q, k]`. */
  shape: [number, number];
}

/**
 * Checks top-k arguments without a GPU; returns `[Q, M]`.
 *
 * @example
 * ```ts
 * import { checkTopKArgs } from "./topk.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkTopKArgs({ shape: [3, 100] }, 20), [3, 100]);
 * assert.throws(() => checkTopKArgs({ shape: [3, 10] }, 20), RangeError);
 * ```
 */
export function checkTopKArgs(
  scores: { shape: readonly number[]; dtype?: string },
  k: number,
  indexOffset = 0,
): [number, number] {
  if (scores.shape.length !== 2 || (scores.dtype ?? "f32") !== "f32") {
    throw new TypeError(
      `Cannot run topk as scores must be an f32 [Q, M] tensor: current shape is ${
        formatShape(scores.shape)
      }`,
    );
  }
  const [q, m] = scores.shape;
  if (q < 1 || m < 1) {
    throw new RangeError(
      `Cannot run topk as scores must not be empty: current shape is [${q}, ${m}]`,
    );
  }
  const max = Math.min(m, TOPK_MAX_K_BUCKETS.at(-1)!);
  if (!Number.isInteger(k) || k < 1 || k > max) {
    throw new RangeError(
      `Cannot run topk as k must be an integer in [1, ${max}]: current value is ${k}`,
    );
  }
  if (!Number.isInteger(indexOffset) || indexOffset < 0 || indexOffset + m > 0xffffffff) {
    throw new RangeError(
      `Cannot run topk as indexOffset is out of range: current value is ${indexOffset}`,
    );
  }
  return [q, m];
}

/** Packs the uniforms: rows, cols, k, seg_len, segments, index_offset (u32). */
export function packTopKParams(
  rows: number,
  cols: number,
  k: number,
  segLen: number,
  segments: number,
  indexOffset: number,
): ArrayBuffer {
  return new Uint32Array([rows, cols, k, segLen, segments, indexOffset, 0, 0]).buffer;
}

/**
 * Top-k of each row: two passes (per-segment lists, then a per-row merge).
 *
 * @example
 * ```ts ignore
 * const { values, indices } = await topk(gpu, { scores: sims, k: 28 });
 * ```
 */
export async function topk(ctx: GpuContext, args: TopKArgs): Promise<TopKTensors> {
  const offset = args.indexOffset ?? 0;
  const [q, m] = checkTopKArgs(args.scores, args.k, offset);
  if (args.scores.buffer.size < numel(args.scores.shape) * 4) {
    throw new RangeError("Cannot run topk as the scores buffer is smaller than its shape");
  }
  const k = args.k;
  const maxK = TOPK_MAX_K_BUCKETS.find((b) => b >= k)!;
  const segments = Math.ceil(m / SEGMENT);
  const partVal = ctx.createStorageBuffer(q * segments * k * 4, "topk:partial_values");
  const partIdx = ctx.createStorageBuffer(q * segments * k * 4, "topk:partial_indices");
  const values = ctx.createStorageBuffer(q * k * 4, "topk:values");
  const indices = ctx.createStorageBuffer(q * k * 4, "topk:indices");
  const [p1, p2] = await Promise.all([
    getPipeline(ctx, {
      label: "topk_partial",
      code: topkWgsl("partial", maxK),
      constants: { WORKGROUP_SIZE },
    }),
    getPipeline(ctx, {
      label: "topk_merge",
      code: topkWgsl("merge", maxK),
      constants: { WORKGROUP_SIZE },
    }),
  ]);
  const own = args.encoder === undefined;
  const encoder = args.encoder ?? ctx.device.createCommandEncoder({ label: "topk" });
  dispatch(ctx, {
    label: "topk_partial",
    pipeline: p1,
    buffers: [
      args.scores.buffer,
      partVal,
      partIdx,
      writeUniforms(ctx, "topk_partial", packTopKParams(q, m, k, SEGMENT, segments, offset)),
    ],
    workgroups: Math.ceil(q * segments / WORKGROUP_SIZE),
    encoder,
  });
  dispatch(ctx, {
    label: "topk_merge",
    pipeline: p2,
    buffers: [
      partVal,
      partIdx,
      values,
      indices,
      writeUniforms(ctx, "topk_merge", packTopKParams(q, segments * k, k, k, segments, 0)),
    ],
    workgroups: Math.ceil(q / WORKGROUP_SIZE),
    encoder,
  });
  if (own) {
    ctx.device.queue.submit([encoder.finish()]);
    await ctx.sync();
    partVal.destroy();
    partIdx.destroy();
  }
  return { values, indices, shape: [q, k] };
}

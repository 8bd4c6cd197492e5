// This module is browser compatible.
/**
 * Launchers of channel concatenation for channel-major tensors
 * `[N, C, ...spatial]`: {@linkcode concat} and its backward
 * {@linkcode splitChannels}, both built on one channel-copy kernel.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { CHANNEL_COPY_WGSL } from "./concat.wgsl.ts";

const WORKGROUP_SIZE = 256;

/** Arguments of {@linkcode concat}. */
export interface ConcatArgs {
  /** Tensors `[N, C_i, ...spatial]` with equal N and spatial extents. */
  parts: readonly GpuTensor[];
  /** Output `[N, ΣC_i, ...spatial]`; a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/** Arguments of {@linkcode splitChannels}. */
export interface SplitChannelsArgs {
  /** Tensor `[N, C, ...spatial]`. */
  x: GpuTensor;
  /** Channel counts of the parts (summing to C). */
  sizes: readonly number[];
  /** Outputs to write, one per size; new tensors when omitted. */
  outs?: readonly GpuTensor[];
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

type Shaped = { shape: readonly number[]; dtype: string };

/**
 * Checks concatenation arguments without a GPU and returns the output
 * shape. Throws `TypeError` on a rank below 2, a non-f32 part, or parts
 * that differ outside axis 1.
 *
 * @example
 * ```ts
 * import { checkConcatArgs } from "./concat.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkConcatArgs([{ shape: [1, 3, 4], dtype: "f32" }, { shape: [1, 2, 4], dtype: "f32" }]), [1, 5, 4]);
 * assert.throws(() => checkConcatArgs([{ shape: [1, 3, 4], dtype: "f32" }, { shape: [1, 2, 5], dtype: "f32" }]), TypeError);
 * ```
 */
export function checkConcatArgs(parts: readonly Shaped[]): number[] {
  if (parts.length === 0) {
    throw new TypeError(
      "Cannot run concat as parts must hold at least one tensor: current count is 0",
    );
  }
  const first = parts[0];
  if (first.shape.length < 2) {
    throw new TypeError(
      `Cannot run concat as tensors must have rank >= 2: current shape is ${
        formatShape(first.shape)
      }`,
    );
  }
  const rest = formatShape([first.shape[0], ...first.shape.slice(2)]);
  let channels = 0;
  for (const p of parts) {
    if (p.dtype !== "f32") {
      throw new TypeError(`Cannot run concat as tensors must be f32: current dtype is ${p.dtype}`);
    }
    if (
      p.shape.length !== first.shape.length ||
      formatShape([p.shape[0], ...p.shape.slice(2)]) !== rest
    ) {
      throw new TypeError(
        `Cannot run concat as every part must have shape [${first.shape[0]}, *, ${
          first.shape.slice(2).join(", ")
        }]: current shape is ${formatShape(p.shape)}`,
      );
    }
    channels += p.shape[1];
  }
  return [first.shape[0], channels, ...first.shape.slice(2)];
}

function copyParams(
  n: number,
  spatial: number,
  count: number,
  srcChannels: number,
  dstChannels: number,
  srcOffset: number,
  dstOffset: number,
): ArrayBuffer {
  return new Uint32Array([
    n * count * spatial,
    spatial,
    count,
    srcChannels,
    dstChannels,
    srcOffset,
    dstOffset,
    0,
  ]).buffer;
}

async function copy(
  ctx: GpuContext,
  src: GpuTensor,
  dst: GpuTensor,
  count: number,
  srcOffset: number,
  dstOffset: number,
  encoder: GPUCommandEncoder | undefined,
  transients: GPUBuffer[] | undefined,
): Promise<void> {
  const n = src.shape[0];
  const spatial = numel(src.shape.slice(2));
  const pipeline = await getPipeline(ctx, {
    label: "channel_copy",
    code: CHANNEL_COPY_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  const uniforms = writeUniforms(
    ctx,
    "channel_copy",
    copyParams(n, spatial, count, src.shape[1], dst.shape[1], srcOffset, dstOffset),
  );
  transients?.push(uniforms);
  dispatch(ctx, {
    label: "channel_copy",
    pipeline,
    buffers: [src.buffer, dst.buffer, uniforms],
    workgroups: Math.ceil((n * count * spatial) / WORKGROUP_SIZE),
    encoder,
  });
}

/**
 * Concatenates channel-major tensors along the channel axis.
 *
 * @example
 * ```ts ignore
 * const xy = await concat(gpu, { parts: [upsampled, skip] }); // [N, C1 + C2, D, H, W]
 * ```
 */
export async function concat(ctx: GpuContext, args: ConcatArgs): Promise<GpuTensor> {
  const shape = checkConcatArgs(args.parts);
  if (args.out && formatShape(args.out.shape) !== formatShape(shape)) {
    throw new TypeError(
      `Cannot run concat as out must have shape ${formatShape(shape)}: current shape is ${
        formatShape(args.out.shape)
      }`,
    );
  }
  const out = args.out ??
    { buffer: ctx.createStorageBuffer(numel(shape) * 4, "concat:out"), shape, dtype: "f32" };
  let offset = 0;
  for (const p of args.parts) {
    await copy(ctx, p, out, p.shape[1], 0, offset, args.encoder, args.transients);
    offset += p.shape[1];
  }
  return out;
}

/**
 * Splits a tensor along the channel axis into parts of `sizes` channels:
 * the backward of {@linkcode concat}.
 *
 * @example
 * ```ts ignore
 * const [dUp, dSkip] = await splitChannels(gpu, { x: dxy, sizes: [c1, c2] });
 * ```
 */
export async function splitChannels(
  ctx: GpuContext,
  args: SplitChannelsArgs,
): Promise<GpuTensor[]> {
  checkConcatArgs([args.x]);
  const total = args.sizes.reduce((a, b) => a + b, 0);
  if (total !== args.x.shape[1] || args.sizes.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new TypeError(
      `Cannot run splitChannels as sizes must be positive and sum to ${
        args.x.shape[1]
      }: current sizes are [${args.sizes.join(", ")}]`,
    );
  }
  const outs: GpuTensor[] = [];
  let offset = 0;
  for (let i = 0; i < args.sizes.length; i++) {
    const c = args.sizes[i];
    const shape = [args.x.shape[0], c, ...args.x.shape.slice(2)];
    const out = args.outs?.[i] ??
      {
        buffer: ctx.createStorageBuffer(numel(shape) * 4, "split:out"),
        shape,
        dtype: "f32" as const,
      };
    await copy(ctx, args.x, out, c, offset, 0, args.encoder, args.transients);
    outs.push(out);
    offset += c;
  }
  return outs;
}

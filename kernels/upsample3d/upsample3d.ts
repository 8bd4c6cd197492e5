// This module is browser compatible.
/**
 * Launchers of trilinear resampling for channel-major volumes
 * `[N, C, D, H, W]`: {@linkcode upsample3d} and its backward
 * {@linkcode upsample3dBackward}. The sampling grid is an explicit per-axis
 * affine map ({@linkcode ResampleMapping}), so a crop of a larger volume is
 * resampled exactly as the whole volume would be (sliding windows);
 * {@linkcode resizeMapping} builds the usual `align_corners=False` map.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { UPSAMPLE3D_BACKWARD_WGSL, UPSAMPLE3D_WGSL } from "./upsample3d.wgsl.ts";
import { type ResampleMapping, resizeMapping } from "./upsample3d_ref.ts";

export { type ResampleMapping, resizeMapping };

const WORKGROUP_SIZE = 64;

/** Arguments of {@linkcode upsample3d}. */
export interface Upsample3dArgs {
  /** Input `[N, C, D, H, W]`. */
  x: GpuTensor;
  /** Output extents `[D', H', W']`. */
  outSize: readonly [number, number, number];
  /** Sampling map; `resizeMapping(input, outSize)` when omitted. */
  mapping?: ResampleMapping;
  /** Output to write; a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/** Arguments of {@linkcode upsample3dBackward}. */
export interface Upsample3dBackwardArgs {
  /** Output gradient `[N, C, D', H', W']`. */
  dy: GpuTensor;
  /** The forward input shape `[N, C, D, H, W]`. */
  inputShape: readonly number[];
  /** The forward map; `resizeMapping(input, output)` when omitted. */
  mapping?: ResampleMapping;
  /** Input gradient to write; a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/**
 * Checks resampling arguments without a GPU: a rank-5 f32 input, positive
 * integer output extents, and a finite map with positive scales. Throws
 * `TypeError` / `RangeError`.
 *
 * @example
 * ```ts
 * import { checkUpsample3dArgs } from "./upsample3d.ts";
 * import assert from "node:assert/strict";
 * checkUpsample3dArgs({ shape: [1, 8, 4, 4, 4], dtype: "f32" }, [4, 8, 8]);
 * assert.throws(() => checkUpsample3dArgs({ shape: [8, 4, 4, 4], dtype: "f32" }, [4, 8, 8]), TypeError);
 * assert.throws(() => checkUpsample3dArgs({ shape: [1, 8, 4, 4, 4], dtype: "f32" }, [4, 0, 8]), RangeError);
 * ```
 */
export function checkUpsample3dArgs(
  x: { shape: readonly number[]; dtype: string },
  outSize: readonly number[],
  mapping?: ResampleMapping,
): void {
  if (x.dtype !== "f32" || x.shape.length !== 5 || x.shape.some((d) => d <= 0)) {
    throw new TypeError(
      `Cannot run upsample3d as x must be a non-empty f32 tensor [N, C, D, H, W]: current shape is ${
        formatShape(x.shape)
      } (${x.dtype})`,
    );
  }
  if (outSize.length !== 3 || outSize.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new RangeError(
      `Cannot run upsample3d as outSize must be 3 positive integers: current value is ${
        formatShape(outSize)
      }`,
    );
  }
  if (
    mapping &&
    (mapping.scale.some((s) => !(s > 0) || !Number.isFinite(s)) ||
      mapping.offset.some((o) => !Number.isFinite(o)))
  ) {
    throw new RangeError(
      `Cannot run upsample3d as the mapping scales must be positive and finite: current scale is ${
        formatShape(mapping.scale)
      }, offset ${formatShape(mapping.offset)}`,
    );
  }
}

/** Packs the uniforms (80 bytes). */
export function packUpsample3dParams(
  inputShape: readonly number[],
  outSize: readonly number[],
  mapping: ResampleMapping,
  total: number,
): ArrayBuffer {
  const buf = new ArrayBuffer(80);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  u.set([inputShape[0] * inputShape[1], total, 0, 0]);
  u.set([inputShape[2], inputShape[3], inputShape[4], 0], 4);
  u.set([outSize[0], outSize[1], outSize[2], 0], 8);
  f.set([...mapping.scale, 0], 12);
  f.set([...mapping.offset, 0], 16);
  return buf;
}

/**
 * Trilinear resampling on the GPU.
 *
 * @example
 * ```ts ignore
 * const up = await upsample3d(gpu, { x, outSize: [d, 2 * h, 2 * w] });
 * ```
 */
export async function upsample3d(ctx: GpuContext, args: Upsample3dArgs): Promise<GpuTensor> {
  checkUpsample3dArgs(args.x, args.outSize, args.mapping);
  const [n, c] = args.x.shape;
  const shape = [n, c, ...args.outSize];
  if (args.out && formatShape(args.out.shape) !== formatShape(shape)) {
    throw new TypeError(
      `Cannot run upsample3d as out must have shape ${formatShape(shape)}: current shape is ${
        formatShape(args.out.shape)
      }`,
    );
  }
  const mapping = args.mapping ?? resizeMapping(args.x.shape.slice(2), args.outSize);
  const total = numel(shape);
  const out = args.out ??
    { buffer: ctx.createStorageBuffer(total * 4, "upsample3d:out"), shape, dtype: "f32" as const };
  const pipeline = await getPipeline(ctx, {
    label: "upsample3d",
    code: UPSAMPLE3D_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  const uniforms = writeUniforms(
    ctx,
    "upsample3d",
    packUpsample3dParams(args.x.shape, args.outSize, mapping, total),
  );
  args.transients?.push(uniforms);
  dispatch(ctx, {
    label: "upsample3d",
    pipeline,
    buffers: [args.x.buffer, out.buffer, uniforms],
    workgroups: Math.ceil(total / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

/**
 * Gradient of {@linkcode upsample3d} with respect to its input (a gather
 * over the outputs that read each input voxel; no atomics).
 *
 * @example
 * ```ts ignore
 * const dx = await upsample3dBackward(gpu, { dy, inputShape: x.shape });
 * ```
 */
export async function upsample3dBackward(
  ctx: GpuContext,
  args: Upsample3dBackwardArgs,
): Promise<GpuTensor> {
  const outSize = args.dy.shape.slice(2) as [number, number, number];
  checkUpsample3dArgs({ shape: args.inputShape, dtype: args.dy.dtype }, outSize, args.mapping);
  if (
    args.dy.shape.length !== 5 || args.dy.shape[0] !== args.inputShape[0] ||
    args.dy.shape[1] !== args.inputShape[1]
  ) {
    throw new TypeError(
      `Cannot run upsample3dBackward as dy must have shape [${args.inputShape[0]}, ${
        args.inputShape[1]
      }, D', H', W']: current shape is ${formatShape(args.dy.shape)}`,
    );
  }
  if (args.out && formatShape(args.out.shape) !== formatShape(args.inputShape)) {
    throw new TypeError(
      `Cannot run upsample3dBackward as out must have shape ${
        formatShape(args.inputShape)
      }: current shape is ${formatShape(args.out.shape)}`,
    );
  }
  const mapping = args.mapping ?? resizeMapping(args.inputShape.slice(2), outSize);
  const total = numel(args.inputShape);
  const out = args.out ?? {
    buffer: ctx.createStorageBuffer(total * 4, "upsample3d_backward:out"),
    shape: [...args.inputShape],
    dtype: "f32" as const,
  };
  const pipeline = await getPipeline(ctx, {
    label: "upsample3d_backward",
    code: UPSAMPLE3D_BACKWARD_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  const uniforms = writeUniforms(
    ctx,
    "upsample3d_backward",
    packUpsample3dParams(args.inputShape, outSize, mapping, total),
  );
  args.transients?.push(uniforms);
  dispatch(ctx, {
    label: "upsample3d_backward",
    pipeline,
    buffers: [args.dy.buffer, out.buffer, uniforms],
    workgroups: Math.ceil(total / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

// This module is browser compatible.
/**
 * Launchers of the elementwise family: `binary` (add/mul/sub with NumPy
 * broadcasting) and `scale`. The pattern every kernel follows: pure argument
 * checks → cached pipeline → uniforms → dispatch.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { BINARY_WGSL, SCALE_WGSL } from "./elementwise.wgsl.ts";
import { type BinaryOp, broadcastShapes, broadcastStrides } from "./elementwise_ref.ts";

export type { BinaryOp };

const WORKGROUP_SIZE = 256;
const MAX_RANK = 8;
const OPS: Record<BinaryOp, number> = { add: 0, mul: 1, sub: 2 };

/** Arguments of {@linkcode binary}. */
export interface BinaryArgs {
  /** Which op. */
  op: BinaryOp;
  /** Left operand. */
  a: GpuTensor;
  /** Right operand, broadcast against `a`. */
  b: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Checks binary-op arguments without a GPU and returns the output shape.
 * Throws `TypeError` on incompatible shapes or dtypes, `RangeError` on rank > 8.
 */
export function checkBinaryArgs(
  op: string,
  a: { shape: readonly number[]; dtype: string },
  b: { shape: readonly number[]; dtype: string },
): number[] {
  if (!(op in OPS)) {
    throw new TypeError(
      `Cannot run binary as op must be one of "add", "mul", "sub": current value is "${op}"`,
    );
  }
  if (a.dtype !== "f32" || b.dtype !== "f32") {
    throw new TypeError(
      `Cannot run binary as both operands must be f32: current dtypes are ${a.dtype} and ${b.dtype}`,
    );
  }
  const shape = broadcastShapes(a.shape, b.shape);
  if (shape.length > MAX_RANK) {
    throw new RangeError(
      `Cannot run binary as rank must be at most ${MAX_RANK}: current shape is ${
        formatShape(shape)
      }`,
    );
  }
  return shape;
}

/** Packs the binary-op uniforms: n, rank, pad, pad, out_shape[8], a_strides[8], b_strides[8]. */
export function packBinaryParams(
  outShape: readonly number[],
  aShape: readonly number[],
  bShape: readonly number[],
): ArrayBuffer {
  const u = new Uint32Array(4 + 3 * MAX_RANK);
  u[0] = numel(outShape);
  u[1] = outShape.length;
  const as = broadcastStrides(aShape, outShape);
  const bs = broadcastStrides(bShape, outShape);
  outShape.forEach((d, i) => {
    u[4 + i] = d;
    u[4 + MAX_RANK + i] = as[i];
    u[4 + 2 * MAX_RANK + i] = bs[i];
  });
  return u.buffer;
}

/**
 * `a OP b` with broadcasting, into a new GPU tensor.
 *
 * @example
 * ```ts ignore
 * const c = await binary(gpu, { op: "add", a, b });
 * ```
 */
export async function binary(ctx: GpuContext, args: BinaryArgs): Promise<GpuTensor> {
  const shape = checkBinaryArgs(args.op, args.a, args.b);
  const n = numel(shape);
  const pipeline = await getPipeline(ctx, {
    label: "binary",
    code: BINARY_WGSL,
    constants: { WORKGROUP_SIZE, OP: OPS[args.op] },
  });
  const out = ctx.createStorageBuffer(n * 4, "binary:out");
  const params = writeUniforms(ctx, "binary", packBinaryParams(shape, args.a.shape, args.b.shape));
  dispatch(ctx, {
    label: "binary",
    pipeline,
    buffers: [args.a.buffer, args.b.buffer, out, params],
    workgroups: Math.ceil(n / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return { buffer: out, shape, dtype: "f32" };
}

/** Arguments of {@linkcode scale}. */
export interface ScaleArgs {
  /** Input. */
  x: GpuTensor;
  /** Multiplier. */
  alpha: number;
  /** Added after scaling. @default {0} */
  beta?: number;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** `x * alpha + beta` into a new GPU tensor. */
export async function scale(ctx: GpuContext, args: ScaleArgs): Promise<GpuTensor> {
  if (args.x.dtype !== "f32") {
    throw new TypeError(`Cannot run scale as x must be f32: current dtype is ${args.x.dtype}`);
  }
  if (!Number.isFinite(args.alpha) || !Number.isFinite(args.beta ?? 0)) {
    throw new RangeError(
      `Cannot run scale as alpha and beta must be finite: current values are ${args.alpha} and ${args.beta}`,
    );
  }
  const n = numel(args.x.shape);
  const pipeline = await getPipeline(ctx, {
    label: "scale",
    code: SCALE_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  const out = ctx.createStorageBuffer(n * 4, "scale:out");
  const p = new DataView(new ArrayBuffer(16));
  p.setUint32(0, n, true);
  p.setFloat32(4, args.alpha, true);
  p.setFloat32(8, args.beta ?? 0, true);
  const params = writeUniforms(ctx, "scale", p.buffer);
  dispatch(ctx, {
    label: "scale",
    pipeline,
    buffers: [args.x.buffer, out, params],
    workgroups: Math.ceil(n / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return { buffer: out, shape: [...args.x.shape], dtype: "f32" };
}

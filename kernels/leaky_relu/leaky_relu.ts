// This module is browser compatible.
/**
 * Launchers of the activation family: {@linkcode leakyRelu} and its
 * backward {@linkcode leakyReluBackward}. Validation is in the pure
 * {@linkcode checkLeakyReluArgs}; any shape is accepted (elementwise).
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { leakyReluWgsl } from "./leaky_relu.wgsl.ts";

const WORKGROUP_SIZE = 256;

/** Arguments of {@linkcode leakyRelu}. */
export interface LeakyReluArgs {
  /** Input, any shape, f32. */
  x: GpuTensor;
  /** Slope for negative inputs (0 gives ReLU), finite and >= 0. */
  slope: number;
  /** Output to write (same shape as `x`); a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here, for the caller to destroy after the work completes. */
  transients?: GPUBuffer[];
}

/** Arguments of {@linkcode leakyReluBackward}. */
export interface LeakyReluBackwardArgs {
  /** The forward input. */
  x: GpuTensor;
  /** Gradient of the loss with respect to the output (same shape as `x`). */
  dy: GpuTensor;
  /** The forward slope. */
  slope: number;
  /** Gradient to write (same shape as `x`); a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

type Shaped = { shape: readonly number[]; dtype: string };

/**
 * Checks leaky-ReLU arguments without a GPU: f32 tensors of one shape and a
 * finite non-negative slope. Throws `TypeError` / `RangeError`.
 *
 * @example
 * ```ts
 * import { checkLeakyReluArgs } from "./leaky_relu.ts";
 * import assert from "node:assert/strict";
 * checkLeakyReluArgs({ shape: [2, 3], dtype: "f32" }, 0.01);
 * assert.throws(() => checkLeakyReluArgs({ shape: [2], dtype: "f32" }, -1), RangeError);
 * ```
 */
export function checkLeakyReluArgs(x: Shaped, slope: number, ...others: Shaped[]): void {
  if (!Number.isFinite(slope) || slope < 0) {
    throw new RangeError(
      `Cannot run leakyRelu as slope must be finite and >= 0: current value is ${slope}`,
    );
  }
  for (const t of [x, ...others]) {
    if (t.dtype !== "f32") {
      throw new TypeError(
        `Cannot run leakyRelu as tensors must be f32: current dtype is ${t.dtype}`,
      );
    }
    if (formatShape(t.shape) !== formatShape(x.shape)) {
      throw new TypeError(
        `Cannot run leakyRelu as every tensor must have shape ${
          formatShape(x.shape)
        }: current shape is ${formatShape(t.shape)}`,
      );
    }
  }
}

function params(n: number, slope: number): ArrayBuffer {
  const v = new DataView(new ArrayBuffer(16));
  v.setUint32(0, n, true);
  v.setFloat32(4, slope, true);
  return v.buffer;
}

/**
 * Leaky ReLU on the GPU.
 *
 * @example
 * ```ts ignore
 * const y = await leakyRelu(gpu, { x, slope: 0.01 });
 * ```
 */
export async function leakyRelu(ctx: GpuContext, args: LeakyReluArgs): Promise<GpuTensor> {
  checkLeakyReluArgs(args.x, args.slope, ...(args.out ? [args.out] : []));
  const n = numel(args.x.shape);
  const inPlace = args.out?.buffer === args.x.buffer;
  const pipeline = await getPipeline(ctx, {
    label: "leaky_relu",
    code: leakyReluWgsl("forward", inPlace),
    constants: { WORKGROUP_SIZE },
  });
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(n * 4, "leaky_relu:out"),
      shape: [...args.x.shape],
      dtype: "f32",
    };
  const uniforms = writeUniforms(ctx, "leaky_relu", params(n, args.slope));
  args.transients?.push(uniforms);
  dispatch(ctx, {
    label: "leaky_relu",
    pipeline,
    buffers: inPlace ? [args.x.buffer, uniforms] : [args.x.buffer, out.buffer, uniforms],
    workgroups: Math.ceil(n / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

/**
 * Backward of {@linkcode leakyRelu}: `dx = dy * (x > 0 ? 1 : slope)`.
 *
 * @example
 * ```ts ignore
 * const dx = await leakyReluBackward(gpu, { x, dy, slope: 0.01 });
 * ```
 */
export async function leakyReluBackward(
  ctx: GpuContext,
  args: LeakyReluBackwardArgs,
): Promise<GpuTensor> {
  checkLeakyReluArgs(args.x, args.slope, args.dy, ...(args.out ? [args.out] : []));
  const n = numel(args.x.shape);
  const inPlace = args.out?.buffer === args.dy.buffer;
  if (args.out?.buffer === args.x.buffer) {
    throw new TypeError(
      "Cannot run leakyReluBackward as out must not be x: current out is the forward input (pass out = dy to update dy in place)",
    );
  }
  const pipeline = await getPipeline(ctx, {
    label: "leaky_relu_backward",
    code: leakyReluWgsl("backward", inPlace),
    constants: { WORKGROUP_SIZE },
  });
  const out = args.out ?? {
    buffer: ctx.createStorageBuffer(n * 4, "leaky_relu_backward:out"),
    shape: [...args.x.shape],
    dtype: "f32",
  };
  const uniforms = writeUniforms(ctx, "leaky_relu_backward", params(n, args.slope));
  args.transients?.push(uniforms);
  dispatch(ctx, {
    label: "leaky_relu_backward",
    pipeline,
    buffers: inPlace
      ? [args.x.buffer, args.dy.buffer, uniforms]
      : [args.x.buffer, args.dy.buffer, out.buffer, uniforms],
    workgroups: Math.ceil(n / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

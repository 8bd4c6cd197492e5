// This module is browser compatible.
/**
 * Launchers of stride-1, zero-padded 3D convolution on channel-major
 * tensors: {@linkcode conv3d} (forward), {@linkcode conv3dBackwardData}
 * (gradient with respect to the input) and {@linkcode conv3dBackwardWeights}
 * (gradients with respect to the weight and bias). Validation is in the pure
 * {@linkcode checkConv3dArgs}.
 *
 * Layouts: `x [N, Ci, D, H, W]`, `weight [Co, Ci, kd, kh, kw]`, `bias [Co]`,
 * `y [N, Co, D', H', W']` with `D' = D + 2·pd − kd + 1`.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, normalizeDispatch, writeUniforms } from "../_runtime.ts";
import {
  CONV3D_BIAS_GRAD_WGSL,
  CONV3D_REDUCE_WGSL,
  CONV3D_TILE_HARDWARE,
  CONV3D_TILE_SOFTWARE,
  CONV3D_WEIGHT_GRAD_WGSL,
  CONV3D_WGSL,
  conv3dGemmWgsl,
  type Conv3dTile,
  conv3dWeightGradGemmWgsl,
} from "./conv3d.wgsl.ts";
import { conv3dOutputSize, type Padding3d } from "./conv3d_ref.ts";

export type { Conv3dTile, Padding3d };

/**
 * Which kernels run: `"gemm"` (implicit GEMM on the register-blocked
 * tiling, the default) or `"direct"` (the first 4 × 4 direct kernels, kept
 * as the baseline the benches compare with).
 */
export type Conv3dVariant = "gemm" | "direct";

/**
 * The implicit-GEMM tile for an adapter: {@linkcode CONV3D_TILE_SOFTWARE} on
 * a software adapter (wide per-thread blocks, 8-thread workgroups),
 * {@linkcode CONV3D_TILE_HARDWARE} on a hardware GPU.
 */
export function conv3dTileFor(info: { isSoftware: boolean }): Conv3dTile {
  return info.isSoftware ? CONV3D_TILE_SOFTWARE : CONV3D_TILE_HARDWARE;
}

const WORKGROUP_SIZE = 64;
/** Threads the weight-gradient kernel aims for before splitting rows into chunks. */
const TARGET_THREADS = 16384;

/** Common fields of the conv3d launchers. */
export interface Conv3dCommonArgs {
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform and scratch buffers created by the call are pushed here, for the caller to destroy once the work completes. */
  transients?: GPUBuffer[];
  /** Kernel family. @default {"gemm"} */
  variant?: Conv3dVariant;
  /** Register tile of the `"gemm"` variant. @default {conv3dTileFor(ctx.info)} */
  tile?: Conv3dTile;
}

/** Arguments of {@linkcode conv3d}. */
export interface Conv3dArgs extends Conv3dCommonArgs {
  /** Input `[N, Ci, D, H, W]`. */
  x: GpuTensor;
  /** Weight `[Co, Ci, kd, kh, kw]`. */
  weight: GpuTensor;
  /** Bias `[Co]`, optional. */
  bias?: GpuTensor;
  /** Zero padding `[pd, ph, pw]`, each at most kernel − 1. */
  padding: Padding3d;
  /** Output to write; a new tensor when omitted. */
  out?: GpuTensor;
}

/** Arguments of {@linkcode conv3dBackwardData}. */
export interface Conv3dBackwardDataArgs extends Conv3dCommonArgs {
  /** Output gradient `[N, Co, D', H', W']`. */
  dy: GpuTensor;
  /** The forward weight `[Co, Ci, kd, kh, kw]`. */
  weight: GpuTensor;
  /** The forward input shape `[N, Ci, D, H, W]`. */
  inputShape: readonly number[];
  /** The forward padding. */
  padding: Padding3d;
  /** Input gradient to write; a new tensor when omitted. */
  out?: GpuTensor;
}

/** Arguments of {@linkcode conv3dBackwardWeights}. */
export interface Conv3dBackwardWeightsArgs extends Conv3dCommonArgs {
  /** The forward input `[N, Ci, D, H, W]`. */
  x: GpuTensor;
  /** Output gradient `[N, Co, D', H', W']`. */
  dy: GpuTensor;
  /** Kernel extents `[kd, kh, kw]`. */
  kernel: readonly [number, number, number];
  /** The forward padding. */
  padding: Padding3d;
  /** Weight gradient to write `[Co, Ci, kd, kh, kw]`; a new tensor when omitted. */
  dweight?: GpuTensor;
  /** Bias gradient to write `[Co]`; computed only when given or when `withBias`. */
  dbias?: GpuTensor;
  /** Compute the bias gradient into a new tensor when `dbias` is omitted. @default {false} */
  withBias?: boolean;
}

type Shaped = { shape: readonly number[]; dtype: string };

/**
 * Checks convolution arguments without a GPU and returns the output shape
 * `[N, Co, D', H', W']`. Throws `TypeError` for wrong ranks, dtypes or
 * channel counts and `RangeError` for padding outside `[0, k − 1]` or an
 * empty output.
 *
 * @example
 * ```ts
 * import { checkConv3dArgs } from "./conv3d.ts";
 * import assert from "node:assert/strict";
 * const x = { shape: [2, 8, 16, 32, 32], dtype: "f32" };
 * const w = { shape: [4, 8, 3, 3, 3], dtype: "f32" };
 * assert.deepEqual(checkConv3dArgs(x, w, undefined, [1, 1, 1]), [2, 4, 16, 32, 32]);
 * assert.throws(() => checkConv3dArgs(x, { shape: [4, 7, 3, 3, 3], dtype: "f32" }, undefined, [1, 1, 1]), TypeError);
 * ```
 */
export function checkConv3dArgs(
  x: Shaped,
  weight: Shaped,
  bias: Shaped | undefined,
  padding: Padding3d,
): number[] {
  for (
    const [name, t] of [["x", x], ["weight", weight], ...(bias ? [["bias", bias]] : [])] as [
      string,
      Shaped,
    ][]
  ) {
    if (t.dtype !== "f32") {
      throw new TypeError(`Cannot run conv3d as ${name} must be f32: current dtype is ${t.dtype}`);
    }
  }
  if (x.shape.length !== 5) {
    throw new TypeError(
      `Cannot run conv3d as x must have shape [N, Ci, D, H, W]: current shape is ${
        formatShape(x.shape)
      }`,
    );
  }
  if (weight.shape.length !== 5 || weight.shape[1] !== x.shape[1]) {
    throw new TypeError(
      `Cannot run conv3d as weight must have shape [Co, ${
        x.shape[1]
      }, kd, kh, kw]: current shape is ${formatShape(weight.shape)}`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new TypeError(
      `Cannot run conv3d as bias must have shape [${weight.shape[0]}]: current shape is ${
        formatShape(bias.shape)
      }`,
    );
  }
  const kernel = weight.shape.slice(2);
  if (
    padding.length !== 3 ||
    padding.some((p, a) => !Number.isInteger(p) || p < 0 || p > kernel[a] - 1)
  ) {
    throw new RangeError(
      `Cannot run conv3d as padding must be 3 integers in [0, k - 1] for kernel ${
        formatShape(kernel)
      }: current value is ${formatShape(padding)}`,
    );
  }
  const out = conv3dOutputSize(x.shape.slice(2), kernel, padding);
  if (out.some((d) => d <= 0) || [...x.shape, ...weight.shape].some((d) => d <= 0)) {
    throw new RangeError(
      `Cannot run conv3d as the output must not be empty: x ${formatShape(x.shape)}, weight ${
        formatShape(weight.shape)
      }, padding ${formatShape(padding)}`,
    );
  }
  return [x.shape[0], weight.shape[0], ...out];
}

function checkOut(what: string, out: GpuTensor | undefined, shape: readonly number[]): void {
  if (out && formatShape(out.shape) !== formatShape(shape)) {
    throw new TypeError(
      `Cannot run conv3d as ${what} must have shape ${formatShape(shape)}: current shape is ${
        formatShape(out.shape)
      }`,
    );
  }
}

/** Packs the uniforms of the forward kernel (96 bytes; `total` counts the positions of one (n, channel block)). */
export function packConv3dParams(p: {
  n: number;
  ci: number;
  co: number;
  hasBias: boolean;
  input: readonly number[];
  output: readonly number[];
  kernel: readonly number[];
  padding: readonly number[];
  flip: boolean;
  strideOut: number;
  strideIn: number;
  /** Columns and channels per thread. @default {{ cols: 4, channels: 4 }} */
  tile?: { cols: number; channels: number };
}): ArrayBuffer {
  const buf = new ArrayBuffer(96);
  const u = new Uint32Array(buf);
  const s = new Int32Array(buf);
  const outW4 = Math.ceil(p.output[2] / (p.tile?.cols ?? 4));
  const co4 = Math.ceil(p.co / (p.tile?.channels ?? 4));
  u.set([p.n, p.ci, p.co, p.hasBias ? 1 : 0], 0);
  u.set([p.input[0], p.input[1], p.input[2], p.flip ? 1 : 0], 4);
  u.set([p.output[0], p.output[1], p.output[2], outW4], 8);
  u.set([p.kernel[0], p.kernel[1], p.kernel[2], p.strideOut], 12);
  s.set([p.padding[0], p.padding[1], p.padding[2]], 16);
  u[19] = p.strideIn;
  u[20] = co4;
  u[21] = p.output[0] * p.output[1] * outW4;
  return buf;
}

/** The variant and tile a call runs with (the direct kernels use 4 × 4 blocks of 64 threads). */
function tileOf(ctx: GpuContext, common: Conv3dCommonArgs): Conv3dTile | undefined {
  const variant = common.variant ?? "gemm";
  if (variant !== "gemm" && variant !== "direct") {
    throw new TypeError(
      `Cannot run conv3d as variant must be "gemm" or "direct": current value is "${variant}"`,
    );
  }
  if (variant === "direct") return undefined;
  const tile = common.tile ?? conv3dTileFor(ctx.info);
  if (
    ![tile.cols, tile.channels, tile.threads].every((v) => Number.isInteger(v) && v >= 1) ||
    tile.cols * tile.channels > 128
  ) {
    throw new RangeError(
      `Cannot run conv3d as the tile must be positive integers with cols × channels <= 128: current value is ${
        JSON.stringify(tile)
      }`,
    );
  }
  return tile;
}

async function runForward(
  ctx: GpuContext,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  out: GpuTensor,
  params: ArrayBuffer,
  common: Conv3dCommonArgs,
  label: string,
  tile: Conv3dTile | undefined,
): Promise<void> {
  const u = new Uint32Array(params);
  const pipeline = tile
    ? await getPipeline(ctx, {
      label: "conv3d_gemm",
      code: conv3dGemmWgsl(tile, [u[12], u[13], u[14]], u[7] !== 0),
    })
    : await getPipeline(ctx, {
      label: "conv3d",
      code: CONV3D_WGSL,
      constants: { WORKGROUP_SIZE },
    });
  const uniforms = writeUniforms(ctx, label, params);
  common.transients?.push(uniforms);
  const fold = normalizeDispatch(ctx, Math.ceil(u[21] / (tile?.threads ?? WORKGROUP_SIZE)));
  dispatch(ctx, {
    label,
    pipeline,
    buffers: [x.buffer, weight.buffer, (bias ?? weight).buffer, out.buffer, uniforms],
    workgroups: [fold[0], u[0] * u[20], fold[1]],
    encoder: common.encoder,
  });
}

/**
 * 3D convolution on the GPU (stride 1, zero padding).
 *
 * @example
 * ```ts ignore
 * const y = await conv3d(gpu, { x, weight, bias, padding: [1, 1, 1] }); // [N, Co, D, H, W]
 * ```
 */
export async function conv3d(ctx: GpuContext, args: Conv3dArgs): Promise<GpuTensor> {
  const shape = checkConv3dArgs(args.x, args.weight, args.bias, args.padding);
  checkOut("out", args.out, shape);
  const tile = tileOf(ctx, args);
  const [n, ci] = args.x.shape;
  const co = args.weight.shape[0];
  const kernel = args.weight.shape.slice(2);
  const k3 = numel(kernel);
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(numel(shape) * 4, "conv3d:out"),
      shape,
      dtype: "f32" as const,
    };
  const params = packConv3dParams({
    n,
    ci,
    co,
    hasBias: args.bias !== undefined,
    input: args.x.shape.slice(2),
    output: shape.slice(2),
    kernel,
    padding: args.padding,
    flip: false,
    strideOut: ci * k3,
    strideIn: k3,
    tile,
  });
  await runForward(ctx, args.x, args.weight, args.bias, out, params, args, "conv3d", tile);
  return out;
}

/**
 * Gradient of {@linkcode conv3d} with respect to its input: the convolution
 * of `dy` with the transposed, flipped weight and padding `k − 1 − p`.
 *
 * @example
 * ```ts ignore
 * const dx = await conv3dBackwardData(gpu, { dy, weight, inputShape: x.shape, padding: [1, 1, 1] });
 * ```
 */
export async function conv3dBackwardData(
  ctx: GpuContext,
  args: Conv3dBackwardDataArgs,
): Promise<GpuTensor> {
  const fake = { shape: args.inputShape, dtype: "f32" };
  const yShape = checkConv3dArgs(fake, args.weight, undefined, args.padding);
  if (formatShape(args.dy.shape) !== formatShape(yShape) || args.dy.dtype !== "f32") {
    throw new TypeError(
      `Cannot run conv3dBackwardData as dy must have shape ${
        formatShape(yShape)
      }: current shape is ${formatShape(args.dy.shape)}`,
    );
  }
  checkOut("out", args.out, args.inputShape);
  const tile = tileOf(ctx, args);
  const [n, ci] = args.inputShape;
  const co = args.weight.shape[0];
  const kernel = args.weight.shape.slice(2);
  const k3 = numel(kernel);
  const out = args.out ?? {
    buffer: ctx.createStorageBuffer(numel(args.inputShape) * 4, "conv3d_backward_data:out"),
    shape: [...args.inputShape],
    dtype: "f32" as const,
  };
  const params = packConv3dParams({
    n,
    ci: co,
    co: ci,
    hasBias: false,
    input: yShape.slice(2),
    output: args.inputShape.slice(2),
    kernel,
    padding: kernel.map((k, a) => k - 1 - args.padding[a]),
    flip: true,
    strideOut: k3,
    strideIn: ci * k3,
    tile,
  });
  await runForward(
    ctx,
    args.dy,
    args.weight,
    undefined,
    out,
    params,
    args,
    "conv3d_backward_data",
    tile,
  );
  return out;
}

/**
 * Gradients of {@linkcode conv3d} with respect to the weight (split over row
 * chunks, then summed) and, optionally, the bias.
 *
 * @example
 * ```ts ignore
 * const { dweight, dbias } = await conv3dBackwardWeights(gpu, { x, dy, kernel: [3, 3, 3], padding: [1, 1, 1], withBias: true });
 * ```
 */
export async function conv3dBackwardWeights(
  ctx: GpuContext,
  args: Conv3dBackwardWeightsArgs,
): Promise<{ dweight: GpuTensor; dbias?: GpuTensor }> {
  const [n, ci, d, h, w] = args.x.shape;
  const co = args.dy.shape[1];
  const kernel = args.kernel;
  const wShape = [co, ci, ...kernel];
  const yShape = checkConv3dArgs(args.x, { shape: wShape, dtype: "f32" }, undefined, args.padding);
  if (formatShape(args.dy.shape) !== formatShape(yShape) || args.dy.dtype !== "f32") {
    throw new TypeError(
      `Cannot run conv3dBackwardWeights as dy must have shape ${
        formatShape(yShape)
      }: current shape is ${formatShape(args.dy.shape)}`,
    );
  }
  checkOut("dweight", args.dweight, wShape);
  if (args.dbias) checkOut("dbias", args.dbias, [co]);
  const [od, oh, ow] = yShape.slice(2);
  const tile = tileOf(ctx, args);
  const tco = tile?.channels ?? 4;
  const tci = tile?.cols ?? 4;
  const threads = tile?.threads ?? WORKGROUP_SIZE;
  const k3 = numel(kernel);
  const m = co * ci * k3;
  const blocks = Math.ceil(co / tco) * Math.ceil(ci / tci) * k3;
  const rows = n * od * oh;
  const chunks = Math.max(1, Math.min(rows, Math.ceil(TARGET_THREADS / blocks)));
  const chunkRows = Math.ceil(rows / chunks);
  const used = Math.ceil(rows / chunkRows);
  const dweight = args.dweight ?? {
    buffer: ctx.createStorageBuffer(m * 4, "conv3d_weight_grad:out"),
    shape: wShape,
    dtype: "f32" as const,
  };
  const partial = used === 1 ? dweight.buffer : ctx.createStorageBuffer(
    used * m * 4,
    "conv3d_weight_grad:partial",
  );
  if (used > 1) args.transients?.push(partial);
  const buf = new ArrayBuffer(96);
  const u = new Uint32Array(buf);
  const s = new Int32Array(buf);
  const total = used * blocks;
  u.set([n, ci, co, rows, d, h, w, chunkRows, od, oh, ow, k3, ...kernel, total]);
  s.set([args.padding[0], args.padding[1], args.padding[2]], 16);
  u[19] = Math.ceil(co / tco);
  u[20] = Math.ceil(ci / tci);
  const gradPipeline = tile
    ? await getPipeline(ctx, {
      label: "conv3d_weight_grad_gemm",
      code: conv3dWeightGradGemmWgsl(tile),
    })
    : await getPipeline(ctx, {
      label: "conv3d_weight_grad",
      code: CONV3D_WEIGHT_GRAD_WGSL,
      constants: { WORKGROUP_SIZE },
    });
  const gradUniforms = writeUniforms(ctx, "conv3d_weight_grad", buf);
  args.transients?.push(gradUniforms);
  dispatch(ctx, {
    label: "conv3d_weight_grad",
    pipeline: gradPipeline,
    buffers: [args.x.buffer, args.dy.buffer, partial, gradUniforms],
    workgroups: Math.ceil(total / threads),
    encoder: args.encoder,
  });
  if (used > 1) {
    const reducePipeline = await getPipeline(ctx, {
      label: "conv3d_reduce",
      code: CONV3D_REDUCE_WGSL,
      constants: { WORKGROUP_SIZE },
    });
    const reduceUniforms = writeUniforms(
      ctx,
      "conv3d_reduce",
      new Uint32Array([m, used, 0, 0]).buffer,
    );
    args.transients?.push(reduceUniforms);
    dispatch(ctx, {
      label: "conv3d_reduce",
      pipeline: reducePipeline,
      buffers: [partial, dweight.buffer, reduceUniforms],
      workgroups: Math.ceil(m / WORKGROUP_SIZE),
      encoder: args.encoder,
    });
  }
  let dbias = args.dbias;
  if (!dbias && args.withBias) {
    dbias = {
      buffer: ctx.createStorageBuffer(co * 4, "conv3d_bias_grad:out"),
      shape: [co],
      dtype: "f32",
    };
  }
  if (dbias) {
    const biasPipeline = await getPipeline(ctx, {
      label: "conv3d_bias_grad",
      code: CONV3D_BIAS_GRAD_WGSL,
      constants: { WORKGROUP_SIZE },
    });
    const biasUniforms = writeUniforms(
      ctx,
      "conv3d_bias_grad",
      new Uint32Array([n, co, od * oh * ow, 0]).buffer,
    );
    args.transients?.push(biasUniforms);
    dispatch(ctx, {
      label: "conv3d_bias_grad",
      pipeline: biasPipeline,
      buffers: [args.dy.buffer, dbias.buffer, biasUniforms],
      workgroups: [co, 1, 1],
      encoder: args.encoder,
    });
  }
  return dbias ? { dweight, dbias } : { dweight };
}

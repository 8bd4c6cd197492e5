// This module is browser compatible.
/**
 * Launchers of the linear family: {@linkcode linearForward}
 * (`y = x·Wᵀ + b`), {@linkcode linearWeightGrad} (`dW = dyᵀ·x`),
 * {@linkcode linearInputGrad} (`dx = dy·W`, optionally accumulated) and
 * {@linkcode linearBackward}, which chains them with a column sum for the
 * bias gradient. Layouts are PyTorch's `nn.Linear`: `weight: [K, F]`.
 *
 * Rows are read as `vec4<f32>` when `F % 4 == 0`, else as scalars; both
 * variants are checked against {@linkcode linearForwardRef} and
 * {@linkcode linearBackwardRef} at odd shapes in `linear_test.ts`.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { formatShape } from "../../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../../_runtime.ts";
import { checkHolds, checkMatrix, checkVector, outputTensor, type ShapeLike } from "../_util.ts";
import { columnSum } from "../column_sum/column_sum.ts";
import { type LinearKernel, linearWgsl } from "./linear.wgsl.ts";

export type { LinearKernel };

const WORKGROUP_SIZE = 64;

/** Sizes of a linear layer call. */
export interface LinearDims {
  /** Rows of `x` (samples, instances). */
  n: number;
  /** Input features. */
  f: number;
  /** Output features. */
  k: number;
}

/**
 * Checks linear-layer shapes without a GPU: `x: [N, F]`, `weight: [K, F]`,
 * `bias: [K]` (optional), `dy: [N, K]` (optional). Throws `TypeError` with
 * the actual and expected shapes.
 *
 * @example
 * ```ts
 * import { checkLinearArgs } from "./linear.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkLinearArgs({ x: { shape: [5, 3] }, weight: { shape: [2, 3] } }), { n: 5, f: 3, k: 2 });
 * assert.throws(
 *   () => checkLinearArgs({ x: { shape: [5, 3] }, weight: { shape: [2, 4] } }),
 *   /weight must have shape \[\*, 3\]: current shape is \[2, 4\]/,
 * );
 * ```
 */
export function checkLinearArgs(
  args: { x: ShapeLike; weight: ShapeLike; bias?: ShapeLike; dy?: ShapeLike },
  op = "linear",
): LinearDims {
  const [n, f] = checkMatrix(op, "x", args.x);
  const [k] = checkMatrix(op, "weight", args.weight, [undefined, f]);
  if (args.bias) checkVector(op, "bias", args.bias, k);
  if (args.dy) checkMatrix(op, "dy", args.dy, [n, k]);
  return { n, f, k };
}

/** Packs the uniforms of one kernel of the family (8 u32, 32 bytes). */
export function packLinearParams(kernel: LinearKernel, dims: LinearDims): ArrayBuffer {
  const vec4 = dims.f % 4 === 0;
  const depth = vec4 ? dims.f / 4 : dims.f;
  const u = new Uint32Array(8);
  u[0] = dims.n;
  u[1] = dims.k;
  u[2] = depth;
  if (kernel === "forward") {
    u[4] = Math.ceil(dims.k / 4);
    u[3] = Math.ceil(dims.n / 4) * u[4];
  } else if (kernel === "weight_grad") {
    u[4] = depth;
    u[3] = Math.ceil(dims.k / 4) * depth;
  } else {
    u[4] = depth;
    u[3] = Math.ceil(dims.n / 4) * depth;
  }
  return u.buffer;
}

const dummies = new WeakMap<GpuContext, GPUBuffer>();

function dummyBuffer(ctx: GpuContext): GPUBuffer {
  let b = dummies.get(ctx);
  if (!b) {
    b = ctx.createStorageBuffer(16, "linear:no_bias");
    dummies.set(ctx, b);
  }
  return b;
}

async function run(
  ctx: GpuContext,
  kernel: LinearKernel,
  dims: LinearDims,
  buffers: GPUBuffer[],
  constants: Record<string, number>,
  encoder: GPUCommandEncoder | undefined,
): Promise<void> {
  const label = `linear_${kernel}`;
  const params = packLinearParams(kernel, dims);
  const pipeline = await getPipeline(ctx, {
    label,
    code: linearWgsl(kernel, dims.f % 4 === 0),
    constants: { WORKGROUP_SIZE, ...constants },
  });
  dispatch(ctx, {
    label,
    pipeline,
    buffers: [...buffers, writeUniforms(ctx, label, params)],
    workgroups: Math.ceil(new Uint32Array(params)[3] / WORKGROUP_SIZE),
    encoder,
  });
}

/** Arguments of {@linkcode linearForward}. */
export interface LinearForwardArgs {
  /** Inputs `[N, F]`. */
  x: GpuTensor;
  /** Weights `[K, F]`. */
  weight: GpuTensor;
  /** Bias `[K]`; none when absent. */
  bias?: GpuTensor;
  /** Write `y` here instead of a new buffer. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * `y = x·Wᵀ + b`, `[N, K]`.
 *
 * @example
 * ```ts ignore
 * const logits = await linearForward(gpu, { x, weight, bias }); // [N, K]
 * ```
 */
export async function linearForward(ctx: GpuContext, args: LinearForwardArgs): Promise<GpuTensor> {
  const dims = checkLinearArgs(args, "linearForward");
  checkHolds("linearForward", "x", args.x);
  checkHolds("linearForward", "weight", args.weight);
  const out = outputTensor(ctx, "linearForward", args.out, [dims.n, dims.k], "linear_forward:y");
  await run(
    ctx,
    "forward",
    dims,
    [args.x.buffer, args.weight.buffer, args.bias?.buffer ?? dummyBuffer(ctx), out.buffer],
    { HAS_BIAS: args.bias ? 1 : 0 },
    args.encoder,
  );
  return out;
}

/** Arguments of {@linkcode linearWeightGrad}. */
export interface LinearWeightGradArgs {
  /** Inputs `[N, F]` of the forward pass. */
  x: GpuTensor;
  /** Upstream gradient `[N, K]`. */
  dy: GpuTensor;
  /** Write `dW` here instead of a new buffer. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** `dW = dyᵀ·x`, `[K, F]`. */
export async function linearWeightGrad(
  ctx: GpuContext,
  args: LinearWeightGradArgs,
): Promise<GpuTensor> {
  const [n, f] = checkMatrix("linearWeightGrad", "x", args.x);
  const [, k] = checkMatrix("linearWeightGrad", "dy", args.dy, [n, undefined]);
  checkHolds("linearWeightGrad", "x", args.x);
  checkHolds("linearWeightGrad", "dy", args.dy);
  const out = outputTensor(ctx, "linearWeightGrad", args.out, [k, f], "linear_weight_grad:dw");
  await run(
    ctx,
    "weight_grad",
    { n, f, k },
    [args.x.buffer, args.dy.buffer, out.buffer],
    {},
    args.encoder,
  );
  return out;
}

/** Arguments of {@linkcode linearInputGrad}. */
export interface LinearInputGradArgs {
  /** Upstream gradient `[N, K]`. */
  dy: GpuTensor;
  /** Weights `[K, F]`. */
  weight: GpuTensor;
  /** Write (or add, with `accumulate`) `dx` here instead of a new buffer. */
  out?: GpuTensor;
  /** Add to `out` instead of overwriting it (needs `out`). @default {false} */
  accumulate?: boolean;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** `dx = dy·W` (or `dx += dy·W`), `[N, F]`. */
export async function linearInputGrad(
  ctx: GpuContext,
  args: LinearInputGradArgs,
): Promise<GpuTensor> {
  const [n, k] = checkMatrix("linearInputGrad", "dy", args.dy);
  const [, f] = checkMatrix("linearInputGrad", "weight", args.weight, [k, undefined]);
  if (args.accumulate && !args.out) {
    throw new TypeError("Cannot run linearInputGrad as accumulate needs an out tensor");
  }
  checkHolds("linearInputGrad", "dy", args.dy);
  checkHolds("linearInputGrad", "weight", args.weight);
  const out = outputTensor(ctx, "linearInputGrad", args.out, [n, f], "linear_input_grad:dx");
  await run(
    ctx,
    "input_grad",
    { n, f, k },
    [args.dy.buffer, args.weight.buffer, out.buffer],
    { ACCUMULATE: args.accumulate ? 1 : 0 },
    args.encoder,
  );
  return out;
}

/** Arguments of {@linkcode linearBackward}. */
export interface LinearBackwardArgs {
  /** Inputs `[N, F]` of the forward pass. */
  x: GpuTensor;
  /** Weights `[K, F]`. */
  weight: GpuTensor;
  /** Upstream gradient `[N, K]`. */
  dy: GpuTensor;
  /** Also compute `dx`. @default {false} */
  inputGrad?: boolean;
  /** Output buffers to reuse. */
  out?: { dWeight?: GpuTensor; dBias?: GpuTensor; dx?: GpuTensor };
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** What {@linkcode linearBackward} returns. */
export interface LinearBackwardResult {
  /** `[K, F]`. */
  dWeight: GpuTensor;
  /** `[K]`. */
  dBias: GpuTensor;
  /** `[N, F]`, when asked for. */
  dx?: GpuTensor;
}

/**
 * Gradients of `y = x·Wᵀ + b`: `dW = dyᵀ·x`, `db = Σ_n dy[n]` and, when
 * asked, `dx = dy·W`.
 *
 * @example
 * ```ts ignore
 * const { dWeight, dBias } = await linearBackward(gpu, { x, weight, dy });
 * ```
 */
export async function linearBackward(
  ctx: GpuContext,
  args: LinearBackwardArgs,
): Promise<LinearBackwardResult> {
  const dims = checkLinearArgs(args, "linearBackward");
  if (args.out?.dBias && args.out.dBias.buffer.size < dims.k * 4) {
    throw new RangeError(
      `Cannot run linearBackward as out.dBias must hold ${dims.k} values: current shape is ${
        formatShape(args.out.dBias.shape)
      }`,
    );
  }
  const dWeight = await linearWeightGrad(ctx, {
    x: args.x,
    dy: args.dy,
    out: args.out?.dWeight,
    encoder: args.encoder,
  });
  const dBias = await columnSum(ctx, { x: args.dy, out: args.out?.dBias, encoder: args.encoder });
  const result: LinearBackwardResult = { dWeight, dBias };
  if (args.inputGrad) {
    result.dx = await linearInputGrad(ctx, {
      dy: args.dy,
      weight: args.weight,
      out: args.out?.dx,
      encoder: args.encoder,
    });
  }
  return result;
}

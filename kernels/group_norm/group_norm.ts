// This module is browser compatible.
/**
 * Launchers of group normalisation for channel-major tensors
 * `[N, C, ...spatial]` (instance normalisation with `groups = C`):
 * {@linkcode groupNorm} and {@linkcode groupNormBackward}. The forward pass
 * saves per-(sample, group) statistics that the backward pass reuses.
 * Validation is in the pure {@linkcode checkGroupNormArgs}.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import {
  GROUP_NORM_APPLY_WGSL,
  GROUP_NORM_BACKWARD_DATA_WGSL,
  GROUP_NORM_BACKWARD_PARAMS_WGSL,
  GROUP_NORM_BACKWARD_STATS_WGSL,
  GROUP_NORM_STATS_WGSL,
} from "./group_norm.wgsl.ts";

const WORKGROUP_SIZE = 256;

/** Arguments of {@linkcode groupNorm}. */
export interface GroupNormArgs {
  /** Input `[N, C, ...spatial]`. */
  x: GpuTensor;
  /** Scale `[C]`. */
  gamma: GpuTensor;
  /** Shift `[C]`. */
  beta: GpuTensor;
  /** Number of groups; must divide C. */
  groups: number;
  /** Added to the variance (from the model config; no kernel default). */
  eps: number;
  /** Output to write; a new tensor when omitted. */
  out?: GpuTensor;
  /** Statistics to write `[N·G, 2]`; a new tensor when omitted. */
  stats?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/** Arguments of {@linkcode groupNormBackward}. */
export interface GroupNormBackwardArgs {
  /** The forward input. */
  x: GpuTensor;
  /** Output gradient, same shape as `x`. */
  dy: GpuTensor;
  /** The forward scale `[C]`. */
  gamma: GpuTensor;
  /** Statistics saved by the forward pass `[N·G, 2]`. */
  stats: GpuTensor;
  /** The forward group count. */
  groups: number;
  /** Input gradient to write; a new tensor when omitted. */
  dx?: GpuTensor;
  /** Scale gradient to write `[C]`; a new tensor when omitted. */
  dgamma?: GpuTensor;
  /** Shift gradient to write `[C]`; a new tensor when omitted. */
  dbeta?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform and scratch buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/** What {@linkcode groupNorm} returns. */
export interface GroupNormOutput {
  /** The normalised output. */
  y: GpuTensor;
  /** `(mean, rstd)` per (sample, group), `[N·G, 2]`. */
  stats: GpuTensor;
}

type Shaped = { shape: readonly number[]; dtype: string };

/**
 * Checks group-norm arguments without a GPU: rank ≥ 2 f32 input, `[C]`
 * scale and shift, a group count dividing C, and a finite positive eps.
 *
 * @example
 * ```ts
 * import { checkGroupNormArgs } from "./group_norm.ts";
 * import assert from "node:assert/strict";
 * const x = { shape: [2, 8, 4, 4, 4], dtype: "f32" };
 * const p = { shape: [8], dtype: "f32" };
 * checkGroupNormArgs(x, p, p, 4, 1e-5);
 * assert.throws(() => checkGroupNormArgs(x, p, p, 3, 1e-5), RangeError);
 * ```
 */
export function checkGroupNormArgs(
  x: Shaped,
  gamma: Shaped,
  beta: Shaped,
  groups: number,
  eps: number,
): void {
  if (x.dtype !== "f32" || x.shape.length < 2 || x.shape.some((d) => d <= 0)) {
    throw new TypeError(
      `Cannot run groupNorm as x must be a non-empty f32 tensor [N, C, ...]: current shape is ${
        formatShape(x.shape)
      } (${x.dtype})`,
    );
  }
  const c = x.shape[1];
  for (const [name, t] of [["gamma", gamma], ["beta", beta]] as const) {
    if (t.dtype !== "f32" || formatShape(t.shape) !== formatShape([c])) {
      throw new TypeError(
        `Cannot run groupNorm as ${name} must have shape [${c}]: current shape is ${
          formatShape(t.shape)
        }`,
      );
    }
  }
  if (!Number.isInteger(groups) || groups <= 0 || c % groups !== 0) {
    throw new RangeError(
      `Cannot run groupNorm as groups must be a positive divisor of ${c}: current value is ${groups}`,
    );
  }
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`Cannot run groupNorm as eps must be positive: current value is ${eps}`);
  }
}

function packParams(x: GpuTensor, groups: number, eps: number): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  const u = new Uint32Array(buf);
  u.set([x.shape[0], x.shape[1], groups, numel(x.shape.slice(2))]);
  new Float32Array(buf)[4] = eps;
  return buf;
}

function tensorOr(
  ctx: GpuContext,
  given: GpuTensor | undefined,
  shape: readonly number[],
  label: string,
): GpuTensor {
  if (given) {
    if (formatShape(given.shape) !== formatShape(shape)) {
      throw new TypeError(
        `Cannot run groupNorm as ${label} must have shape ${formatShape(shape)}: current shape is ${
          formatShape(given.shape)
        }`,
      );
    }
    return given;
  }
  return {
    buffer: ctx.createStorageBuffer(numel(shape) * 4, label),
    shape: [...shape],
    dtype: "f32",
  };
}

/**
 * Group normalisation on the GPU; returns the output and the saved statistics.
 *
 * @example
 * ```ts ignore
 * const { y, stats } = await groupNorm(gpu, { x, gamma, beta, groups: 8, eps: 1e-5 });
 * ```
 */
export async function groupNorm(ctx: GpuContext, args: GroupNormArgs): Promise<GroupNormOutput> {
  checkGroupNormArgs(args.x, args.gamma, args.beta, args.groups, args.eps);
  const k = args.x.shape[0] * args.groups;
  const y = tensorOr(ctx, args.out, args.x.shape, "group_norm:out");
  const stats = tensorOr(ctx, args.stats, [k, 2], "group_norm:stats");
  const uniforms = writeUniforms(ctx, "group_norm", packParams(args.x, args.groups, args.eps));
  args.transients?.push(uniforms);
  const statsPipeline = await getPipeline(ctx, {
    label: "group_norm_stats",
    code: GROUP_NORM_STATS_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "group_norm_stats",
    pipeline: statsPipeline,
    buffers: [args.x.buffer, stats.buffer, uniforms],
    workgroups: [k, 1, 1],
    encoder: args.encoder,
  });
  const applyPipeline = await getPipeline(ctx, {
    label: "group_norm_apply",
    code: GROUP_NORM_APPLY_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "group_norm_apply",
    pipeline: applyPipeline,
    buffers: [args.x.buffer, stats.buffer, args.gamma.buffer, args.beta.buffer, y.buffer, uniforms],
    workgroups: Math.ceil(numel(args.x.shape) / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return { y, stats };
}

/**
 * Backward of {@linkcode groupNorm}: gradients with respect to the input,
 * the scale and the shift, from the saved statistics.
 *
 * @example
 * ```ts ignore
 * const { dx, dgamma, dbeta } = await groupNormBackward(gpu, { x, dy, gamma, stats, groups: 8 });
 * ```
 */
export async function groupNormBackward(
  ctx: GpuContext,
  args: GroupNormBackwardArgs,
): Promise<{ dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor }> {
  checkGroupNormArgs(args.x, args.gamma, args.gamma, args.groups, 1);
  const k = args.x.shape[0] * args.groups;
  tensorOr(ctx, args.dy, args.x.shape, "dy");
  tensorOr(ctx, args.stats, [k, 2], "stats");
  const c = args.x.shape[1];
  const dx = tensorOr(ctx, args.dx, args.x.shape, "group_norm_backward:dx");
  const dgamma = tensorOr(ctx, args.dgamma, [c], "group_norm_backward:dgamma");
  const dbeta = tensorOr(ctx, args.dbeta, [c], "group_norm_backward:dbeta");
  const sums = ctx.createStorageBuffer(k * 2 * 4, "group_norm_backward:sums");
  args.transients?.push(sums);
  const uniforms = writeUniforms(ctx, "group_norm_backward", packParams(args.x, args.groups, 1));
  args.transients?.push(uniforms);
  const pipe = (label: string, code: string) =>
    getPipeline(ctx, { label, code, constants: { WORKGROUP_SIZE } });
  dispatch(ctx, {
    label: "group_norm_backward_stats",
    pipeline: await pipe("group_norm_backward_stats", GROUP_NORM_BACKWARD_STATS_WGSL),
    buffers: [args.x.buffer, args.dy.buffer, args.stats.buffer, args.gamma.buffer, sums, uniforms],
    workgroups: [k, 1, 1],
    encoder: args.encoder,
  });
  dispatch(ctx, {
    label: "group_norm_backward_data",
    pipeline: await pipe("group_norm_backward_data", GROUP_NORM_BACKWARD_DATA_WGSL),
    buffers: [
      args.x.buffer,
      args.dy.buffer,
      args.stats.buffer,
      args.gamma.buffer,
      sums,
      dx.buffer,
      uniforms,
    ],
    workgroups: Math.ceil(numel(args.x.shape) / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  dispatch(ctx, {
    label: "group_norm_backward_params",
    pipeline: await pipe("group_norm_backward_params", GROUP_NORM_BACKWARD_PARAMS_WGSL),
    buffers: [
      args.x.buffer,
      args.dy.buffer,
      args.stats.buffer,
      dgamma.buffer,
      dbeta.buffer,
      uniforms,
    ],
    workgroups: [c, 1, 1],
    encoder: args.encoder,
  });
  return { dx, dgamma, dbeta };
}

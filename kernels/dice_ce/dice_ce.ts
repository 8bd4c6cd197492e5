// This module is browser compatible.
/**
 * Launchers of the segmentation loss: {@linkcode segLoss} (softmax,
 * cross-entropy and batch soft Dice; writes the gradient with respect to
 * the logits and the per-class sums the loss value is computed from) and
 * {@linkcode softmax3d} (channel softmax alone, for inference). Read the
 * sums back and call {@linkcode segLossFromSums} for the loss value.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import {
  SEG_LOSS_GRAD_WGSL,
  SEG_LOSS_REDUCE_WGSL,
  SEG_LOSS_SUMS_WGSL,
  SOFTMAX_NLL_WGSL,
} from "./dice_ce.wgsl.ts";
import { segLossFromSums, type SegLossOptions, type SegLossValue } from "./dice_ce_ref.ts";

export { segLossFromSums, type SegLossOptions, type SegLossValue };

const WORKGROUP_SIZE = 64;
const CHUNK = 4096;

/** Arguments of {@linkcode segLoss}. */
export interface SegLossArgs extends SegLossOptions {
  /** Logits `[N, K, ...spatial]`. */
  logits: GpuTensor;
  /** Class indices stored as f32, `[N, ...spatial]`, each in `[0, K)`. */
  labels: GpuTensor;
  /** Gradient to write (shape of `logits`); a new tensor when omitted. */
  dlogits?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform and scratch buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/** What {@linkcode segLoss} returns. */
export interface SegLossOutput {
  /** Gradient of the loss with respect to the logits. */
  dlogits: GpuTensor;
  /** `[3K + 1]` sums (see {@linkcode segLossFromSums}); read back for the loss. */
  sums: GpuTensor;
}

type Shaped = { shape: readonly number[]; dtype: string };

/**
 * Checks loss arguments without a GPU: logits `[N, K, ...]` with K ≥ 1,
 * labels `[N, ...]` with the same spatial extents, non-negative finite
 * weights and smoothing terms.
 *
 * @example
 * ```ts
 * import { checkSegLossArgs } from "./dice_ce.ts";
 * import assert from "node:assert/strict";
 * const opts = { includeBackground: false, ceWeight: 1, diceWeight: 1, smoothNr: 1e-5, smoothDr: 1e-5 };
 * checkSegLossArgs({ shape: [2, 3, 4, 4, 4], dtype: "f32" }, { shape: [2, 4, 4, 4], dtype: "f32" }, opts);
 * assert.throws(() => checkSegLossArgs({ shape: [2, 3, 4, 4, 4], dtype: "f32" }, { shape: [2, 4, 4, 5], dtype: "f32" }, opts), TypeError);
 * ```
 */
export function checkSegLossArgs(logits: Shaped, labels: Shaped, options: SegLossOptions): void {
  if (logits.dtype !== "f32" || logits.shape.length < 2 || logits.shape.some((d) => d <= 0)) {
    throw new TypeError(
      `Cannot run segLoss as logits must be a non-empty f32 tensor [N, K, ...]: current shape is ${
        formatShape(logits.shape)
      }`,
    );
  }
  const expected = [logits.shape[0], ...logits.shape.slice(2)];
  if (labels.dtype !== "f32" || formatShape(labels.shape) !== formatShape(expected)) {
    throw new TypeError(
      `Cannot run segLoss as labels must have shape ${formatShape(expected)}: current shape is ${
        formatShape(labels.shape)
      }`,
    );
  }
  for (const key of ["ceWeight", "diceWeight", "smoothNr", "smoothDr"] as const) {
    const v = options[key];
    if (!Number.isFinite(v) || v < 0) {
      throw new RangeError(
        `Cannot run segLoss as ${key} must be finite and >= 0: current value is ${v}`,
      );
    }
  }
  if (!(options.smoothDr > 0) && options.diceWeight > 0) {
    throw new RangeError(
      `Cannot run segLoss as smoothDr must be positive when diceWeight > 0: current value is ${options.smoothDr}`,
    );
  }
}

function packParams(
  k: number,
  spatial: number,
  voxels: number,
  hasLabels: boolean,
  options: SegLossOptions,
): ArrayBuffer {
  const chunks = Math.ceil(voxels / CHUNK);
  const first = options.includeBackground || k === 1 ? 0 : 1;
  const buf = new ArrayBuffer(48);
  new Uint32Array(buf).set([k, spatial, voxels, hasLabels ? 1 : 0, chunks, CHUNK, first, 0]);
  new Float32Array(buf).set([
    options.ceWeight / voxels,
    options.diceWeight / (k - first),
    options.smoothNr,
    options.smoothDr,
  ], 8);
  return buf;
}

/**
 * The segmentation loss on the GPU: writes `dlogits` and the sums the loss
 * value is computed from.
 *
 * @example
 * ```ts ignore
 * const { dlogits, sums } = await segLoss(gpu, { logits, labels, includeBackground: false, ceWeight: 1, diceWeight: 1, smoothNr: 1e-5, smoothDr: 1e-5 });
 * const value = segLossFromSums(new Float32Array(await gpu.readback(sums.buffer)), k, voxels, options);
 * ```
 */
export async function segLoss(ctx: GpuContext, args: SegLossArgs): Promise<SegLossOutput> {
  checkSegLossArgs(args.logits, args.labels, args);
  const [n, k] = args.logits.shape;
  const spatial = numel(args.logits.shape.slice(2));
  const voxels = n * spatial;
  const chunks = Math.ceil(voxels / CHUNK);
  const q = 3 * k + 1;
  if (args.dlogits && formatShape(args.dlogits.shape) !== formatShape(args.logits.shape)) {
    throw new TypeError(
      `Cannot run segLoss as dlogits must have shape ${
        formatShape(args.logits.shape)
      }: current shape is ${formatShape(args.dlogits.shape)}`,
    );
  }
  const dlogits = args.dlogits ?? {
    buffer: ctx.createStorageBuffer(numel(args.logits.shape) * 4, "seg_loss:dlogits"),
    shape: [...args.logits.shape],
    dtype: "f32" as const,
  };
  const probs = ctx.createStorageBuffer(numel(args.logits.shape) * 4, "seg_loss:probs");
  const nll = ctx.createStorageBuffer(voxels * 4, "seg_loss:nll");
  const partial = ctx.createStorageBuffer(q * chunks * 4, "seg_loss:partial");
  const sums = ctx.createStorageBuffer(q * 4, "seg_loss:sums");
  const uniforms = writeUniforms(ctx, "seg_loss", packParams(k, spatial, voxels, true, args));
  args.transients?.push(probs, nll, partial, uniforms);
  const pipe = (label: string, code: string) =>
    getPipeline(ctx, { label, code, constants: { WORKGROUP_SIZE } });
  const encoder = args.encoder;
  dispatch(ctx, {
    label: "softmax_nll",
    pipeline: await pipe("softmax_nll", SOFTMAX_NLL_WGSL),
    buffers: [args.logits.buffer, args.labels.buffer, probs, nll, uniforms],
    workgroups: Math.ceil(voxels / WORKGROUP_SIZE),
    encoder,
  });
  dispatch(ctx, {
    label: "seg_loss_sums",
    pipeline: await pipe("seg_loss_sums", SEG_LOSS_SUMS_WGSL),
    buffers: [probs, args.labels.buffer, nll, partial, uniforms],
    workgroups: [chunks, q, 1],
    encoder,
  });
  dispatch(ctx, {
    label: "seg_loss_reduce",
    pipeline: await pipe("seg_loss_reduce", SEG_LOSS_REDUCE_WGSL),
    buffers: [partial, sums, uniforms],
    workgroups: [q, 1, 1],
    encoder,
  });
  dispatch(ctx, {
    label: "seg_loss_grad",
    pipeline: await pipe("seg_loss_grad", SEG_LOSS_GRAD_WGSL),
    buffers: [probs, args.labels.buffer, sums, dlogits.buffer, uniforms],
    workgroups: Math.ceil(voxels / WORKGROUP_SIZE),
    encoder,
  });
  return { dlogits, sums: { buffer: sums, shape: [q], dtype: "f32" } };
}

/** Arguments of {@linkcode softmax3d}. */
export interface Softmax3dArgs {
  /** Logits `[N, K, ...spatial]`. */
  logits: GpuTensor;
  /** Probabilities to write; a new tensor when omitted. */
  out?: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
  /** Uniform and scratch buffers created by the call are pushed here. */
  transients?: GPUBuffer[];
}

/**
 * Softmax over the channel axis of `[N, K, ...spatial]` logits.
 *
 * @example
 * ```ts ignore
 * const probs = await softmax3d(gpu, { logits });
 * ```
 */
export async function softmax3d(ctx: GpuContext, args: Softmax3dArgs): Promise<GpuTensor> {
  const [n, k] = args.logits.shape;
  checkSegLossArgs(args.logits, { shape: [n, ...args.logits.shape.slice(2)], dtype: "f32" }, {
    includeBackground: true,
    ceWeight: 0,
    diceWeight: 0,
    smoothNr: 0,
    smoothDr: 0,
  });
  const spatial = numel(args.logits.shape.slice(2));
  const voxels = n * spatial;
  const out = args.out ?? {
    buffer: ctx.createStorageBuffer(numel(args.logits.shape) * 4, "softmax3d:out"),
    shape: [...args.logits.shape],
    dtype: "f32" as const,
  };
  const uniforms = writeUniforms(
    ctx,
    "softmax3d",
    packParams(k, spatial, voxels, false, {
      includeBackground: true,
      ceWeight: 0,
      diceWeight: 0,
      smoothNr: 0,
      smoothDr: 1,
    }),
  );
  const noLabels = ctx.createStorageBuffer(4, "softmax3d:no_labels");
  const noNll = ctx.createStorageBuffer(4, "softmax3d:no_nll");
  args.transients?.push(uniforms, noLabels, noNll);
  dispatch(ctx, {
    label: "softmax3d",
    pipeline: await getPipeline(ctx, {
      label: "softmax_nll",
      code: SOFTMAX_NLL_WGSL,
      constants: { WORKGROUP_SIZE },
    }),
    buffers: [args.logits.buffer, noLabels, out.buffer, noNll, uniforms],
    workgroups: Math.ceil(voxels / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return out;
}

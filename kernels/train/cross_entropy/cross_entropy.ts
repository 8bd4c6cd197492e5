// This module is browser compatible.
/**
 * Launchers of the loss family: {@linkcode sigmoidBce} (multi-label BCE
 * with logits) and {@linkcode softmaxCrossEntropy} (multi-class CE). Both
 * write per-sample losses (sum them with `columnSum`) and the gradient
 * with respect to the logits, scaled by `gradScale`.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { dispatch, getPipeline, writeUniforms } from "../../_runtime.ts";
import { checkHolds, checkMatrix, outputTensor, type ShapeLike } from "../_util.ts";
import { SIGMOID_BCE_WGSL, SOFTMAX_CE_WGSL } from "./cross_entropy.wgsl.ts";

const WORKGROUP_SIZE = 64;

/** Arguments of both loss launchers. */
export interface LossArgs {
  /** Logits `[N, K]`. */
  logits: GpuTensor;
  /** Targets `[N, K]`: 0/1 labels (BCE) or one-hot / probability rows (CE). */
  targets: GpuTensor;
  /** Multiplier of the gradient (e.g. `1 / (N·K)` for a mean). @default {1} */
  gradScale?: number;
  /** Buffers to write into instead of new ones. */
  out?: { loss?: GpuTensor; grad?: GpuTensor };
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** Per-sample losses and the scaled gradient. */
export interface LossTensors {
  /** `[N, K]` (BCE) or `[N]` (CE). */
  loss: GpuTensor;
  /** `[N, K]`. */
  grad: GpuTensor;
}

/**
 * Checks loss arguments without a GPU and returns `[N, K]`.
 *
 * @example
 * ```ts
 * import { checkLossArgs } from "./cross_entropy.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkLossArgs("sigmoidBce", { shape: [4, 3] }, { shape: [4, 3] }), [4, 3]);
 * assert.throws(
 *   () => checkLossArgs("sigmoidBce", { shape: [4, 3] }, { shape: [4, 2] }),
 *   /targets must have shape \[4, 3\]: current shape is \[4, 2\]/,
 * );
 * ```
 */
export function checkLossArgs(
  op: string,
  logits: ShapeLike,
  targets: ShapeLike,
  gradScale = 1,
): [number, number] {
  const [n, k] = checkMatrix(op, "logits", logits);
  checkMatrix(op, "targets", targets, [n, k]);
  if (!Number.isFinite(gradScale)) {
    throw new RangeError(
      `Cannot run ${op} as gradScale must be finite: current value is ${gradScale}`,
    );
  }
  return [n, k];
}

/** Packs the uniforms: rows, cols (u32), grad_scale (f32), padding. */
export function packLossParams(rows: number, cols: number, gradScale: number): ArrayBuffer {
  const p = new DataView(new ArrayBuffer(16));
  p.setUint32(0, rows, true);
  p.setUint32(4, cols, true);
  p.setFloat32(8, gradScale, true);
  return p.buffer;
}

async function runLoss(
  ctx: GpuContext,
  op: string,
  label: string,
  code: string,
  args: LossArgs,
  perElement: boolean,
): Promise<LossTensors> {
  const scale = args.gradScale ?? 1;
  const [n, k] = checkLossArgs(op, args.logits, args.targets, scale);
  checkHolds(op, "logits", args.logits);
  checkHolds(op, "targets", args.targets);
  const loss = outputTensor(ctx, op, args.out?.loss, perElement ? [n, k] : [n], `${label}:loss`);
  const grad = outputTensor(ctx, op, args.out?.grad, [n, k], `${label}:grad`);
  const pipeline = await getPipeline(ctx, { label, code, constants: { WORKGROUP_SIZE } });
  dispatch(ctx, {
    label,
    pipeline,
    buffers: [
      args.logits.buffer,
      args.targets.buffer,
      loss.buffer,
      grad.buffer,
      writeUniforms(ctx, label, packLossParams(n, k, scale)),
    ],
    workgroups: Math.ceil((perElement ? n * k : n) / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
  return { loss, grad };
}

/**
 * Sigmoid binary cross-entropy with logits, one independent label per
 * column: losses `[N, K]`, gradient `(σ(z) − y)·gradScale`.
 *
 * @example
 * ```ts ignore
 * const { loss, grad } = await sigmoidBce(gpu, { logits, targets, gradScale: 1 / (n * k) });
 * ```
 */
export function sigmoidBce(ctx: GpuContext, args: LossArgs): Promise<LossTensors> {
  return runLoss(ctx, "sigmoidBce", "sigmoid_bce", SIGMOID_BCE_WGSL, args, true);
}

/**
 * Softmax cross-entropy over each row: losses `[N]`, gradient
 * `(softmax·Σy − y)·gradScale`.
 *
 * @example
 * ```ts ignore
 * const { loss, grad } = await softmaxCrossEntropy(gpu, { logits, targets: oneHot, gradScale: 1 / n });
 * ```
 */
export function softmaxCrossEntropy(ctx: GpuContext, args: LossArgs): Promise<LossTensors> {
  return runLoss(ctx, "softmaxCrossEntropy", "softmax_ce", SOFTMAX_CE_WGSL, args, false);
}

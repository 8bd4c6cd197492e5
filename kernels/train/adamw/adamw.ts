// This module is browser compatible.
/**
 * Launcher of the AdamW step: {@linkcode adamw} updates a parameter tensor
 * and its two moment buffers in place on the GPU.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { formatShape, numel } from "../../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../../_runtime.ts";
import { checkHolds } from "../_util.ts";
import { ADAMW_DEFAULTS, type AdamWOptions } from "./adamw_ref.ts";
import { ADAMW_WGSL } from "./adamw.wgsl.ts";

export { ADAMW_DEFAULTS, type AdamWOptions };

const WORKGROUP_SIZE = 64;

/** Arguments of {@linkcode adamw}. */
export interface AdamWArgs extends AdamWOptions {
  /** Parameters, updated in place. */
  param: GpuTensor;
  /** Gradient, same number of elements. */
  grad: GpuTensor;
  /** First moment, same number of elements, updated in place (zeros at step 1). */
  m: GpuTensor;
  /** Second moment, same number of elements, updated in place (zeros at step 1). */
  v: GpuTensor;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Checks AdamW arguments without a GPU: equal element counts, f32, finite
 * positive lr, β in [0, 1), eps > 0, weight decay ≥ 0, integer step ≥ 1.
 * Returns the element count.
 *
 * @example
 * ```ts
 * import { checkAdamWArgs } from "./adamw.ts";
 * import assert from "node:assert/strict";
 * const t = { shape: [3, 2] };
 * assert.equal(checkAdamWArgs({ param: t, grad: t, m: t, v: t, lr: 0.005, step: 1 }), 6);
 * assert.throws(() => checkAdamWArgs({ param: t, grad: t, m: t, v: t, lr: 0.005, step: 0 }), RangeError);
 * ```
 */
export function checkAdamWArgs(
  args: {
    param: { shape: readonly number[]; dtype?: string };
    grad: { shape: readonly number[]; dtype?: string };
    m: { shape: readonly number[]; dtype?: string };
    v: { shape: readonly number[]; dtype?: string };
  } & AdamWOptions,
): number {
  const n = numel(args.param.shape);
  for (const name of ["param", "grad", "m", "v"] as const) {
    const t = args[name];
    if ((t.dtype ?? "f32") !== "f32") {
      throw new TypeError(`Cannot run adamw as ${name} must be f32: current dtype is ${t.dtype}`);
    }
    if (numel(t.shape) !== n) {
      throw new TypeError(
        `Cannot run adamw as ${name} must have ${n} elements like param ${
          formatShape(args.param.shape)
        }: current shape is ${formatShape(t.shape)}`,
      );
    }
  }
  const b1 = args.beta1 ?? ADAMW_DEFAULTS.beta1;
  const b2 = args.beta2 ?? ADAMW_DEFAULTS.beta2;
  const checks: [string, number, boolean][] = [
    ["lr", args.lr, args.lr > 0 && Number.isFinite(args.lr)],
    ["beta1", b1, b1 >= 0 && b1 < 1],
    ["beta2", b2, b2 >= 0 && b2 < 1],
    ["eps", args.eps ?? ADAMW_DEFAULTS.eps, (args.eps ?? ADAMW_DEFAULTS.eps) > 0],
    [
      "weightDecay",
      args.weightDecay ?? 0,
      (args.weightDecay ?? 0) >= 0 && Number.isFinite(args.weightDecay ?? 0),
    ],
    ["step", args.step, Number.isInteger(args.step) && args.step >= 1],
  ];
  for (const [name, value, ok] of checks) {
    if (!ok) {
      throw new RangeError(
        `Cannot run adamw as ${name} is out of range: current value is ${value}`,
      );
    }
  }
  return n;
}

/** Packs the uniforms: n (u32), lr, beta1, beta2, eps, weight_decay, bc1, sqrt_bc2 (f32). */
export function packAdamWParams(n: number, o: AdamWOptions): ArrayBuffer {
  const b1 = o.beta1 ?? ADAMW_DEFAULTS.beta1;
  const b2 = o.beta2 ?? ADAMW_DEFAULTS.beta2;
  const p = new DataView(new ArrayBuffer(32));
  p.setUint32(0, n, true);
  p.setFloat32(4, o.lr, true);
  p.setFloat32(8, b1, true);
  p.setFloat32(12, b2, true);
  p.setFloat32(16, o.eps ?? ADAMW_DEFAULTS.eps, true);
  p.setFloat32(20, o.weightDecay ?? ADAMW_DEFAULTS.weightDecay, true);
  p.setFloat32(24, 1 - b1 ** o.step, true);
  p.setFloat32(28, Math.sqrt(1 - b2 ** o.step), true);
  return p.buffer;
}

/**
 * One AdamW step in place on `param`, `m` and `v`.
 *
 * @example
 * ```ts ignore
 * await adamw(gpu, { param: w, grad: dw, m: mw, v: vw, lr: 0.005, step: t });
 * ```
 */
export async function adamw(ctx: GpuContext, args: AdamWArgs): Promise<void> {
  const n = checkAdamWArgs(args);
  for (const name of ["param", "grad", "m", "v"] as const) checkHolds("adamw", name, args[name]);
  const pipeline = await getPipeline(ctx, {
    label: "adamw",
    code: ADAMW_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label: "adamw",
    pipeline,
    buffers: [
      args.grad.buffer,
      args.param.buffer,
      args.m.buffer,
      args.v.buffer,
      writeUniforms(ctx, "adamw", packAdamWParams(n, args)),
    ],
    workgroups: Math.ceil(n / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
}

// This module is browser compatible.
/**
 * CPU reference of the AdamW step (PyTorch `torch.optim.AdamW` semantics),
 * in float64 per element, updating `param`, `m` and `v` in place.
 *
 * @module
 */

/** Hyperparameters of one AdamW step. */
export interface AdamWOptions {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. @default {0.9} */
  beta1?: number;
  /** Second-moment decay. @default {0.999} */
  beta2?: number;
  /** Denominator guard. @default {1e-8} */
  eps?: number;
  /** Decoupled weight decay λ. @default {0.01} */
  weightDecay?: number;
  /** 1-based step number t (for bias correction). */
  step: number;
}

/** The AdamW defaults of PyTorch. */
export const ADAMW_DEFAULTS: {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
} = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/**
 * One AdamW step in place.
 *
 * @example First step: the update is lr·sign(g) (plus the decay)
 * ```ts
 * import { adamwRef } from "./adamw_ref.ts";
 * import assert from "node:assert/strict";
 * const p = new Float32Array([1, 1]), m = new Float32Array(2), v = new Float32Array(2);
 * adamwRef(p, new Float32Array([0.5, -2]), m, v, { lr: 0.1, weightDecay: 0, step: 1 });
 * assert.ok(Math.abs(p[0] - 0.9) < 1e-6 && Math.abs(p[1] - 1.1) < 1e-6);
 * ```
 */
export function adamwRef(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  options: AdamWOptions,
): void {
  const b1 = options.beta1 ?? ADAMW_DEFAULTS.beta1;
  const b2 = options.beta2 ?? ADAMW_DEFAULTS.beta2;
  const eps = options.eps ?? ADAMW_DEFAULTS.eps;
  const wd = options.weightDecay ?? ADAMW_DEFAULTS.weightDecay;
  const bc1 = 1 - b1 ** options.step;
  const bc2 = 1 - b2 ** options.step;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    let p = param[i] * (1 - options.lr * wd);
    const mi = b1 * m[i] + (1 - b1) * g;
    const vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= (options.lr / bc1) * mi / (Math.sqrt(vi) / Math.sqrt(bc2) + eps);
    param[i] = p;
  }
}

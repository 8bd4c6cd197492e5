// This module is browser compatible.
/**
 * CPU reference of the segmentation loss: channel softmax of logits
 * `[N, K, ...spatial]`, cross-entropy against integer labels `[N, ...spatial]`
 * and soft Dice (batch Dice: sums over every voxel of the batch), combined as
 * `ceWeight · CE + diceWeight · (1 − mean_k Dice_k)`, with its gradient
 * with respect to the logits.
 *
 * `Dice_k = (2·Σ p_k g_k + smoothNr) / (Σ p_k + Σ g_k + smoothDr)`, MONAI's
 * `DiceLoss(softmax=True, batch=True)` with `include_background` as
 * `includeBackground`, and CE the mean over voxels of `−log p_label`
 * (MONAI's `DiceCELoss`).
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/** Options of the segmentation loss. */
export interface SegLossOptions {
  /** Include class 0 in the Dice mean. */
  includeBackground: boolean;
  /** Weight of the cross-entropy term. */
  ceWeight: number;
  /** Weight of the Dice term. */
  diceWeight: number;
  /** Added to the Dice numerator. */
  smoothNr: number;
  /** Added to the Dice denominator. */
  smoothDr: number;
}

/** The loss, its parts and (from the reference) its gradient. */
export interface SegLossValue {
  /** `ceWeight · ce + diceWeight · (1 − mean Dice)`. */
  loss: number;
  /** Mean cross-entropy over voxels. */
  ce: number;
  /** Soft Dice per class (all K classes, whether or not in the mean). */
  dice: number[];
}

/**
 * The per-class sums the loss is built from, in the order the GPU kernel
 * writes them: `[Σ p·g (K), Σ p (K), Σ g (K), Σ nll]`.
 */
export function segLossFromSums(
  sums: ArrayLike<number>,
  numClasses: number,
  voxels: number,
  options: SegLossOptions,
): SegLossValue {
  const k = numClasses;
  const dice: number[] = [];
  for (let c = 0; c < k; c++) {
    dice.push(
      (2 * sums[c] + options.smoothNr) / (sums[k + c] + sums[2 * k + c] + options.smoothDr),
    );
  }
  const first = options.includeBackground || k === 1 ? 0 : 1;
  let mean = 0;
  for (let c = first; c < k; c++) mean += dice[c];
  mean /= k - first;
  const ce = sums[3 * k] / voxels;
  return { loss: options.ceWeight * ce + options.diceWeight * (1 - mean), ce, dice };
}

/**
 * Loss and gradient with respect to the logits.
 *
 * @example Confident, correct logits give a small loss
 * ```ts
 * import { segLossRef } from "./dice_ce_ref.ts";
 * import assert from "node:assert/strict";
 * const logits = { data: new Float32Array([10, -10, -10, 10]), shape: [1, 2, 2] };
 * const labels = { data: new Float32Array([0, 1]), shape: [1, 2] };
 * const opts = { includeBackground: false, ceWeight: 1, diceWeight: 1, smoothNr: 1e-5, smoothDr: 1e-5 };
 * const { value } = segLossRef(logits, labels, opts);
 * assert.ok(value.loss < 1e-3);
 * assert.ok(Math.abs(value.dice[1] - 1) < 1e-3);
 * ```
 */
export function segLossRef(
  logits: HostTensor,
  labels: HostTensor,
  options: SegLossOptions,
): { value: SegLossValue; grad: HostTensor; probs: HostTensor } {
  const [n, k] = logits.shape;
  const spatial = logits.data.length / (n * k);
  const voxels = n * spatial;
  const probs = new Float64Array(logits.data.length);
  const sums = new Float64Array(3 * k + 1);
  for (let b = 0; b < n; b++) {
    for (let s = 0; s < spatial; s++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, logits.data[(b * k + c) * spatial + s]);
      let z = 0;
      for (let c = 0; c < k; c++) z += Math.exp(logits.data[(b * k + c) * spatial + s] - max);
      const t = labels.data[b * spatial + s];
      for (let c = 0; c < k; c++) {
        const i = (b * k + c) * spatial + s;
        const p = Math.exp(logits.data[i] - max) / z;
        probs[i] = p;
        const g = c === t ? 1 : 0;
        sums[c] += p * g;
        sums[k + c] += p;
        sums[2 * k + c] += g;
      }
      sums[3 * k] += -(logits.data[(b * k + t) * spatial + s] - max - Math.log(z));
    }
  }
  const value = segLossFromSums(sums, k, voxels, options);
  const first = options.includeBackground || k === 1 ? 0 : 1;
  const wd = options.diceWeight / (k - first);
  const grad = new Float32Array(logits.data.length);
  const a = new Float64Array(k);
  for (let b = 0; b < n; b++) {
    for (let s = 0; s < spatial; s++) {
      const t = labels.data[b * spatial + s];
      let dotPa = 0;
      for (let c = 0; c < k; c++) {
        const g = c === t ? 1 : 0;
        const u = sums[k + c] + sums[2 * k + c] + options.smoothDr;
        a[c] = c < first ? 0 : -wd * (2 * g * u - (2 * sums[c] + options.smoothNr)) / (u * u);
        dotPa += probs[(b * k + c) * spatial + s] * a[c];
      }
      for (let c = 0; c < k; c++) {
        const i = (b * k + c) * spatial + s;
        const p = probs[i];
        const g = c === t ? 1 : 0;
        grad[i] = p * (a[c] - dotPa) + options.ceWeight * (p - g) / voxels;
      }
    }
  }
  return {
    value,
    grad: { data: grad, shape: [...logits.shape] },
    probs: { data: Float32Array.from(probs), shape: [...logits.shape] },
  };
}

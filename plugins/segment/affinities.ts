// This module is browser compatible.
/**
 * Nearest-neighbour affinities from instance labels, as the CREMI / waterz /
 * gunpowder tooling computes them (`seg_to_affgraph` with the neighbourhood
 * `[[-1, 0, 0], [0, -1, 0], [0, 0, -1]]`), and the class-balanced weights of
 * the weighted MSE loss (gunpowder's `BalanceLabels`).
 *
 * Layout: `affs[c, z, y, x]`, `c = 0, 1, 2` for z, y, x. Channel `c` at a
 * voxel is the affinity between that voxel and its predecessor along the
 * axis (`(z−1, y, x)`, `(z, y−1, x)`, `(z, y, x−1)`): 1 when both carry the
 * same label and that label is not background, 0 otherwise. The first
 * section / row / column has no predecessor and gets 0. Background (dense
 * id 0: label 0 and CREMI's 2^64 − 1) never has affinity 1, so membranes and
 * unlabeled voxels separate objects; no boundary is grown.
 *
 * @module
 */

import { checkShape3 } from "./labels.ts";

/**
 * Affinities `[3, z, y, x]` of dense labels (0 = background).
 *
 * @example Two objects side by side along x
 * ```ts
 * import { affinitiesFromLabels } from "./affinities.ts";
 * import assert from "node:assert/strict";
 *
 * const affs = affinitiesFromLabels(Uint32Array.of(1, 1, 2, 2), [1, 1, 4]);
 * assert.deepEqual([...affs.subarray(8, 12)], [0, 1, 0, 1]); // x channel
 * ```
 *
 * @param labels Dense labels (`Uint32Array`, 0 = background), C order.
 * @param shape `[z, y, x]`.
 * @returns The affinities, `3 * z * y * x` values in {0, 1}.
 */
export function affinitiesFromLabels(labels: Uint32Array, shape: readonly number[]): Float32Array {
  const [d, h, w] = checkShape3("the labels", shape, labels.length);
  const n = d * h * w;
  const plane = h * w;
  const affs = new Float32Array(3 * n);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      const row = z * plane + y * w;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        const l = labels[i];
        if (l === 0) continue;
        if (z > 0 && labels[i - plane] === l) affs[i] = 1;
        if (y > 0 && labels[i - w] === l) affs[n + i] = 1;
        if (x > 0 && labels[i - 1] === l) affs[2 * n + i] = 1;
      }
    }
  }
  return affs;
}

/** Options of {@linkcode balancedWeights}. */
export interface BalanceOptions {
  /** The positive fraction is clipped to `[clip, 1 − clip]` (gunpowder's `clipmin`/`clipmax`). @default {0.05} */
  clip?: number;
  /** Balance each channel on its own (true) or all three together (false, gunpowder). @default {false} */
  perChannel?: boolean;
}

/**
 * Class-balanced weights of binary targets (gunpowder's `BalanceLabels`):
 * with `p` the (clipped) fraction of targets above 0.5, positives weigh
 * `1 / (2p)` and negatives `1 / (2(1 − p))`, so both classes contribute
 * equally to the weighted MSE `Σ w·(pred − target)² / Σ 1`.
 *
 * @example
 * ```ts
 * import { balancedWeights } from "./affinities.ts";
 * import assert from "node:assert/strict";
 *
 * const w = balancedWeights(Float32Array.of(1, 0, 0, 0), { clip: 0 });
 * assert.deepEqual([...w].map((v) => +v.toFixed(4)), [2, 0.6667, 0.6667, 0.6667]);
 * ```
 *
 * @param targets Targets in [0, 1] (affinities `[3, z, y, x]` or any layout).
 * @param options Clipping and per-channel balance.
 * @returns One weight per target.
 */
export function balancedWeights(targets: Float32Array, options: BalanceOptions = {}): Float32Array {
  const clip = options.clip ?? 0.05;
  if (!(clip >= 0 && clip < 0.5)) {
    throw new RangeError(
      `Cannot balance the targets as clip must be in [0, 0.5): current value is ${clip}`,
    );
  }
  const channels = options.perChannel ? 3 : 1;
  if (targets.length % channels !== 0) {
    throw new RangeError(
      `Cannot balance the targets per channel as their length must be a multiple of 3: current length is ${targets.length}`,
    );
  }
  const out = new Float32Array(targets.length);
  const size = targets.length / channels;
  for (let c = 0; c < channels; c++) {
    const part = targets.subarray(c * size, (c + 1) * size);
    let positive = 0;
    for (let i = 0; i < part.length; i++) if (part[i] > 0.5) positive++;
    const p = Math.min(1 - clip, Math.max(clip, part.length > 0 ? positive / part.length : 0.5));
    const wPos = p > 0 ? 1 / (2 * p) : 0;
    const wNeg = p < 1 ? 1 / (2 * (1 - p)) : 0;
    for (let i = 0; i < part.length; i++) out[c * size + i] = part[i] > 0.5 ? wPos : wNeg;
  }
  return out;
}

// This module is browser compatible.
/**
 * CREMI's evaluation border mask (cremi_python `create_border_mask`):
 * within each section, a pixel is a border pixel when one of its
 * 4-neighbours has another label (the image edge is padded by
 * replication, so it is no border); every pixel whose in-plane Euclidean
 * distance to a border pixel is at most `maxDist` pixels becomes
 * background (0) and is ignored by the metrics. CREMI's leaderboard used
 * `border_threshold` = 25 nm, i.e. `maxDist` = 25 / 4 pixels.
 *
 * @module
 */

import { computeSquaredDistanceTransform } from "../metrics/edt.ts";
import { checkShape3 } from "./labels.ts";

/**
 * Masks the borders of dense gt labels (see the module doc). `maxDist` ≤ 0
 * returns the labels unchanged, as cremi_python does without a threshold.
 *
 * @example One-pixel-wide objects: every pixel is within 1 of a border
 * ```ts
 * import { cremiBorderMask } from "./border_mask.ts";
 * import assert from "node:assert/strict";
 * const gt = Uint32Array.of(1, 1, 1, 2, 2, 2);
 * assert.deepEqual([...cremiBorderMask(gt, [1, 1, 6], 1)], [1, 0, 0, 0, 0, 2]);
 * ```
 *
 * @param gt Dense gt ids `[z, y, x]` (0 = background).
 * @param shape `[z, y, x]`.
 * @param maxDist Distance in pixels (border threshold in nm / in-plane voxel size).
 * @returns A masked copy.
 */
export function cremiBorderMask(
  gt: Uint32Array,
  shape: readonly number[],
  maxDist: number,
): Uint32Array {
  const [d, h, w] = checkShape3("the ground truth", shape, gt.length);
  const out = gt.slice();
  if (!(maxDist > 0)) return out;
  const plane = h * w;
  const border = new Uint8Array(plane);
  const limit = maxDist * maxDist;
  for (let z = 0; z < d; z++) {
    const o = z * plane;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = o + y * w + x, l = gt[i];
        border[y * w + x] = (x > 0 && gt[i - 1] !== l) || (x + 1 < w && gt[i + 1] !== l) ||
            (y > 0 && gt[i - w] !== l) || (y + 1 < h && gt[i + w] !== l)
          ? 1
          : 0;
      }
    }
    const dist = computeSquaredDistanceTransform(border, [h, w], [1, 1]);
    for (let k = 0; k < plane; k++) if (dist[k] <= limit) out[o + k] = 0;
  }
  return out;
}

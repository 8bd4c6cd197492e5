// This module is browser compatible.
/**
 * Host-side geometry of the 3D decoder: how a feature grid `[h, w]` maps to
 * the voxel grid `[H, W]`, the decoder's stage grids, training crops and
 * sliding windows that keep features, image skips and labels aligned, the
 * image pyramid of the skip connections, augmentation (flips, in-plane 90°
 * rotations) applied to every crop of a sample alike, the Gaussian
 * importance map of sliding-window inference, and the learning-rate
 * schedule. Pure functions; no GPU.
 *
 * Stage grids: stage 0 is the feature grid `[h, w]`; stage `s < S` is
 * `[h·2^s, w·2^s]`; the last stage `S` is the voxel grid `[H, W]`. Depth is
 * never resampled (one feature map per axial slice). A crop covers whole
 * feature cells `[cy, cy + ch)`; at stage `s < S` it covers
 * `[cy·2^s, (cy + ch)·2^s)`, and in voxels about `[cy·H/h, (cy + ch)·H/h)`.
 *
 * @module
 */

import { resizeBilinear } from "../../../core/image.ts";
import { f16BitsToNumber } from "../../../core/tensor.ts";
import type { ResampleMapping } from "../../../kernels/upsample3d/upsample3d_ref.ts";

/** A feature volume `[C, D, h, w]`: float32 values, or float16 bit patterns. */
export interface FeatureVolume {
  /** Values (`Float32Array`) or IEEE half-precision bit patterns (`Uint16Array`), channel-major. */
  readonly data: Float32Array | Uint16Array;
  /** `[C, D, h, w]`. */
  readonly shape: readonly [number, number, number, number];
}

/** The stage count for a feature grid and a voxel grid: `max(1, round(log2(max ratio)))`. */
export function stageCount(
  feature: readonly [number, number],
  voxels: readonly [number, number],
): number {
  const ratio = Math.max(voxels[0] / feature[0], voxels[1] / feature[1]);
  return Math.max(1, Math.round(Math.log2(Math.max(ratio, 1))));
}

/** In-plane extents of every stage grid, `[S + 1][2]`. */
export function stageGrids(
  feature: readonly [number, number],
  voxels: readonly [number, number],
  stages: number,
): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < stages; s++) out.push([feature[0] * 2 ** s, feature[1] * 2 ** s]);
  out.push([voxels[0], voxels[1]]);
  return out;
}

/** One crop (training) or window (inference) of a sample. */
export interface Crop {
  /** First slice and slice count. */
  readonly z: readonly [number, number];
  /** First feature cell and cell count, per in-plane axis `[y, x]`. */
  readonly cells: readonly [[number, number], [number, number]];
  /** Start and extent in each stage grid, per in-plane axis: `grid[s] = [[y0, ny], [x0, nx]]`. */
  readonly grid: readonly (readonly [[number, number], [number, number]])[];
}

/** The crop extents of a sample: cells and voxels per in-plane axis, slices in depth. */
export interface CropPlan {
  /** Slices per crop. */
  readonly depth: number;
  /** Feature cells per crop `[y, x]`. */
  readonly cells: readonly [number, number];
  /** Voxels per crop `[y, x]` at full resolution. */
  readonly voxels: readonly [number, number];
}

/**
 * Crop extents for a requested voxel patch `[d, h, w]` on a sample with
 * `D` slices, feature grid `[h, w]` and voxel grid `[H, W]`: whole cells
 * (at least one, at most the grid), and in voxels `ceil(cells·H/h)` (plus
 * one when H/h is not an integer, so windows leave no gap), at most H.
 */
export function planCrop(
  patch: readonly [number, number, number],
  depth: number,
  feature: readonly [number, number],
  voxels: readonly [number, number],
): CropPlan {
  const cells: [number, number] = [0, 0];
  const vox: [number, number] = [0, 0];
  for (let a = 0; a < 2; a++) {
    const per = voxels[a] / feature[a];
    cells[a] = Math.min(feature[a], Math.max(1, Math.round(patch[a + 1] / per)));
    const exact = cells[a] * per;
    vox[a] = Math.min(voxels[a], Number.isInteger(exact) ? exact : Math.ceil(exact) + 1);
  }
  return { depth: Math.min(depth, patch[0]), cells, voxels: vox };
}

/**
 * The crop with its first slice at `z0` and its first cells at `[cy, cx]`,
 * with the start and extent of every stage grid. The voxel start is
 * `round(cell·H/h)`, moved back so the crop ends inside the volume.
 */
export function makeCrop(
  plan: CropPlan,
  z0: number,
  cellStart: readonly [number, number],
  feature: readonly [number, number],
  voxels: readonly [number, number],
  stages: number,
): Crop {
  const grid: [[number, number], [number, number]][] = [];
  for (let s = 0; s <= stages; s++) {
    const axes: [number, number][] = [];
    for (let a = 0; a < 2; a++) {
      if (s < stages) {
        axes.push([cellStart[a] * 2 ** s, plan.cells[a] * 2 ** s]);
      } else {
        const per = voxels[a] / feature[a];
        const start = Math.min(Math.round(cellStart[a] * per), voxels[a] - plan.voxels[a]);
        axes.push([start, plan.voxels[a]]);
      }
    }
    grid.push(axes as [[number, number], [number, number]]);
  }
  return {
    z: [z0, plan.depth],
    cells: [[cellStart[0], plan.cells[0]], [cellStart[1], plan.cells[1]]],
    grid,
  };
}

/**
 * Window starts along one axis: `n` windows of `size` over `extent`, evenly
 * spread from 0 to `extent − size`, at most `size·(1 − overlap)` apart
 * (nnU-Net's rule). One window when it covers the axis.
 *
 * @example
 * ```ts
 * import { windowStarts } from "./geometry.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(windowStarts(10, 4, 0.5), [0, 2, 4, 6]);
 * assert.deepEqual(windowStarts(4, 4, 0.5), [0]);
 * ```
 */
export function windowStarts(extent: number, size: number, overlap: number): number[] {
  if (size >= extent) return [0];
  const step = Math.max(1, Math.floor(size * (1 - overlap)));
  const n = Math.ceil((extent - size) / step) + 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.round((i * (extent - size)) / (n - 1)));
  return out;
}

/** Every sliding window of a sample, z slowest (so inference can stream along z). */
export function slidingWindows(
  plan: CropPlan,
  depth: number,
  feature: readonly [number, number],
  voxels: readonly [number, number],
  stages: number,
  overlap: number,
): Crop[] {
  const out: Crop[] = [];
  for (const z of windowStarts(depth, plan.depth, overlap)) {
    for (const cy of windowStarts(feature[0], plan.cells[0], overlap)) {
      for (const cx of windowStarts(feature[1], plan.cells[1], overlap)) {
        out.push(makeCrop(plan, z, [cy, cx], feature, voxels, stages));
      }
    }
  }
  return out;
}

/**
 * The image at every stage grid below the last: `levels[s]` is the
 * `[C, D, gh, gw]` image resampled in-plane (antialiased bilinear, as
 * images are resized for the encoder); the last stage is the image itself.
 */
export function imagePyramid(
  image: Float32Array,
  channels: number,
  shape: readonly [number, number, number],
  grids: readonly (readonly [number, number])[],
): Float32Array[] {
  const [d, h, w] = shape;
  const levels: Float32Array[] = [];
  for (let s = 0; s < grids.length - 1; s++) {
    const [gh, gw] = grids[s];
    const out = new Float32Array(channels * d * gh * gw);
    for (let p = 0; p < channels * d; p++) {
      const slice = image.subarray(p * h * w, (p + 1) * h * w);
      out.set(resizeBilinear(slice, h, w, 1, gh, gw), p * gh * gw);
    }
    levels.push(out);
  }
  levels.push(image);
  return levels;
}

let F16_TABLE: Float32Array | undefined;

/** Float32 values of every half-precision bit pattern (256 KiB, built once). */
export function f16Table(): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) F16_TABLE[i] = f16BitsToNumber(i);
  }
  return F16_TABLE;
}

/**
 * Copies the box `z: [z0, nz)`, `y: [y0, ny)`, `x: [x0, nx)` of a
 * channel-major `[C, D, H, W]` array into a new float32 `[C, nz, ny, nx]`
 * array (half-precision bit patterns are widened).
 */
export function cropBox(
  data: Float32Array | Uint16Array,
  shape: readonly [number, number, number, number],
  z: readonly [number, number],
  y: readonly [number, number],
  x: readonly [number, number],
): Float32Array {
  const [c, d, h, w] = shape;
  const out = new Float32Array(c * z[1] * y[1] * x[1]);
  const table = data instanceof Uint16Array ? f16Table() : undefined;
  let o = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let zz = z[0]; zz < z[0] + z[1]; zz++) {
      for (let yy = y[0]; yy < y[0] + y[1]; yy++) {
        const row = ((ch * d + zz) * h + yy) * w + x[0];
        if (table) {
          for (let i = 0; i < x[1]; i++) out[o++] = table[data[row + i]];
        } else {
          out.set((data as Float32Array).subarray(row, row + x[1]), o);
          o += x[1];
        }
      }
    }
  }
  return out;
}

/** A random flip per axis `[z, y, x]` and a number of in-plane quarter turns. */
export interface Augmentation {
  /** Mirror along z, y, x. */
  readonly flip: readonly [boolean, boolean, boolean];
  /** Quarter turns in the (y, x) plane, 0..3 (only on square crops). */
  readonly rot90: number;
}

/** No augmentation. */
export const IDENTITY_AUGMENTATION: Augmentation = { flip: [false, false, false], rot90: 0 };

/**
 * Draws an augmentation: each flip with probability 1/2, and a uniform
 * number of quarter turns when `square`.
 */
export function drawAugmentation(rng: () => number, square: boolean, enabled = true): Augmentation {
  if (!enabled) return IDENTITY_AUGMENTATION;
  const flip: [boolean, boolean, boolean] = [rng() < 0.5, rng() < 0.5, rng() < 0.5];
  const rot90 = square ? Math.floor(rng() * 4) : 0;
  return { flip, rot90 };
}

/**
 * Applies an augmentation to a channel-major `[C, D, H, W]` crop: flips,
 * then `rot90` counter-clockwise quarter turns in the (y, x) plane (as
 * `numpy.rot90(a, k, axes=(-2, -1))`). Rotations need `H == W`.
 *
 * @example A quarter turn of a 2×2 plane
 * ```ts
 * import { augmentBox } from "./geometry.ts";
 * import assert from "node:assert/strict";
 * const a = new Float32Array([1, 2, 3, 4]); // [[1, 2], [3, 4]]
 * const r = augmentBox(a, [1, 1, 2, 2], { flip: [false, false, false], rot90: 1 });
 * assert.deepEqual([...r], [2, 4, 1, 3]); // numpy.rot90 → [[2, 4], [1, 3]]
 * ```
 */
export function augmentBox(
  data: Float32Array,
  shape: readonly [number, number, number, number],
  aug: Augmentation,
): Float32Array {
  const [c, d, h, w] = shape;
  if (!aug.flip.some(Boolean) && aug.rot90 % 4 === 0) return data;
  if (aug.rot90 % 2 === 1 && h !== w) {
    throw new RangeError(
      `Cannot rotate a crop by 90° as it must be square in-plane: current extents are ${h}×${w}`,
    );
  }
  const out = new Float32Array(data.length);
  const k = ((aug.rot90 % 4) + 4) % 4;
  for (let ch = 0; ch < c; ch++) {
    for (let z = 0; z < d; z++) {
      const sz = aug.flip[0] ? d - 1 - z : z;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          // output (y, x) of rot90^k reads input (yi, xi) of the flipped crop
          let yi: number;
          let xi: number;
          if (k === 0) [yi, xi] = [y, x];
          else if (k === 1) [yi, xi] = [x, w - 1 - y];
          else if (k === 2) [yi, xi] = [h - 1 - y, w - 1 - x];
          else [yi, xi] = [h - 1 - x, y];
          const sy = aug.flip[1] ? h - 1 - yi : yi;
          const sx = aug.flip[2] ? w - 1 - xi : xi;
          out[((ch * d + z) * h + y) * w + x] = data[((ch * d + sz) * h + sy) * w + sx];
        }
      }
    }
  }
  return out;
}

/**
 * The Gaussian importance map of a window (nnU-Net): σ = extent/8 per
 * axis, maximum 1, and zeros replaced by the smallest positive value so
 * every voxel of a window counts.
 */
export function gaussianWindow(extent: readonly [number, number, number]): Float32Array {
  const axes = extent.map((n) => {
    const sigma = n / 8;
    const c = (n - 1) / 2;
    return Float64Array.from({ length: n }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * sigma ** 2)));
  });
  const out = new Float32Array(extent[0] * extent[1] * extent[2]);
  let min = Infinity;
  let o = 0;
  for (let z = 0; z < extent[0]; z++) {
    for (let y = 0; y < extent[1]; y++) {
      for (let x = 0; x < extent[2]; x++) {
        const v = axes[0][z] * axes[1][y] * axes[2][x];
        out[o++] = v;
        if (v > 0 && v < min) min = v;
      }
    }
  }
  for (let i = 0; i < out.length; i++) if (!(out[i] > 0)) out[i] = min;
  return out;
}

/** Learning-rate schedule settings. */
export interface LrSchedule {
  /** Peak learning rate. */
  readonly lr: number;
  /** Steps of linear warm-up from 0 (0 for none). */
  readonly warmupSteps: number;
  /** `"cosine"` annealing to `minLr`, or `"constant"`. */
  readonly schedule: "cosine" | "constant";
  /** Final learning rate of the cosine schedule. */
  readonly minLr: number;
}

/**
 * The learning rate of 1-based step `step` of `total`: linear warm-up
 * (`lr·step/warmup`), then cosine annealing from `lr` (first step after
 * the warm-up) towards `minLr` (reached one step after the last, so every
 * step updates).
 *
 * @example
 * ```ts
 * import { learningRate } from "./geometry.ts";
 * import assert from "node:assert/strict";
 * const s = { lr: 1e-4, warmupSteps: 10, schedule: "cosine" as const, minLr: 0 };
 * assert.equal(learningRate(5, 110, s), 5e-5);
 * assert.equal(learningRate(10, 110, s), 1e-4);
 * assert.equal(learningRate(11, 110, s), 1e-4);
 * assert.ok(Math.abs(learningRate(61, 110, s) - 5e-5) < 1e-12);
 * assert.ok(learningRate(110, 110, s) > 0);
 * ```
 */
export function learningRate(step: number, total: number, s: LrSchedule): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  if (s.schedule === "constant") return s.lr;
  const span = Math.max(1, total - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps - 1) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * t));
}

/** The map of an axis after mirroring both its input and its output. */
export function flipMapping(
  m: ResampleMapping,
  axis: number,
  nIn: number,
  nOut: number,
): ResampleMapping {
  const offset = [...m.offset] as [number, number, number];
  offset[axis] = nIn - 1 - (nOut - 1) * m.scale[axis] - m.offset[axis];
  return { scale: m.scale, offset };
}

/**
 * The resampling map between two crops after both were augmented alike
 * (flips, then quarter turns, as {@linkcode augmentBox} does), so that
 * resampling the augmented input gives the augmented output. Rotations
 * need square in-plane extents (as the crops they apply to).
 */
export function augmentMapping(
  m: ResampleMapping,
  inExt: readonly [number, number, number],
  outExt: readonly [number, number, number],
  aug: Augmentation,
): ResampleMapping {
  let r = m;
  for (let a = 0; a < 3; a++) if (aug.flip[a]) r = flipMapping(r, a, inExt[a], outExt[a]);
  const k = ((aug.rot90 % 4) + 4) % 4;
  if (k === 0) return r;
  // rot90: R(y, x) = A(x, w−1−y): R's y follows A's x reversed, R's x follows A's y.
  const swap = (q: ResampleMapping): ResampleMapping => ({
    scale: [q.scale[0], q.scale[2], q.scale[1]],
    offset: [q.offset[0], q.offset[2], q.offset[1]],
  });
  for (let i = 0; i < k; i++) r = flipMapping(swap(r), 1, inExt[2], outExt[2]);
  return r;
}

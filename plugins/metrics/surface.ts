// This module is browser compatible.
/**
 * Surface distance metrics of semantic segmentation, per class: Hausdorff
 * distance (HD), its percentile variant (HD95) and the average symmetric
 * surface distance (ASSD), with MONAI 1.5 semantics by default and medpy's
 * selectable.
 *
 * Definitions (identical to MONAI's `get_mask_edges` + `get_surface_distance`
 * and medpy's `__surface_distances`):
 *
 * - the **surface** of a mask is its voxels with at least one face-neighbour
 *   (2 per axis) outside the mask or outside the image, so objects touching
 *   the border have surface there and a single voxel is its own surface;
 * - **distances** are Euclidean between voxel centres, axis k scaled by
 *   `spacing[k]` (always required: no silent default of 1). For every
 *   surface voxel of one mask, the distance to the nearest surface voxel of
 *   the other, through an exact linear-time Euclidean distance transform
 *   (Felzenszwalb & Huttenlocher, see `edt.ts`) over the bounding box of both
 *   masks, never through pairwise distances. This gives two directed lists,
 *   pred→gt and gt→pred;
 * - **percentiles** are linear: sort ascending, `h = (n−1)·p/100`,
 *   interpolate between the values at ⌊h⌋ and ⌈h⌉ (numpy/torch default).
 *
 * Conventions (`convention` option):
 *
 * - `"monai"` (default): HD is the largest distance of either list; HD95 is
 *   the larger of the two directed 95th percentiles; ASSD is the mean of both
 *   lists concatenated. Empty masks are values:
 *
 *   | case            | hd       | hd95 | assd     |
 *   |-----------------|----------|------|----------|
 *   | both empty      | NaN      | NaN  | NaN      |
 *   | pred empty only | Infinity | NaN  | Infinity |
 *   | gt empty only   | Infinity | NaN  | Infinity |
 *
 *   (MONAI's distance list is then all Infinity, whose percentile
 *   interpolates ∞ − ∞.)
 * - `"medpy"` (medpy 0.5.2): HD95 is the percentile of both lists **pooled**;
 *   HD and ASSD as MONAI. NaN when either mask is empty (medpy raises).
 * - `"medpy-0.4"`: as `"medpy"`, but ASSD is the mean of the two directed
 *   means (medpy 0.4.0).
 *
 * @example HD95 of a 2D pair with anisotropic spacing
 * ```ts
 * import { computeHausdorff } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: new Uint8Array(5 * 5), shape: [5, 5] };
 * const gt = { data: new Uint8Array(5 * 5), shape: [5, 5] };
 * pred.data[1 * 5 + 1] = 1;
 * gt.data[1 * 5 + 3] = 1; // two columns to the right
 * const hd95 = computeHausdorff(pred, gt, { numClasses: 2, spacing: [1, 0.5], percentile: 95 });
 * assert.deepEqual([...hd95], [1]);
 * ```
 *
 * @module
 */

import type { MetricPlugin, TaskType } from "../../core/plugin.ts";
import type { LabelMap } from "./types.ts";
import type { SegmentationOptions } from "./overlap.ts";
import { createEdtScratch, type EdtScratch, transformSquaredInPlace } from "./edt.ts";
import {
  checkBoolean,
  checkChoice,
  checkLabelMaps,
  checkOptions,
  checkSpacing,
  type LabelMapPair,
  selectClasses,
} from "./_validate.ts";

/** Which library's definitions the surface metrics follow (see the module doc). */
export type SurfaceConvention = "monai" | "medpy" | "medpy-0.4";

/** Options of the surface distance metrics. */
export interface SurfaceDistanceOptions extends SegmentationOptions {
  /** Voxel size along each array axis, in array order (e.g. `[z, y, x]` mm). Required, > 0. */
  spacing: readonly number[];
  /**
   * Percentile in [0, 100] of the Hausdorff distance (95 for HD95); the
   * maximum when undefined. @default {undefined}
   */
  percentile?: number;
  /**
   * Only the pred→gt direction (MONAI's `directed=True` for HD, and
   * `symmetric=False` for the average surface distance). @default {false}
   */
  directed?: boolean;
  /** Whose definitions to follow. @default {"monai"} */
  convention?: SurfaceConvention;
}

/** The two directed surface distance lists of one class. */
export interface SurfaceDistances {
  /**
   * For each surface voxel of the prediction (raster order), the distance to
   * the nearest surface voxel of the target; Infinity when the target is
   * empty. Empty when the prediction is empty.
   */
  predToGt: Float64Array;
  /** The same from the target's surface voxels to the prediction's. */
  gtToPred: Float64Array;
  /** Number of surface voxels of the prediction. */
  surfacePred: number;
  /** Number of surface voxels of the target. */
  surfaceGt: number;
}

/** Every surface metric of every reported class, from one distance computation per class. */
export interface SurfaceMetrics {
  /** The class index of each entry (1..C−1, or 0..C−1 with `includeBackground`). */
  classes: Int32Array;
  /** Hausdorff distance (maximum; pred→gt only when `directed`). */
  hd: Float64Array;
  /** Hausdorff distance at `percentile` (95 unless set otherwise). */
  hdPercentile: Float64Array;
  /** The pred→gt directed percentile (MONAI's first term; NaN for an empty mask). */
  hdPercentilePredToGt: Float64Array;
  /** The gt→pred directed percentile (MONAI's second term; NaN for an empty mask). */
  hdPercentileGtToPred: Float64Array;
  /** Average (symmetric unless `directed`) surface distance. */
  assd: Float64Array;
  /** Surface voxel count of the prediction mask. */
  surfacePred: Float64Array;
  /** Surface voxel count of the target mask. */
  surfaceGt: Float64Array;
}

/** Geometry padded to 3 axes; `real[k]` says whether axis k exists in the input. */
interface Grid {
  shape: [number, number, number];
  spacing: [number, number, number];
  real: [boolean, boolean, boolean];
}

function gridOf(shape: readonly number[], spacing: readonly number[]): Grid {
  const pad = 3 - shape.length;
  const s: number[] = [];
  const sp: number[] = [];
  const real: boolean[] = [];
  for (let k = 0; k < 3; k++) {
    s.push(k < pad ? 1 : shape[k - pad]);
    sp.push(k < pad ? 1 : spacing[k - pad]);
    real.push(k >= pad);
  }
  return {
    shape: s as [number, number, number],
    spacing: sp as [number, number, number],
    real: real as [boolean, boolean, boolean],
  };
}

/** Marks the surface voxels of a cropped mask: in the mask with a face-neighbour outside. */
function surfaceIndices(
  mask: Uint8Array,
  dims: readonly number[],
  real: readonly boolean[],
): Int32Array {
  const [d, h, w] = dims;
  const plane = h * w;
  const out: number[] = [];
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      const row = z * plane + y * w;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        if (mask[i] === 0) continue;
        const surface = (real[2] && (x === 0 || x === w - 1 || !mask[i - 1] || !mask[i + 1])) ||
          (real[1] && (y === 0 || y === h - 1 || !mask[i - w] || !mask[i + w])) ||
          (real[0] && (z === 0 || z === d - 1 || !mask[i - plane] || !mask[i + plane]));
        if (surface) out.push(i);
      }
    }
  }
  return Int32Array.from(out);
}

/** Directed distances from `from` voxels to the nearest `to` voxel, reusing `dt`. */
function directedDistances(
  dt: Float64Array,
  from: Int32Array,
  to: Int32Array,
  dims: readonly number[],
  spacing: readonly number[],
  scratch: EdtScratch,
): Float64Array {
  const out = new Float64Array(from.length);
  if (to.length === 0) return out.fill(Infinity);
  if (from.length === 0) return out;
  dt.fill(Infinity);
  for (let i = 0; i < to.length; i++) dt[to[i]] = 0;
  transformSquaredInPlace(dt, dims, spacing, { scratch, queries: from, features: to });
  for (let i = 0; i < from.length; i++) out[i] = Math.sqrt(dt[from[i]]);
  return out;
}

/** Surface distances of one class of a validated pair. */
function classDistances(maps: LabelMapPair, grid: Grid, label: number): SurfaceDistances {
  const [d, h, w] = grid.shape;
  const { pred, gt } = maps;
  // Bounding box of P ∪ G: every surface voxel of either mask lies inside it,
  // so the transform restricted to it is exact.
  let z0 = d, z1 = -1, y0 = h, y1 = -1, x0 = w, x1 = -1;
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        if (pred[i] !== label && gt[i] !== label) continue;
        if (z < z0) z0 = z;
        if (z > z1) z1 = z;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
      }
    }
  }
  if (z1 < 0) {
    return {
      predToGt: new Float64Array(0),
      gtToPred: new Float64Array(0),
      surfacePred: 0,
      surfaceGt: 0,
    };
  }
  const dims = [z1 - z0 + 1, y1 - y0 + 1, x1 - x0 + 1];
  const size = dims[0] * dims[1] * dims[2];
  const mp = new Uint8Array(size);
  const mg = new Uint8Array(size);
  for (let z = z0, j = 0; z <= z1; z++) {
    for (let y = y0; y <= y1; y++) {
      const base = (z * h + y) * w;
      for (let x = x0; x <= x1; x++, j++) {
        mp[j] = pred[base + x] === label ? 1 : 0;
        mg[j] = gt[base + x] === label ? 1 : 0;
      }
    }
  }
  const sp = surfaceIndices(mp, dims, grid.real);
  const sg = surfaceIndices(mg, dims, grid.real);
  const dt = new Float64Array(size);
  const scratch = createEdtScratch(Math.max(...dims));
  return {
    predToGt: directedDistances(dt, sp, sg, dims, grid.spacing, scratch),
    gtToPred: directedDistances(dt, sg, sp, dims, grid.spacing, scratch),
    surfacePred: sp.length,
    surfaceGt: sg.length,
  };
}

/** Linear-interpolation percentile (numpy/torch default); NaN for an empty list. */
function percentileOf(values: Float64Array, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const h = (n - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo);
}

function maxOf(values: Float64Array): number {
  if (values.length === 0) return NaN;
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

function meanOf(values: Float64Array): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

interface ParsedSurfaceOptions {
  includeBackground: boolean;
  spacing: number[];
  percentile: number;
  directed: boolean;
  convention: SurfaceConvention;
  numClasses: unknown;
}

function parseSurfaceOptions(metric: string, options: unknown, ndim: number): ParsedSurfaceOptions {
  if (options === undefined) {
    throw new TypeError(
      `Cannot compute ${metric} as options { numClasses, spacing } are required: current value is undefined`,
    );
  }
  const o = checkOptions(metric, options);
  const percentile = o.percentile === undefined ? 95 : o.percentile;
  if (typeof percentile !== "number" || !(percentile >= 0 && percentile <= 100)) {
    throw new RangeError(
      `Cannot compute ${metric} as percentile must be in [0, 100]: current value is ${
        String(percentile)
      }`,
    );
  }
  return {
    includeBackground: checkBoolean(metric, "includeBackground", o.includeBackground, false),
    spacing: checkSpacing(metric, o.spacing, ndim),
    percentile,
    directed: checkBoolean(metric, "directed", o.directed, false),
    convention: checkChoice(
      metric,
      "convention",
      o.convention,
      ["monai", "medpy", "medpy-0.4"] as const,
      "monai",
    ),
    numClasses: o.numClasses,
  };
}

function ndimOf(prediction: unknown): number {
  const shape = (prediction as { shape?: unknown } | null)?.shape;
  return Array.isArray(shape) ? shape.length : 0;
}

/**
 * The two directed surface distance lists of one class, for custom
 * statistics (raw lists: no empty-mask convention applied).
 *
 * @example Two single voxels
 * ```ts
 * import { computeSurfaceDistances } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: Uint8Array.of(1, 0, 0, 0), shape: [4] };
 * const gt = { data: Uint8Array.of(0, 0, 0, 1), shape: [4] };
 * const d = computeSurfaceDistances(pred, gt, { label: 1, spacing: [0.5] });
 * assert.deepEqual([...d.predToGt], [1.5]);
 * assert.deepEqual([...d.gtToPred], [1.5]);
 * ```
 *
 * @param prediction Predicted label map (1D to 3D).
 * @param target Ground-truth label map of the same shape.
 * @param options `label` (the class whose masks are compared) and `spacing`.
 * @returns Both directed lists and the surface voxel counts.
 */
export function computeSurfaceDistances(
  prediction: LabelMap,
  target: LabelMap,
  options: { label: number; spacing: readonly number[] },
): SurfaceDistances {
  const metric = "surface distances";
  const o = checkOptions(metric, options);
  const label = o.label;
  if (typeof label !== "number" || !Number.isInteger(label) || label < 0) {
    throw new RangeError(
      `Cannot compute ${metric} as label must be an integer >= 0: current value is ${
        String(label)
      }`,
    );
  }
  const spacing = checkSpacing(metric, o.spacing, ndimOf(prediction));
  const maps = checkLabelMaps(metric, prediction, target, null);
  return classDistances(maps, gridOf(maps.shape, spacing), label);
}

/**
 * Every surface metric of every reported class, computing the distance
 * lists once per class: HD, HD at `percentile` (with MONAI's two directed
 * terms), ASSD and the surface voxel counts. `computeHausdorff` and
 * `computeAssd` return single fields of it.
 *
 * @example A cube shifted by 2 voxels along an axis of spacing 2.5
 * ```ts
 * import { computeSurfaceMetrics } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const shape = [10, 8, 8];
 * const cube = (dz: number) => {
 *   const data = new Uint8Array(10 * 8 * 8);
 *   for (let z = 2 + dz; z < 6 + dz; z++) {
 *     for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) data[(z * 8 + y) * 8 + x] = 1;
 *   }
 *   return { data, shape };
 * };
 * const m = computeSurfaceMetrics(cube(2), cube(0), { numClasses: 2, spacing: [2.5, 1, 1] });
 * assert.equal(m.hd[0], 5);
 * assert.equal(m.surfacePred[0], 56);
 * ```
 *
 * @param prediction Predicted label map (1D to 3D).
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` and `spacing` (required), `includeBackground`,
 *   `percentile` (default 95 here), `directed`, `convention`.
 * @returns Per-class arrays, one entry per reported class.
 */
export function computeSurfaceMetrics(
  prediction: LabelMap,
  target: LabelMap,
  options: SurfaceDistanceOptions,
): SurfaceMetrics {
  return surfaceMetrics("surface metrics", prediction, target, options);
}

function surfaceMetrics(
  metric: string,
  prediction: unknown,
  target: unknown,
  options: unknown,
  withPercentile = true,
): SurfaceMetrics {
  const o = parseSurfaceOptions(metric, options, ndimOf(prediction));
  const maps = checkLabelMaps(metric, prediction, target, o.numClasses);
  const grid = gridOf(maps.shape, o.spacing);
  const classes = selectClasses(maps.numClasses, o.includeBackground);
  const m = classes.length;
  const out: SurfaceMetrics = {
    classes: Int32Array.from(classes),
    hd: new Float64Array(m),
    hdPercentile: new Float64Array(m),
    hdPercentilePredToGt: new Float64Array(m),
    hdPercentileGtToPred: new Float64Array(m),
    assd: new Float64Array(m),
    surfacePred: new Float64Array(m),
    surfaceGt: new Float64Array(m),
  };
  classes.forEach((label, i) => {
    const d = classDistances(maps, grid, label);
    out.surfacePred[i] = d.surfacePred;
    out.surfaceGt[i] = d.surfaceGt;
    const p = o.percentile;
    const predEmpty = d.surfacePred === 0;
    const gtEmpty = d.surfaceGt === 0;
    if (predEmpty || gtEmpty) {
      // Both empty: NaN everywhere. One empty: MONAI's all-Infinity lists
      // (max Infinity, percentile NaN, mean Infinity); medpy raises (NaN).
      const one = !(predEmpty && gtEmpty) && o.convention === "monai";
      out.hd[i] = one ? Infinity : NaN;
      out.assd[i] = one ? Infinity : NaN;
      out.hdPercentile[i] = NaN;
      out.hdPercentilePredToGt[i] = NaN;
      out.hdPercentileGtToPred[i] = NaN;
      return;
    }
    const forward = withPercentile ? percentileOf(d.predToGt, p) : NaN;
    const backward = withPercentile ? percentileOf(d.gtToPred, p) : NaN;
    out.hdPercentilePredToGt[i] = forward;
    out.hdPercentileGtToPred[i] = backward;
    if (o.directed) {
      out.hd[i] = maxOf(d.predToGt);
      out.hdPercentile[i] = forward;
      out.assd[i] = meanOf(d.predToGt);
      return;
    }
    const pooled = concat(d.predToGt, d.gtToPred);
    out.hd[i] = maxOf(pooled);
    out.hdPercentile[i] = !withPercentile
      ? NaN
      : o.convention === "monai"
      ? Math.max(forward, backward)
      : percentileOf(pooled, p);
    out.assd[i] = o.convention === "medpy-0.4"
      ? (meanOf(d.predToGt) + meanOf(d.gtToPred)) / 2
      : meanOf(pooled);
  });
  return out;
}

/**
 * Hausdorff distance per class: the maximum surface distance, or with
 * `percentile` (95 for HD95) MONAI's larger directed percentile (medpy's
 * pooled percentile with `convention: "medpy"`). See the module table for
 * empty masks.
 *
 * @example HD and HD95 of two squares
 * ```ts
 * import { computeHausdorff } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const square = (x0: number) => {
 *   const data = new Uint8Array(8 * 8);
 *   for (let y = 2; y < 5; y++) for (let x = x0; x < x0 + 3; x++) data[y * 8 + x] = 1;
 *   return { data, shape: [8, 8] };
 * };
 * const options = { numClasses: 2, spacing: [1, 1] };
 * assert.deepEqual([...computeHausdorff(square(3), square(1), options)], [2]);
 * assert.ok(Number.isNaN(computeHausdorff(square(1), { data: new Uint8Array(64), shape: [8, 8] }, {
 *   ...options,
 *   percentile: 95,
 * })[0]));
 * ```
 *
 * @param prediction Predicted label map (1D to 3D).
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` and `spacing` (required), `includeBackground`,
 *   `percentile`, `directed`, `convention`.
 * @returns One distance per reported class, in the units of `spacing`.
 */
export function computeHausdorff(
  prediction: LabelMap,
  target: LabelMap,
  options: SurfaceDistanceOptions,
): Float64Array {
  return hausdorff("hd", prediction, target, options);
}

function hausdorff(
  metric: string,
  prediction: unknown,
  target: unknown,
  options: unknown,
): Float64Array {
  const percentile = (options as { percentile?: unknown } | undefined)?.percentile;
  const m = surfaceMetrics(metric, prediction, target, options, percentile !== undefined);
  return percentile === undefined ? m.hd : m.hdPercentile;
}

/**
 * Average symmetric surface distance per class: the mean of both directed
 * lists concatenated (MONAI `compute_average_surface_distance(symmetric=True)`,
 * medpy 0.5 `assd`); the mean of the two directed means with
 * `convention: "medpy-0.4"`; the pred→gt mean with `directed`.
 *
 * @example
 * ```ts
 * import { computeAssd } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const pred = { data: Uint8Array.of(1, 1, 0, 0, 0), shape: [5] };
 * const gt = { data: Uint8Array.of(1, 0, 0, 0, 0), shape: [5] };
 * // surfaces {0, 1} and {0}: distances [0, 1] and [0]
 * assert.deepEqual([...computeAssd(pred, gt, { numClasses: 2, spacing: [3] })], [1]);
 * ```
 *
 * @param prediction Predicted label map (1D to 3D).
 * @param target Ground-truth label map of the same shape.
 * @param options `numClasses` and `spacing` (required), `includeBackground`,
 *   `directed`, `convention`.
 * @returns One distance per reported class, in the units of `spacing`.
 */
export function computeAssd(
  prediction: LabelMap,
  target: LabelMap,
  options: SurfaceDistanceOptions,
): Float64Array {
  return surfaceMetrics("assd", prediction, target, options, false).assd;
}

// ------------------------------------------------------------------ plugins --

const SEGMENTATION_TASKS: readonly TaskType[] = ["segmentation"];

/**
 * `"hd"`: Hausdorff distance per class ({@linkcode computeHausdorff});
 * options `{ numClasses, spacing, includeBackground, percentile, directed, convention }`.
 */
export const hausdorffMetric: MetricPlugin = {
  kind: "metric",
  name: "hd",
  description: "Hausdorff distance per class, spacing-aware (MONAI)",
  higherIsBetter: false,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    return hausdorff("hd", prediction, target, options);
  },
};

/**
 * `"hd95"`: 95th-percentile Hausdorff distance per class (MONAI: the larger
 * directed percentile; `convention: "medpy"` pools both directions).
 *
 * @example
 * ```ts
 * import { hausdorff95Metric } from "./surface.ts";
 * import assert from "node:assert/strict";
 *
 * const a = { data: Uint8Array.of(1, 0, 0, 0), shape: [4] };
 * const b = { data: Uint8Array.of(0, 0, 1, 0), shape: [4] };
 * assert.deepEqual([...hausdorff95Metric.compute(a, b, { numClasses: 2, spacing: [2] })], [4]);
 * assert.throws(() => hausdorff95Metric.compute(a, b, { numClasses: 2 }), TypeError);
 * ```
 */
export const hausdorff95Metric: MetricPlugin = {
  kind: "metric",
  name: "hd95",
  description: "95th-percentile Hausdorff distance per class, spacing-aware (MONAI)",
  higherIsBetter: false,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    const o = checkOptions("hd95", options);
    if (o.percentile !== undefined && o.percentile !== 95) {
      throw new RangeError(
        `Cannot compute hd95 as percentile is fixed at 95: current value is ${
          String(o.percentile)
        }`,
      );
    }
    return hausdorff(
      "hd95",
      prediction,
      target,
      options === undefined ? undefined : { ...o, percentile: 95 },
    );
  },
};

/** `"assd"`: average symmetric surface distance per class ({@linkcode computeAssd}). */
export const assdMetric: MetricPlugin = {
  kind: "metric",
  name: "assd",
  description: "Average symmetric surface distance per class, spacing-aware (MONAI)",
  higherIsBetter: false,
  tasks: SEGMENTATION_TASKS,
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
    return surfaceMetrics("assd", prediction, target, options, false).assd;
  },
};

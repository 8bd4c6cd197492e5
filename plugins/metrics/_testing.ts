/**
 * Test helpers of the metric family: seeded data generators, analytic
 * shapes, and brute-force "slow twins" written independently of the
 * implementations (pairwise loops, no shared code) that serve as oracles.
 * Not published.
 *
 * @module
 */

import { createMulberry32 } from "../../core/random.ts";

/** A seeded uniform generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  return createMulberry32(seed);
}

/** Asserts `|actual - expected| <= abs + rel·|expected|` elementwise, with a useful message. */
export function assertClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  tol: { abs?: number; rel?: number } = {},
  what = "value",
): void {
  const abs = tol.abs ?? 1e-12;
  const rel = tol.rel ?? 1e-12;
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" ? [expected] : Array.from(expected);
  if (a.length !== e.length) {
    throw new Error(`${what}: expected ${e.length} values, got ${a.length}`);
  }
  for (let i = 0; i < a.length; i++) {
    const ok = Number.isNaN(e[i])
      ? Number.isNaN(a[i])
      : !Number.isFinite(e[i])
      ? a[i] === e[i]
      : Math.abs(a[i] - e[i]) <= abs + rel * Math.abs(e[i]);
    if (!ok) {
      throw new Error(`${what}[${i}]: expected ${e[i]}, got ${a[i]} (all: ${a.slice(0, 8)})`);
    }
  }
}

/** ROC AUC by counting every (positive, negative) pair: O(n²). NaN with one class. */
export function bruteAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let credit = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) credit += 1;
      else if (scores[i] === scores[j]) credit += 0.5;
    }
  }
  return pairs === 0 ? NaN : credit / pairs;
}

/** Row-major coordinates of a flat index. */
function coords(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = index % shape[k];
    index = Math.floor(index / shape[k]);
  }
  return out;
}

/** Surface voxels by definition: in the mask, and a face-neighbour outside the mask or image. */
export function bruteSurface(mask: ArrayLike<number>, shape: readonly number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const c = coords(i, shape);
    let surface = false;
    for (let k = 0; k < shape.length && !surface; k++) {
      for (const step of [-1, 1]) {
        const ck = c[k] + step;
        if (ck < 0 || ck >= shape[k] || !mask[i + step * strides[k]]) surface = true;
      }
    }
    if (surface) out.push(i);
  }
  return out;
}

/** Squared distance between two flat indices with spacing. */
function squaredDistance(
  a: number,
  b: number,
  shape: readonly number[],
  spacing: readonly number[],
): number {
  const ca = coords(a, shape);
  const cb = coords(b, shape);
  let s = 0;
  for (let k = 0; k < shape.length; k++) s += ((ca[k] - cb[k]) * spacing[k]) ** 2;
  return s;
}

/** Squared EDT by scanning every feature for every voxel. */
export function bruteSquaredEdt(
  features: ArrayLike<number>,
  shape: readonly number[],
  spacing: readonly number[],
): Float64Array {
  const list: number[] = [];
  for (let i = 0; i < features.length; i++) if (features[i]) list.push(i);
  const out = new Float64Array(features.length).fill(Infinity);
  for (let i = 0; i < features.length; i++) {
    for (const f of list) out[i] = Math.min(out[i], squaredDistance(i, f, shape, spacing));
  }
  return out;
}

/** The two directed surface distance lists by pairwise search (raster order). */
export function bruteSurfaceDistances(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  shape: readonly number[],
  spacing: readonly number[],
): { predToGt: number[]; gtToPred: number[]; surfacePred: number; surfaceGt: number } {
  const sp = bruteSurface(pred, shape);
  const sg = bruteSurface(gt, shape);
  const directed = (from: number[], to: number[]) =>
    from.map((a) => Math.sqrt(Math.min(...to.map((b) => squaredDistance(a, b, shape, spacing)))));
  return {
    predToGt: directed(sp, sg),
    gtToPred: directed(sg, sp),
    surfacePred: sp.length,
    surfaceGt: sg.length,
  };
}

/** numpy's default (linear) percentile, written with Array.sort. */
export function linearPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p / 100;
  const lo = Math.floor(h);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (h - lo);
}

/** A box mask `[lo, hi)` per axis. */
export function makeBox(
  shape: readonly number[],
  lo: readonly number[],
  hi: readonly number[],
): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = coords(i, shape);
    out[i] = c.every((x, k) => x >= lo[k] && x < hi[k]) ? 1 : 0;
  }
  return out;
}

/** A ball (ellipsoid in voxels) of physical radius `radius` around `center` (voxels). */
export function makeBall(
  shape: readonly number[],
  center: readonly number[],
  radius: number,
  spacing: readonly number[],
): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = coords(i, shape);
    let s = 0;
    for (let k = 0; k < shape.length; k++) s += ((c[k] - center[k]) * spacing[k]) ** 2;
    out[i] = s <= radius * radius ? 1 : 0;
  }
  return out;
}

// This module is browser compatible.
/**
 * Watershed on a nearest-neighbour affinity graph (the algorithm of
 * Zlateski & Seung that waterz and zwatershed run first): every voxel
 * points along its steepest incident edges (the edges whose affinity
 * equals its largest one, plus every edge at or above `high`); plateaus
 * are divided by breadth-first search from their exits; each voxel then
 * follows its edges to a regional maximum, and every maximum (a seed) with
 * the voxels that flow to it becomes a fragment. Voxels whose largest
 * affinity is at or below `low` are background (id 0).
 *
 * On affinities computed from labels (1 inside objects, 0 across
 * boundaries) the fragments are exactly the 6-connected objects.
 *
 * Memory: the affinities plus 8 bytes per voxel (ids and a queue).
 *
 * @module
 */

/** Options of {@linkcode watershed}. */
export interface WatershedOptions {
  /** Affinities at or below it never connect voxels (waterz `aff_threshold_low`). @default {0.0001} */
  low?: number;
  /** Affinities at or above it always connect voxels (waterz `aff_threshold_high`). @default {0.9999} */
  high?: number;
}

/** Fragments of a watershed. */
export interface Fragments {
  /** Fragment ids `[z, y, x]`, 0 = background, 1..count. */
  readonly data: Uint32Array;
  /** `[z, y, x]`. */
  readonly shape: readonly [number, number, number];
  /** Number of fragments. */
  readonly count: number;
  /** Voxels per fragment id (`sizes[0]`: background voxels). */
  readonly sizes: Float64Array;
}

const HIGH_BIT = 0x80000000;
const VISITED = 0x40;

/**
 * Checks affinities against a volume shape.
 *
 * @param affs The affinities, `[3, z, y, x]`.
 * @param shape `[z, y, x]`.
 * @returns The shape as a triple.
 */
export function checkAffinities(
  affs: Float32Array,
  shape: readonly number[],
): [number, number, number] {
  if (shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new TypeError(
      `Cannot use the affinities as the volume shape must be [z, y, x] with positive integers: current value is [${
        shape.join(", ")
      }]`,
    );
  }
  const n = shape[0] * shape[1] * shape[2];
  if (affs.length !== 3 * n) {
    throw new TypeError(
      `Cannot use the affinities as they must hold 3 × ${shape.join(" × ")} = ${
        3 * n
      } values: current length is ${affs.length}`,
    );
  }
  return [shape[0], shape[1], shape[2]];
}

/**
 * Watershed fragments of an affinity graph (see the module doc).
 *
 * @example Two touching objects separated by zero affinities
 * ```ts
 * import { affinitiesFromLabels } from "./affinities.ts";
 * import { watershed } from "./watershed.ts";
 * import assert from "node:assert/strict";
 *
 * const labels = Uint32Array.of(5, 5, 5, 9, 9, 9);
 * const f = watershed(affinitiesFromLabels(labels, [1, 1, 6]), [1, 1, 6]);
 * assert.deepEqual([...f.data], [1, 1, 1, 2, 2, 2]);
 * ```
 *
 * @param affs Affinities `[3, z, y, x]` in [0, 1] (channel c: edge to the predecessor along z, y, x).
 * @param shape `[z, y, x]`.
 * @param options Thresholds.
 * @returns The fragments.
 */
export function watershed(
  affs: Float32Array,
  shape: readonly number[],
  options: WatershedOptions = {},
): Fragments {
  const [d, h, w] = checkAffinities(affs, shape);
  const low = options.low ?? 0.0001;
  const high = options.high ?? 0.9999;
  if (!(low >= 0 && high <= 1 && low < high)) {
    throw new RangeError(
      `Cannot run the watershed as 0 ≤ low < high ≤ 1 must hold: current values are low ${low}, high ${high}`,
    );
  }
  const n = d * h * w;
  const plane = h * w;
  const az = affs.subarray(0, n), ay = affs.subarray(n, 2 * n), ax = affs.subarray(2 * n, 3 * n);
  const seg = new Uint32Array(n);
  // steepest-ascent edges: bits 0x01 −z, 0x02 −y, 0x04 −x, 0x08 +z, 0x10 +y, 0x20 +x
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      const row = z * plane + y * w;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        const negz = z > 0 ? az[i] : low;
        const negy = y > 0 ? ay[i] : low;
        const negx = x > 0 ? ax[i] : low;
        const posz = z < d - 1 ? az[i + plane] : low;
        const posy = y < h - 1 ? ay[i + w] : low;
        const posx = x < w - 1 ? ax[i + 1] : low;
        const m = Math.max(negz, negy, negx, posz, posy, posx);
        let id = 0;
        if (m > low) {
          if (negz === m || negz >= high) id |= 0x01;
          if (negy === m || negy >= high) id |= 0x02;
          if (negx === m || negx >= high) id |= 0x04;
          if (posz === m || posz >= high) id |= 0x08;
          if (posy === m || posy >= high) id |= 0x10;
          if (posx === m || posx >= high) id |= 0x20;
        }
        seg[i] = id;
      }
    }
  }
  const dir = [-plane, -w, -1, plane, w, 1];
  const dirmask = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20];
  const idirmask = [0x08, 0x10, 0x20, 0x01, 0x02, 0x04];
  const bfs = new Int32Array(n);
  let bfsLength = 0;
  // plateau corners: a voxel with an edge its neighbour does not point back along
  for (let i = 0; i < n; i++) {
    const s = seg[i];
    if (s === 0) continue;
    for (let k = 0; k < 6; k++) {
      if ((s & dirmask[k]) !== 0 && (seg[i + dir[k]] & idirmask[k]) === 0) {
        seg[i] |= VISITED;
        bfs[bfsLength++] = i;
        break;
      }
    }
  }
  // divide the plateaus: each plateau voxel keeps one edge towards an exit
  for (let head = 0; head < bfsLength; head++) {
    const i = bfs[head];
    let toSet = 0;
    const s = seg[i];
    for (let k = 0; k < 6; k++) {
      if ((s & dirmask[k]) === 0) continue;
      const j = i + dir[k];
      if ((seg[j] & idirmask[k]) !== 0) {
        if ((seg[j] & VISITED) === 0) {
          bfs[bfsLength++] = j;
          seg[j] |= VISITED;
        }
      } else {
        toSet = dirmask[k];
      }
    }
    seg[i] = toSet;
  }
  // follow the edges to the basins
  const sizes: number[] = [0];
  let nextId = 1;
  for (let i = 0; i < n; i++) {
    if (seg[i] === 0) {
      seg[i] = HIGH_BIT; // background, id 0
      sizes[0]++;
    }
    if ((seg[i] & HIGH_BIT) !== 0 || seg[i] === 0) continue;
    bfsLength = 0;
    bfs[bfsLength++] = i;
    seg[i] |= VISITED;
    let found = -1;
    for (let head = 0; head < bfsLength && found < 0; head++) {
      const me = bfs[head];
      const s = seg[me];
      for (let k = 0; k < 6; k++) {
        if ((s & dirmask[k]) === 0) continue;
        const him = me + dir[k];
        const t = seg[him];
        if ((t & HIGH_BIT) !== 0) {
          found = t;
          break;
        }
        if ((t & VISITED) === 0) {
          seg[him] = t | VISITED;
          bfs[bfsLength++] = him;
        }
      }
    }
    if (found >= 0) {
      sizes[found & 0x7fffffff] += bfsLength;
      for (let k = 0; k < bfsLength; k++) seg[bfs[k]] = found;
    } else {
      if (nextId >= HIGH_BIT - 1) {
        throw new RangeError("Cannot run the watershed as it must make fewer than 2^31 fragments");
      }
      sizes.push(bfsLength);
      const label = (HIGH_BIT | nextId) >>> 0;
      for (let k = 0; k < bfsLength; k++) seg[bfs[k]] = label;
      nextId++;
    }
  }
  for (let i = 0; i < n; i++) seg[i] &= 0x7fffffff;
  return { data: seg, shape: [d, h, w], count: nextId - 1, sizes: Float64Array.from(sizes) };
}

// This module is browser compatible.
/**
 * Hierarchical agglomeration of watershed fragments on their region
 * adjacency graph, as waterz does it: every pair of touching fragments is
 * an edge carrying the affinities of the voxel faces between them; an
 * edge's score is `1 − merge function(affinities)`; edges are merged
 * cheapest first (a binary heap; union-find on the regions) while the
 * score is below the threshold, and after each threshold of an ascending
 * sweep the current segmentation is reported.
 *
 * Merge functions (waterz's scoring functions):
 *
 * - `"mean"`: `OneMinus<MeanAffinity>`, the mean affinity of the faces;
 * - `"quantile-Q"` (e.g. `quantile-50`, `quantile-75`, `quantile-85`):
 *   `OneMinus<HistogramQuantileAffinity<Q, 256 bins>>`: affinities are
 *   discretised into 256 bins (`min(⌊a·256⌋, 255)`), the quantile is the
 *   bin holding the `(⌊Q·n/100⌋ + 1)`-th smallest value, its centre
 *   `(bin + 0.5)/256` is the affinity. `initWithMax` (waterz's
 *   `InitWithMax`, lsd's `*_initmax`) starts every edge from its largest
 *   face affinity only.
 *
 * When regions `a` and `b` merge, the edges of `b` move to `a`; an edge to
 * a neighbour both share is merged into `a`'s (statistics added, score
 * recomputed). Background (fragment 0) has no edges and is never merged.
 *
 * @module
 */

import { checkAffinities, type Fragments } from "./watershed.ts";

/** A merge function: how an edge's face affinities become its affinity. */
export type MergeFunction =
  | { readonly kind: "mean" }
  | {
    readonly kind: "quantile";
    /** Quantile in percent, 0–100. */
    readonly quantile: number;
    /** Histogram bins. @default {256} */
    readonly bins?: number;
    /** Start each edge from its largest face affinity only. @default {false} */
    readonly initWithMax?: boolean;
  };

/**
 * Parses a merge function name: `"mean"`, `"quantile-Q"` or
 * `"quantile-Q-initmax"` (also waterz-style `"hist_quant_Q"`).
 *
 * @example
 * ```ts
 * import { parseMergeFunction } from "./agglomerate.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseMergeFunction("quantile-75"), { kind: "quantile", quantile: 75, bins: 256, initWithMax: false });
 * ```
 *
 * @param name The name.
 * @returns The merge function.
 */
export function parseMergeFunction(name: string): MergeFunction {
  if (name === "mean") return { kind: "mean" };
  const m = /^(?:quantile-|hist_quant_)(\d{1,3})(-initmax|_initmax)?$/.exec(name);
  if (m && Number(m[1]) <= 100) {
    return { kind: "quantile", quantile: Number(m[1]), bins: 256, initWithMax: m[2] !== undefined };
  }
  throw new TypeError(
    `Cannot use merge function "${name}" as it must be "mean", "quantile-Q" or "quantile-Q-initmax" with Q in 0..100`,
  );
}

/** The name {@linkcode parseMergeFunction} reads back. */
export function mergeFunctionName(f: MergeFunction): string {
  return f.kind === "mean" ? "mean" : `quantile-${f.quantile}${f.initWithMax ? "-initmax" : ""}`;
}

/** Options of {@linkcode agglomerate}. */
export interface AgglomerateOptions {
  /** The merge function. @default {{ kind: "mean" }} */
  mergeFunction?: MergeFunction | string;
}

/** The segmentation at one threshold. */
export interface AgglomerationLevel {
  /** The threshold: every edge with score `1 − affinity` below it was merged. */
  readonly threshold: number;
  /** Segment id of each fragment id (`map[0] = 0`); ids are surviving fragment ids. */
  readonly map: Uint32Array;
  /** Number of segments (background excluded). */
  readonly segments: number;
  /** Merges done since the previous threshold. */
  readonly merges: number;
}

/** Open-addressing hash from a region pair to an edge id, with deletion. */
class PairTable {
  #keys: Float64Array;
  #values: Int32Array;
  #used = 0;
  #mask: number;
  readonly #stride: number;
  constructor(stride: number, capacity = 1024) {
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.#keys = new Float64Array(size).fill(-1);
    this.#values = new Int32Array(size);
    this.#mask = size - 1;
    this.#stride = stride;
  }
  #slot(key: number, u: number, v: number): number {
    let s = (Math.imul(u, 0x9e3779b1) ^ Math.imul(v, 0x85ebca77)) & this.#mask;
    for (;;) {
      const k = this.#keys[s];
      if (k === key || k === -1) return s;
      s = (s + 1) & this.#mask;
    }
  }
  get(u: number, v: number): number {
    if (u > v) [u, v] = [v, u];
    const key = u * this.#stride + v;
    const s = this.#slot(key, u, v);
    return this.#keys[s] === key ? this.#values[s] : -1;
  }
  set(u: number, v: number, value: number): void {
    if (u > v) [u, v] = [v, u];
    const key = u * this.#stride + v;
    const s = this.#slot(key, u, v);
    if (this.#keys[s] === key) {
      this.#values[s] = value;
      return;
    }
    this.#keys[s] = key;
    this.#values[s] = value;
    if (++this.#used * 2 > this.#keys.length) this.#grow();
  }
  delete(u: number, v: number): void {
    if (u > v) [u, v] = [v, u];
    const key = u * this.#stride + v;
    const s = this.#slot(key, u, v);
    if (this.#keys[s] === key) this.#keys[s] = -2; // tombstone
  }
  #grow(): void {
    const keys = this.#keys, values = this.#values;
    const size = keys.length * 2;
    this.#keys = new Float64Array(size).fill(-1);
    this.#values = new Int32Array(size);
    this.#mask = size - 1;
    this.#used = 0;
    for (let s = 0; s < keys.length; s++) {
      const key = keys[s];
      if (key < 0) continue;
      const u = Math.floor(key / this.#stride), v = key - u * this.#stride;
      const t = this.#slot(key, u, v);
      this.#keys[t] = key;
      this.#values[t] = values[s];
      this.#used++;
    }
  }
}

/** A growable min-heap of (score, edge) pairs. */
class EdgeHeap {
  scores = new Float64Array(1024);
  edges = new Int32Array(1024);
  size = 0;
  push(score: number, edge: number): void {
    if (this.size === this.scores.length) {
      const s = new Float64Array(this.size * 2), e = new Int32Array(this.size * 2);
      s.set(this.scores);
      e.set(this.edges);
      this.scores = s;
      this.edges = e;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.scores[p] < score || (this.scores[p] === score && this.edges[p] <= edge)) break;
      this.scores[i] = this.scores[p];
      this.edges[i] = this.edges[p];
      i = p;
    }
    this.scores[i] = score;
    this.edges[i] = edge;
  }
  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const score = this.scores[n], edge = this.edges[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (
        c + 1 < n &&
        (this.scores[c + 1] < this.scores[c] ||
          (this.scores[c + 1] === this.scores[c] && this.edges[c + 1] < this.edges[c]))
      ) c++;
      if (score < this.scores[c] || (score === this.scores[c] && edge <= this.edges[c])) break;
      this.scores[i] = this.scores[c];
      this.edges[i] = this.edges[c];
      i = c;
    }
    this.scores[i] = score;
    this.edges[i] = edge;
  }
}

/** Samples kept inline per edge before it gets a histogram row. */
const INLINE = 32;

/**
 * The discretised face affinities of every edge, for the quantile merge
 * functions: up to {@linkcode INLINE} samples inline (1 byte each for 256
 * bins), then a histogram row of `bins` counts; rows of merged-away edges are
 * recycled, so memory follows the edges alive, not a histogram per edge.
 */
class QuantileStore {
  readonly bins: number;
  readonly n: Int32Array;
  readonly inline: Uint8Array | Uint16Array | Uint32Array;
  readonly row: Int32Array;
  rows: Uint32Array;
  rowCount = 0;
  readonly free: number[] = [];
  readonly #scratch = new Uint32Array(INLINE);

  constructor(edgeCount: number, bins: number, bigEdges: number) {
    this.bins = bins;
    this.n = new Int32Array(edgeCount);
    this.inline = bins <= 256
      ? new Uint8Array(edgeCount * INLINE)
      : bins <= 65536
      ? new Uint16Array(edgeCount * INLINE)
      : new Uint32Array(edgeCount * INLINE);
    this.row = new Int32Array(edgeCount).fill(-1);
    this.rows = new Uint32Array(Math.max(16, bigEdges) * bins);
  }

  #allocRow(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if ((this.rowCount + 1) * this.bins > this.rows.length) {
      const grown = new Uint32Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    return this.rowCount++;
  }

  #promote(e: number): void {
    const r = this.#allocRow(), b = this.bins;
    for (let i = 0; i < this.n[e]; i++) this.rows[r * b + this.inline[e * INLINE + i]]++;
    this.row[e] = r;
  }

  /** Adds one discretised sample to edge `e`. */
  add(e: number, bin: number): void {
    if (this.row[e] < 0) {
      if (this.n[e] < INLINE) {
        this.inline[e * INLINE + this.n[e]++] = bin;
        return;
      }
      this.#promote(e);
    }
    this.rows[this.row[e] * this.bins + bin]++;
    this.n[e]++;
  }

  /** Moves every sample of `from` into `to`. */
  mergeInto(from: number, to: number): void {
    const b = this.bins;
    const rf = this.row[from], rt = this.row[to];
    if (rf < 0) {
      for (let i = 0; i < this.n[from]; i++) this.add(to, this.inline[from * INLINE + i]);
    } else if (rt < 0) {
      for (let i = 0; i < this.n[to]; i++) this.rows[rf * b + this.inline[to * INLINE + i]]++;
      this.row[to] = rf;
      this.n[to] += this.n[from];
    } else {
      for (let i = 0; i < b; i++) this.rows[rt * b + i] += this.rows[rf * b + i];
      this.rows.fill(0, rf * b, (rf + 1) * b);
      this.free.push(rf);
      this.n[to] += this.n[from];
    }
    this.row[from] = -1;
    this.n[from] = 0;
  }

  /** The bin of the `(⌊q·n/100⌋ + 1)`-th smallest sample (waterz's pivot), clamped to the last. */
  quantileBin(e: number, q: number): number {
    const n = this.n[e];
    const pivot = Math.floor(q * n / 100) + 1;
    if (this.row[e] < 0) {
      const t = this.#scratch.subarray(0, n);
      t.set(this.inline.subarray(e * INLINE, e * INLINE + n));
      t.sort();
      return t[Math.min(pivot, n) - 1];
    }
    const base = this.row[e] * this.bins;
    let acc = 0, bin = 0;
    for (; bin < this.bins; bin++) {
      acc += this.rows[base + bin];
      if (acc >= pivot) break;
    }
    return Math.min(bin, this.bins - 1);
  }
}

/** A region adjacency graph with the statistics of a merge function. */
interface RegionGraph {
  edgeU: Int32Array;
  edgeV: Int32Array;
  edgeCount: number;
  sum: Float64Array;
  count: Float64Array;
  max: Float32Array;
  samples: QuantileStore | undefined;
  table: PairTable;
}

function discretize(value: number, bins: number): number {
  if (!(value < 1)) return bins - 1;
  if (value <= 0) return 0;
  return Math.min(Math.floor(value * bins), bins - 1);
}

function buildRegionGraph(
  affs: Float32Array,
  fragments: Fragments,
  fn: MergeFunction,
): RegionGraph {
  const [d, h, w] = fragments.shape;
  const n = d * h * w;
  const plane = h * w;
  const seg = fragments.data;
  const stride = fragments.count + 1;
  const table = new PairTable(stride, fragments.count * 4);
  let edgeU = new Int32Array(1024), edgeV = new Int32Array(1024);
  let sum = new Float64Array(1024), count = new Float64Array(1024);
  let max = new Float32Array(1024);
  let edgeCount = 0;
  const offsets = [plane, w, 1];
  // pass 1: edges and mean / max statistics
  for (let c = 0; c < 3; c++) {
    const off = offsets[c];
    const a = affs.subarray(c * n, (c + 1) * n);
    let lastU = -1, lastV = -1, lastE = -1;
    for (let z = c === 0 ? 1 : 0; z < d; z++) {
      for (let y = c === 1 ? 1 : 0; y < h; y++) {
        const row = z * plane + y * w;
        for (let x = c === 2 ? 1 : 0; x < w; x++) {
          const i = row + x;
          const id1 = seg[i];
          const id2 = seg[i - off];
          if (id1 === id2 || id1 === 0 || id2 === 0) continue;
          const u = id1 < id2 ? id1 : id2, v = id1 < id2 ? id2 : id1;
          let e: number;
          if (u === lastU && v === lastV) {
            e = lastE;
          } else {
            e = table.get(u, v);
            if (e < 0) {
              e = edgeCount++;
              if (e === edgeU.length) {
                const grow = <T extends Int32Array | Float64Array | Float32Array>(
                  old: T,
                  make: (k: number) => T,
                ): T => {
                  const next = make(old.length * 2);
                  next.set(old);
                  return next;
                };
                edgeU = grow(edgeU, (k) => new Int32Array(k));
                edgeV = grow(edgeV, (k) => new Int32Array(k));
                sum = grow(sum, (k) => new Float64Array(k));
                count = grow(count, (k) => new Float64Array(k));
                max = grow(max, (k) => new Float32Array(k));
              }
              edgeU[e] = u;
              edgeV[e] = v;
              max[e] = -Infinity;
              table.set(u, v, e);
            }
            lastU = u;
            lastV = v;
            lastE = e;
          }
          const value = a[i];
          sum[e] += value;
          count[e]++;
          if (value > max[e]) max[e] = value;
        }
      }
    }
  }
  let samples: QuantileStore | undefined;
  if (fn.kind === "quantile") {
    const bins = fn.bins ?? 256;
    let big = 0;
    if (!fn.initWithMax) { for (let e = 0; e < edgeCount; e++) if (count[e] > INLINE) big++; }
    samples = new QuantileStore(edgeCount, bins, big);
    if (fn.initWithMax) {
      for (let e = 0; e < edgeCount; e++) samples.add(e, discretize(max[e], bins));
    } else {
      // pass 2: histograms of the face affinities
      for (let c = 0; c < 3; c++) {
        const off = offsets[c];
        const a = affs.subarray(c * n, (c + 1) * n);
        let lastU = -1, lastV = -1, lastE = -1;
        for (let z = c === 0 ? 1 : 0; z < d; z++) {
          for (let y = c === 1 ? 1 : 0; y < h; y++) {
            const row = z * plane + y * w;
            for (let x = c === 2 ? 1 : 0; x < w; x++) {
              const i = row + x;
              const id1 = seg[i];
              const id2 = seg[i - off];
              if (id1 === id2 || id1 === 0 || id2 === 0) continue;
              const u = id1 < id2 ? id1 : id2, v = id1 < id2 ? id2 : id1;
              if (u !== lastU || v !== lastV) {
                lastE = table.get(u, v);
                lastU = u;
                lastV = v;
              }
              samples.add(lastE, discretize(a[i], bins));
            }
          }
        }
      }
    }
  }
  return { edgeU, edgeV, edgeCount, sum, count, max, samples, table };
}

/**
 * Agglomerates watershed fragments, yielding one level per threshold of
 * the ascending sweep (see the module doc). Thresholds are scores: an
 * edge merges when `1 − affinity < threshold`.
 *
 * @example Two fragments joined by high-affinity faces merge at threshold 0.5
 * ```ts
 * import { agglomerate } from "./agglomerate.ts";
 * import assert from "node:assert/strict";
 *
 * const fragments = { data: Uint32Array.of(1, 1, 2, 2), shape: [1, 1, 4] as [number, number, number], count: 2, sizes: Float64Array.of(0, 2, 2) };
 * const affs = new Float32Array(12);
 * affs.set([0, 1, 0.8, 1], 8); // x channel: the 1–2 face has affinity 0.8
 * const [low, high] = [...agglomerate(affs, fragments, [0.1, 0.5])];
 * assert.equal(low.segments, 2);
 * assert.equal(high.segments, 1);
 * ```
 *
 * @param affs Affinities `[3, z, y, x]` the fragments came from.
 * @param fragments Watershed fragments.
 * @param thresholds Score thresholds (sorted ascending here).
 * @param options The merge function.
 * @returns A generator of levels, in ascending threshold order.
 */
export function* agglomerate(
  affs: Float32Array,
  fragments: Fragments,
  thresholds: readonly number[],
  options: AgglomerateOptions = {},
): Generator<AgglomerationLevel> {
  checkAffinities(affs, fragments.shape);
  const fn = typeof options.mergeFunction === "string"
    ? parseMergeFunction(options.mergeFunction)
    : options.mergeFunction ?? { kind: "mean" as const };
  if (fn.kind === "quantile" && !(fn.quantile >= 0 && fn.quantile <= 100)) {
    throw new RangeError(
      `Cannot agglomerate as the quantile must be in [0, 100]: current value is ${fn.quantile}`,
    );
  }
  for (const t of thresholds) {
    if (!Number.isFinite(t)) {
      throw new RangeError(
        `Cannot agglomerate as every threshold must be finite: current value is ${t}`,
      );
    }
  }
  const sorted = [...thresholds].sort((a, b) => a - b);
  const g = buildRegionGraph(affs, fragments, fn);
  const bins = fn.kind === "quantile" ? fn.bins ?? 256 : 0;
  const score = (e: number): number => {
    if (fn.kind === "mean") return 1 - g.sum[e] / g.count[e];
    return 1 - (g.samples!.quantileBin(e, fn.quantile) + 0.5) / bins;
  };
  const k = fragments.count;
  const parent = new Int32Array(k + 1);
  for (let i = 0; i <= k; i++) parent[i] = i;
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r];
    while (parent[x] !== r) {
      const next = parent[x];
      parent[x] = r;
      x = next;
    }
    return r;
  };
  const adjacency: number[][] = Array.from({ length: k + 1 }, () => []);
  const scores = new Float64Array(g.edgeCount);
  const deleted = new Uint8Array(g.edgeCount);
  const heap = new EdgeHeap();
  for (let e = 0; e < g.edgeCount; e++) {
    adjacency[g.edgeU[e]].push(e);
    adjacency[g.edgeV[e]].push(e);
    scores[e] = score(e);
    heap.push(scores[e], e);
  }
  let segments = k;
  for (const threshold of sorted) {
    let merges = 0;
    while (heap.size > 0 && heap.scores[0] < threshold) {
      const e = heap.edges[0], s = heap.scores[0];
      heap.pop();
      if (deleted[e] || s !== scores[e]) continue; // merged away or rescored
      let a = g.edgeU[e], b = g.edgeV[e];
      if (adjacency[a].length < adjacency[b].length) [a, b] = [b, a];
      // b joins a
      parent[b] = a;
      deleted[e] = 1;
      g.table.delete(a, b);
      segments--;
      merges++;
      const listA = adjacency[a];
      for (const f of adjacency[b]) {
        if (deleted[f]) continue;
        const c = g.edgeU[f] === b ? g.edgeV[f] : g.edgeU[f];
        g.table.delete(b, c);
        const existing = g.table.get(a, c);
        if (existing < 0) {
          if (g.edgeU[f] === b) g.edgeU[f] = a;
          else g.edgeV[f] = a;
          g.table.set(a, c, f);
          listA.push(f);
        } else {
          g.sum[existing] += g.sum[f];
          g.count[existing] += g.count[f];
          if (g.max[f] > g.max[existing]) g.max[existing] = g.max[f];
          g.samples?.mergeInto(f, existing);
          deleted[f] = 1;
          scores[existing] = score(existing);
          heap.push(scores[existing], existing);
        }
      }
      adjacency[b] = [];
      if (listA.length > 64) {
        // drop merged-away edges so the lists stay proportional to the live degree
        let live = 0;
        for (const f of listA) if (!deleted[f]) live++;
        if (live * 2 < listA.length) adjacency[a] = listA.filter((f) => !deleted[f]);
      }
    }
    const map = new Uint32Array(k + 1);
    for (let i = 1; i <= k; i++) map[i] = find(i);
    yield { threshold, map, segments, merges };
  }
}

/**
 * Applies a fragment → segment map to a fragment volume.
 *
 * @param fragments Fragment ids.
 * @param map Segment id per fragment id.
 * @returns Segment ids, same length.
 */
export function applyMap(fragments: Uint32Array, map: Uint32Array): Uint32Array {
  const out = new Uint32Array(fragments.length);
  for (let i = 0; i < fragments.length; i++) out[i] = map[fragments[i]];
  return out;
}

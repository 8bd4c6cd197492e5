// This module is browser compatible.
/**
 * Instance segmentation metrics of EM neuron reconstruction, as CREMI
 * computes them: variation of information split and merge (bits), the
 * adapted Rand error (CREMI/SNEMI3D formula, with its `c/n` terms), the
 * waterz and scikit-image variants of the Rand error, and the CREMI score.
 *
 * Everything derives from a sparse contingency table ({@linkcode
 * computeContingencyTable}) built in one pass, with memory proportional to
 * the number of distinct (seg, gt) label pairs, never to the label values.
 * 64-bit labels (`BigUint64Array`, as h5wasm reads CREMI's uint64 neuron
 * ids) stay exact: they are read as two 32-bit halves, without creating a
 * BigInt per voxel.
 *
 * Conventions (CREMI's `voi(..., ignore_groundtruth=[0])` and
 * `adapted_rand`):
 *
 * - voxels whose **gt label is 0 are ignored**; seg label 0 is an ordinary
 *   segment for VOI, waterz and scikit-image;
 * - with `p_ij` the fraction of non-ignored voxels with seg i and gt j and
 *   `p_i`, `q_j` its marginals: `voiSplit = H(seg|gt) = −Σ p_ij·log2(p_ij/q_j)`
 *   (over-segmentation) and `voiMerge = H(gt|seg) = −Σ p_ij·log2(p_ij/p_i)`
 *   (under-segmentation);
 * - CREMI's adapted Rand error, with n all voxels (ignored included) and c
 *   the non-ignored voxels of seg 0: `sumA = Σ_j a_j²`,
 *   `sumB = Σ_{i≠0} b_i² + c/n`, `sumAB = Σ_{i≠0,j} n_ij² + c/n`,
 *   `P = sumAB/sumB`, `R = sumAB/sumA`, `arand = 1 − 2PR/(P+R)`;
 * - `cremiScore = sqrt((voiSplit + voiMerge)·arand)`;
 * - when every voxel is ignored every value is NaN.
 *
 * @example
 * ```ts
 * import { computeInstanceScores } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * // gt objects 1 and 2 merged into seg segment 7
 * const seg = { data: Uint32Array.of(7, 7, 7, 7), shape: [4] };
 * const gt = { data: Uint32Array.of(1, 1, 2, 2), shape: [4] };
 * const s = computeInstanceScores(seg, gt);
 * assert.equal(s.voiSplit, 0);
 * assert.equal(s.voiMerge, 1); // one bit
 * assert.equal(s.arandPrecision, 0.5);
 * ```
 *
 * @module
 */

import type { MetricPlugin, TaskType } from "../../core/plugin.ts";
import type { LabelData, LabelVolume } from "./types.ts";
import { checkChoice, checkLength, checkOptions, checkSameShape, isShaped } from "./_validate.ts";

/**
 * A sparse contingency table of a (seg, gt) label pair over the non-ignored
 * voxels (gt ≠ 0). Labels are renumbered densely in order of first
 * appearance; `segLabels[i]` and `gtLabels[j]` give the original values.
 */
export interface ContingencyTable {
  /** Every voxel, ignored ones included (CREMI's n). */
  voxels: number;
  /** Non-ignored voxels (gt ≠ 0). */
  total: number;
  /** Non-ignored voxels whose seg label is 0 (CREMI's c). */
  segZero: number;
  /** Original seg label of each dense seg id. */
  segLabels: bigint[];
  /** Original gt label of each dense gt id. */
  gtLabels: bigint[];
  /** Non-ignored voxels per seg id. */
  segSizes: Float64Array;
  /** Voxels per gt id. */
  gtSizes: Float64Array;
  /** Seg id of each non-zero entry. */
  pairSeg: Uint32Array;
  /** Gt id of each non-zero entry. */
  pairGt: Uint32Array;
  /** Voxel count of each non-zero entry. */
  pairCount: Float64Array;
}

/** Every instance score of a (seg, gt) pair. */
export interface InstanceScores {
  /** `H(seg | gt)` in bits: over-segmentation. */
  voiSplit: number;
  /** `H(gt | seg)` in bits: under-segmentation. */
  voiMerge: number;
  /** `voiSplit + voiMerge`. */
  voiSum: number;
  /** CREMI adapted Rand error. */
  arand: number;
  /** CREMI adapted Rand precision `sumAB / sumB`. */
  arandPrecision: number;
  /** CREMI adapted Rand recall `sumAB / sumA`. */
  arandRecall: number;
  /** `sqrt(voiSum · arand)`. */
  cremiScore: number;
  /** waterz adapted Rand error (seg 0 ordinary, no `c/n` terms). */
  arandWaterz: number;
  /** waterz `rand_split = Σ n_ij² / Σ a_j²` (a: gt sizes). */
  randSplitWaterz: number;
  /** waterz `rand_merge = Σ n_ij² / Σ b_i²` (b: seg sizes). */
  randMergeWaterz: number;
  /** scikit-image `adapted_rand_error` (pairs without self-pairs). */
  arandSkimage: number;
  /** scikit-image's precision: `(Σ n_ij² − N) / (Σ a_j² − N)`. */
  arandSkimagePrecision: number;
  /** scikit-image's recall: `(Σ n_ij² − N) / (Σ b_i² − N)`. */
  arandSkimageRecall: number;
}

const TWO_32 = 4294967296;
const SAFE_HI = 1 << 21; // hi·2^32 + lo is exact below 2^53
const PAIR_SEG_LIMIT = 2 ** 27;
const PAIR_GT_BASE = 2 ** 26; // segId·2^26 + gtId exact below 2^53

function checkVolume(metric: string, what: string, value: unknown): LabelVolume {
  if (!isShaped(value)) {
    throw new TypeError(
      `Cannot compute ${metric} as ${what} must be a label volume { data, shape }: current type is ${
        value === null ? "null" : typeof value
      }`,
    );
  }
  const v = value as unknown as LabelVolume;
  checkLength(metric, what, v.data, v.shape);
  return v;
}

/**
 * Dense renumbering of labels, exact for 64-bit values: labels below 2^53
 * are number keys, larger ones a two-level map keyed by their 32-bit
 * halves, so no BigInt is created per lookup. The last label is cached.
 */
class LabelIndex {
  #small = new Map<number, number>();
  #large = new Map<number, Map<number, number>>();
  #lastLo = -1;
  #lastHi = -1;
  #lastId = -1;
  labels: bigint[] = [];
  sizes: number[] = [];

  #add(label: bigint): number {
    const id = this.labels.length;
    this.labels.push(label);
    this.sizes.push(0);
    return id;
  }

  idOfNumber(value: number): number {
    let id = this.#small.get(value);
    if (id === undefined) {
      id = this.#add(BigInt(value));
      this.#small.set(value, id);
    }
    return id;
  }

  idOfHalves(lo: number, hi: number): number {
    if (lo === this.#lastLo && hi === this.#lastHi) return this.#lastId;
    let id: number;
    if (hi < SAFE_HI) id = this.idOfNumber(hi * TWO_32 + lo);
    else {
      let inner = this.#large.get(hi);
      if (inner === undefined) {
        inner = new Map();
        this.#large.set(hi, inner);
      }
      const found = inner.get(lo);
      if (found === undefined) {
        id = this.#add((BigInt(hi) << 32n) | BigInt(lo));
        inner.set(lo, id);
      } else id = found;
    }
    this.#lastLo = lo;
    this.#lastHi = hi;
    this.#lastId = id;
    return id;
  }
}

/** Accumulates runs of identical (seg, gt) pairs into the sparse table. */
class TableBuilder {
  seg = new LabelIndex();
  gt = new LabelIndex();
  #pairs = new Map<number, number>();
  #farPairs = new Map<string, number>();
  segZero = 0;
  total = 0;

  add(segId: number, gtId: number, segIsZero: boolean, count: number): void {
    this.seg.sizes[segId] += count;
    this.gt.sizes[gtId] += count;
    this.total += count;
    if (segIsZero) this.segZero += count;
    if (segId < PAIR_SEG_LIMIT && gtId < PAIR_GT_BASE) {
      const key = segId * PAIR_GT_BASE + gtId;
      this.#pairs.set(key, (this.#pairs.get(key) ?? 0) + count);
    } else {
      const key = `${segId},${gtId}`;
      this.#farPairs.set(key, (this.#farPairs.get(key) ?? 0) + count);
    }
  }

  finish(voxels: number): ContingencyTable {
    const m = this.#pairs.size + this.#farPairs.size;
    const pairSeg = new Uint32Array(m);
    const pairGt = new Uint32Array(m);
    const pairCount = new Float64Array(m);
    let e = 0;
    for (const [key, count] of this.#pairs) {
      const s = Math.floor(key / PAIR_GT_BASE);
      pairSeg[e] = s;
      pairGt[e] = key - s * PAIR_GT_BASE;
      pairCount[e++] = count;
    }
    for (const [key, count] of this.#farPairs) {
      const [s, g] = key.split(",");
      pairSeg[e] = Number(s);
      pairGt[e] = Number(g);
      pairCount[e++] = count;
    }
    return {
      voxels,
      total: this.total,
      segZero: this.segZero,
      segLabels: this.seg.labels,
      gtLabels: this.gt.labels,
      segSizes: Float64Array.from(this.seg.sizes),
      gtSizes: Float64Array.from(this.gt.sizes),
      pairSeg,
      pairGt,
      pairCount,
    };
  }
}

type Reader =
  | { kind: "number"; data: ArrayLike<number> }
  | { kind: "halves"; data: Uint32Array; signed: boolean };

function readerOf(metric: string, what: string, data: LabelData): Reader {
  if (data instanceof BigUint64Array || data instanceof BigInt64Array) {
    return {
      kind: "halves",
      data: new Uint32Array(data.buffer, data.byteOffset, data.length * 2),
      signed: data instanceof BigInt64Array,
    };
  }
  const unsigned = data instanceof Uint8Array || data instanceof Uint8ClampedArray ||
    data instanceof Uint16Array || data instanceof Uint32Array;
  if (!unsigned) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(
          `Cannot compute ${metric} as ${what} labels must be non-negative safe integers: current value at index ${i} is ${v}`,
        );
      }
    }
  }
  return { kind: "number", data };
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Builds the sparse contingency table of a (seg, gt) pair over the voxels
 * whose gt label is not 0, in one pass. Runs of identical label pairs are
 * counted before touching the hash maps, so spatially coherent volumes cost
 * little more than reading them.
 *
 * @example 64-bit labels stay exact
 * ```ts
 * import { computeContingencyTable } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const big = 2n ** 63n + 5n;
 * const seg = { data: BigUint64Array.of(big, big, 3n, 3n), shape: [2, 2] };
 * const gt = { data: BigUint64Array.of(1n, 0n, 1n, 2n), shape: [2, 2] };
 * const t = computeContingencyTable(seg, gt);
 * assert.deepEqual(t.segLabels, [big, 3n]);
 * assert.equal(t.total, 3); // the voxel with gt 0 is ignored
 * assert.equal(t.pairCount.length, 3);
 * ```
 *
 * @param seg The segmentation's instance labels.
 * @param gt The ground truth's instance labels, same shape (0 = ignored).
 * @returns The sparse table.
 */
export function computeContingencyTable(seg: LabelVolume, gt: LabelVolume): ContingencyTable {
  return buildTable("contingency table", seg, gt);
}

function buildTable(metric: string, segInput: unknown, gtInput: unknown): ContingencyTable {
  const seg = checkVolume(metric, "seg", segInput);
  const gt = checkVolume(metric, "gt", gtInput);
  checkSameShape(metric, seg.shape, gt.shape);
  const n = seg.data.length;
  const s = readerOf(metric, "seg", seg.data);
  const g = readerOf(metric, "gt", gt.data);
  const b = new TableBuilder();
  if (s.kind === "number" && g.kind === "number") {
    const sd = s.data;
    const gd = g.data;
    let ps = -1;
    let pg = -1;
    let run = 0;
    for (let i = 0; i < n; i++) {
      const gv = gd[i];
      if (gv === 0) continue;
      const sv = sd[i];
      if (sv === ps && gv === pg) {
        run++;
        continue;
      }
      if (run > 0) b.add(b.seg.idOfNumber(ps), b.gt.idOfNumber(pg), ps === 0, run);
      ps = sv;
      pg = gv;
      run = 1;
    }
    if (run > 0) b.add(b.seg.idOfNumber(ps), b.gt.idOfNumber(pg), ps === 0, run);
    return b.finish(n);
  }
  // At least one 64-bit volume: read both as (lo, hi) halves.
  const halves = (
    r: Reader,
    what: string,
  ): { lo: (i: number) => number; hi: (i: number) => number } => {
    if (r.kind === "number") {
      const d = r.data;
      return { lo: (i) => d[i] % TWO_32, hi: (i) => Math.floor(d[i] / TWO_32) };
    }
    const d = r.data;
    const l = LITTLE_ENDIAN ? 0 : 1;
    const h = 1 - l;
    if (r.signed) {
      for (let i = 0; i < n; i++) {
        if (d[2 * i + h] >= 0x80000000) {
          throw new RangeError(
            `Cannot compute ${metric} as ${what} labels must be non-negative: current value at index ${i} is negative`,
          );
        }
      }
    }
    return { lo: (i) => d[2 * i + l], hi: (i) => d[2 * i + h] };
  };
  const sh = halves(s, "seg");
  const gh = halves(g, "gt");
  if (s.kind === "halves" && g.kind === "halves") {
    // Fast path for the common CREMI case: both uint64, direct typed-array reads.
    const sd = s.data;
    const gd = g.data;
    const l = LITTLE_ENDIAN ? 0 : 1;
    const h = 1 - l;
    let psl = -1, psh = -1, pgl = -1, pgh = -1, run = 0;
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      const gl = gd[j + l];
      const gh2 = gd[j + h];
      if (gl === 0 && gh2 === 0) continue;
      const sl = sd[j + l];
      const sh2 = sd[j + h];
      if (sl === psl && sh2 === psh && gl === pgl && gh2 === pgh) {
        run++;
        continue;
      }
      if (run > 0) {
        b.add(b.seg.idOfHalves(psl, psh), b.gt.idOfHalves(pgl, pgh), psl === 0 && psh === 0, run);
      }
      psl = sl;
      psh = sh2;
      pgl = gl;
      pgh = gh2;
      run = 1;
    }
    if (run > 0) {
      b.add(b.seg.idOfHalves(psl, psh), b.gt.idOfHalves(pgl, pgh), psl === 0 && psh === 0, run);
    }
    return b.finish(n);
  }
  let psl = -1, psh = -1, pgl = -1, pgh = -1, run = 0;
  for (let i = 0; i < n; i++) {
    const gl = gh.lo(i);
    const gH = gh.hi(i);
    if (gl === 0 && gH === 0) continue;
    const sl = sh.lo(i);
    const sH = sh.hi(i);
    if (sl === psl && sH === psh && gl === pgl && gH === pgh) {
      run++;
      continue;
    }
    if (run > 0) {
      b.add(b.seg.idOfHalves(psl, psh), b.gt.idOfHalves(pgl, pgh), psl === 0 && psh === 0, run);
    }
    psl = sl;
    psh = sH;
    pgl = gl;
    pgh = gH;
    run = 1;
  }
  if (run > 0) {
    b.add(b.seg.idOfHalves(psl, psh), b.gt.idOfHalves(pgl, pgh), psl === 0 && psh === 0, run);
  }
  return b.finish(n);
}

function sumSquares(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return s;
}

function fScoreError(precision: number, recall: number): number {
  return 1 - (2 * precision * recall) / (precision + recall);
}

/**
 * Every instance score from a contingency table (see the module doc for the
 * definitions). O(number of label pairs).
 *
 * @example A split: one gt object cut in two halves
 * ```ts
 * import { computeContingencyTable, scoreContingencyTable } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const seg = { data: [1, 1, 2, 2], shape: [4] };
 * const gt = { data: [5, 5, 5, 5], shape: [4] };
 * const s = scoreContingencyTable(computeContingencyTable(seg, gt));
 * assert.equal(s.voiSplit, 1);
 * assert.equal(s.voiMerge, 0);
 * assert.equal(s.arandRecall, 8 / 16);
 * ```
 *
 * @param table A table from {@linkcode computeContingencyTable}.
 * @returns VOI split/merge/sum, the three Rand variants and the CREMI score.
 */
export function scoreContingencyTable(table: ContingencyTable): InstanceScores {
  const { total, voxels, segZero, segSizes, gtSizes, pairSeg, pairGt, pairCount } = table;
  if (total === 0) {
    return {
      voiSplit: NaN,
      voiMerge: NaN,
      voiSum: NaN,
      arand: NaN,
      arandPrecision: NaN,
      arandRecall: NaN,
      cremiScore: NaN,
      arandWaterz: NaN,
      randSplitWaterz: NaN,
      randMergeWaterz: NaN,
      arandSkimage: NaN,
      arandSkimagePrecision: NaN,
      arandSkimageRecall: NaN,
    };
  }
  let split = 0;
  let merge = 0;
  let sumPairs = 0; // Σ n_ij²
  let sumPairsNonZeroSeg = 0; // Σ_{i≠0} n_ij²
  const zeroSeg = table.segLabels.indexOf(0n);
  for (let e = 0; e < pairCount.length; e++) {
    const nij = pairCount[e];
    const log = Math.log2(nij);
    split += nij * (Math.log2(gtSizes[pairGt[e]]) - log);
    merge += nij * (Math.log2(segSizes[pairSeg[e]]) - log);
    sumPairs += nij * nij;
    if (pairSeg[e] !== zeroSeg) sumPairsNonZeroSeg += nij * nij;
  }
  const voiSplit = split / total;
  const voiMerge = merge / total;
  const sumA = sumSquares(gtSizes);
  const sumSeg = sumSquares(segSizes);
  let sumSegNonZero = 0; // Σ_{i≠0} b_i²
  for (let i = 0; i < segSizes.length; i++) {
    if (i !== zeroSeg) sumSegNonZero += segSizes[i] * segSizes[i];
  }
  const cn = segZero / voxels;
  const sumB = sumSegNonZero + cn;
  const sumAB = sumPairsNonZeroSeg + cn;
  const arandPrecision = sumAB / sumB;
  const arandRecall = sumAB / sumA;
  const arand = fScoreError(arandPrecision, arandRecall);
  const randSplitWaterz = sumPairs / sumA;
  const randMergeWaterz = sumPairs / sumSeg;
  const arandSkimagePrecision = (sumPairs - total) / (sumA - total);
  const arandSkimageRecall = (sumPairs - total) / (sumSeg - total);
  return {
    voiSplit,
    voiMerge,
    voiSum: voiSplit + voiMerge,
    arand,
    arandPrecision,
    arandRecall,
    cremiScore: Math.sqrt((voiSplit + voiMerge) * arand),
    arandWaterz: fScoreError(randSplitWaterz, randMergeWaterz),
    randSplitWaterz,
    randMergeWaterz,
    arandSkimage: fScoreError(arandSkimagePrecision, arandSkimageRecall),
    arandSkimagePrecision,
    arandSkimageRecall,
  };
}

/**
 * Every instance score of a (seg, gt) pair: the contingency table, then
 * {@linkcode scoreContingencyTable}.
 *
 * @example Perfect up to relabelling, differences only where gt is 0
 * ```ts
 * import { computeInstanceScores } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const seg = { data: [9, 9, 4, 4, 8], shape: [5] };
 * const gt = { data: [1, 1, 2, 2, 0], shape: [5] };
 * const s = computeInstanceScores(seg, gt);
 * assert.equal(s.voiSum, 0);
 * assert.equal(s.arand, 0);
 * assert.equal(s.cremiScore, 0);
 * ```
 *
 * @param seg The segmentation's instance labels.
 * @param gt The ground truth's instance labels, same shape (0 = ignored).
 * @returns Every instance score.
 */
export function computeInstanceScores(seg: LabelVolume, gt: LabelVolume): InstanceScores {
  return scoreContingencyTable(buildTable("instance scores", seg, gt));
}

/** VOI split and merge in bits. */
export interface VoiScores {
  /** `H(seg | gt)`: over-segmentation. */
  split: number;
  /** `H(gt | seg)`: under-segmentation. */
  merge: number;
}

/**
 * Variation of information split and merge, in bits (CREMI `voi` with gt
 * label 0 ignored).
 *
 * @example
 * ```ts
 * import { computeVoi } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const voi = computeVoi({ data: [1, 2, 3, 4], shape: [4] }, { data: [1, 1, 1, 1], shape: [4] });
 * assert.deepEqual(voi, { split: 2, merge: 0 });
 * ```
 *
 * @param seg The segmentation's instance labels.
 * @param gt The ground truth's instance labels, same shape (0 = ignored).
 * @returns `{ split, merge }`.
 */
export function computeVoi(seg: LabelVolume, gt: LabelVolume): VoiScores {
  const s = scoreContingencyTable(buildTable("voi", seg, gt));
  return { split: s.voiSplit, merge: s.voiMerge };
}

/** Which adapted Rand error definition to use. */
export type RandVariant = "cremi" | "waterz" | "skimage";

/** An adapted Rand error with its precision and recall. */
export interface RandScores {
  /** `1 − F`, F the harmonic mean of precision and recall. */
  error: number;
  /** The variant's precision. */
  precision: number;
  /** The variant's recall. */
  recall: number;
}

/**
 * Adapted Rand error: CREMI's (default, with the `c/n` terms for seg 0),
 * waterz's (`precision` is `rand_merge`, `recall` is `rand_split`) or
 * scikit-image's (pairs without self-pairs).
 *
 * @example
 * ```ts
 * import { computeAdaptedRand } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const seg = { data: [7, 7, 7, 7], shape: [4] };
 * const gt = { data: [1, 1, 2, 2], shape: [4] };
 * const r = computeAdaptedRand(seg, gt);
 * assert.deepEqual(r, { error: 1 - 2 / 3, precision: 0.5, recall: 1 });
 * ```
 *
 * @param seg The segmentation's instance labels.
 * @param gt The ground truth's instance labels, same shape (0 = ignored).
 * @param options `variant`. @default {{ variant: "cremi" }}
 * @returns `{ error, precision, recall }`.
 */
export function computeAdaptedRand(
  seg: LabelVolume,
  gt: LabelVolume,
  options: { variant?: RandVariant } = {},
): RandScores {
  const o = checkOptions("arand", options);
  const variant = checkChoice(
    "arand",
    "variant",
    o.variant,
    ["cremi", "waterz", "skimage"] as const,
    "cremi",
  );
  const s = scoreContingencyTable(buildTable("arand", seg, gt));
  switch (variant) {
    case "cremi":
      return { error: s.arand, precision: s.arandPrecision, recall: s.arandRecall };
    case "waterz":
      return { error: s.arandWaterz, precision: s.randMergeWaterz, recall: s.randSplitWaterz };
    case "skimage":
      return {
        error: s.arandSkimage,
        precision: s.arandSkimagePrecision,
        recall: s.arandSkimageRecall,
      };
  }
}

// ------------------------------------------------------------------ plugins --

const INSTANCE_TASKS: readonly TaskType[] = ["affinity"];

function createInstanceMetric(
  name: string,
  description: string,
  pick: (s: InstanceScores) => number,
): MetricPlugin {
  return {
    kind: "metric",
    name,
    description,
    higherIsBetter: false,
    tasks: INSTANCE_TASKS,
    compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array {
      const o = checkOptions(name, options);
      if (Object.keys(o).length > 0) {
        throw new TypeError(
          `Cannot compute ${name} as it takes no options: current keys are ${
            Object.keys(o).map((k) => `"${k}"`).join(", ")
          }`,
        );
      }
      return Float64Array.of(pick(scoreContingencyTable(buildTable(name, prediction, target))));
    },
  };
}

/**
 * `"voi-split"`: `H(seg | gt)` in bits; prediction is the segmentation,
 * target the ground truth (label 0 ignored).
 *
 * @example
 * ```ts
 * import { voiSplitMetric } from "./instance.ts";
 * import assert from "node:assert/strict";
 *
 * const v = voiSplitMetric.compute({ data: [1, 2], shape: [2] }, { data: [3, 3], shape: [2] });
 * assert.deepEqual([...v], [1]);
 * ```
 */
export const voiSplitMetric: MetricPlugin = createInstanceMetric(
  "voi-split",
  "Variation of information split H(seg|gt) in bits (CREMI)",
  (s) => s.voiSplit,
);

/** `"voi-merge"`: `H(gt | seg)` in bits (CREMI). */
export const voiMergeMetric: MetricPlugin = createInstanceMetric(
  "voi-merge",
  "Variation of information merge H(gt|seg) in bits (CREMI)",
  (s) => s.voiMerge,
);

/** `"voi-sum"`: VOI split + merge in bits. */
export const voiSumMetric: MetricPlugin = createInstanceMetric(
  "voi-sum",
  "Variation of information split + merge in bits (CREMI)",
  (s) => s.voiSum,
);

/** `"arand"`: CREMI adapted Rand error. */
export const arandMetric: MetricPlugin = createInstanceMetric(
  "arand",
  "Adapted Rand error (CREMI / SNEMI3D formula)",
  (s) => s.arand,
);

/** `"cremi-score"`: `sqrt(voiSum · arand)`. */
export const cremiScoreMetric: MetricPlugin = createInstanceMetric(
  "cremi-score",
  "CREMI score sqrt(VOI sum × ARAND)",
  (s) => s.cremiScore,
);

import assert from "node:assert/strict";
import {
  arandMetric,
  computeAdaptedRand,
  computeContingencyTable,
  computeInstanceScores,
  computeVoi,
  cremiScoreMetric,
  type InstanceScores,
  voiMergeMetric,
  voiSplitMetric,
  voiSumMetric,
} from "./instance.ts";
import { assertClose, seededRandom } from "./_testing.ts";

/**
 * Independent reference: a dense table keyed by label strings, entropies as
 * H(X,Y) − H(Y) with natural logs converted to bits, and the Rand variants
 * from the pair counts, written from the definitions.
 */
function referenceScores(seg: readonly bigint[], gt: readonly bigint[]): Record<string, number> {
  const n = seg.length;
  const pairs = new Map<string, number>();
  const segSize = new Map<string, number>();
  const gtSize = new Map<string, number>();
  let c = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (gt[i] === 0n) continue;
    total++;
    if (seg[i] === 0n) c++;
    const s = seg[i].toString();
    const g = gt[i].toString();
    pairs.set(`${s}|${g}`, (pairs.get(`${s}|${g}`) ?? 0) + 1);
    segSize.set(s, (segSize.get(s) ?? 0) + 1);
    gtSize.set(g, (gtSize.get(g) ?? 0) + 1);
  }
  const entropy = (counts: Iterable<number>) => {
    let h = 0;
    for (const k of counts) h -= (k / total) * Math.log(k / total);
    return h / Math.LN2;
  };
  const hJoint = entropy(pairs.values());
  const split = hJoint - entropy(gtSize.values());
  const merge = hJoint - entropy(segSize.values());
  const sq = (values: Iterable<number>) => [...values].reduce((a, v) => a + v * v, 0);
  const sumA = sq(gtSize.values());
  const sumSegAll = sq(segSize.values());
  const sumPairsAll = sq(pairs.values());
  const sumB = sq([...segSize].filter(([s]) => s !== "0").map(([, v]) => v)) + c / n;
  const sumAB = sq([...pairs].filter(([k]) => !k.startsWith("0|")).map(([, v]) => v)) + c / n;
  const f = (p: number, r: number) => 1 - (2 * p * r) / (p + r);
  const arand = f(sumAB / sumB, sumAB / sumA);
  return {
    voiSplit: split,
    voiMerge: merge,
    arand,
    arandPrecision: sumAB / sumB,
    arandRecall: sumAB / sumA,
    cremiScore: Math.sqrt((split + merge) * arand),
    arandWaterz: f(sumPairsAll / sumA, sumPairsAll / sumSegAll),
    arandSkimage: f(
      (sumPairsAll - total) / (sumA - total),
      (sumPairsAll - total) / (sumSegAll - total),
    ),
  };
}

function checkAgainstReference(s: InstanceScores, seg: bigint[], gt: bigint[], what: string): void {
  const ref = referenceScores(seg, gt);
  for (const [key, value] of Object.entries(ref)) {
    assertClose(
      s[key as keyof InstanceScores],
      value,
      { abs: 1e-12, rel: 1e-10 },
      `${what} ${key}`,
    );
  }
}

function randomPair(n: number, seed: number): { seg: bigint[]; gt: bigint[] } {
  const rand = seededRandom(seed);
  const gt: bigint[] = [];
  const seg: bigint[] = [];
  let g = 1n;
  let s = 7n;
  for (let i = 0; i < n; i++) {
    // Runs of labels, with membranes (gt 0) and seg 0 sprinkled in.
    if (rand() < 0.1) g = BigInt(Math.floor(rand() * 6));
    if (rand() < 0.15) s = BigInt(Math.floor(rand() * 9));
    gt.push(g);
    seg.push(s);
  }
  return { seg, gt };
}

Deno.test("computeInstanceScores() matches an independent reference on random volumes", () => {
  for (const seed of [1, 2, 3]) {
    const { seg, gt } = randomPair(2000, seed);
    const s = computeInstanceScores(
      { data: BigUint64Array.from(seg), shape: [2000] },
      { data: BigUint64Array.from(gt), shape: [2000] },
    );
    checkAgainstReference(s, seg, gt, `seed ${seed}`);
    assert.ok(
      seg.includes(0n) && gt.includes(0n),
      "the data must exercise seg 0 and ignored voxels",
    );
  }
});

Deno.test("every label array type gives the same scores", () => {
  const { seg, gt } = randomPair(500, 4);
  const shape = [20, 25];
  const asNumbers = (v: bigint[]) => v.map(Number);
  const inputs: [string, unknown, unknown][] = [
    ["BigUint64Array", BigUint64Array.from(seg), BigUint64Array.from(gt)],
    ["BigInt64Array", BigInt64Array.from(seg), BigInt64Array.from(gt)],
    ["Uint32Array", Uint32Array.from(asNumbers(seg)), Uint32Array.from(asNumbers(gt))],
    ["Int32Array", Int32Array.from(asNumbers(seg)), Int32Array.from(asNumbers(gt))],
    ["Float64Array", Float64Array.from(asNumbers(seg)), Float64Array.from(asNumbers(gt))],
    ["number[]", asNumbers(seg), asNumbers(gt)],
    ["mixed", Uint16Array.from(asNumbers(seg)), BigUint64Array.from(gt)],
  ];
  const reference = computeInstanceScores(
    { data: asNumbers(seg), shape },
    { data: asNumbers(gt), shape },
  );
  for (const [name, s, g] of inputs) {
    const scores = computeInstanceScores({ data: s as never, shape }, { data: g as never, shape });
    assert.deepEqual(scores, reference, name);
  }
});

Deno.test("64-bit labels stay exact above 2^53", () => {
  const a = 2n ** 60n;
  const b = 2n ** 60n + 1n; // equal to a once converted to a number
  assert.equal(Number(a), Number(b));
  const seg = { data: BigUint64Array.of(a, b, a, b), shape: [4] };
  const gt = { data: BigUint64Array.of(3n, 3n, 3n, 3n), shape: [4] };
  assert.deepEqual(computeVoi(seg, gt), { split: 1, merge: 0 });
  const t = computeContingencyTable(seg, gt);
  assert.deepEqual(t.segLabels, [a, b]);
  // Labels between 2^32 and 2^53 go through the number path and stay distinct too.
  const mid = { data: BigUint64Array.of(2n ** 40n, 2n ** 40n + 1n), shape: [2] };
  assert.deepEqual(computeVoi(mid, { data: BigUint64Array.of(1n, 1n), shape: [2] }), {
    split: 1,
    merge: 0,
  });
});

Deno.test("hand-checked VOI, CREMI ARAND with seg 0, and the all-ignored case", () => {
  // gt: one object of 4 voxels plus 2 ignored voxels; seg: 2 voxels of segment 5, 2 of seg 0.
  const seg = { data: [5, 5, 0, 0, 9, 9], shape: [6] };
  const gt = { data: [1, 1, 1, 1, 0, 0], shape: [6] };
  const s = computeInstanceScores(seg, gt);
  assert.equal(s.voiSplit, 1);
  assert.equal(s.voiMerge, 0);
  // sumA = 16, c = 2, n = 6: sumB = 4 + 1/3, sumAB = 4 + 1/3
  assertClose(s.arandPrecision, 1);
  assertClose(s.arandRecall, (4 + 1 / 3) / 16);
  assertClose(s.arand, 1 - (2 * s.arandRecall) / (1 + s.arandRecall));
  // waterz treats seg 0 as a segment: Σn² = 8, rand_split = 8/16, rand_merge = 8/8
  assertClose([s.randSplitWaterz, s.randMergeWaterz], [0.5, 1]);
  // scikit-image: (8 − 4) / (16 − 4) and (8 − 4) / (8 − 4)
  assertClose([s.arandSkimagePrecision, s.arandSkimageRecall], [1 / 3, 1]);
  const none = computeInstanceScores({ data: [1, 2], shape: [2] }, { data: [0, 0], shape: [2] });
  assert.ok(Object.values(none).every(Number.isNaN));
});

Deno.test("computeAdaptedRand() variants and the plugins", () => {
  const seg = { data: Uint32Array.of(1, 1, 2, 2, 0, 3), shape: [2, 3] };
  const gt = { data: Uint32Array.of(4, 4, 4, 5, 5, 0), shape: [2, 3] };
  const s = computeInstanceScores(seg, gt);
  assert.deepEqual(computeAdaptedRand(seg, gt), {
    error: s.arand,
    precision: s.arandPrecision,
    recall: s.arandRecall,
  });
  assert.deepEqual(computeAdaptedRand(seg, gt, { variant: "waterz" }), {
    error: s.arandWaterz,
    precision: s.randMergeWaterz,
    recall: s.randSplitWaterz,
  });
  assert.equal(computeAdaptedRand(seg, gt, { variant: "skimage" }).error, s.arandSkimage);
  assert.deepEqual([...voiSplitMetric.compute(seg, gt)], [s.voiSplit]);
  assert.deepEqual([...voiMergeMetric.compute(seg, gt)], [s.voiMerge]);
  assert.deepEqual([...voiSumMetric.compute(seg, gt)], [s.voiSum]);
  assert.deepEqual([...arandMetric.compute(seg, gt)], [s.arand]);
  assert.deepEqual([...cremiScoreMetric.compute(seg, gt)], [s.cremiScore]);
  assert.throws(() => arandMetric.compute(seg, gt, { spacing: [1] }), TypeError);
  assert.throws(() => computeAdaptedRand(seg, gt, { variant: "x" as never }), RangeError);
});

Deno.test("the contingency table holds one entry per label pair", () => {
  const rand = seededRandom(3);
  const n = 100_000;
  const seg = Uint32Array.from(
    { length: n },
    (_, i) => Math.floor(i / 1000) * 7 + (rand() < 0.01 ? 1 : 0),
  );
  const gt = Uint32Array.from({ length: n }, (_, i) => 1 + Math.floor(i / 2500));
  const t = computeContingencyTable({ data: seg, shape: [n] }, { data: gt, shape: [n] });
  const distinct = new Set(Array.from(seg, (s, i) => `${s},${gt[i]}`));
  assert.equal(t.pairCount.length, distinct.size);
  assert.equal(t.pairCount.reduce((a, b) => a + b, 0), n);
  assert.equal(t.total, n);
});

Deno.test("instance metrics reject bad input", () => {
  const gt = { data: [1, 1], shape: [2] };
  assert.throws(
    () => computeVoi({ data: [1, 1, 1], shape: [3] }, gt),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot compute voi as prediction and target must have the same shape: current shapes are [3] and [2]",
  );
  assert.throws(() => computeVoi({ data: [1, -1], shape: [2] }, gt), RangeError);
  assert.throws(() => computeVoi({ data: [1, 1.5], shape: [2] }, gt), RangeError);
  assert.throws(() => computeVoi({ data: BigInt64Array.of(1n, -1n), shape: [2] }, gt), RangeError);
  assert.throws(() => computeVoi({ data: [1, 1], shape: [3] }, gt), TypeError);
  assert.throws(() => computeVoi([1, 1] as never, gt), TypeError);
});

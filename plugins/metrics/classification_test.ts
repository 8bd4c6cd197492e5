import assert from "node:assert/strict";
import {
  accuracyMetric,
  aucMetric,
  computeAccuracy,
  computeAveragePrecision,
  computeBalancedAccuracy,
  computeConfusionCounts,
  computeF1,
  computePrecision,
  computeRecall,
  computeRocAuc,
  computeRocAucSklearn,
  computeSpecificity,
  computeSubsetAccuracy,
  predictClasses,
  predictLabels,
} from "./classification.ts";
import { assertClose, bruteAuc, seededRandom } from "./_testing.ts";

function randomBinary(n: number, seed: number, roundTo = 0): { s: number[]; t: number[] } {
  const rand = seededRandom(seed);
  const t = Array.from({ length: n }, () => (rand() < 0.4 ? 1 : 0));
  const s = t.map((y) => {
    const v = rand() * 0.7 + y * 0.3;
    return roundTo > 0 ? Math.round(v * roundTo) / roundTo : v;
  });
  return { s, t };
}

Deno.test("computeRocAuc() equals pairwise counting with ties, binary and multi-label", () => {
  for (const [seed, round] of [[1, 0], [2, 10], [3, 4], [4, 1]]) {
    const { s, t } = randomBinary(300, seed, round);
    assertClose(computeRocAuc(s, t), [bruteAuc(s, t)], { abs: 1e-15 }, `seed ${seed}`);
  }
  const rand = seededRandom(9);
  const n = 80, k = 3;
  const s = Array.from(
    { length: n },
    () => Array.from({ length: k }, () => Math.round(rand() * 8) / 8),
  );
  const t = s.map((row) => row.map((v) => (rand() < v ? 1 : 0)));
  const auc = computeRocAuc(s, t);
  for (let j = 0; j < k; j++) {
    assertClose(auc[j], bruteAuc(s.map((r) => r[j]), t.map((r) => r[j])), { abs: 1e-15 });
  }
  const pooled = computeRocAuc(s, t, { average: "micro" });
  assertClose(pooled, [bruteAuc(s.flat(), t.flat())], { abs: 1e-15 });
});

Deno.test("computeRocAuc() is one-vs-rest per class for multi-class targets", () => {
  const rand = seededRandom(4);
  const n = 60, c = 4;
  const y = Array.from({ length: n }, () => Math.floor(rand() * c));
  const p = y.map((label) => {
    const row = Array.from({ length: c }, () => rand());
    row[label] += 0.5;
    return row;
  });
  const auc = computeRocAuc(p, y);
  for (let j = 0; j < c; j++) {
    assertClose(auc[j], bruteAuc(p.map((r) => r[j]), y.map((v) => (v === j ? 1 : 0))), {
      abs: 1e-15,
    });
  }
  // An absent class is undefined (NaN).
  assert.ok(Number.isNaN(computeRocAuc([[0.6, 0.4, 0], [0.3, 0.7, 0]], [0, 1])[2]));
});

Deno.test("computeRocAuc() treats -0 and +0 as a tie and handles infinite scores", () => {
  assert.deepEqual([...computeRocAuc([-0, 0], [1, 0])], [0.5]);
  assert.deepEqual([...computeRocAuc([Infinity, -Infinity, Infinity], [1, 0, 0])], [0.75]);
  assert.deepEqual([...computeRocAuc(Float32Array.of(0.1, 0.1, 0.3), Uint8Array.of(0, 1, 1))], [
    0.75,
  ]);
});

Deno.test("computeAveragePrecision() matches hand-computed step areas with ties", () => {
  // thresholds 0.9 (P 1, R 1/2), 0.8 (P 2/3, R 1), 0.1 (R unchanged)
  assertClose(computeAveragePrecision([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0]), [0.5 + 0.5 * (2 / 3)]);
  assertClose(computeAveragePrecision([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]), [0.5]);
  assertClose(computeAveragePrecision([0.3, 0.2], [0, 0]), [0]); // scikit-learn 1.2: no positive
  assertClose(computeAveragePrecision([0.3, 0.2], [1, 1]), [1]);
});

Deno.test("thresholded metrics use score > 0.5 and zero_division = 0", () => {
  const s = [0.5, 0.5000000000000001, 0.9, 0.2, 0.7, 0.1]; // 0.5 and the next double
  const t = [1, 1, 0, 0, 1, 1];
  assert.deepEqual([...predictLabels(s)], [0, 1, 1, 0, 1, 0]);
  const c = computeConfusionCounts(s, t);
  assert.deepEqual([c.tp[0], c.fp[0], c.fn[0], c.tn[0]], [2, 1, 2, 1]);
  assertClose(computePrecision(s, t), [2 / 3]);
  assertClose(computeRecall(s, t), [2 / 4]);
  assertClose(computeSpecificity(s, t), [1 / 2]);
  assertClose(computeF1(s, t), [(2 * (2 / 3) * 0.5) / (2 / 3 + 0.5)]);
  assertClose(computeAccuracy(s, t), [3 / 6]);
  assertClose(computeBalancedAccuracy(s, t), [(0.5 + 0.5) / 2]);
  assertClose(computePrecision([0.1, 0.2], [1, 0]), [0]);
  assertClose(computeRecall([0.9, 0.2], [0, 0]), [0]);
  assertClose(computeF1([0.1, 0.2], [1, 0]), [0]);
  assertClose(computeAccuracy(s, t, { threshold: 0.05 }), [4 / 6]);
});

Deno.test("multi-label averages: per label, micro pooling, subset accuracy", () => {
  const s = [[0.9, 0.1, 0.8], [0.2, 0.6, 0.7], [0.7, 0.4, 0.1], [0.3, 0.8, 0.9]];
  const t = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 1, 1]];
  // predictions: [1,0,1], [0,1,1], [1,0,0], [0,1,1]
  assertClose(computeAccuracy(s, t), [1, 3 / 4, 3 / 4]);
  assertClose(computeSubsetAccuracy(s, t), [2 / 4]);
  assertClose(computePrecision(s, t), [1, 1, 2 / 3]);
  assertClose(computeRecall(s, t), [1, 2 / 3, 1]);
  // pooled: tp 2+2+2 = 6, fp 0+0+1 = 1, fn 0+1+0 = 1
  assertClose(computePrecision(s, t, { average: "micro" }), [6 / 7]);
  assertClose(computeRecall(s, t, { average: "micro" }), [6 / 7]);
  assertClose(computeF1(s, t, { average: "micro" }), [6 / 7]);
  assertClose(computeAccuracy(s, t, { average: "micro" }), [10 / 12]);
  const c = computeConfusionCounts(s, t, { average: "micro" });
  assert.deepEqual([c.tp[0], c.fp[0], c.fn[0], c.tn[0]], [6, 1, 1, 4]);
});

Deno.test("multi-class metrics use the first argmax and one-vs-rest classes", () => {
  const p = [[0.4, 0.4, 0.2], [0.1, 0.3, 0.6], [0.5, 0.2, 0.3], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]];
  const y = [1, 2, 0, 1, 0];
  assert.deepEqual([...predictClasses(p)], [0, 2, 0, 1, 2]);
  assertClose(computeAccuracy(p, y), [3 / 5]);
  assertClose(computeRecall(p, y), [1 / 2, 1 / 2, 1]);
  assertClose(computePrecision(p, y), [1 / 2, 1, 1 / 2]);
  assertClose(computeBalancedAccuracy(p, y), [(0.5 + 0.5 + 1) / 3]);
  // Balanced accuracy averages over classes present in the targets only.
  assertClose(computeBalancedAccuracy([[0.9, 0.1, 0], [0.2, 0.8, 0], [0, 0.1, 0.9]], [0, 0, 1]), [
    (0.5 + 0) / 2,
  ]);
  assertClose(computeSubsetAccuracy(p, y), [3 / 5]);
});

Deno.test("computeRocAucSklearn() reproduces Hand & Till and refuses what scikit-learn refuses", () => {
  const p = [
    [0.6, 0.3, 0.1],
    [0.2, 0.5, 0.3],
    [0.3, 0.3, 0.4],
    [0.5, 0.1, 0.4],
    [0.1, 0.2, 0.7],
    [0.3, 0.6, 0.1],
  ];
  const y = [0, 1, 2, 2, 2, 1];
  const col = (j: number) => p.map((r) => r[j]);
  const pair = (a: number, b: number) => {
    const rows = y.map((v, i) => (v === a || v === b ? i : -1)).filter((i) => i >= 0);
    const ab = bruteAuc(rows.map((i) => p[i][a]), rows.map((i) => (y[i] === a ? 1 : 0)));
    const ba = bruteAuc(rows.map((i) => p[i][b]), rows.map((i) => (y[i] === b ? 1 : 0)));
    return { score: (ab + ba) / 2, share: rows.length / y.length };
  };
  const pairs = [pair(0, 1), pair(0, 2), pair(1, 2)];
  assertClose(
    computeRocAucSklearn(p, y, { multiClass: "ovo" })!,
    pairs.reduce((a, b) => a + b.score, 0) / 3,
  );
  assertClose(
    computeRocAucSklearn(p, y, { multiClass: "ovo", average: "weighted" })!,
    pairs.reduce((a, b) => a + b.score * b.share, 0) / pairs.reduce((a, b) => a + b.share, 0),
  );
  const ovr = [0, 1, 2].map((j) => bruteAuc(col(j), y.map((v) => (v === j ? 1 : 0))));
  assertClose(computeRocAucSklearn(p, y)!, (ovr[0] + ovr[1] + ovr[2]) / 3);
  assertClose(
    computeRocAucSklearn(p, y, { average: "weighted" })!,
    (ovr[0] * 1 + ovr[1] * 2 + ovr[2] * 3) / 6,
  );
  assert.equal(computeRocAucSklearn(p, y, { average: "micro" }), undefined);
  assert.equal(computeRocAucSklearn(p.map((r) => r.map((v) => v * 2)), y), undefined); // rows sum to 2
  assert.equal(computeRocAucSklearn(p, [0, 1, 1, 1, 1, 1]), undefined); // class 2 absent
  // Two classes: the binary AUC of column 1 for ovr/macro only.
  const p2 = [[0.7, 0.3], [0.4, 0.6], [0.2, 0.8]];
  assert.equal(computeRocAucSklearn(p2, [0, 1, 0]), 0.5);
  assert.equal(computeRocAucSklearn(p2, [0, 1, 0], { multiClass: "ovo" }), undefined);
  // Multi-label: any single-class label makes macro undefined; micro pools.
  assert.equal(computeRocAucSklearn([[0.1, 0.2], [0.9, 0.3]], [[0, 0], [1, 0]]), undefined);
  assert.equal(
    computeRocAucSklearn([[0.1, 0.2], [0.9, 0.3]], [[0, 0], [1, 0]], { average: "micro" }),
    1,
  );
  assert.equal(computeRocAucSklearn([0.1, 0.9], [1, 1]), undefined);
});

Deno.test("classification plugins wrap the functions and validate options", () => {
  assert.deepEqual([...aucMetric.compute([0.2, 0.9, 0.4], [0, 1, 1])], [1]);
  assert.deepEqual([...accuracyMetric.compute([0.2, 0.9], [0, 0], { threshold: 0.95 })], [1]);
  assert.throws(() => aucMetric.compute([0.2], [0], { average: "macro" }), RangeError);
  assert.throws(() => aucMetric.compute([0.2], [0], "x" as never), TypeError);
});

Deno.test("classification metrics reject bad input with std-style messages", () => {
  assert.throws(
    () => computeRocAuc([0.1, 0.2, 0.3], [0, 1]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot compute auc as prediction and target must have the same shape (or shapes [N, C] and [N] for multi-class): current shapes are [3] and [2]",
  );
  assert.throws(
    () => computeRocAuc([0.1, NaN], [0, 1]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot compute auc as prediction must not contain NaN: current value at index 1 is NaN",
  );
  assert.throws(
    () => computeF1([0.1, 0.2], [0, 2]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "Cannot compute f1 as target must be 0 or 1: current value at index 1 is 2",
  );
  assert.throws(() => computeRecall([[0.1, 0.9]], [2]), RangeError);
  assert.throws(() => computeRecall([[0.1, 0.9], [0.3, 0.7]], [1]), TypeError);
  assert.throws(() => computePrecision([[0.1, 0.9], [0.3]], [[0, 1], [1, 0]]), TypeError);
  assert.throws(() => computePrecision([0.1], [1], { threshold: NaN }), TypeError);
  assert.throws(() => computePrecision("abc" as never, [1]), TypeError);
  assert.throws(() => computePrecision({ data: [0.1, 0.2], shape: [3] }, [1, 0, 0]), TypeError);
  assert.throws(() => computePrecision({ data: [1], shape: [1, 1, 1] }, [1]), TypeError);
});

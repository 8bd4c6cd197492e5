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
  computeYoudenThresholds,
  predictClasses,
  predictLabels,
  subsetAccuracyMetric,
  thresholdDefinition,
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

// Generated with numpy 1.24 / scikit-learn 1.2 (Debian python3-sklearn):
//   rng = np.random.RandomState(3); y = (rng.rand(40, 3) < 0.4); s = np.round(rng.rand(40, 3) * 0.7 + y * 0.3, 2)
//   fpr, tpr, thr = roc_curve(y[:, j], s[:, j], drop_intermediate=False); k = argmax(tpr - fpr)
//   -> thr[k] = 0.45, 0.6, 0.34; J = 0.47916..., 0.66240..., 0.48
//   accuracy_score(y, pred at s >= thr[k]) = 0.475, 1 - hamming_loss = 0.75
//   accuracy_score(y, s > 0.5) = 0.375, 1 - hamming_loss = 0.666...
const Y_SK = [
  [0, 0, 1],
  [0, 0, 0],
  [1, 1, 1],
  [0, 1, 0],
  [0, 1, 0],
  [0, 1, 0],
  [1, 0, 1],
  [0, 0, 1],
  [0, 0, 1],
  [1, 1, 0],
  [0, 0, 0],
  [0, 1, 1],
  [0, 0, 1],
  [1, 0, 0],
  [1, 1, 0],
  [0, 0, 1],
  [1, 0, 1],
  [1, 0, 1],
  [0, 1, 0],
  [0, 0, 0],
  [1, 0, 1],
  [0, 1, 0],
  [1, 1, 0],
  [1, 0, 0],
  [0, 0, 0],
  [1, 1, 1],
  [1, 1, 1],
  [0, 1, 0],
  [0, 0, 0],
  [1, 0, 0],
  [0, 0, 0],
  [0, 0, 0],
  [0, 1, 0],
  [1, 1, 0],
  [0, 0, 0],
  [0, 1, 0],
  [0, 0, 0],
  [0, 1, 1],
  [1, 0, 0],
  [1, 0, 1],
];
const S_SK = [
  [0.15, 0.51, 0.76],
  [0.34, 0.19, 0.46],
  [0.97, 0.6, 0.35],
  [0.04, 0.36, 0.67],
  [0.38, 0.89, 0.12],
  [0.18, 0.78, 0.63],
  [0.54, 0.05, 0.9],
  [0.2, 0.52, 0.41],
  [0.49, 0.59, 0.81],
  [0.55, 0.81, 0.1],
  [0.22, 0.29, 0.61],
  [0.11, 0.92, 0.86],
  [0.68, 0.26, 0.44],
  [0.47, 0.58, 0.68],
  [0.79, 0.64, 0.2],
  [0.58, 0.61, 0.36],
  [0.45, 0.58, 0.89],
  [0.52, 0.2, 0.6],
  [0.38, 0.37, 0.59],
  [0.37, 0.54, 0.16],
  [0.98, 0.53, 0.54],
  [0.66, 0.79, 0.59],
  [0.33, 0.34, 0.52],
  [0.51, 0.36, 0.11],
  [0.68, 0.35, 0.58],
  [0.35, 0.64, 0.34],
  [0.92, 0.61, 0.35],
  [0.05, 0.68, 0.05],
  [0.13, 0.31, 0.35],
  [0.71, 0.43, 0.26],
  [0.43, 0.11, 0.19],
  [0.56, 0.11, 0.16],
  [0.17, 0.64, 0.0],
  [0.32, 0.62, 0.11],
  [0.48, 0.56, 0.4],
  [0.49, 0.57, 0.03],
  [0.31, 0.26, 0.42],
  [0.09, 0.46, 0.87],
  [0.49, 0.29, 0.66],
  [0.49, 0.1, 0.79],
];

Deno.test("computeYoudenThresholds() picks scikit-learn's roc_curve argmax of TPR - FPR", () => {
  const { thresholds, j } = computeYoudenThresholds(S_SK, Y_SK);
  assertClose([...j], [0.4791666666666667, 0.6624040920716113, 0.48], { abs: 1e-12 }, "J");
  // the strict rule score > t predicts exactly what roc_curve's score >= thr[k] does
  const skThr = [0.45, 0.6, 0.34];
  const pred = predictLabels(S_SK, thresholds);
  for (let i = 0; i < 40; i++) {
    for (let c = 0; c < 3; c++) assert.equal(pred[i * 3 + c], S_SK[i][c] >= skThr[c] ? 1 : 0);
  }
  // subset accuracy and macro label accuracy at those thresholds and at 0.5
  assertClose([...computeSubsetAccuracy(S_SK, Y_SK, { threshold: thresholds })], [0.475], {
    abs: 1e-12,
  }, "subset");
  const acc = computeAccuracy(S_SK, Y_SK, { threshold: thresholds });
  assertClose([(acc[0] + acc[1] + acc[2]) / 3], [0.75], { abs: 1e-12 }, "1 - hamming");
  assertClose([...computeSubsetAccuracy(S_SK, Y_SK)], [0.375], { abs: 1e-12 }, "subset@0.5");
  const acc5 = computeAccuracy(S_SK, Y_SK);
  assertClose([(acc5[0] + acc5[1] + acc5[2]) / 3], [2 / 3], { abs: 1e-12 }, "1 - hamming@0.5");
  // plugins take per-label thresholds too
  assertClose([...subsetAccuracyMetric.compute(S_SK, Y_SK, { threshold: thresholds })], [0.475], {
    abs: 1e-12,
  }, "plugin");
});

Deno.test("Youden thresholds: single-class labels keep 0.5, a useless score predicts nothing, bad counts are refused", () => {
  // label 0 has positives only; label 1: positives at 0.3 and 0.2, the negative at 0.1
  const r = computeYoudenThresholds([[0.9, 0.3], [0.8, 0.2], [0.7, 0.1]], [[1, 1], [1, 1], [1, 0]]);
  assert.ok(Number.isNaN(r.j[0]));
  assert.equal(r.thresholds[0], 0.5);
  assert.equal(r.j[1], 1);
  // J = 1 at score >= 0.2 -> t = (0.2 + 0.1) / 2 for the strict rule
  assertClose(r.thresholds[1], 0.15, { abs: 1e-12 }, "t");
  // scores that rank the positives lowest: nothing beats predicting all negative (J = 0)
  const none = computeYoudenThresholds([0.9, 0.1], [0, 1]);
  assert.equal(none.j[0], 0);
  assert.equal(none.thresholds[0], Infinity);
  assert.deepEqual([...predictLabels([0.9, 0.1], none.thresholds)], [0, 0]);
  const all = computeYoudenThresholds([0.2, 0.2, 0.1], [1, 1, 0]);
  assertClose(all.thresholds[0], 0.15, { abs: 1e-12 }, "tied scores");
  assert.throws(() => computeAccuracy([[0.1, 0.2]], [[0, 1]], { threshold: [0.5] }), /must be 2/);
  assert.throws(() => computeYoudenThresholds([[0.2, 0.8]], [1]), TypeError);
});

Deno.test("threshold metrics carry their definition for the result record", () => {
  assert.match(accuracyMetric.definition!, /1 − hamming_loss/);
  assert.match(subsetAccuracyMetric.definition!, /accuracy_score on the label matrix/);
  assert.match(aucMetric.definition!, /no threshold/);
  assert.match(thresholdDefinition(), /greater than 0.5/);
  assert.match(thresholdDefinition({ rule: "youden", split: "val" }), /Youden's J/);
});

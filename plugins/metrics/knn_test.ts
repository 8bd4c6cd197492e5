import assert from "node:assert/strict";
import { classifyKnnCosine } from "./knn.ts";
import { assertClose, seededRandom } from "./_testing.ts";

/** Brute force: every cosine distance, sorted by (distance, index) with Array.sort. */
function bruteNeighbours(
  train: number[][],
  query: number[],
  k: number,
): { idx: number[]; dist: number[] } {
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const all = train.map((x, i) => {
    const dot = x.reduce((a, v, j) => a + v * query[j], 0);
    const d = 1 - dot / (norm(x) * norm(query));
    return { i, d };
  });
  all.sort((a, b) => a.d - b.d || a.i - b.i);
  return { idx: all.slice(0, k).map((e) => e.i), dist: all.slice(0, k).map((e) => e.d) };
}

Deno.test("classifyKnnCosine() matches brute-force neighbours and both votes", () => {
  const rand = seededRandom(11);
  const n = 50, q = 12, c = 3, k = 7;
  const labels = Array.from({ length: n }, () => Math.floor(rand() * c));
  const centre = [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0]];
  const point = (label: number) => centre[label].map((v) => v + (rand() - 0.5) * 1.2);
  const train = labels.map(point);
  const queryLabels = Array.from({ length: q }, () => Math.floor(rand() * c));
  const queries = queryLabels.map(point);
  const r = classifyKnnCosine(train, labels, queries, { k, numClasses: c, queryLabels });
  let majorityHits = 0;
  let weightedHits = 0;
  for (let i = 0; i < q; i++) {
    const b = bruteNeighbours(train, queries[i], k);
    assert.deepEqual([...r.neighbors.subarray(i * k, (i + 1) * k)], b.idx);
    assertClose(r.distances.subarray(i * k, (i + 1) * k), b.dist, { abs: 1e-14 });
    const votes = new Array(c).fill(0);
    const weights = new Array(c).fill(0);
    b.idx.forEach((t, j) => {
      votes[labels[t]]++;
      weights[labels[t]] += Math.exp((1 - b.dist[j]) / 0.07);
    });
    const majority = votes.indexOf(Math.max(...votes)); // first maximum = smallest label
    const weighted = weights.indexOf(Math.max(...weights));
    assert.equal(r.majorityPred[i], majority);
    assert.equal(r.weightedPred[i], weighted);
    assertClose(r.weightedScores.subarray(i * c, (i + 1) * c), weights, { rel: 1e-12 });
    if (majority === queryLabels[i]) majorityHits++;
    if (weighted === queryLabels[i]) weightedHits++;
  }
  assert.equal(r.majorityAccuracy, majorityHits / q);
  assert.equal(r.weightedAccuracy, weightedHits / q);
});

Deno.test("classifyKnnCosine() orders exactly tied neighbours by training index", () => {
  const train = [[1, 2], [5, 1], [1, 2], [0, 1], [1, 2], [2, -1]]; // rows 0, 2, 4 identical
  const r = classifyKnnCosine(train, [0, 1, 1, 0, 1, 0], [[1, 2.1]], { k: 4, numClasses: 2 });
  assert.deepEqual([...r.neighbors], [0, 2, 4, 3]);
  assert.equal(r.distances[0], r.distances[2]);
  // 2-2 vote: the smallest label wins the majority vote.
  const tie = classifyKnnCosine([[1, 0], [1, 0.3], [1, -0.35], [1, 0.05]], [1, 0, 0, 1], [[1, 0]], {
    k: 4,
    numClasses: 2,
  });
  assert.equal(tie.majorityPred[0], 0);
  assert.equal(tie.weightedPred[0], 1); // the closest neighbour weighs most
});

Deno.test("classifyKnnCosine() keeps zero rows at similarity 0 and uses the temperature", () => {
  const r = classifyKnnCosine([[0, 0], [1, 0]], [0, 1], [[0, 1]], {
    k: 2,
    numClasses: 2,
    temperature: 0.5,
  });
  assertClose(r.distances, [1, 1]);
  assert.deepEqual([...r.neighbors], [0, 1]);
  assertClose(r.weightedScores, [Math.exp(0), Math.exp(0)]);
});

Deno.test("classifyKnnCosine() accepts HostTensor-like inputs", () => {
  const train = { data: Float32Array.of(1, 0, 0, 1, 0.9, 0.1), shape: [3, 2] };
  const queries = { data: Float32Array.of(0.1, 1), shape: [1, 2] };
  const r = classifyKnnCosine(train, Int32Array.of(0, 1, 0), queries, { k: 1, numClasses: 2 });
  assert.deepEqual([...r.neighbors], [1]);
});

Deno.test("classifyKnnCosine() rejects bad input", () => {
  const train = [[1, 0], [0, 1]];
  const ok = { k: 1, numClasses: 2 };
  assert.throws(() => classifyKnnCosine(train, [0, 1], [[1, 0, 0]], ok), TypeError);
  assert.throws(() => classifyKnnCosine(train, [0], [[1, 0]], ok), TypeError);
  assert.throws(() => classifyKnnCosine(train, [0, 2], [[1, 0]], ok), RangeError);
  assert.throws(
    () => classifyKnnCosine(train, [0, 1], [[1, 0]], { k: 3, numClasses: 2 }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot compute knnCosine as k must not exceed the 2 training rows: current value is 3",
  );
  assert.throws(
    () => classifyKnnCosine(train, [0, 1], [[1, 0]], { k: 0, numClasses: 2 }),
    RangeError,
  );
  assert.throws(() => classifyKnnCosine(train, [0, 1], [[1, NaN]], ok), RangeError);
  assert.throws(
    () => classifyKnnCosine(train, [0, 1], [[1, 0]], { ...ok, temperature: 0 }),
    RangeError,
  );
  assert.throws(
    () => classifyKnnCosine(train, [0, 1], [[1, 0]], { ...ok, queryLabels: [5] }),
    RangeError,
  );
  assert.throws(() => classifyKnnCosine([1, 0], [0, 1], [[1, 0]], ok), TypeError);
  assert.throws(() => classifyKnnCosine(train, [0, 1], [[1, 0]], undefined as never), TypeError);
});

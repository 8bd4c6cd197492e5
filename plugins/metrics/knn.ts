// This module is browser compatible.
/**
 * Cosine k-nearest-neighbour classification, the CPU reference of the k-NN
 * head: neighbour selection with a documented tie order, scikit-learn's
 * majority vote and DINO's `exp(sim / T)` weighted vote.
 *
 * Conventions:
 *
 * - cosine distance `1 − q·x / (|q|·|x|)`, computed as scikit-learn's
 *   `cosine_distances` does: rows are L2-normalised (an all-zero row stays
 *   zero, so its similarity to anything is 0), the distance is clipped to
 *   [0, 2];
 * - neighbours: the `k` training rows with the smallest distance, ordered by
 *   distance and then by training index (exactly equal distances, e.g.
 *   duplicate training rows, keep index order);
 * - majority vote: the most frequent label among the neighbours, ties to the
 *   smallest label (scikit-learn `KNeighborsClassifier`);
 * - weighted vote (DINO `eval_knn.py`): class score `Σ exp(cos_sim / T)` over
 *   the neighbours of that class, with `cos_sim = 1 − distance` and
 *   `T = 0.07`; the prediction is the first maximum.
 *
 * @example
 * ```ts
 * import { classifyKnnCosine } from "./knn.ts";
 * import assert from "node:assert/strict";
 *
 * const train = [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]];
 * const result = classifyKnnCosine(train, [0, 0, 1, 1], [[1, 0.05]], { k: 3, numClasses: 2 });
 * assert.deepEqual([...result.neighbors], [0, 1, 3]);
 * assert.deepEqual([...result.majorityPred], [0]);
 * ```
 *
 * @module
 */

import { formatShape } from "../../core/tensor.ts";
import type { MatrixInput } from "./types.ts";
import { checkIndices, checkInteger, toMatrix } from "./_validate.ts";

/** DINO's temperature of the weighted vote. */
export const KNN_TEMPERATURE = 0.07;

/** Options of {@linkcode classifyKnnCosine}. */
export interface KnnOptions {
  /** Number of neighbours, 1 ≤ k ≤ number of training rows. */
  k: number;
  /** Number of classes C; labels are integers in [0, C). */
  numClasses: number;
  /** Temperature T of the weighted vote `exp(cos_sim / T)`. @default {0.07} */
  temperature?: number;
  /** Labels of the queries `[Q]`; when given, the accuracies are reported. */
  queryLabels?: ArrayLike<number>;
}

/** What {@linkcode classifyKnnCosine} returns (row-major arrays). */
export interface KnnResult {
  /** Number of queries Q. */
  numQueries: number;
  /** Number of neighbours k. */
  k: number;
  /** Number of classes C. */
  numClasses: number;
  /** Training indices of the neighbours, `[Q, k]`, nearest first. */
  neighbors: Int32Array;
  /** Their cosine distances, `[Q, k]`, ascending. */
  distances: Float64Array;
  /** Majority vote, `[Q]` (ties to the smallest label). */
  majorityPred: Int32Array;
  /** DINO weighted class scores, `[Q, C]`. */
  weightedScores: Float64Array;
  /** Argmax of the weighted scores, `[Q]` (first maximum). */
  weightedPred: Int32Array;
  /** Fraction of majority predictions equal to `queryLabels`, when given. */
  majorityAccuracy?: number;
  /** Fraction of weighted predictions equal to `queryLabels`, when given. */
  weightedAccuracy?: number;
}

const METRIC = "knnCosine";

function features(what: string, input: MatrixInput): { data: Float64Array; n: number; d: number } {
  const m = toMatrix(METRIC, what, input);
  if (m.shape.length !== 2) {
    throw new TypeError(
      `Cannot compute ${METRIC} as ${what} must have shape [N, D]: current shape is ${
        formatShape(m.shape)
      }`,
    );
  }
  const [n, d] = m.shape;
  // Row-normalised copy in float64 (scikit-learn's normalize: zero rows stay zero).
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = m.data[i * d + j];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(
          `Cannot compute ${METRIC} as ${what} must be finite: current value at [${i}, ${j}] is ${v}`,
        );
      }
      sq += v * v;
    }
    const norm = Math.sqrt(sq);
    for (let j = 0; j < d; j++) out[i * d + j] = norm === 0 ? 0 : m.data[i * d + j] / norm;
  }
  return { data: out, n, d };
}

/**
 * Classifies queries by their k nearest training rows under cosine distance
 * (the CPU reference of the k-NN head). O(Q·N·D) time, O(N·D) extra memory.
 *
 * @example Duplicate training rows tie exactly and keep index order
 * ```ts
 * import { classifyKnnCosine } from "./knn.ts";
 * import assert from "node:assert/strict";
 *
 * const train = [[0, 1], [1, 1], [0, 2], [1, 1]];
 * const r = classifyKnnCosine(train, [0, 1, 0, 0], [[2, 2]], {
 *   k: 2,
 *   numClasses: 2,
 *   queryLabels: [1],
 * });
 * assert.deepEqual([...r.neighbors], [1, 3]);
 * assert.deepEqual([...r.majorityPred], [0]); // 1-1 tie: smallest label
 * assert.ok(Math.abs(r.weightedScores[0] / Math.exp(1 / 0.07) - 1) < 1e-12);
 * assert.equal(r.majorityAccuracy, 0);
 * ```
 *
 * @param train Training features `[N, D]` (a `HostTensor` fits).
 * @param trainLabels Training labels `[N]`, integers in [0, numClasses).
 * @param queries Query features `[Q, D]`.
 * @param options `k`, `numClasses`, `temperature`, `queryLabels`.
 * @returns Neighbours, distances, both votes and, with labels, accuracies.
 */
export function classifyKnnCosine(
  train: MatrixInput,
  trainLabels: ArrayLike<number>,
  queries: MatrixInput,
  options: KnnOptions,
): KnnResult {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot compute ${METRIC} as options { k, numClasses } are required: current value is ${options}`,
    );
  }
  const x = features("train", train);
  const q = features("queries", queries);
  if (q.d !== x.d) {
    throw new TypeError(
      `Cannot compute ${METRIC} as queries must have ${x.d} features like train: current shape is [${q.n}, ${q.d}]`,
    );
  }
  if (trainLabels === null || typeof trainLabels !== "object" || trainLabels.length !== x.n) {
    throw new TypeError(
      `Cannot compute ${METRIC} as trainLabels must have shape [${x.n}]: current length is ${trainLabels?.length}`,
    );
  }
  const numClasses = checkInteger(METRIC, "numClasses", options.numClasses, 1);
  checkIndices(METRIC, "trainLabels", trainLabels, numClasses);
  const k = checkInteger(METRIC, "k", options.k, 1);
  if (k > x.n) {
    throw new RangeError(
      `Cannot compute ${METRIC} as k must not exceed the ${x.n} training rows: current value is ${k}`,
    );
  }
  const temperature = options.temperature ?? KNN_TEMPERATURE;
  if (typeof temperature !== "number" || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RangeError(
      `Cannot compute ${METRIC} as temperature must be finite and > 0: current value is ${temperature}`,
    );
  }
  const queryLabels = options.queryLabels;
  if (queryLabels !== undefined) {
    if (queryLabels === null || typeof queryLabels !== "object" || queryLabels.length !== q.n) {
      throw new TypeError(
        `Cannot compute ${METRIC} as queryLabels must have shape [${q.n}]: current length is ${
          (queryLabels as ArrayLike<number> | null)?.length
        }`,
      );
    }
    checkIndices(METRIC, "queryLabels", queryLabels, numClasses);
  }

  const { d } = x;
  const neighbors = new Int32Array(q.n * k); // [Q, k]
  const distances = new Float64Array(q.n * k); // [Q, k]
  const majorityPred = new Int32Array(q.n); // [Q]
  const weightedScores = new Float64Array(q.n * numClasses); // [Q, C]
  const weightedPred = new Int32Array(q.n); // [Q]
  const bestIdx = new Int32Array(k);
  const bestDist = new Float64Array(k);
  const votes = new Float64Array(numClasses);
  for (let qi = 0; qi < q.n; qi++) {
    let count = 0;
    for (let t = 0; t < x.n; t++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += q.data[qi * d + j] * x.data[t * d + j];
      let dist = 1 - dot;
      if (dist < 0) dist = 0;
      else if (dist > 2) dist = 2;
      if (count === k && !(dist < bestDist[k - 1])) continue;
      // Insert after every entry with distance <= dist: (distance, index) order.
      let pos = count < k ? count : k - 1;
      while (pos > 0 && bestDist[pos - 1] > dist) {
        bestDist[pos] = bestDist[pos - 1];
        bestIdx[pos] = bestIdx[pos - 1];
        pos--;
      }
      bestDist[pos] = dist;
      bestIdx[pos] = t;
      if (count < k) count++;
    }
    votes.fill(0);
    for (let r = 0; r < k; r++) {
      const t = bestIdx[r];
      neighbors[qi * k + r] = t;
      distances[qi * k + r] = bestDist[r];
      const label = trainLabels[t];
      votes[label] += 1;
      weightedScores[qi * numClasses + label] += Math.exp((1 - bestDist[r]) / temperature);
    }
    let majority = 0;
    let weighted = 0;
    for (let c = 1; c < numClasses; c++) {
      if (votes[c] > votes[majority]) majority = c;
      if (weightedScores[qi * numClasses + c] > weightedScores[qi * numClasses + weighted]) {
        weighted = c;
      }
    }
    majorityPred[qi] = majority;
    weightedPred[qi] = weighted;
  }
  const result: KnnResult = {
    numQueries: q.n,
    k,
    numClasses,
    neighbors,
    distances,
    majorityPred,
    weightedScores,
    weightedPred,
  };
  if (queryLabels !== undefined) {
    let m = 0;
    let w = 0;
    for (let i = 0; i < q.n; i++) {
      if (majorityPred[i] === queryLabels[i]) m++;
      if (weightedPred[i] === queryLabels[i]) w++;
    }
    result.majorityAccuracy = m / q.n;
    result.weightedAccuracy = w / q.n;
  }
  return result;
}

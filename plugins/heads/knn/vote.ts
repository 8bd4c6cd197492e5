/**
 * k-NN votes from neighbours (pure functions, float64): the uniform
 * majority vote (ties to the smallest label), the DINO-style weighted vote
 * `Σ exp(cos_sim / T)` per class, and per-label binary scores for
 * multi-label problems (each label an independent binary k-NN over the
 * same neighbours, as the report does for CT-RATE). Conventions:
 * `fixtures/metrics/README.md`.
 *
 * @module
 */

import type { Neighbours } from "../../../kernels/knn/knn_ref.ts";

/** Multi-class votes of each query. */
export interface KnnVotes {
  /** Most frequent class among the neighbours, ties to the smallest, `[Q]`. */
  majorityPred: Int32Array;
  /** `Σ_{neighbours of class c} exp((1 − distance) / T)`, `[Q, C]`. */
  weightedScores: Float64Array;
  /** Argmax of `weightedScores` (first maximum), `[Q]`. */
  weightedPred: Int32Array;
  /** `[Q, C]`. */
  shape: [number, number];
}

/**
 * Multi-class votes over the neighbours: `labels[i]` is the class of
 * training row i.
 *
 * @example
 * ```ts
 * import { knnVote } from "./vote.ts";
 * import assert from "node:assert/strict";
 * const nb = { indices: Int32Array.from([0, 1, 2, 3]), distances: Float64Array.from([0, 0.1, 0.2, 0.3]), shape: [1, 4] as [number, number] };
 * const v = knnVote(nb, [1, 0, 0, 1], 2, 0.07);
 * assert.equal(v.majorityPred[0], 0); // 2–2 tie → smallest label
 * assert.equal(v.weightedPred[0], 1); // the nearest neighbour weighs most
 * ```
 */
export function knnVote(
  neighbours: Neighbours,
  labels: ArrayLike<number>,
  numClasses: number,
  temperature: number,
): KnnVotes {
  const [q, k] = neighbours.shape;
  const c = numClasses;
  const majorityPred = new Int32Array(q);
  const weightedPred = new Int32Array(q);
  const weightedScores = new Float64Array(q * c);
  const counts = new Float64Array(c);
  for (let r = 0; r < q; r++) {
    counts.fill(0);
    for (let i = 0; i < k; i++) {
      const label = labels[neighbours.indices[r * k + i]];
      counts[label]++;
      weightedScores[r * c + label] += Math.exp(
        (1 - neighbours.distances[r * k + i]) / temperature,
      );
    }
    majorityPred[r] = argmax(counts, 0, c);
    weightedPred[r] = argmax(weightedScores, r * c, c);
  }
  return { majorityPred, weightedScores, weightedPred, shape: [q, c] };
}

function argmax(x: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (x[offset + j] > x[offset + best]) best = j;
  return best;
}

/** How a score is formed from the neighbours. */
export type KnnVote = "weighted" | "majority";

/**
 * Per-label binary scores `[Q, L]` from 0/1 labels `[M, L]`: the weighted
 * (or uniform) share of the neighbours that are positive for the label.
 *
 * @example
 * ```ts
 * import { knnLabelScores } from "./vote.ts";
 * import assert from "node:assert/strict";
 * const nb = { indices: Int32Array.from([0, 1]), distances: Float64Array.from([0, 0]), shape: [1, 2] as [number, number] };
 * const s = knnLabelScores(nb, Float32Array.from([1, 0, 1, 1]), 2, "majority", 0.07);
 * assert.deepEqual([...s], [1, 0.5]);
 * ```
 */
export function knnLabelScores(
  neighbours: Neighbours,
  labels: ArrayLike<number>,
  numLabels: number,
  vote: KnnVote,
  temperature: number,
): Float64Array {
  const [q, k] = neighbours.shape;
  const out = new Float64Array(q * numLabels);
  for (let r = 0; r < q; r++) {
    let total = 0;
    for (let i = 0; i < k; i++) {
      const w = vote === "weighted"
        ? Math.exp((1 - neighbours.distances[r * k + i]) / temperature)
        : 1;
      total += w;
      const t = neighbours.indices[r * k + i];
      for (let j = 0; j < numLabels; j++) out[r * numLabels + j] += w * labels[t * numLabels + j];
    }
    for (let j = 0; j < numLabels; j++) out[r * numLabels + j] /= total;
  }
  return out;
}

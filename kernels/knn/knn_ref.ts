// This module is browser compatible.
/**
 * CPU reference of cosine k-nearest-neighbour search, written from the
 * definition: cosine distance `1 − q·x / (|q|·|x|)` in float64 for every
 * (query, training row), neighbours ordered by distance then training
 * index (the conventions of `fixtures/metrics/knn.json`). A zero vector
 * has similarity 0 to everything (distance 1), as scikit-learn's
 * normalisation gives.
 *
 * @module
 */

/** A row-major matrix of any numeric array type (float64 fixtures included). */
export interface Matrix {
  /** Values, row-major. */
  readonly data: ArrayLike<number>;
  /** `[rows, cols]`. */
  readonly shape: readonly number[];
}

/** Neighbours of each query. */
export interface Neighbours {
  /** Training-row indices `[Q, k]`, nearest first. */
  indices: Int32Array;
  /** Cosine distances `[Q, k]` (float64). */
  distances: Float64Array;
  /** `[Q, k]`. */
  shape: [number, number];
}

/** Euclidean norms of the rows, float64. */
export function rowNorms(x: Matrix): Float64Array {
  const [n, f] = x.shape;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < f; j++) s += x.data[r * f + j] * x.data[r * f + j];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Cosine distance of query row `qi` and training row `ti`, float64. */
export function cosineDistance(
  queries: Matrix,
  qi: number,
  qNorm: number,
  train: Matrix,
  ti: number,
  tNorm: number,
): number {
  const f = train.shape[1];
  if (qNorm === 0 || tNorm === 0) return 1;
  let dot = 0;
  for (let j = 0; j < f; j++) dot += queries.data[qi * f + j] * train.data[ti * f + j];
  return 1 - dot / (qNorm * tNorm);
}

/**
 * The k nearest training rows of each query by cosine distance.
 *
 * @example
 * ```ts
 * import { cosineKnnRef } from "./knn_ref.ts";
 * import assert from "node:assert/strict";
 * const train = { data: [1, 0, 0, 1, 1, 1, 2, 0], shape: [4, 2] };
 * const r = cosineKnnRef(train, { data: [1, 0.1], shape: [1, 2] }, 3);
 * assert.deepEqual([...r.indices], [0, 3, 2]);
 * ```
 */
export function cosineKnnRef(train: Matrix, queries: Matrix, k: number): Neighbours {
  const [m] = train.shape;
  const [q] = queries.shape;
  const tn = rowNorms(train);
  const qn = rowNorms(queries);
  const indices = new Int32Array(q * k);
  const distances = new Float64Array(q * k);
  const d = new Float64Array(m);
  for (let r = 0; r < q; r++) {
    for (let t = 0; t < m; t++) d[t] = cosineDistance(queries, r, qn[r], train, t, tn[t]);
    const order = Array.from({ length: m }, (_, t) => t).sort((a, b) => d[a] - d[b] || a - b);
    for (let i = 0; i < k; i++) {
      indices[r * k + i] = order[i];
      distances[r * k + i] = d[order[i]];
    }
  }
  return { indices, distances, shape: [q, k] };
}

/**
 * Test helpers of the heads: synthetic problems, a float64 logistic
 * regression solved by Newton's method, and a rank AUC.
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";
import { seededRandom } from "../../kernels/_testing.ts";

import { gaussian } from "../../core/random.ts";

export { gaussian };

/**
 * A multi-label problem whose labels are independent Bernoulli(0.4) draws
 * and whose features are `scale · (noise + Σ_k (y_k − ½)·delta·u_k) + 0.3`
 * with unit directions `u_k` drawn from `seed` (samples from `sampleSeed`
 * when given, so a test set shares the directions): two overlapping Gaussians per label, so the
 * Bayes AUC is Φ(delta/√2) and the logistic regression optimum is finite.
 */
export function gaussianLabels(
  n: number,
  f: number,
  k: number,
  seed: number,
  options: { scale?: number; delta?: number; sampleSeed?: number } = {},
): { x: HostTensor; y: HostTensor } {
  const scale = options.scale ?? 1;
  const delta = options.delta ?? 4;
  let rand = seededRandom(seed);
  const dirs: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const d = Float64Array.from({ length: f }, () => gaussian(rand));
    const norm = Math.hypot(...d);
    dirs.push(d.map((v) => v / norm));
  }
  if (options.sampleSeed !== undefined) rand = seededRandom(options.sampleSeed);
  const x = new Float32Array(n * f);
  const y = new Float32Array(n * k);
  const row = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < f; c++) row[c] = gaussian(rand);
    for (let j = 0; j < k; j++) {
      const label = rand() < 0.4 ? 1 : 0;
      y[i * k + j] = label;
      for (let c = 0; c < f; c++) row[c] += (label - 0.5) * delta * dirs[j][c];
    }
    for (let c = 0; c < f; c++) x[i * f + c] = row[c] * scale + 0.3;
  }
  return { x: { data: x, shape: [n, f] }, y: { data: y, shape: [n, k] } };
}

/**
 * The minimum mean BCE of an unregularised logistic regression (with
 * intercept) per label, by Newton's method in float64 to a step below
 * 1e-12, averaged over the labels.
 */
export function logisticRegressionLoss(x: HostTensor, y: HostTensor): number {
  const [n, f] = x.shape;
  const k = y.data.length / n;
  const d = f + 1;
  let total = 0;
  for (let j = 0; j < k; j++) {
    const w = new Float64Array(d);
    let loss = 0;
    for (let it = 0; it < 100; it++) {
      const g = new Float64Array(d);
      const h = new Float64Array(d * d);
      loss = 0;
      for (let i = 0; i < n; i++) {
        let z = w[f];
        for (let c = 0; c < f; c++) z += w[c] * x.data[i * f + c];
        const t = y.data[i * k + j];
        loss += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
        const p = 1 / (1 + Math.exp(-z));
        const s = p * (1 - p);
        for (let a = 0; a < d; a++) {
          const xa = a === f ? 1 : x.data[i * f + a];
          g[a] += (p - t) * xa;
          for (let b = 0; b <= a; b++) h[a * d + b] += s * xa * (b === f ? 1 : x.data[i * f + b]);
        }
      }
      for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) h[b * d + a] = h[a * d + b];
      const step = solve(h, g, d);
      let largest = 0;
      for (let a = 0; a < d; a++) {
        w[a] -= step[a];
        largest = Math.max(largest, Math.abs(step[a]));
      }
      if (largest < 1e-12) break;
    }
    total += loss / n;
  }
  return total / k;
}

/** Solves `A·s = b` (Gaussian elimination with partial pivoting). */
function solve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const m = Array.from({ length: d }, (_, r) => [...a.subarray(r * d, r * d + d), b[r]]);
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const factor = m[r][c] / m[c][c];
      for (let c2 = c; c2 <= d; c2++) m[r][c2] -= factor * m[c][c2];
    }
  }
  return Float64Array.from({ length: d }, (_, r) => m[r][d] / m[r][r]);
}

/** Mean BCE of probabilities against 0/1 targets, float64. */
export function meanBce(p: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(Math.max(p[i], 1e-15), 1 - 1e-15);
    s -= y[i] * Math.log(q) + (1 - y[i]) * Math.log(1 - q);
  }
  return s / p.length;
}

/** Rank AUC of one column (ties count ½): `(1/(P·N)) Σ_pos Σ_neg [s_pos > s_neg] + ½[=]`. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) =>
    scores[a] - scores[b]
  );
  let pos = 0;
  let rankSum = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const mid = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let t = i; t <= j; t++) {
      if (labels[idx[t]] === 1) {
        pos++;
        rankSum += mid;
      }
    }
    i = j + 1;
  }
  const neg = scores.length - pos;
  return (rankSum - pos * (pos + 1) / 2) / (pos * neg);
}

/** Macro AUC over the columns of `[N, K]` scores and labels. */
export function macroAuc(scores: HostTensor, labels: HostTensor): number {
  const [n, k] = scores.shape;
  let s = 0;
  for (let j = 0; j < k; j++) {
    const col = Float64Array.from({ length: n }, (_, i) => scores.data[i * k + j]);
    const lab = Float64Array.from({ length: n }, (_, i) => labels.data[i * k + j]);
    s += rocAuc(col, lab);
  }
  return s / k;
}

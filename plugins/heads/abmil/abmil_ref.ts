/**
 * A plain reference of ABMIL (Ilse et al. 2018, gated attention), written
 * from the formulas with float64 intermediates. It is the CPU fallback of
 * the head and the oracle its GPU step is tested against; its gradients
 * are checked by finite differences in `abmil_test.ts`.
 *
 * ```
 * h   = ReLU(X·W1ᵀ + b1)                          [N, L]
 * a_n = softmax_n( wᵀ (tanh(V h_n + bV) ⊙ σ(U h_n + bU)) )
 * z   = Σ_n a_n h_n                                [L]
 * ŷ   = C z + c                                    [K]
 * ℓ   = −log softmax(ŷ)_y                          (bag-level cross-entropy)
 * ```
 * `V` and `U` are stored stacked as `vu: [2D, L]` (`V` first), their
 * biases as `bvu: [2D]`.
 *
 * @module
 */

import type { HostTensor } from "../../../core/tensor.ts";

/** ABMIL parameters (row-major float32, PyTorch `nn.Linear` layouts). */
export interface AbmilParams {
  /** Projection `[L, F]`. */
  w1: Float32Array;
  /** Projection bias `[L]`. */
  b1: Float32Array;
  /** Attention branches `[2D, L]`: V rows then U rows. */
  vu: Float32Array;
  /** Their biases `[2D]`. */
  bvu: Float32Array;
  /** Attention output weights `[D]`. */
  w: Float32Array;
  /** Classifier `[K, L]`. */
  c: Float32Array;
  /** Classifier bias `[K]`. */
  cb: Float32Array;
  /** Input features F. */
  f: number;
  /** Hidden size L. */
  l: number;
  /** Attention size D. */
  d: number;
  /** Classes K. */
  k: number;
}

/** The parameter tensors of {@linkcode AbmilParams}, in update order. */
export const ABMIL_TENSORS: readonly ("w1" | "b1" | "vu" | "bvu" | "w" | "c" | "cb")[] = [
  "w1",
  "b1",
  "vu",
  "bvu",
  "w",
  "c",
  "cb",
];

/** Shape of each parameter tensor. */
export function abmilShapes(p: Pick<AbmilParams, "f" | "l" | "d" | "k">): Record<string, number[]> {
  return {
    w1: [p.l, p.f],
    b1: [p.l],
    vu: [2 * p.d, p.l],
    bvu: [2 * p.d],
    w: [p.d],
    c: [p.k, p.l],
    cb: [p.k],
  };
}

/** Everything the forward pass computes. */
export interface AbmilForward {
  /** `[N, L]`. */
  h: Float64Array;
  /** Pre-activations of the attention branches `[N, 2D]`. */
  s: Float64Array;
  /** Attention logits `[N]`. */
  e: Float64Array;
  /** Attention weights `[N]`. */
  a: Float64Array;
  /** Bag representation `[L]`. */
  z: Float64Array;
  /** Class logits `[K]`. */
  logits: Float64Array;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** ABMIL forward pass on one bag `[N, F]`. */
export function abmilForwardRef(p: AbmilParams, bag: HostTensor): AbmilForward {
  const n = bag.shape[0];
  const { f, l, d, k } = p;
  const h = new Float64Array(n * l);
  const s = new Float64Array(n * 2 * d);
  const e = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < l; j++) {
      let acc = p.b1[j];
      for (let i = 0; i < f; i++) acc += bag.data[r * f + i] * p.w1[j * f + i];
      h[r * l + j] = Math.max(acc, 0);
    }
    for (let j = 0; j < 2 * d; j++) {
      let acc = p.bvu[j];
      for (let i = 0; i < l; i++) acc += h[r * l + i] * p.vu[j * l + i];
      s[r * 2 * d + j] = acc;
    }
    let acc = 0;
    for (let j = 0; j < d; j++) {
      acc += Math.tanh(s[r * 2 * d + j]) * sigmoid(s[r * 2 * d + d + j]) * p.w[j];
    }
    e[r] = acc;
  }
  let m = -Infinity;
  for (const v of e) m = Math.max(m, v);
  let sum = 0;
  for (const v of e) sum += Math.exp(v - m);
  const a = e.map((v) => Math.exp(v - m) / sum);
  const z = new Float64Array(l);
  for (let r = 0; r < n; r++) for (let j = 0; j < l; j++) z[j] += a[r] * h[r * l + j];
  const logits = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let acc = p.cb[c];
    for (let j = 0; j < l; j++) acc += p.c[c * l + j] * z[j];
    logits[c] = acc;
  }
  return { h, s, e, a, z, logits };
}

/** Bag-level cross-entropy of logits against class `y`. */
export function crossEntropy(logits: ArrayLike<number>, y: number): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  return m + Math.log(s) - logits[y];
}

/** Loss and gradients of one bag. */
export interface AbmilGradients {
  /** Cross-entropy of the bag. */
  loss: number;
  /** Gradients by parameter name (same layouts as the parameters). */
  grads: Record<"w1" | "b1" | "vu" | "bvu" | "w" | "c" | "cb", Float32Array>;
  /** The forward pass. */
  forward: AbmilForward;
}

/** Backward pass of the bag-level cross-entropy of one bag with class `y`. */
export function abmilBackwardRef(p: AbmilParams, bag: HostTensor, y: number): AbmilGradients {
  const fw = abmilForwardRef(p, bag);
  const { h, s, a, z, logits } = fw;
  const n = bag.shape[0];
  const { f, l, d, k } = p;
  // dℓ/dŷ = softmax(ŷ) − onehot(y)
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - m);
  const dlogits = logits.map((v, c) => Math.exp(v - m) / sum - (c === y ? 1 : 0));
  const dc = new Float64Array(k * l);
  const dz = new Float64Array(l);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < l; j++) {
      dc[c * l + j] = dlogits[c] * z[j];
      dz[j] += dlogits[c] * p.c[c * l + j];
    }
  }
  // z = Σ a_n h_n
  const dh = new Float64Array(n * l);
  const da = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < l; j++) {
      dh[r * l + j] = a[r] * dz[j];
      da[r] += h[r * l + j] * dz[j];
    }
  }
  let ada = 0;
  for (let r = 0; r < n; r++) ada += a[r] * da[r];
  const de = a.map((v, r) => v * (da[r] - ada));
  // e = wᵀ(tanh(S_V) ⊙ σ(S_U))
  const dw = new Float64Array(d);
  const ds = new Float64Array(n * 2 * d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) {
      const v = Math.tanh(s[r * 2 * d + j]);
      const u = sigmoid(s[r * 2 * d + d + j]);
      dw[j] += de[r] * v * u;
      const dg = de[r] * p.w[j];
      ds[r * 2 * d + j] = dg * u * (1 - v * v);
      ds[r * 2 * d + d + j] = dg * v * u * (1 - u);
    }
  }
  // S = h·VUᵀ + bVU
  const dvu = new Float64Array(2 * d * l);
  const dbvu = new Float64Array(2 * d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < 2 * d; j++) {
      const g = ds[r * 2 * d + j];
      dbvu[j] += g;
      for (let i = 0; i < l; i++) {
        dvu[j * l + i] += g * h[r * l + i];
        dh[r * l + i] += g * p.vu[j * l + i];
      }
    }
  }
  // h = ReLU(X·W1ᵀ + b1)
  const dw1 = new Float64Array(l * f);
  const db1 = new Float64Array(l);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < l; j++) {
      const g = h[r * l + j] > 0 ? dh[r * l + j] : 0;
      if (g === 0) continue;
      db1[j] += g;
      for (let i = 0; i < f; i++) dw1[j * f + i] += g * bag.data[r * f + i];
    }
  }
  return {
    loss: crossEntropy(logits, y),
    grads: {
      w1: Float32Array.from(dw1),
      b1: Float32Array.from(db1),
      vu: Float32Array.from(dvu),
      bvu: Float32Array.from(dbvu),
      w: Float32Array.from(dw),
      c: Float32Array.from(dc),
      cb: Float32Array.from(dlogits),
    },
    forward: fw,
  };
}

// This module is browser compatible.
/**
 * CPU reference of the matmul family: `y = x · wᵀ + bias` with the GELU and
 * LayerScale-residual epilogues, in plain loops with f64 accumulation, and
 * the exact `erf`/GELU they use.
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../core/tensor.ts";

/** What is applied after `x · wᵀ + bias`. */
export type MatmulEpilogue = "none" | "gelu" | "layer_scale_residual";

/** Arguments of {@linkcode matmulRef} besides `x`. */
export interface MatmulRefArgs {
  /** `[N, K]`, PyTorch `Linear.weight` layout. */
  weight: HostTensor;
  /** `[N]`, optional. */
  bias?: HostTensor;
  /** @default {"none"} */
  epilogue?: MatmulEpilogue;
  /** `[N]` LayerScale, for `"layer_scale_residual"`. */
  gamma?: HostTensor;
  /** `[M, N]` residual, for `"layer_scale_residual"`. */
  residual?: HostTensor;
}

/**
 * The error function in double precision: the Maclaurin series for
 * |x| < 2.5 and the Laplace continued fraction of erfc beyond (both to
 * ~1e-15).
 *
 * @example Hand-checked values (Abramowitz & Stegun table 7.1)
 * ```ts
 * import { erfRef } from "./matmul_ref.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(erfRef(0.5) - 0.5204998778130465) < 1e-15);
 * assert.ok(Math.abs(erfRef(-1) + 0.8427007929497149) < 1e-15);
 * assert.ok(Math.abs(erfRef(3) - 0.9999779095030014) < 1e-15);
 * ```
 */
export function erfRef(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(x)) return NaN;
  if (a < 2.5) {
    // 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x; // (-1)^n x^(2n+1) / n!
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x * x / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return sum * 2 / Math.sqrt(Math.PI);
  }
  if (a > 27) return Math.sign(x);
  // erfc(a) = exp(-a²)/√π · 1 / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
  let t = a;
  for (let n = 80; n >= 1; n--) t = a + (n / 2) / t;
  const erfc = Math.exp(-a * a) / (Math.sqrt(Math.PI) * t);
  return Math.sign(x) * (1 - erfc);
}

/**
 * Exact GELU, `0.5 · x · (1 + erf(x / √2))` (PyTorch `nn.GELU()`).
 *
 * @example
 * ```ts
 * import { geluRef } from "./matmul_ref.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(geluRef(1) - 0.8413447460685429) < 1e-15);
 * assert.ok(Math.abs(geluRef(-1) + 0.15865525393145707) < 1e-15);
 * ```
 */
export function geluRef(x: number): number {
  return 0.5 * x * (1 + erfRef(x / Math.SQRT2));
}

/**
 * `x · wᵀ + bias`, then the epilogue, with f64 accumulation. `x` is
 * `[..., K]`; the result is `[..., N]`.
 *
 * @example A 2×2 by 3×2 product with bias and GELU
 * ```ts
 * import { geluRef, matmulRef } from "./matmul_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] };
 * const weight = { data: new Float32Array([1, 0, 0, 1, 1, -1]), shape: [3, 2] };
 * const bias = { data: new Float32Array([0, 0, 0.5]), shape: [3] };
 * assert.deepEqual([...matmulRef(x, { weight, bias }).data], [1, 2, -0.5, 3, 4, -0.5]);
 * const g = matmulRef(x, { weight, bias, epilogue: "gelu" });
 * assert.equal(g.data[2], Math.fround(geluRef(-0.5)));
 * ```
 */
export function matmulRef(x: HostTensor, args: MatmulRefArgs): HostTensor {
  const K = x.shape[x.shape.length - 1];
  const M = x.data.length / K;
  const [N, K2] = args.weight.shape;
  if (K2 !== K || args.weight.shape.length !== 2) {
    throw new TypeError(
      `Cannot run matmulRef as weight must have shape [*, ${K}]: current shape is ${
        formatShape(args.weight.shape)
      }`,
    );
  }
  const epilogue = args.epilogue ?? "none";
  const w = args.weight.data;
  const out = new Float32Array(M * N);
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < N; c++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x.data[r * K + k] * w[c * K + k];
      if (args.bias) acc += args.bias.data[c];
      if (epilogue === "gelu") acc = geluRef(acc);
      if (epilogue === "layer_scale_residual") {
        acc = args.residual!.data[r * N + c] + args.gamma!.data[c] * acc;
      }
      out[r * N + c] = acc;
    }
  }
  return { data: out, shape: [...x.shape.slice(0, -1), N] };
}

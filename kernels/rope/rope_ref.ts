// This module is browser compatible.
/**
 * CPU side of the rope family: DINOv3's axial 2D RoPE tables, computed in
 * f64 with `Math.sin`/`Math.cos` (WGSL only guarantees ~2^-11 absolute
 * accuracy for f32 sin/cos) and rounded to f32 once, and a plain-loop
 * reference of the rotation.
 *
 * Geometry (DINOV3_SPEC.md §2.5): patch centres `y_i = 2(i + 0.5)/h − 1`,
 * `x_j = 2(j + 0.5)/w − 1` (each axis by its own count: "separate");
 * periods `P_f = base^(4f/Dh)`, f < Dh/4; angle channels
 * `[y-freqs | x-freqs | y-freqs | x-freqs]`, each `2π·coord/P_f`;
 * rotate-half pairs `(c, c + Dh/2)`.
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../core/tensor.ts";

/** The sin and cos tables of one patch grid, `[h·w, Dh]` each. */
export interface RopeTables {
  /** `sin(θ)`, `[h·w, Dh]`, rows = patch tokens row-major. */
  sin: HostTensor;
  /** `cos(θ)`, `[h·w, Dh]`. */
  cos: HostTensor;
}

/**
 * The RoPE angles of a patch grid in f64, `[h·w · Dh]` row-major.
 *
 * @example The spec's 3×5 example grid: x coordinates −0.8 … 0.8
 * ```ts
 * import { ropeAnglesRef } from "./rope_ref.ts";
 * import assert from "node:assert/strict";
 * const a = ropeAnglesRef(3, 5, 16, 100); // Dh 16: 4 frequencies per axis
 * // token (0, 0), channel 0: 2π·y_0/P_0 with y_0 = −2/3 and P_0 = 1
 * assert.ok(Math.abs(a[0] - 2 * Math.PI * (-2 / 3)) < 1e-12);
 * // channel 4 (first x frequency): x_0 = −0.8
 * assert.ok(Math.abs(a[4] - 2 * Math.PI * -0.8) < 1e-12);
 * // channels 8..15 repeat 0..7
 * assert.equal(a[9], a[1]);
 * ```
 */
export function ropeAnglesRef(h: number, w: number, headDim: number, base: number): Float64Array {
  checkRopeGeometry(h, w, headDim, base);
  const F = headDim / 4;
  const out = new Float64Array(h * w * headDim);
  for (let i = 0; i < h; i++) {
    const y = (2 * (i + 0.5)) / h - 1;
    for (let j = 0; j < w; j++) {
      const x = (2 * (j + 0.5)) / w - 1;
      const row = (i * w + j) * headDim;
      for (let f = 0; f < F; f++) {
        const period = base ** ((4 * f) / headDim);
        const ty = (2 * Math.PI * y) / period;
        const tx = (2 * Math.PI * x) / period;
        out[row + f] = ty;
        out[row + F + f] = tx;
        out[row + 2 * F + f] = ty;
        out[row + 3 * F + f] = tx;
      }
    }
  }
  return out;
}

/** Throws unless the grid and head dim are valid for 2D RoPE. */
export function checkRopeGeometry(h: number, w: number, headDim: number, base: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(
      `Cannot build RoPE tables as the patch grid must be positive integers: current grid is ${h}×${w}`,
    );
  }
  if (!Number.isInteger(headDim) || headDim < 4 || headDim % 4 !== 0) {
    throw new RangeError(
      `Cannot build RoPE tables as the head dim must be a positive multiple of 4: current value is ${headDim}`,
    );
  }
  if (!(base > 0) || !Number.isFinite(base)) {
    throw new RangeError(`Cannot build RoPE tables as base must be > 0: current value is ${base}`);
  }
}

/**
 * The sin/cos tables of a patch grid: computed in f64, rounded to f32.
 *
 * @example
 * ```ts
 * import { ropeTablesRef } from "./rope_ref.ts";
 * import assert from "node:assert/strict";
 * const { sin, cos } = ropeTablesRef(14, 14, 64, 100);
 * assert.deepEqual(sin.shape, [196, 64]);
 * assert.ok(Math.abs(sin.data[0] ** 2 + cos.data[0] ** 2 - 1) < 1e-6);
 * ```
 */
export function ropeTablesRef(h: number, w: number, headDim: number, base: number): RopeTables {
  const angles = ropeAnglesRef(h, w, headDim, base);
  const sin = new Float32Array(angles.length);
  const cos = new Float32Array(angles.length);
  for (let i = 0; i < angles.length; i++) {
    sin[i] = Math.sin(angles[i]);
    cos[i] = Math.cos(angles[i]);
  }
  const shape = [h * w, headDim];
  return { sin: { data: sin, shape }, cos: { data: cos, shape: [...shape] } };
}

/** Arguments of {@linkcode ropeRef} besides `x`. */
export interface RopeRefArgs {
  /** The grid's tables, `[h·w, Dh]`. */
  tables: RopeTables;
  /** Attention heads; `C = heads · Dh`. */
  heads: number;
  /** Tokens before the patches (CLS + registers), left unrotated. */
  prefix: number;
  /** Consecutive blocks of `heads·Dh` channels rotated (2: q and k of a packed qkv). @default {1} */
  blocks?: number;
}

/**
 * Rotates every head of the patch tokens of `x: [B, N, S]` (tokens
 * `prefix..N-1`, `N = prefix + h·w`) in the first `blocks` blocks of
 * `heads·Dh` channels: `u·cos + rotate_half(u)·sin` with
 * `rotate_half(u) = [−u[Dh/2:], u[:Dh/2]]`. Returns a new tensor.
 *
 * @example A single pair rotated by θ
 * ```ts
 * import { ropeRef } from "./rope_ref.ts";
 * import assert from "node:assert/strict";
 * const t = Math.PI / 6;
 * const tables = {
 *   sin: { data: new Float32Array([Math.sin(t), Math.sin(t)]), shape: [1, 2] },
 *   cos: { data: new Float32Array([Math.cos(t), Math.cos(t)]), shape: [1, 2] },
 * };
 * // token 0 is CLS (prefix 1), token 1 is the patch: (1, 0) -> (cos t, sin t)
 * const y = ropeRef({ data: new Float32Array([5, 6, 1, 0]), shape: [1, 2, 2] }, { tables, heads: 1, prefix: 1 });
 * assert.deepEqual([...y.data.slice(0, 2)], [5, 6]);
 * assert.ok(Math.abs(y.data[2] - Math.cos(t)) < 1e-7 && Math.abs(y.data[3] - Math.sin(t)) < 1e-7);
 * ```
 */
export function ropeRef(x: HostTensor, args: RopeRefArgs): HostTensor {
  const [B, N, S] = x.shape;
  const [P, D] = args.tables.sin.shape;
  const blocks = args.blocks ?? 1;
  if (x.shape.length !== 3 || args.prefix + P !== N || S < blocks * args.heads * D) {
    throw new TypeError(
      `Cannot run ropeRef as x must have shape [B, ${
        args.prefix + P
      }, >= ${blocks}·${args.heads}·${D}]: current shape is ${formatShape(x.shape)}`,
    );
  }
  const half = D / 2;
  const out = new Float32Array(x.data);
  for (let b = 0; b < B; b++) {
    for (let t = args.prefix; t < N; t++) {
      const p = t - args.prefix;
      for (let hd = 0; hd < blocks * args.heads; hd++) {
        const base = (b * N + t) * S + hd * D;
        for (let c = 0; c < D; c++) {
          const rot = c < half ? -x.data[base + c + half] : x.data[base + c - half];
          out[base + c] = x.data[base + c] * args.tables.cos.data[p * D + c] +
            rot * args.tables.sin.data[p * D + c];
        }
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}

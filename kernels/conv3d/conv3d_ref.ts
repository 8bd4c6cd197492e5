// This module is browser compatible.
/**
 * CPU references of 3D convolution (stride 1, zero padding, cross-
 * correlation as in PyTorch's `conv3d`) and its two backward passes. Plain
 * loops with float64 accumulation: the specification the WGSL kernels are
 * tested against, themselves checked by finite differences.
 *
 * Layouts (channel-major, row-major): `x [N, Ci, D, H, W]`,
 * `weight [Co, Ci, kd, kh, kw]`, `bias [Co]`, `y [N, Co, D', H', W']` with
 * `D' = D + 2·pd − kd + 1` (and likewise for H, W).
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/** Zero padding per axis `[pd, ph, pw]`. */
export type Padding3d = readonly [number, number, number];

/** The output spatial extents of a stride-1 convolution. */
export function conv3dOutputSize(
  input: readonly number[],
  kernel: readonly number[],
  padding: Padding3d,
): [number, number, number] {
  return [0, 1, 2].map((a) => input[a] + 2 * padding[a] - kernel[a] + 1) as [
    number,
    number,
    number,
  ];
}

/**
 * 3D convolution `y = conv(x, weight) + bias`.
 *
 * @example A 1×1×1 convolution is a per-voxel linear map
 * ```ts
 * import { conv3dRef } from "./conv3d_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 2, 1, 1, 2] };
 * const w = { data: new Float32Array([10, 1]), shape: [1, 2, 1, 1, 1] };
 * const b = { data: new Float32Array([0.5]), shape: [1] };
 * assert.deepEqual([...conv3dRef(x, w, b, [0, 0, 0]).data], [13.5, 24.5]);
 * ```
 */
export function conv3dRef(
  x: HostTensor,
  weight: HostTensor,
  bias: HostTensor | undefined,
  padding: Padding3d,
): HostTensor {
  const [n, ci, d, h, w] = x.shape;
  const [co, , kd, kh, kw] = weight.shape;
  const [od, oh, ow] = conv3dOutputSize([d, h, w], [kd, kh, kw], padding);
  const [pd, ph, pw] = padding;
  const out = new Float32Array(n * co * od * oh * ow);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < co; c++) {
      for (let z = 0; z < od; z++) {
        for (let y = 0; y < oh; y++) {
          for (let xx = 0; xx < ow; xx++) {
            let acc = bias ? bias.data[c] : 0;
            for (let i = 0; i < ci; i++) {
              for (let a = 0; a < kd; a++) {
                const iz = z + a - pd;
                if (iz < 0 || iz >= d) continue;
                for (let e = 0; e < kh; e++) {
                  const iy = y + e - ph;
                  if (iy < 0 || iy >= h) continue;
                  for (let f = 0; f < kw; f++) {
                    const ix = xx + f - pw;
                    if (ix < 0 || ix >= w) continue;
                    acc += weight.data[(((c * ci + i) * kd + a) * kh + e) * kw + f] *
                      x.data[(((b * ci + i) * d + iz) * h + iy) * w + ix];
                  }
                }
              }
            }
            out[o++] = acc;
          }
        }
      }
    }
  }
  return { data: out, shape: [n, co, od, oh, ow] };
}

/**
 * Gradient of {@linkcode conv3dRef} with respect to its input: every
 * output gradient scattered back through the weights.
 *
 * @example
 * ```ts
 * import { conv3dBackwardDataRef } from "./conv3d_ref.ts";
 * import assert from "node:assert/strict";
 * const dy = { data: new Float32Array([1, 1]), shape: [1, 1, 1, 1, 2] };
 * const w = { data: new Float32Array([2, 3]), shape: [1, 1, 1, 1, 2] };
 * // x had width 3 (valid conv with kw 2): dx = [2, 2+3, 3]
 * assert.deepEqual([...conv3dBackwardDataRef(dy, w, [1, 1, 1, 1, 3], [0, 0, 0]).data], [2, 5, 3]);
 * ```
 */
export function conv3dBackwardDataRef(
  dy: HostTensor,
  weight: HostTensor,
  inputShape: readonly number[],
  padding: Padding3d,
): HostTensor {
  const [n, ci, d, h, w] = inputShape;
  const [co, , kd, kh, kw] = weight.shape;
  const [, , od, oh, ow] = dy.shape;
  const [pd, ph, pw] = padding;
  const dx = new Float64Array(n * ci * d * h * w);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < co; c++) {
      for (let z = 0; z < od; z++) {
        for (let y = 0; y < oh; y++) {
          for (let xx = 0; xx < ow; xx++) {
            const g = dy.data[(((b * co + c) * od + z) * oh + y) * ow + xx];
            for (let i = 0; i < ci; i++) {
              for (let a = 0; a < kd; a++) {
                const iz = z + a - pd;
                if (iz < 0 || iz >= d) continue;
                for (let e = 0; e < kh; e++) {
                  const iy = y + e - ph;
                  if (iy < 0 || iy >= h) continue;
                  for (let f = 0; f < kw; f++) {
                    const ix = xx + f - pw;
                    if (ix < 0 || ix >= w) continue;
                    dx[(((b * ci + i) * d + iz) * h + iy) * w + ix] += g *
                      weight.data[(((c * ci + i) * kd + a) * kh + e) * kw + f];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return { data: Float32Array.from(dx), shape: [...inputShape] };
}

/**
 * Gradients of {@linkcode conv3dRef} with respect to the weights
 * `[Co, Ci, kd, kh, kw]` and the bias `[Co]`.
 *
 * @example
 * ```ts
 * import { conv3dBackwardWeightsRef } from "./conv3d_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 2, 3]), shape: [1, 1, 1, 1, 3] };
 * const dy = { data: new Float32Array([1, 10]), shape: [1, 1, 1, 1, 2] };
 * const { dweight, dbias } = conv3dBackwardWeightsRef(x, dy, [1, 1, 2], [0, 0, 0]);
 * assert.deepEqual([...dweight.data], [21, 32]);
 * assert.deepEqual([...dbias.data], [11]);
 * ```
 */
export function conv3dBackwardWeightsRef(
  x: HostTensor,
  dy: HostTensor,
  kernel: readonly [number, number, number],
  padding: Padding3d,
): { dweight: HostTensor; dbias: HostTensor } {
  const [n, ci, d, h, w] = x.shape;
  const [, co, od, oh, ow] = dy.shape;
  const [kd, kh, kw] = kernel;
  const [pd, ph, pw] = padding;
  const dw = new Float64Array(co * ci * kd * kh * kw);
  const db = new Float64Array(co);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < co; c++) {
      for (let z = 0; z < od; z++) {
        for (let y = 0; y < oh; y++) {
          for (let xx = 0; xx < ow; xx++) {
            const g = dy.data[(((b * co + c) * od + z) * oh + y) * ow + xx];
            db[c] += g;
            for (let i = 0; i < ci; i++) {
              for (let a = 0; a < kd; a++) {
                const iz = z + a - pd;
                if (iz < 0 || iz >= d) continue;
                for (let e = 0; e < kh; e++) {
                  const iy = y + e - ph;
                  if (iy < 0 || iy >= h) continue;
                  for (let f = 0; f < kw; f++) {
                    const ix = xx + f - pw;
                    if (ix < 0 || ix >= w) continue;
                    dw[(((c * ci + i) * kd + a) * kh + e) * kw + f] += g *
                      x.data[(((b * ci + i) * d + iz) * h + iy) * w + ix];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return {
    dweight: { data: Float32Array.from(dw), shape: [co, ci, kd, kh, kw] },
    dbias: { data: Float32Array.from(db), shape: [co] },
  };
}

// This module is browser compatible.
/**
 * CPU reference of DINOv3's embeddings: a P×P convolution with stride P
 * (no padding; pixels past the last full patch ignored), patch tokens
 * row-major after the CLS token and the register tokens, no position
 * embedding. Plain loops, f64 accumulation.
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../core/tensor.ts";

/** Arguments of {@linkcode patchEmbedRef} besides the pixels. */
export interface PatchEmbedRefArgs {
  /** Conv weight `[C, channels, P, P]`. */
  weight: HostTensor;
  /** Conv bias `[C]`. */
  bias: HostTensor;
  /** CLS token, `C` values (any shape). */
  cls: HostTensor;
  /** Register tokens, `R·C` values (`[R, C]` or `[1, R, C]`). */
  registers: HostTensor;
}

/**
 * `[B, channels, H, W]` pixels → `[B, 1 + R + h·w, C]` tokens with
 * `h = floor(H / P)`, `w = floor(W / P)`.
 *
 * @example One 2×2 patch of one channel, C = 1, one register
 * ```ts
 * import { patchEmbedRef } from "./patch_embed_ref.ts";
 * import assert from "node:assert/strict";
 * const t = (data: number[], shape: number[]) => ({ data: new Float32Array(data), shape });
 * const y = patchEmbedRef(t([1, 2, 3, 4], [1, 1, 2, 2]), {
 *   weight: t([1, 10, 100, 1000], [1, 1, 2, 2]),
 *   bias: t([0.5], [1]),
 *   cls: t([-1], [1]),
 *   registers: t([-2], [1, 1]),
 * });
 * assert.deepEqual([...y.data], [-1, -2, 4321.5]);
 * ```
 */
export function patchEmbedRef(pixels: HostTensor, args: PatchEmbedRefArgs): HostTensor {
  const [B, CH, H, W] = pixels.shape;
  const [C, CH2, P, P2] = args.weight.shape;
  if (pixels.shape.length !== 4 || CH2 !== CH || P !== P2) {
    throw new TypeError(
      `Cannot run patchEmbedRef as pixels must have shape [B, ${CH2}, H, W]: current shape is ${
        formatShape(pixels.shape)
      }`,
    );
  }
  const R = args.registers.data.length / C;
  const h = Math.floor(H / P);
  const w = Math.floor(W / P);
  const N = 1 + R + h * w;
  const out = new Float32Array(B * N * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      out[(b * N) * C + c] = args.cls.data[c];
      for (let r = 0; r < R; r++) out[(b * N + 1 + r) * C + c] = args.registers.data[r * C + c];
    }
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const t = 1 + R + i * w + j;
        for (let o = 0; o < C; o++) {
          let acc = args.bias.data[o];
          for (let ch = 0; ch < CH; ch++) {
            for (let ky = 0; ky < P; ky++) {
              for (let kx = 0; kx < P; kx++) {
                acc += args.weight.data[((o * CH + ch) * P + ky) * P + kx] *
                  pixels.data[((b * CH + ch) * H + i * P + ky) * W + j * P + kx];
              }
            }
          }
          out[(b * N + t) * C + o] = acc;
        }
      }
    }
  }
  return { data: out, shape: [B, N, C] };
}

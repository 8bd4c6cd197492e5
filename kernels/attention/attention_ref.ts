// This module is browser compatible.
/**
 * CPU reference of DINOv3 attention, written from the formula (not from the
 * other references): per head, rotate q and k of the patch tokens
 * (rotate-half RoPE), `S = q·kᵀ·scale`, a max-subtracted softmax over all
 * keys, `O = softmax(S)·v`, in f64.
 *
 * @module
 */

import { formatShape, type HostTensor } from "../../core/tensor.ts";

/** Arguments of {@linkcode attentionRef} besides `qkv`. */
export interface AttentionRefArgs {
  /** Attention heads. */
  heads: number;
  /** RoPE tables of the patch grid (`[N - prefix, Dh]` each); no rotation when absent. */
  sin?: HostTensor;
  /** See `sin`. */
  cos?: HostTensor;
  /** Tokens before the patches (CLS + registers), never rotated. @default {0} */
  prefix?: number;
  /** Score scale. @default {Dh ** -0.5} */
  scale?: number;
}

/**
 * Multi-head self-attention on a packed `qkv: [B, N, 3·C]` (q, k, v blocks
 * of C channels, head h at channels `h·Dh ..`), returning `[B, N, C]`.
 *
 * @example Two tokens, one head of 2: equal scores average the values
 * ```ts
 * import { attentionRef } from "./attention_ref.ts";
 * import assert from "node:assert/strict";
 * // per token: q (2), k (2), v (2); both keys are zero, so both scores are 0
 * const qkv = new Float32Array([1, 0, 0, 0, 2, 4, 1, 0, 0, 0, 6, 8]);
 * const o = attentionRef({ data: qkv, shape: [1, 2, 6] }, { heads: 1 });
 * assert.deepEqual([...o.data], [4, 6, 4, 6]);
 * ```
 */
export function attentionRef(qkv: HostTensor, args: AttentionRefArgs): HostTensor {
  const [B, N, C3] = qkv.shape;
  const C = C3 / 3;
  const H = args.heads;
  const D = C / H;
  if (qkv.shape.length !== 3 || !Number.isInteger(C) || !Number.isInteger(D)) {
    throw new TypeError(
      `Cannot run attentionRef as qkv must have shape [B, N, 3·heads·Dh]: current shape is ${
        formatShape(qkv.shape)
      }`,
    );
  }
  const prefix = args.prefix ?? 0;
  const scale = args.scale ?? 1 / Math.sqrt(D);
  const half = D / 2;
  const out = new Float32Array(B * N * C);
  const q = new Float64Array(N * D);
  const k = new Float64Array(N * D);
  const v = new Float64Array(N * D);
  const s = new Float64Array(N);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < N; t++) {
        const row = (b * N + t) * C3 + h * D;
        for (let c = 0; c < D; c++) {
          let qc = qkv.data[row + c];
          let kc = qkv.data[row + C + c];
          if (args.sin && args.cos && t >= prefix) {
            // RoPE(u)[c] = u[c]·cos[c] + rotate_half(u)[c]·sin[c]
            const p = (t - prefix) * D + c;
            const partner = c < half ? c + half : c - half;
            const sign = c < half ? -1 : 1;
            qc = qc * args.cos.data[p] + sign * qkv.data[row + partner] * args.sin.data[p];
            kc = kc * args.cos.data[p] + sign * qkv.data[row + C + partner] * args.sin.data[p];
          }
          q[t * D + c] = qc;
          k[t * D + c] = kc;
          v[t * D + c] = qkv.data[row + 2 * C + c];
        }
      }
      for (let i = 0; i < N; i++) {
        let max = -Infinity;
        for (let j = 0; j < N; j++) {
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q[i * D + c] * k[j * D + c];
          s[j] = dot * scale;
          if (s[j] > max) max = s[j];
        }
        let total = 0;
        for (let j = 0; j < N; j++) {
          s[j] = Math.exp(s[j] - max);
          total += s[j];
        }
        for (let c = 0; c < D; c++) {
          let acc = 0;
          for (let j = 0; j < N; j++) acc += s[j] * v[j * D + c];
          out[(b * N + i) * C + h * D + c] = acc / total;
        }
      }
    }
  }
  return { data: out, shape: [B, N, C] };
}

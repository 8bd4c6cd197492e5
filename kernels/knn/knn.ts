// This module is browser compatible.
/**
 * Cosine k-nearest-neighbour search on the GPU, a composite of two kernel
 * families: the similarity matrix of L2-normalised queries and keys is a
 * `matmul` (`S = Q̂·K̂ᵀ`, the register-blocked GEMM of `kernels/matmul`), then {@linkcode topk} keeps a shortlist of
 * `k + 8` candidates per query. The shortlist is re-ranked on the host in
 * float64 from the original features (distance, then training index), so
 * the result is exactly {@linkcode cosineKnnRef}'s whenever the true k
 * nearest are in the float32 shortlist. Keys are split into chunks that
 * fit `maxStorageBufferBindingSize`, queries into blocks.
 *
 * @module
 */

import type { GpuContext } from "../../core/gpu.ts";
import type { HostTensor } from "../../core/tensor.ts";
import { matmul } from "../matmul/matmul.ts";
import { topk } from "./topk.ts";
import { cosineDistance, type Neighbours, rowNorms } from "./knn_ref.ts";

export type { Neighbours };

/** Extra float32 candidates re-ranked in float64. */
export const KNN_SHORTLIST_MARGIN = 8;

interface KeyChunk {
  buffer: GPUBuffer;
  offset: number;
  rows: number;
}

/** Normalised keys resident on the GPU, with the host copy used for re-ranking. */
export class CosineKnnIndex {
  /** The context holding the key buffers. */
  readonly ctx: GpuContext;
  /** The original keys `[M, F]`. */
  readonly keys: HostTensor;
  /** Their float64 norms. */
  readonly norms: Float64Array;
  #chunks: KeyChunk[];

  private constructor(ctx: GpuContext, keys: HostTensor, norms: Float64Array, chunks: KeyChunk[]) {
    this.ctx = ctx;
    this.keys = keys;
    this.norms = norms;
    this.#chunks = chunks;
  }

  /**
   * Uploads L2-normalised keys in chunks of at most `maxRows` rows (default:
   * what fits `maxStorageBufferBindingSize`, and 65536).
   */
  static create(ctx: GpuContext, keys: HostTensor, maxRows?: number): CosineKnnIndex {
    if (keys.shape.length !== 2 || keys.shape[0] < 1 || keys.shape[1] < 1) {
      throw new TypeError(
        `Cannot build a k-NN index as keys must be a non-empty [M, F] tensor: current shape is [${keys.shape}]`,
      );
    }
    const [m, f] = keys.shape;
    const norms = rowNorms(keys);
    const limit = Math.floor(ctx.limits.maxStorageBufferBindingSize / (4 * f));
    const rows = Math.max(1, Math.min(maxRows ?? 65536, limit));
    const chunks: KeyChunk[] = [];
    for (let offset = 0; offset < m; offset += rows) {
      const n = Math.min(rows, m - offset);
      const data = new Float32Array(n * f);
      for (let r = 0; r < n; r++) {
        const inv = norms[offset + r] > 0 ? 1 / norms[offset + r] : 0;
        for (let j = 0; j < f; j++) data[r * f + j] = keys.data[(offset + r) * f + j] * inv;
      }
      chunks.push({ buffer: ctx.upload(data, "knn:keys"), offset, rows: n });
    }
    return new CosineKnnIndex(ctx, keys, norms, chunks);
  }

  /** Number of key chunks (1 unless the keys exceed the binding limit or `maxRows`). */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /** The k nearest keys of each query, float64 distances, ties by index. */
  async search(queries: HostTensor, k: number): Promise<Neighbours> {
    const [m, f] = this.keys.shape;
    if (queries.shape.length !== 2 || queries.shape[1] !== f) {
      throw new TypeError(
        `Cannot search the k-NN index as queries must have shape [*, ${f}]: current shape is [${queries.shape}]`,
      );
    }
    if (!Number.isInteger(k) || k < 1 || k > m || k > 256 - KNN_SHORTLIST_MARGIN) {
      throw new RangeError(
        `Cannot search the k-NN index as k must be an integer in [1, ${
          Math.min(m, 256 - KNN_SHORTLIST_MARGIN)
        }]: current value is ${k}`,
      );
    }
    const ctx = this.ctx;
    const q = queries.shape[0];
    const qNorms = rowNorms(queries);
    const maxChunk = Math.max(...this.#chunks.map((c) => c.rows));
    const limit = ctx.limits.maxStorageBufferBindingSize;
    const block = Math.max(
      1,
      Math.min(q, 256, Math.floor(limit / (4 * f)), Math.floor(limit / (4 * maxChunk))),
    );
    const indices = new Int32Array(q * k);
    const distances = new Float64Array(q * k);
    const qBuf = ctx.createStorageBuffer(block * f * 4, "knn:queries");
    const sims = ctx.createStorageBuffer(block * maxChunk * 4, "knn:similarities");
    try {
      for (let q0 = 0; q0 < q; q0 += block) {
        const b = Math.min(block, q - q0);
        const data = new Float32Array(b * f);
        for (let r = 0; r < b; r++) {
          const inv = qNorms[q0 + r] > 0 ? 1 / qNorms[q0 + r] : 0;
          for (let j = 0; j < f; j++) data[r * f + j] = queries.data[(q0 + r) * f + j] * inv;
        }
        ctx.write(qBuf, data);
        const candidates: Uint32Array[] = [];
        let kcTotal = 0;
        for (const chunk of this.#chunks) {
          const kc = Math.min(chunk.rows, k + KNN_SHORTLIST_MARGIN);
          const encoder = ctx.device.createCommandEncoder({ label: "knn" });
          await matmul(ctx, {
            x: { buffer: qBuf, shape: [b, f], dtype: "f32" },
            weight: { buffer: chunk.buffer, shape: [chunk.rows, f], dtype: "f32" },
            out: { buffer: sims, shape: [b, chunk.rows], dtype: "f32" },
            encoder,
          });
          const top = await topk(ctx, {
            scores: { buffer: sims, shape: [b, chunk.rows], dtype: "f32" },
            k: kc,
            indexOffset: chunk.offset,
            encoder,
          });
          ctx.device.queue.submit([encoder.finish()]);
          candidates.push(new Uint32Array(await ctx.readback(top.indices, b * kc * 4)));
          top.indices.destroy();
          top.values.destroy();
          kcTotal += kc;
        }
        // Float64 re-ranking of every chunk's shortlist: (distance, index).
        const d = new Float64Array(kcTotal);
        const cand = new Int32Array(kcTotal);
        const order = Array.from({ length: kcTotal }, (_, i) => i);
        for (let r = 0; r < b; r++) {
          let n = 0;
          for (const c of candidates) {
            const kc = c.length / b;
            for (let i = 0; i < kc; i++) cand[n++] = c[r * kc + i];
          }
          for (let i = 0; i < n; i++) {
            d[i] = cosineDistance(
              queries,
              q0 + r,
              qNorms[q0 + r],
              this.keys,
              cand[i],
              this.norms[cand[i]],
            );
          }
          order.sort((x, y) => d[x] - d[y] || cand[x] - cand[y]);
          for (let i = 0; i < k; i++) {
            indices[(q0 + r) * k + i] = cand[order[i]];
            distances[(q0 + r) * k + i] = d[order[i]];
          }
        }
      }
    } finally {
      qBuf.destroy();
      sims.destroy();
    }
    return { indices, distances, shape: [q, k] };
  }

  /** Destroys the key buffers. */
  dispose(): void {
    for (const c of this.#chunks) c.buffer.destroy();
    this.#chunks = [];
  }
}

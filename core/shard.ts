/**
 * Shards of an extraction spread over machines (SLURM job arrays,
 * Kubernetes Indexed Jobs): a deterministic 1/N of the samples per shard,
 * and the job records `medprobe cache status` reads.
 *
 * Sample `s` belongs to shard `K` of `N` by the rank of the SHA-256 of its id
 * among all the ids (`rank mod N`), or, when samples have weights (slide or
 * volume sizes), by a greedy balance of the weights in that hash order. A
 * sample is never split: whole volumes and slides go to one shard. The
 * assignment depends only on the set of ids (not their order), so every
 * array task computes the same partition on its own.
 *
 * A job record `<cache>/<namespace>/jobs/shard-<K>-of-<N>.json` says which
 * samples a shard must extract, its state, its attempts and who ran it
 * (written by `medprobe extract`, see `cli/jobs.ts`).
 *
 * @example
 * ```ts
 * import { parseShard, selectShard } from "./shard.ts";
 * import assert from "node:assert/strict";
 * const samples = Array.from({ length: 10 }, (_, i) => ({ id: `s${i}` }));
 * const parts = [0, 1, 2].map((k) => selectShard(samples, parseShard(`${k}/3`)));
 * assert.deepEqual(parts.map((p) => p.length), [4, 3, 3]);
 * assert.deepEqual(parts.flat().map((s) => s.id).sort(), samples.map((s) => s.id).sort());
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Shard `index` of `count` (0 ≤ index < count). */
export interface ShardSpec {
  /** Zero-based shard index K. */
  readonly index: number;
  /** Number of shards N. */
  readonly count: number;
}

/** Parses `"K/N"` (e.g. `"0/8"`). */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) {
    throw new TypeError(
      `Cannot parse the shard as it must be K/N with 0 ≤ K < N: current value is "${text}"`,
    );
  }
  return { index, count };
}

function hashOf(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

/**
 * The samples of shard `shard`, in their input order. With `weight`, shards
 * are balanced by total weight (largest first, each to the lightest shard).
 */
export function selectShard<T extends { readonly id: string }>(
  samples: readonly T[],
  shard: ShardSpec,
  weight?: (sample: T) => number,
): T[] {
  const order = samples.map((s, i) => ({ i, h: hashOf(s.id), w: weight ? weight(s) : 1 }));
  order.sort((a, b) => (weight ? b.w - a.w : 0) || (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
  const chosen = new Set<number>();
  const load = new Array<number>(shard.count).fill(0);
  order.forEach((o, rank) => {
    let k = rank % shard.count;
    if (weight) k = load.indexOf(Math.min(...load));
    load[k] += o.w;
    if (k === shard.index) chosen.add(o.i);
  });
  return samples.filter((_, i) => chosen.has(i));
}

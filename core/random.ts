// This module is browser compatible.
/**
 * Seeded random numbers: the one Mulberry32 generator every seeded part of
 * medprobe draws from (bootstrap intervals, fold splits, head
 * initialisation and shuffling, synthetic datasets, random weights, test
 * data), so the same seed gives the same numbers on every platform, and
 * the two draws built on it that several of them share: a standard normal
 * value and an in-place shuffle.
 *
 * @module
 */

/**
 * Mulberry32 (Tommy Ettinger's public-domain 32-bit generator) with a 2^32
 * period: returns a function giving uniform numbers in [0, 1) with 32
 * random bits.
 *
 * @example
 * ```ts
 * import { createMulberry32 } from "./random.ts";
 * import assert from "node:assert/strict";
 *
 * const next = createMulberry32(1);
 * assert.equal(next(), 0.6270739405881613);
 * assert.equal(next(), 0.002735721180215478);
 * // the same seed gives the same sequence
 * const a = createMulberry32(7), b = createMulberry32(7);
 * assert.equal(a(), b());
 * ```
 *
 * @param seed Any number; its value modulo 2^32 is the state.
 * @returns The generator.
 */
export function createMulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A standard normal draw (Box–Muller) from a uniform generator: two draws
 * per value, the first clamped at 1e-12 so its logarithm stays finite.
 *
 * @example
 * ```ts
 * import { createMulberry32, gaussian } from "./random.ts";
 * import assert from "node:assert/strict";
 *
 * const rng = createMulberry32(3);
 * const draws = Array.from({ length: 2000 }, () => gaussian(rng));
 * const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
 * assert.ok(Math.abs(mean) < 0.1);
 * ```
 *
 * @param rng A uniform generator in [0, 1), such as {@linkcode createMulberry32}'s.
 * @returns One draw from N(0, 1).
 */
export function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * Shuffles `items` in place (Fisher–Yates, from the last item down: item
 * `i` swaps with item `floor(rng() · (i + 1))`) and returns it.
 *
 * @example
 * ```ts
 * import { createMulberry32, shuffle } from "./random.ts";
 * import assert from "node:assert/strict";
 *
 * const a = shuffle([1, 2, 3, 4, 5], createMulberry32(1));
 * assert.deepEqual([...a].sort(), [1, 2, 3, 4, 5]);
 * assert.deepEqual(shuffle([1, 2, 3, 4, 5], createMulberry32(1)), a);
 * ```
 *
 * @typeParam A An array or typed array.
 * @param items The items, reordered in place.
 * @param rng A uniform generator in [0, 1), such as {@linkcode createMulberry32}'s.
 * @returns `items`.
 */
export function shuffle<A extends { length: number; [index: number]: unknown }>(
  items: A,
  rng: () => number,
): A {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

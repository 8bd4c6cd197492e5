// This module is browser compatible.
/**
 * Seeded random numbers: the one Mulberry32 generator every seeded part of
 * medprobe draws from (bootstrap intervals, fold splits, head
 * initialisation and shuffling, synthetic datasets, random weights, test
 * data), so the same seed gives the same numbers on every platform.
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

// This module is browser compatible.
/**
 * Ordered, bounded prefetching: start loading the next items while the
 * current one is being processed (decoding overlaps encoding), yield results
 * in input order, and never hold more than `depth` items in flight.
 *
 * @example
 * ```ts
 * import { prefetch } from "./prefetch.ts";
 * import assert from "node:assert/strict";
 * const out = [];
 * for await (const r of prefetch([3, 1, 2], (x) => Promise.resolve(x * 10), 2)) out.push(r.value);
 * assert.deepEqual(out, [30, 10, 20]);
 * ```
 *
 * @module
 */

/** One prefetched item: its value, or the error its loader threw. */
export type Prefetched<I, T> =
  | { item: I; index: number; value: T; error?: undefined }
  | { item: I; index: number; value?: undefined; error: unknown };

/**
 * Loads `items` with at most `depth` loads in flight and yields them in
 * order. A failed load is yielded with its `error` (the caller decides
 * whether to stop); it does not stop the others.
 */
export async function* prefetch<I, T>(
  items: readonly I[],
  load: (item: I, index: number) => Promise<T>,
  depth = 4,
  signal?: AbortSignal,
): AsyncGenerator<Prefetched<I, T>> {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(
      `Cannot prefetch as depth must be a positive integer: current value is ${depth}`,
    );
  }
  const inflight: Promise<Prefetched<I, T>>[] = [];
  let next = 0;
  const start = (i: number) =>
    load(items[i], i).then(
      (value) => ({ item: items[i], index: i, value }),
      (error) => ({ item: items[i], index: i, error }),
    );
  while (next < items.length && inflight.length < depth) inflight.push(start(next++));
  while (inflight.length > 0) {
    signal?.throwIfAborted();
    const r = await inflight.shift()!;
    if (next < items.length) inflight.push(start(next++));
    yield r;
  }
}

/**
 * Test helpers for kernels: GPU detection (with `REQUIRE_GPU=1` turning a
 * missing adapter into a failure), a seeded PRNG, random tensors and
 * `assertAllClose` that reports the worst element.
 *
 * @module
 */

import { type GpuContext, requestGpu } from "../core/gpu.ts";
import { formatShape, type HostTensor, numel } from "../core/tensor.ts";
import { createMulberry32 } from "../core/random.ts";

let shared: Promise<GpuContext | undefined> | undefined;

/** A shared GPU context for tests in this process, or undefined when there is none. */
export function testGpu(): Promise<GpuContext | undefined> {
  shared ??= requestGpu({ debug: true }).catch(() => undefined);
  return shared;
}

/** True when a WebGPU adapter exists in this process. */
export const hasGpu: boolean = (await testGpu()) !== undefined;

/** True when `REQUIRE_GPU=1` asks GPU tests to fail instead of skipping. */
export const requireGpu: boolean = (() => {
  try {
    return Deno.env.get("REQUIRE_GPU") === "1";
  } catch {
    return false;
  }
})();

/**
 * Registers a GPU test: skipped (ignored) without an adapter, unless
 * `REQUIRE_GPU=1`, in which case it fails with a clear message.
 */
export function gpuTest(name: string, fn: (gpu: GpuContext) => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: !hasGpu && !requireGpu,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = await testGpu();
      if (!gpu) {
        throw new Error(
          "REQUIRE_GPU=1 but no WebGPU adapter was found: install a GPU driver or Mesa's mesa-vulkan-drivers",
        );
      }
      await fn(gpu);
    },
  });
}

/**
 * A seeded PRNG (mulberry32) returning floats in [0, 1).
 *
 * @example
 * ```ts
 * import { seededRandom } from "./_testing.ts";
 * import assert from "node:assert/strict";
 * const a = seededRandom(1), b = seededRandom(1);
 * assert.equal(a(), b());
 * ```
 */
export function seededRandom(seed: number): () => number {
  return createMulberry32(seed);
}

/** A tensor of uniform values in [-scale, scale). */
export function randomTensor(shape: readonly number[], seed: number, scale = 1): HostTensor {
  const rand = seededRandom(seed);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = (rand() * 2 - 1) * scale;
  return { data, shape: [...shape] };
}

/** Tolerances of {@linkcode assertAllClose}: `|a - e| <= atol + rtol * |e|`. */
export interface Tolerance {
  /** Absolute tolerance. @default {1e-5} */
  atol?: number;
  /** Relative tolerance. @default {1e-4} */
  rtol?: number;
}

/**
 * Asserts that two arrays (or tensors) match elementwise within tolerance;
 * on failure reports the shape, max abs diff, its index and the first values.
 */
export function assertAllClose(
  actual: ArrayLike<number> | HostTensor,
  expected: ArrayLike<number> | HostTensor,
  tolerance: Tolerance = {},
  what = "tensor",
): void {
  const a = "data" in actual ? actual.data : actual;
  const e = "data" in expected ? expected.data : expected;
  const shape = "shape" in expected
    ? expected.shape
    : ("shape" in actual ? (actual as HostTensor).shape : [e.length]);
  if ("shape" in actual && "shape" in expected) {
    if (formatShape(actual.shape) !== formatShape(expected.shape)) {
      throw new Error(
        `${what}: shape ${formatShape(actual.shape)} != expected ${formatShape(expected.shape)}`,
      );
    }
  }
  if (a.length !== e.length) {
    throw new Error(`${what}: length ${a.length} != expected ${e.length}`);
  }
  const atol = tolerance.atol ?? 1e-5;
  const rtol = tolerance.rtol ?? 1e-4;
  let worst = -1;
  let worstDiff = 0;
  let bad = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    const ok = d <= atol + rtol * Math.abs(e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i]));
    if (!ok || Number.isNaN(d)) {
      bad++;
      if (!(d <= worstDiff)) {
        worstDiff = d;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    const first = Array.from({ length: Math.min(6, e.length) }, (_, i) => `${a[i]} vs ${e[i]}`);
    throw new Error(
      `${what} ${
        formatShape(shape)
      }: ${bad} of ${e.length} elements differ; maxdiff ${worstDiff} at index ${worst} (${
        a[worst]
      } vs ${e[worst]}); atol ${atol} rtol ${rtol}; first values: ${first.join(", ")}`,
    );
  }
}

/** Max absolute difference of two arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

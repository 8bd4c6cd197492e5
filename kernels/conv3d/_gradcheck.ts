/**
 * Finite-difference checks for the backward references of the
 * segmentation kernels (conv3d, upsample3d, norm3d, seg_loss, activation,
 * concat): central differences of a scalar function of one input, compared
 * with an analytic gradient.
 *
 * @module
 */

/**
 * Central-difference gradient of `f` at `x` for the listed indices (every
 * index when omitted). `x` is perturbed in place and restored.
 */
export function numericalGradient(
  f: () => number,
  x: Float32Array,
  eps = 1e-2,
  indices?: readonly number[],
): Map<number, number> {
  const out = new Map<number, number>();
  const list = indices ?? Array.from({ length: x.length }, (_, i) => i);
  for (const i of list) {
    const keep = x[i];
    x[i] = keep + eps;
    const plus = f();
    x[i] = keep - eps;
    const minus = f();
    x[i] = keep;
    out.set(i, (plus - minus) / (2 * eps));
  }
  return out;
}

/**
 * Asserts that an analytic gradient matches central differences at some
 * indices: `|a - n| <= atol + rtol * max(|a|, |n|)`. Throws with the worst
 * index on failure.
 */
export function assertGradientMatches(
  what: string,
  f: () => number,
  x: Float32Array,
  analytic: ArrayLike<number>,
  options: { eps?: number; atol?: number; rtol?: number; indices?: readonly number[] } = {},
): void {
  const numeric = numericalGradient(f, x, options.eps ?? 1e-2, options.indices);
  const atol = options.atol ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  let worst = "";
  let worstExcess = 0;
  for (const [i, n] of numeric) {
    const a = analytic[i];
    const excess = Math.abs(a - n) - (atol + rtol * Math.max(Math.abs(a), Math.abs(n)));
    if (!(excess <= worstExcess)) {
      worstExcess = excess;
      worst = `index ${i}: analytic ${a} vs numeric ${n}`;
    }
  }
  if (worst) throw new Error(`${what}: gradient differs from finite differences at ${worst}`);
}

/** Indices `0, step, 2·step, ...` below `n`, plus the last one: a cheap sample for large inputs. */
export function sampleIndices(n: number, count: number, seed = 1): number[] {
  const out = new Set<number>([0, n - 1]);
  let s = seed >>> 0;
  while (out.size < Math.min(n, count)) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.add(s % n);
  }
  return [...out].sort((a, b) => a - b);
}

/** `Σ r_i y_i` in float64: the scalar loss whose gradient wrt `y` is `r`. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

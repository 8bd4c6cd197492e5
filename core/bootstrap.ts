// This module is browser compatible.
/**
 * Percentile bootstrap confidence intervals of any metric, deterministic for
 * a seed and stratified by class for classification.
 *
 * The procedure: draw `samples` resamples of the N items (rows of the
 * scores and targets, or the items of a list such as one label map per
 * case) with replacement; with `stratified`, each class (each distinct
 * target row) is resampled within itself, so every resample keeps the class
 * counts and an AUC stays defined. The metric of each resample is reduced to
 * one number (a per-class result is averaged with the NaN-aware MONAI mean;
 * a resample whose value is undefined is skipped and not counted in
 * `validSamples`). The interval is the pair of linear-interpolation
 * percentiles `(1 − level)/2` and `(1 + level)/2` of the valid values.
 *
 * The random numbers come from Mulberry32 (Tommy Ettinger's public-domain
 * 32-bit generator, {@linkcode createMulberry32}); the i-th index of a
 * stratum of size m is `floor(next() · m)`. The same seed, inputs and
 * options give the same interval on every platform.
 *
 * @example 95 % interval of an AUC
 * ```ts
 * import { bootstrapCi } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 *
 * // Accuracy of thresholded scores, as a plain function metric.
 * const accuracy = (p: unknown, t: unknown) => {
 *   const s = p as number[], y = t as number[];
 *   return s.filter((v, i) => (v >= 0.5 ? 1 : 0) === y[i]).length / s.length;
 * };
 * const scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.6];
 * const targets = [0, 0, 1, 1, 1, 0, 1, 0];
 * const ci = bootstrapCi(accuracy, scores, targets, { samples: 200, seed: 7 });
 * assert.ok(ci.low <= ci.estimate && ci.estimate <= ci.high);
 * assert.deepEqual(bootstrapCi(accuracy, scores, targets, { samples: 200, seed: 7 }), ci);
 * ```
 *
 * @module
 */

import type { MetricPlugin } from "./plugin.ts";
import { reduceScores } from "./metrics.ts";
import { createMulberry32 } from "./random.ts";

function isShaped(value: unknown): value is { data: ArrayLike<number>; shape: number[] } {
  return typeof value === "object" && value !== null && "data" in value && "shape" in value;
}

function checkInteger(what: string, field: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot compute ${what} as ${field} must be an integer >= ${min}: current value is ${
        String(value)
      }`,
    );
  }
  return value;
}

function checkBoolean(what: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot compute ${what} as ${field} must be a boolean: current type is ${typeof value}`,
    );
  }
  return value;
}

/** A metric to bootstrap: a plugin, or a function of (prediction, target). */
export type BootstrapMetric =
  | MetricPlugin
  | ((prediction: unknown, target: unknown) => number | ArrayLike<number>);

/** Options of {@linkcode bootstrapCi}. */
export interface BootstrapOptions {
  /**
   * For a metric with one value per label or class: receives one interval
   * per element, from the same resamples as the macro interval (so per-label
   * CIs cost no extra metric evaluations).
   */
  onElements?: (intervals: BootstrapInterval[]) => void;
  /** Number of resamples. @default {1000} */
  samples?: number;
  /** Seed of the Mulberry32 generator (taken modulo 2^32). @default {0} */
  seed?: number;
  /**
   * Resample each class separately (classes: the distinct target values or
   * rows). Only numeric targets have classes; for a list of items (label
   * maps) it must be false. @default {true for numeric targets, false for lists of items}
   */
  stratified?: boolean;
  /** Confidence level in (0, 1). @default {0.95} */
  level?: number;
  /** Options passed to a plugin's `compute`. @default {undefined} */
  metricOptions?: Record<string, unknown>;
}

/** A bootstrap confidence interval. */
export interface BootstrapInterval {
  /** Lower bound: the `(1 − level)/2` percentile of the resampled values. */
  low: number;
  /** Upper bound: the `(1 + level)/2` percentile. */
  high: number;
  /** The metric on the original data. */
  estimate: number;
  /** Resamples whose value was defined (not NaN). */
  validSamples: number;
}

type TypedNumbers =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Uint8ClampedArray;

/** How to take rows of one input and build a resampled copy. */
interface Resampler {
  n: number;
  take(indices: Int32Array): unknown;
  /** A stratum key per row, or undefined for non-numeric items. */
  keys(): string[] | undefined;
}

function isTyped(x: unknown): x is TypedNumbers {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) &&
    !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

function resamplerOf(what: string, input: unknown): Resampler {
  if (isTyped(input)) {
    return {
      n: input.length,
      take(indices) {
        const out = new (input.constructor as new (n: number) => TypedNumbers)(indices.length);
        for (let i = 0; i < indices.length; i++) out[i] = input[indices[i]];
        return out;
      },
      keys: () => Array.from(input, (v) => String(v)),
    };
  }
  if (Array.isArray(input)) {
    const numeric = input.every((v) =>
      typeof v === "number" ||
      ((Array.isArray(v) || isTyped(v)) &&
        Array.from(v as ArrayLike<unknown>).every((x) => typeof x === "number"))
    );
    return {
      n: input.length,
      take: (indices) => Array.from(indices, (i) => input[i]),
      keys: () =>
        numeric
          ? input.map((v) =>
            typeof v === "number" ? String(v) : Array.from(v as ArrayLike<number>).join(",")
          )
          : undefined,
    };
  }
  if (isShaped(input)) {
    const shape = [...input.shape];
    if (shape.length === 0) {
      throw new TypeError(
        `Cannot compute bootstrap as ${what} must have at least one axis: current shape is []`,
      );
    }
    const n = shape[0];
    const row = n === 0 ? 0 : input.data.length / n;
    const data = input.data;
    return {
      n,
      take(indices) {
        const out = isTyped(data)
          ? new (data.constructor as new (n: number) => TypedNumbers)(indices.length * row)
          : new Float64Array(indices.length * row);
        for (let i = 0; i < indices.length; i++) {
          for (let j = 0; j < row; j++) out[i * row + j] = data[indices[i] * row + j];
        }
        return { data: out, shape: [indices.length, ...shape.slice(1)] };
      },
      keys: () =>
        Array.from(
          { length: n },
          (_, i) => Array.from({ length: row }, (_, j) => data[i * row + j]).join(","),
        ),
    };
  }
  throw new TypeError(
    `Cannot compute bootstrap as ${what} must be an array, a typed array or { data, shape }: current type is ${
      input === null ? "null" : typeof input
    }`,
  );
}

function scalarOf(value: number | ArrayLike<number>): number {
  if (typeof value === "number") return value;
  const r = reduceScores(value, "mean");
  return r.validCount[0] > 0 ? r.value[0] : NaN;
}

function quantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo);
}

/**
 * Percentile bootstrap confidence interval of a metric (see the module doc
 * for the exact procedure and generator).
 *
 * @example Stratified resampling keeps the class counts
 * ```ts
 * import { bootstrapCi } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 *
 * const targets = [0, 0, 0, 1, 1];
 * const positives = (_p: unknown, t: unknown) => (t as number[]).filter((v) => v === 1).length;
 * const ci = bootstrapCi(positives, [0.1, 0.2, 0.3, 0.8, 0.9], targets, { samples: 50, seed: 1 });
 * assert.deepEqual([ci.low, ci.high, ci.validSamples], [2, 2, 50]);
 * ```
 *
 * @param metric A metric plugin or a function returning a number or per-class values.
 * @param prediction Predictions: `[N]` or `[N, K]` scores, or a list of N items.
 * @param target Targets with the same N (class labels when stratified).
 * @param options `samples`, `seed`, `stratified`, `level`, `metricOptions`.
 * @returns `{ low, high, estimate, validSamples }`.
 */
export function bootstrapCi(
  metric: BootstrapMetric,
  prediction: unknown,
  target: unknown,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const name = "bootstrap";
  const samples = checkInteger(name, "samples", options.samples ?? 1000, 1);
  const seed = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new TypeError(
      `Cannot compute ${name} as seed must be a finite number: current value is ${seed}`,
    );
  }
  const level = options.level ?? 0.95;
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    throw new RangeError(
      `Cannot compute ${name} as level must be in (0, 1): current value is ${level}`,
    );
  }
  let evaluate: (p: unknown, t: unknown) => number | ArrayLike<number>;
  if (typeof metric === "function") evaluate = metric;
  else if (metric && typeof metric === "object" && typeof metric.compute === "function") {
    evaluate = (p, t) => metric.compute(p, t, options.metricOptions);
  } else {
    throw new TypeError(
      `Cannot compute ${name} as metric must be a MetricPlugin or a function: current type is ${
        metric === null ? "null" : typeof metric
      }`,
    );
  }
  const pred = resamplerOf("prediction", prediction);
  const targ = resamplerOf("target", target);
  if (pred.n !== targ.n) {
    throw new TypeError(
      `Cannot compute ${name} as prediction and target must have the same number of items: current numbers are ${pred.n} and ${targ.n}`,
    );
  }
  const keys = targ.keys();
  const stratified = checkBoolean(name, "stratified", options.stratified, keys !== undefined);
  if (stratified && keys === undefined) {
    throw new TypeError(
      `Cannot compute ${name} as stratified resampling needs numeric targets: current targets are a list of items`,
    );
  }
  // Strata in order of first appearance; a single stratum when not stratified.
  const strata: number[][] = [];
  if (stratified) {
    const byKey = new Map<string, number[]>();
    keys!.forEach((k, i) => {
      let list = byKey.get(k);
      if (!list) {
        list = [];
        byKey.set(k, list);
        strata.push(list);
      }
      list.push(i);
    });
  } else {
    strata.push(Array.from({ length: pred.n }, (_, i) => i));
  }
  const whole = evaluate(prediction, target);
  const estimate = scalarOf(whole);
  const next = createMulberry32(seed);
  const indices = new Int32Array(pred.n);
  const values: number[] = [];
  // Per element of a vector-valued metric (one value per label), when asked.
  const width = options.onElements && typeof whole !== "number" ? whole.length : 0;
  const elements: number[][] = Array.from({ length: width }, () => []);
  for (let s = 0; s < samples; s++) {
    let j = 0;
    for (const stratum of strata) {
      const m = stratum.length;
      for (let i = 0; i < m; i++) indices[j++] = stratum[Math.floor(next() * m)];
    }
    const r = evaluate(pred.take(indices), targ.take(indices));
    const v = scalarOf(r);
    if (!Number.isNaN(v)) values.push(v);
    if (width > 0 && typeof r !== "number") {
      for (let e = 0; e < width; e++) if (!Number.isNaN(r[e])) elements[e].push(r[e]);
    }
  }
  const alpha = (1 - level) / 2;
  const interval = (list: number[], at: number): BootstrapInterval => {
    const sorted = Float64Array.from(list).sort();
    return {
      low: quantile(sorted, alpha),
      high: quantile(sorted, 1 - alpha),
      estimate: at,
      validSamples: list.length,
    };
  };
  if (width > 0 && typeof whole !== "number") {
    options.onElements!(elements.map((list, e) => interval(list, whole[e])));
  }
  return interval(values, estimate);
}

// Tests of core/metrics.ts (reduceScores), kept beside the metric family that
// owns it; they can move to core/metrics_test.ts.
import assert from "node:assert/strict";
import { reduceScores, type Reduction } from "../../core/metrics.ts";

// [B, C] = [3, 3]; row 2 is all NaN, column 2 holds an Infinity.
const BATCH = [
  [1, NaN, 3],
  [2, 4, Infinity],
  [NaN, NaN, NaN],
];

Deno.test("reduceScores() reproduces MONAI do_metric_reduction for every reduction", () => {
  const r = (reduction: Reduction) => {
    const { value, validCount, shape } = reduceScores(BATCH, reduction);
    return { value: [...value], validCount: [...validCount], shape };
  };
  assert.deepEqual(r("none").shape, [3, 3]);
  assert.deepEqual(r("none").validCount, [1, 0, 1, 1, 1, 1, 0, 0, 0]);
  // mean: per-row means (2, Infinity, none) then the mean over rows with a value
  assert.deepEqual(r("mean"), { value: [Infinity], validCount: [2], shape: [] });
  assert.deepEqual(r("sum"), { value: [Infinity], validCount: [5], shape: [] });
  assert.deepEqual(r("mean_batch"), {
    value: [1.5, 4, Infinity],
    validCount: [2, 1, 2],
    shape: [3],
  });
  assert.deepEqual(r("sum_batch"), { value: [3, 4, Infinity], validCount: [2, 1, 2], shape: [3] });
  assert.deepEqual(r("mean_channel"), {
    value: [2, Infinity, 0],
    validCount: [2, 3, 0],
    shape: [3],
  });
  assert.deepEqual(r("sum_channel"), {
    value: [4, Infinity, 0],
    validCount: [2, 3, 0],
    shape: [3],
  });
});

Deno.test("reduceScores() 'mean' is two-step (per sample, then over samples)", () => {
  // A plain mean of the 3 valid entries would be 11 / 3; MONAI averages (1 + 5) / 2.
  const { value, validCount } = reduceScores([[1, NaN], [4, 6]], "mean");
  assert.deepEqual([...value, ...validCount], [3, 2]);
  const flat = reduceScores([[1, NaN], [4, 6]], "sum");
  assert.deepEqual([...flat.value, ...flat.validCount], [11, 3]);
});

Deno.test("reduceScores() gives 0 with validCount 0 when nothing is valid", () => {
  const r = reduceScores(Float64Array.of(NaN, NaN));
  assert.deepEqual([...r.value, ...r.validCount], [0, 0]);
  const empty = reduceScores([]);
  assert.deepEqual([...empty.value, ...empty.validCount], [0, 0]);
});

Deno.test("reduceScores() accepts a flat [C] vector and a { data, shape } batch", () => {
  assert.deepEqual([...reduceScores([0.5, NaN, 1], "mean").value], [0.75]);
  const t = { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] };
  assert.deepEqual([...reduceScores(t, "mean_batch").value], [2, 3]);
});

Deno.test("reduceScores() rejects unknown reductions and malformed batches", () => {
  assert.throws(
    () => reduceScores([1], "avg" as never),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith('Cannot reduce scores as reduction must be one of "none"'),
  );
  assert.throws(() => reduceScores([[1, 2], [3]]), TypeError);
  assert.throws(() => reduceScores({ data: [1, 2, 3], shape: [2, 2] }), TypeError);
  assert.throws(() => reduceScores({ data: [1], shape: [1, 1, 1] }), TypeError);
  assert.throws(() => reduceScores(null as never), TypeError);
});

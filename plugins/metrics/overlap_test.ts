import assert from "node:assert/strict";
import {
  computeDice,
  computeOverlapCounts,
  computeVoxelPrecision,
  computeVoxelRecall,
  diceMetric,
  voxelPrecisionMetric,
  voxelRecallMetric,
} from "./overlap.ts";
import { assertClose } from "./_testing.ts";

const shape = [3, 4];
// class:      0  1  2  0 / 1  1  2  2 / 0  0  0  1
const pred = { data: Uint8Array.of(0, 1, 2, 0, 1, 1, 2, 2, 0, 0, 0, 1), shape };
const gt = { data: Uint8Array.of(0, 1, 1, 0, 1, 2, 2, 0, 0, 0, 0, 0), shape };

Deno.test("computeOverlapCounts() counts |P|, |G| and |P∩G| per class", () => {
  const c = computeOverlapCounts(pred, gt, { numClasses: 4 });
  assert.deepEqual([...c.pred], [5, 4, 3, 0]);
  assert.deepEqual([...c.gt], [7, 3, 2, 0]);
  assert.deepEqual([...c.intersection], [5, 2, 1, 0]);
});

Deno.test("computeDice() gives 2|P∩G|/(|P|+|G|) per class, background on request", () => {
  assertClose(computeDice(pred, gt, { numClasses: 3 }), [4 / 7, 2 / 5]);
  assertClose(
    computeDice(pred, gt, { numClasses: 3, includeBackground: true }),
    [10 / 12, 4 / 7, 2 / 5],
  );
});

Deno.test("segmentation overlap metrics follow the empty-mask table", () => {
  // class 3: both empty; class 1: pred empty; class 2: gt empty
  const p = { data: [2, 2, 0, 0], shape: [4] };
  const g = { data: [1, 1, 0, 0], shape: [4] };
  const options = { numClasses: 4 };
  assertClose(computeDice(p, g, options), [0, NaN, NaN]);
  assertClose(computeDice(p, g, { ...options, ignoreEmpty: false }), [0, 0, 1]);
  assertClose(computeVoxelPrecision(p, g, options), [NaN, 0, NaN]);
  assertClose(computeVoxelRecall(p, g, options), [0, NaN, NaN]);
  assertClose(computeVoxelPrecision(p, g, { ...options, convention: "medpy" }), [0, 0, 0]);
  assertClose(computeVoxelRecall(p, g, { ...options, convention: "medpy" }), [0, 0, 0]);
});

Deno.test("computeVoxelPrecision() and computeVoxelRecall() are |P∩G|/|P| and |P∩G|/|G|", () => {
  assertClose(computeVoxelPrecision(pred, gt, { numClasses: 3 }), [2 / 4, 1 / 3]);
  assertClose(computeVoxelRecall(pred, gt, { numClasses: 3 }), [2 / 3, 1 / 2]);
});

Deno.test("a single class keeps the background, as MONAI does", () => {
  const m = { data: [0, 0], shape: [2] };
  assert.deepEqual([...computeDice(m, m, { numClasses: 1 })], [1]);
});

Deno.test("plugins wrap the compute functions", () => {
  const options = { numClasses: 3 };
  assert.deepEqual([...diceMetric.compute(pred, gt, options)], [...computeDice(pred, gt, options)]);
  assert.deepEqual(
    [...voxelPrecisionMetric.compute(pred, gt, options)],
    [...computeVoxelPrecision(pred, gt, options)],
  );
  assert.deepEqual(
    [...voxelRecallMetric.compute(pred, gt, options)],
    [...computeVoxelRecall(pred, gt, options)],
  );
  assert.equal(diceMetric.name, "dice");
  assert.equal(diceMetric.higherIsBetter, true);
});

Deno.test("overlap metrics reject bad input with std-style messages", () => {
  assert.throws(
    () => computeDice(pred, { data: new Uint8Array(12), shape: [4, 3] }, { numClasses: 3 }),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot compute dice as prediction and target must have the same shape: current shapes are [3, 4] and [4, 3]",
  );
  assert.throws(
    () => computeDice(pred, gt, { numClasses: 2 }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "Cannot compute dice as prediction labels must be integers in [0, 2): current value at index 2 is 2",
  );
  assert.throws(
    () => computeDice({ data: [0.5], shape: [1] }, { data: [0], shape: [1] }, { numClasses: 2 }),
    RangeError,
  );
  assert.throws(
    () => computeDice({ data: [-1], shape: [1] }, { data: [0], shape: [1] }, { numClasses: 2 }),
    RangeError,
  );
  assert.throws(() => computeDice(pred, gt, undefined as never), TypeError);
  assert.throws(() => computeDice(pred, gt, { numClasses: 0 }), RangeError);
  assert.throws(
    () => computeDice(pred, gt, { numClasses: 3, ignoreEmpty: "yes" } as never),
    TypeError,
  );
  assert.throws(
    () =>
      computeDice({ data: [0, 1], shape: [3] }, { data: [0, 1], shape: [3] }, { numClasses: 2 }),
    TypeError,
  );
  assert.throws(
    () =>
      computeDice({ data: [0], shape: [1, 1, 1, 1] }, { data: [0], shape: [1, 1, 1, 1] }, {
        numClasses: 2,
      }),
    TypeError,
  );
  assert.throws(() => diceMetric.compute([0, 1], [0, 1], { numClasses: 2 }), TypeError);
});

import assert from "node:assert/strict";
import {
  assdMetric,
  computeAssd,
  computeHausdorff,
  computeSurfaceDistances,
  computeSurfaceMetrics,
  hausdorff95Metric,
  hausdorffMetric,
} from "./surface.ts";
import { computeDice } from "./overlap.ts";
import {
  assertClose,
  bruteSurfaceDistances,
  linearPercentile,
  makeBall,
  makeBox,
} from "./_testing.ts";

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

Deno.test("computeHausdorff() and computeDice() are exact on shifted cubes", () => {
  const shape = [16, 16, 16];
  const a = 6;
  for (
    const [shift, spacing] of [
      [[0, 0, 2], [1, 1, 1]],
      [[3, 0, 0], [2.5, 0.8, 0.8]], // anisotropic: HD = 3 · 2.5
      [[1, 2, 1], [2, 0.5, 1.5]], // diagonal: HD = |(1·2, 2·0.5, 1·1.5)|
    ] as const
  ) {
    const gt = { data: makeBox(shape, [4, 4, 4], [4 + a, 4 + a, 4 + a]), shape };
    const lo = shift.map((d) => 4 + d);
    const pred = { data: makeBox(shape, lo, lo.map((x) => x + a)), shape };
    const options = { numClasses: 2, spacing: [...spacing] };
    const hd = computeHausdorff(pred, gt, options)[0];
    const expected = Math.hypot(...shift.map((d, k) => d * spacing[k]));
    assertClose(hd, expected, { abs: 1e-12 }, `hd for shift [${shift}]`);
    const overlap = shift.reduce((p: number, d: number) => p * (a - d), 1);
    assertClose(computeDice(pred, gt, { numClasses: 2 })[0], overlap / a ** 3, {}, "dice");
  }
});

Deno.test("computeSurfaceMetrics() matches the pairwise oracle on spheres (3D, anisotropic)", () => {
  const shape = [10, 18, 20];
  const spacing = [2.5, 0.8, 0.7];
  const gt = makeBall(shape, [5, 9, 10], 6, spacing);
  const pred = makeBall(shape, [4.6, 8, 11.3], 3.1, spacing);
  const p = { data: pred, shape };
  const g = { data: gt, shape };
  const oracle = bruteSurfaceDistances(pred, gt, shape, spacing);
  const both = [...oracle.predToGt, ...oracle.gtToPred];
  const monai = computeSurfaceMetrics(p, g, { numClasses: 2, spacing, percentile: 95 });
  assert.equal(monai.surfacePred[0], oracle.surfacePred);
  assert.equal(monai.surfaceGt[0], oracle.surfaceGt);
  assertClose(monai.hd[0], Math.max(...both), {}, "hd");
  const forward = linearPercentile(oracle.predToGt, 95);
  const backward = linearPercentile(oracle.gtToPred, 95);
  assertClose(monai.hdPercentilePredToGt[0], forward, {}, "hd95 pred->gt");
  assertClose(monai.hdPercentileGtToPred[0], backward, {}, "hd95 gt->pred");
  assertClose(monai.hdPercentile[0], Math.max(forward, backward), {}, "hd95");
  assertClose(monai.assd[0], mean(both), {}, "assd");
  const medpy = computeSurfaceMetrics(p, g, { numClasses: 2, spacing, convention: "medpy" });
  assertClose(medpy.hdPercentile[0], linearPercentile(both, 95), {}, "hd95 medpy");
  assertClose(medpy.assd[0], mean(both), {}, "assd medpy");
  const old = computeAssd(p, g, { numClasses: 2, spacing, convention: "medpy-0.4" });
  assertClose(old[0], (mean(oracle.predToGt) + mean(oracle.gtToPred)) / 2, {}, "assd medpy-0.4");
  // The pooled and directed definitions must differ here, or the test proves nothing.
  assert.notEqual(medpy.hdPercentile[0], monai.hdPercentile[0]);
});

Deno.test("computeSurfaceDistances() gives the raw directed lists of the oracle in 2D", () => {
  const shape = [14, 15];
  const spacing = [1.3, 0.6];
  const gt = makeBall(shape, [7, 7], 4, spacing);
  const pred = makeBox(shape, [0, 3], [6, 12]); // touches the image border
  const d = computeSurfaceDistances({ data: pred, shape }, { data: gt, shape }, {
    label: 1,
    spacing,
  });
  const oracle = bruteSurfaceDistances(pred, gt, shape, spacing);
  assertClose(d.predToGt, oracle.predToGt, {}, "pred->gt");
  assertClose(d.gtToPred, oracle.gtToPred, {}, "gt->pred");
});

Deno.test("computeSurfaceMetrics() reports every class of a label map separately", () => {
  const shape = [9, 12];
  const spacing = [1, 2];
  const pred = new Uint8Array(9 * 12);
  const gt = new Uint8Array(9 * 12);
  pred.set(makeBox(shape, [1, 1], [4, 5]).map((v) => v * 1));
  gt.set(makeBox(shape, [1, 2], [5, 5]).map((v) => v * 1));
  const p2 = makeBox(shape, [5, 6], [8, 11]);
  const g2 = makeBox(shape, [6, 6], [8, 10]);
  for (let i = 0; i < pred.length; i++) {
    if (p2[i]) pred[i] = 2;
    if (g2[i]) gt[i] = 2;
  }
  const m = computeSurfaceMetrics({ data: pred, shape }, { data: gt, shape }, {
    numClasses: 3,
    spacing,
  });
  assert.deepEqual([...m.classes], [1, 2]);
  for (const c of [1, 2]) {
    const oracle = bruteSurfaceDistances(
      pred.map((v) => (v === c ? 1 : 0)),
      gt.map((v) => (v === c ? 1 : 0)),
      shape,
      spacing,
    );
    assertClose(m.hd[c - 1], Math.max(...oracle.predToGt, ...oracle.gtToPred), {}, `hd ${c}`);
  }
});

Deno.test("surface metrics follow the empty-mask table (MONAI) and medpy's NaN", () => {
  const shape = [6, 6];
  const some = { data: makeBox(shape, [1, 1], [3, 3]), shape };
  const none = { data: new Uint8Array(36), shape };
  const options = { numClasses: 2, spacing: [1, 1], percentile: 95 };
  const rows: [typeof some, typeof some, number, number, number][] = [
    [none, none, NaN, NaN, NaN],
    [none, some, Infinity, NaN, Infinity],
    [some, none, Infinity, NaN, Infinity],
  ];
  for (const [pred, gt, hd, hd95, assd] of rows) {
    const m = computeSurfaceMetrics(pred, gt, options);
    assertClose([m.hd[0], m.hdPercentile[0], m.assd[0]], [hd, hd95, assd]);
    assertClose([m.hdPercentilePredToGt[0], m.hdPercentileGtToPred[0]], [NaN, NaN]);
    assertClose(computeHausdorff(pred, gt, { numClasses: 2, spacing: [1, 1] }), [hd]);
    const medpy = computeSurfaceMetrics(pred, gt, { ...options, convention: "medpy" });
    assertClose([medpy.hd[0], medpy.hdPercentile[0], medpy.assd[0]], [NaN, NaN, NaN]);
  }
});

Deno.test("a 3D volume one slice thick is all surface, unlike the same 2D image", () => {
  const box = makeBox([5, 5], [1, 1], [4, 4]);
  const as2d = computeSurfaceMetrics({ data: box, shape: [5, 5] }, { data: box, shape: [5, 5] }, {
    numClasses: 2,
    spacing: [1, 1],
  });
  const as3d = computeSurfaceMetrics({ data: box, shape: [1, 5, 5] }, {
    data: box,
    shape: [1, 5, 5],
  }, { numClasses: 2, spacing: [1, 1, 1] });
  assert.equal(as2d.surfacePred[0], 8);
  assert.equal(as3d.surfacePred[0], 9);
});

Deno.test("directed distances use the pred->gt list only", () => {
  const shape = [12];
  const pred = { data: makeBox(shape, [0], [3]), shape }; // voxels 0..2
  const gt = { data: makeBox(shape, [0], [8]), shape }; // voxels 0..7
  const spacing = [1];
  // surfaces: pred {0, 2}, gt {0, 7}; pred->gt [0, 2], gt->pred [0, 5]
  assert.deepEqual([...computeHausdorff(pred, gt, { numClasses: 2, spacing })], [5]);
  assert.deepEqual([...computeHausdorff(pred, gt, { numClasses: 2, spacing, directed: true })], [
    2,
  ]);
  assert.deepEqual([...computeAssd(pred, gt, { numClasses: 2, spacing, directed: true })], [1]);
  assert.deepEqual([...computeAssd(pred, gt, { numClasses: 2, spacing })], [7 / 4]);
});

Deno.test("includeBackground adds class 0", () => {
  const shape = [4, 4];
  const a = { data: makeBox(shape, [0, 0], [2, 2]), shape };
  const m = computeSurfaceMetrics(a, a, {
    numClasses: 2,
    spacing: [1, 1],
    includeBackground: true,
  });
  assert.deepEqual([...m.classes], [0, 1]);
  assert.deepEqual([...m.hd], [0, 0]);
});

Deno.test("surface metrics reject missing or bad spacing and options", () => {
  const shape = [3, 3];
  const a = { data: new Uint8Array(9), shape };
  const message = (e: Error) => e.message;
  assert.throws(() => computeHausdorff(a, a, { numClasses: 2 } as never), TypeError);
  assert.throws(
    () => hausdorffMetric.compute(a, a, { numClasses: 2 }),
    (e: Error) =>
      e instanceof TypeError &&
      message(e) === "Cannot compute hd as spacing is required: current value is undefined",
  );
  assert.throws(() => computeHausdorff(a, a, { numClasses: 2, spacing: [1] }), TypeError);
  assert.throws(
    () => computeHausdorff(a, a, { numClasses: 2, spacing: [1, 0] }),
    (e: Error) =>
      e instanceof RangeError &&
      message(e) === "Cannot compute hd as spacing must be finite and > 0: current value is [1, 0]",
  );
  assert.throws(() => computeHausdorff(a, a, { numClasses: 2, spacing: [1, -2] }), RangeError);
  assert.throws(
    () => computeHausdorff(a, a, { numClasses: 2, spacing: [1, 1], percentile: 101 }),
    RangeError,
  );
  assert.throws(
    () => hausdorff95Metric.compute(a, a, { numClasses: 2, spacing: [1, 1], percentile: 90 }),
    RangeError,
  );
  assert.throws(() => assdMetric.compute(a, a), TypeError);
  assert.throws(
    () =>
      computeHausdorff(a, { data: new Uint8Array(4), shape: [2, 2] }, {
        numClasses: 2,
        spacing: [1, 1],
      }),
    (e: Error) =>
      message(e) ===
        "Cannot compute hd as prediction and target must have the same shape: current shapes are [3, 3] and [2, 2]",
  );
  assert.throws(
    () =>
      computeHausdorff({ data: [0, 0, 3], shape: [3] }, { data: [0, 0, 0], shape: [3] }, {
        numClasses: 2,
        spacing: [1],
      }),
    RangeError,
  );
  assert.throws(
    () => computeHausdorff(a, a, { numClasses: 2, spacing: [1, 1], convention: "x" } as never),
    RangeError,
  );
});

Deno.test("hd95 plugin equals computeHausdorff at percentile 95", () => {
  const shape = [10, 10];
  const spacing = [1, 1];
  const gt = { data: makeBall(shape, [5, 5], 3.5, spacing), shape };
  const pred = { data: makeBall(shape, [4, 5], 4, spacing), shape };
  assert.deepEqual(
    [...hausdorff95Metric.compute(pred, gt, { numClasses: 2, spacing })],
    [...computeHausdorff(pred, gt, { numClasses: 2, spacing, percentile: 95 })],
  );
  assert.equal(hausdorff95Metric.higherIsBetter, false);
});

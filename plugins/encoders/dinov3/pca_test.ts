import assert from "node:assert/strict";
import { patchPca, scoresToRgb } from "./pca.ts";

function assertAlmost(a: number[], b: number[]) {
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `${a} vs ${b}`);
}

Deno.test("patchPca() recovers planted directions in order of variance", () => {
  const [h, w, C] = [8, 9, 16];
  // Patch i = 3·a_i·e5 + 2·b_i·e2 + c_i·e11 + 7: a, b, c are zero-mean and exactly
  // orthogonal over the 72 patches (a full period of cos, sin, cos 2θ), so the
  // sample covariance is diagonal and the PCs are e5, e2, e11 in this order.
  const n = h * w;
  const data = new Float32Array(n * C).fill(7);
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    data[i * C + 5] += 3 * Math.cos(t);
    data[i * C + 2] += 2 * Math.sin(t);
    data[i * C + 11] += Math.cos(2 * t);
  }
  const pca = patchPca({ data, shape: [1, h, w, C] }, 3);
  assert.deepEqual(pca.scores.shape, [h, w, 3]);
  assert.deepEqual(pca.components.shape, [3, C]);
  const axes = [5, 2, 11];
  for (let r = 0; r < 3; r++) {
    assert.ok(Math.abs(Math.abs(pca.components.data[r * C + axes[r]]) - 1) < 1e-6, `PC ${r}`);
  }
  // Variances 9/2, 4/2, 1/2 (mean of cos² over a period is 1/2).
  assertAlmost(pca.variance, [4.5, 2, 0.5]);
  const explained = pca.explained.reduce((s, e) => s + e, 0);
  assert.ok(explained > 0.999 && explained <= 1 + 1e-9, `explained ${explained}`);
  // Deterministic signs: each component's largest-magnitude score is positive (up to ties).
  for (let r = 0; r < 3; r++) {
    const s = Array.from({ length: n }, (_, i) => pca.scores.data[i * 3 + r]);
    assert.ok(Math.max(...s) >= -Math.min(...s) - 1e-5, `PC ${r} sign`);
  }
  assert.throws(() => patchPca({ data, shape: [h * w, C] }), TypeError);
  assert.throws(() => patchPca({ data, shape: [h, w, C] }, 17), RangeError);
});

Deno.test("scoresToRgb() scales each component to 0..255", () => {
  const rgb = scoresToRgb({ data: new Float32Array([0, 1, 2, 10, 1, -2]), shape: [2, 1, 3] });
  assert.deepEqual([...rgb], [0, 128, 255, 255, 128, 0]);
  assert.throws(() => scoresToRgb({ data: new Float32Array(4), shape: [2, 1, 2] }), TypeError);
});

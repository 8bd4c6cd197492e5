import assert from "node:assert/strict";
import {
  computePolar3,
  convertAffineToQuatern,
  convertQuaternToAffine,
  getAffineOrientation,
  getCanonicalTransform,
  getOrientationCode,
} from "./affine.ts";

Deno.test("convertQuaternToAffine() matches nifti1_io for a 180° rotation about x with qfac -1", () => {
  // quaternion (a, b, c, d) = (0, 1, 0, 0): R = diag(1, -1, -1); qfac -1 flips k back
  const m = convertQuaternToAffine({
    b: 1,
    c: 0,
    d: 0,
    offset: [1, 2, 3],
    pixdim: [2, 3, 4],
    qfac: -1,
  });
  // + 0 folds -0 into 0 for the strict comparison
  assert.deepEqual(m.map((r) => r.map((x) => x + 0)), [[2, 0, 0, 1], [0, -3, 0, 2], [0, 0, 4, 3], [
    0,
    0,
    0,
    1,
  ]]);
  assert.equal(getOrientationCode(m), "RPS");
});

Deno.test("convertAffineToQuatern() inverts convertQuaternToAffine() on oblique geometries", () => {
  const cases = [
    { b: 0.1305, c: -0.0087, d: -0.0689, pixdim: [0.9, 0.9, 4] as const, qfac: -1 as const },
    { b: 0, c: 0, d: 1, pixdim: [0.8, 0.8, 3] as const, qfac: 1 as const },
    { b: 0.7, c: 0.1, d: 0.1, pixdim: [1, 2, 3] as const, qfac: 1 as const },
  ];
  for (const c of cases) {
    const m = convertQuaternToAffine({ ...c, offset: [5, -6, 7] });
    const back = convertQuaternToAffine(convertAffineToQuatern(m));
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) assert.ok(Math.abs(back[i][j] - m[i][j]) < 1e-9, `${i},${j}`);
    }
  }
});

Deno.test("computePolar3() returns an orthogonal matrix", () => {
  const p = computePolar3([[1, 0.2, 0], [0.1, 1, 0.3], [0, 0, 2]]);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const dot = p[0][i] * p[0][j] + p[1][i] * p[1][j] + p[2][i] * p[2][j];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9);
    }
  }
});

Deno.test("getAffineOrientation() assigns permuted axes greedily", () => {
  // sagittal: i → A, j → S, k → L
  const sag = [[0, 0, -1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]];
  assert.deepEqual(getAffineOrientation(sag), [
    { axis: 1, flip: 1 },
    { axis: 2, flip: 1 },
    { axis: 0, flip: -1 },
  ]);
  assert.equal(getOrientationCode(sag), "ASL");
  const t = getCanonicalTransform(sag, [10, 20, 30]);
  assert.deepEqual(t.sourceAxis, [2, 0, 1]);
  assert.deepEqual(t.reversed, [true, false, false]);
  assert.deepEqual(t.shape, [30, 10, 20]);
  assert.equal(getOrientationCode(t.affine), "RAS");
});

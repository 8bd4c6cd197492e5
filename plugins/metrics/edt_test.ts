import assert from "node:assert/strict";
import { computeSquaredDistanceTransform, transformSquaredInPlace } from "./edt.ts";
import { assertClose, bruteSquaredEdt, seededRandom } from "./_testing.ts";

const CASES: { shape: number[]; spacing: number[]; density: number }[] = [
  { shape: [17], spacing: [0.7], density: 0.15 },
  { shape: [9, 13], spacing: [2, 0.5], density: 0.05 },
  { shape: [12, 1], spacing: [1, 1], density: 0.2 },
  { shape: [5, 7, 6], spacing: [2.5, 0.8, 1.1], density: 0.04 },
  { shape: [4, 9, 40], spacing: [3, 1, 0.3], density: 0.01 }, // strided axis wider than a block
  { shape: [3, 3, 3], spacing: [1, 1, 1], density: 0.9 },
];

for (const { shape, spacing, density } of CASES) {
  Deno.test(`computeSquaredDistanceTransform() matches brute force on [${shape}] spacing [${spacing}]`, () => {
    const rand = seededRandom(shape.length * 31 + shape[0]);
    const n = shape.reduce((a, b) => a * b, 1);
    const features = Uint8Array.from({ length: n }, () => (rand() < density ? 1 : 0));
    features[Math.floor(rand() * n)] = 1; // at least one feature
    const actual = computeSquaredDistanceTransform(features, shape, spacing);
    assertClose(actual, bruteSquaredEdt(features, shape, spacing), { abs: 1e-12, rel: 1e-12 });
  });
}

Deno.test("transformSquaredInPlace() with queries is exact at the queried voxels", () => {
  const shape = [6, 11, 37];
  const spacing = [2, 0.9, 0.4];
  const n = shape.reduce((a, b) => a * b, 1);
  const rand = seededRandom(5);
  const features = Uint8Array.from({ length: n }, () => (rand() < 0.01 ? 1 : 0));
  const queries = Int32Array.from({ length: 40 }, () => Math.floor(rand() * n));
  const values = Float64Array.from(features, (f) => (f ? 0 : Infinity));
  const list = Int32Array.from(Array.from(features).flatMap((f, i) => (f ? [i] : [])));
  transformSquaredInPlace(values, shape, spacing, { queries, features: list });
  const expected = bruteSquaredEdt(features, shape, spacing);
  assertClose(
    Array.from(queries, (q) => values[q]),
    Array.from(queries, (q) => expected[q]),
    { abs: 1e-12, rel: 1e-12 },
  );
});

Deno.test("computeSquaredDistanceTransform() gives Infinity without features and 0 on them", () => {
  const none = computeSquaredDistanceTransform(new Uint8Array(12), [3, 4], [1, 1]);
  assert.ok(none.every((v) => v === Infinity));
  const all = computeSquaredDistanceTransform(new Uint8Array(12).fill(1), [3, 4], [1, 1]);
  assert.ok(all.every((v) => v === 0));
});

Deno.test("computeSquaredDistanceTransform() rejects a bad spacing or shape", () => {
  const f = new Uint8Array(6);
  assert.throws(() => computeSquaredDistanceTransform(f, [2, 3], [1]), TypeError);
  assert.throws(() => computeSquaredDistanceTransform(f, [2, 3], [1, 0]), RangeError);
  assert.throws(() => computeSquaredDistanceTransform(f, [2, 3], [1, NaN]), RangeError);
  assert.throws(
    () => computeSquaredDistanceTransform(f, [4, 3], [1, 1]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot compute distance transform as features must have 12 values for shape [4, 3]: current length is 6",
  );
});

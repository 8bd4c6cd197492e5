import assert from "node:assert/strict";
import { CosineKnnIndex } from "./knn.ts";
import { cosineKnnRef } from "./knn_ref.ts";
import { gpuTest, randomTensor } from "../_testing.ts";
import type { HostTensor } from "../../core/tensor.ts";

interface KnnCase {
  name: string;
  inputs: { "train_features": number[][]; "query_features": number[][]; k: number };
  expected: { neighbors: number[][]; distances: number[][] };
  tolerance: { abs: number; rel: number };
}

const FIXTURE = new URL("../../fixtures/metrics/knn.json", import.meta.url);
const cases: KnnCase[] = await Deno.readTextFile(FIXTURE)
  .then((t) => JSON.parse(t).cases)
  .catch(() => []);

function matrix(rows: number[][]): { data: Float64Array; shape: number[] } {
  return { data: Float64Array.from(rows.flat()), shape: [rows.length, rows[0].length] };
}

function f32(rows: number[][]): HostTensor {
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0].length] };
}

Deno.test({
  name: "cosineKnnRef() reproduces knn.json neighbours exactly and distances within 1e-9",
  ignore: cases.length === 0,
  fn() {
    for (const c of cases) {
      const r = cosineKnnRef(
        matrix(c.inputs.train_features),
        matrix(c.inputs.query_features),
        c.inputs.k,
      );
      assert.deepEqual([...r.indices], c.expected.neighbors.flat(), c.name);
      const e = c.expected.distances.flat();
      r.distances.forEach((d, i) => {
        assert.ok(
          Math.abs(d - e[i]) <= c.tolerance.abs + c.tolerance.rel * Math.abs(e[i]),
          `${c.name}[${i}]: ${d} vs ${e[i]}`,
        );
      });
    }
  },
});

gpuTest("CosineKnnIndex.search() reproduces knn.json neighbours (float32 inputs)", async (gpu) => {
  assert.ok(cases.length === 4, "knn.json must be readable beside the repository (../shared)");
  for (const c of cases) {
    const index = CosineKnnIndex.create(gpu, f32(c.inputs.train_features));
    const r = await index.search(f32(c.inputs.query_features), c.inputs.k);
    assert.deepEqual([...r.indices], c.expected.neighbors.flat(), c.name);
    const e = c.expected.distances.flat();
    // float32 inputs: the distances agree to float32 rounding of the features.
    r.distances.forEach((d, i) =>
      assert.ok(Math.abs(d - e[i]) < 1e-6, `${c.name}[${i}]: ${d} vs ${e[i]}`)
    );
    index.dispose();
  }
});

for (
  const [m, f, q, k, chunk] of [[5000, 64, 37, 20, undefined], [3001, 13, 9, 5, 1000], [
    40,
    8,
    3,
    40,
    undefined,
  ]] as const
) {
  gpuTest(
    `CosineKnnIndex.search() equals cosineKnnRef() on [${m}, ${f}] keys, ${q} queries, k=${k}${
      chunk ? `, chunks of ${chunk}` : ""
    }`,
    async (gpu) => {
      const keys = randomTensor([m, f], m);
      // Exact duplicates and a zero row: ties by index and a defined distance of 1.
      keys.data.copyWithin(f * 10, f * 3, f * 4);
      keys.data.copyWithin(f * 11, f * 3, f * 4);
      keys.data.fill(0, f * 5, f * 6);
      const queries = randomTensor([q, f], q);
      queries.data.set(keys.data.subarray(f * 3, f * 4), 0);
      const index = CosineKnnIndex.create(gpu, keys, chunk);
      if (chunk) assert.equal(index.chunkCount, Math.ceil(m / chunk));
      const r = await index.search(queries, k);
      const ref = cosineKnnRef(keys, queries, k);
      assert.deepEqual(r.indices, ref.indices);
      assert.deepEqual(r.distances, ref.distances);
      assert.deepEqual([...r.indices.subarray(0, 3)], [3, 10, 11]);
      await assert.rejects(() => index.search(queries, m + 1), RangeError);
      index.dispose();
    },
  );
}

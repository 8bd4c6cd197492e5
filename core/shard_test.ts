import assert from "node:assert/strict";
import { parseShard, selectShard } from "./shard.ts";

const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);

Deno.test("selectShard partitions the samples: disjoint, complete, balanced, whatever their order", () => {
  const samples = Array.from({ length: 101 }, (_, i) => ({ id: `case-${i}` }));
  for (const n of [1, 3, 8]) {
    const parts = Array.from({ length: n }, (_, k) => selectShard(samples, { index: k, count: n }));
    assert.deepEqual(parts.flatMap(ids).sort(), ids(samples).sort(), `n=${n}`);
    const sizes = parts.map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: ${sizes}`);
    // Another order of the same samples gives the same shards (each task decides alone).
    const reversed = [...samples].reverse();
    for (let k = 0; k < n; k++) {
      assert.deepEqual(
        ids(selectShard(reversed, { index: k, count: n })).sort(),
        ids(parts[k]).sort(),
      );
    }
    // Input order is kept within a shard.
    for (const p of parts) {
      assert.deepEqual(ids(p), ids(samples).filter((id) => ids(p).includes(id)));
    }
  }
});

Deno.test("selectShard with weights keeps every slide whole and balances the total weight", () => {
  // One huge slide and many small ones: the huge one alone in its shard.
  const slides = [
    { id: "big", w: 100 },
    ...Array.from({ length: 20 }, (_, i) => ({ id: `s${i}`, w: 10 })),
  ];
  const parts = [0, 1, 2].map((k) => selectShard(slides, { index: k, count: 3 }, (s) => s.w));
  assert.deepEqual(parts.flatMap(ids).sort(), ids(slides).sort());
  const loads = parts.map((p) => p.reduce((a, s) => a + s.w, 0));
  assert.deepEqual([...loads].sort((a, b) => a - b), [100, 100, 100]);
  assert.ok(parts.some((p) => p.length === 1 && p[0].id === "big"));
});

Deno.test("parseShard accepts K/N with 0 ≤ K < N only", () => {
  assert.deepEqual(parseShard("3/8"), { index: 3, count: 8 });
  for (const bad of ["8/8", "1/0", "-1/3", "a/b", "1", "1/2/3"]) {
    assert.throws(() => parseShard(bad), /Cannot parse the shard as it must be K\/N/, bad);
  }
});

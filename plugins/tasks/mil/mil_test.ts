import assert from "node:assert/strict";
import { milTask, parseRatio, planMilRuns } from "./mod.ts";
import type { Sample } from "../../../core/plugin.ts";

const slide = (id: string, subject = id): Sample => ({
  id,
  subject,
  target: Float32Array.of(id.startsWith("t") ? 1 : 0),
  load: () => Promise.resolve({ kind: "slide", path: `${id}.tif` }),
});

Deno.test("planMilRuns() official split: a seeded validation hold-out from train, one run per seed", () => {
  const train = Array.from({ length: 20 }, (_, i) => slide(`${i % 2 ? "t" : "n"}${i}`));
  const test = [slide("x1"), slide("x2")];
  const runs = planMilRuns({
    train,
    test,
    pool: [],
    folds: 0,
    ratio: [7, 1, 2],
    valFraction: 0.1,
    seeds: 3,
    seed: 5,
  });
  assert.equal(runs.length, 3);
  assert.deepEqual(runs.map((r) => r.seed), [5, 6, 7]);
  for (const r of runs) {
    assert.equal(r.val.length, 2);
    assert.equal(r.train.length, 18);
    assert.deepEqual(r.test, ["x1", "x2"]);
    assert.ok(r.val.every((id) => !r.train.includes(id)));
  }
  assert.deepEqual(runs[0].val, runs[2].val, "one validation set for every seed");
});

Deno.test("planMilRuns() K-fold at 7:1:2: disjoint test folds covering the pool, patients kept together", () => {
  const pool = Array.from({ length: 50 }, (_, i) => slide(`s${i}`, `p${Math.floor(i / 2)}`));
  const runs = planMilRuns({
    train: [],
    test: [],
    pool,
    folds: 5,
    ratio: [7, 1, 2],
    valFraction: 0.1,
    seeds: 2,
    seed: 1,
  });
  assert.equal(runs.length, 10);
  const tested = runs.filter((r) => r.seed === 1).flatMap((r) => r.test).sort();
  assert.deepEqual(tested, pool.map((s) => s.id).sort());
  const subject = new Map(pool.map((s) => [s.id, s.subject]));
  for (const r of runs) {
    assert.equal(r.train.length + r.val.length + r.test.length, 50);
    assert.equal(r.test.length, 10);
    // val ≈ 1/8 of the remaining 40 slides (20 patients → 2-3 patients).
    assert.ok(r.val.length >= 4 && r.val.length <= 6, `val ${r.val.length}`);
    const sides = new Map<string, string>();
    for (const [set, ids] of [["train", r.train], ["val", r.val], ["test", r.test]] as const) {
      for (const id of ids) {
        const p = subject.get(id)!;
        assert.ok(!sides.has(p) || sides.get(p) === set, `patient ${p} split across sets`);
        sides.set(p, set);
      }
    }
  }
});

Deno.test("parseRatio() and the task's options", () => {
  assert.deepEqual(parseRatio("7:1:2"), [7, 1, 2]);
  assert.throws(() => parseRatio("7:1"), RangeError);
  assert.throws(() => parseRatio("0:1:2"), RangeError);
  assert.equal(milTask.input, "bags");
  const names = milTask.options.map((o) => o.name);
  for (
    const n of [
      "folds",
      "cv-ratio",
      "seeds",
      "external",
      "external-data",
      "select-epochs",
      "heatmaps",
    ]
  ) {
    assert.ok(names.includes(n), n);
  }
  assert.throws(
    () =>
      milTask.validateProtocol({
        ...{
          adapter: "tile-bag",
          heads: ["abmil"],
          metrics: [],
          resolution: 224,
          trainSplit: "train",
          testSplit: "test",
        },
        feature: "cls",
      }, {
        get: () => {
          throw new Error();
        },
        has: () => false,
        list: () => [],
      } as never),
    TypeError,
  );
});

Deno.test("stratifiedPatientSplit() keeps both classes on both sides, patients together", async () => {
  const { stratifiedPatientSplit } = await import("./mod.ts");
  const samples = Array.from({ length: 40 }, (_, i) => slide(`${i < 8 ? "t" : "n"}${i}`));
  for (const seed of [1, 2, 3]) {
    const { train, test } = stratifiedPatientSplit(samples, 0.1, seed);
    assert.equal(train.length + test.length, 40);
    assert.ok(
      test.some((id) => id.startsWith("t")) && test.some((id) => id.startsWith("n")),
      `${test}`,
    );
    assert.ok(train.some((id) => id.startsWith("t")));
  }
});

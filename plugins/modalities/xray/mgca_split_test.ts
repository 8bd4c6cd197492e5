import assert from "node:assert/strict";
import {
  mgcaRsnaSplit,
  Mt19937,
  permutation,
  randomInterval,
  splitSizes,
  trainTestSplit,
} from "./mgca_split.ts";

interface Reference {
  numpy: string;
  sklearn: string;
  pandas: string | null;
  words: { seed: number; values: number[] }[];
  permutations: {
    n: number;
    seed: number;
    values?: number[];
    head?: number[];
    tail?: number[];
    sha256?: string;
  }[];
  trainTestSplits: {
    n: number;
    testSize: number;
    seed: number;
    nTrain: number;
    nTest: number;
    train?: number[];
    test?: number[];
    trainSha256?: string;
    testSha256?: string;
  }[];
  rsnaLabelsCsv: string;
  rsnaMgca?: { train: string[]; val: string[]; test: string[] };
}

const reference: Reference = JSON.parse(
  await Deno.readTextFile(new URL("../../../fixtures/mgca_split/reference.json", import.meta.url)),
);

async function digest(values: Int32Array): Promise<string> {
  const bytes = new TextEncoder().encode(Array.from(values).join(","));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("Mt19937 gives numpy RandomState's 32-bit words", () => {
  for (const { seed, values } of reference.words) {
    const rng = new Mt19937(seed);
    // randint(0, 2**32, dtype=uint64) draws one masked 32-bit word per value
    assert.deepEqual(values.map(() => rng.nextUint32()), values, `seed ${seed}`);
  }
  assert.throws(() => new Mt19937(-1), RangeError);
  assert.throws(() => new Mt19937(2 ** 32), RangeError);
});

Deno.test("permutation() equals numpy RandomState(seed).permutation(n)", async () => {
  for (const ref of reference.permutations) {
    const p = permutation(ref.n, ref.seed);
    if (ref.values) {
      assert.deepEqual(Array.from(p), ref.values, `n ${ref.n} seed ${ref.seed}`);
    } else {
      assert.deepEqual(Array.from(p.slice(0, 10)), ref.head);
      assert.deepEqual(Array.from(p.slice(-10)), ref.tail);
      assert.equal(await digest(p), ref.sha256, `n ${ref.n} seed ${ref.seed}`);
    }
  }
});

Deno.test("randomInterval() stays in [0, max] and is 0 for max 0", () => {
  const rng = new Mt19937(5);
  assert.equal(randomInterval(rng, 0), 0);
  for (const max of [1, 2, 3, 7, 8, 1000, 2 ** 31, 2 ** 32 - 1]) {
    for (let i = 0; i < 50; i++) {
      const v = randomInterval(rng, max);
      assert.ok(Number.isInteger(v) && v >= 0 && v <= max, `${v} for max ${max}`);
    }
  }
});

Deno.test("trainTestSplit() equals scikit-learn's train_test_split indices and sizes", async () => {
  for (const ref of reference.trainTestSplits) {
    const what = `n ${ref.n} test_size ${ref.testSize} seed ${ref.seed}`;
    assert.deepEqual(
      splitSizes(ref.n, ref.testSize),
      { nTrain: ref.nTrain, nTest: ref.nTest },
      what,
    );
    const { train, test } = trainTestSplit(ref.n, ref.testSize, ref.seed);
    if (ref.train) {
      assert.deepEqual(Array.from(train), ref.train, what);
      assert.deepEqual(Array.from(test), ref.test, what);
    } else {
      assert.equal(await digest(train), ref.trainSha256, what);
      assert.equal(await digest(test), ref.testSha256, what);
    }
  }
  assert.throws(() => splitSizes(10, 0), RangeError);
  assert.throws(() => splitSizes(10, 1.5), RangeError);
  assert.throws(() => splitSizes(10, 10), RangeError);
});

Deno.test("mgcaRsnaSplit() equals MGCA's preprocess_rsna_data() run with pandas and scikit-learn", () => {
  const rows = reference.rsnaLabelsCsv.trim().split("\n").slice(1);
  const ids = rows.map((r) => r.split(",")[0]);
  const ours = mgcaRsnaSplit(ids);
  assert.ok(reference.rsnaMgca, "the fixture was generated without pandas");
  assert.deepEqual(ours.train, reference.rsnaMgca.train);
  assert.deepEqual(ours.val, reference.rsnaMgca.val);
  assert.deepEqual(ours.test, reference.rsnaMgca.test);
  // the order of the CSV rows does not matter (pandas groups and sorts)
  assert.deepEqual(mgcaRsnaSplit([...ids].reverse()), ours);
});

Deno.test("mgcaRsnaSplit() on the full stage-2 size gives MGCA's 18,678 / 4,003 / 4,003", () => {
  const ids = Array.from({ length: 26684 }, (_, i) => `p${String(i).padStart(5, "0")}`);
  const split = mgcaRsnaSplit(ids);
  assert.deepEqual([split.train.length, split.val.length, split.test.length], [18678, 4003, 4003]);
  const all = new Set([...split.train, ...split.val, ...split.test]);
  assert.equal(all.size, 26684);
});

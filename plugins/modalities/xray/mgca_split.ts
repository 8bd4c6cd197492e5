// This module is browser compatible.
/**
 * MGCA's RSNA Pneumonia split, recomputed bit for bit from the raw Kaggle
 * labels CSV: numpy's legacy `RandomState` (MT19937) permutation and
 * scikit-learn's `train_test_split` (shuffled, unstratified) re-implemented
 * in TypeScript, and MGCA's `preprocess_rsna_data` (HKU-MedAI/MGCA,
 * `mgca/preprocess/rsna.py`) on top of them.
 *
 * What MGCA's script does, and what {@linkcode mgcaRsnaSplit} reproduces:
 *
 * 1. `df.groupby("patientId").agg(list).reset_index()`: one row per
 *    patient, in ascending order of the patient id (pandas sorts the group
 *    keys; the ids are ASCII, so code-unit order);
 * 2. `Target` = 1 when the patient has a box, else 0;
 * 3. `train_df, test_val_df = train_test_split(df, test_size=0.15 * 2,
 *    random_state=0)`;
 * 4. `test_df, valid_df = train_test_split(test_val_df, test_size=0.5,
 *    random_state=0)` — note the order: the *first* (train) part of the
 *    second split is MGCA's test set and the second part its validation set;
 * 5. each part keeps the permutation order (the order of MGCA's CSV rows).
 *
 * `train_test_split(X, test_size=t, random_state=s)` is scikit-learn's
 * `ShuffleSplit`: `n_test = ceil(t * n)` for a fraction `t` (or `t` itself
 * for an integer), `n_train = n - n_test`, `perm =
 * RandomState(s).permutation(n)`, test = `perm[:n_test]`, train =
 * `perm[n_test:]`. `RandomState(s).permutation(n)` is a Fisher–Yates
 * shuffle of `arange(n)` from the last element down, each index drawn by
 * `random_interval` (the smallest all-ones mask ≥ i, rejection of 32-bit
 * MT19937 words above i). Checked against numpy and scikit-learn outputs in
 * `fixtures/mgca_split/` (see its README for how they were generated).
 *
 * @example Split ten patients as MGCA would
 * ```ts
 * import { mgcaRsnaSplit } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
 * const split = mgcaRsnaSplit(ids);
 * assert.equal(split.train.length, 7); // 10 - ceil(0.3 * 10)
 * assert.equal(split.val.length, 2); // ceil(0.5 * 3)
 * assert.equal(split.test.length, 1);
 * ```
 *
 * @module
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * numpy's legacy `RandomState` bit generator: the 32-bit Mersenne Twister
 * MT19937 seeded with `init_genrand` (what `np.random.RandomState(seed)`
 * does for an integer seed).
 *
 * @example The first 32-bit word of `RandomState(0)`
 * ```ts
 * import { Mt19937 } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * // np.random.RandomState(0).randint(0, 2**32, dtype=np.uint64)... is built on these words;
 * // genrand_int32() after init_genrand(0) is 2357136044
 * assert.equal(new Mt19937(0).nextUint32(), 2357136044);
 * ```
 */
export class Mt19937 {
  #state = new Uint32Array(N);
  #pos = N;

  /**
   * Seeds the generator like `np.random.RandomState(seed)`.
   *
   * @param seed An integer in [0, 2^32 − 1].
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(
        `Cannot seed MT19937 as seed must be an integer in [0, 4294967295]: current value is ${seed}`,
      );
    }
    const mt = this.#state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.#pos = N;
  }

  #generate(): void {
    const mt = this.#state;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
      mt[i] = mt[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[i + 1] & LOWER_MASK);
      mt[i] = mt[i + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.#pos = 0;
  }

  /** The next tempered 32-bit word (`genrand_int32`). */
  nextUint32(): number {
    if (this.#pos >= N) this.#generate();
    let y = this.#state[this.#pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/**
 * numpy's `random_interval(max)`: a uniform integer in [0, max] by masking
 * 32-bit words with the smallest all-ones mask ≥ `max` and rejecting
 * values above `max` (for `max` < 2^32, which is all a permutation of
 * fewer than 2^32 items needs).
 *
 * @example
 * ```ts
 * import { Mt19937, randomInterval } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * const v = randomInterval(new Mt19937(1), 9);
 * assert.ok(v >= 0 && v <= 9);
 * ```
 */
export function randomInterval(rng: Mt19937, max: number): number {
  if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
    throw new RangeError(
      `Cannot draw an interval value as max must be an integer in [0, 4294967295]: current value is ${max}`,
    );
  }
  if (max === 0) return 0;
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask >>>= 0;
  let value: number;
  do value = (rng.nextUint32() & mask) >>> 0; while (value > max);
  return value;
}

/**
 * `np.random.RandomState(seed).permutation(n)`: `arange(n)` shuffled in
 * place by numpy's legacy Fisher–Yates (`for i in reversed(range(1, n)):
 * j = random_interval(i); swap(i, j)`).
 *
 * @example
 * ```ts
 * import { permutation } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * const p = permutation(5, 0);
 * assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
 * ```
 *
 * @param n How many items (a non-negative integer).
 * @param seedOrRng The `RandomState` seed, or a generator to draw from (consumed).
 */
export function permutation(n: number, seedOrRng: number | Mt19937): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(
      `Cannot permute as n must be a non-negative integer below 2^31: current value is ${n}`,
    );
  }
  const rng = typeof seedOrRng === "number" ? new Mt19937(seedOrRng) : seedOrRng;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i >= 1; i--) {
    const j = randomInterval(rng, i);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * scikit-learn's split sizes (`_validate_shuffle_split` with `train_size`
 * left out): `n_test = ceil(testSize * n)` for a fraction in (0, 1), or
 * `testSize` for an integer ≥ 1; `n_train = n - n_test`. Throws like
 * scikit-learn when a part would be empty.
 *
 * @example
 * ```ts
 * import { splitSizes } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitSizes(26684, 0.15 * 2), { nTrain: 18678, nTest: 8006 });
 * ```
 */
export function splitSizes(n: number, testSize: number): { nTrain: number; nTest: number } {
  let nTest: number;
  if (Number.isInteger(testSize) && testSize >= 1) {
    if (testSize >= n) {
      throw new RangeError(
        `Cannot split ${n} samples as test_size must be below the sample count: current value is ${testSize}`,
      );
    }
    nTest = testSize;
  } else if (testSize > 0 && testSize < 1) {
    nTest = Math.ceil(testSize * n);
  } else {
    throw new RangeError(
      `Cannot split as test_size must be a fraction in (0, 1) or an integer of at least 1: current value is ${testSize}`,
    );
  }
  const nTrain = n - nTest;
  if (nTrain <= 0) {
    throw new RangeError(
      `Cannot split ${n} samples as the train part must not be empty: current test_size ${testSize} leaves ${nTrain}`,
    );
  }
  return { nTrain, nTest };
}

/**
 * The row indices of scikit-learn's `train_test_split(X, test_size=testSize,
 * random_state=seed)` for `n` rows (shuffled, unstratified): train =
 * `perm[n_test:]`, test = `perm[:n_test]` of
 * `RandomState(seed).permutation(n)`, each in permutation order.
 *
 * @example
 * ```ts
 * import { trainTestSplit } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * const { train, test } = trainTestSplit(10, 0.3, 0);
 * assert.equal(train.length + test.length, 10);
 * assert.equal(test.length, 3);
 * ```
 */
export function trainTestSplit(
  n: number,
  testSize: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  const { nTest } = splitSizes(n, testSize);
  const perm = permutation(n, seed);
  return { train: perm.slice(nTest), test: perm.slice(0, nTest) };
}

/** The three parts of MGCA's RSNA split: patient ids, each in MGCA's CSV row order. */
export interface MgcaRsnaSplit {
  /** `train.csv`. */
  readonly train: readonly string[];
  /** `val.csv`. */
  readonly val: readonly string[];
  /** `test.csv`. */
  readonly test: readonly string[];
}

/** Options of {@linkcode mgcaRsnaSplit}. */
export interface MgcaRsnaSplitOptions {
  /**
   * `test_fac` of `preprocess_rsna_data` (the first split holds out
   * `test_fac * 2`). @default {0.15}
   */
  testFraction?: number;
  /** `random_state` of both `train_test_split` calls. @default {0} */
  seed?: number;
}

/**
 * MGCA's `preprocess_rsna_data()` on a list of patient ids (any order,
 * duplicates allowed — they are the labels CSV's rows): the unique ids are
 * sorted (pandas `groupby`), split 70 / 30 and the 30 split again in half,
 * exactly as the module doc describes.
 *
 * @example
 * ```ts
 * import { mgcaRsnaSplit } from "./mgca_split.ts";
 * import assert from "node:assert/strict";
 * const a = mgcaRsnaSplit(["c", "a", "b", "a", "d", "e"]);
 * const b = mgcaRsnaSplit(["e", "d", "c", "b", "a"]);
 * assert.deepEqual(a, b); // grouping and sorting first
 * ```
 */
export function mgcaRsnaSplit(
  patientIds: Iterable<string>,
  options: MgcaRsnaSplitOptions = {},
): MgcaRsnaSplit {
  const testFraction = options.testFraction ?? 0.15;
  const seed = options.seed ?? 0;
  const ids = [...new Set(patientIds)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const first = trainTestSplit(ids.length, testFraction * 2, seed);
  const testVal = Array.from(first.test, (i) => ids[i]);
  const second = trainTestSplit(testVal.length, 0.5, seed);
  return {
    train: Array.from(first.train, (i) => ids[i]),
    test: Array.from(second.train, (i) => testVal[i]),
    val: Array.from(second.test, (i) => testVal[i]),
  };
}

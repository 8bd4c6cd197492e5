import assert from "node:assert/strict";
import { bootstrapCi } from "../../core/bootstrap.ts";
import { createMulberry32 } from "../../core/random.ts";
import { aucMetric } from "./classification.ts";
import { diceMetric } from "./overlap.ts";
import { assertClose, bruteAuc } from "./_testing.ts";

Deno.test("createMulberry32() reproduces the reference sequence", () => {
  // Values of the reference algorithm computed independently (Python port).
  const next = createMulberry32(1);
  assert.deepEqual([next(), next(), next()], [
    0.6270739405881613,
    0.002735721180215478,
    0.5274470399599522,
  ]);
});

function linear(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo);
}

Deno.test("bootstrapCi() follows the documented stratified procedure exactly", () => {
  const scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.6, 0.3, 0.55];
  const targets = [0, 0, 1, 1, 1, 0, 1, 0, 0, 1];
  const samples = 300;
  const seed = 42;
  // Re-implementation of the module doc: strata in order of first appearance,
  // index floor(next() · m) within each stratum, AUC per resample.
  const strata = [[0, 1, 5, 7, 8], [2, 3, 4, 6, 9]];
  const next = createMulberry32(seed);
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    const idx: number[] = [];
    for (const stratum of strata) {
      for (let i = 0; i < stratum.length; i++) {
        idx.push(stratum[Math.floor(next() * stratum.length)]);
      }
    }
    values.push(bruteAuc(idx.map((i) => scores[i]), idx.map((i) => targets[i])));
  }
  values.sort((a, b) => a - b);
  const ci = bootstrapCi(aucMetric, scores, targets, { samples, seed });
  assertClose([ci.low, ci.high], [linear(values, 0.025), linear(values, 0.975)], { abs: 1e-15 });
  assert.equal(ci.validSamples, samples);
  assertClose(ci.estimate, bruteAuc(scores, targets));
  const other = bootstrapCi(aucMetric, scores, targets, { samples, seed: seed + 1 });
  assert.notDeepEqual([other.low, other.high], [ci.low, ci.high]);
});

Deno.test("stratified resampling keeps class counts; plain resampling does not", () => {
  const targets = Uint8Array.of(0, 0, 0, 0, 1, 1);
  const scores = Float64Array.of(0.1, 0.2, 0.3, 0.4, 0.8, 0.9);
  const positives = (_p: unknown, t: unknown) => (t as Uint8Array).reduce((a, v) => a + v, 0);
  const kept = bootstrapCi(positives, scores, targets, { samples: 100, seed: 3 });
  assert.deepEqual([kept.low, kept.high], [2, 2]);
  const plain = bootstrapCi(positives, scores, targets, {
    samples: 100,
    seed: 3,
    stratified: false,
  });
  assert.ok(plain.low < 2 && plain.high > 2);
});

Deno.test("bootstrapCi() skips undefined resamples and resamples lists of cases", () => {
  // Without stratification some resamples hold one class: their AUC is NaN.
  const ci = bootstrapCi(aucMetric, [0.2, 0.8, 0.6], [0, 1, 1], {
    samples: 200,
    seed: 1,
    stratified: false,
  });
  assert.ok(ci.validSamples < 200 && ci.validSamples > 0);
  // Per-case Dice over a list of label maps: items are resampled, never stratified.
  const mask = (n: number) => ({
    data: Uint8Array.from({ length: 4 }, (_, i) => (i < n ? 1 : 0)),
    shape: [4],
  });
  const preds = [mask(2), mask(3), mask(1)];
  const gts = [mask(2), mask(2), mask(2)];
  const perCase = (p: unknown, t: unknown) => {
    const ps = p as ReturnType<typeof mask>[];
    const ts = t as ReturnType<typeof mask>[];
    const dice = ps.map((x, i) => diceMetric.compute(x, ts[i], { numClasses: 2 })[0]);
    return dice.reduce((a, b) => a + b, 0) / dice.length;
  };
  const cases = bootstrapCi(perCase, preds, gts, { samples: 100, seed: 5 });
  assert.ok(cases.low >= 2 / 3 - 1e-12 && cases.high <= 1 && cases.low < cases.high);
  assert.throws(() => bootstrapCi(perCase, preds, gts, { stratified: true }), TypeError);
});

Deno.test("bootstrapCi() rejects bad input", () => {
  assert.throws(() => bootstrapCi(aucMetric, [0.1, 0.2], [0, 1, 1]), TypeError);
  assert.throws(() => bootstrapCi(aucMetric, [0.1, 0.2], [0, 1], { level: 1 }), RangeError);
  assert.throws(() => bootstrapCi(aucMetric, [0.1, 0.2], [0, 1], { samples: 0 }), RangeError);
  assert.throws(() => bootstrapCi(aucMetric, [0.1, 0.2], [0, 1], { seed: NaN }), TypeError);
  assert.throws(() => bootstrapCi({} as never, [0.1, 0.2], [0, 1]), TypeError);
  assert.throws(() => bootstrapCi(aucMetric, "ab", [0, 1]), TypeError);
});

Deno.test("bootstrapCi() onElements gives each label the interval its own bootstrap gives", () => {
  const rand = createMulberry32(11);
  const n = 40;
  const scores = Array.from({ length: n }, () => [rand(), rand()]);
  const targets = scores.map(([a, b]) => [a + rand() * 0.5 > 0.7 ? 1 : 0, b > 0.5 ? 1 : 0]);
  let per: { low: number; high: number; estimate: number }[] = [];
  const macro = bootstrapCi(aucMetric, scores, targets, {
    samples: 200,
    seed: 3,
    stratified: false,
    onElements: (cis) => (per = cis),
  });
  assert.equal(per.length, 2);
  for (let k = 0; k < 2; k++) {
    const alone = bootstrapCi((p, t) => aucMetric.compute(p, t)[k], scores, targets, {
      samples: 200,
      seed: 3,
      stratified: false,
    });
    assert.equal(per[k].low, alone.low);
    assert.equal(per[k].high, alone.high);
    assert.equal(per[k].estimate, alone.estimate);
  }
  assert.ok(macro.low <= macro.estimate && macro.estimate <= macro.high);
});

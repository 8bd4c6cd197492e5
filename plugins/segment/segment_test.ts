import assert from "node:assert/strict";
import { affinitiesFromLabels, balancedWeights } from "./affinities.ts";
import { agglomerate, parseMergeFunction } from "./agglomerate.ts";
import { connectedComponents, toDenseLabels, toUint64Labels } from "./labels.ts";
import { readAffinities, writeHdf5 } from "./io.ts";
import { segmentAffinities, sweepScores } from "./segment.ts";
import { watershed } from "./watershed.ts";
import { cremiBorderMask } from "./border_mask.ts";
import { makeEmPhantom } from "../modalities/em/_phantom.ts";
import { createMulberry32 } from "../../core/random.ts";
import { FormatError } from "../../core/errors.ts";
import { readCremi } from "../formats/hdf5/mod.ts";

const THRESHOLDS = [0.1, 0.3, 0.5, 0.7, 0.9];

function phantom(seed = 3) {
  return makeEmPhantom({ shape: [12, 64, 64], seed });
}

function noisy(affs: Float32Array, amplitude: number, seed: number): Float32Array {
  const rng = createMulberry32(seed);
  const out = new Float32Array(affs.length);
  for (let i = 0; i < affs.length; i++) {
    out[i] = Math.min(1, Math.max(0, affs[i] + (rng() * 2 - 1) * amplitude));
  }
  return out;
}

Deno.test("affinitiesFromLabels() follows seg_to_affgraph: same non-background label, predecessor edges", () => {
  // z=0: [1 1 / 0 2], z=1: [1 2 / 2 2]
  const labels = Uint32Array.of(1, 1, 0, 2, 1, 2, 2, 2);
  const affs = affinitiesFromLabels(labels, [2, 2, 2]);
  assert.deepEqual([...affs.subarray(0, 8)], [0, 0, 0, 0, 1, 0, 0, 1]); // z
  assert.deepEqual([...affs.subarray(8, 16)], [0, 0, 0, 0, 0, 0, 0, 1]); // y
  assert.deepEqual([...affs.subarray(16, 24)], [0, 1, 0, 0, 0, 0, 0, 1]); // x
});

Deno.test("balancedWeights() gives both classes equal total weight (gunpowder BalanceLabels)", () => {
  const t = Float32Array.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const w = balancedWeights(t);
  let pos = 0, neg = 0;
  t.forEach((v, i) => v > 0.5 ? (pos += w[i]) : (neg += w[i]));
  assert.ok(Math.abs(pos - neg) < 1e-6);
  assert.ok(Math.abs(w[0] - 1 / (2 * 0.2)) < 1e-6);
  assert.throws(() => balancedWeights(t, { clip: 0.7 }), RangeError);
});

Deno.test("watershed() follows steepest ascent to maxima and leaves low voxels as background", () => {
  // 1×1×5 line: faces 0.9, 0.2, 0.8, 0.0 → basins {0,1}, {2,3}, voxel 4 alone has max 0 → background
  const affs = new Float32Array(15);
  affs.set([0, 0.9, 0.2, 0.8, 0], 10);
  const f = watershed(affs, [1, 1, 5]);
  assert.deepEqual([...f.data], [1, 1, 2, 2, 0]);
  assert.equal(f.count, 2);
  assert.deepEqual([...f.sizes], [1, 2, 2]);
  assert.throws(() => watershed(affs, [1, 1, 4]), /3 × 1 × 1 × 4 = 12 values/);
});

Deno.test("agglomerate() merge functions: mean vs quantile on a mixed face", () => {
  // fragments 1 | 2 along x, 4 rows; the 4 faces between them have affinities 0.9, 0.9, 0.9, 0.1
  const shape = [1, 4, 2] as [number, number, number];
  const frag = Uint32Array.of(1, 2, 1, 2, 1, 2, 1, 2);
  const fragments = { data: frag, shape, count: 2, sizes: Float64Array.of(0, 4, 4) };
  const affs = new Float32Array(24);
  affs.set([0, 0.9, 0, 0.9, 0, 0.9, 0, 0.1], 16);
  // mean 0.7 → score 0.3
  const mean = [...agglomerate(affs, fragments, [0.29, 0.31], { mergeFunction: "mean" })];
  assert.deepEqual(mean.map((l) => l.segments), [2, 1]);
  // median (pivot ⌊50·4/100⌋+1 = 3rd value = 0.9, bin 230 centre 0.900390625) → score ≈ 0.0996
  const median = [...agglomerate(affs, fragments, [0.099, 0.1], { mergeFunction: "quantile-50" })];
  assert.deepEqual(median.map((l) => l.segments), [2, 1]);
  // quantile 0 → 0.1's bin centre (25.5/256) → score ≈ 0.9004
  const q0 = [...agglomerate(affs, fragments, [0.9, 0.901], { mergeFunction: "quantile-0" })];
  assert.deepEqual(q0.map((l) => l.segments), [2, 1]);
  assert.throws(() => parseMergeFunction("median"), /must be "mean"/);
});

Deno.test("agglomerate() merges shared edges: a chain merges in the order of its scores", () => {
  // fragments 1 2 3 along x with faces 0.95 (1–2) and 0.6 (2–3)
  const fragments = {
    data: Uint32Array.of(1, 2, 3),
    shape: [1, 1, 3] as [number, number, number],
    count: 3,
    sizes: Float64Array.of(0, 1, 1, 1),
  };
  const affs = new Float32Array(9);
  affs.set([0, 0.95, 0.6], 6);
  const levels = [...agglomerate(affs, fragments, [0.5, 0.01, 0.1])];
  assert.deepEqual(levels.map((l) => l.threshold), [0.01, 0.1, 0.5]);
  assert.deepEqual(levels.map((l) => l.segments), [3, 2, 1]);
  assert.equal(levels[1].map[1], levels[1].map[2]);
  assert.notEqual(levels[1].map[2], levels[1].map[3]);
});

Deno.test("correctness by construction: gt affinities → watershed + agglomeration recover the labels", () => {
  const p = phantom();
  const dense = toDenseLabels({ data: p.neuronIds, shape: p.shape });
  assert.equal(dense.count, p.count);
  const affs = affinitiesFromLabels(dense.data, p.shape);
  for (const mergeFunction of ["mean", "quantile-50", "quantile-75", "quantile-85"]) {
    const { scores } = sweepScores(affs, p.neuronIds, p.shape, {
      thresholds: THRESHOLDS,
      mergeFunction,
    });
    for (const s of scores) {
      assert.ok(s.voiSum <= 0.01, `${mergeFunction} @${s.threshold}: VOI sum ${s.voiSum}`);
      assert.ok(s.arand <= 0.01, `${mergeFunction} @${s.threshold}: ARAND ${s.arand}`);
      assert.equal(s.segments, p.count);
    }
  }
});

Deno.test("correctness by construction: VOI grows with affinity noise", () => {
  const p = phantom(5);
  const dense = toDenseLabels({ data: p.neuronIds, shape: p.shape });
  const affs = affinitiesFromLabels(dense.data, p.shape);
  const voi = [0, 0.7, 0.9, 1.2].map((amplitude) => {
    const { scores } = sweepScores(noisy(affs, amplitude, 11), dense.data, p.shape, {
      thresholds: [0.5],
    });
    return scores[0].voiSum;
  });
  assert.ok(voi[0] <= 0.01, `no noise: ${voi[0]}`);
  for (let i = 1; i < voi.length; i++) {
    assert.ok(voi[i] > voi[i - 1], `VOI must grow with noise: ${voi.join(", ")}`);
  }
  assert.ok(voi[3] > 1, `heavy noise must break the segmentation: ${voi[3]}`);
});

Deno.test("uint64 ids stay exact: labels ≥ 2^53 → affinities → segments → HDF5 → readCremi", async () => {
  const p = makeEmPhantom({ shape: [4, 32, 32], seed: 9 });
  const dense = toDenseLabels({ data: p.neuronIds, shape: p.shape });
  assert.ok([...dense.original].some((id) => id > 2n ** 53n));
  const [seg] = segmentAffinities(affinitiesFromLabels(dense.data, p.shape), p.shape, {
    thresholds: [0.5],
  });
  // each segment is one gt object: carry the gt uint64 id through the segment ids
  const table = new BigUint64Array(seg.data.reduce((a, b) => Math.max(a, b), 0) + 1);
  for (let i = 0; i < seg.data.length; i++) table[seg.data[i]] = dense.original[dense.data[i]];
  const ids = toUint64Labels(seg.data, table);
  assert.deepEqual(ids, p.neuronIds);
  const dir = await Deno.makeTempDir({ prefix: "medprobe_segment_" });
  try {
    const path = `${dir}/seg.hdf`;
    await writeHdf5(path, [
      { name: "volumes/raw", data: p.raw, shape: p.shape, attributes: { resolution: [40, 4, 4] } },
      { name: "volumes/labels/neuron_ids", data: ids, shape: p.shape },
    ]);
    const back = await readCremi(path);
    assert.deepEqual(back.neuronIds!.data, p.neuronIds);
    assert.deepEqual(back.resolutionNm, [40, 4, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAffinities() names the file and dataset for missing, mis-shaped and out-of-range data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_segment_" });
  try {
    const good = `${dir}/affs.h5`;
    const affs = new Float32Array(3 * 2 * 3 * 3).fill(0.5);
    await writeHdf5(good, [{ name: "volumes/affinities", data: affs, shape: [3, 2, 3, 3] }]);
    const read = await readAffinities(good);
    assert.deepEqual(read.shape, [2, 3, 3]);
    assert.equal(read.data[5], 0.5);
    const check = async (fn: () => Promise<unknown>, pattern: RegExp) => {
      const error = await fn().then(() => undefined, (e) => e);
      assert.ok(error instanceof FormatError, String(error));
      assert.match(error.message, pattern);
      assert.ok(error.message.includes(good) || error.path === good);
    };
    await check(
      () => readAffinities(good, "pred/affs"),
      /"pred\/affs" must exist.*"volumes\/affinities"/,
    );
    await writeHdf5(good, [{ name: "volumes/affinities", data: affs, shape: [2, 3, 3, 3] }]);
    await check(
      () => readAffinities(good),
      /shape must be \(3, z, y, x\): current shape is \(2, 3, 3, 3\)/,
    );
    affs[4] = 1.5;
    await writeHdf5(good, [{ name: "volumes/affinities", data: affs, shape: [3, 2, 3, 3] }]);
    await check(() => readAffinities(good), /in \[0, 1\]: current value at flat index 4 is 1.5/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectedComponents() splits objects a crop cuts in two", () => {
  const cc = connectedComponents(Uint32Array.of(7, 0, 7, 7, 0, 7), [1, 2, 3]);
  assert.deepEqual([...cc.data], [1, 0, 2, 1, 0, 2]);
  assert.equal(cc.count, 2);
});

/** Canonical relabelling (first appearance order) to compare partitions. */
function canonical(labels: ArrayLike<number>): number[] {
  const ids = new Map<number, number>();
  return Array.from(labels, (l) => {
    if (l === 0) return 0;
    if (!ids.has(l)) ids.set(l, ids.size + 1);
    return ids.get(l)!;
  });
}

/**
 * The definition, brute force: repeatedly recompute every region pair's
 * face affinities from the voxels and merge the cheapest pair below the
 * threshold.
 */
function bruteForce(
  affs: Float32Array,
  fragments: Uint32Array,
  shape: [number, number, number],
  threshold: number,
  score: (values: number[]) => number,
): number[] | undefined {
  const [d, h, w] = shape;
  const n = d * h * w;
  const labels = Array.from(fragments);
  for (;;) {
    const faces = new Map<string, number[]>();
    for (let z = 0; z < d; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = z * h * w + y * w + x;
          const pairs: [number, number][] = [];
          if (z > 0) pairs.push([i - h * w, 0]);
          if (y > 0) pairs.push([i - w, 1]);
          if (x > 0) pairs.push([i - 1, 2]);
          for (const [j, c] of pairs) {
            const a = labels[i], b = labels[j];
            if (a === b || a === 0 || b === 0) continue;
            const key = a < b ? `${a},${b}` : `${b},${a}`;
            if (!faces.has(key)) faces.set(key, []);
            faces.get(key)!.push(affs[c * n + i]);
          }
        }
      }
    }
    let best: string | undefined, bestScore = Infinity;
    let ties = 0;
    for (const [key, values] of faces) {
      const s = score(values);
      if (s === bestScore) ties++;
      if (s < bestScore) (bestScore = s, best = key, ties = 0);
    }
    if (best === undefined || bestScore >= threshold) return labels;
    if (ties > 0) return undefined; // two cheapest edges tie: the merge order is arbitrary
    const [a, b] = best.split(",").map(Number);
    for (let i = 0; i < n; i++) if (labels[i] === b) labels[i] = a;
  }
}

Deno.test("agglomerate() equals the brute-force definition (mean and histogram quantile) on random affinities", () => {
  const shape: [number, number, number] = [3, 9, 9];
  const rng = createMulberry32(21);
  const affs = Float32Array.from({ length: 3 * 243 }, () => rng());
  const fragments = watershed(affs, shape);
  assert.ok(fragments.count > 10, `fragments ${fragments.count}`);
  const thresholds = [0.2, 0.4, 0.6];
  const mean = (v: number[]) => 1 - v.reduce((a, b) => a + b, 0) / v.length;
  // fine histograms so that no two edges tie (tie order is arbitrary in waterz too)
  const bins = 1 << 16;
  const quantile = (q: number) => (v: number[]) => {
    const b = v.map((a) => Math.min(Math.floor(a * bins), bins - 1)).sort((x, y) => x - y);
    return 1 - (b[Math.floor(q * v.length / 100)] + 0.5) / bins;
  };
  const cases = [
    [{ kind: "mean" }, mean],
    [{ kind: "quantile", quantile: 50, bins }, quantile(50)],
    [{ kind: "quantile", quantile: 85, bins }, quantile(85)],
  ] as const;
  let compared = 0;
  for (const [mergeFunction, fn] of cases) {
    const name = JSON.stringify(mergeFunction);
    const levels = [...agglomerate(affs, fragments, thresholds, { mergeFunction })];
    levels.forEach((level, k) => {
      const ours = canonical(Array.from(fragments.data, (f) => level.map[f]));
      const reference = bruteForce(affs, fragments.data, shape, thresholds[k], fn);
      if (reference === undefined) return;
      compared++;
      assert.deepEqual(ours, canonical(reference), `${name} @${thresholds[k]}`);
    });
    assert.ok(levels[0].segments > levels[2].segments, `${name} merges more at higher thresholds`);
  }
  assert.ok(compared >= 7, `only ${compared} of 9 levels were free of ties`);
});

Deno.test("cremiBorderMask() masks pixels within maxDist of an in-section label change (cremi_python)", () => {
  // one section, 5 × 6: left object 1 (x < 3), right object 2
  const gt = new Uint32Array(30).map((_, i) => (i % 6 < 3 ? 1 : 2));
  const masked = cremiBorderMask(gt, [1, 5, 6], 1);
  // border pixels at x = 2 and 3; distance ≤ 1 adds x = 1 and 4
  for (let i = 0; i < 30; i++) {
    const x = i % 6;
    assert.equal(masked[i], x === 0 ? 1 : x === 5 ? 2 : 0, `pixel ${i}`);
  }
  assert.deepEqual(cremiBorderMask(gt, [1, 5, 6], 0), gt);
  // z changes are not borders
  const two = Uint32Array.of(1, 1, 2, 2);
  assert.deepEqual([...cremiBorderMask(two, [2, 1, 2], 0.5)], [1, 1, 2, 2]);
});

Deno.test("agglomerate() quantiles: edges with many faces (histogram rows, recycled on merges) equal the brute force", () => {
  // 3 × 3 blocks of 4 × 4 pixels through 10 sections: 9 fragments, 12 edges of 40 faces each
  const shape: [number, number, number] = [10, 12, 12];
  const data = new Uint32Array(10 * 144).map((_, i) => {
    const y = Math.floor(i / 12) % 12, x = i % 12;
    return 1 + Math.floor(y / 4) * 3 + Math.floor(x / 4);
  });
  const fragments = { data, shape, count: 9, sizes: new Float64Array(10).fill(160) };
  const rng = createMulberry32(8);
  const affs = Float32Array.from({ length: 3 * 1440 }, () => rng());
  const bins = 1 << 16;
  for (const q of [10, 25, 50]) {
    const fn = (v: number[]) => {
      const b = v.map((a) => Math.min(Math.floor(a * bins), bins - 1)).sort((x, y) => x - y);
      return 1 - (b[Math.floor(q * v.length / 100)] + 0.5) / bins;
    };
    const thresholds = [0.3, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95];
    const levels = [
      ...agglomerate(affs, fragments, thresholds, {
        mergeFunction: { kind: "quantile", quantile: q, bins },
      }),
    ];
    levels.forEach((level, k) => {
      const reference = bruteForce(affs, data, shape, thresholds[k], fn);
      if (reference === undefined) return;
      assert.deepEqual(
        canonical(Array.from(data, (f) => level.map[f])),
        canonical(reference),
        `q${q} @${thresholds[k]}`,
      );
    });
    assert.ok(
      levels[0].segments > levels.at(-1)!.segments,
      `q${q}: ${levels.map((l) => l.segments)}`,
    );
  }
});

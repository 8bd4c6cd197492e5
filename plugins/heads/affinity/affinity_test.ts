import assert from "node:assert/strict";
import {
  type AffinityCase,
  type AffinityHead,
  affinityHead,
  axisMap,
  backward,
  forward,
  initParams,
  PARAM_NAMES,
} from "./mod.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { makeEmPhantom } from "../../modalities/em/_phantom.ts";
import { affinitiesFromLabels } from "../../segment/affinities.ts";

Deno.test("affinity network: backward matches finite differences", () => {
  const rng = createMulberry32(4);
  const cf = 3, hidden = 2, fh = 2, fw = 2;
  const dims = [2, 4, 4] as const;
  const n = 32;
  const p = initParams(cf, hidden, rng);
  const feats = Float32Array.from({ length: cf * 2 * fh * fw }, () => rng() * 2 - 1);
  const image = Float32Array.from({ length: n }, () => rng() * 2 - 1);
  const targets = Float32Array.from({ length: 3 * n }, () => (rng() > 0.5 ? 1 : 0));
  const weights = Float32Array.from({ length: 3 * n }, () => 0.5 + rng());
  const ys = axisMap(fh, 4, 0, 4), xs = axisMap(fw, 4, 0, 4);
  const lossOf = () => {
    const s = forward(p, feats, cf, fh, fw, image, dims, ys, xs, hidden);
    let l = 0;
    for (let i = 0; i < 3 * n; i++) l += weights[i] * (s.out[i] - targets[i]) ** 2;
    return l / (3 * n);
  };
  const g = initParams(cf, hidden, () => 0.5);
  const s = forward(p, feats, cf, fh, fw, image, dims, ys, xs, hidden);
  const loss = backward(p, s, targets, weights, 3 * n, cf, fh, fw, dims, ys, xs, hidden, g);
  assert.ok(Math.abs(loss - lossOf()) < 1e-6);
  for (const name of PARAM_NAMES) {
    for (const i of [0, Math.floor(p[name].length / 2), p[name].length - 1]) {
      const old = p[name][i];
      const eps = 1e-2;
      p[name][i] = old + eps;
      const up = lossOf();
      p[name][i] = old - eps;
      const down = lossOf();
      p[name][i] = old;
      const numeric = (up - down) / (2 * eps);
      assert.ok(
        Math.abs(numeric - g[name][i]) < 1e-3 + 0.05 * Math.abs(numeric),
        `${name}[${i}]: analytic ${g[name][i]} vs numeric ${numeric}`,
      );
    }
  }
});

/** A case whose "features" are 4×4 patch means of the raw (a tiny stand-in encoder). */
function phantomCase(seed: number): AffinityCase {
  const p = makeEmPhantom({ shape: [6, 32, 32], seed });
  const image = Float32Array.from(p.raw, (v) => v / 255);
  const fh = 8, fw = 8, d = 6;
  const feats = new Float32Array(2 * d * fh * fw);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const k = z * fh * fw + (y >> 2) * fw + (x >> 2);
        feats[k] += image[z * 1024 + y * 32 + x] / 16;
        feats[d * fh * fw + k] += image[z * 1024 + y * 32 + x] ** 2 / 16;
      }
    }
  }
  const affinities = affinitiesFromLabels(p.dense, p.shape);
  return {
    id: `phantom-${seed}`,
    load: () =>
      Promise.resolve({
        features: { data: feats, shape: [2, d, fh, fw] as [number, number, number, number] },
        image,
        shape: p.shape,
        affinities,
      }),
  };
}

Deno.test("affinity head: training lowers the balanced MSE and separates boundaries; windows and save/load are exact", async () => {
  const train = phantomCase(1);
  const head = affinityHead.create({
    epochs: 6,
    cropsPerEpoch: 6,
    patchSize: [4, 24, 24],
    hidden: 4,
  }) as AffinityHead;
  const report = await head.fit([train], undefined, { seed: 2 });
  assert.equal(report.losses.length, 6);
  assert.ok(report.losses[5] < report.losses[0], `loss ${report.losses.join(", ")}`);
  const test = phantomCase(7);
  const [pred] = await head.predict([test]);
  const truth = (await test.load()).affinities!;
  // mean predicted affinity on true edges (1) above that on boundaries (0), x and y channels
  let on = 0, onN = 0, off = 0, offN = 0;
  const n = 6 * 32 * 32;
  for (let i = n; i < 3 * n; i++) {
    if (i % 32 === 0 && i >= 2 * n) continue;
    if (truth[i] > 0.5) (on += pred.affinities[i], onN++);
    else (off += pred.affinities[i], offN++);
  }
  assert.ok(on / onN > off / offN + 0.1, `on ${on / onN} off ${off / offN}`);
  // small windows (with halo) give the same output as one window
  const small = affinityHead.load(head.save(), { window: [2, 8, 8] }) as AffinityHead;
  const [again] = await small.predict([test]);
  let maxDiff = 0;
  for (let i = 0; i < pred.affinities.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(again.affinities[i] - pred.affinities[i]));
  }
  assert.ok(maxDiff < 1e-5, `window difference ${maxDiff}`);
  assert.throws(() => affinityHead.create({ lr: 2 }), /lr must be in \(0, 1\)/);
  assert.throws(() => affinityHead.create({ lrate: 1 }), /option "lrate" is unknown/);
});

/**
 * EM post-processing benchmark: watershed + waterz agglomeration (mean and
 * quantile-75, 9 thresholds) on noisy affinities of synthetic neuron
 * volumes, time and memory per stage, extrapolated (linearly in voxels) to
 * a CREMI volume of 125 × 1250 × 1250.
 *
 * Affinities: ground-truth affinities of an EM phantom (tiled 256 × 256
 * blocks) plus uniform noise of amplitude 0.7 — noisy enough that the
 * watershed makes hundreds of thousands of fragments, like predicted
 * affinities do.
 *
 * Memory: RSS and V8 heap sampled at every stage boundary (`peak RSS` is
 * the largest sample, a lower bound of the true peak), plus the bytes of
 * the arrays each stage holds.
 *
 * Run: `deno run -A bench/em_bench.ts [--sizes 25x256x256,25x512x512] [--json out.json]`
 *
 * @module
 */

import { affinitiesFromLabels } from "../plugins/segment/affinities.ts";
import { agglomerate, applyMap } from "../plugins/segment/agglomerate.ts";
import { watershed } from "../plugins/segment/watershed.ts";
import { makeEmPhantom } from "../plugins/modalities/em/_phantom.ts";
import { createMulberry32 } from "../core/random.ts";

const args = Deno.args;
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizes = (flag("--sizes") ?? "25x256x256,25x512x512,50x512x512").split(",").map((s) =>
  s.split("x").map(Number) as [number, number, number]
);
const TARGET = 125 * 1250 * 1250;
const THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

let peakRss = 0;
function sample(): { rssMb: number; heapMb: number } {
  const m = Deno.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  return { rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 };
}

function tiledLabels(shape: [number, number, number]): Uint32Array {
  const [d, h, w] = shape;
  const tile = 256;
  const out = new Uint32Array(d * h * w);
  let offset = 0, k = 0;
  for (let ty = 0; ty < h; ty += tile) {
    for (let tx = 0; tx < w; tx += tile) {
      const th = Math.min(tile, h - ty), tw = Math.min(tile, w - tx);
      const p = makeEmPhantom({ shape: [d, th, tw], seed: 17 + k++ });
      for (let z = 0; z < d; z++) {
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) {
            out[z * h * w + (ty + y) * w + tx + x] = p.dense[z * th * tw + y * tw + x] + offset;
          }
        }
      }
      offset += p.count;
    }
  }
  return out;
}

const rows: Record<string, unknown>[] = [];
for (const shape of sizes) {
  const n = shape[0] * shape[1] * shape[2];
  const labels = tiledLabels(shape);
  const affs = affinitiesFromLabels(labels, shape);
  const rng = createMulberry32(5);
  for (let i = 0; i < affs.length; i++) {
    affs[i] = Math.min(1, Math.max(0, affs[i] + (rng() * 2 - 1) * 0.7));
  }
  peakRss = 0;
  const base = sample();
  let t0 = performance.now();
  const fragments = watershed(affs, shape);
  const watershedS = (performance.now() - t0) / 1000;
  const afterWs = sample();
  for (const fn of ["mean", "quantile-75"]) {
    t0 = performance.now();
    let segments = 0;
    for (const level of agglomerate(affs, fragments, THRESHOLDS, { mergeFunction: fn })) {
      const seg = applyMap(fragments.data, level.map);
      segments = level.segments;
      sample();
      if (seg.length !== n) throw new Error("bad segmentation");
    }
    const agglomerateS = (performance.now() - t0) / 1000;
    const end = sample();
    const scale = TARGET / n;
    const row = {
      shape: shape.join("x"),
      voxels: n,
      mergeFunction: fn,
      fragments: fragments.count,
      segmentsAt09: segments,
      watershedS: +watershedS.toFixed(2),
      agglomerate9ThresholdsS: +agglomerateS.toFixed(2),
      rssBeforeMb: +base.rssMb.toFixed(0),
      rssAfterWatershedMb: +afterWs.rssMb.toFixed(0),
      peakRssSampledMb: +(peakRss / 2 ** 20).toFixed(0),
      heapEndMb: +end.heapMb.toFixed(0),
      inputArraysMb: +((affs.byteLength + labels.byteLength) / 2 ** 20).toFixed(0),
      extrapolatedCremiMinutes: +(((watershedS + agglomerateS) * scale) / 60).toFixed(1),
      // affinities (12 B/voxel) + what the stages added on top of them, scaled
      extrapolatedCremiWorkingSetGb:
        +(((peakRss - base.rssMb * 2 ** 20) * scale + TARGET * 12) / 2 ** 30)
          .toFixed(1),
    };
    rows.push(row);
    // deno-lint-ignore no-console
    console.log(JSON.stringify(row));
  }
}
const json = flag("--json");
if (json) await Deno.writeTextFile(json, JSON.stringify(rows, null, 2) + "\n");

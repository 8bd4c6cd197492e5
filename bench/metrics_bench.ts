// deno-lint-ignore-file no-console -- a benchmark script prints its figures
/**
 * Full-size metric benchmarks (issue #4): HD95 on a 512×512×300 mask pair
 * with ~5 % foreground, ROC AUC on 1M scores, and VOI/ARAND on a
 * 125×1250×1250 uint64 label pair. Each prints seconds and voxels (or items)
 * per second; each must finish in seconds.
 *
 *     deno run -A bench/metrics_bench.ts            # all three
 *     deno run -A bench/metrics_bench.ts hd95 auc   # a subset
 *
 * Under `deno bench` (`deno task bench`) it registers small `Deno.bench`
 * cases of the same code paths instead, so the task stays quick.
 *
 * Data are synthetic and deterministic (Mulberry32, seed 1). Peak memory is
 * about 3.2 GB (maximum resident set), for the two uint64 EM volumes
 * (1.56 GB each). Times are wall-clock and CPU seconds: on a shared machine
 * the CPU figure is the one to compare.
 *
 * @module
 */

import process from "node:process";
import {
  computeContingencyTable,
  computeHausdorff,
  computeRocAuc,
  computeSurfaceMetrics,
  createMulberry32,
  scoreContingencyTable,
} from "../plugins/metrics/mod.ts";

interface Timed<T> {
  value: T;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds of this process (user + system): robust on a shared machine. */
  cpu: number;
}

function time<T>(fn: () => T): Timed<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, seconds, cpu: (c.user + c.system) / 1e6 };
}

function report(name: string, t: Timed<unknown>, count: number, unit: string, extra: string): void {
  const rate = count / t.seconds;
  console.log(
    `${name.padEnd(40)} ${t.seconds.toFixed(2).padStart(6)} s wall ${
      t.cpu.toFixed(2).padStart(6)
    } s cpu ${(rate / 1e6).toFixed(1).padStart(6)} M${unit}/s  ${extra}`,
  );
}

// ------------------------------------------------------------------ HD95 --

const SEG_SHAPE = [300, 512, 512]; // [D, H, W]
const SEG_SPACING = [2.0, 0.8, 0.8];

/** One ellipsoid of ~5 % of the volume, and a shifted, slightly larger prediction. */
function makeBallPair(shape: readonly number[]): { pred: Uint8Array; gt: Uint8Array } {
  const [d, h, w] = shape;
  const pred = new Uint8Array(d * h * w);
  const gt = new Uint8Array(d * h * w);
  // Semi-axes a (z) and b (y, x): volume 4/3·π·a·b² = 5 % of the grid.
  const b = 0.3 * Math.min(h, w);
  const a = (0.05 * d * h * w) / ((4 / 3) * Math.PI * b * b);
  const [cz, cy, cx] = [d / 2, h / 2, w / 2];
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        const g = ((z - cz) / a) ** 2 + ((y - cy) / b) ** 2 + ((x - cx) / b) ** 2;
        const p = ((z - cz - 3) / (a + 2)) ** 2 + ((y - cy - 4) / (b + 3)) ** 2 +
          ((x - cx + 6) / b) ** 2;
        gt[i] = g <= 1 ? 1 : 0;
        pred[i] = p <= 1 ? 1 : 0;
      }
    }
  }
  return { pred, gt };
}

/** Balls on a 32-voxel grid over the whole volume (~5 %), so no cropping helps. */
function makeScatteredPair(shape: readonly number[]): { pred: Uint8Array; gt: Uint8Array } {
  const [d, h, w] = shape;
  const pred = new Uint8Array(d * h * w);
  const gt = new Uint8Array(d * h * w);
  const r = Math.cbrt((0.05 * 32 ** 3 * 3) / (4 * Math.PI));
  const rand = createMulberry32(1);
  const jitter = Float64Array.from({ length: 4096 }, () => rand() * 3 - 1.5);
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        const cz = (z % 32) - 16, cy = (y % 32) - 16, cx = (x % 32) - 16;
        const cell = ((z >> 5) * 16 + (y >> 5)) * 16 + (x >> 5);
        const j = jitter[cell % 4096];
        gt[i] = cz * cz + cy * cy + cx * cx <= r * r ? 1 : 0;
        const px = cx - j;
        pred[i] = cz * cz + (cy - 1) * (cy - 1) + px * px <= (r + 0.5) ** 2 ? 1 : 0;
      }
    }
  }
  return { pred, gt };
}

function fraction(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n / mask.length;
}

function benchHd95(): void {
  const voxels = SEG_SHAPE[0] * SEG_SHAPE[1] * SEG_SHAPE[2];
  for (
    const [label, make] of [["one ellipsoid", makeBallPair], [
      "scattered balls",
      makeScatteredPair,
    ]] as const
  ) {
    const { pred, gt } = make(SEG_SHAPE);
    const p = { data: pred, shape: SEG_SHAPE };
    const g = { data: gt, shape: SEG_SHAPE };
    const options = { numClasses: 2, spacing: SEG_SPACING, percentile: 95 };
    const hd95 = time(() => computeHausdorff(p, g, options));
    report(
      `hd95 512x512x300, ${label}`,
      hd95,
      voxels,
      "voxel",
      `fg ${(100 * fraction(gt)).toFixed(1)} %, hd95 ${hd95.value[0].toFixed(3)} mm`,
    );
    const all = time(() => computeSurfaceMetrics(p, g, options));
    report(
      `hd+hd95+assd 512x512x300, ${label}`,
      all,
      voxels,
      "voxel",
      `surface ${all.value.surfacePred[0]}+${all.value.surfaceGt[0]} voxels, assd ${
        all.value.assd[0].toFixed(3)
      } mm`,
    );
  }
}

// ------------------------------------------------------------------- AUC --

function makeAucData(n: number): { scores: Float32Array; targets: Uint8Array } {
  const rand = createMulberry32(1);
  const targets = new Uint8Array(n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    targets[i] = rand() < 0.3 ? 1 : 0;
    // Scores rounded to 1e-3: many ties across classes.
    scores[i] = Math.round((rand() * 0.8 + targets[i] * 0.2) * 1000) / 1000;
  }
  return { scores, targets };
}

function benchAuc(): void {
  const n = 1_000_000;
  const { scores, targets } = makeAucData(n);
  computeRocAuc(scores.subarray(0, 1000), targets.subarray(0, 1000)); // warm-up
  const auc = time(() => computeRocAuc(scores, targets));
  report("auc 1M scores (ties)", auc, n, "item", `auc ${auc.value[0].toFixed(6)}`);
}

// --------------------------------------------------------------- VOI/ARAND --

const EM_SHAPE = [125, 1250, 1250];

/** CREMI-sized uint64 gt (membranes = 0) and a seg with shifted boundaries and splits. */
function makeEmPair(shape: readonly number[]): { seg: BigUint64Array; gt: BigUint64Array } {
  const [d, h, w] = shape;
  const plane = h * w;
  const gtCells = new Uint32Array(plane);
  const segCells = new Uint32Array(plane);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const wy = y + 12 * Math.sin(x / 47);
      const wx = x + 12 * Math.sin(y / 53);
      const gy = Math.floor(wy / 60), gx = Math.floor(wx / 60);
      const membrane = ((wy % 60) + 60) % 60 < 2 || ((wx % 60) + 60) % 60 < 2;
      gtCells[y * w + x] = membrane ? 0 : 1 + gy * 64 + gx + 1;
      // seg: boundaries shifted by 3 voxels, every other cell split in two.
      const sy = Math.floor((wy + 3) / 60), sx = Math.floor((wx - 3) / 60);
      const half = (sx + sy) % 2 === 0 && ((wx - 3) % 60 + 60) % 60 >= 30 ? 1 : 0;
      segCells[y * w + x] = 1 + (sy * 64 + sx) * 2 + half;
    }
  }
  const gt = new BigUint64Array(d * plane);
  const seg = new BigUint64Array(d * plane);
  const g32 = new Uint32Array(gt.buffer);
  const s32 = new Uint32Array(seg.buffer);
  for (let z = 0; z < d; z++) {
    const gz = Math.floor(z / 25); // objects span 25 sections
    const sz = Math.floor((z + 2) / 25);
    for (let i = 0, j = 2 * z * plane; i < plane; i++, j += 2) {
      const gc = gtCells[i];
      // 64-bit ids: high word carries the z block, so labels exceed 2^32.
      g32[j] = gc === 0 ? 0 : gc;
      g32[j + 1] = gc === 0 ? 0 : 0x9e3779b9 ^ gz;
      s32[j] = segCells[i];
      s32[j + 1] = 0x7f4a7c15 ^ sz;
    }
  }
  return { seg, gt };
}

function benchEm(): void {
  const made = time(() => makeEmPair(EM_SHAPE));
  const { seg, gt } = made.value;
  const voxels = seg.length;
  console.log(`  (generated the uint64 pair in ${made.seconds.toFixed(1)} s)`);
  const table = time(() =>
    computeContingencyTable({ data: seg, shape: EM_SHAPE }, { data: gt, shape: EM_SHAPE })
  );
  const scores = time(() => scoreContingencyTable(table.value));
  report(
    "voi+arand 125x1250x1250 uint64",
    {
      value: scores.value,
      seconds: table.seconds + scores.seconds,
      cpu: table.cpu + scores.cpu,
    },
    voxels,
    "voxel",
    `${table.value.pairCount.length} label pairs, voi ${scores.value.voiSplit.toFixed(3)}/${
      scores.value.voiMerge.toFixed(3)
    }, arand ${scores.value.arand.toFixed(4)}`,
  );
}

const BENCHES: Record<string, () => void> = { hd95: benchHd95, auc: benchAuc, em: benchEm };

if (import.meta.main) {
  // `deno run -A bench/metrics_bench.ts [hd95|auc|em]...`: the full-size figures.
  const chosen = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHES);
  for (const name of chosen) {
    const bench = BENCHES[name];
    if (!bench) {
      throw new RangeError(
        `Unknown bench "${name}": choose from ${Object.keys(BENCHES).join(", ")}`,
      );
    }
    bench();
  }
} else {
  // `deno bench` (deno task bench): the same code paths at small sizes.
  const small = [48, 96, 96];
  const seg = makeBallPair(small);
  const p = { data: seg.pred, shape: small };
  const g = { data: seg.gt, shape: small };
  Deno.bench({
    group: "metrics",
    name: "hd95 48x96x96 (442k voxels)",
    fn: () => {
      computeHausdorff(p, g, { numClasses: 2, spacing: SEG_SPACING, percentile: 95 });
    },
  });
  const auc = makeAucData(100_000);
  Deno.bench({
    group: "metrics",
    name: "auc 100k scores",
    fn: () => {
      computeRocAuc(auc.scores, auc.targets);
    },
  });
  const emShape = [10, 250, 250];
  const em = makeEmPair(emShape);
  Deno.bench({
    group: "metrics",
    name: "voi+arand 10x250x250 uint64",
    fn: () => {
      scoreContingencyTable(
        computeContingencyTable({ data: em.seg, shape: emShape }, { data: em.gt, shape: emShape }),
      );
    },
  });
}

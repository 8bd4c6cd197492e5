// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * Format reader benchmark: time and peak memory of
 *  1. reading a 512×512×300 int16 `.nii.gz` (written by medprobe's NIfTI
 *     writer into a temp folder), then converting it to a float32 Volume;
 *  2. reading a 4096×4096 level-0 region of a generated JPEG-tiled pyramid
 *     (written by medprobe's pyramid writer), tile by tile.
 *
 * Each measurement runs in its own child process so that its peak RSS
 * (`VmHWM` from /proc/self/status, else the largest sampled
 * `Deno.memoryUsage().rss`) belongs to that read alone; the baseline is the
 * same process right before the read (runtime + modules loaded).
 *
 *   deno run -A bench/formats_bench.ts [--runs=N]   (N read repetitions, default 1)
 *
 * @module
 */

import {
  convertNiftiToVolume,
  openSlide,
  readNifti,
  writeNifti,
  writePyramidTiff,
} from "../plugins/formats/mod.ts";

const NIFTI_SHAPE = [512, 512, 300] as const;
const SLIDE = {
  width: 4736,
  height: 4480,
  tile: 256,
  region: { x: 300, y: 200, width: 4096, height: 4096 },
};

function peakRssBytes(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    if (kb) return Number(kb[1]) * 1024;
  } catch {
    // not Linux: fall back to sampling
  }
  return sampledPeak;
}

let sampledPeak = 0;
function sampleRss(): void {
  sampledPeak = Math.max(sampledPeak, Deno.memoryUsage().rss);
}

const MB = 2 ** 20;
const fmt = (bytes: number) => `${(bytes / MB).toFixed(0)} MiB`;

/** A CT-like phantom: body ellipse, lungs, spine, noise; stored HU + 1024. */
function ctPhantom(): Int16Array {
  const [ni, nj, nk] = NIFTI_SHAPE;
  const data = new Int16Array(ni * nj * nk);
  let seed = 12345;
  for (let k = 0; k < nk; k++) {
    for (let j = 0; j < nj; j++) {
      for (let i = 0; i < ni; i++) {
        const x = (i - ni / 2) / (ni * 0.42);
        const y = (j - nj / 2) / (nj * 0.32);
        let hu = -1000;
        if (x * x + y * y < 1) {
          hu = 40;
          const lx = (Math.abs(x) - 0.45) / 0.3;
          const ly = y / 0.6;
          if (lx * lx + ly * ly < 1) hu = -850;
          if (Math.abs(x) < 0.08 && y > 0.45 && y < 0.8) hu = 700;
          seed = (seed * 1103515245 + 12345) >>> 0;
          hu += (seed >>> 27) - 16;
        }
        data[i + ni * (j + nj * k)] = hu + 1024;
      }
    }
  }
  return data;
}

/** An H&E-like RGB image: near-white background, pink tissue blobs, purple nuclei. */
function slideImage(): Uint8Array {
  const { width, height } = SLIDE;
  const data = new Uint8Array(width * height * 3);
  let seed = 7;
  const blobs = [[0.3, 0.35, 0.22], [0.65, 0.55, 0.25], [0.45, 0.8, 0.15]];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const inside = blobs.some(([cx, cy, r]) => (u - cx) ** 2 + (v - cy) ** 2 < r * r);
      seed = (seed * 1103515245 + 12345) >>> 0;
      const n = (seed >>> 28) - 8;
      const o = (y * width + x) * 3;
      if (!inside) {
        data[o] = 243;
        data[o + 1] = 243;
        data[o + 2] = 245;
      } else if (((x >> 3) * 31 + (y >> 3) * 17) % 23 === 0) {
        data[o] = 120 + n;
        data[o + 1] = 60 + n;
        data[o + 2] = 150 + n;
      } else {
        data[o] = 230 + (n >> 1);
        data[o + 1] = 158 + n;
        data[o + 2] = 195 + n;
      }
    }
  }
  return data;
}

async function generate(dir: string): Promise<void> {
  const t0 = performance.now();
  const affine = [[-0.7, 0, 0, 179], [0, -0.7, 0, 179], [0, 0, 1.25, -400], [0, 0, 0, 1]];
  await writeNifti(`${dir}/ct.nii.gz`, ctPhantom(), {
    shape: NIFTI_SHAPE,
    affine,
    sclSlope: 1,
    sclInter: -1024,
  });
  const t1 = performance.now();
  await writePyramidTiff(`${dir}/slide.tif`, {
    data: slideImage(),
    width: SLIDE.width,
    height: SLIDE.height,
  }, {
    tileSize: SLIDE.tile,
    downsamples: [1, 4, 16],
    quality: 85,
    mpp: 0.25,
  });
  const t2 = performance.now();
  console.log(JSON.stringify({ niftiWriteMs: t1 - t0, pyramidWriteMs: t2 - t1 }));
}

async function readNiftiOnce(dir: string): Promise<void> {
  const timer = setInterval(sampleRss, 5);
  sampleRss();
  const baseline = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const image = await readNifti(`${dir}/ct.nii.gz`);
  const t1 = performance.now();
  const peakRead = peakRssBytes();
  const volume = convertNiftiToVolume(image);
  const t2 = performance.now();
  clearInterval(timer);
  console.log(JSON.stringify({
    readMs: t1 - t0,
    toVolumeMs: t2 - t1,
    baseline,
    peakRead,
    peakTotal: peakRssBytes(),
    storedBytes: image.data.byteLength,
    volumeBytes: volume.data.byteLength,
    shape: image.shape,
  }));
}

async function readRegionOnce(dir: string): Promise<void> {
  const timer = setInterval(sampleRss, 5);
  sampleRss();
  const baseline = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const slide = await openSlide(`${dir}/slide.tif`);
  const t1 = performance.now();
  const region = await slide.readRegion({ level: 0, ...SLIDE.region });
  const t2 = performance.now();
  clearInterval(timer);
  const level = slide.levels[0];
  console.log(JSON.stringify({
    openMs: t1 - t0,
    regionMs: t2 - t1,
    baseline,
    peak: peakRssBytes(),
    regionBytes: region.data.byteLength,
    tilesDecoded: slide.tilesDecoded,
    levelTiles: level.tilesAcross * level.tilesDown,
    level0: [level.width, level.height],
    levelRgbBytes: level.width * level.height * 3,
  }));
  slide.close();
}

async function child(mode: string, dir: string): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, mode, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`bench step "${mode}" failed:\n${new TextDecoder().decode(stderr)}`);
  }
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (import.meta.main) {
  const [mode, dir] = Deno.args;
  const runs = Number(/^--runs=(\d+)$/.exec(mode ?? "")?.[1] ?? 1);
  if (mode === "generate") await generate(dir);
  else if (mode === "nifti") await readNiftiOnce(dir);
  else if (mode === "region") await readRegionOnce(dir);
  else if (mode === undefined || mode.startsWith("--runs=")) {
    const tmp = await Deno.makeTempDir({ prefix: "medprobe_formats_bench_" });
    try {
      const gen = await child("generate", tmp);
      const niiSize = (await Deno.stat(`${tmp}/ct.nii.gz`)).size;
      const tifSize = (await Deno.stat(`${tmp}/slide.tif`)).size;
      console.log(`generated in ${tmp}`);
      console.log(
        `  ct.nii.gz  ${NIFTI_SHAPE.join("x")} int16, ${fmt(niiSize)} on disk (writer: ${
          (Number(gen.niftiWriteMs) / 1000).toFixed(1)
        } s)`,
      );
      console.log(
        `  slide.tif  ${SLIDE.width}x${SLIDE.height} RGB, JPEG tiles ${SLIDE.tile}², levels 1/4/16, ${
          fmt(tifSize)
        } (writer: ${(Number(gen.pyramidWriteMs) / 1000).toFixed(1)} s)`,
      );
      for (let run = 0; run < runs; run++) {
        const n = await child("nifti", tmp);
        console.log(
          `readNifti ${NIFTI_SHAPE.join("x")} int16 .nii.gz: ${Number(n.readMs).toFixed(0)} ms; ` +
            `peak RSS ${fmt(Number(n.peakRead))} (baseline ${fmt(Number(n.baseline))}, +${
              fmt(Number(n.peakRead) - Number(n.baseline))
            } for ${fmt(niiSize)} compressed + ${fmt(Number(n.storedBytes))} decoded); ` +
            `convertNiftiToVolume: ${Number(n.toVolumeMs).toFixed(0)} ms, peak ${
              fmt(Number(n.peakTotal))
            } (+${fmt(Number(n.volumeBytes))} float32)`,
        );
        const r = await child("region", tmp);
        console.log(
          `readRegion 4096x4096 at level 0 (${(r.level0 as number[]).join("x")}): open ${
            Number(r.openMs).toFixed(0)
          } ms, region ${
            Number(r.regionMs).toFixed(0)
          } ms, ${r.tilesDecoded} of ${r.levelTiles} tiles decoded; ` +
            `peak RSS ${fmt(Number(r.peak))} (baseline ${fmt(Number(r.baseline))}, +${
              fmt(Number(r.peak) - Number(r.baseline))
            } for a ${fmt(Number(r.regionBytes))} region; the whole level would be ${
              fmt(Number(r.levelRgbBytes))
            })`,
        );
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  } else {
    throw new TypeError(`Unknown argument "${mode}": use --runs=N`);
  }
}

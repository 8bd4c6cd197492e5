// deno-lint-ignore-file no-console -- a benchmark script: printing the table is its job
/**
 * Scale-out benchmark (issue 17): the figures `docs/scale-out.md` sizes
 * clusters with, measured on this machine.
 *
 * 1. `medprobe extract` throughput: ViT-S/16 (random weights, same speed as
 *    real ones) at 224 px on a synthetic NIH-14, one process, images/s of
 *    the extraction itself (wall time minus the fixed cost below).
 * 2. Fixed cost of one shard: a `medprobe extract --shard 0/1` run on a
 *    cache that already holds every sample (process start, encoder load,
 *    dataset open, cache scan, job record).
 * 3. Cache scan cost per sample file (what every shard and `cache status`
 *    pay when opening a namespace of 112k files), from a namespace of
 *    `--files` one-sample shards.
 *
 * ```sh
 * deno run -A bench/shard_bench.ts [--images 48] [--files 5000] [--json out.json]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FeatureCache } from "../core/cache.ts";
import { DINOV3_PRESETS } from "../plugins/encoders/dinov3/config.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";

const args = parseArgs({
  options: {
    images: { type: "string", default: "48" },
    files: { type: "string", default: "5000" },
    json: { type: "string" },
  },
}).values;
const images = Number(args.images);
const files = Number(args.files);
const root = new URL("..", import.meta.url).pathname;
const tmp = await Deno.makeTempDir({ prefix: "medprobe-shard-bench-" });

async function medprobe(...argv: string[]): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, ...argv],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
  return (performance.now() - t0) / 1000;
}

try {
  const weights = `${tmp}/vits16`;
  await writeRandomDinov3(weights, DINOV3_PRESETS["dinov3-vits16"], 0);
  await medprobe("synth", "xray/nih14", "--out", `${tmp}/nih`, "--count", String(images));
  const extract = [
    "extract",
    "xray/nih14",
    "--data",
    `${tmp}/nih`,
    "--weights",
    weights,
    "--resolution",
    "224",
    "--cache",
    `${tmp}/cache`,
    "--batch",
    "8",
    "--quiet",
  ];
  const full = await medprobe(...extract);
  const fixed = await medprobe(...extract);
  const perImage = (full - fixed) / images;

  // Cache scan: a namespace of `files` one-sample shards (a ViT-S CLS each).
  const key = {
    dataset: "bench/scan",
    encoder: "bench",
    weightsSha256: "00",
    preprocessing: {},
    resolution: 224,
  };
  const cache = await FeatureCache.open(`${tmp}/scan`, key);
  for (let i = 0; i < files; i += 256) {
    await cache.put(
      Array.from({ length: Math.min(256, files - i) }, (_, j) => ({
        id: `img${i + j}`,
        features: { cls: { data: new Float32Array(384).fill(i + j), shape: [384] } },
      })),
    );
  }
  cache.close();
  const t0 = performance.now();
  const reopened = await FeatureCache.open(`${tmp}/scan`, key, { create: false });
  const scan = (performance.now() - t0) / 1000;
  if (reopened.size !== files) throw new Error(`scan found ${reopened.size} of ${files}`);
  reopened.close();

  const result = {
    device: `${navigator.hardwareConcurrency} CPU threads, onnxruntime CPU (backend auto)`,
    images,
    fullSeconds: full,
    fixedSecondsPerShard: fixed,
    imagesPerSecond: 1 / perImage,
    scanFiles: files,
    scanSeconds: scan,
    scanMicrosecondsPerFile: (scan / files) * 1e6,
  };
  console.log(`ViT-S/16 @224, ${images} synthetic NIH-14 images, batch 8:`);
  console.log(`  extract (one process)       ${full.toFixed(1)} s`);
  console.log(`  fixed cost of a shard       ${fixed.toFixed(1)} s (rerun on a complete cache)`);
  console.log(`  throughput                  ${result.imagesPerSecond.toFixed(1)} images/s`);
  console.log(
    `  cache scan                  ${scan.toFixed(2)} s for ${files} files (${
      result.scanMicrosecondsPerFile.toFixed(0)
    } µs/file)`,
  );
  if (args.json) await Deno.writeTextFile(args.json, JSON.stringify(result, null, 1) + "\n");
} finally {
  await Deno.remove(tmp, { recursive: true });
}

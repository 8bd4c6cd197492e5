// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * Segmentation pipeline benchmark: one CT volume through the whole
 * protocol path — slice-stack features from a DINOv3 ViT (random weights,
 * NOT pretrained; the cost is the same) → float16 feature cache → decoder3d
 * sliding-window inference → mask written as `.nii.gz` — with wall time per
 * stage, volumes per minute and peak memory.
 *
 * Memory claim checked here: a 512 × 512 × 300 CT never holds its full
 * feature volume in float32 at once. Features leave the encoder in float32
 * slabs of at most `slabBytes` (64 MiB in the adapter; the bench uses
 * `--slab-mib 2` so that its small volume is streamed in several slabs),
 * go to the cache as float16, and come back as float16 bit patterns; the
 * decoder widens one window at a time. The bench records the largest
 * float32 feature buffer actually allocated and compares it with the full
 * float32 feature volume, and prints the same figures for 512 × 512 × 300
 * at the measured resolution and at 512 px (32 × 32 patches per slice).
 *
 * Measured at a reduced size by default (`--size 256 --depth 32`, ViT-S/16
 * at 224 px): a software adapter (Mesa llvmpipe) runs the decoder at a few
 * GFLOP/s, so the full 512 × 512 × 300 volume takes hours there. The
 * 512 × 512 × 300 line is then EXTRAPOLATED (encoder time ∝ slices, decoder
 * time ∝ sliding windows, memory from the shapes) and printed as such.
 * Pass `--size 512 --depth 300` on a GPU machine to measure it instead.
 *
 * ```sh
 * deno run -A bench/segmentation_bench.ts [--size 256] [--depth 32] [--resolution 224]
 *   [--model vits16] [--backend auto] [--slab-mib 64] [--json out.json]
 * ```
 *
 * @module
 */

import { FeatureCache } from "../core/cache.ts";
import { cacheKeyFor } from "../core/extract.ts";
import type { Volume } from "../core/plugin.ts";
import { cacheChunks } from "../core/experiment.ts";
import { readCachedVolume } from "../plugins/tasks/segmentation3d/mod.ts";
import { requestGpu } from "../core/gpu.ts";
import {
  createSliceStackAdapter,
  normalizeVolume,
  SLICE_STACK_KIND,
  sliceStackShape,
} from "../plugins/adapters/slice_stack/mod.ts";
import {
  DECODER3D_DEFAULTS,
  Decoder3dHead,
  resolveDecoder3dOptions,
} from "../plugins/heads/decoder3d/mod.ts";
import { initialParameters } from "../plugins/heads/decoder3d/network.ts";
import { planCrop, slidingWindows, stageCount } from "../plugins/heads/decoder3d/geometry.ts";
import { createDinov3Encoder } from "../plugins/encoders/dinov3/mod.ts";
import { DINOV3_PRESETS } from "../plugins/encoders/dinov3/config.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";
import { MSD_TASKS, openMsd, synthesizeMsd } from "../plugins/modalities/_msd/msd.ts";
import { writeNifti } from "../plugins/formats/nifti/mod.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const size = Number(arg("size", "256"));
const depth = Number(arg("depth", "32"));
const resolution = Number(arg("resolution", "224"));
const model = arg("model", "vits16");
const backend = arg("backend", "auto") as "auto" | "webgpu" | "onnx";
const slabMiB = Number(arg("slab-mib", "2"));
const jsonOut = arg("json", "");
const MiB = 2 ** 20;

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = Deno.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const sampler = setInterval(sample, 20);

const dir = await Deno.makeTempDir({ prefix: "medprobe_seg_bench_" });
try {
  const config = DINOV3_PRESETS[`dinov3-${model}`];
  if (!config) {
    throw new TypeError(
      `Cannot run the bench as --model must be vits16, vitb16 or vitl16: current value is ${model}`,
    );
  }
  await writeRandomDinov3(`${dir}/weights`, config, 0);
  await synthesizeMsd(`${dir}/data`, MSD_TASKS["Task09_Spleen"], {
    count: 1,
    seed: 0,
    size,
    depth,
  });
  const ds = await openMsd(`${dir}/data`, MSD_TASKS["Task09_Spleen"]);
  const sampleCase = ds.samples("train")[0];
  const gpu = await requestGpu().catch(() => undefined);
  const encoder = await createDinov3Encoder({ weights: `${dir}/weights`, backend, gpu });
  const baseline = Deno.memoryUsage().rss;
  sample();

  // 1. features: slabs of slices → float16 cache
  const t0 = performance.now();
  const volume = await sampleCase.load() as Volume;
  const window: [number, number] = [-175, 250];
  const ctx = { encoder, resolution, batchSize: 16 };
  const key = cacheKeyFor({
    dataset: "bench",
    encoder,
    resolution,
    adapter: { name: "slice-stack" },
  });
  const cache = await FeatureCache.open(`${dir}/cache`, key);
  let largestF32 = 0;
  // The adapter path the segmentation3d task uses: one float16 cache entry per slab.
  const adapter = createSliceStackAdapter({ window, slabBytes: slabMiB * MiB } as never);
  await cacheChunks(
    cache,
    "case",
    {
      ...adapter,
      async *extractChunks(data, context) {
        for await (const chunk of adapter.extractChunks!(data, context)) {
          largestF32 = Math.max(largestF32, chunk.features[SLICE_STACK_KIND].data.byteLength);
          sample();
          yield chunk;
        }
      },
    },
    volume,
    ctx,
  );
  const tExtract = (performance.now() - t0) / 1000;

  // 2. decoder3d sliding-window inference from the float16 features
  const t1 = performance.now();
  const features = await readCachedVolume(cache, "case", SLICE_STACK_KIND);
  sample();
  const shape = features.shape;
  const [c, , h, w] = shape;
  const stages = stageCount([h, w], [size, size]);
  const hyper = resolveDecoder3dOptions({ numClasses: 2 });
  const channels = Array.from(
    { length: stages + 1 },
    (_, s) => hyper.channels[Math.min(s, hyper.channels.length - 1)],
  );
  const arch = {
    featureChannels: c,
    imageChannels: 1,
    numClasses: 2,
    channels,
    norm: hyper.norm,
    normGroups: hyper.normGroups,
    normEps: hyper.normEps,
    slope: hyper.slope,
    imageMean: [0.5],
    imageStd: [0.25],
  };
  let seed = 1;
  const rng = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const head = new Decoder3dHead(hyper, gpu, { arch, params: initialParameters(arch, rng) });
  const image = normalizeVolume(volume, [window]);
  const tWarm = performance.now();
  const warm = await head.predictVolume({ features, image, imageChannels: 1, shape: volume.shape });
  const tWarmup = (performance.now() - tWarm) / 1000;
  const t1b = performance.now();
  const pred = await head.predictVolume({ features, image, imageChannels: 1, shape: volume.shape });
  const tDecodeOnly = (performance.now() - t1b) / 1000;
  if (warm.labels.length !== pred.labels.length) throw new Error("unstable prediction shape");
  sample();
  // decode = reading the float16 features + one warm sliding-window pass (the
  // first pass, which compiles the shaders, is reported apart)
  const tDecode = (performance.now() - t1) / 1000 - tWarmup;
  const t2 = performance.now();
  const a = volume.affine!;
  await writeNifti(`${dir}/mask.nii.gz`, pred.labels, {
    shape: [size, size, depth],
    affine: [a.slice(0, 4), a.slice(4, 8), a.slice(8, 12), a.slice(12, 16)],
    datatype: "uint8",
  });
  const tWrite = (performance.now() - t2) / 1000;
  clearInterval(sampler);
  sample();

  const plan = planCrop(DECODER3D_DEFAULTS.patchSize, depth, [h, w], [size, size]);
  const windows = slidingWindows(plan, depth, [h, w], [size, size], stages, hyper.overlap).length;
  const total = tExtract + tDecode + tWrite;
  const fullF32 = c * depth * h * w * 4;

  // Extrapolation to 512 × 512 × 300 at the same resolution (encoder ∝ slices, decoder ∝ windows).
  const bigShape = sliceStackShape({ shape: [300, 512, 512], channels: 1 }, ctx);
  const bigStages = stageCount([bigShape[2], bigShape[3]], [512, 512]);
  const bigPlan = planCrop(DECODER3D_DEFAULTS.patchSize, 300, [bigShape[2], bigShape[3]], [
    512,
    512,
  ]);
  const bigWindows =
    slidingWindows(bigPlan, 300, [bigShape[2], bigShape[3]], [512, 512], bigStages, hyper.overlap)
      .length;
  const windowVoxels = plan.depth * plan.voxels[0] * plan.voxels[1];
  const bigWindowVoxels = bigPlan.depth * bigPlan.voxels[0] * bigPlan.voxels[1];
  const bigExtract = (tExtract / depth) * 300;
  const bigDecode = (tDecode / windows) * bigWindows * (bigWindowVoxels / windowVoxels);
  const bigF32 = bigShape[0] * 300 * bigShape[2] * bigShape[3] * 4;
  const slabBound = Math.min(bigF32, 64 * MiB); // the adapter's default slabBytes
  const native = sliceStackShape({ shape: [300, 512, 512], channels: 1 }, {
    ...ctx,
    resolution: 512,
  });
  const nativeF32 = native[0] * 300 * native[2] * native[3] * 4;
  const bigAccumulators = (2 + 1) * bigPlan.depth * 512 * 512 * 4;

  const result = {
    adapter: gpu?.info.description ?? "none",
    encoder: `${encoder.info.id} (${encoder.info.backend}), random weights`,
    measured: {
      volume: [depth, size, size],
      resolution,
      featureShape: shape,
      decoderBackend: String(head.hyperparameters.backendReason ?? ""),
      stages,
      windows,
      seconds: {
        extract: tExtract,
        decode: tDecode,
        firstPassWithShaderCompile: tWarmup,
        slidingWindowPass: tDecodeOnly,
        writeMask: tWrite,
        total,
      },
      volumesPerMinute: 60 / total,
      slicesPerSecond: depth / tExtract,
      peakRssMiB: peakRss / MiB,
      rssAboveStartMiB: (peakRss - baseline) / MiB,
      peakHeapMiB: peakHeap / MiB,
      decoderGpuPoolPeakMiB: head.peakActivationBytes / MiB,
      largestF32FeatureBufferMiB: largestF32 / MiB,
      fullF32FeatureVolumeMiB: fullF32 / MiB,
      f16FeatureVolumeMiB: features.data.byteLength / MiB,
    },
    extrapolated512x512x300: {
      note:
        "EXTRAPOLATED from the measured run, not measured: encoder time ∝ slices, decoder time ∝ windows × window voxels",
      featureShape: [bigShape[0], 300, bigShape[2], bigShape[3]],
      fullF32FeatureVolumeMiB: bigF32 / MiB,
      largestF32FeatureBufferMiB: slabBound / MiB,
      f16FeatureVolumeMiB: bigF32 / 2 / MiB,
      inferenceAccumulatorsMiB: bigAccumulators / MiB,
      at512px: {
        featureShape: [native[0], 300, native[2], native[3]],
        fullF32FeatureVolumeMiB: nativeF32 / MiB,
        largestF32FeatureBufferMiB: Math.min(nativeF32, 64 * MiB) / MiB,
        f16FeatureVolumeMiB: nativeF32 / 2 / MiB,
      },
      windows: bigWindows,
      seconds: { extract: bigExtract, decode: bigDecode },
      volumesPerMinute: 60 / (bigExtract + bigDecode),
    },
  };
  const f = (v: number, d = 1) => v.toFixed(d);
  const m = result.measured;
  const x = result.extrapolated512x512x300;
  console.log(`segmentation bench — ${result.adapter}; ${result.encoder}`);
  console.log(
    `measured: CT ${depth}×${size}×${size} at ${resolution} px → features [${
      shape.join(", ")
    }], ${stages} decoder stages, ${windows} windows; decoder on ${m.decoderBackend}`,
  );
  console.log(
    `  extract ${f(m.seconds.extract)} s (${f(m.slicesPerSecond)} slices/s) · decode ${
      f(m.seconds.decode)
    } s · mask ${f(m.seconds.writeMask, 2)} s → ${f(m.volumesPerMinute, 2)} volumes/min`,
  );
  console.log(
    `  peak RSS ${f(m.peakRssMiB)} MiB (${f(m.rssAboveStartMiB)} MiB above start), peak JS heap ${
      f(m.peakHeapMiB)
    } MiB, decoder GPU pool ${f(m.decoderGpuPoolPeakMiB)} MiB`,
  );
  console.log(
    `  largest float32 feature buffer ${
      f(m.largestF32FeatureBufferMiB)
    } MiB vs full float32 feature volume ${f(m.fullF32FeatureVolumeMiB)} MiB (held: float16, ${
      f(m.f16FeatureVolumeMiB)
    } MiB)`,
  );
  console.log(
    `EXTRAPOLATED (not measured) 512×512×300 at ${resolution} px: features [${
      x.featureShape.join(", ")
    }]`,
  );
  const never = (full: number, slab: number) =>
    full > slab
      ? `full float32 ${f(full)} MiB never allocated: float32 slabs ≤ ${
        f(slab)
      } MiB (adapter default)`
      : `full float32 ${f(full)} MiB fits in one float32 slab (adapter default 64 MiB)`;
  console.log(
    `  ${never(x.fullF32FeatureVolumeMiB, x.largestF32FeatureBufferMiB)}, float16 volume ${
      f(x.f16FeatureVolumeMiB)
    } MiB, inference accumulators ${f(x.inferenceAccumulatorsMiB)} MiB`,
  );
  console.log(
    `  at 512 px: features [${x.at512px.featureShape.join(", ")}], ${
      never(x.at512px.fullF32FeatureVolumeMiB, x.at512px.largestF32FeatureBufferMiB)
    }, float16 volume ${f(x.at512px.f16FeatureVolumeMiB)} MiB`,
  );
  console.log(
    `  ${x.windows} windows; ≈ ${f(x.seconds.extract)} s extract + ${
      f(x.seconds.decode)
    } s decode → ≈ ${f(x.volumesPerMinute, 3)} volumes/min on this machine`,
  );
  if (largestF32 > slabMiB * MiB && largestF32 >= fullF32) {
    throw new Error("a float32 buffer as large as the whole feature volume was allocated");
  }
  if (jsonOut) await Deno.writeTextFile(jsonOut, JSON.stringify(result, null, 2) + "\n");
  head.dispose();
  encoder.dispose();
  cache.close();
} finally {
  clearInterval(sampler);
  await Deno.remove(dir, { recursive: true });
}

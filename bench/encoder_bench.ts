/**
 * DINOv3 encoder benchmark on WebGPU (random weights, NOT pretrained):
 *
 * 1. ViT-S/16 and ViT-B/16 at 224×224, batch 1 and 8: images/s and achieved
 *    GFLOP/s of `encode()` (host pixels in, features read back; weight
 *    loading and shader compilation excluded by a warm-up call).
 * 2. The GEMM kernel at 1024³ and at the ViT-S shapes (batch 8 at 224 px:
 *    M = 1608 rows) beside the naive one-output-per-thread WGSL GEMM.
 * 3. Peak GPU memory of ViT-L/16 at 512×512, batch 8: uploaded weights plus
 *    the activation pool's peak. It is measured by replaying one pass's pool
 *    allocations (`dinov3MemoryEstimate`: real buffers, the pool's rounding
 *    included) rather than by running the model, which would take tens of
 *    minutes on a software adapter.
 *
 * As a script it prints a table:
 *
 * ```sh
 * deno run -A bench/encoder_bench.ts [--models vits16,vitb16] [--batches 1,8] [--reps 2] [--no-gemm] [--json out.json]
 * ```
 *
 * Under `deno bench -A` (`deno task bench`) it registers the encoder
 * measurements as `Deno.bench` cases and prints the same images/s and
 * GFLOP/s table when the run ends (the GEMM comparison is in
 * kernels/matmul/matmul_bench.ts there).
 *
 * @module
 */

import { requestGpu } from "../core/gpu.ts";
import type { GpuContext } from "../core/gpu.ts";
import { matmul, type MatmulVariant } from "../kernels/matmul/matmul.ts";
import { randomTensor } from "../kernels/_testing.ts";
import { DINOV3_PRESETS } from "../plugins/encoders/dinov3/config.ts";
import { dinov3Flops, dinov3MemoryEstimate } from "../plugins/encoders/dinov3/forward.ts";
import {
  createDinov3WebGpuEncoder,
  type Dinov3WebGpuEncoder,
} from "../plugins/encoders/dinov3/mod.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";

// deno-lint-ignore no-console
const say = (line = "") => console.log(line);

interface EncoderResult {
  model: string;
  batch: number;
  seconds: number;
  imagesPerSecond: number;
  gflops: number;
}

interface GemmResult {
  shape: string;
  variant: MatmulVariant;
  seconds: number;
  gflops: number;
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function openModel(gpu: GpuContext, model: string): Promise<Dinov3WebGpuEncoder> {
  const dir = await Deno.makeTempDir({ prefix: `medprobe-bench-${model}-` });
  try {
    await writeRandomDinov3(dir, DINOV3_PRESETS[`dinov3-${model}`], 0);
    return await createDinov3WebGpuEncoder(gpu, dir, { name: `dinov3-${model} (random)` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function timeEncode(
  encoder: Dinov3WebGpuEncoder,
  batch: number,
  reps: number,
): Promise<EncoderResult> {
  const px = randomTensor([batch, 3, 224, 224], batch, 2);
  await encoder.encode(px); // warm-up: shader compilation, pool allocation
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await encoder.encode(px);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return result(encoder, batch, best);
}

function result(encoder: Dinov3WebGpuEncoder, batch: number, seconds: number): EncoderResult {
  const flops = dinov3Flops(encoder.config, 224, 224) * batch;
  return {
    model: encoder.info.id,
    batch,
    seconds,
    imagesPerSecond: batch / seconds,
    gflops: flops / seconds / 1e9,
  };
}

const GEMM_SHAPES: [string, number, number, number][] = [
  ["1024³", 1024, 1024, 1024],
  ["ViT-S qkv [1608,384]·[1152,384]ᵀ", 1608, 1152, 384],
  ["ViT-S o_proj [1608,384]·[384,384]ᵀ", 1608, 384, 384],
  ["ViT-S up [1608,384]·[1536,384]ᵀ", 1608, 1536, 384],
  ["ViT-S down [1608,1536]·[384,1536]ᵀ", 1608, 384, 1536],
];

async function timeGemm(gpu: GpuContext, reps: number): Promise<GemmResult[]> {
  const out: GemmResult[] = [];
  for (const [shape, m, n, k] of GEMM_SHAPES) {
    const x = gpu.uploadTensor(randomTensor([m, k], 1));
    const weight = gpu.uploadTensor(randomTensor([n, k], 2, 0.05));
    const y = {
      buffer: gpu.createStorageBuffer(m * n * 4, "y"),
      shape: [m, n],
      dtype: "f32" as const,
    };
    for (const variant of ["blocked", "naive"] as MatmulVariant[]) {
      await matmul(gpu, { x, weight, out: y, variant });
      await gpu.sync();
      let best = Infinity;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await matmul(gpu, { x, weight, out: y, variant });
        await gpu.sync();
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      out.push({ shape, variant, seconds: best, gflops: (2 * m * n * k) / best / 1e9 });
    }
    for (const t of [x, weight, y]) t.buffer.destroy();
  }
  return out;
}

function memoryLine(gpu: GpuContext): { line: string; totalBytes: number } {
  const m = dinov3MemoryEstimate(gpu, DINOV3_PRESETS["dinov3-vitl16"], 8, 512, 512);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const total = m.weightsBytes + m.activationBytes;
  return {
    totalBytes: total,
    line: `ViT-L/16 512×512 batch 8 (chunks ${m.chunks.join(" + ")}): weights ${
      gib(m.weightsBytes)
    } + activation pool peak ${gib(m.activationBytes)} = ${gib(total)} ${
      total < 4e9 ? "(< 4 GB)" : "(OVER 4 GB)"
    } [allocation replay, not a run]`,
  };
}

function encoderTable(rows: EncoderResult[]): string[] {
  return [
    "| model | batch | s/batch | images/s | GFLOP/s |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.model} | ${r.batch} | ${r.seconds.toFixed(2)} | ${r.imagesPerSecond.toFixed(3)} | ${
        r.gflops.toFixed(2)
      } |`
    ),
  ];
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const models = (arg("models") ?? "vits16,vitb16").split(",");
  const batches = (arg("batches") ?? "1,8").split(",").map(Number);
  const reps = Number(arg("reps") ?? 2);
  const gpu = await requestGpu();
  say(`# DINOv3 encoder benchmark`);
  say(
    `adapter: ${gpu.info.description} (${
      gpu.info.isSoftware ? "software" : "hardware"
    }); load average at start: ${loadAverage()}; random weights; best of ${reps}`,
  );
  const rows: EncoderResult[] = [];
  for (const model of models) {
    const encoder = await openModel(gpu, model);
    for (const b of batches) {
      rows.push(await timeEncode(encoder, b, reps));
      say(encoderTable(rows).at(-1)!);
    }
    encoder.dispose();
  }
  say();
  for (const line of encoderTable(rows)) say(line);
  let gemm: GemmResult[] = [];
  if (!Deno.args.includes("--no-gemm")) {
    gemm = await timeGemm(gpu, reps);
    say();
    say("| GEMM | blocked GFLOP/s | naive GFLOP/s | ratio |");
    say("| --- | --- | --- | --- |");
    for (const [shape] of GEMM_SHAPES) {
      const b = gemm.find((g) => g.shape === shape && g.variant === "blocked")!;
      const n = gemm.find((g) => g.shape === shape && g.variant === "naive")!;
      say(
        `| ${shape} | ${b.gflops.toFixed(2)} | ${n.gflops.toFixed(2)} | ${
          (b.gflops / n.gflops).toFixed(1)
        }× |`,
      );
    }
  }
  const memory = memoryLine(gpu);
  say();
  say(memory.line);
  say(`load average at end: ${loadAverage()}`);
  const json = arg("json");
  if (json) {
    await Deno.writeTextFile(
      json,
      JSON.stringify(
        { adapter: gpu.info, encoders: rows, gemm, memory, loadAverage: loadAverage() },
        null,
        2,
      ) + "\n",
    );
  }
  gpu.destroy();
}

if (import.meta.main) {
  await main();
} else {
  // Under `deno bench`: one case per model and batch; the table is printed at the end.
  const gpu = await requestGpu().catch(() => undefined);
  if (gpu) {
    const rows = new Map<string, EncoderResult>();
    const encoders: Dinov3WebGpuEncoder[] = [];
    for (const model of ["vits16", "vitb16"]) {
      const encoder = await openModel(gpu, model);
      encoders.push(encoder);
      for (const batch of [1, 8]) {
        const px = randomTensor([batch, 3, 224, 224], batch, 2);
        Deno.bench({
          group: "DINOv3 encode at 224 px (random weights)",
          name: `${encoder.info.id} batch ${batch}`,
          n: 1,
          warmup: 1, // shader compilation and pool allocation; the table keeps the best run
          async fn() {
            const t0 = performance.now();
            await encoder.encode(px);
            const r = result(encoder, batch, (performance.now() - t0) / 1000);
            const key = `${model}/${batch}`;
            if (!rows.has(key) || rows.get(key)!.seconds > r.seconds) rows.set(key, r);
          },
        });
      }
    }
    const memory = memoryLine(gpu);
    globalThis.addEventListener("unload", () => {
      say(`\nDINOv3 on ${gpu.info.description} (load average ${loadAverage()}):`);
      for (const line of encoderTable([...rows.values()])) say(line);
      say(memory.line);
      for (const e of encoders) e.dispose();
      gpu.destroy();
    });
  }
}

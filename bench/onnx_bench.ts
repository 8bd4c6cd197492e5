// deno-lint-ignore-file no-console -- a benchmark script: printing the table is its job
/**
 * ONNX backend benchmark (issue #9): ViT-S/16 at 224×224, images/s at batch
 * 1 and 8, in one run, through
 *
 * 1. medprobe's DINOv3 ONNX encoder on onnxruntime-node (`onnx-node`),
 * 2. the peer: onnxruntime-node running the very same model bytes directly
 *    (`InferenceSession.run`, same session options, same fetched outputs),
 *    measured interleaved with (1) so machine noise hits both alike
 *    (target: ours within 10 % of it), plus an identical second peer
 *    session whose ratio to the first (A/A) shows the timing noise floor,
 * 3. medprobe's DINOv3 ONNX encoder on onnxruntime-web's wasm provider,
 * 4. the WebGPU DINOv3 encoder, when `plugins/encoders/dinov3/mod.ts`
 *    exports an encoder plugin (skipped with a note otherwise).
 *
 * Weights are random (`writeRandomDinov3`, seed 0) in a temp folder: speed
 * does not depend on the values.
 *
 * ```sh
 * deno run -A bench/onnx_bench.ts                  # the table
 * deno run -A bench/onnx_bench.ts --seconds 5      # longer timing per cell
 * deno run -A bench/onnx_bench.ts --no-webgpu --no-wasm
 * deno run -A bench/onnx_bench.ts --memory vitl    # peak memory while building ViT-L
 * deno bench -A bench/onnx_bench.ts                # same table (deno task bench)
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DINOV3_PRESETS, parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";
import type { Encoder, EncoderPlugin } from "../core/plugin.ts";
import type { HostTensor } from "../core/tensor.ts";
import { buildDinov3Onnx, createDinov3OnnxEncoder } from "../plugins/encoders/dinov3/onnx.ts";
import { defaultSessionOptions, type OnnxRuntime } from "../plugins/encoders/onnx/runtime.ts";

const SIZE = 224;
const BATCHES = [1, 8] as const;
const FETCH = ["cls", "registers", "patch_tokens", "patch_mean"];

function pixels(batch: number): HostTensor {
  const data = new Float32Array(batch * 3 * SIZE * SIZE);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return { data, shape: [batch, 3, SIZE, SIZE] };
}

/** What {@linkcode measure} returns. */
interface Timing {
  /** Images/s per runner over all timed rounds. */
  ips: Record<string, number>;
  /** Per round: seconds per runner. */
  rounds: Record<string, number>[];
}

/**
 * Times named runners at one batch size, interleaved round by round (the
 * order alternates every round): one warm-up each, then rounds until every
 * runner has spent `seconds` and done at least `minRounds`.
 */
async function measure(
  runners: Record<string, () => Promise<unknown>>,
  batch: number,
  seconds: number,
  minRounds = 3,
): Promise<Timing> {
  const names = Object.keys(runners);
  for (const n of names) await runners[n]();
  const spent = Object.fromEntries(names.map((n) => [n, 0]));
  const rounds: Record<string, number>[] = [];
  while (rounds.length < minRounds || names.some((n) => spent[n] < seconds * 1000)) {
    const round: Record<string, number> = {};
    const order = rounds.length % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const t0 = performance.now();
      await runners[n]();
      round[n] = (performance.now() - t0) / 1000;
      spent[n] += round[n] * 1000;
    }
    rounds.push(round);
  }
  return {
    ips: Object.fromEntries(names.map((n) => [n, (batch * rounds.length) / (spent[n] / 1000)])),
    rounds,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function findWebGpuPlugin(): Promise<{ plugin?: EncoderPlugin; note: string }> {
  const url = new URL("../plugins/encoders/dinov3/mod.ts", import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return { note: "skipped: plugins/encoders/dinov3/mod.ts does not exist yet" };
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (e) {
    return {
      note: `skipped: importing plugins/encoders/dinov3/mod.ts failed: ${(e as Error).message}`,
    };
  }
  const plugin = Object.values(mod).find((v): v is EncoderPlugin =>
    typeof v === "object" && v !== null && (v as EncoderPlugin).kind === "encoder" &&
    typeof (v as EncoderPlugin).create === "function"
  );
  return plugin
    ? { plugin, note: `plugin "${plugin.name}"` }
    : { note: "skipped: plugins/encoders/dinov3/mod.ts exports no encoder plugin yet" };
}

function fmt(v: number | undefined): string {
  return v === undefined ? "-" : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * The wrapper's own cost: `encode()` versus `session.run()` on a tiny model
 * whose inference takes well under a millisecond, so the difference is what
 * medprobe adds per call (input checks, tensor wrapping, output mapping).
 * Median of ~1000 individually timed calls each, interleaved in blocks of
 * 25 (a call is shorter than a scheduler slice, so most calls run
 * undisturbed by other load).
 */
async function wrapperOverhead(dir: string): Promise<{ ours: number; peer: number }> {
  const tiny = `${dir}/tiny`;
  await writeRandomDinov3(
    tiny,
    parseDinov3Config({ hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2 }),
    0,
  );
  const ours = await createDinov3OnnxEncoder(tiny, { runtime: "node" });
  const ort = await import("onnxruntime-node");
  const peer = await ort.InferenceSession.create(
    (await buildDinov3Onnx(tiny)).bytes,
    defaultSessionOptions({ kind: "node" } as OnnxRuntime),
  );
  const px = { data: new Float32Array(3 * 32 * 32).fill(0.5), shape: [1, 3, 32, 32] };
  const runners = {
    ours: () => ours.encode(px),
    peer: () => peer.run({ pixel_values: new ort.Tensor("float32", px.data, px.shape) }, FETCH),
  };
  const calls: Record<string, number[]> = { ours: [], peer: [] };
  for (let round = 0; round < 40; round++) {
    for (const n of (round % 2 ? ["peer", "ours"] : ["ours", "peer"]) as ("ours" | "peer")[]) {
      for (let i = 0; i < 25; i++) {
        const t0 = performance.now();
        await runners[n]();
        if (round > 0) calls[n].push((performance.now() - t0) / 1000);
      }
    }
  }
  ours.dispose();
  await peer.release();
  return {
    ours: median(calls.ours),
    peer: median(calls.peer),
  };
}

/** Runs the speed table and prints it. */
async function speed(opts: { seconds: number; webgpu: boolean; wasm: boolean }): Promise<void> {
  const log = (s = "") => console.log(s);
  const dir = await Deno.makeTempDir({ prefix: "medprobe_onnx_bench_" });
  const rows: { name: string; ips: Partial<Record<number, number>>; note?: string }[] = [];
  let overhead: { ours: number; peer: number } | undefined;
  let batch1Seconds = NaN;
  try {
    const config = DINOV3_PRESETS["dinov3-vits16"];
    await writeRandomDinov3(dir, config, 0);
    const inputs = Object.fromEntries(BATCHES.map((b) => [b, pixels(b)]));

    // --- ours (node) vs the peer (same bytes, onnxruntime-node directly), interleaved
    const ours = await createDinov3OnnxEncoder(dir, { runtime: "node" });
    const { bytes } = await buildDinov3Onnx(dir);
    const ort = await import("onnxruntime-node");
    const peer = await ort.InferenceSession.create(
      bytes,
      defaultSessionOptions({ kind: "node" } as OnnxRuntime),
    );
    // A second, identical peer session: peer' / peer is an A/A ratio whose spread is the
    // measurement's noise floor on this machine.
    const peerB = await ort.InferenceSession.create(
      bytes,
      defaultSessionOptions({ kind: "node" } as OnnxRuntime),
    );
    const runPeer = (s: typeof peer, px: HostTensor) => () =>
      s.run({ pixel_values: new ort.Tensor("float32", px.data, px.shape) }, FETCH);
    const oursRow = {
      name: "medprobe onnx-node (createDinov3OnnxEncoder)",
      ips: {} as Record<number, number>,
    };
    const peerRow = {
      name: "peer: onnxruntime-node InferenceSession.run",
      ips: {} as Record<number, number>,
    };
    const ratio: Record<number, number> = {};
    const noise: Record<number, number> = {};
    const roundsDone: Record<number, number> = {};
    for (const b of BATCHES) {
      const px = inputs[b];
      const r = await measure(
        { ours: () => ours.encode(px), peer: runPeer(peer, px), peerB: runPeer(peerB, px) },
        b,
        opts.seconds,
        9,
      );
      oursRow.ips[b] = r.ips.ours;
      peerRow.ips[b] = r.ips.peer;
      // Median over rounds of (peer time / our time): robust to bursts of load on a shared CPU.
      ratio[b] = median(r.rounds.map((x) => x.peer / x.ours));
      noise[b] = median(r.rounds.map((x) => x.peer / x.peerB));
      roundsDone[b] = r.rounds.length;
    }
    ours.dispose();
    await peer.release();
    await peerB.release();
    overhead = await wrapperOverhead(dir);
    batch1Seconds = 1 / oursRow.ips[1];
    rows.push(oursRow, peerRow);
    rows.push({
      name: "ratio ours / peer (median per round)",
      ips: ratio,
      note: `target >= 0.90; ${
        BATCHES.map((b) => `${roundsDone[b]} rounds at batch ${b}`).join(", ")
      }`,
    });
    rows.push({
      name: "ratio peer' / peer (A/A: the noise floor)",
      ips: noise,
      note: "an identical second peer session; its distance from 1 is timing noise",
    });

    // --- ours (wasm)
    if (opts.wasm) {
      const wasm = await createDinov3OnnxEncoder(dir, { runtime: "wasm" });
      const threads = (await import("onnxruntime-web")).env.wasm.numThreads;
      const row = {
        name: `medprobe onnx-wasm (${threads} threads)`,
        ips: {} as Record<number, number>,
      };
      for (const b of BATCHES) {
        row.ips[b] = (await measure(
          { wasm: () => wasm.encode(inputs[b]) },
          b,
          opts.seconds,
          1,
        )).ips.wasm;
      }
      wasm.dispose();
      rows.push(row);
    } else rows.push({ name: "medprobe onnx-wasm", ips: {}, note: "skipped (--no-wasm)" });

    // --- WebGPU encoder
    const found = opts.webgpu ? await findWebGpuPlugin() : { note: "skipped (--no-webgpu)" };
    if (found.plugin) {
      let enc: Encoder | undefined;
      try {
        enc = await found.plugin.create({ weights: dir, backend: "webgpu" });
        const row = {
          name: `medprobe webgpu (${found.note})`,
          ips: {} as Record<number, number>,
          note: enc.info.backendReason,
        };
        for (const b of BATCHES) {
          // One warm-up and one timed round: a software adapter takes seconds per image.
          row.ips[b] = (await measure({ gpu: () => enc!.encode(inputs[b]) }, b, 0, 1)).ips.gpu;
        }
        rows.push(row);
      } catch (e) {
        rows.push({ name: "medprobe webgpu", ips: {}, note: `failed: ${(e as Error).message}` });
      } finally {
        enc?.dispose();
      }
    } else rows.push({ name: "medprobe webgpu", ips: {}, note: found.note });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  log(`ViT-S/16 @ ${SIZE}x${SIZE}, random weights, images/s (higher is better)`);
  log(
    `onnxruntime 1.30.0, ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, ${opts.seconds} s per cell, interleaved`,
  );
  log();
  const w = Math.max(...rows.map((r) => r.name.length)) + 2;
  log(`${"".padEnd(w)}${BATCHES.map((b) => `batch ${b}`.padStart(10)).join("")}`);
  for (const r of rows) {
    log(
      `${r.name.padEnd(w)}${BATCHES.map((b) => fmt(r.ips[b]).padStart(10)).join("")}${
        r.note ? `  ${r.note}` : ""
      }`,
    );
  }
  if (overhead) {
    const extra = overhead.ours - overhead.peer;
    log();
    log(
      `wrapper cost per call (tiny model, median of ~1000 calls each): encode() ${
        (overhead.ours * 1e6).toFixed(0)
      } us, session.run() ${(overhead.peer * 1e6).toFixed(0)} us: medprobe adds ${
        (extra * 1e6).toFixed(0)
      } us = ${(100 * extra / batch1Seconds).toFixed(3)} % of one ViT-S batch-1 encode`,
    );
  }
}

/** Child process of `--memory`: builds the model and reports RSS samples as JSON. */
async function memoryChild(dir: string): Promise<void> {
  const rss = () => Deno.memoryUsage().rss;
  const base = rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 2);
  const { bytes } = await buildDinov3Onnx(dir);
  peak = Math.max(peak, rss());
  clearInterval(timer);
  const afterBuild = rss();
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const afterSession = rss();
  await session.release();
  console.log(
    JSON.stringify({ base, peak, afterBuild, afterSession, modelBytes: bytes.byteLength }),
  );
}

/** `--memory vitl|vits`: peak RSS of building the model in a fresh process. */
async function memory(which: string): Promise<void> {
  const config = DINOV3_PRESETS[which === "vits" ? "dinov3-vits16" : "dinov3-vitl16"];
  const dir = await Deno.makeTempDir({ prefix: "medprobe_onnx_mem_" });
  try {
    await writeRandomDinov3(dir, config, 0);
    const weights = (await Deno.stat(`${dir}/model.safetensors`)).size;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--memory-child",
        dir,
      ],
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `DINOv3 ${which === "vits" ? "ViT-S/16" : "ViT-L/16"}: weights ${mib(weights)}, ONNX model ${
        mib(r.modelBytes)
      }`,
    );
    console.log(
      `  RSS before build ${mib(r.base)}, peak during build ${mib(r.peak)} (+${
        mib(r.peak - r.base)
      } = ${((r.peak - r.base) / r.modelBytes).toFixed(2)}x the model)`,
    );
    console.log(
      `  RSS after build ${
        mib(r.afterBuild)
      }; creating the onnxruntime-node session (its own copy, prepacked weights) ${
        mib(r.afterSession)
      } (the model bytes stay alive while onnxruntime parses them)`,
    );
    console.log(
      "  (the build peak includes per-tensor read buffers V8 has not collected yet: below its external-memory GC threshold, as for ViT-S, they can reach 1x the model; ViT-L shows the bound)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "3" },
      "no-webgpu": { type: "boolean", default: false },
      "no-wasm": { type: "boolean", default: false },
      memory: { type: "string" },
      "memory-child": { type: "string" },
    },
  });
  if (values["memory-child"]) return await memoryChild(values["memory-child"]);
  if (values.memory) return await memory(values.memory);
  await speed({
    seconds: Number(values.seconds),
    webgpu: !values["no-webgpu"],
    wasm: !values["no-wasm"],
  });
}

// `deno run` passes its arguments; under `deno bench` (deno task bench) the module body runs once and
// prints the table (a Deno.bench would re-run a minute-long table many times).
await main(import.meta.main ? Deno.args : []);

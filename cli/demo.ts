/**
 * `medprobe demo`, the main job: writes synthetic X-ray, CT and a small
 * segmentation dataset in their real on-disk layouts, builds a small
 * DINOv3-architecture encoder from the weights in `fixtures/dinov3_demo`
 * (RANDOMLY INITIALISED, not pretrained), runs the report's protocols
 * (2D linear probe and k-NN on NIH-14, slice-mean CT-RATE with both heads,
 * a 3D decoder on a synthetic MSD spleen task), prints the results table
 * and writes the HTML/Markdown report.
 *
 * @module
 */

import type { Command } from "commander";
import type { Registry } from "../core/registry.ts";
import type { ResultRecord } from "../core/result.ts";
import { writeReport } from "../plugins/report/mod.ts";
import { runSynth } from "./synth.ts";
import { type EvalCliOptions, evaluate, interruptSignal } from "./eval.ts";
import {
  boundedInt,
  encoderBackendOption,
  loadRegistry,
  positiveInt,
  say,
  warn,
} from "./common.ts";

/** One demo run. */
interface DemoRun {
  dataset: string;
  head: string;
  options: Partial<EvalCliOptions>;
}

/** Options of `medprobe demo`. */
export interface DemoOptions {
  /** Output folder (default: a new temporary folder). */
  out?: string;
  /** Weights folder (default: the shipped random demo weights). */
  weights?: string;
  /** Backend. */
  backend: "webgpu" | "onnx" | "auto";
  /** Synthetic X-ray images. */
  count: number;
  /** Skip the segmentation task. */
  noSegmentation?: boolean;
  /** Seed. */
  seed: number;
}

const DEMO_FILES = ["config.json", "model.safetensors"];

/** The shipped demo weights as a local folder (fetched next to a temp dir when run from a URL). */
async function demoWeights(): Promise<string> {
  const base = new URL("../fixtures/dinov3_demo/", import.meta.url);
  if (base.protocol === "file:") return base.pathname;
  const dir = await Deno.makeTempDir({ prefix: "medprobe-demo-weights-" });
  for (const f of DEMO_FILES) {
    const res = await fetch(new URL(f, base));
    if (!res.ok) throw new Error(`Cannot fetch the demo weights ${f}: HTTP ${res.status}`);
    await Deno.writeFile(`${dir}/${f}`, new Uint8Array(await res.arrayBuffer()));
  }
  return dir;
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? "  n/a " : v.toFixed(3);
}

/** Renders the demo's results table (one row per run). */
export function demoTable(records: readonly ResultRecord[]): string {
  const metrics = ["auc", "accuracy", "precision", "recall", "dice", "hd95", "voi-sum", "arand"];
  const present = metrics.filter((m) => records.some((r) => r.metrics.macro[m]));
  const rows = records.map((r) => [
    r.dataset,
    r.head.name,
    r.encoder.backend,
    ...present.map((m) => {
      const v = r.metrics.macro[m];
      if (!v) return "";
      const ci = v.ci && v.ci.low !== null && v.ci.high !== null
        ? ` [${fmt(v.ci.low)}, ${fmt(v.ci.high)}]`
        : v.std !== undefined && v.std !== null && (r.folds?.length ?? 0) > 1
        ? ` ± ${fmt(v.std)}`
        : (r.folds?.length ?? 0) === 1
        ? " (1 fold)"
        : "";
      return fmt(v.value) + ci;
    }),
  ]);
  const header = ["dataset", "head", "backend", ...present];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  return [
    line(header),
    "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|",
    ...rows.map(line),
  ].join("\n");
}

/** Runs the demo and returns its records. */
export async function runDemo(registry: Registry, o: DemoOptions): Promise<ResultRecord[]> {
  const out = o.out ?? await Deno.makeTempDir({ prefix: "medprobe-demo-" });
  const weights = o.weights ?? await demoWeights();
  const started = performance.now();
  say("medprobe demo");
  say(`  output:  ${out}`);
  say(
    o.weights
      ? `  weights: ${weights}`
      : `  weights: ${weights}\n           a small DINOv3-architecture model (dim 128, 2 blocks) with RANDOM weights, NOT pretrained:\n           the numbers show the pipeline works, not how good DINOv3 is. For real results:\n           medprobe eval xray/nih14 --data <NIH folder> --weights <folder of facebook/dinov3-vits16-pretrain-lvd1689m>`,
  );
  const data = `${out}/data`;
  const synth: [string, number][] = [["xray/nih14", o.count], ["ct/ctrate", 40]];
  if (!o.noSegmentation) synth.push(["ct/msd-task09", 6], ["em/cremi-a", 10]);
  for (const [id, count] of synth) {
    const dir = `${data}/${id.replace("/", "_")}`;
    const s = await runSynth(registry, id, { out: dir, count, seed: o.seed, force: true });
    say(
      `  wrote synthetic ${id}: ${
        s.count ?? "default"
      } samples, ${s.files} files in its real layout (${dir})`,
    );
  }
  // Tiny synthetic sets need more optimisation steps than the report's
  // 50 epochs at batch 1024 on 78k images; cls+mean is DINOv3's own
  // linear-probe feature.
  const runs: DemoRun[] = [
    {
      dataset: "xray/nih14",
      head: "linear",
      options: { feature: "cls+mean", epochs: 300, resolution: 112 },
    },
    { dataset: "xray/nih14", head: "knn", options: { feature: "cls+mean", resolution: 112 } },
    {
      dataset: "ct/ctrate",
      head: "linear",
      options: { feature: "cls+mean", epochs: 300, resolution: 64 },
    },
    { dataset: "ct/ctrate", head: "knn", options: { feature: "cls+mean", resolution: 64 } },
  ];
  if (!o.noSegmentation) {
    // A short run that learns on llvmpipe: lr 5e-3 (the protocol's 1e-4
    // needs far more steps), small decoder and crops, one of two folds.
    runs.push({
      dataset: "ct/msd-task09",
      head: "decoder3d",
      options: {
        resolution: 128,
        taskOptions: { folds: 2, runFolds: 1 },
        headOptions: {
          lr: 5e-3,
          epochs: 12,
          cropsPerVolume: 4,
          channels: [16, 16, 8, 4],
          patchSize: [16, 32, 32],
          foregroundOversample: 0.5,
        },
      },
    });
    // EM neuron segmentation: affinities → watershed + waterz agglomeration, VOI / ARAND.
    // 40 CPU steps: lr 1e-2 (the protocol's 1e-3 needs far more steps).
    runs.push({
      dataset: "em/cremi-a",
      head: "affinity",
      options: {
        resolution: 64,
        taskOptions: { thresholds: "0.2,0.4,0.6,0.8", montageSections: 4 },
        headOptions: { epochs: 10, cropsPerEpoch: 4, patchSize: [4, 64, 64], lr: 1e-2 },
      },
    });
  }
  const records: ResultRecord[] = [];
  const stop = interruptSignal();
  try {
    for (const run of runs) {
      say(`\n▶ ${run.dataset} · ${run.head}`);
      const record = await evaluate(registry, run.dataset, {
        data: `${data}/${run.dataset.replace("/", "_")}`,
        weights,
        backend: o.backend,
        precision: "f32",
        head: run.head,
        batch: 16,
        seed: o.seed,
        cache: `${out}/cache`,
        out: `${out}/runs/${run.dataset.replace("/", "_")}/${run.head}`,
        ...(run.head === "decoder3d" || run.head === "affinity"
          ? {}
          : { bootstrap: 500, workers: 2 }),
        plugin: [],
        force: true, // the demo rewrites its own output folder
        ...run.options,
      } as EvalCliOptions, stop.signal);
      records.push(record);
    }
  } finally {
    stop.dispose();
  }
  say("\nResults (95 % bootstrap CIs; segmentation: mean ± std over the folds run):\n");
  say(demoTable(records));
  const report = await writeReport(records, `${out}/report`, {
    title: "medprobe demo (random weights, synthetic data)",
  });
  say(`\nreport:  ${out}/report/report.html (and report.md, results.csv)`);
  say(`records: ${out}/runs/*/*/result.json`);
  say(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (report.skipped.length > 0) warn(`report skipped ${report.skipped.length} record(s)`);
  return records;
}

/** Registers `demo`. */
export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "The main job: synthetic X-ray, CT and segmentation datasets → small random DINOv3 → the report's protocols → results table and report",
    )
    .option("--out <dir>", "output folder (default: a new temporary folder)")
    .option("--weights <dir>", "use these weights instead of the shipped random demo weights")
    .addOption(encoderBackendOption())
    .option("--count <n>", "synthetic X-ray images", positiveInt, 160)
    .option("--seed <n>", "seed of every random choice", boundedInt(0, 2 ** 31 - 1), 1)
    .option("--no-segmentation", "skip the 3D segmentation task")
    .action(async (opts: DemoOptions & { segmentation?: boolean }) => {
      const registry = await loadRegistry();
      await runDemo(registry, { ...opts, noSegmentation: opts.segmentation === false });
    });
}

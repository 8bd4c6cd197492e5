/**
 * `medprobe segment DATASET`: the 3D segmentation protocol (stacked slice
 * features → decoder3d, k-fold patient-level CV) with every decoder and
 * data option on the command line. `medprobe eval` runs the same protocol
 * with the dataset's defaults; this command exposes the rest:
 *
 * ```sh
 * medprobe segment ct/msd-task09 --data Task09_Spleen/.. --weights dinov3-vits16 --resolution 224
 * medprobe segment pet/autopet --data FDG-PET-CT-Lesions/.. --weights ... --channels ct+pet --warmup 0.05
 * medprobe segment ct/msd-task09 --data synth --weights w --resolution 128 --lr 5e-3 --epochs 12 \
 *   --decoder-channels 16,16,8,4 --patch 16,32,32 --run-folds 1
 * ```
 *
 * {@linkcode runSegmentationEval} is the function behind it, for callers
 * with parsed options (a dispatcher, the demo).
 *
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import type { Registry } from "../core/registry.ts";
import type { ResultRecord } from "../core/result.ts";
import type { GpuContext } from "../core/gpu.ts";
import { runSegmentationEvaluation } from "../core/run_segmentation.ts";
import type { BackendRequest } from "../plugins/encoders/backend.ts";
import { openEncoder } from "./encoder.ts";
import { createProgress } from "./progress.ts";
import { findDataset, interruptSignal, parseResolution, printSummary } from "./eval.ts";
import {
  dataRootOption,
  encoderBackendOption,
  loadRegistry,
  nonNegativeInt,
  pluginOption,
  positiveInt,
  say,
  VERSION,
  warn,
} from "./common.ts";

/** Options of {@linkcode runSegmentationEval} (the `segment` command's flags, parsed). */
export interface SegmentCliOptions {
  /** Dataset root, as downloaded or synthesized. */
  data: string;
  /** Encoder plugin name (default: from the weights' config.json). */
  encoder?: string;
  /** Weights folder. */
  weights?: string;
  /** Encoder backend. @default {"auto"} */
  backend?: BackendRequest;
  /** Encoder input size. @default the protocol's */
  resolution?: number | [number, number] | "native";
  /** Slices per encoder batch. @default {16} */
  batch?: number;
  /** Seed of the folds and the decoder. @default {0} */
  seed?: number;
  /** Feature cache folder. @default {`${out}/cache`} */
  cache?: string;
  /** Output folder. @default {"out"} */
  out?: string;
  /** Cross-validation folds. @default the protocol's */
  folds?: number;
  /** Run the first N folds. @default the protocol's */
  runFolds?: number;
  /** Run these fold indices instead. */
  foldIndices?: number[];
  /** PET/CT channels (`ct`, `pet`, `ct+pet`), passed to the dataset's `open`. */
  channels?: string;
  /** Intensity window(s) replacing the protocol's (`[-175,250]`, `percentile`, JSON list per channel). */
  window?: unknown;
  /** Decoder hyperparameters (any of decoder3d's), merged over the protocol's. */
  head?: Record<string, unknown>;
  /** Do not write predicted masks. */
  noMasks?: boolean;
  /** Stop at the first unreadable case. */
  strict?: boolean;
  /** Use at most N labelled cases. */
  limit?: number;
  /** No progress output. */
  quiet?: boolean;
  /** A WebGPU context for the decoder. */
  gpu?: GpuContext;
  /** Called after each epoch of each fold. */
  onEpoch?: (fold: number, epoch: number, epochs: number, loss: number) => void;
}

/**
 * Runs the segmentation protocol on `datasetId` with parsed options: opens
 * the encoder, runs {@linkcode runSegmentationEvaluation}, disposes the
 * encoder and returns the result record (also in `OUT/result.json`).
 */
export async function runSegmentationEval(
  registry: Registry,
  datasetId: string,
  o: SegmentCliOptions,
  signal?: AbortSignal,
): Promise<ResultRecord> {
  const spec = findDataset(registry, datasetId);
  if (spec.task !== "segmentation") {
    throw new TypeError(
      `Cannot segment "${datasetId}" as its task must be "segmentation": current task is "${spec.task}"`,
    );
  }
  const { encoder, meta } = await openEncoder(registry, {
    encoder: o.encoder,
    weights: o.weights,
    backend: o.backend ?? "auto",
  });
  try {
    return await runSegmentationEvaluation({
      registry,
      dataset: datasetId,
      root: o.data,
      openOptions: o.channels ? { channels: o.channels } : undefined,
      encoder,
      encoderMeta: meta,
      resolution: o.resolution,
      batchSize: o.batch ?? 16,
      seed: o.seed ?? 0,
      folds: o.folds,
      runFolds: o.foldIndices ?? o.runFolds,
      cacheDir: o.cache,
      out: o.out ?? "out",
      writeMasks: !o.noMasks,
      strict: o.strict,
      limit: o.limit,
      gpu: o.gpu,
      adapterOptions: o.window !== undefined ? { window: o.window } : undefined,
      headOptions: o.head,
      progress: createProgress({ quiet: o.quiet }),
      onEpoch: o.onEpoch,
      signal,
      version: VERSION,
    });
  } finally {
    encoder.dispose();
  }
}

function intList(value: string): number[] {
  const parts = value.split(",").map((v) => Number(v.trim()));
  if (parts.length === 0 || parts.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new InvalidArgumentError(
      `must be comma-separated non-negative integers: current value is "${value}"`,
    );
  }
  return parts;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new InvalidArgumentError(`must be a positive number: current value is "${value}"`);
  }
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) {
    throw new InvalidArgumentError(`must be in [0, 1): current value is "${value}"`);
  }
  return n;
}

/** Parses `--window`: `percentile`, `minmax`, `[-175,250]` or a JSON list (one per channel). */
export function parseWindow(value: string): unknown {
  if (value === "percentile" || value === "minmax") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(
      `must be "percentile", "minmax", [min,max] or a JSON list of those: current value is "${value}"`,
    );
  }
}

/** Parsed flags of the command, before they become {@linkcode SegmentCliOptions}. */
interface SegmentFlags {
  data: string;
  encoder?: string;
  weights?: string;
  backend: BackendRequest;
  resolution?: number | [number, number] | "native";
  batch: number;
  seed: number;
  cache?: string;
  out: string;
  folds?: number;
  runFolds?: number;
  foldIndices?: number[];
  channels?: string;
  window?: unknown;
  lr?: number;
  epochs?: number;
  crops?: number;
  patch?: number[];
  decoderChannels?: number[];
  overlap?: number;
  warmup?: number;
  norm?: string;
  headOptions?: string;
  masks: boolean;
  strict?: boolean;
  limit?: number;
  plugin: string[];
  quiet?: boolean;
  json?: boolean;
}

/** Maps the command's flags to {@linkcode SegmentCliOptions}. */
function toOptions(f: SegmentFlags): SegmentCliOptions {
  let head: Record<string, unknown> = {};
  if (f.headOptions) {
    try {
      head = JSON.parse(f.headOptions);
    } catch (cause) {
      throw new InvalidArgumentError(
        `--head-options must be a JSON object: ${(cause as Error).message}`,
      );
    }
  }
  const set = (key: string, v: unknown) => {
    if (v !== undefined) head[key] = v;
  };
  set("lr", f.lr);
  set("epochs", f.epochs);
  set("cropsPerVolume", f.crops);
  set("patchSize", f.patch);
  set("channels", f.decoderChannels);
  set("overlap", f.overlap);
  set("warmupFraction", f.warmup);
  set("norm", f.norm);
  return {
    data: f.data,
    encoder: f.encoder,
    weights: f.weights,
    backend: f.backend,
    resolution: f.resolution,
    batch: f.batch,
    seed: f.seed,
    cache: f.cache,
    out: f.out,
    folds: f.folds,
    runFolds: f.runFolds,
    foldIndices: f.foldIndices,
    channels: f.channels,
    window: f.window,
    head: Object.keys(head).length ? head : undefined,
    noMasks: !f.masks,
    strict: f.strict,
    limit: f.limit,
    quiet: f.quiet,
  };
}

/** Registers `medprobe segment`. */
export function registerSegmentationCommands(program: Command): void {
  program
    .command("segment")
    .description(
      "3D segmentation protocol: stacked slice features → decoder3d, k-fold patient-level CV, Dice/HD95/precision/recall, masks as .nii.gz",
    )
    .argument("<dataset>", "modality/dataset, e.g. ct/msd-task09, pet/autopet, pet/hecktor")
    .addOption(dataRootOption())
    .option("--encoder <name>", "encoder plugin (default: read from the weights' config.json)")
    .option("--weights <dir>", "weights folder (config.json + model.safetensors)")
    .addOption(encoderBackendOption())
    .option(
      "--resolution <size>",
      "encoder input: N, HxW or native (default: the protocol's)",
      parseResolution,
    )
    .option("--batch <n>", "slices per encoder batch", positiveInt, 16)
    .option("--seed <n>", "seed of the folds and the decoder", nonNegativeInt, 0)
    .option("--cache <dir>", "feature cache folder (default: OUT/cache)")
    .option("--out <dir>", "output folder", "out")
    .option("--folds <n>", "cross-validation folds (default: the protocol's, 5)", positiveInt)
    .option(
      "--run-folds <n>",
      "run only the first N folds (PET/CT default: 1, an 80/20 split)",
      positiveInt,
    )
    .option("--fold-indices <list>", "run these folds, e.g. 0,2", intList)
    .addOption(
      new Option("--channels <which>", "PET/CT input channels").choices(["ct", "pet", "ct+pet"]),
    )
    .option(
      "--window <w>",
      'intensity window(s): "[-175,250]", percentile, or a JSON list per channel',
      parseWindow,
    )
    .option("--lr <x>", "decoder AdamW learning rate (protocol: 1e-4)", positiveNumber)
    .option("--epochs <n>", "decoder epochs", positiveInt)
    .option("--crops <n>", "random crops per volume per epoch", positiveInt)
    .option("--patch <d,h,w>", "crop / sliding-window size in voxels", intList)
    .option("--decoder-channels <list>", "decoder stage widths, e.g. 64,32,16,16,8", intList)
    .option("--overlap <x>", "sliding-window overlap in [0, 1)", fraction)
    .option("--warmup <x>", "fraction of steps in linear warm-up", fraction)
    .addOption(new Option("--norm <kind>", "decoder normalisation").choices(["none", "group"]))
    .option("--head-options <json>", "any decoder3d hyperparameters as JSON (flags above win)")
    .option("--no-masks", "do not write predicted masks")
    .option("--strict", "stop at the first unreadable case instead of recording it")
    .option("--limit <n>", "use at most N labelled cases (quick runs)", positiveInt)
    .addOption(pluginOption())
    .option("--quiet", "no progress output")
    .option("--json", "print the result record as JSON on stdout")
    .action(async (datasetId: string, flags: SegmentFlags) => {
      const registry = await loadRegistry(flags.plugin);
      const stop = interruptSignal();
      try {
        const options = toOptions(flags);
        if (!flags.quiet) {
          options.onEpoch = (fold, epoch, epochs, loss) => {
            if (epoch === epochs || epoch % 10 === 0) {
              warn(`  fold ${fold} epoch ${epoch}/${epochs} loss ${loss.toFixed(4)}`);
            }
          };
        }
        const record = await runSegmentationEval(registry, datasetId, options, stop.signal);
        if (flags.json) say(JSON.stringify(record, null, 2));
        else {
          printSummary(record);
          say(`result: ${options.out}/result.json`);
        }
      } finally {
        stop.dispose();
      }
    });
}

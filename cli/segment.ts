/**
 * `medprobe segment DATASET`: an alias of `eval` for segmentation datasets,
 * with the 3D decoder's hyperparameters and the intensity window as flags
 * of their own (each maps onto `--head-options`, `--adapter-options` or
 * `--open-options`; the flags win over those JSON options). Every `eval`
 * flag works here too.
 *
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { UsageError } from "../core/errors.ts";
import { findDataset } from "../core/experiment.ts";
import type { Registry } from "../core/registry.ts";
import { addEvalOptions, addTaskOptions, type EvalCliOptions, runEvalCommand } from "./eval.ts";
import { boundedInt } from "./common.ts";

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

/** The segmentation-only flags, parsed. */
export interface SegmentFlags extends EvalCliOptions {
  channels?: string;
  window?: unknown;
  lr?: number;
  crops?: number;
  patch?: number[];
  decoderChannels?: number[];
  overlap?: number;
  warmup?: number;
  norm?: string;
}

/** Maps the segmentation flags onto eval's head, adapter and open options. */
export function segmentOptions(f: SegmentFlags): EvalCliOptions {
  const head: Record<string, unknown> = { ...f.headOptions };
  const set = (key: string, v: unknown) => {
    if (v !== undefined) head[key] = v;
  };
  set("lr", f.lr);
  set("cropsPerVolume", f.crops);
  set("patchSize", f.patch);
  set("channels", f.decoderChannels);
  set("overlap", f.overlap);
  set("warmupFraction", f.warmup);
  set("norm", f.norm);
  return {
    ...f,
    headOptions: Object.keys(head).length ? head : undefined,
    adapterOptions: f.window !== undefined
      ? { ...f.adapterOptions, window: f.window }
      : f.adapterOptions,
    openOptions: f.channels !== undefined
      ? { ...f.openOptions, channels: f.channels }
      : f.openOptions,
  };
}

/** Registers `medprobe segment`. */
export function registerSegmentationCommands(program: Command, registry: Registry): void {
  const cmd = program
    .command("segment")
    .description(
      "Alias of eval for segmentation datasets, with the decoder's hyperparameters and the intensity window as flags",
    )
    .argument("<dataset>", "modality/dataset, e.g. ct/msd-task09, pet/autopet, pet/hecktor");
  addEvalOptions(cmd)
    .addOption(
      new Option("--channels <which>", "PET/CT input channels").choices(["ct", "pet", "ct+pet"]),
    )
    .option(
      "--window <w>",
      'intensity window(s): "[-175,250]", percentile, or a JSON list per channel',
      parseWindow,
    )
    .option("--lr <x>", "decoder AdamW learning rate (protocol: 1e-4)", positiveNumber)
    .option("--crops <n>", "random crops per volume per epoch", boundedInt(1, 10_000))
    .option("--patch <d,h,w>", "crop / sliding-window size in voxels", intList)
    .option("--decoder-channels <list>", "decoder stage widths, e.g. 64,32,16,16,8", intList)
    .option("--overlap <x>", "sliding-window overlap in [0, 1)", fraction)
    .option("--warmup <x>", "fraction of steps in linear warm-up", fraction)
    .addOption(new Option("--norm <kind>", "decoder normalisation").choices(["none", "group"]));
  addTaskOptions(cmd, registry)
    .action(async (datasetId: string, flags: SegmentFlags, c: Command) => {
      const spec = findDataset(registry, datasetId).spec;
      if (spec.problem !== "segmentation") {
        throw new UsageError(
          `Cannot segment "${datasetId}" as its problem must be "segmentation": current problem is "${spec.problem}" (use medprobe eval)`,
          { help: "segment" },
        );
      }
      await runEvalCommand(registry, datasetId, segmentOptions(flags), c);
    });
}

/**
 * `medprobe synth MODALITY/DATASET --out DIR [--count N] [--seed S]`: writes
 * a synthetic dataset in the real on-disk layout (PNG/DICOM/NIfTI files,
 * label CSVs, split files) with a learnable signal, through the dataset's
 * own `synthesize`, resolved by name in the registry.
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import { findDataset } from "../core/experiment.ts";
import type { DatasetSpec, ModalityPlugin } from "../core/plugin.ts";
import type { Registry } from "../core/registry.ts";
import {
  formatBytes,
  loadRegistry,
  nonNegativeInt,
  pluginOption,
  positiveInt,
  say,
} from "./common.ts";

/** A dataset resolved from `"modality/dataset"`. */
export interface ResolvedDataset {
  /** The modality plugin. */
  readonly modality: ModalityPlugin;
  /** The dataset spec. */
  readonly dataset: DatasetSpec;
  /** `"modality/dataset"`. */
  readonly id: string;
}

/**
 * Resolves `"modality/dataset"` (e.g. `"xray/nih14"`) in a registry. Throws
 * a `TypeError` listing the known datasets when the name is malformed or
 * unknown.
 *
 * @example
 * ```ts
 * import { resolveDataset } from "./synth.ts";
 * import { createDefaultRegistry } from "../plugins/builtin.ts";
 * import assert from "node:assert/strict";
 * const registry = createDefaultRegistry();
 * assert.equal(resolveDataset(registry, "xray/rsna").dataset.name, "rsna");
 * assert.throws(() => resolveDataset(registry, "xray/chexpert"), /xray\/nih14/);
 * ```
 */
export function resolveDataset(registry: Registry, ref: string): ResolvedDataset {
  const { modality, spec: dataset } = findDataset(registry, ref);
  return { modality, dataset, id: `${modality.name}/${dataset.name}` };
}

/** Options of {@linkcode runSynth}. */
export interface RunSynthOptions {
  /** Output folder (created; must be empty unless `force`). */
  out: string;
  /** Number of images or volumes; the dataset's default when absent. */
  count?: number;
  /** Seed. @default {0} */
  seed?: number;
  /** Write into a non-empty folder. @default {false} */
  force?: boolean;
}

/** What {@linkcode runSynth} wrote. */
export interface SynthSummary {
  /** `"modality/dataset"`. */
  readonly dataset: string;
  /** The output folder. */
  readonly out: string;
  /** The requested count (`null` = the dataset's default). */
  readonly count: number | null;
  /** The seed used. */
  readonly seed: number;
  /** Files written. */
  readonly files: number;
  /** Bytes written. */
  readonly bytes: number;
  /** Wall time in seconds. */
  readonly seconds: number;
}

async function measure(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      const sub = await measure(path);
      files += sub.files;
      bytes += sub.bytes;
    } else if (entry.isFile) {
      files++;
      bytes += (await Deno.stat(path)).size;
    }
  }
  return { files, bytes };
}

/**
 * Writes the synthetic dataset `ref` into `options.out` and reports what was
 * written. Refuses a non-empty folder unless `force` (mixing two datasets
 * in one folder would give a layout neither reader expects).
 */
export async function runSynth(
  registry: Registry,
  ref: string,
  options: RunSynthOptions,
): Promise<SynthSummary> {
  const { dataset, id } = resolveDataset(registry, ref);
  if (
    options.count !== undefined &&
    (!Number.isInteger(options.count) || options.count < 1 || options.count > SYNTH_MAX_COUNT)
  ) {
    throw new RangeError(
      `Cannot write dataset "${id}" as count must be an integer from 1 to ${SYNTH_MAX_COUNT}: current value is ${options.count}`,
    );
  }
  const out = options.out.replace(/\/+$/, "") || "/";
  try {
    const info = await Deno.stat(out);
    if (!info.isDirectory) {
      throw new TypeError(`Cannot write dataset "${id}" to "${out}" as it is a file, not a folder`);
    }
    let nonEmpty = false;
    for await (const _ of Deno.readDir(out)) {
      nonEmpty = true;
      break;
    }
    if (nonEmpty && !options.force) {
      throw new TypeError(
        `Cannot write dataset "${id}" to "${out}" as the folder is not empty: choose an empty or new folder, or pass --force`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(out, { recursive: true });
  const seed = options.seed ?? 0;
  const started = performance.now();
  await dataset.synthesize(out, {
    ...(options.count === undefined ? {} : { count: options.count }),
    seed,
  });
  const seconds = (performance.now() - started) / 1000;
  const { files, bytes } = await measure(out);
  return { dataset: id, out, count: options.count ?? null, seed, files, bytes, seconds };
}

/**
 * The most samples `synth` writes: synthetic copies exist to test layouts
 * and pipelines; a count like 1e9 can only be a typo and would run until
 * the disk is full.
 */
export const SYNTH_MAX_COUNT = 100_000;

/** The largest `--seed` (seeds are 32-bit). */
export const SYNTH_MAX_SEED = 2 ** 32 - 1;

function synthCount(value: string): number {
  const n = positiveInt(value);
  if (n > SYNTH_MAX_COUNT) {
    throw new InvalidArgumentError(
      `must be at most ${SYNTH_MAX_COUNT}: current value is "${value}"`,
    );
  }
  return n;
}

function synthSeed(value: string): number {
  const n = nonNegativeInt(value);
  if (n > SYNTH_MAX_SEED) {
    throw new InvalidArgumentError(
      `must be at most ${SYNTH_MAX_SEED}: current value is "${value}"`,
    );
  }
  return n;
}

function datasetRef(value: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/.test(value)) {
    throw new InvalidArgumentError(
      `must be MODALITY/DATASET such as xray/nih14: current value is "${value}"`,
    );
  }
  return value;
}

/** Registers `synth`. */
export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description(
      "Write a synthetic dataset in the real on-disk layout (xray/nih14, xray/rsna, ct/ctrate, ...)",
    )
    .argument("<dataset>", "MODALITY/DATASET, e.g. xray/nih14", datasetRef)
    .requiredOption("--out <dir>", "output folder (new or empty)")
    .option(
      "--count <n>",
      `number of images or volumes, at most ${SYNTH_MAX_COUNT} (default: the dataset's)`,
      synthCount,
    )
    .option("--seed <s>", "seed of every random choice (0 to 2^32-1)", synthSeed, 0)
    .option("--force", "write into a non-empty folder")
    .addOption(pluginOption())
    .option("--json", "print JSON")
    .action(
      async (
        ref: string,
        opts: {
          out: string;
          count?: number;
          seed: number;
          force?: boolean;
          plugin: string[];
          json?: boolean;
        },
      ) => {
        const registry = await loadRegistry(opts.plugin);
        const summary = await runSynth(registry, ref, {
          out: opts.out,
          count: opts.count,
          seed: opts.seed,
          force: opts.force,
        });
        if (opts.json) {
          say(JSON.stringify(summary, null, 2));
          return;
        }
        say(
          `wrote synthetic ${summary.dataset} (${
            summary.count ?? "default"
          } samples, seed ${summary.seed}) to ${summary.out}: ${summary.files} files, ${
            formatBytes(summary.bytes)
          } in ${summary.seconds.toFixed(1)} s`,
        );
        say(`evaluate it with: medprobe eval ${summary.dataset} --data ${summary.out}`);
      },
    );
}

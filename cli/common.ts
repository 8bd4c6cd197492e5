/**
 * Shared pieces of the `medprobe` CLI: the registry with `--plugin` modules,
 * printing, option parsers and the options several commands define alike.
 *
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { loadPluginModule, type Registry } from "../core/registry.ts";
import { createDefaultRegistry } from "../plugins/builtin.ts";

/** The package version (kept equal to deno.json's by a test). */
export const VERSION = "0.1.0";

/** Writes a line to stdout (the CLI is the one place that prints). */
export function say(line = ""): void {
  // deno-lint-ignore no-console
  console.log(line);
}

/** Writes a line to stderr. */
export function warn(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

/** Builds the registry: built-ins plus every `--plugin SPEC` module. */
export async function loadRegistry(specs: readonly string[] = []): Promise<Registry> {
  const extra = [];
  for (const s of specs) extra.push(...await loadPluginModule(s));
  return createDefaultRegistry(extra);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--plugin <spec>`, repeatable: plugin modules {@linkcode loadRegistry} loads. */
export function pluginOption(): Option {
  return new Option(
    "--plugin <spec>",
    "load a plugin module (path, https:, jsr:, npm:); repeatable",
  )
    .default([])
    .argParser(collect);
}

/** `--data <dir>` (required): the dataset root of the commands that evaluate. */
export function dataRootOption(): Option {
  return new Option("--data <dir>", "dataset root, as downloaded (or written by medprobe synth)")
    .makeOptionMandatory();
}

/**
 * `--backend <name>`: where the encoder runs and heads train. `auto` picks
 * WebGPU on a hardware adapter and native CPU (onnxruntime) on a software
 * adapter or none; `onnx` forces native CPU, `webgpu` forces WebGPU.
 */
export function encoderBackendOption(): Option {
  return new Option(
    "--backend <name>",
    "where the encoder runs and heads train: auto (WebGPU on a hardware GPU, else native CPU), webgpu, onnx (native CPU)",
  ).choices(["webgpu", "onnx", "auto"]).default("auto");
}

/** The head backend that a `--backend` value means. */
export function headBackendOf(backend: string): "auto" | "webgpu" | "cpu" {
  return backend === "onnx" ? "cpu" : backend === "webgpu" ? "webgpu" : "auto";
}

/** Parses a JSON object option (`--head-options '{"lr": 0.01}'`). */
export function parseJsonObject(value: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`must be a JSON object: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`must be a JSON object: current value is ${value}`);
  }
  return v as Record<string, unknown>;
}

/** Parses `224`, `480x640` or `native` (sides from 16 to 8192). */
export function parseResolution(value: string): number | [number, number] | "native" {
  if (value === "native") return "native";
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  if (!m) {
    throw new InvalidArgumentError(
      `must be N, HxW or native (e.g. 224, 448x320): current value is "${value}"`,
    );
  }
  const sides = m[2] ? [Number(m[1]), Number(m[2])] : [Number(m[1])];
  if (sides.some((s) => s < 16 || s > 8192)) {
    throw new InvalidArgumentError(
      `sides must be in [16, 8192] (e.g. 224): current value is "${value}"`,
    );
  }
  return m[2] ? [sides[0], sides[1]] : sides[0];
}

/**
 * The flags every command that runs a protocol shares, defined once with
 * one meaning and one validation: `--data`, `--backend`, `--batch`,
 * `--seed`, `--head-options`, `--cache`, `--out`, `--plugin`, `--quiet`.
 */
export function addSharedRunOptions(cmd: Command, defaults: { out?: string } = {}): Command {
  return cmd
    .addOption(dataRootOption())
    .addOption(encoderBackendOption())
    .option("--batch <n>", "encoder batch size (images, slices or tiles)", boundedInt(1, 4096), 16)
    .option(
      "--seed <n>",
      "seed of every random choice (heads, folds, bootstrap)",
      boundedInt(0, 2 ** 31 - 1),
      0,
    )
    .option(
      "--head-options <json>",
      'head hyperparameters as JSON, e.g. \'{"lr": 0.01, "epochs": 100}\'',
      parseJsonObject,
    )
    .option("--cache <dir>", "feature cache folder, shared between runs (default: OUT/cache)")
    .option("--out <dir>", "output folder", defaults.out ?? "out")
    .addOption(pluginOption())
    .option("--quiet", "no progress output");
}

/** A parser for integers in `[min, max]`. */
export function boundedInt(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `must be an integer in [${min}, ${max}]: current value is "${value}"`,
      );
    }
    return n;
  };
}

/** Parses a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`must be a positive integer: current value is "${value}"`);
  }
  return n;
}

/** Parses a non-negative integer option. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(`must be a non-negative integer: current value is "${value}"`);
  }
  return n;
}

/** Formats bytes as MiB/GiB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

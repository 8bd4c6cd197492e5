/**
 * Shared pieces of the `medprobe` CLI: the registry with `--plugin` modules,
 * printing, option parsers and the options several commands define alike.
 *
 * @module
 */

import { InvalidArgumentError, Option } from "commander";
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

/** `--backend <name>`: the encoder backend of the commands that evaluate. */
export function encoderBackendOption(): Option {
  return new Option("--backend <name>", "encoder backend").choices(["webgpu", "onnx", "auto"])
    .default("auto");
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

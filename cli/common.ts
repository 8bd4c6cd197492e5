/**
 * Shared pieces of the `medprobe` CLI: the registry with `--plugin` modules,
 * printing, and option parsers.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";
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

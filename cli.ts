/**
 * The `medprobe` command.
 *
 * ```sh
 * deno run -A jsr:@medprobe/medprobe/cli --help
 * deno run -A cli.ts demo          # from a checkout
 * ```
 *
 * Permissions: read the data and weights, write the output and cache
 * folders, env (colour and Mesa settings), ffi for onnxruntime-node's native
 * CPU provider, and WebGPU (`--unstable-webgpu` or deno.json's "unstable").
 * No network unless a plugin module is loaded from a URL.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { UsageError } from "./core/errors.ts";
import type { Registry } from "./core/registry.ts";
import { registerInfoCommands } from "./cli/info.ts";
import { registerReportCommand } from "./cli/report.ts";
import { registerEvalCommands } from "./cli/eval.ts";
import { registerDemoCommand } from "./cli/demo.ts";
import { registerEncodeCommands } from "./cli/encode.ts";
import { registerSegmentationCommands } from "./cli/segment.ts";
import { registerSynthCommand } from "./cli/synth.ts";
import { registerOnnxCommands } from "./cli/onnx.ts";
import { registerExtractCommand } from "./cli/extract.ts";
import { registerCacheCommands } from "./cli/cache.ts";
import { registerClusterCommands } from "./cli/cluster.ts";
import { registerStudyCommand } from "./cli/study.ts";
import { registerAgglomerateCommand } from "./cli/agglomerate.ts";
import { loadRegistry, VERSION, warn } from "./cli/common.ts";
import { createDefaultRegistry } from "./plugins/builtin.ts";

/**
 * Builds the command-line program (exported for tests). `registry` gives the
 * task option groups of `eval`, `sweep` and `segment` (built-ins plus the
 * `--plugin` modules).
 */
export function createProgram(registry: Registry = createDefaultRegistry()): Command {
  const program = new Command("medprobe")
    .description(
      "How good are the frozen features of a vision foundation model on your medical data?\n" +
        "DINOv3 on WebGPU (or ONNX on CPU), light heads, the field's metrics.",
    )
    .version(VERSION, "-V, --version")
    .showHelpAfterError()
    .exitOverride();
  registerInfoCommands(program);
  registerDemoCommand(program);
  registerSynthCommand(program);
  registerEvalCommands(program, registry);
  registerSegmentationCommands(program, registry);
  registerEncodeCommands(program);
  registerOnnxCommands(program);
  registerReportCommand(program);
  registerExtractCommand(program);
  registerCacheCommands(program);
  registerClusterCommands(program);
  registerStudyCommand(program);
  registerAgglomerateCommand(program);
  return program;
}

/** The `--plugin` specifiers in raw arguments (`--plugin X` and `--plugin=X`). */
export function pluginSpecs(args: readonly string[]): string[] {
  const specs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] === "--plugin" && i + 1 < args.length) specs.push(args[++i]);
    else if (args[i].startsWith("--plugin=")) specs.push(args[i].slice("--plugin=".length));
  }
  return specs;
}

/**
 * Exit codes: 0 success, 1 a runtime failure, 2 a usage mistake (unknown
 * option or dataset, a head that does not fit the task, a value out of
 * range: the relevant help follows the message), 130 interrupted by Ctrl-C.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

function isInterrupt(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError" ||
    (e as { name?: string })?.name === "AbortError";
}

/** Runs the CLI with arguments (without the program name); returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let program: Command;
  try {
    program = createProgram(await loadRegistry(pluginSpecs(args)));
  } catch (e) {
    warn(`medprobe: ${(e as Error).message}`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...args], { from: "user" });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" ||
          e.code === "commander.help"
        ? EXIT.ok
        : EXIT.usage;
    }
    if (isInterrupt(e)) {
      warn("medprobe: interrupted; features computed so far are in the cache");
      return EXIT.interrupted;
    }
    const message = e instanceof Error ? e.message || e.name : String(e);
    warn(`medprobe: ${message}`);
    if (e instanceof UsageError) {
      const sub = program.commands.find((c) => c.name() === e.help);
      warn("");
      warn((sub ?? program).helpInformation());
      return EXIT.usage;
    }
    if (Deno.env.get("MEDPROBE_DEBUG")) warn((e as Error).stack ?? "");
    return EXIT.failure;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

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
import { VERSION, warn } from "./cli/common.ts";

/** Builds the command-line program (exported for tests). */
export function createProgram(): Command {
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
  registerEvalCommands(program);
  registerSegmentationCommands(program);
  registerEncodeCommands(program);
  registerOnnxCommands(program);
  registerReportCommand(program);
  registerExtractCommand(program);
  registerCacheCommands(program);
  registerClusterCommands(program);
  return program;
}

/** Runs the CLI with arguments (without the program name); returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...args], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" ||
          e.code === "commander.help"
        ? 0
        : (e.exitCode || 1);
    }
    warn(`medprobe: ${(e as Error).message}`);
    if (Deno.env.get("MEDPROBE_DEBUG")) warn((e as Error).stack ?? "");
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * `medprobe list` and `medprobe gpu`.
 *
 * @module
 */

import type { Command } from "commander";
import { PLUGIN_KINDS } from "../core/registry.ts";
import { GpuUnavailableError } from "../core/errors.ts";
import { requestGpu } from "../core/gpu.ts";
import { chooseBackend } from "../plugins/encoders/backend.ts";
import { formatBytes, loadRegistry, pluginOption, say } from "./common.ts";

/** Registers `list` and `gpu`. */
export function registerInfoCommands(program: Command): void {
  program
    .command("list")
    .description("List the registered plugins by kind")
    .addOption(pluginOption())
    .option("--json", "print JSON")
    .action(async (opts: { plugin: string[]; json?: boolean }) => {
      const registry = await loadRegistry(opts.plugin);
      const byKind = Object.fromEntries(
        PLUGIN_KINDS.map((
          k,
        ) => [k, registry.list(k).map((p) => ({ name: p.name, description: p.description }))]),
      );
      if (opts.json) {
        say(JSON.stringify(byKind, null, 2));
        return;
      }
      for (const kind of PLUGIN_KINDS) {
        say(`${kind === "modality" ? "modalities" : kind + "s"}:`);
        const items = byKind[kind];
        if (items.length === 0) say("  (none)");
        for (const p of items) say(`  ${p.name.padEnd(22)} ${p.description}`);
      }
    });

  program
    .command("gpu")
    .description(
      "Show the WebGPU adapter (software or hardware), its limits and features, and the backend auto picks",
    )
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      let report: Record<string, unknown>;
      try {
        const gpu = await requestGpu();
        const limits = gpu.limits;
        const choice = chooseBackend("auto", gpu.info);
        report = {
          adapter: gpu.info,
          features: [...gpu.features].sort(),
          limits: {
            maxBufferSize: limits.maxBufferSize,
            maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
            maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
            maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
            maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
            maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
          },
          backend: choice,
        };
        gpu.destroy();
      } catch (e) {
        if (!(e instanceof GpuUnavailableError)) throw e;
        report = { adapter: null, error: e.message, backend: chooseBackend("auto", undefined) };
      }
      if (opts.json) {
        say(JSON.stringify(report, null, 2));
        return;
      }
      const a = report.adapter as {
        description: string;
        vendor: string;
        architecture: string;
        isSoftware: boolean;
      } | null;
      if (!a) {
        say(`adapter: none\n  ${report.error}`);
      } else {
        say(
          `adapter: ${a.description || "(no description)"} [${
            a.isSoftware ? "software" : "hardware"
          }]`,
        );
        say(`  vendor ${a.vendor || "?"}, architecture ${a.architecture || "?"}`);
        say(`features: ${(report.features as string[]).join(", ") || "(none)"}`);
        const l = report.limits as Record<string, number>;
        say("limits:");
        for (const [k, v] of Object.entries(l)) {
          say(
            `  ${k.padEnd(34)} ${k.includes("Size") && v > 65536 ? `${v} (${formatBytes(v)})` : v}`,
          );
        }
      }
      const b = report.backend as { backend: string; reason: string };
      say(`backend (auto): ${b.backend} — ${b.reason}`);
    });
}

/**
 * `medprobe list` and `medprobe gpu`.
 *
 * @module
 */

import type { Command } from "commander";
import type { DatasetSpec, ModalityPlugin } from "../core/plugin.ts";
import { PLUGIN_KINDS } from "../core/registry.ts";
import { GpuUnavailableError } from "../core/errors.ts";
import { requestGpu } from "../core/gpu.ts";
import { chooseBackend } from "../plugins/encoders/backend.ts";
import { formatBytes, loadRegistry, pluginOption, say } from "./common.ts";

/** One dataset as `list` shows it. */
export interface DatasetListing {
  /** `modality/name`, the id `eval` takes. */
  id: string;
  /** The modality plugin that provides it. */
  modality: string;
  /** One sentence. */
  description: string;
  /** The task plugin that runs it. */
  task: string;
  /** The learning problem. */
  problem: string;
  /** Protocol defaults (adapter, heads, metrics, resolution, feature, splits...). */
  protocol: Record<string, unknown>;
  /** The files and folders the loader expects, as downloaded. */
  layout: string[];
}

/**
 * Every dataset of the registered modalities, ordered by id, with its task,
 * problem, protocol defaults and expected layout.
 *
 * @example The datasets of one modality
 * ```ts ignore
 * const rows = listDatasets([xrayModality]);
 * // rows[0].id === "xray/nih14", rows[0].task === "classification"
 * ```
 */
export function listDatasets(modalities: readonly ModalityPlugin[]): DatasetListing[] {
  const out: DatasetListing[] = [];
  for (const m of modalities) {
    for (const d of m.datasets as readonly DatasetSpec[]) {
      out.push({
        id: `${m.name}/${d.name}`,
        modality: m.name,
        description: d.description,
        task: String(d.task),
        problem: String((d as { problem?: unknown }).problem ?? d.task),
        protocol: JSON.parse(JSON.stringify(d.protocol ?? {})),
        layout: [...(d.layout ?? [])],
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The one-line protocol summary `list` prints under a dataset. */
export function formatProtocolSummary(protocol: Record<string, unknown>): string {
  const p = protocol as {
    adapter?: string;
    heads?: string[];
    metrics?: string[];
    resolution?: number;
    feature?: string;
    trainSplit?: string;
    testSplit?: string;
    folds?: number;
  };
  const parts = [
    p.adapter ? `adapter ${p.adapter}` : "",
    p.heads?.length ? `heads ${p.heads.join(", ")}` : "",
    p.metrics?.length ? `metrics ${p.metrics.join(", ")}` : "",
    p.resolution ? `resolution ${p.resolution}` : "",
    p.feature ? `feature ${p.feature}` : "",
    p.folds
      ? `${p.folds}-fold CV on ${p.trainSplit}`
      : p.trainSplit && p.testSplit
      ? `train ${p.trainSplit} → test ${p.testSplit}`
      : "",
  ];
  return parts.filter(Boolean).join("; ");
}

/** Registers `list` and `gpu`. */
export function registerInfoCommands(program: Command): void {
  program
    .command("list")
    .description(
      "List the registered plugins by kind, then every dataset with its task, protocol and " +
        "expected layout",
    )
    .addOption(pluginOption())
    .option("--json", "print JSON (plugins by kind, and datasets)")
    .action(async (opts: { plugin: string[]; json?: boolean }) => {
      const registry = await loadRegistry(opts.plugin);
      const byKind = Object.fromEntries(
        PLUGIN_KINDS.map((
          k,
        ) => [k, registry.list(k).map((p) => ({ name: p.name, description: p.description }))]),
      );
      const datasets = listDatasets(registry.list("modality") as ModalityPlugin[]);
      if (opts.json) {
        say(JSON.stringify({ ...byKind, datasets }, null, 2));
        return;
      }
      for (const kind of PLUGIN_KINDS) {
        say(`${kind === "modality" ? "modalities" : kind + "s"}:`);
        const items = byKind[kind];
        if (items.length === 0) say("  (none)");
        for (const p of items) say(`  ${p.name.padEnd(22)} ${p.description}`);
      }
      say("datasets (medprobe eval <id> --data DIR):");
      if (datasets.length === 0) say("  (none)");
      for (const d of datasets) {
        say(`  ${d.id.padEnd(22)} ${d.description}`);
        say(`  ${"".padEnd(22)} task ${d.task} (${d.problem})`);
        say(`  ${"".padEnd(22)} protocol: ${formatProtocolSummary(d.protocol)}`);
        d.layout.forEach((line, i) =>
          say(`  ${"".padEnd(22)} ${i === 0 ? "layout:  " : "         "}${line}`)
        );
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

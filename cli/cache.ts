/**
 * `medprobe cache status CACHE` and `medprobe cache merge A B`: what a
 * shared feature cache holds (per namespace: samples present, missing and
 * failed against the shards' job records, shards, writers, size), and the
 * union of two caches (B's files copied into A).
 *
 * Shard files are named by their sample (`core/cache.ts`), so a merge only
 * copies the files A lacks; a file present in both with other bytes (a
 * non-deterministic encoder) is kept as in A and counted as a conflict.
 *
 * @module
 */

import { writeFileAtomic } from "../core/_fs.ts";
import type { Command } from "commander";
import { FEATURE_CACHE_FORMAT, FeatureCache, type FeatureCacheKey } from "../core/cache.ts";
import { FormatError } from "../core/errors.ts";
import { readJobRecords, type ShardJobRecord, writeJobRecord } from "./jobs.ts";
import { formatBytes, say } from "./common.ts";

/** One shard of an extraction as `cache status` reports it. */
export interface ShardStatus {
  /** `"K/N"`. */
  shard: string;
  /** The job record's state. */
  state: string;
  /** Runs so far. */
  attempts: number;
  /** Samples assigned, and how many of them are cached. */
  samples: number;
  /** How many of its samples are in the cache. */
  present: number;
  /** Who ran the last attempt (host, pid, scheduler ids). */
  writer: Record<string, string | number>;
  /** Last update (ISO). */
  updated: string;
}

/** What one namespace of a cache holds. */
export interface NamespaceStatus {
  /** Namespace folder name. */
  namespace: string;
  /** Its key. */
  key: FeatureCacheKey;
  /** Samples with features. */
  present: number;
  /** Samples the job records expect that are neither cached nor failed (null: no job records). */
  missing: string[] | null;
  /** Samples the job records list as unreadable, with reasons. */
  failed: { id: string; reason: string }[];
  /** Shard files. */
  files: number;
  /** Bytes of every file in the namespace. */
  bytes: number;
  /** Leftover temporary files (killed writers). */
  temporaries: number;
  /** Unreadable shard files. */
  problems: string[];
  /** The extraction shards (from `jobs/`). */
  shards: ShardStatus[];
  /** Distinct writers (host:pid) of the last attempts. */
  writers: string[];
}

async function namespaces(root: string): Promise<{ dir: string; key: FeatureCacheKey }[]> {
  const out: { dir: string; key: FeatureCacheKey }[] = [];
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory) continue;
    const path = `${root}/${e.name}/key.json`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    let parsed: { format?: string; key?: FeatureCacheKey };
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new FormatError("Cannot read the cache as key.json is not valid JSON", { path, cause });
    }
    if (parsed.format !== FEATURE_CACHE_FORMAT || !parsed.key) {
      throw new FormatError(`Cannot read the cache as key.json must hold ${FEATURE_CACHE_FORMAT}`, {
        path,
      });
    }
    out.push({ dir: e.name, key: parsed.key });
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

async function folderStats(dir: string): Promise<{ bytes: number; temporaries: number }> {
  let bytes = 0;
  let temporaries = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) {
      const inner = await folderStats(path);
      bytes += inner.bytes;
      temporaries += inner.temporaries;
    } else if (e.isFile) {
      bytes += (await Deno.stat(path)).size;
      if (e.name.endsWith(".tmp")) temporaries++;
    }
  }
  return { bytes, temporaries };
}

/** The status of every namespace under a cache folder. */
export async function cacheStatus(root: string, dataset?: string): Promise<NamespaceStatus[]> {
  const out: NamespaceStatus[] = [];
  for (const { key } of await namespaces(root)) {
    if (dataset !== undefined && key.dataset !== dataset) continue;
    const cache = await FeatureCache.open(root, key, { create: false });
    try {
      const jobs = await readJobRecords(cache.dir);
      const failed = jobs.flatMap((j) => j.failed).filter((f) => !cache.has(f.id));
      const failedIds = new Set(failed.map((f) => f.id));
      const expected = [...new Set(jobs.flatMap((j) => j.samples))];
      const stats = await folderStats(cache.dir);
      out.push({
        namespace: cache.namespace,
        key,
        present: cache.size,
        missing: jobs.length === 0
          ? null
          : cache.missing(expected).filter((id) => !failedIds.has(id)),
        failed,
        files: cache.shards().length,
        bytes: stats.bytes,
        temporaries: stats.temporaries,
        problems: cache.problems.map((p) => `${p.file}: ${p.message}`),
        shards: jobs.map((j) => ({
          shard: j.shard,
          state: j.state,
          attempts: j.attempts,
          samples: j.samples.length,
          present: j.samples.length - cache.missing(j.samples).length,
          writer: j.writer,
          updated: j.updated,
        })),
        writers: [...new Set(jobs.map((j) => `${j.writer.host}:${j.writer.pid}`))],
      });
    } finally {
      cache.close();
    }
  }
  return out;
}

/** What {@linkcode mergeCaches} did in one namespace. */
export interface MergeReport {
  /** Namespace folder name. */
  namespace: string;
  /** Files copied from the source. */
  copied: number;
  /** Files present in both with equal bytes. */
  identical: number;
  /** Files present in both with different bytes (the target's kept). */
  conflicts: string[];
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && !e.name.endsWith(".tmp")) out.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Copies every namespace of `source` into `target` (created when missing):
 * shard files `target` lacks, job records it lacks (or older ones), then
 * rewrites the manifests. Safe while other processes read or write either
 * cache: every file is written atomically.
 */
export async function mergeCaches(
  target: string,
  source: string,
  only?: string,
): Promise<MergeReport[]> {
  const reports: MergeReport[] = [];
  for (const { dir, key } of await namespaces(source)) {
    if (only && dir !== only) continue;
    const into = await FeatureCache.open(target, key);
    const from = `${source}/${dir}`;
    const report: MergeReport = { namespace: dir, copied: 0, identical: 0, conflicts: [] };
    try {
      for (const name of await listFiles(`${from}/shards`)) {
        const bytes = await Deno.readFile(`${from}/shards/${name}`);
        const there = await Deno.readFile(`${into.dir}/shards/${name}`).catch((e) => {
          if (e instanceof Deno.errors.NotFound) return undefined;
          throw e;
        });
        if (there === undefined) {
          await writeFileAtomic(`${into.dir}/shards/${name}`, bytes);
          report.copied++;
        } else if (equalBytes(bytes, there)) report.identical++;
        else report.conflicts.push(`shards/${name}`);
      }
      const mine = new Map((await readJobRecords(into.dir)).map((j) => [j.shard, j]));
      for (const job of await readJobRecords(from)) {
        const have: ShardJobRecord | undefined = mine.get(job.shard);
        if (
          !have || (have.state !== "done" && (job.state === "done" || job.updated > have.updated))
        ) {
          await writeJobRecord(into.dir, job);
        }
      }
      await into.syncManifest();
    } finally {
      into.close();
    }
    reports.push(report);
  }
  return reports;
}

function keyLine(key: FeatureCacheKey): string {
  const res = Array.isArray(key.resolution) ? key.resolution.join("x") : key.resolution;
  return `${key.dataset} · ${key.encoder} · ${res}px · ${key.adapter?.name ?? "-"} · weights ${
    key.weightsSha256.slice(0, 12)
  }`;
}

/** Registers `medprobe cache status` and `medprobe cache merge`. */
export function registerCacheCommands(program: Command): void {
  const cache = program.command("cache").description("Inspect and merge feature caches");
  cache
    .command("status")
    .description(
      "Per namespace: samples present and missing, shards, writers and size",
    )
    .argument("<cache>", "feature cache folder")
    .option("--json", "print the status as JSON")
    .option("--dataset <id>", "only the namespaces of this dataset (modality/dataset)")
    .option("--require-complete", "fail when a job record's sample is neither cached nor failed")
    .action(
      async (root: string, o: { json?: boolean; requireComplete?: boolean; dataset?: string }) => {
        const all = await cacheStatus(root.replace(/\/+$/, ""), o.dataset);
        if (o.json) say(JSON.stringify(all, null, 1));
        else {
          if (all.length === 0) say(`${root}: no feature cache namespace`);
          for (const ns of all) {
            say(`${ns.namespace}  ${keyLine(ns.key)}`);
            const missing = ns.missing === null
              ? "missing unknown (no job records)"
              : `${ns.missing.length} missing`;
            say(
              `  samples: ${ns.present} present, ${missing}, ${ns.failed.length} failed · ${ns.files} files, ${
                formatBytes(ns.bytes)
              }${ns.temporaries ? ` · ${ns.temporaries} temporary files` : ""}${
                ns.problems.length ? ` · ${ns.problems.length} unreadable` : ""
              }`,
            );
            for (const s of ns.shards) {
              const w = Object.entries(s.writer).map(([k, v]) => `${k}=${v}`).join(" ");
              say(
                `  shard ${s.shard.padEnd(7)} ${
                  s.state.padEnd(8)
                } ${s.present}/${s.samples} cached · attempts ${s.attempts} · ${w} · ${s.updated}`,
              );
            }
            if (ns.shards.length) say(`  writers: ${ns.writers.join(", ")}`);
            for (const id of (ns.missing ?? []).slice(0, 20)) say(`  missing: ${id}`);
            if ((ns.missing?.length ?? 0) > 20) say(`  ... ${ns.missing!.length - 20} more`);
          }
        }
        const missing = all.reduce((n, ns) => n + (ns.missing?.length ?? 0), 0);
        if (o.requireComplete && missing > 0) {
          throw new Error(
            `Cannot call the cache complete as every sample of its job records must be cached: ${missing} missing`,
          );
        }
      },
    );
  cache
    .command("merge")
    .description("Copy every feature of cache B into cache A (same keys; A is created if missing)")
    .argument("<a>", "target cache folder")
    .argument("<b>", "source cache folder")
    .option("--namespace <ns>", "merge only this namespace")
    .option("--json", "print the merge report as JSON")
    .action(async (a: string, b: string, o: { namespace?: string; json?: boolean }) => {
      const reports = await mergeCaches(a.replace(/\/+$/, ""), b.replace(/\/+$/, ""), o.namespace);
      if (o.json) say(JSON.stringify(reports, null, 1));
      else {
        for (const r of reports) {
          say(
            `${r.namespace}: ${r.copied} copied, ${r.identical} identical, ${r.conflicts.length} conflicting (kept A's)`,
          );
        }
      }
    });
}

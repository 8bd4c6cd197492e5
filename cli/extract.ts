/**
 * `medprobe extract DATASET --cache DIR [--shard K/N]`: features only, no
 * head. Fills the shared feature cache with a deterministic 1/N of the
 * samples of the protocol's splits (see `core/shard.ts`), exactly as
 * `medprobe eval` would extract them (same cache key), so that an `eval`
 * after the N shards finds every feature cached. Each shard writes its job
 * record (`jobs/shard-K-of-N.json`) for `medprobe cache status`.
 *
 * SIGTERM (SLURM's requeue, preemption or time limit; a Kubernetes pod
 * deletion) and Ctrl-C stop after the current sample, writing the features
 * computed so far; the rerun of the shard computes only what is missing.
 *
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { canonicalJson, FeatureCache, type FeatureCacheKey } from "../core/cache.ts";
import { findDataset, resolveTask } from "../core/experiment.ts";
import { cacheKeyFor, checkSources, extractFeatures } from "../core/extract.ts";
import type { DatasetSpec, Encoder, Sample } from "../core/plugin.ts";
import type { Registry } from "../core/registry.ts";
import { parseShard, selectShard, type ShardSpec } from "../core/shard.ts";
import { readJobRecords, type ShardJobRecord, writeJobRecord, writerIdentity } from "./jobs.ts";
import type { BackendRequest } from "../plugins/encoders/backend.ts";
import {
  dataRootOption,
  encoderBackendOption,
  loadRegistry,
  nonNegativeInt,
  parseJsonObject,
  parseResolution,
  pluginOption,
  positiveInt,
  say,
  VERSION,
  warn,
} from "./common.ts";
import { type OpenedEncoder, openEncoder } from "./encoder.ts";
import { createDecodePool, type DecodePool } from "./decode_pool.ts";
import { createProgress } from "./progress.ts";

/** Options of {@linkcode extractShard} (the flags of `medprobe extract`). */
export interface ExtractCliOptions {
  /** Dataset root. */
  data: string;
  /** Encoder plugin (default: from the weights' config.json). */
  encoder?: string;
  /** Weights folder. */
  weights?: string;
  /** Encoder backend. */
  backend: BackendRequest;
  /** Activation precision. */
  precision?: "f32" | "f16";
  /** Input resolution (default: the protocol's). */
  resolution?: number | [number, number] | "native";
  /** Encoder batch size. */
  batch: number;
  /** Feature cache folder (shared by every shard). */
  cache: string;
  /** This process's shard (default: the whole dataset, 0/1). */
  shard?: ShardSpec;
  /** At most this many samples per split, as `eval --limit`. */
  limit?: number;
  /** Stop at the first unreadable sample. */
  strict?: boolean;
  /** Samples per cache write (what a killed shard loses at most). */
  flushEvery: number;
  /** Decode workers, as `eval --workers` (0: decode on the main thread). @default {2} */
  workers?: number;
  /** Adapter (default: the protocol's), as `eval --adapter`. */
  adapter?: string;
  /** Adapter options merged over the protocol's, as `eval --adapter-options`. */
  adapterOptions?: Record<string, unknown>;
  /** Plugin modules. */
  plugin: string[];
  /** No progress output. */
  quiet?: boolean;
}

function findSpec(registry: Registry, id: string): DatasetSpec {
  return findDataset(registry, id).spec;
}

/**
 * The samples `eval` extracts for a dataset: the protocol's train and test
 * splits (each cut to `limit`), ids unique, in split order.
 */
export function evalSamples(
  spec: DatasetSpec,
  dataset: { splits: readonly string[]; samples(split: string): readonly Sample[] },
  limit?: number,
): Sample[] {
  const seen = new Set<string>();
  const out: Sample[] = [];
  for (const split of new Set([spec.protocol.trainSplit, spec.protocol.testSplit])) {
    if (!dataset.splits.includes(split)) {
      throw new TypeError(
        `Cannot extract as the protocol's split "${split}" must exist: the dataset has ${
          dataset.splits.map((s) => `"${s}"`).join(", ")
        }`,
      );
    }
    const all = dataset.samples(split);
    for (const s of limit ? all.slice(0, limit) : all) {
      if (!seen.has(s.id)) out.push(s);
      seen.add(s.id);
    }
  }
  return out;
}

/**
 * Extracts one shard of a dataset's features into the cache and returns
 * its job record (also written to `jobs/shard-K-of-N.json`).
 */
export async function extractShard(
  registry: Registry,
  datasetId: string,
  o: ExtractCliOptions,
  signal?: AbortSignal,
): Promise<ShardJobRecord> {
  const spec = findSpec(registry, datasetId);
  // Tasks fed with one vector per sample go through core's extraction;
  // tasks that stream samples in chunks through their own `extract`.
  if (registry.get("task", spec.task).input !== "vectors") {
    return await extractChunkedShard(registry, datasetId, o, signal);
  }
  const shard = o.shard ?? { index: 0, count: 1 };
  const protocol = spec.protocol;
  const resolution = o.resolution ?? protocol.resolution;
  const adapterName = o.adapter ?? protocol.adapter;
  const adapter = registry.get("adapter", adapterName).create({
    ...protocol.adapterOptions,
    ...o.adapterOptions,
  });
  const dataset = await spec.open(o.data);
  const samples = selectShard(evalSamples(spec, dataset, o.limit), shard);
  // Where each sample sits in its split, for the decode workers (as eval decodes).
  const where = new Map<string, [string, number]>();
  for (const split of [...dataset.splits].reverse()) {
    dataset.samples(split).forEach((s, i) => where.set(s.id, [split, i]));
  }
  const { encoder } = await openEncoder(registry, o);
  const started = new Date().toISOString();
  let cache: FeatureCache | undefined;
  let pool: DecodePool | undefined;
  try {
    if ((o.workers ?? 2) > 0 && samples.length > 0) {
      pool = await createDecodePool({
        dataset: datasetId,
        root: o.data,
        plugins: o.plugin,
        workers: o.workers ?? 2,
        resize: typeof resolution === "number"
          ? [resolution, resolution]
          : Array.isArray(resolution)
          ? [resolution[0], resolution[1]]
          : undefined,
      });
    }
    cache = await FeatureCache.open(
      o.cache,
      cacheKeyFor({
        dataset: datasetId,
        encoder,
        resolution,
        adapter: { name: adapterName, settings: adapter.settings },
      }),
    );
    const previous = (await readJobRecords(cache.dir)).find((r) =>
      r.shard === `${shard.index}/${shard.count}`
    );
    const record: ShardJobRecord = {
      shard: `${shard.index}/${shard.count}`,
      state: "running",
      attempts: (previous?.attempts ?? 0) + 1,
      samples: samples.map((s) => s.id),
      failed: [],
      computed: 0,
      skipped: 0,
      writer: writerIdentity(),
      started,
      updated: started,
    };
    await writeJobRecord(cache.dir, record);
    const bar = o.quiet ? undefined : createProgress({})(
      `extract ${record.shard}`,
      samples.length,
      "samples",
    );
    try {
      const report = await extractFeatures({
        cache,
        samples,
        adapter,
        context: { encoder, resolution, batchSize: o.batch, signal },
        signal,
        shardSize: o.flushEvery,
        batchSamples: o.batch,
        load: pool ? (s) => pool!.load(...where.get(s.id)!) : undefined,
        onSampleError: (s, error) => {
          if (o.strict) return false;
          record.failed.push({ id: s.id, reason: (error as Error)?.message ?? String(error) });
          return true;
        },
        onProgress: (p) => {
          bar?.update(p.done);
          record.computed = p.computed;
          record.skipped = p.done - p.computed - record.failed.length;
        },
      });
      signal?.throwIfAborted();
      record.computed = report.computed.length;
      record.skipped = report.skipped;
      record.state = "done";
    } catch (e) {
      record.state = "failed";
      record.error = (e as Error)?.message ?? String(e);
      throw e;
    } finally {
      bar?.stop();
      record.updated = new Date().toISOString();
      await writeJobRecord(cache.dir, record);
    }
    return record;
  } finally {
    pool?.close();
    cache?.close();
    encoder.dispose();
  }
}

/**
 * One shard of a task whose samples stream in chunks (segmentation3d:
 * whole volumes per shard), through the task's own `extract`.
 */
async function extractChunkedShard(
  registry: Registry,
  datasetId: string,
  o: ExtractCliOptions,
  signal?: AbortSignal,
): Promise<ShardJobRecord> {
  const spec = findSpec(registry, datasetId);
  const task = registry.get("task", spec.task);
  if (!task.extract) {
    throw new TypeError(
      `Cannot extract "${datasetId}" alone as its task "${spec.task}" has no extraction step (run medprobe eval for it)`,
    );
  }
  const shard = o.shard ?? { index: 0, count: 1 };
  const { encoder } = await openEncoder(registry, o);
  try {
    const { context } = resolveTask(registry, {
      dataset: datasetId,
      root: o.data,
      adapter: o.adapter,
      adapterOptions: o.adapterOptions,
      resolution: o.resolution,
      batchSize: o.batch,
      cacheDir: o.cache,
      out: o.cache,
      strict: o.strict,
      limit: o.limit,
      progress: o.quiet ? undefined : createProgress({}),
      signal,
      version: VERSION,
    }, encoder);
    const started = new Date().toISOString();
    const report = await task.extract(context, (samples) => selectShard(samples, shard));
    const previous = (await readJobRecords(report.cacheDir)).find((r) =>
      r.shard === `${shard.index}/${shard.count}`
    );
    const record: ShardJobRecord = {
      shard: `${shard.index}/${shard.count}`,
      state: "done",
      attempts: (previous?.attempts ?? 0) + 1,
      samples: report.samples,
      failed: report.failed.map((f) => ({ id: f.id, reason: f.reason })),
      computed: report.computed,
      skipped: report.cached,
      writer: writerIdentity(),
      started,
      updated: new Date().toISOString(),
    };
    await writeJobRecord(report.cacheDir, record);
    return record;
  } finally {
    encoder.dispose();
  }
}

/** Parses `--shard K/N` for commander. */
export function shardOption(value: string): ShardSpec {
  try {
    return parseShard(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Registers `medprobe extract`. */
export function registerExtractCommand(program: Command): void {
  program
    .command("extract")
    .description(
      "Extract features only (no head) into a shared cache, optionally one shard K/N of the samples",
    )
    .argument("<dataset>", "modality/dataset, e.g. xray/nih14")
    .addOption(dataRootOption())
    .requiredOption("--cache <dir>", "feature cache folder, shared by every shard")
    .option(
      "--shard <K/N>",
      "extract shard K of N (0 ≤ K < N): a deterministic 1/N of the samples",
      shardOption,
    )
    .option("--encoder <name>", "encoder plugin (default: read from the weights' config.json)")
    .option("--weights <dir>", "weights folder (config.json + model.safetensors)")
    .addOption(encoderBackendOption())
    .addOption(
      new Option("--precision <p>", "activation precision").choices(["f32", "f16"]).default("f32"),
    )
    .option(
      "--resolution <size>",
      "input size: N, HxW or native (default: the protocol's)",
      parseResolution,
    )
    .option("--batch <n>", "encoder batch size", positiveInt, 16)
    .option("--limit <n>", "use at most N samples per split, as eval --limit", positiveInt)
    .option(
      "--flush-every <n>",
      "samples per cache write (a killed shard loses at most this many)",
      positiveInt,
      64,
    )
    .option("--strict", "stop at the first unreadable sample instead of recording it")
    .option("--workers <n>", "decode workers (0: decode on the main thread)", nonNegativeInt, 2)
    .option("--adapter <name>", "adapter plugin, as eval (default: the protocol's)")
    .option("--adapter-options <json>", "adapter options as JSON, as eval", parseJsonObject)
    .addOption(pluginOption())
    .option("--quiet", "no progress output")
    .option("--json", "print the shard's job record as JSON")
    .action(async (datasetId: string, o: ExtractCliOptions & { json?: boolean }) => {
      await runExtractCommand(datasetId, o);
    });
}

/**
 * Runs `medprobe extract` (also `eval --shard K/N`): one shard, stopped
 * cleanly by SIGTERM or Ctrl-C, with a one-line summary (or the job record
 * as JSON).
 */
export async function runExtractCommand(
  datasetId: string,
  o: Omit<ExtractCliOptions, "flushEvery"> & { flushEvery?: number; json?: boolean },
  registry?: Registry,
): Promise<ShardJobRecord> {
  registry ??= await loadRegistry(o.plugin);
  const controller = new AbortController();
  const stop = (name: string) => () => {
    warn(`medprobe: ${name}: writing the features computed so far, then stopping`);
    controller.abort(new DOMException(`interrupted by ${name}`, "AbortError"));
  };
  const handlers = (["SIGTERM", "SIGINT"] as const).map((s) => [s, stop(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    const record = await extractShard(
      registry,
      datasetId,
      { ...o, flushEvery: o.flushEvery ?? 64 },
      controller.signal,
    );
    if (o.json) say(JSON.stringify(record, null, 1));
    else {
      say(
        `shard ${record.shard}: ${record.samples.length} samples, ${record.computed} computed, ${record.skipped} already cached, ${record.failed.length} failed → ${o.cache}`,
      );
    }
    return record;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}

/** What {@linkcode openCachedEncoder} needs: `eval`'s options that fix the cache key and samples. */
export interface FromCacheOptions {
  /** Dataset root (labels and sample ids are read from it). */
  data: string;
  /** Cache folder (default: `OUT/cache`). */
  cache?: string;
  /** Output folder. */
  out: string;
  /** Encoder id to pick among several cached encoders. */
  encoder?: string;
  /** Weights folder: only its config.json is read (patch size, registers) for the record. */
  weights?: string;
  /** Input resolution (default: the protocol's). */
  resolution?: number | [number, number] | "native";
  /** Adapter (default: the protocol's) and its options. */
  adapter?: string;
  /** Adapter options merged over the protocol's. */
  adapterOptions?: Record<string, unknown>;
  /** Options of the dataset's reader. */
  openOptions?: Record<string, unknown>;
  /** At most this many samples per split. */
  limit?: number;
}

/**
 * `eval --from-cache`: an {@linkcode Encoder} that only stands for the cached
 * features of a namespace (its id, weights SHA-256 and preprocessing come
 * from the namespace's key, so the run finds the same cache) and refuses to
 * encode. Before returning, checks that every sample `eval` will use is
 * cached (samples a shard's job record lists as unreadable are left to the
 * run, which records them as failed); otherwise throws, listing the
 * missing ids. Only for tasks fed with vectors (classification).
 */
export async function openCachedEncoder(
  registry: Registry,
  datasetId: string,
  o: FromCacheOptions,
): Promise<OpenedEncoder> {
  const spec = findSpec(registry, datasetId);
  const task = registry.get("task", spec.task);
  if (task.input !== "vectors") {
    throw new TypeError(
      `Cannot fit from the cache as the task must take vectors: task "${spec.task}" takes ${task.input}`,
    );
  }
  const protocol = spec.protocol;
  const adapterName = o.adapter ?? protocol.adapter;
  const adapter = registry.get("adapter", adapterName).create({
    ...protocol.adapterOptions,
    ...o.adapterOptions,
  });
  const resolution = o.resolution ?? protocol.resolution;
  const root = (o.cache ?? `${o.out}/cache`).replace(/\/+$/, "");
  const wanted = canonicalJson({ name: adapterName, settings: adapter.settings });
  const keys: FeatureCacheKey[] = [];
  const entries = await Array.fromAsync(Deno.readDir(root)).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  });
  for (const e of entries) {
    const key: FeatureCacheKey | undefined = await Deno.readTextFile(`${root}/${e.name}/key.json`)
      .then((t) => JSON.parse(t).key, () => undefined);
    if (
      key?.dataset === datasetId && canonicalJson(key.resolution) === canonicalJson(resolution) &&
      canonicalJson(key.adapter) === wanted && (!o.encoder || key.encoder === o.encoder)
    ) keys.push(key);
  }
  if (keys.length !== 1) {
    const found = keys.map((k) => `${k.encoder} (weights ${k.weightsSha256.slice(0, 12)})`);
    throw new TypeError(
      `Cannot fit from the cache as ${root} must hold exactly one namespace of ${datasetId} at ${
        JSON.stringify(resolution)
      } with adapter ${adapterName}${o.encoder ? ` and encoder ${o.encoder}` : ""}: found ${
        found.length ? found.join(", ") + " (choose with --encoder)" : "none"
      }`,
    );
  }
  const key = keys[0];
  const cache = await FeatureCache.open(root, key, { create: false });
  let dim = 0;
  try {
    const dataset = await spec.open(o.data, o.openOptions);
    const failed = new Set(
      (await readJobRecords(cache.dir)).flatMap((j) => j.failed.map((f) => f.id)),
    );
    const samples = evalSamples(spec, dataset, o.limit);
    // Features of files whose content changed since extraction count as missing.
    await checkSources(cache, samples, { kinds: adapter.featureKinds });
    const missing = cache.missing(samples.map((s) => s.id), adapter.featureKinds)
      .filter((id) => !failed.has(id));
    if (missing.length > 0) {
      throw new Error(
        `Cannot fit from the cache as every sample must be cached: ${missing.length} missing from ${cache.dir} (${
          missing.slice(0, 10).join(", ")
        }${
          missing.length > 10 ? ", ..." : ""
        }; features of files changed since extraction count as missing); extract them with medprobe extract, or run eval without --from-cache`,
      );
    }
    const first = cache.ids()[0];
    if (first !== undefined) {
      dim = (await cache.read(first, adapter.featureKinds[0])).shape.at(-1) ?? 0;
    }
  } finally {
    cache.close();
  }
  const config = o.weights
    ? await Deno.readTextFile(`${o.weights.replace(/\/+$/, "")}/config.json`).then(
      JSON.parse,
      () => ({}),
    )
    : {};
  const p = key.preprocessing as { mean?: number[]; std?: number[] };
  const encoder: Encoder = {
    info: {
      id: key.encoder,
      backend: "cache",
      backendReason: "--from-cache: features read from the cache, no encoder run",
      dim,
      patchSize: Number(config.patch_size ?? 0),
      numRegisters: Number(config.num_register_tokens ?? 0),
      weightsSha256: key.weightsSha256,
      precision: "f32",
    },
    preprocess: {
      mean: [p.mean?.[0] ?? 0, p.mean?.[1] ?? 0, p.mean?.[2] ?? 0],
      std: [p.std?.[0] ?? 1, p.std?.[1] ?? 1, p.std?.[2] ?? 1],
      sizeMultiple: Number(config.patch_size ?? 1),
      defaultSize: typeof resolution === "number" ? resolution : 224,
    },
    encode(): Promise<never> {
      return Promise.reject(
        new Error(
          "Cannot encode as eval --from-cache runs without an encoder: this sample is not cached",
        ),
      );
    },
    dispose(): void {},
  };
  return { encoder, meta: { weights: o.weights } };
}

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
import { FeatureCache } from "../core/cache.ts";
import { cacheKeyFor, extractFeatures } from "../core/extract.ts";
import type { DatasetSpec, Sample } from "../core/plugin.ts";
import type { Registry } from "../core/registry.ts";
import {
  parseShard,
  readJobRecords,
  selectShard,
  type ShardJobRecord,
  type ShardSpec,
  writeJobRecord,
  writerIdentity,
} from "../core/shard.ts";
import type { BackendRequest } from "../plugins/encoders/backend.ts";
import {
  dataRootOption,
  encoderBackendOption,
  loadRegistry,
  pluginOption,
  positiveInt,
  say,
  warn,
} from "./common.ts";
import { openEncoder } from "./encoder.ts";
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
  /** Plugin modules. */
  plugin: string[];
  /** No progress output. */
  quiet?: boolean;
}

const CLASSIFICATION = ["classification", "binary", "multilabel", "multiclass"];

function findSpec(registry: Registry, id: string): DatasetSpec {
  const [modality, name] = id.split("/");
  const spec = modality && registry.has("modality", modality)
    ? registry.get("modality", modality).datasets.find((d) => d.name === name)
    : undefined;
  if (!spec) {
    const known = registry.list("modality").flatMap((m) =>
      m.datasets.map((d) => `${m.name}/${d.name}`)
    );
    throw new TypeError(
      `Cannot extract as the dataset must be one of ${known.join(", ")}: current value is "${id}"`,
    );
  }
  return spec;
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
  if (!CLASSIFICATION.includes(spec.task)) {
    throw new TypeError(
      `Cannot extract "${datasetId}" alone as its task must be classification: current task is "${spec.task}" (run medprobe eval for it)`,
    );
  }
  const shard = o.shard ?? { index: 0, count: 1 };
  const protocol = spec.protocol;
  const resolution = o.resolution ?? protocol.resolution;
  const adapter = registry.get("adapter", protocol.adapter).create({ ...protocol.adapterOptions });
  const dataset = await spec.open(o.data);
  const samples = selectShard(evalSamples(spec, dataset, o.limit), shard);
  const { encoder } = await openEncoder(registry, o);
  const started = new Date().toISOString();
  let cache: FeatureCache | undefined;
  try {
    cache = await FeatureCache.open(
      o.cache,
      cacheKeyFor({
        dataset: datasetId,
        encoder,
        resolution,
        adapter: { name: protocol.adapter, settings: adapter.settings },
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
        onSampleError: (s, error) => {
          if (o.strict) return false;
          record.failed.push({ id: s.id, reason: (error as Error)?.message ?? String(error) });
          return true;
        },
        onProgress: (p) => bar?.update(p.done),
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
    cache?.close();
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
      (v) => {
        const m = /^(\d+)(?:x(\d+))?$/.exec(v);
        if (v === "native") return "native";
        if (!m) throw new InvalidArgumentError(`must be N, HxW or native: current value is "${v}"`);
        return m[2] ? [Number(m[1]), Number(m[2])] : Number(m[1]);
      },
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
    .addOption(pluginOption())
    .option("--quiet", "no progress output")
    .option("--json", "print the shard's job record as JSON")
    .action(async (datasetId: string, o: ExtractCliOptions & { json?: boolean }) => {
      const registry = await loadRegistry(o.plugin);
      const controller = new AbortController();
      const stop = (name: string) => () => {
        warn(`medprobe: ${name}: writing the features computed so far, then stopping`);
        controller.abort(new DOMException(`interrupted by ${name}`, "AbortError"));
      };
      const handlers = (["SIGTERM", "SIGINT"] as const).map((s) => [s, stop(s)] as const);
      for (const [s, h] of handlers) Deno.addSignalListener(s, h);
      try {
        const record = await extractShard(registry, datasetId, o, controller.signal);
        if (o.json) say(JSON.stringify(record, null, 1));
        else {
          say(
            `shard ${record.shard}: ${record.samples.length} samples, ${record.computed} computed, ${record.skipped} already cached, ${record.failed.length} failed → ${o.cache}`,
          );
        }
      } finally {
        for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
      }
    });
}

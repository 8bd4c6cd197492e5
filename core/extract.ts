/**
 * The resumable extraction loop: samples → `adapter.extract(data, ctx)` →
 * feature cache, skipping every sample the cache already holds.
 *
 * Features are buffered and written as one shard every `shardSize`
 * samples (or `shardBytes` bytes), atomically (see `core/cache.ts`). A
 * process killed at any point loses only the samples of its unwritten
 * buffer; a rerun recomputes exactly those and the ones never reached.
 * Two processes may extract into the same cache at once: each writes its
 * own shards and re-lists the cache after every shard (and every second), so each skips what
 * the other has already written (a sample both were computing at the same
 * moment is stored twice, identically, and read once).
 *
 * Before anything is skipped, every sample's source files are fingerprinted
 * (`core/fingerprint.ts`: sizes and content hashes, remembered by `stat` in
 * `<cache>/fingerprints/`) and the cache is told to serve only features
 * stored with the same fingerprint ({@linkcode checkSources}): a file whose
 * content changed is recomputed, a missing one is reported as a failed
 * sample, and an identical copy of the data in another folder still hits.
 *
 * @example
 * ```ts ignore
 * import { FeatureCache } from "./cache.ts";
 * import { cacheKeyFor, extractFeatures } from "./extract.ts";
 * const key = cacheKeyFor({ dataset: "xray/nih14", encoder, adapter: { name: "image2d", settings: adapter.settings }, resolution: 224 });
 * const cache = await FeatureCache.open("cache", key);
 * const report = await extractFeatures({ cache, samples, adapter, context: { encoder, resolution: 224, batchSize: 32 } });
 * ```
 *
 * @module
 */

import type { FeatureCache, FeatureCacheKey } from "./cache.ts";
import type {
  Adapter,
  AdapterContext,
  Encoder,
  FeatureRecord,
  Sample,
  SampleData,
} from "./plugin.ts";
import { prefetch } from "./prefetch.ts";
import { FormatError } from "./errors.ts";
import {
  cacheFingerprintMemo,
  type FingerprintMemo,
  fingerprintSample,
  type FingerprintSource,
} from "./fingerprint.ts";

/** How often the loop re-lists the cache for shards of other writers, at most. */
const REFRESH_MS = 1000;

/** Progress of an extraction, after each sample. */
export interface ExtractProgress {
  /** Samples done (cached before, or computed now). */
  done: number;
  /** Samples in the list. */
  total: number;
  /** Samples computed by this call so far. */
  computed: number;
  /** Shards written by this call so far. */
  shards: number;
  /** The sample just computed (undefined for skipped ones). */
  id?: string;
  /** Set when a shard was just written. */
  shard?: string;
}

/** Options of {@linkcode extractFeatures}. */
export interface ExtractOptions {
  /** The cache namespace to fill (its key must describe the encoder and adapter). */
  cache: FeatureCache;
  /** The samples, in order; ids must be unique. */
  samples: readonly Sample[];
  /** Maps decoded samples to features. */
  adapter: Adapter;
  /** The encoder, resolution and batch size the adapter uses. */
  context: AdapterContext;
  /** Samples per shard. @default {64} */
  shardSize?: number;
  /** Also write a shard once its features exceed this many bytes (as f32). @default {64 MiB} */
  shardBytes?: number;
  /** Stops between samples; buffered features are written first. */
  signal?: AbortSignal;
  /** Called after each sample and shard. */
  onProgress?: (progress: ExtractProgress) => void;
  /** Decodes a sample (e.g. in a worker pool). @default {sample.load()} */
  load?: (sample: Sample) => Promise<SampleData>;
  /** Samples decoded ahead of the encoder. @default {2} */
  prefetch?: number;
  /**
   * Samples handed to `adapter.extractBatch` at once, when the adapter has
   * it (2D images share one encoder batch). @default {1}
   */
  batchSamples?: number;
  /**
   * Called when a sample fails to load (`stage` `"load"`) or to extract
   * (`"extract"`). Return true to skip it and go on; false (or no handler)
   * rethrows. A skipped sample is not cached, so a rerun tries it again.
   */
  onSampleError?: (sample: Sample, error: unknown, stage: "load" | "extract") => boolean;
  /**
   * Check each sample's source files against the fingerprint stored with
   * its features ({@linkcode checkSources}); false trusts the cache by
   * sample id alone, as caches did before fingerprints. @default {true}
   */
  fingerprint?: boolean;
  /** Where fingerprints are remembered by `stat`. @default {a memo in `<cache root>/fingerprints`} */
  fingerprintMemo?: FingerprintMemo;
}

/** What {@linkcode extractFeatures} did. */
export interface ExtractReport {
  /** Ids computed by this call, in order. */
  computed: string[];
  /** Samples found in the cache and skipped. */
  skipped: number;
  /** Shards written by this call. */
  shards: string[];
  /** Wall time in seconds. */
  seconds: number;
  /** Ids whose cached features were of other file content (or unfingerprinted), recomputed. */
  stale: string[];
  /** Samples that name no source file, so their cached features could not be checked. */
  unchecked: number;
  /** Seconds spent fingerprinting source files. */
  fingerprintSeconds: number;
}

/** What {@linkcode checkSources} found. */
export interface SourceCheck {
  /** Fingerprint of each sample that names its sources. */
  fingerprints: Map<string, string>;
  /** Samples whose sources are missing or unreadable, with the error. */
  failed: { sample: Sample; error: unknown }[];
  /** Ids with cached features of other content only (they must be recomputed). */
  stale: string[];
  /** Samples naming no source file. */
  unchecked: number;
  /** Wall time in seconds. */
  seconds: number;
}

/**
 * Fingerprints the source files of `samples` (4 at a time) and calls
 * {@linkcode FeatureCache.expect} for each, so that the cache then serves
 * a sample (and its chunks `<id>#…`) only from features stored with the
 * same fingerprint, and stores new ones with it. A sample whose file is
 * missing is returned in `failed` (a `Deno.errors.NotFound` naming the
 * file), never served from the cache. Runners that manage the cache
 * themselves (chunked samples) call this before looking samples up.
 */
export async function checkSources(
  cache: FeatureCache,
  samples: readonly Sample[],
  options: { kinds?: readonly string[]; memo?: FingerprintMemo; signal?: AbortSignal } = {},
): Promise<SourceCheck> {
  const start = performance.now();
  const result: SourceCheck = {
    fingerprints: new Map(),
    failed: [],
    stale: [],
    unchecked: 0,
    seconds: 0,
  };
  let next = 0;
  const work = async () => {
    while (next < samples.length && !options.signal?.aborted) {
      const sample = samples[next++];
      const source = sample as Sample & FingerprintSource;
      try {
        const fp = await fingerprintSample(source, { memo: options.memo });
        if (fp === undefined) {
          result.unchecked++;
          continue;
        }
        result.fingerprints.set(sample.id, fp);
        const stored = cache.storedFingerprints(sample.id);
        cache.expect(sample.id, fp);
        if (stored.length > 0 && !cache.has(sample.id, options.kinds ?? [])) {
          result.stale.push(sample.id);
        }
      } catch (e) {
        const error = e instanceof Deno.errors.NotFound
          ? new Deno.errors.NotFound(
            `Cannot load sample "${sample.id}" as its source file is missing: expected "${
              source.sources?.join('", "') ?? source.path
            }"`,
            { cause: e },
          )
          : e;
        result.failed.push({ sample, error });
      }
    }
  };
  await Promise.all([work(), work(), work(), work()]);
  await options.memo?.flush();
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/**
 * The cache key of an extraction: dataset, encoder id, weights SHA-256,
 * the encoder's preprocessing (plus extra settings), resolution and adapter.
 *
 * @example
 * ```ts
 * import { cacheKeyFor } from "./extract.ts";
 * import assert from "node:assert/strict";
 * const encoder = {
 *   info: { id: "toy", weightsSha256: "ab", backend: "cpu-reference" },
 *   preprocess: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], sizeMultiple: 16, defaultSize: 224 },
 * } as const;
 * const key = cacheKeyFor({ dataset: "xray/demo", encoder, resolution: 224, adapter: { name: "image2d" } });
 * assert.equal(key.encoder, "toy");
 * assert.deepEqual(key.preprocessing.mean, [0.5, 0.5, 0.5]);
 * ```
 */
export function cacheKeyFor(args: {
  dataset: string;
  encoder: Pick<Encoder, "preprocess"> & { info: Pick<Encoder["info"], "id" | "weightsSha256"> };
  resolution: FeatureCacheKey["resolution"];
  adapter?: FeatureCacheKey["adapter"];
  preprocessing?: Readonly<Record<string, unknown>>;
}): FeatureCacheKey {
  const p = args.encoder.preprocess;
  return {
    dataset: args.dataset,
    encoder: args.encoder.info.id,
    weightsSha256: args.encoder.info.weightsSha256,
    preprocessing: { mean: [...p.mean], std: [...p.std], ...args.preprocessing },
    resolution: args.resolution,
    ...(args.adapter ? { adapter: args.adapter } : {}),
  };
}

function checkRecord(id: string, record: FeatureRecord, kinds: readonly string[]): void {
  for (const kind of kinds) {
    if (!(record?.[kind]?.data instanceof Float32Array)) {
      throw new TypeError(
        `Cannot cache the features of sample "${id}" as the adapter must return kind "${kind}": current kinds are ${
          JSON.stringify(Object.keys(record ?? {}))
        }`,
      );
    }
  }
}

/**
 * A `FormatError` naming the sample's file when any value of its features
 * is NaN or ±Infinity (a corrupt input such as a non-numeric DICOM
 * RescaleSlope decodes to non-finite pixels), else undefined.
 */
function findNonFinite(
  sample: Sample,
  record: FeatureRecord,
  kinds: readonly string[],
): FormatError | undefined {
  for (const kind of kinds) {
    const data = record[kind].data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        return new FormatError(
          `Cannot cache the features of sample "${sample.id}" as they must be finite: feature "${kind}" holds ${
            data[i]
          } at index ${i} (the decoded input holds non-finite values)`,
          { path: sample.path ?? sample.id },
        );
      }
    }
  }
  return undefined;
}

/**
 * Extracts the features of every sample missing from the cache and writes
 * them in shards. Safe to interrupt (SIGKILL included) and to run in two
 * processes at once.
 */
export async function extractFeatures(options: ExtractOptions): Promise<ExtractReport> {
  const start = performance.now();
  const { cache, samples, adapter, context } = options;
  const shardSize = options.shardSize ?? 64;
  const shardBytes = options.shardBytes ?? 64 * 1024 * 1024;
  if (!Number.isInteger(shardSize) || shardSize < 1) {
    throw new RangeError(
      `Cannot extract features as shardSize must be a positive integer: current value is ${shardSize}`,
    );
  }
  const ids = new Set<string>();
  for (const s of samples) {
    if (ids.has(s.id)) {
      throw new TypeError(
        `Cannot extract features as sample ids must be unique: "${s.id}" repeats`,
      );
    }
    ids.add(s.id);
  }
  const kinds = adapter.featureKinds;
  const report: ExtractReport = {
    computed: [],
    skipped: 0,
    shards: [],
    seconds: 0,
    stale: [],
    unchecked: 0,
    fingerprintSeconds: 0,
  };
  let buffer: { id: string; features: FeatureRecord }[] = [];
  let bytes = 0;
  let done = 0;
  const progress = (id?: string, shard?: string) =>
    options.onProgress?.({
      done,
      total: samples.length,
      computed: report.computed.length,
      shards: report.shards.length,
      id,
      shard,
    });
  const flush = async () => {
    if (buffer.length === 0) return;
    const file = await cache.put(buffer);
    buffer = [];
    bytes = 0;
    report.shards.push(file);
    progress(undefined, file);
  };
  await cache.refresh();
  let refreshed = performance.now();
  const batchSamples = Math.max(1, options.batchSamples ?? 1);
  const load = options.load ?? ((sample: Sample) => sample.load());
  const fail = (sample: Sample, error: unknown, stage: "load" | "extract") => {
    if (!options.onSampleError?.(sample, error, stage)) throw error;
    done++;
    progress();
  };
  const store = async (sample: Sample, features: FeatureRecord) => {
    checkRecord(sample.id, features, kinds);
    const poisoned = findNonFinite(sample, features, kinds);
    if (poisoned) {
      // Never cached: the sample is recorded as failed with its file.
      fail(sample, poisoned, "extract");
      return;
    }
    const record: FeatureRecord = {};
    for (const kind of kinds) record[kind] = features[kind];
    buffer.push({ id: sample.id, features: record });
    for (const kind of kinds) bytes += record[kind].data.byteLength;
    report.computed.push(sample.id);
    done++;
    progress(sample.id);
    if (buffer.length >= shardSize || bytes >= shardBytes) {
      await flush();
      // Pick up shards other processes wrote meanwhile, to skip their samples.
      await cache.refresh();
      refreshed = performance.now();
    }
  };
  // Extracts a batch; when the batched call fails, retries one by one so
  // that only the failing sample is reported.
  const extractAll = async (batch: { sample: Sample; data: SampleData }[]) => {
    if (batch.length === 0) return;
    if (batch.length > 1 && adapter.extractBatch) {
      let records: FeatureRecord[] | undefined;
      try {
        records = await adapter.extractBatch(batch.map((b) => b.data), context);
      } catch {
        records = undefined;
      }
      if (records) {
        for (let i = 0; i < batch.length; i++) await store(batch[i].sample, records[i]);
        return;
      }
    }
    for (const { sample, data } of batch) {
      let features: FeatureRecord;
      try {
        features = await adapter.extract(data, context);
      } catch (e) {
        if (options.signal?.aborted) throw e;
        fail(sample, e, "extract");
        continue;
      }
      await store(sample, features);
    }
  };
  const unusable = new Set<string>();
  if (options.fingerprint !== false) {
    const memo = options.fingerprintMemo ??
      await cacheFingerprintMemo(cache.root);
    const check = await checkSources(cache, samples, { kinds, memo, signal: options.signal });
    report.stale = check.stale;
    report.unchecked = check.unchecked;
    report.fingerprintSeconds = check.seconds;
    for (const { sample, error } of check.failed) {
      unusable.add(sample.id);
      fail(sample, error, "load");
    }
  }
  try {
    const todo = samples.filter((s) => !unusable.has(s.id) && !cache.has(s.id, kinds));
    report.skipped = samples.length - unusable.size - todo.length;
    done += report.skipped;
    if (report.skipped > 0) progress();
    let batch: { sample: Sample; data: SampleData }[] = [];
    for await (const r of prefetch(todo, (s) => load(s), options.prefetch ?? 2)) {
      if (options.signal?.aborted) break;
      if (performance.now() - refreshed > REFRESH_MS) {
        await cache.refresh();
        refreshed = performance.now();
      }
      if (cache.has(r.item.id, kinds)) {
        // Another process wrote it meanwhile.
        report.skipped++;
        done++;
        progress();
        continue;
      }
      if (r.error !== undefined) {
        fail(r.item, r.error, "load");
        continue;
      }
      batch.push({ sample: r.item, data: r.value as SampleData });
      if (batch.length >= batchSamples) {
        await extractAll(batch);
        batch = [];
      }
    }
    if (!options.signal?.aborted) await extractAll(batch);
    await flush();
  } catch (e) {
    // Keep what was computed before the failure; report the failure itself.
    await flush().catch(() => {});
    throw e;
  }
  await cache.syncManifest();
  report.seconds = (performance.now() - start) / 1000;
  return report;
}

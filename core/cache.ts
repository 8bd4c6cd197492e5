/**
 * The feature cache: encoder features extracted once, on disk, reused by
 * every head and run, safe to share between processes and to interrupt.
 *
 * ## Key
 * Features are keyed by **dataset, sample id, encoder id, SHA-256 of the
 * weights, preprocessing, resolution and feature kind** (plus the adapter
 * name and settings, which also change the features). Everything but the
 * sample id and the kind forms a {@linkcode FeatureCacheKey}; its canonical
 * JSON (keys sorted) hashed with SHA-256 names a *namespace* folder (first
 * 16 hex digits). Inside, each sample has one tensor per feature kind.
 *
 * ## Layout (format version 1)
 * ```
 * <cache>/<namespace>/key.json          {"format": "medprobe-feature-cache", "format_version": 1, "namespace", "key"}
 * <cache>/<namespace>/manifest.json     the key plus every shard: {"file", "samples": [ids], "kinds": [kinds]}
 * <cache>/<namespace>/shards/<sha256(sample id), 32 hex>.safetensors
 * <cache>/<namespace>/jobs/shard-<K>-of-<N>.json   bookkeeping of `medprobe extract --shard` (cli/jobs.ts)
 * ```
 * Each sample is written to its own shard, named by the SHA-256 of its id
 * ({@linkcode sampleShardFile}), so the files depend only on the features,
 * never on which process, shard or batch wrote them: two caches holding
 * the same features are byte-identical (`jobs/` aside) and merge by copying
 * files. (Caches written before held several samples per shard named
 * `<writer>-<seq>`; they are read the same way.)
 * A shard is a safetensors file holding the samples `samples[i]` as tensors
 * named `"<i>/<kind>"` (`"0/cls"`, `"0/patches"`, `"1/cls"`...), F32, or
 * **F16 for dense patch-token maps** (by default every tensor of rank ≥ 3,
 * e.g. `[h, w, C]`; see {@linkcode FeatureCacheOptions.f16}). Its
 * `__metadata__` repeats `namespace`, `samples` and `kinds` (JSON strings),
 * so shards describe themselves and the manifest can always be rebuilt.
 * Shards written with source fingerprints (`core/fingerprint.ts`) also hold
 * `fingerprints`, one per sample (null for none); a sample may then be
 * stored once per fingerprint, and {@linkcode FeatureCache.expect} picks the
 * version matching the current files.
 * Two processes computing one sample at once write the same file name; the
 * rename of the second replaces the first (equal for a deterministic
 * encoder). When an older multi-sample shard also holds the sample, the
 * shard whose file name sorts first wins.
 *
 * ## Crash and concurrency safety
 * - Every file is written to a temporary name in the same folder, flushed
 *   (`fsync`) and renamed over its final name, so a reader never sees a
 *   partial file. A process killed at any point leaves at worst a `*.tmp`
 *   file, which is ignored (and removed after an hour by
 *   {@linkcode FeatureCache.removeStaleTemporaries}).
 * - A shard file is only ever replaced by one with the same features, so
 *   writers need no lock. The manifest is merged without locks: a writer
 *   lists the shard folder, writes the manifest with every shard it found
 *   (sorted: it depends only on the files), lists again and repeats until
 *   nothing new appeared. {@linkcode FeatureCache.put} does this at most
 *   every 30 s, extractions once more at their end. Readers never need the
 *   manifest: they list the folder and read the shards' own metadata.
 *
 * ## Reading the cache from Python
 * ```python
 * import json, numpy as np
 * from safetensors.numpy import load_file        # pip install safetensors numpy
 *
 * ns = "cache/0123456789abcdef"                   # one namespace folder
 * manifest = json.load(open(f"{ns}/manifest.json"))
 * features = {}                                  # sample id -> {kind: float32 array}
 * for shard in sorted(manifest["shards"], key=lambda s: s["file"]):
 *     tensors = load_file(f"{ns}/{shard['file']}")
 *     for i, sample_id in enumerate(shard["samples"]):
 *         features.setdefault(sample_id, {k: tensors[f"{i}/{k}"].astype(np.float32)
 *                                         for k in shard["kinds"]})
 * ```
 * Without the safetensors package, numpy alone reads a shard:
 * ```python
 * def read_shard(path):
 *     with open(path, "rb") as f:
 *         n = int.from_bytes(f.read(8), "little")
 *         header = json.loads(f.read(n))
 *         data = f.read()
 *     types = {"F32": np.float32, "F16": np.float16}
 *     return {name: np.frombuffer(data[t["data_offsets"][0]:t["data_offsets"][1]],
 *                                 dtype=types[t["dtype"]]).reshape(t["shape"])
 *             for name, t in header.items() if name != "__metadata__"}
 * ```
 * `docs/feature_cache.md` has the same, with the key fields.
 *
 * File access needs `--allow-read` and `--allow-write` on the cache folder.
 *
 * @example
 * ```ts ignore
 * import { FeatureCache } from "./cache.ts";
 * const cache = await FeatureCache.open("cache", key);
 * await cache.put([{ id: "img1", features: { cls } }]);
 * const record = await cache.get("img1");
 * cache.close();
 * ```
 *
 * @module
 */

import {
  encodeSafetensors,
  SafetensorsFile,
  type TensorToWrite,
  toFloat32,
} from "./safetensors.ts";
import { createHash } from "node:crypto";
import { FormatError } from "./errors.ts";
import { f32ToF16, formatShape, type HostTensor, numel } from "./tensor.ts";
import type { FeatureRecord } from "./plugin.ts";
import { writeFileAtomic } from "./_fs.ts";

/** Age after which a `*.tmp` file in the cache is a killed writer's leftover (removed on open). */
const STALE_TEMPORARY_AGE_MS = 10 * 60_000;

/** The format name written in `key.json`, the manifest and every shard. */
export const FEATURE_CACHE_FORMAT = "medprobe-feature-cache";
/** The layout version described in this module's documentation. */
export const FEATURE_CACHE_VERSION = 1;

/** What identifies a set of features, apart from the sample id and feature kind. */
export interface FeatureCacheKey {
  /** Dataset id, e.g. `"xray/nih14"`. */
  readonly dataset: string;
  /** Encoder plugin id, e.g. `"dinov3-vits16"`. */
  readonly encoder: string;
  /** SHA-256 of the weight files, hex. */
  readonly weightsSha256: string;
  /** Every preprocessing setting (mean, std, resize method...). */
  readonly preprocessing: Readonly<Record<string, unknown>>;
  /** Input resolution: square side, `[H, W]`, or `"native"`. */
  readonly resolution: number | readonly [number, number] | "native";
  /** The adapter and its settings, which also change the features. */
  readonly adapter?: {
    readonly name: string;
    readonly settings?: Readonly<Record<string, unknown>>;
  };
}

/** One sample's features, to store. */
export interface CacheEntry {
  /** The sample id (unique within the dataset). */
  readonly id: string;
  /** Its features by kind. */
  readonly features: FeatureRecord;
  /** The fingerprint of its source files (`core/fingerprint.ts`), stored beside the features. */
  readonly fingerprint?: string;
}

/** Options of {@linkcode FeatureCache.open}. */
export interface FeatureCacheOptions {
  /**
   * Which tensors are stored as F16: the named kinds, or a predicate.
   * Default: every tensor of rank ≥ 3 (dense patch-token maps).
   */
  f16?: readonly string[] | ((kind: string, shape: readonly number[]) => boolean);
  /** Create the namespace when missing. @default {true} */
  create?: boolean;
}

/** A tensor as stored: dtype, shape and raw little-endian bytes. */
export interface RawTensor {
  /** `"F32"` or `"F16"`. */
  dtype: string;
  /** Shape. */
  shape: number[];
  /** The bytes exactly as in the shard. */
  bytes: Uint8Array;
}

/**
 * The shard file of one sample, relative to the namespace folder:
 * `shards/` + the first 32 hex digits of the SHA-256 of the id (of
 * `id + "\0" + fingerprint` for features stored with a source fingerprint,
 * so each version has its own file).
 *
 * @example
 * ```ts
 * import { sampleShardFile } from "./cache.ts";
 * import assert from "node:assert/strict";
 * assert.match(sampleShardFile("img/0001.png"), /^shards\/[0-9a-f]{32}\.safetensors$/);
 * assert.equal(sampleShardFile("a"), sampleShardFile("a"));
 * ```
 */
export function sampleShardFile(id: string, fingerprint?: string): string {
  const name = fingerprint === undefined ? id : `${id}\0${fingerprint}`;
  return `shards/${createHash("sha256").update(name).digest("hex").slice(0, 32)}.safetensors`;
}

/** A shard as listed in the manifest. */
export interface ShardInfo {
  /** Path relative to the namespace folder ({@linkcode sampleShardFile}). */
  readonly file: string;
  /** Sample ids, in tensor-name order. */
  readonly samples: readonly string[];
  /** Feature kinds stored for every sample. */
  readonly kinds: readonly string[];
  /** Source fingerprint of each sample (null: none), when the shard stores them. */
  readonly fingerprints?: readonly (string | null)[];
}

/** A shard that could not be read (listed in {@linkcode FeatureCache.problems}). */
export interface ShardProblem {
  /** Path relative to the namespace folder. */
  readonly file: string;
  /** Why it was skipped. */
  readonly message: string;
}

/** Canonical JSON: object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * The namespace folder name of a key: the first 16 hex digits of the
 * SHA-256 of its canonical JSON.
 *
 * @example
 * ```ts
 * import { namespaceOf } from "./cache.ts";
 * import assert from "node:assert/strict";
 * const key = { dataset: "d", encoder: "e", weightsSha256: "00", preprocessing: { a: 1, b: 2 }, resolution: 224 };
 * const same = { ...key, preprocessing: { b: 2, a: 1 } };
 * assert.equal(await namespaceOf(key), await namespaceOf(same));
 * assert.notEqual(await namespaceOf(key), await namespaceOf({ ...key, resolution: 256 }));
 * ```
 */
export async function namespaceOf(key: FeatureCacheKey): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(canonicalJson(key)),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(
    0,
    16,
  );
}

/** Checks a key's fields (TypeError naming the field). */
export function checkCacheKey(key: FeatureCacheKey): void {
  for (const field of ["dataset", "encoder", "weightsSha256"] as const) {
    if (typeof key?.[field] !== "string" || key[field] === "") {
      throw new TypeError(
        `Cannot open the feature cache as key.${field} must be a non-empty string: current value is ${
          JSON.stringify(key?.[field])
        }`,
      );
    }
  }
  if (typeof key.preprocessing !== "object" || key.preprocessing === null) {
    throw new TypeError("Cannot open the feature cache as key.preprocessing must be an object");
  }
  const r = key.resolution;
  const ok = r === "native" || (typeof r === "number" && Number.isInteger(r) && r > 0) ||
    (Array.isArray(r) && r.length === 2 && r.every((v) => Number.isInteger(v) && v > 0));
  if (!ok) {
    throw new TypeError(
      `Cannot open the feature cache as key.resolution must be a positive integer, [H, W] or "native": current value is ${
        JSON.stringify(r)
      }`,
    );
  }
}

interface Location {
  shard: ShardInfo;
  index: number;
}

const SHARD_PATTERN = /^[A-Za-z0-9_-]+\.safetensors$/;

/**
 * One namespace of a feature cache folder: the features of one dataset
 * extracted by one encoder (weights, preprocessing, resolution, adapter).
 * Open it with {@linkcode FeatureCache.open}.
 */
export class FeatureCache {
  /** The cache root folder. */
  readonly root: string;
  /** The key of this namespace. */
  readonly key: FeatureCacheKey;
  /** The namespace folder name. */
  readonly namespace: string;
  /** Shards that could not be read; their samples count as missing. */
  readonly problems: ShardProblem[] = [];
  #options: FeatureCacheOptions;
  #manifestAt = -Infinity;
  #shards = new Map<string, ShardInfo>();
  #index = new Map<string, Location>();
  /** Every stored version of a sample, by fingerprint ("" for none). */
  #versions = new Map<string, Map<string, Location>>();
  /** The fingerprint reads must match, per sample id (see {@linkcode FeatureCache.expect}). */
  #expected = new Map<string, string>();
  #open = new Map<string, SafetensorsFile>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    root: string,
    key: FeatureCacheKey,
    namespace: string,
    options: FeatureCacheOptions,
  ) {
    this.root = root;
    this.key = key;
    this.namespace = namespace;
    this.#options = options;
  }

  /**
   * Opens (and by default creates) the namespace of `key` under `root`,
   * and indexes every readable shard.
   *
   * @throws {FormatError} when `key.json` exists but holds another key or format.
   */
  static async open(
    root: string,
    key: FeatureCacheKey,
    options: FeatureCacheOptions = {},
  ): Promise<FeatureCache> {
    checkCacheKey(key);
    const ns = await namespaceOf(key);
    const cache = new FeatureCache(root.replace(/\/+$/, "") || "/", key, ns, options);
    const keyPath = `${cache.dir}/key.json`;
    let existing: string | undefined;
    try {
      existing = await Deno.readTextFile(keyPath);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      if (options.create === false) {
        throw new Deno.errors.NotFound(
          `Cannot open the feature cache as ${cache.dir} does not exist`,
          { cause: e },
        );
      }
    }
    if (existing !== undefined) {
      let parsed: { format?: string; format_version?: number; key?: unknown };
      try {
        parsed = JSON.parse(existing);
      } catch (cause) {
        throw new FormatError("Cannot open the feature cache as key.json is not valid JSON", {
          path: keyPath,
          cause,
        });
      }
      if (
        parsed.format !== FEATURE_CACHE_FORMAT || parsed.format_version !== FEATURE_CACHE_VERSION ||
        canonicalJson(parsed.key) !== canonicalJson(key)
      ) {
        throw new FormatError(
          `Cannot open the feature cache as key.json must hold ${FEATURE_CACHE_FORMAT} version ${FEATURE_CACHE_VERSION} with the requested key`,
          { path: keyPath },
        );
      }
    } else {
      await Deno.mkdir(`${cache.dir}/shards`, { recursive: true });
      await writeFileAtomic(keyPath, cache.#json(cache.#header()));
    }
    await Deno.mkdir(`${cache.dir}/shards`, { recursive: true });
    // A killed run's temporary files: removed at the start of the next one.
    await cache.removeStaleTemporaries(STALE_TEMPORARY_AGE_MS).catch(() => 0);
    await cache.refresh();
    return cache;
  }

  /** The namespace folder. */
  get dir(): string {
    return `${this.root}/${this.namespace}`;
  }

  /** Number of samples with features. */
  get size(): number {
    return this.#index.size;
  }

  /** Ids of every cached sample, sorted. */
  ids(): string[] {
    return [...this.#index.keys()].sort();
  }

  /** Every indexed shard, sorted by file name. */
  shards(): ShardInfo[] {
    return [...this.#shards.values()].sort((a, b) => (a.file < b.file ? -1 : 1));
  }

  /** The ids in `ids` without every kind in `kinds`, in order (what an extraction must still do). */
  missing(ids: Iterable<string>, kinds: readonly string[] = []): string[] {
    return [...ids].filter((id) => !this.has(id, kinds));
  }

  /**
   * True when the sample has every kind in `kinds` (any kind when empty);
   * with a `fingerprint` (or one set by {@linkcode FeatureCache.expect}),
   * only features stored with that fingerprint count.
   */
  has(id: string, kinds: readonly string[] = [], fingerprint?: string): boolean {
    const loc = this.#find(id, fingerprint);
    return loc !== undefined && kinds.every((k) => loc.shard.kinds.includes(k));
  }

  /**
   * Makes every later read and `has` of sample `id` (and of its chunks,
   * ids `<id>#…`) on this instance see only features stored with
   * `fingerprint` (the current content of its source files), never those of
   * other content under the same id; `put` stores their new features with it.
   */
  expect(id: string, fingerprint: string): void {
    this.#expected.set(id, fingerprint);
  }

  /** The fingerprints stored for sample `id` (null for features stored without one). */
  storedFingerprints(id: string): (string | null)[] {
    return [...(this.#versions.get(id)?.keys() ?? [])].map((f) => f || null);
  }

  /** The expected fingerprint of `id`, or of `<id>` for a chunk `<id>#…` (longest such prefix). */
  #expectedFor(id: string): string | undefined {
    if (this.#expected.size === 0) return undefined;
    for (let end = id.length; end > 0; end = id.lastIndexOf("#", end - 1)) {
      const fp = this.#expected.get(id.slice(0, end));
      if (fp !== undefined) return fp;
    }
    return undefined;
  }

  #find(id: string, fingerprint?: string): Location | undefined {
    const fp = fingerprint ?? this.#expectedFor(id);
    return fp === undefined ? this.#index.get(id) : this.#versions.get(id)?.get(fp);
  }

  /**
   * Lists the shard folder and indexes shards not seen yet (written by other
   * processes, or by one that died before updating the manifest). Returns
   * the number of new shards.
   */
  async refresh(): Promise<number> {
    let added = 0;
    const names: string[] = [];
    for await (const e of Deno.readDir(`${this.dir}/shards`)) {
      if (e.isFile && SHARD_PATTERN.test(e.name)) names.push(`shards/${e.name}`);
    }
    const known = new Set(this.problems.map((p) => p.file));
    const todo = names.sort().filter((f) => !this.#shards.has(f) && !known.has(f));
    // 32 headers in flight: a network file system's latency overlaps (one file per sample).
    for (let i = 0; i < todo.length; i += 32) {
      const infos = await Promise.all(
        todo.slice(i, i + 32).map((f) => this.#readShardInfo(f).catch((e) => e as Error)),
      );
      infos.forEach((info, j) => {
        if (info instanceof FormatError) {
          this.problems.push({ file: todo[i + j], message: info.message });
        } else if (info instanceof Error) throw info;
        else {
          this.#add(info);
          added++;
        }
      });
    }
    return added;
  }

  async #readShardInfo(file: string): Promise<ShardInfo> {
    const path = `${this.dir}/${file}`;
    const st = await SafetensorsFile.open(path);
    try {
      const meta = st.header.metadata;
      if (meta.format !== FEATURE_CACHE_FORMAT || meta.namespace !== this.namespace) {
        throw new FormatError(
          `Cannot read shard as its metadata must name ${FEATURE_CACHE_FORMAT} namespace ${this.namespace}`,
          { path },
        );
      }
      let samples: unknown;
      let kinds: unknown;
      try {
        samples = JSON.parse(meta.samples);
        kinds = JSON.parse(meta.kinds);
      } catch (cause) {
        throw new FormatError("Cannot read shard as its samples/kinds metadata is not JSON", {
          path,
          cause,
        });
      }
      if (
        !Array.isArray(samples) || !Array.isArray(kinds) ||
        !samples.every((s) => typeof s === "string") || !kinds.every((k) => typeof k === "string")
      ) {
        throw new FormatError("Cannot read shard as samples and kinds must be lists of strings", {
          path,
        });
      }
      for (let i = 0; i < samples.length; i++) {
        for (const k of kinds) st.info(`${i}/${k}`);
      }
      if (meta.fingerprints === undefined) return { file, samples, kinds };
      let fingerprints: unknown;
      try {
        fingerprints = JSON.parse(meta.fingerprints);
      } catch (cause) {
        throw new FormatError("Cannot read shard as its fingerprints metadata is not JSON", {
          path,
          cause,
        });
      }
      if (
        !Array.isArray(fingerprints) || fingerprints.length !== samples.length ||
        !fingerprints.every((f) => f === null || typeof f === "string")
      ) {
        throw new FormatError(
          "Cannot read shard as fingerprints must list a string or null per sample",
          { path },
        );
      }
      return { file, samples, kinds, fingerprints };
    } finally {
      st.close();
    }
  }

  #add(shard: ShardInfo): void {
    this.#shards.set(shard.file, shard);
    shard.samples.forEach((id, index) => {
      const prev = this.#index.get(id);
      if (!prev || shard.file < prev.shard.file) this.#index.set(id, { shard, index });
      const fp = shard.fingerprints?.[index] ?? "";
      const versions = this.#versions.get(id) ?? new Map<string, Location>();
      const old = versions.get(fp);
      if (!old || shard.file < old.shard.file) versions.set(fp, { shard, index });
      this.#versions.set(id, versions);
    });
  }

  #header(): Record<string, unknown> {
    return {
      format: FEATURE_CACHE_FORMAT,
      format_version: FEATURE_CACHE_VERSION,
      namespace: this.namespace,
      key: JSON.parse(canonicalJson(this.key)),
    };
  }

  #json(value: unknown): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(value, null, 1) + "\n");
  }

  #isF16(kind: string, shape: readonly number[]): boolean {
    const f16 = this.#options.f16;
    if (f16 === undefined) return shape.length >= 3;
    return typeof f16 === "function" ? f16(kind, shape) : f16.includes(kind);
  }

  /**
   * Writes `entries` (all with the same feature kinds), one shard file per
   * sample ({@linkcode sampleShardFile}), and merges the manifest at most
   * every 30 s. Callers skip samples already cached
   * ({@linkcode FeatureCache.has}); a duplicate rewrites the same file.
   * Returns the first entry's file (relative to the namespace folder).
   * Writes of one instance are serialised.
   */
  put(entries: readonly CacheEntry[]): Promise<string> {
    // A poisoned entry cannot exist: NaN/Infinity features are refused
    // before anything is written (the caller records the sample as failed).
    for (const entry of entries) {
      for (const [kind, t] of Object.entries(entry.features ?? {})) {
        const data = t?.data;
        if (!(data instanceof Float32Array)) continue;
        for (let i = 0; i < data.length; i++) {
          if (!Number.isFinite(data[i])) {
            return Promise.reject(
              new TypeError(
                `Cannot cache the features of "${entry.id}" as they must be finite: kind "${kind}" holds ${
                  data[i]
                } at index ${i}`,
              ),
            );
          }
        }
      }
    }
    const run = this.#queue.then(() => this.#put(entries));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #put(entries: readonly CacheEntry[]): Promise<string> {
    if (entries.length === 0) {
      throw new RangeError("Cannot write a cache shard as it must hold at least one sample");
    }
    const kinds = Object.keys(entries[0].features).sort();
    const seen = new Set<string>();
    const shards = entries.map((entry) => {
      if (typeof entry.id !== "string" || seen.has(entry.id)) {
        throw new TypeError(
          `Cannot write a cache shard as sample ids must be unique strings: current id is ${
            JSON.stringify(entry.id)
          }`,
        );
      }
      seen.add(entry.id);
      const own = Object.keys(entry.features).sort();
      if (own.join("\n") !== kinds.join("\n")) {
        throw new TypeError(
          `Cannot write a cache shard as every sample must have kinds ${
            JSON.stringify(kinds)
          }: sample "${entry.id}" has ${JSON.stringify(own)}`,
        );
      }
      const tensors: Record<string, TensorToWrite> = {};
      for (const kind of kinds) {
        const t = entry.features[kind];
        if (!(t?.data instanceof Float32Array) || t.data.length !== numel(t.shape)) {
          throw new TypeError(
            `Cannot write a cache shard as feature "${kind}" of sample "${entry.id}" must be a float32 tensor of its shape ${
              formatShape(t?.shape ?? [])
            }`,
          );
        }
        tensors[`0/${kind}`] = this.#isF16(kind, t.shape)
          ? { dtype: "F16", shape: t.shape, data: f32ToF16(t.data) }
          : { dtype: "F32", shape: t.shape, data: t.data };
      }
      const fp = entry.fingerprint ?? this.#expectedFor(entry.id);
      const bytes = encodeSafetensors(tensors, {
        format: FEATURE_CACHE_FORMAT,
        namespace: this.namespace,
        samples: JSON.stringify([entry.id]),
        kinds: JSON.stringify(kinds),
        ...(fp === undefined ? {} : { fingerprints: JSON.stringify([fp]) }),
      });
      const file = sampleShardFile(entry.id, fp);
      const info: ShardInfo = { file, samples: [entry.id], kinds };
      return { info: fp === undefined ? info : { ...info, fingerprints: [fp] }, bytes };
    });
    // Up to 8 files in flight: their fsyncs overlap.
    for (let i = 0; i < shards.length; i += 8) {
      await Promise.all(
        shards.slice(i, i + 8).map((s) => writeFileAtomic(`${this.dir}/${s.info.file}`, s.bytes)),
      );
    }
    for (const s of shards) this.#add(s.info);
    if (performance.now() - this.#manifestAt > 30_000) await this.syncManifest();
    return shards[0].info.file;
  }

  /**
   * Rewrites `manifest.json` with every shard in the folder, repeating
   * until a listing after the write finds nothing new (the lock-free merge
   * described in the module documentation).
   */
  async syncManifest(): Promise<void> {
    this.#manifestAt = performance.now();
    await this.refresh();
    for (let round = 0; round < 100; round++) {
      const manifest = { ...this.#header(), shards: this.shards() };
      await writeFileAtomic(`${this.dir}/manifest.json`, this.#json(manifest));
      if ((await this.refresh()) === 0) return;
    }
  }

  async #file(shard: ShardInfo): Promise<SafetensorsFile> {
    let f = this.#open.get(shard.file);
    if (!f) {
      if (this.#open.size >= 8) {
        const [oldest, handle] = this.#open.entries().next().value!;
        handle.close();
        this.#open.delete(oldest);
      }
      f = await SafetensorsFile.open(`${this.dir}/${shard.file}`);
      this.#open.set(shard.file, f);
    }
    return f;
  }

  #locate(id: string, kind?: string): Location {
    const loc = this.#find(id);
    if (!loc || (kind !== undefined && !loc.shard.kinds.includes(kind))) {
      throw new Deno.errors.NotFound(
        `Cannot read features of sample "${id}"${
          kind ? ` (kind "${kind}")` : ""
        } as the cache ${this.dir} does not hold them${
          this.#expectedFor(id) !== undefined ? " for the current content of its source files" : ""
        }`,
      );
    }
    return loc;
  }

  /** The stored bytes of one feature, exactly as in the shard. */
  async readRaw(id: string, kind: string): Promise<RawTensor> {
    const loc = this.#locate(id, kind);
    const f = await this.#file(loc.shard);
    const name = `${loc.index}/${kind}`;
    const info = f.info(name);
    return { dtype: info.dtype, shape: [...info.shape], bytes: await f.readBytes(name) };
  }

  /** One feature of one sample, as float32 (F16 maps are widened exactly). */
  async read(id: string, kind: string): Promise<HostTensor> {
    const loc = this.#locate(id, kind);
    const f = await this.#file(loc.shard);
    const name = `${loc.index}/${kind}`;
    const info = f.info(name);
    return { data: toFloat32(info.dtype, await f.read(name)), shape: [...info.shape] };
  }

  /** Every feature kind of one sample. */
  async get(id: string): Promise<FeatureRecord> {
    const loc = this.#locate(id);
    const out: FeatureRecord = {};
    for (const kind of loc.shard.kinds) out[kind] = await this.read(id, kind);
    return out;
  }

  /**
   * Stacks one feature kind of many samples into `[N, ...shape]` (for the
   * linear and k-NN heads). Every sample must have the same shape.
   */
  async stack(ids: readonly string[], kind: string): Promise<HostTensor> {
    if (ids.length === 0) throw new RangeError("Cannot stack features as ids must not be empty");
    const first = await this.read(ids[0], kind);
    const size = first.data.length;
    const out = new Float32Array(ids.length * size);
    out.set(first.data);
    for (let i = 1; i < ids.length; i++) {
      const t = await this.read(ids[i], kind);
      if (formatShape(t.shape) !== formatShape(first.shape)) {
        throw new TypeError(
          `Cannot stack features "${kind}" as every sample must have shape ${
            formatShape(first.shape)
          }: sample "${ids[i]}" has ${formatShape(t.shape)}`,
        );
      }
      out.set(t.data, i * size);
    }
    return { data: out, shape: [ids.length, ...first.shape] };
  }

  /**
   * Removes `*.tmp` files older than `maxAgeMs` (left by killed writers).
   * Returns how many were removed. @default maxAgeMs 1 hour
   */
  async removeStaleTemporaries(maxAgeMs = 3_600_000): Promise<number> {
    let removed = 0;
    for (const dir of [this.dir, `${this.dir}/shards`]) {
      for await (const e of Deno.readDir(dir)) {
        if (!e.isFile || !e.name.endsWith(".tmp")) continue;
        const path = `${dir}/${e.name}`;
        const st = await Deno.stat(path).catch(() => undefined);
        if (st?.mtime && Date.now() - st.mtime.getTime() > maxAgeMs) {
          await Deno.remove(path).catch(() => {});
          removed++;
        }
      }
    }
    return removed;
  }

  /** Closes open shard files. */
  close(): void {
    for (const f of this.#open.values()) f.close();
    this.#open.clear();
  }
}

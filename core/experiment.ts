/**
 * The experiment services every task plugin shares, written once: dataset
 * lookup and protocol resolution (with the fit checks that make a wrong
 * `--head` fail before any extraction), stage timing, failure records,
 * feature extraction into the cache (whole samples or streamed chunks),
 * patient-level splits and folds with fold files, atomic result writing and
 * {@linkcode runTask}, the one entry point from a request to a result.
 *
 * ```
 * resolveTask(registry, request) → task + TaskContext (checked, no work done)
 *   → task.run(ctx): open → extractSplits / cacheChunks → head → metrics
 *   → writeResult(out, record, files)
 * ```
 *
 * Uses `Deno.*` for files (the cache, the output folder).
 *
 * @module
 */

import { FeatureCache, type RawTensor } from "./cache.ts";
import { writeFileAtomic, writeTextFileAtomic } from "./_fs.ts";
import { UsageError } from "./errors.ts";
import { cacheKeyFor, extractFeatures } from "./extract.ts";
import type {
  Adapter,
  AdapterContext,
  DatasetSpec,
  Encoder,
  FitProgress,
  Head,
  ModalityPlugin,
  PluginLookup,
  ProgressFactory,
  Sample,
  SampleData,
  TaskContext,
  TaskOption,
  TaskPlugin,
} from "./plugin.ts";
import { checkTaskFit, pluginsFitting } from "./registry.ts";
import {
  type FailedSample,
  formatResultRecord,
  type ResultRecord,
  type StageTiming,
} from "./result.ts";
import { createMulberry32, shuffle } from "./random.ts";
import { concatAxis, type HostTensor } from "./tensor.ts";

// ------------------------------------------------------------ datasets --

/** Every dataset id the registry knows, `modality/name`. */
export function datasetIds(registry: PluginLookup): string[] {
  return registry.list("modality").flatMap((m) => m.datasets.map((d) => `${m.name}/${d.name}`));
}

/**
 * Finds a dataset by `modality/name`; an unknown id is a {@linkcode UsageError}
 * listing every known dataset.
 */
export function findDataset(
  registry: PluginLookup,
  id: string,
): { modality: ModalityPlugin; spec: DatasetSpec } {
  const [modalityName, name, ...rest] = id.split("/");
  const modality = modalityName && registry.has("modality", modalityName)
    ? registry.get("modality", modalityName)
    : undefined;
  const spec = rest.length === 0 ? modality?.datasets.find((d) => d.name === name) : undefined;
  if (!modality || !spec) {
    throw new UsageError(
      `Cannot find dataset "${id}" as it must be modality/name of a registered dataset: datasets are ${
        datasetIds(registry).join(", ")
      }`,
    );
  }
  return { modality, spec };
}

// ------------------------------------------------------------- requests --

/** What a caller asks for; everything but the dataset defaults to the protocol. */
export interface TaskRequest {
  /** `modality/dataset`. */
  dataset: string;
  /** Dataset root folder, as downloaded. */
  root: string;
  /** Options for the dataset's `open`. */
  openOptions?: Record<string, unknown>;
  /** Head plugin (default: the protocol's first). */
  head?: string;
  /** Head options merged over the protocol's. */
  headOptions?: Record<string, unknown>;
  /** Where heads train. @default {"auto"} */
  headBackend?: "auto" | "webgpu" | "cpu";
  /** Adapter plugin (default: the protocol's). */
  adapter?: string;
  /** Adapter options merged over the protocol's. */
  adapterOptions?: Record<string, unknown>;
  /** Feature kind (default: the protocol's). */
  feature?: string;
  /** Metric names (default: the protocol's). */
  metrics?: string[];
  /** Encoder input resolution (default: the protocol's). */
  resolution?: number | [number, number] | "native";
  /** Encoder batch size. @default {16} */
  batchSize?: number;
  /** Seed. @default {0} */
  seed?: number;
  /** Bootstrap resamples. @default {1000} */
  bootstrap?: number;
  /** Feature cache folder. @default {`${out}/cache`} */
  cacheDir?: string;
  /** Output folder. */
  out: string;
  /** Stop at the first failed sample. @default {false} */
  strict?: boolean;
  /** At most this many samples per split. */
  limit?: number;
  /** The task's own options, by option name (kebab-case or camelCase). */
  taskOptions?: Record<string, unknown>;
  /** Decodes samples elsewhere (decode workers). */
  load?: TaskContext["load"];
  /** Progress reporters. */
  progress?: ProgressFactory;
  /** Prints a warning the user should see. */
  warn?: (message: string) => void;
  /** Stops the run. */
  signal?: AbortSignal;
  /** medprobe version for the record. */
  version: string;
  /** Extra `environment` fields for the record. */
  environment?: Record<string, unknown>;
}

/** camelCase of a kebab-case option name (`"run-folds"` → `"runFolds"`). */
export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Checks one task option value against its spec; a misfit is a {@linkcode UsageError}. */
export function checkTaskOption(task: string, option: TaskOption, value: unknown): unknown {
  const flag = `--${option.name}`;
  const fail = (rule: string) =>
    new UsageError(
      `Cannot use ${flag} of task "${task}" as it must be ${rule}: current value is ${
        JSON.stringify(value)
      }`,
      { help: "eval" },
    );
  switch (option.type) {
    case "boolean":
      if (typeof value !== "boolean") throw fail("true or false");
      return value;
    case "string":
      if (typeof value !== "string") throw fail("a string");
      if (option.choices && !option.choices.includes(value)) {
        throw fail(`one of ${option.choices.join(", ")}`);
      }
      return value;
    case "int":
    case "number": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) throw fail("a number");
      if (option.type === "int" && !Number.isInteger(n)) throw fail("an integer");
      if (option.min !== undefined && n < option.min) throw fail(`>= ${option.min}`);
      if (option.max !== undefined && n > option.max) throw fail(`<= ${option.max}`);
      return n;
    }
  }
}

/**
 * Resolves a request against the registry without doing any work: the
 * dataset, its task plugin, the adapter, head, metrics and feature (each
 * checked to fit the task and the problem), merged options and parsed task
 * options. Every misfit is a {@linkcode UsageError} that names what was
 * asked and lists what fits — raised before any extraction.
 */
export function resolveTask(
  registry: PluginLookup,
  request: TaskRequest,
  encoder: Encoder,
): { task: TaskPlugin; context: TaskContext } {
  const { spec } = findDataset(registry, request.dataset);
  const task = registry.get("task", spec.task);
  const p = spec.protocol;
  const head = request.head ?? p.heads[0];
  const adapter = request.adapter ?? p.adapter;
  const metrics = request.metrics ?? [...p.metrics];
  const misfits = checkTaskFit(registry, task, spec.problem, { adapter, heads: [head], metrics });
  if (misfits.length > 0) {
    throw new UsageError(`Cannot evaluate "${request.dataset}" as ${misfits.join("; ")}`, {
      help: "eval",
    });
  }
  const adapterOptions: Record<string, unknown> = {
    ...p.adapterOptions,
    ...request.adapterOptions,
  };
  const feature = request.feature ?? p.feature;
  const adapterPlugin = registry.get("adapter", adapter);
  let kinds = adapterPlugin.create(adapterOptions).featureKinds;
  if (!kinds.includes(feature) && adapterOptions.feature === undefined) {
    // Adapters that compute a feature on request (intermediate blocks:
    // last4, layer:N) take it as their `feature` option.
    try {
      const asked = adapterPlugin.create({ ...adapterOptions, feature }).featureKinds;
      if (asked.includes(feature)) {
        adapterOptions.feature = feature;
        kinds = asked;
      }
    } catch { /* this adapter takes no feature option */ }
  }
  if (!kinds.includes(feature)) {
    throw new UsageError(
      `Cannot use feature "${feature}" as adapter "${adapter}" produces ${
        kinds.map((k) => `"${k}"`).join(", ")
      }`,
      { help: "eval" },
    );
  }
  const given = Object.fromEntries(
    Object.entries(request.taskOptions ?? {}).map(([k, v]) => [camelCase(k), v]),
  );
  const known = new Set(task.options.map((o) => camelCase(o.name)));
  for (const k of Object.keys(given)) {
    if (!known.has(k) && given[k] !== undefined) {
      throw new UsageError(
        `Cannot use option "${k}" as task "${task.name}" has ${
          task.options.map((o) => `--${o.name}`).join(", ") || "no options"
        }`,
        { help: "eval" },
      );
    }
  }
  const taskOptions: Record<string, unknown> = {};
  for (const o of task.options) {
    const key = camelCase(o.name);
    const value = given[key] ?? o.default;
    if (value !== undefined) taskOptions[key] = checkTaskOption(task.name, o, value);
  }
  const resolution = request.resolution ?? p.resolution;
  const multiple = encoder.preprocess.sizeMultiple;
  const sides = resolution === "native"
    ? []
    : typeof resolution === "number"
    ? [resolution]
    : resolution;
  if (sides.some((side) => !(Number.isInteger(side) && side > 0 && side % multiple === 0))) {
    const near = sides.map((side) => Math.max(multiple, Math.round(side / multiple) * multiple));
    throw new UsageError(
      `Cannot use resolution ${
        sides.join("x")
      } as each side must be a positive multiple of the encoder's patch size ${multiple}: e.g. ${
        near.join("x")
      }`,
      { help: "eval" },
    );
  }
  const context: TaskContext = {
    registry,
    datasetId: request.dataset,
    spec,
    root: request.root,
    openOptions: request.openOptions ?? {},
    encoder,
    encoderMeta: {},
    adapter,
    adapterOptions,
    head,
    headOptions: { ...p.headOptions?.[head], ...request.headOptions },
    headBackend: request.headBackend ?? "auto",
    feature,
    metrics,
    resolution,
    batchSize: request.batchSize ?? 16,
    seed: request.seed ?? 0,
    bootstrap: request.bootstrap ?? 1000,
    cacheDir: request.cacheDir ?? `${request.out}/cache`,
    out: request.out,
    strict: request.strict ?? false,
    limit: request.limit,
    taskOptions,
    load: request.load,
    progress: request.progress,
    warn: request.warn,
    signal: request.signal,
    version: request.version,
    environment: request.environment,
  };
  return { task, context };
}

/**
 * Runs one evaluation: resolves the request ({@linkcode resolveTask}),
 * creates the output folder and hands the context to the dataset's task
 * plugin. The encoder is the caller's (not disposed here).
 *
 * @example Running an evaluation from code
 * ```ts ignore
 * import { createDefaultRegistry, runTask } from "jsr:@medprobe/medprobe";
 * const registry = createDefaultRegistry();
 * const encoder = await registry.get("encoder", "dinov3").create({ weights: "dinov3-vits16" });
 * const record = await runTask(registry, encoder, {
 *   dataset: "xray/nih14", root: "NIH", out: "out", version: "0.2.0",
 * });
 * ```
 */
export async function runTask(
  registry: PluginLookup,
  encoder: Encoder,
  request: TaskRequest & { encoderMeta?: Record<string, unknown> },
): Promise<ResultRecord> {
  const { task, context } = resolveTask(registry, request, encoder);
  await Deno.mkdir(request.out, { recursive: true });
  return await task.run({ ...context, encoderMeta: request.encoderMeta ?? {} });
}

/** The fitting adapters, heads and metrics of a dataset's task, for help and messages. */
export function datasetFit(
  registry: PluginLookup,
  id: string,
): { task: string; problem: string; adapters: string[]; heads: string[]; metrics: string[] } {
  const { spec } = findDataset(registry, id);
  const task = registry.get("task", spec.task);
  return {
    task: task.name,
    problem: spec.problem,
    ...pluginsFitting(registry, task, spec.problem),
  };
}

// ------------------------------------------------------ timing, failures --

/**
 * Training progress of a head as a progress bar: one update per epoch with
 * the loss. The bar starts before training when the head says how many
 * epochs it runs, so rate and ETA count from the first step.
 */
export function fitProgress(
  progress: ProgressFactory | undefined,
  stage: string,
  head: Pick<Head, "hyperparameters">,
): { onProgress: (p: FitProgress) => void; stop: () => void } {
  const planned = head.hyperparameters.epochs;
  let total = typeof planned === "number" && planned > 0 ? planned : 0;
  let bar = total > 0 ? progress?.(stage, total, "epochs") : undefined;
  return {
    onProgress(p: FitProgress) {
      if (bar && p.epochs !== total) {
        // The head trains longer than planned (e.g. a minimum step budget).
        bar.stop();
        bar = undefined;
      }
      total = p.epochs;
      bar ??= progress?.(stage, p.epochs, "epochs");
      bar?.update(p.epoch, Number.isFinite(p.loss) ? `loss ${p.loss.toPrecision(4)}` : undefined);
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Stage timings of a run, filled by {@linkcode StageTimer.time}. */
export class StageTimer {
  /** Timings by stage name. */
  readonly timings: Record<string, StageTiming> = {};
  readonly #started = performance.now();

  /** Runs `fn`, adding its wall time to the stage (stages may run several times). */
  async time<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const s = (performance.now() - t0) / 1000;
      this.timings[name] = {
        ...this.timings[name],
        seconds: (this.timings[name]?.seconds ?? 0) + s,
      };
    }
  }

  /** Records how many items a stage processed (and its rate). */
  count(name: string, items: number, unit: string): void {
    const t = this.timings[name] ?? { seconds: 0 };
    this.timings[name] = { ...t, items, unit, perSecond: items / Math.max(t.seconds, 1e-9) };
  }

  /** Every stage plus `total` since the timer was created. */
  finish(): Record<string, StageTiming> {
    return { ...this.timings, total: { seconds: (performance.now() - this.#started) / 1000 } };
  }
}

/** One line for an error of any kind (libraries throw strings and plain objects too). */
export function errorReason(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error || "unknown error";
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** The failed samples of a run, as the record lists them. */
export class FailureLog {
  /** Every failure, in order. */
  readonly failed: FailedSample[] = [];

  /** Records a failure of `sample` at `stage`. */
  add(sample: Pick<Sample, "id" | "path">, stage: string, error: unknown): void {
    this.failed.push({ id: sample.id, path: sample.path, stage, reason: errorReason(error) });
  }

  /** Ids that failed. */
  ids(): Set<string> {
    return new Set(this.failed.map((f) => f.id));
  }
}

// ----------------------------------------------------------- extraction --

/** Options of {@linkcode extractSplits}. */
export interface ExtractSplitsOptions {
  /** The run's context (encoder, resolution, batch, cache, progress, signal, strict, load). */
  ctx: TaskContext;
  /** The adapter, created with the run's options. */
  adapter: Adapter;
  /** The adapter's name for the cache key. */
  adapterName: string;
  /** Samples by split name. */
  splits: ReadonlyMap<string, readonly Sample[]>;
  /** Where failures go. */
  failures: FailureLog;
  /** Where timings go (stage `"extract"`). */
  timer: StageTimer;
  /** Samples decoded ahead of the encoder. @default {4} */
  prefetch?: number;
}

/** What {@linkcode extractSplits} returns: the open cache and the usable samples per split. */
export interface ExtractedSplits {
  /** The cache namespace (close it in `finally`). */
  cache: FeatureCache;
  /** Samples whose features are in the cache, by split. */
  ok: Map<string, Sample[]>;
  /** Samples computed by this run. */
  computed: number;
  /** Samples found in the cache. */
  cached: number;
  /** Samples whose cached features were of other file content, recomputed. */
  stale: string[];
  /** Samples that name no source file, so their cached features were not checked. */
  unchecked: number;
  /** Seconds spent fingerprinting source files. */
  fingerprintSeconds: number;
}

/** Opens the run's cache namespace for an adapter (dataset, encoder, weights, resolution, adapter). */
export function openRunCache(
  ctx: Pick<TaskContext, "cacheDir" | "datasetId" | "encoder" | "resolution">,
  adapterName: string,
  adapter: Pick<Adapter, "settings">,
): Promise<FeatureCache> {
  return FeatureCache.open(
    ctx.cacheDir,
    cacheKeyFor({
      dataset: ctx.datasetId,
      encoder: ctx.encoder,
      resolution: ctx.resolution,
      adapter: { name: adapterName, settings: adapter.settings },
    }),
  );
}

/**
 * Decodes and extracts every sample of every split into the feature cache
 * (resumable; shared by concurrent processes), recording failed samples and
 * going on unless `strict`. The cache is closed if extraction throws;
 * otherwise the caller closes it.
 */
export async function extractSplits(options: ExtractSplitsOptions): Promise<ExtractedSplits> {
  const { ctx, adapter, failures, timer } = options;
  const cache = await openRunCache(ctx, options.adapterName, adapter);
  let computed = 0;
  let cached = 0;
  let unchecked = 0;
  let fingerprintSeconds = 0;
  const stale: string[] = [];
  const ok = new Map<string, Sample[]>();
  try {
    await timer.time("extract", async () => {
      for (const [split, samples] of options.splits) {
        const index = new Map(samples.map((s, i) => [s.id, i]));
        const bar = ctx.progress?.(`extract ${split}`, samples.length, "samples");
        const splitFailed = new Set<string>();
        const report = await extractFeatures({
          cache,
          samples,
          adapter,
          context: adapterContext(ctx),
          signal: ctx.signal,
          prefetch: options.prefetch ?? 4,
          batchSamples: ctx.batchSize,
          load: ctx.load ? (s: Sample) => ctx.load!(split, index.get(s.id)!, s) : undefined,
          onSampleError: (s: Sample, error: unknown, where: string) => {
            if (ctx.strict) return false;
            splitFailed.add(s.id);
            failures.add(s, where, error);
            return true;
          },
          onProgress: (p) => bar?.update(p.done),
        });
        bar?.stop();
        ctx.signal?.throwIfAborted();
        computed += report.computed.length;
        cached += report.skipped;
        stale.push(...report.stale);
        unchecked += report.unchecked;
        fingerprintSeconds += report.fingerprintSeconds;
        ok.set(split, samples.filter((s) => !splitFailed.has(s.id)));
      }
    });
  } catch (e) {
    cache.close();
    throw e;
  }
  timer.count("extract", computed, "samples");
  return { cache, ok, computed, cached, stale, unchecked, fingerprintSeconds };
}

/** The adapter context of a run. */
export function adapterContext(ctx: TaskContext): AdapterContext {
  return {
    encoder: ctx.encoder,
    resolution: ctx.resolution as AdapterContext["resolution"],
    batchSize: ctx.batchSize,
    signal: ctx.signal,
  };
}

// ------------------------------------------------------- chunked samples --

const CHUNKS_KIND = "chunks";

function chunkId(id: string, index: number): string {
  return `${id}#c${String(index).padStart(6, "0")}`;
}

/** True when the cache holds every chunk of a sample (its chunk count is written last). */
export function hasChunks(cache: FeatureCache, id: string): boolean {
  return cache.has(`${id}#chunks`, [CHUNKS_KIND]);
}

/**
 * Streams one sample's features through the adapter into the cache: each
 * chunk its own entry (in order), then the chunk count, which marks the
 * sample complete. An adapter without `extractChunks` gives one chunk. A
 * run killed midway leaves no count; the next run resumes inside the
 * sample: chunks already cached are passed to the adapter as `skip` and
 * never written twice. Returns the number of chunks.
 */
export async function cacheChunks(
  cache: FeatureCache,
  id: string,
  adapter: Adapter,
  data: SampleData,
  context: AdapterContext,
): Promise<number> {
  const prefix = `${id}#c`;
  const done = new Set<number>();
  for (const cached of cache.ids()) {
    if (cached.startsWith(prefix) && cache.has(cached, adapter.featureKinds)) {
      done.add(Number(cached.slice(prefix.length)));
    }
  }
  let count = 0;
  if (adapter.extractChunks) {
    for await (const chunk of adapter.extractChunks(data, context, done)) {
      if (chunk.index < count) {
        throw new RangeError(
          `Cannot cache the chunks of "${id}" as chunk indices must increase: ${chunk.index} after ${
            count - 1
          }`,
        );
      }
      if (!done.has(chunk.index)) {
        await cache.put([{ id: chunkId(id, chunk.index), features: chunk.features }]);
      }
      count = chunk.index + 1;
    }
    // Skipped chunks at the end were cached by the killed run.
    for (const index of done) count = Math.max(count, index + 1);
  } else {
    await cache.put([{ id: chunkId(id, 0), features: await adapter.extract(data, context) }]);
    count = 1;
  }
  await cache.put([{
    id: `${id}#chunks`,
    features: { [CHUNKS_KIND]: { data: Float32Array.of(count), shape: [1] } },
  }]);
  return count;
}

/** The raw stored chunks of one feature kind of a sample, in order. */
export async function readChunksRaw(
  cache: FeatureCache,
  id: string,
  kind: string,
): Promise<RawTensor[]> {
  const count = (await cache.read(`${id}#chunks`, CHUNKS_KIND)).data[0];
  const out: RawTensor[] = [];
  for (let i = 0; i < count; i++) out.push(await cache.readRaw(chunkId(id, i), kind));
  return out;
}

/** A sample's chunks of one kind reassembled along `axis`, as float32. */
export async function readChunks(
  cache: FeatureCache,
  id: string,
  kind: string,
  axis = 0,
): Promise<HostTensor> {
  const count = (await cache.read(`${id}#chunks`, CHUNKS_KIND)).data[0];
  const parts: HostTensor[] = [];
  for (let i = 0; i < count; i++) parts.push(await cache.read(chunkId(id, i), kind));
  return concatAxis(parts, axis);
}

// ------------------------------------------------------ splits and folds --

/** One fold of a cross-validation: sample ids to train on and to validate on. */
export interface Fold {
  /** 0-based fold index. */
  readonly index: number;
  /** Training sample ids. */
  readonly train: readonly string[];
  /** Validation sample ids. */
  readonly val: readonly string[];
}

function groupBySubject(samples: readonly Pick<Sample, "id" | "subject">[]): Map<string, string[]> {
  const bySubject = new Map<string, string[]>();
  for (const s of samples) {
    const key = s.subject ?? s.id;
    bySubject.set(key, [...(bySubject.get(key) ?? []), s.id]);
  }
  return bySubject;
}

/**
 * A patient-level k-fold split: subjects (the sample's `subject`, else its
 * id) are shuffled with the seed and dealt round-robin into `k` folds, so
 * no patient is in the training and validation set of a fold. Fold `i`
 * validates on the i-th group and trains on the rest.
 *
 * @example
 * ```ts
 * import { patientFolds } from "./experiment.ts";
 * import assert from "node:assert/strict";
 * const samples = ["a1", "a2", "b", "c", "d", "e"].map((id) => ({ id, subject: id[0] }));
 * const folds = patientFolds(samples, 5, 1);
 * assert.equal(folds.length, 5);
 * for (const f of folds) {
 *   assert.equal(f.train.length + f.val.length, 6);
 *   assert.equal(f.val.includes("a1"), f.val.includes("a2")); // one patient, one side
 * }
 * ```
 */
export function patientFolds(
  samples: readonly Pick<Sample, "id" | "subject">[],
  k: number,
  seed: number,
): Fold[] {
  if (!Number.isInteger(k) || k < 2) {
    throw new RangeError(
      `Cannot split into folds as k must be an integer >= 2: current value is ${k}`,
    );
  }
  const bySubject = groupBySubject(samples);
  const subjects = [...bySubject.keys()].sort();
  if (subjects.length < k) {
    throw new RangeError(
      `Cannot split into ${k} folds as there must be at least ${k} patients: current count is ${subjects.length}`,
    );
  }
  shuffle(subjects, createMulberry32(seed));
  const groups: string[][] = Array.from({ length: k }, () => []);
  subjects.forEach((s, i) => groups[i % k].push(...bySubject.get(s)!));
  return groups.map((val, index) => ({
    index,
    train: groups.filter((_, j) => j !== index).flat().sort(),
    val: [...val].sort(),
  }));
}

/**
 * A seeded patient-level split into train and test: `testFraction` of the
 * subjects (rounded, at least one) go to test.
 *
 * @example
 * ```ts
 * import { patientSplit } from "./experiment.ts";
 * import assert from "node:assert/strict";
 * const samples = ["a1", "a2", "b", "c", "d"].map((id) => ({ id, subject: id[0] }));
 * const { train, test } = patientSplit(samples, 0.25, 3);
 * assert.equal(train.length + test.length, 5);
 * assert.equal(test.includes("a1"), test.includes("a2"));
 * ```
 */
export function patientSplit(
  samples: readonly Pick<Sample, "id" | "subject">[],
  testFraction: number,
  seed: number,
): { train: string[]; test: string[] } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(
      `Cannot split as testFraction must be in (0, 1): current value is ${testFraction}`,
    );
  }
  const bySubject = groupBySubject(samples);
  const subjects = [...bySubject.keys()].sort();
  if (subjects.length < 2) {
    throw new RangeError(
      `Cannot split as there must be at least 2 patients: current count is ${subjects.length}`,
    );
  }
  shuffle(subjects, createMulberry32(seed));
  const nTest = Math.min(
    subjects.length - 1,
    Math.max(1, Math.round(subjects.length * testFraction)),
  );
  const test = subjects.slice(0, nTest).flatMap((s) => bySubject.get(s)!).sort();
  const train = subjects.slice(nTest).flatMap((s) => bySubject.get(s)!).sort();
  return { train, test };
}

/**
 * Writes `folds/fold_<k>.json` (ids, subjects and seed) and the
 * nnU-Net-style `splits_final.json` (`[{ train, val }, ...]`) into `out`;
 * returns the written paths, relative to `out`.
 */
export async function writeFoldFiles(
  out: string,
  folds: readonly Fold[],
  samples: readonly Pick<Sample, "id" | "subject">[],
  seed: number,
): Promise<string[]> {
  await Deno.mkdir(`${out}/folds`, { recursive: true });
  const subject = new Map(samples.map((s) => [s.id, s.subject ?? s.id]));
  const files: string[] = [];
  for (const f of folds) {
    const file = `folds/fold_${f.index}.json`;
    await writeTextFileAtomic(
      `${out}/${file}`,
      JSON.stringify(
        {
          fold: f.index,
          folds: folds.length,
          seed,
          level: "patient",
          train: f.train,
          val: f.val,
          valSubjects: [...new Set(f.val.map((id) => subject.get(id)))].sort(),
        },
        null,
        2,
      ) + "\n",
    );
    files.push(file);
  }
  await writeTextFileAtomic(
    `${out}/splits_final.json`,
    JSON.stringify(folds.map((f) => ({ train: f.train, val: f.val })), null, 2) + "\n",
  );
  return [...files, "splits_final.json"];
}

// -------------------------------------------------------------- outputs --

/**
 * Writes a run's outputs into `out`, each file atomically: the extra files
 * first, then `result.json` last, so a `result.json` on disk always has its
 * artifacts beside it.
 */
export async function writeResult(
  out: string,
  record: ResultRecord,
  files: Readonly<Record<string, string | Uint8Array>> = {},
): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = `${out}/${name}`;
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (dir) await Deno.mkdir(dir, { recursive: true });
    if (typeof content === "string") await writeTextFileAtomic(path, content);
    else await writeFileAtomic(path, content);
  }
  await writeTextFileAtomic(`${out}/result.json`, formatResultRecord(record));
}

/** The record's `environment`: runtime facts plus the caller's extra fields. */
export function environmentOf(
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    ...extra,
  };
}

/** Rows a dataset left out when it was opened (e.g. CSV rows without an image), if it says. */
export function skippedAtOpen(dataset: unknown): { skippedAtOpen?: unknown[] } {
  const skipped = (dataset as { skipped?: unknown }).skipped;
  return Array.isArray(skipped) && skipped.length > 0 ? { skippedAtOpen: skipped } : {};
}

/** A file-name-safe form of a sample id. */
export function safeFileName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, "_");
}

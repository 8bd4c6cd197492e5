/**
 * The experiment runner for classification protocols: protocol + dataset +
 * encoder + adapter + head + metrics → a {@linkcode ResultRecord} in the
 * output folder (`result.json`, `predictions.csv`).
 *
 * ```
 * dataset.open → samples(train/test) → decode (prefetched / workers)
 *   → adapter.extract → feature cache (resumable) → stack [N, F]
 *   → head.fit(train) → head.predict(test) → per-label + macro metrics
 *   with bootstrap 95 % CIs → OUT/result.json
 * ```
 *
 * A sample that fails to load or encode is listed in `data.failed` with its
 * reason and the run goes on; `strict: true` stops instead. Ctrl-C (an
 * aborted `signal`) stops between samples after writing the features
 * computed so far, so the cache stays consistent.
 *
 * Uses `Deno.*` for files (read data and weights, write `out` and the cache).
 *
 * @module
 */

import { FeatureCache } from "./cache.ts";
import { cacheKeyFor, extractFeatures } from "./extract.ts";
import { reduceScores } from "./metrics.ts";
import type { Encoder, Sample, SampleData, TaskType } from "./plugin.ts";
import type { Registry } from "./registry.ts";
import {
  type FailedSample,
  formatResultRecord,
  type MetricValue,
  RESULT_SCHEMA,
  type ResultRecord,
  type StageTiming,
} from "./result.ts";
import type { HostTensor } from "./tensor.ts";
import { bootstrapCi } from "../plugins/metrics/bootstrap.ts";

/** Reports progress of one long stage. */
export interface StageProgress {
  /** Sets the number of finished items. */
  update(done: number): void;
  /** Ends the stage. */
  stop(): void;
}

/** Creates a progress reporter for a stage. */
export type ProgressFactory = (stage: string, total: number, unit: string) => StageProgress;

/** Options of {@linkcode runEvaluation}. */
export interface EvaluationOptions {
  /** Plugins (modalities, adapters, heads, metrics). */
  registry: Registry;
  /** `modality/dataset`, e.g. `"xray/nih14"`. */
  dataset: string;
  /** Dataset root folder, as downloaded. */
  root: string;
  /** Options for the dataset's `open`. */
  openOptions?: Record<string, unknown>;
  /** The encoder (created by the caller; not disposed here). */
  encoder: Encoder;
  /** Weights folder and whether they are pretrained, for the record. */
  encoderMeta?: { weights?: string; pretrained?: boolean };
  /** Head plugin name (default: the protocol's first head). */
  head?: string;
  /** Head options merged over the protocol's. */
  headOptions?: Record<string, unknown>;
  /** Adapter plugin name (default: the protocol's). */
  adapter?: string;
  /** Adapter options merged over the protocol's. */
  adapterOptions?: Record<string, unknown>;
  /** Feature kind fed to the head (default: the protocol's, e.g. `"cls"`). */
  feature?: string;
  /** Encoder input resolution (default: the protocol's). */
  resolution?: number | [number, number] | "native";
  /** Encoder batch size. @default {16} */
  batchSize?: number;
  /** Seed of the head and the bootstrap. @default {0} */
  seed?: number;
  /** Feature cache folder. @default {`${out}/cache`} */
  cacheDir?: string;
  /** Output folder. */
  out: string;
  /** Stop at the first failed sample instead of recording it. @default {false} */
  strict?: boolean;
  /** Bootstrap resamples for the CIs (0 disables). @default {1000} */
  bootstrap?: number;
  /** Metric names (default: the protocol's). */
  metrics?: string[];
  /** Decodes a sample (e.g. in a worker); default `sample.load()`. */
  load?: (split: string, index: number, sample: Sample) => Promise<SampleData>;
  /** Samples decoded ahead of the encoder. @default {4} */
  prefetch?: number;
  /** Use at most this many samples per split (quick runs). */
  limit?: number;
  /** Progress reporter factory. */
  progress?: ProgressFactory;
  /** Stops the run between samples. */
  signal?: AbortSignal;
  /** medprobe version for the record. */
  version: string;
}

function nanToNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function targetsOf(samples: readonly Sample[], task: TaskType, numLabels: number): HostTensor {
  const k = task === "multiclass" ? 1 : numLabels;
  const data = new Float32Array(samples.length * k);
  samples.forEach((s, i) => {
    if (!s.target || s.target.length !== k) {
      throw new TypeError(
        `Cannot evaluate as sample "${s.id}" must have a target of length ${k}: current length is ${
          s.target?.length ?? 0
        }`,
      );
    }
    data.set(s.target, i * k);
  });
  return { data, shape: [samples.length, k] };
}

/** Macro value of a per-label metric: the mean over labels where it is defined. */
function macroOf(values: Float64Array): { value: number; validCount: number } {
  const r = reduceScores({ data: values, shape: [1, values.length] }, "mean");
  const valid = values.filter((v) => !Number.isNaN(v)).length;
  return { value: valid === 0 ? NaN : r.value[0], validCount: valid };
}

/**
 * Runs one classification evaluation end to end and writes
 * `OUT/result.json` and `OUT/predictions.csv`.
 */
export async function runEvaluation(options: EvaluationOptions): Promise<ResultRecord> {
  const started = performance.now();
  const { registry, encoder } = options;
  const [modalityName, datasetName] = options.dataset.split("/");
  const modality = registry.get("modality", modalityName ?? "");
  const spec = modality.datasets.find((d) => d.name === datasetName);
  if (!spec) {
    throw new TypeError(
      `Cannot find dataset "${options.dataset}" as modality "${modalityName}" has ${
        modality.datasets.map((d) => `"${modalityName}/${d.name}"`).join(", ")
      }`,
    );
  }
  if (!["binary", "multilabel", "multiclass"].includes(spec.task)) {
    throw new TypeError(
      `Cannot run a classification evaluation on "${options.dataset}" as its task is "${spec.task}"`,
    );
  }
  const protocol = spec.protocol;
  const headName = options.head ?? protocol.heads[0];
  const adapterName = options.adapter ?? protocol.adapter;
  const feature = options.feature ?? protocol.feature;
  const resolution = options.resolution ?? protocol.resolution;
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 16;
  const metricNames = options.metrics ?? [...protocol.metrics];
  const bootstrapSamples = options.bootstrap ?? 1000;
  const headPlugin = registry.get("head", headName);
  const metricPlugins = metricNames.map((m) => registry.get("metric", m));
  const adapter = registry.get("adapter", adapterName).create({
    ...protocol.adapterOptions,
    ...options.adapterOptions,
  });
  if (!adapter.featureKinds.includes(feature)) {
    throw new TypeError(
      `Cannot use feature "${feature}" as adapter "${adapterName}" produces ${
        adapter.featureKinds.map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  const timings: Record<string, StageTiming> = {};
  const failed: FailedSample[] = [];
  const stage = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    return fn().finally(() => {
      timings[name] = { ...timings[name], seconds: (performance.now() - t0) / 1000 };
    });
  };

  // 1. Open the dataset.
  const dataset = await stage("open", () => spec.open(options.root, options.openOptions));
  const splits = [protocol.trainSplit, protocol.testSplit];
  const bySplit = new Map<string, Sample[]>();
  for (const split of splits) {
    if (!dataset.splits.includes(split)) {
      throw new TypeError(
        `Cannot evaluate "${options.dataset}" as split "${split}" is missing: the dataset has ${
          dataset.splits.map((s) => `"${s}"`).join(", ")
        }`,
      );
    }
    const all = dataset.samples(split);
    bySplit.set(split, options.limit ? all.slice(0, options.limit) : [...all]);
  }

  // 2. Extract features into the cache (resumable), recording failed samples.
  await Deno.mkdir(options.out, { recursive: true });
  const cacheDir = options.cacheDir ?? `${options.out}/cache`;
  const key = cacheKeyFor({
    dataset: options.dataset,
    encoder,
    resolution,
    adapter: { name: adapterName, settings: adapter.settings },
  });
  const cache = await FeatureCache.open(cacheDir, key);
  let computed = 0;
  let cached = 0;
  const ok = new Map<string, Sample[]>();
  try {
    await stage("extract", async () => {
      for (const split of splits) {
        const samples = bySplit.get(split)!;
        const index = new Map(samples.map((s, i) => [s.id, i]));
        const bar = options.progress?.(`extract ${split}`, samples.length, "samples");
        const splitFailed = new Set<string>();
        const report = await extractFeatures({
          cache,
          samples,
          adapter,
          context: { encoder, resolution, batchSize, signal: options.signal },
          signal: options.signal,
          prefetch: options.prefetch ?? 4,
          batchSamples: batchSize,
          load: options.load ? (s: Sample) => options.load!(split, index.get(s.id)!, s) : undefined,
          onSampleError: (s: Sample, error: unknown, where: string) => {
            if (options.strict) return false;
            splitFailed.add(s.id);
            failed.push({
              id: s.id,
              path: s.path,
              stage: where,
              reason: (error as Error)?.message ?? String(error),
            });
            return true;
          },
          onProgress: (p) => bar?.update(p.done),
        });
        bar?.stop();
        options.signal?.throwIfAborted();
        computed += report.computed.length;
        cached += report.skipped;
        ok.set(split, samples.filter((s) => !splitFailed.has(s.id)));
      }
    });
    timings.extract.items = computed;
    timings.extract.unit = "samples";
    timings.extract.perSecond = computed / Math.max(timings.extract.seconds, 1e-9);

    // 3. Stack features and targets.
    const train = ok.get(protocol.trainSplit)!;
    const test = ok.get(protocol.testSplit)!;
    for (const [name, list] of [["train", train], ["test", test]] as const) {
      if (list.length === 0) {
        throw new RangeError(
          `Cannot evaluate "${options.dataset}" as the ${name} split has no usable sample (${failed.length} failed)`,
        );
      }
    }
    const xTrain = await cache.stack(train.map((s) => s.id), feature);
    const xTest = await cache.stack(test.map((s) => s.id), feature);
    const k = dataset.labels.length;
    const yTrain = targetsOf(train, dataset.task, k);
    const yTest = targetsOf(test, dataset.task, k);

    // 4. Fit and predict.
    const head = headPlugin.create({
      ...protocol.headOptions?.[headName],
      ...options.headOptions,
      ...(dataset.task === "multiclass" ? { task: "multiclass", numClasses: k } : {}),
    });
    let scores: HostTensor;
    try {
      const fitBar = options.progress?.(`fit ${headName}`, 1, "runs");
      const fit = await stage(
        "fit",
        () => head.fit(xTrain, yTrain, { seed, signal: options.signal }),
      );
      fitBar?.update(1);
      fitBar?.stop();
      timings.fit.items = fit.losses.length;
      timings.fit.unit = "epochs";
      scores = await stage("predict", () => head.predict(xTest)) as HostTensor;
      timings.predict.items = test.length;
      timings.predict.unit = "samples";
      timings.predict.perSecond = test.length / Math.max(timings.predict.seconds, 1e-9);
    } finally {
      head.dispose();
    }

    // 5. Metrics per label, macro, bootstrap CIs.
    const target = dataset.task === "multiclass"
      ? { data: yTest.data, shape: [test.length] }
      : yTest;
    const macro: Record<string, MetricValue> = {};
    const perLabel: Record<string, Record<string, number | null>> = {};
    for (const l of dataset.labels) perLabel[l] = {};
    await stage("metrics", () => {
      for (const m of metricPlugins) {
        const values = m.compute(scores, target);
        const { value, validCount } = macroOf(values);
        let ci: MetricValue["ci"] = null;
        if (bootstrapSamples > 0) {
          const interval = bootstrapCi(
            (p, t) => macroOf(m.compute(p, t)).value,
            scores,
            target,
            // Stratify by class for binary and multi-class; a multi-label row
            // pattern is nearly unique per sample, so resample plainly there.
            { samples: bootstrapSamples, seed, stratified: dataset.task !== "multilabel" },
          );
          ci = {
            low: nanToNull(interval.low),
            high: nanToNull(interval.high),
            level: 0.95,
            samples: bootstrapSamples,
          };
        }
        macro[m.name] = { value: nanToNull(value), ci, validCount };
        if (values.length === dataset.labels.length) {
          dataset.labels.forEach((l, i) => (perLabel[l][m.name] = nanToNull(values[i])));
        }
      }
      return Promise.resolve();
    });

    // 6. The record and the predictions.
    const record: ResultRecord = {
      schema: RESULT_SCHEMA,
      medprobeVersion: options.version,
      createdAt: new Date().toISOString(),
      dataset: options.dataset,
      task: dataset.task,
      labels: [...dataset.labels],
      protocol: {
        trainSplit: protocol.trainSplit,
        testSplit: protocol.testSplit,
        resolution,
        feature,
        seed,
        batchSize,
        bootstrapSamples,
        metrics: metricNames,
        limit: options.limit ?? null,
      },
      encoder: {
        ...encoder.info,
        weights: options.encoderMeta?.weights,
        pretrained: options.encoderMeta?.pretrained,
        preprocess: encoder.preprocess,
      },
      adapter: { name: adapterName, settings: { ...adapter.settings } },
      head: { name: headName, hyperparameters: { ...head.hyperparameters } },
      data: {
        root: options.root,
        counts: { [protocol.trainSplit]: train.length, [protocol.testSplit]: test.length },
        failed,
        cache: cacheDir,
        cacheHits: cached,
        ...(dataset as { splitSource?: string }).splitSource
          ? { splitSource: (dataset as { splitSource?: string }).splitSource }
          : {},
        ...skippedAtOpen(dataset),
      },
      timings: {
        ...timings,
        total: { seconds: (performance.now() - started) / 1000 },
      },
      metrics: { macro, perLabel },
      environment: {
        deno: Deno.version.deno,
        os: Deno.build.os,
        arch: Deno.build.arch,
      },
      artifacts: { predictions: "predictions.csv" },
    };
    await Deno.writeTextFile(`${options.out}/result.json`, formatResultRecord(record));
    await Deno.writeTextFile(
      `${options.out}/predictions.csv`,
      predictionsCsv(test, dataset.labels, scores, yTest),
    );
    return record;
  } finally {
    cache.close();
  }
}

/** Rows a dataset left out when it was opened (e.g. CSV rows without an image), if it says. */
function skippedAtOpen(dataset: unknown): { skippedAtOpen?: unknown[] } {
  const skipped = (dataset as { skipped?: unknown }).skipped;
  return Array.isArray(skipped) && skipped.length > 0 ? { skippedAtOpen: skipped } : {};
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `id,label scores...,targets...` for the test split. */
function predictionsCsv(
  samples: readonly Sample[],
  labels: readonly string[],
  scores: HostTensor,
  targets: HostTensor,
): string {
  const k = scores.shape[1];
  const t = targets.shape[1];
  const head = [
    "id",
    ...labels.slice(0, k).map((l) => `score:${l}`),
    ...(t === labels.length ? labels.map((l) => `target:${l}`) : ["target"]),
  ];
  const rows = [head.map(csvField).join(",")];
  samples.forEach((s, i) => {
    const row = [csvField(s.id)];
    for (let j = 0; j < k; j++) row.push(String(scores.data[i * k + j]));
    for (let j = 0; j < t; j++) row.push(String(targets.data[i * t + j]));
    rows.push(row.join(","));
  });
  return rows.join("\n") + "\n";
}

/**
 * The `classification` task: one feature vector per sample (image or
 * volume) → a head on `[N, F]` → per-label and macro metrics with bootstrap
 * 95 % CIs (PROTOCOLS.md, "Classification — linear probe and k-NN").
 *
 * ```
 * dataset.open → samples(train/test) → decode (prefetched / workers)
 *   → adapter.extract → feature cache (resumable) → stack [N, F]
 *   → head.fit(train) → head.predict(test) → per-label + macro metrics
 *   with bootstrap 95 % CIs → OUT/result.json, OUT/predictions.csv,
 *   OUT/head.safetensors
 * ```
 *
 * A sample that fails to load or encode is listed in `data.failed` with its
 * reason and the run goes on; `strict` stops instead. The adapter, head and
 * metrics come from the registry by name.
 *
 * @example The task as a plugin
 * ```ts
 * import { classificationTask } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(classificationTask.kind, "task");
 * assert.equal(classificationTask.input, "vectors");
 * assert.ok(classificationTask.problems.includes("multilabel"));
 * ```
 *
 * @module
 */

import { bootstrapCi, type BootstrapInterval } from "../../../core/bootstrap.ts";
import { csvField } from "../../../core/csv.ts";
import {
  environmentOf,
  extractSplits,
  FailureLog,
  fitProgress,
  patientSplit,
  skippedAtOpen,
  StageTimer,
  writeResult,
} from "../../../core/experiment.ts";
import type {
  ProtocolDefaults,
  Sample,
  TaskContext,
  TaskPlugin,
  TaskType,
} from "../../../core/plugin.ts";
import type { MetricValue, ResultRecord } from "../../../core/result.ts";
import { RESULT_SCHEMA } from "../../../core/result.ts";
import { finiteOrNull, macroOf, youdenThresholds } from "../../../core/stats.ts";
import { FINGERPRINT_SCHEME } from "../../../core/fingerprint.ts";
import type { HostTensor } from "../../../core/tensor.ts";

function targetsOf(samples: readonly Sample[], problem: TaskType, numLabels: number): HostTensor {
  const k = problem === "multiclass" ? 1 : numLabels;
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

/** `id,score:<label>...,target:<label>...` for the test split. */
export function predictionsCsv(
  samples: readonly Pick<Sample, "id">[],
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

/** Runs one classification evaluation (see the module doc). */
export async function runClassification(ctx: TaskContext): Promise<ResultRecord> {
  const { registry, encoder, spec } = ctx;
  const protocol = spec.protocol;
  const timer = new StageTimer();
  const failures = new FailureLog();
  const headPlugin = registry.get("head", ctx.head);
  const metricPlugins = ctx.metrics.map((m) => registry.get("metric", m));
  const adapter = registry.get("adapter", ctx.adapter).create({ ...ctx.adapterOptions });

  // 1. Open the dataset.
  const dataset = await timer.time("open", () => spec.open(ctx.root, { ...ctx.openOptions }));
  const splits = new Map<string, Sample[]>();
  for (const split of [protocol.trainSplit, protocol.testSplit]) {
    if (!dataset.splits.includes(split)) {
      throw new TypeError(
        `Cannot evaluate "${ctx.datasetId}" as split "${split}" is missing: the dataset has ${
          dataset.splits.map((s) => `"${s}"`).join(", ")
        }`,
      );
    }
    const all = dataset.samples(split);
    splits.set(split, ctx.limit ? all.slice(0, ctx.limit) : [...all]);
  }
  const rule = (ctx.taskOptions.threshold as string | undefined) ?? "fixed";
  if (rule === "youden" && dataset.problem === "multiclass") {
    throw new RangeError(
      `Cannot choose thresholds by Youden's J on "${ctx.datasetId}" as it is multi-class (the prediction is the argmax): use --threshold fixed`,
    );
  }
  const valSplit = rule === "youden"
    ? dataset.splits.find((s) =>
      ["val", "valid", "validation"].includes(s) && s !== protocol.trainSplit &&
      s !== protocol.testSplit
    )
    : undefined;
  if (valSplit) {
    const all = dataset.samples(valSplit);
    splits.set(valSplit, ctx.limit ? all.slice(0, ctx.limit) : [...all]);
  }

  // 2. Extract features into the cache (resumable), recording failed samples.
  const { cache, ok, cached, stale, unchecked, fingerprintSeconds } = await extractSplits({
    ctx,
    adapter,
    adapterName: ctx.adapter,
    splits,
    failures,
    timer,
  });
  if (stale.length > 0) {
    ctx.warn?.(
      `medprobe: ${stale.length} sample(s) changed on disk since they were cached; their features were recomputed (data.cacheStale)`,
    );
  }
  try {
    // 3. Stack features and targets. Youden thresholds need a validation
    // set: the dataset's own, else 20 % of the training patients held out.
    let train = ok.get(protocol.trainSplit)!;
    const test = ok.get(protocol.testSplit)!;
    let val: Sample[] = [];
    let valSource = "";
    if (rule === "youden") {
      if (valSplit) {
        val = ok.get(valSplit)!;
        valSource = `split "${valSplit}"`;
      } else {
        const held = new Set(patientSplit(train, 0.2, ctx.seed).test);
        val = train.filter((s) => held.has(s.id));
        train = train.filter((s) => !held.has(s.id));
        valSource =
          `20 % of the training patients held out (seed ${ctx.seed}); the head trains on the other 80 %`;
      }
    }
    for (const [name, list] of [["train", train], ["test", test]] as const) {
      if (list.length === 0) {
        const reasons = [...new Set(failures.failed.map((f) => f.reason))].slice(0, 3);
        throw new RangeError(
          `Cannot evaluate "${ctx.datasetId}" as the ${name} split has no usable sample (${failures.failed.length} failed${
            reasons.length ? `: ${reasons.join("; ")}` : ""
          })`,
        );
      }
    }
    const xTrain = await cache.stack(train.map((s) => s.id), ctx.feature);
    const xTest = await cache.stack(test.map((s) => s.id), ctx.feature);
    const k = dataset.labels.length;
    const yTrain = targetsOf(train, dataset.problem, k);
    const yTest = targetsOf(test, dataset.problem, k);

    // 4. Fit and predict.
    const head = headPlugin.create({
      ...ctx.headOptions,
      ...("backend" in headPlugin.defaults ? { backend: ctx.headBackend } : {}),
      ...(dataset.problem === "multiclass" ? { task: "multiclass", numClasses: k } : {}),
    });
    let scores: HostTensor;
    let thresholds: Float64Array | undefined;
    let losses: number[] = [];
    let headBytes: Uint8Array | undefined;
    try {
      const fitBar = fitProgress(ctx.progress, `fit ${ctx.head}`, head);
      const fit = await timer.time("fit", () =>
        head.fit(xTrain, yTrain, {
          seed: ctx.seed,
          signal: ctx.signal,
          onProgress: fitBar.onProgress,
        }));
      fitBar.stop();
      losses = fit.losses;
      timer.count("fit", fit.losses.length, "epochs");
      scores = await timer.time("predict", () => head.predict(xTest)) as HostTensor;
      timer.count("predict", test.length, "samples");
      if (rule === "youden" && val.length > 0) {
        const valScores = await head.predict(
          await cache.stack(val.map((s) => s.id), ctx.feature),
        ) as HostTensor;
        const yVal = targetsOf(val, dataset.problem, k);
        thresholds = youdenThresholds(valScores.data, yVal.data, val.length, k).thresholds;
      }
      try {
        headBytes = head.save();
      } catch { /* heads without state (k-NN on a device) may not save */ }
    } finally {
      head.dispose();
    }

    // 5. Metrics per label, macro, bootstrap CIs.
    const target = dataset.problem === "multiclass"
      ? { data: yTest.data, shape: [test.length] }
      : yTest;
    const macro: Record<string, MetricValue> = {};
    const perLabel: Record<string, Record<string, number | null>> = {};
    const definitions: Record<string, string> = {};
    for (const l of dataset.labels) perLabel[l] = {};
    const metricOptions = thresholds ? { threshold: Array.from(thresholds) } : undefined;
    await timer.time("metrics", () => {
      for (const m of metricPlugins) {
        if (m.definition) definitions[m.name] = m.definition;
        const values = m.compute(scores, target, metricOptions);
        const { value, validCount } = macroOf(values);
        let ci: MetricValue["ci"] = null;
        let labelCis: BootstrapInterval[] = [];
        if (ctx.bootstrap > 0) {
          // The macro CI (NaN-skipping mean over labels, as macroOf) and one
          // CI per label from the same resamples.
          const interval = bootstrapCi(
            (p, t) => m.compute(p, t, metricOptions),
            scores,
            target,
            // Stratify by class for binary and multi-class; a multi-label row
            // pattern is nearly unique per sample, so resample plainly there.
            {
              samples: ctx.bootstrap,
              seed: ctx.seed,
              stratified: dataset.problem !== "multilabel",
              onElements: (cis) => (labelCis = cis),
            },
          );
          ci = {
            low: finiteOrNull(interval.low),
            high: finiteOrNull(interval.high),
            level: 0.95,
            samples: ctx.bootstrap,
          };
        }
        macro[m.name] = { value: finiteOrNull(value), ci, validCount };
        if (values.length === dataset.labels.length) {
          dataset.labels.forEach((l, i) => {
            perLabel[l][m.name] = finiteOrNull(values[i]);
            const c = labelCis[i];
            if (c) {
              perLabel[l][`${m.name}_ci_low`] = finiteOrNull(c.low);
              perLabel[l][`${m.name}_ci_high`] = finiteOrNull(c.high);
            }
          });
        }
      }
    });

    // 6. The record and the predictions.
    const splitSource = (dataset as { splitSource?: string }).splitSource;
    const record: ResultRecord = {
      schema: RESULT_SCHEMA,
      medprobeVersion: ctx.version,
      createdAt: new Date().toISOString(),
      dataset: ctx.datasetId,
      task: dataset.problem,
      labels: [...dataset.labels],
      protocol: {
        taskPlugin: "classification",
        trainSplit: protocol.trainSplit,
        testSplit: protocol.testSplit,
        resolution: ctx.resolution,
        feature: ctx.feature,
        seed: ctx.seed,
        batchSize: ctx.batchSize,
        bootstrapSamples: ctx.bootstrap,
        ciMethod: ctx.bootstrap > 0
          ? `percentile bootstrap, ${ctx.bootstrap} resamples of the test set${
            dataset.problem !== "multilabel" ? ", stratified by class" : ""
          }`
          : "none",
        metrics: [...ctx.metrics],
        ...(Object.keys(definitions).length ? { metricsDefinition: definitions } : {}),
        threshold: thresholds
          ? {
            rule: "youden",
            definition:
              `per label, the score threshold maximising Youden's J (TPR − FPR) on the validation set (${valSource}); a label is positive when its score is greater`,
            validation: val.length,
            perLabel: Object.fromEntries(
              dataset.labels.map((l, i) => [l, finiteOrNull(thresholds![i])]),
            ),
          }
          : {
            rule: "fixed",
            definition: dataset.problem === "multiclass"
              ? "the predicted class is the argmax of the scores"
              : "a label is positive when its score (sigmoid probability) is greater than 0.5",
          },
        limit: ctx.limit ?? null,
      },
      encoder: {
        ...encoder.info,
        ...ctx.encoderMeta,
        preprocess: encoder.preprocess,
      },
      adapter: { name: ctx.adapter, settings: { ...adapter.settings } },
      head: {
        name: ctx.head,
        hyperparameters: { ...head.hyperparameters },
        losses,
        ...(headBytes ? { file: "head.safetensors" } : {}),
      },
      data: {
        root: ctx.root,
        counts: {
          [protocol.trainSplit]: train.length,
          [protocol.testSplit]: test.length,
          ...(val.length ? { validation: val.length } : {}),
        },
        failed: failures.failed,
        cache: ctx.cacheDir,
        cacheHits: cached,
        // Cached features whose source files changed since (recomputed), and
        // samples without a source file to check (served by id).
        cacheStale: stale.length,
        ...(stale.length ? { cacheStaleIds: stale.slice(0, 100) } : {}),
        cacheUnchecked: unchecked,
        fingerprint: { scheme: FINGERPRINT_SCHEME, seconds: fingerprintSeconds },
        ...(splitSource ? { splitSource } : {}),
        ...skippedAtOpen(dataset),
      },
      timings: timer.finish(),
      metrics: { macro, perLabel },
      environment: environmentOf(ctx.environment),
      artifacts: {
        predictions: "predictions.csv",
        ...(headBytes ? { head: "head.safetensors" } : {}),
      },
    };
    await writeResult(ctx.out, record, {
      "predictions.csv": predictionsCsv(test, dataset.labels, scores, yTest),
      ...(headBytes ? { "head.safetensors": headBytes } : {}),
    });
    return record;
  } finally {
    cache.close();
  }
}

function validateClassificationProtocol(protocol: ProtocolDefaults): void {
  if (protocol.trainSplit === protocol.testSplit) {
    throw new TypeError(
      `protocol.testSplit must differ from protocol.trainSplit: both are "${protocol.trainSplit}"`,
    );
  }
}

/** The `classification` task plugin. */
export const classificationTask: TaskPlugin = {
  kind: "task",
  name: "classification",
  description:
    "One feature vector per image or volume → linear probe / k-NN → per-label metrics with bootstrap CIs",
  version: "0.2.0",
  input: "vectors",
  problems: ["binary", "multilabel", "multiclass"],
  options: [{
    name: "threshold",
    description:
      "decision threshold of accuracy, precision, recall, F1: fixed (0.5) or youden (per label, Youden's J on the validation split, else on 20 % of the training patients)",
    type: "string",
    choices: ["fixed", "youden"],
    default: "fixed",
  }],
  validateProtocol: validateClassificationProtocol,
  run: runClassification,
};

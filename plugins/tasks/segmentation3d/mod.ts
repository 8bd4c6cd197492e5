/**
 * The `segmentation3d` task (PROTOCOLS.md, "3D segmentation — stacked slice
 * features + light 3D decoder"):
 *
 * ```
 * dataset.open → labelled cases → k-fold patient-level split (fold files)
 *   → adapter chunks (slabs of slices) per case → feature cache (float16, resumable)
 *   → per fold: head.fit(train cases) → head.predict(val cases, sliding window)
 *   → the protocol's metrics per class per case (spacing-aware)
 *   → per fold means → mean ± std over folds → OUT/result.json
 *   + OUT/masks/fold_<k>/<case>.nii.gz (on the source grid and affine)
 *   + OUT/folds/fold_<k>.json, OUT/splits_final.json, OUT/cases.csv,
 *   OUT/heads/fold_<k>.safetensors
 * ```
 *
 * The adapter (`slice-stack` by default), the head (`decoder3d`) and the
 * metrics (`dice`, `hd95`, `voxel-precision`, `voxel-recall`) come from the
 * registry by the protocol's names or the caller's. Features are read back
 * as float16 bit patterns, so a large CT never holds its feature volume in
 * float32. A case that fails is recorded in `data.failed` (or stops the run
 * with `strict`).
 *
 * @example The task as a plugin
 * ```ts
 * import { segmentation3dTask } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(segmentation3dTask.input, "volumes");
 * assert.deepEqual(segmentation3dTask.options.map((o) => o.name), ["folds", "run-folds", "write-masks"]);
 * ```
 *
 * @module
 */

import { writeFileAtomic } from "../../../core/_fs.ts";
import type { FeatureCache, RawTensor } from "../../../core/cache.ts";
import { csvRow } from "../../../core/csv.ts";
import {
  adapterContext,
  cacheChunks,
  environmentOf,
  FailureLog,
  fitProgress,
  type Fold,
  hasChunks,
  openRunCache,
  patientFolds,
  readChunksRaw,
  safeFileName,
  StageTimer,
  writeFoldFiles,
  writeResult,
} from "../../../core/experiment.ts";
import { expectSource } from "../../../core/fingerprint.ts";
import type {
  Adapter,
  Head,
  MetricPlugin,
  ProtocolDefaults,
  Sample,
  TaskContext,
  TaskExtractReport,
  TaskPlugin,
  Volume,
} from "../../../core/plugin.ts";
import { reduceScores } from "../../../core/metrics.ts";
import { type MetricValue, RESULT_SCHEMA, type ResultRecord } from "../../../core/result.ts";
import { finiteOrNull, meanStd } from "../../../core/stats.ts";
import { writeNifti } from "../../formats/nifti/mod.ts";
import {
  isSegmentationSample,
  type SegmentationDataset,
  type SegmentationProtocolDefaults,
  type SegmentationSample,
  type VolumeCase,
  type VolumeCaseData,
  type VolumePrediction,
} from "./types.ts";

export * from "./types.ts";

/** A reader's warning about one sample (a documented fallback, as nibabel's). */
interface SampleWarning {
  id: string;
  path?: string;
  warning: string;
}

interface CaseInfo {
  sample: SegmentationSample;
  shape: [number, number, number];
  spacingMm: [number, number, number];
  affine?: readonly number[];
}

/**
 * Reassembles float16 chunks `[C, d_i, h, w]` along the depth axis into one
 * `[C, D, h, w]` volume of float16 bit patterns (never widened to float32).
 */
export function assembleF16Slabs(
  id: string,
  chunks: readonly RawTensor[],
): { data: Uint16Array; shape: [number, number, number, number] } {
  if (chunks.length === 0) throw new RangeError(`Cannot read features of "${id}": no chunk`);
  const [c, , h, w] = chunks[0].shape;
  const d = chunks.reduce((a, r) => a + r.shape[1], 0);
  const out = new Uint16Array(c * d * h * w);
  let z0 = 0;
  for (const raw of chunks) {
    const depth = raw.shape[1];
    if (
      raw.dtype !== "F16" || raw.shape.length !== 4 || raw.shape[0] !== c || raw.shape[2] !== h ||
      raw.shape[3] !== w
    ) {
      throw new TypeError(
        `Cannot read cached features of "${id}" as slab ${z0} must be F16 [${
          [c, depth, h, w].join(", ")
        }]: current is ${raw.dtype} [${raw.shape.join(", ")}]`,
      );
    }
    const bits = new Uint16Array(raw.bytes.slice().buffer);
    for (let ch = 0; ch < c; ch++) {
      out.set(bits.subarray(ch * depth * h * w, (ch + 1) * depth * h * w), (ch * d + z0) * h * w);
    }
    z0 += depth;
  }
  return { data: out, shape: [c, d, h, w] };
}

/** Reads a cached case back as float16 bit patterns `[C, D, h, w]`. */
export async function readCachedVolume(
  cache: FeatureCache,
  id: string,
  kind: string,
): Promise<{ data: Uint16Array; shape: [number, number, number, number] }> {
  return assembleF16Slabs(id, await readChunksRaw(cache, id, kind));
}

function affineRows(c: CaseInfo): number[][] {
  const a = c.affine;
  return a && a.length === 16 ? [a.slice(0, 4), a.slice(4, 8), a.slice(8, 12), a.slice(12, 16)] : [
    [c.spacingMm[2], 0, 0, 0],
    [0, c.spacingMm[1], 0, 0],
    [0, 0, c.spacingMm[0], 0],
    [0, 0, 0, 1],
  ];
}

/**
 * Loads each case, checks its fingerprint, and streams its slabs into the
 * cache unless they are there; failures are recorded (or thrown when
 * `strict`). Returns what the folds need of each case.
 */
async function extractCases(
  ctx: TaskContext,
  samples: readonly SegmentationSample[],
  adapter: Adapter,
  cache: FeatureCache,
  failures: FailureLog,
  timer: StageTimer,
): Promise<
  { info: Map<string, CaseInfo>; hits: number; computed: number; warnings: SampleWarning[] }
> {
  const actx = adapterContext(ctx);
  const info = new Map<string, CaseInfo>();
  const warnings: SampleWarning[] = [];
  let hits = 0;
  let slices = 0;
  let computed = 0;
  await timer.time("extract", async () => {
    const bar = ctx.progress?.("extract", samples.length, "volumes");
    for (const [i, s] of samples.entries()) {
      ctx.signal?.throwIfAborted();
      try {
        await expectSource(cache, s); // the cache serves only features of this file content
        const volume = await s.load() as Volume;
        if (volume?.kind !== "volume") {
          throw new TypeError(`Cannot segment sample "${s.id}" as it must load as a volume`);
        }
        for (const w of volume.warnings ?? []) {
          warnings.push({ id: s.id, path: s.path, warning: w });
        }
        info.set(s.id, {
          sample: s,
          shape: [...volume.shape],
          spacingMm: [...volume.spacingMm],
          affine: volume.affine,
        });
        if (hasChunks(cache, s.id)) hits++;
        else {
          await cacheChunks(cache, s.id, adapter, volume, actx);
          slices += volume.shape[0] * (volume.channels ?? 1);
          computed++;
        }
      } catch (e) {
        if (ctx.strict || ctx.signal?.aborted) throw e;
        failures.add(s, "extract", e);
      }
      bar?.update(i + 1);
    }
    bar?.stop();
  });
  timer.count("extract", slices, "slices");
  return { info, hits, computed, warnings };
}

/** The labelled cases a run uses: the protocol's training split, cut to `limit`. */
async function openCases(
  ctx: TaskContext,
): Promise<{ dataset: SegmentationDataset; samples: SegmentationSample[] }> {
  const dataset = await ctx.spec.open(ctx.root, { ...ctx.openOptions }) as SegmentationDataset;
  const all = dataset.samples(ctx.spec.protocol.trainSplit).filter(isSegmentationSample);
  return { dataset, samples: ctx.limit ? all.slice(0, ctx.limit) : all };
}

/**
 * Extracts the selected cases' feature volumes into the cache without
 * training (`medprobe extract --shard K/N`): whole volumes per shard.
 */
export async function extractSegmentation3d(
  ctx: TaskContext,
  select: (samples: readonly Sample[]) => readonly Sample[],
): Promise<TaskExtractReport> {
  const { dataset, samples } = await openCases(ctx);
  const chosen = select(samples) as SegmentationSample[];
  const adapter = ctx.registry.get("adapter", ctx.adapter).create({
    ...ctx.adapterOptions,
    ...dataset.adapterOptions,
  });
  const cache = await openRunCache(ctx, ctx.adapter, adapter);
  const failures = new FailureLog();
  try {
    const r = await extractCases(ctx, chosen, adapter, cache, failures, new StageTimer());
    return {
      samples: chosen.map((s) => s.id),
      computed: r.computed,
      cached: r.hits,
      failed: failures.failed,
      cacheDir: cache.dir,
    };
  } finally {
    cache.close();
  }
}

/** Runs the segmentation protocol (see the module doc). */
export async function runSegmentation3d(ctx: TaskContext): Promise<ResultRecord> {
  const { registry, spec, encoder, out, seed } = ctx;
  const timer = new StageTimer();
  const failures = new FailureLog();
  const { dataset, samples } = await timer.time("open", () => openCases(ctx));
  const protocol = spec.protocol as Partial<SegmentationProtocolDefaults> & ProtocolDefaults;
  const numClasses = dataset.labels.length;
  if (samples.length === 0) {
    throw new RangeError(
      `Cannot run segmentation on "${ctx.datasetId}" as split "${protocol.trainSplit}" has no labelled cases`,
    );
  }
  const k = (ctx.taskOptions.folds as number | undefined) ?? protocol.folds ?? 5;
  // A dataset with a published split (AutoPET: nnU-Net's autoPET-II folds)
  // gives its own folds; otherwise seeded patient-level folds.
  const own = dataset as { folds?: (k: number) => Fold[]; splitSource?: string };
  const folds = own.folds && !ctx.limit ? own.folds(k) : patientFolds(samples, k, seed);
  const splitSource = own.folds && !ctx.limit
    ? own.splitSource ?? "the dataset's own folds"
    : `seeded patient-level ${k}-fold split (seed ${seed})`;
  const runFolds = Array.from(
    {
      length: Math.min(
        k,
        (ctx.taskOptions.runFolds as number | undefined) ?? protocol.runFolds ?? k,
      ),
    },
    (_, i) => i,
  );
  const writeMasks = (ctx.taskOptions.writeMasks as boolean | undefined) ?? true;
  const artifacts: Record<string, string> = {};
  for (const f of await writeFoldFiles(out, folds, samples, seed)) artifacts[f] = f;

  // --- features: the adapter streams slabs into the cache -----------------
  const adapterOptions = {
    ...ctx.adapterOptions,
    ...dataset.adapterOptions,
  };
  const adapter: Adapter = registry.get("adapter", ctx.adapter).create(adapterOptions);
  const cache = await openRunCache(ctx, ctx.adapter, adapter);
  try {
    const { info, hits, warnings } = await extractCases(
      ctx,
      samples,
      adapter,
      cache,
      failures,
      timer,
    );

    const loadCase = (id: string): VolumeCase => ({
      id,
      async load(): Promise<VolumeCaseData> {
        const c = info.get(id)!;
        const volume = await c.sample.load() as Volume;
        const image = adapter.prepareInput ? adapter.prepareInput(volume) as Volume : volume;
        return {
          features: await readCachedVolume(cache, id, ctx.feature),
          image: image.data,
          imageChannels: volume.channels ?? 1,
          shape: c.shape,
          labels: await c.sample.loadLabels(),
        };
      },
    });

    // --- folds ------------------------------------------------------------
    const headPlugin = registry.get("head", ctx.head);
    const metricPlugins: MetricPlugin[] = ctx.metrics.map((m) => registry.get("metric", m));
    const headOptions = {
      ...ctx.headOptions,
      ...("backend" in headPlugin.defaults ? { backend: ctx.headBackend } : {}),
      numClasses,
    };
    const perCase: { fold: number; id: string; scores: Float64Array[] }[] = [];
    const foldRecords: NonNullable<ResultRecord["folds"]> = [];
    const losses: Record<string, number[]> = {};
    let hyperparameters: Record<string, unknown> = {};
    let trained = 0;
    let predicted = 0;
    for (const f of runFolds) {
      const fold = folds[f];
      const train = fold.train.filter((id) => info.has(id)).map(loadCase);
      const val = fold.val.filter((id) => info.has(id));
      if (train.length === 0 || val.length === 0) {
        throw new RangeError(
          `Cannot run fold ${f} as it needs training and validation cases: current counts are ${train.length} and ${val.length}`,
        );
      }
      const head: Head = headPlugin.create(headOptions);
      try {
        const fitBar = fitProgress(ctx.progress, `fold ${f} fit`, head);
        const fit = await timer.time("fit", () =>
          head.fit(train, undefined, {
            seed: seed + f,
            signal: ctx.signal,
            onProgress: fitBar.onProgress,
          }));
        fitBar.stop();
        losses[`fold_${f}`] = fit.losses;
        trained += train.length;
        hyperparameters = { ...head.hyperparameters };
        const headFile = `heads/fold_${f}.safetensors`;
        await Deno.mkdir(`${out}/heads`, { recursive: true });
        await writeFileAtomic(`${out}/${headFile}`, head.save());
        artifacts[`heads/fold_${f}`] = headFile;
        const foldScores: Float64Array[][] = [];
        const pbar = ctx.progress?.(`fold ${f} predict`, val.length, "volumes");
        for (const [j, id] of val.entries()) {
          ctx.signal?.throwIfAborted();
          const c = info.get(id)!;
          const data = await loadCase(id).load();
          const [pred] = await timer.time(
            "predict",
            () => head.predict([{ id, load: () => Promise.resolve(data) }]),
          ) as VolumePrediction[];
          predicted++;
          const scores = await timer.time("metrics", () => {
            const p = { data: pred.labels, shape: [...c.shape] };
            const t = { data: data.labels as Uint8Array, shape: [...c.shape] };
            return metricPlugins.map((m) =>
              m.compute(p, t, { numClasses, spacing: [...c.spacingMm] })
            );
          });
          foldScores.push(scores);
          perCase.push({ fold: f, id, scores });
          if (writeMasks) {
            const file = `masks/fold_${f}/${safeFileName(id)}.nii.gz`;
            await Deno.mkdir(`${out}/masks/fold_${f}`, { recursive: true });
            await writeNifti(`${out}/${file}`, pred.labels, {
              shape: [c.shape[2], c.shape[1], c.shape[0]],
              affine: affineRows(c),
              datatype: "uint8",
              description: `medprobe ${ctx.head} fold ${f}`,
            });
          }
          pbar?.update(j + 1);
        }
        pbar?.stop();
        const metrics: Record<string, MetricValue> = {};
        metricPlugins.forEach((m, mi) => {
          const rows = foldScores.map((s) =>
            Array.from(s[mi], (v) => Number.isFinite(v) ? v : NaN)
          );
          const perClass = reduceScores(rows, "mean_batch");
          const overall = reduceScores(rows, "mean");
          // A mean over no defined value is "undefined" (null), not MONAI's 0.
          metrics[m.name] = {
            value: overall.validCount[0] > 0 ? finiteOrNull(overall.value[0]) : null,
            validCount: overall.validCount[0],
          };
          dataset.labels.slice(1).forEach((label, ci) => {
            metrics[`${m.name}/${label}`] = {
              value: perClass.validCount[ci] > 0 ? finiteOrNull(perClass.value[ci]) : null,
              validCount: perClass.validCount[ci],
            };
          });
        });
        foldRecords.push({ index: f, metrics });
      } finally {
        head.dispose();
      }
    }
    timer.count("fit", trained, "training volumes");
    timer.count("predict", predicted, "volumes");
    if (writeMasks && runFolds.length > 0) artifacts.masks = "masks";

    // --- aggregate over folds -------------------------------------------------
    const macro: Record<string, MetricValue> = {};
    const perLabel: Record<string, Record<string, number | null>> = {};
    const definitions: Record<string, string> = {};
    for (const m of metricPlugins) {
      if (m.definition) definitions[m.name] = m.definition;
      const s = meanStd(foldRecords.map((r) => r.metrics[m.name].value ?? NaN));
      macro[m.name] = { value: finiteOrNull(s.mean), std: finiteOrNull(s.std), validCount: s.n };
      for (const label of dataset.labels.slice(1)) {
        const per = meanStd(foldRecords.map((r) => r.metrics[`${m.name}/${label}`].value ?? NaN));
        perLabel[label] ??= {};
        perLabel[label][m.name] = finiteOrNull(per.mean);
        perLabel[label][`${m.name}_std`] = finiteOrNull(per.std);
      }
    }
    artifacts.cases = "cases.csv";
    const channels = (dataset as { channels?: unknown }).channels;
    const record: ResultRecord = {
      schema: RESULT_SCHEMA,
      medprobeVersion: ctx.version,
      createdAt: new Date().toISOString(),
      dataset: ctx.datasetId,
      task: dataset.problem,
      labels: dataset.labels.slice(1),
      protocol: {
        taskPlugin: "segmentation3d",
        trainSplit: protocol.trainSplit,
        testSplit: `${k}-fold patient-level cross-validation`,
        resolution: ctx.resolution,
        feature: ctx.feature,
        seed,
        batchSize: ctx.batchSize,
        folds: k,
        runFolds,
        metrics: [...ctx.metrics],
        ...(channels !== undefined ? { channels } : {}),
        reduction:
          "per fold: mean over cases (NaN skipped) per class; then mean ± sample std over folds",
        ...(Object.keys(definitions).length ? { metricsDefinition: definitions } : {}),
        ...(runFolds.length === 1 ? { fold: { index: runFolds[0], count: k } } : {}),
        limit: ctx.limit ?? null,
      },
      encoder: { ...encoder.info, ...ctx.encoderMeta, preprocess: encoder.preprocess },
      adapter: { name: ctx.adapter, settings: { ...adapter.settings, batchSize: ctx.batchSize } },
      head: {
        name: ctx.head,
        hyperparameters,
        losses: Object.values(losses).flat(),
        lossesByFold: losses,
      },
      data: {
        root: ctx.root,
        counts: {
          cases: samples.length,
          extracted: info.size,
          ...Object.fromEntries(runFolds.map((f) => [`fold_${f}_val`, folds[f].val.length])),
        },
        failed: failures.failed,
        cache: cache.dir,
        cacheHits: hits,
        splitSource,
        // Readers' documented fallbacks (e.g. an unusable NIfTI sform → qform).
        ...(warnings.length ? { warnings } : {}),
      },
      timings: timer.finish(),
      metrics: { macro, perLabel },
      folds: foldRecords,
      environment: environmentOf(ctx.environment),
      artifacts,
    };
    await writeResult(out, record, {
      "cases.csv": casesCsv(perCase, metricPlugins.map((m) => m.name), dataset.labels.slice(1)),
    });
    return record;
  } finally {
    cache.close();
  }
}

/** `fold,case,<metric>_<label>...` per validated case. */
export function casesCsv(
  rows: readonly { fold: number; id: string; scores: readonly Float64Array[] }[],
  metrics: readonly string[],
  labels: readonly string[],
): string {
  const header = ["fold", "case", ...labels.flatMap((l) => metrics.map((m) => `${m}_${l}`))];
  const fmt = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null);
  const lines = rows.map((r) =>
    csvRow([
      r.fold,
      r.id,
      ...labels.flatMap((_, c) => metrics.map((_m, mi) => fmt(r.scores[mi][c]))),
    ])
  );
  return [csvRow(header), ...lines].join("\n") + "\n";
}

const OPTIONS = [
  {
    name: "folds",
    description: "folds of the patient-level cross-validation (default: the protocol's)",
    type: "int",
    min: 2,
    max: 100,
  },
  {
    name: "run-folds",
    description: "run only the first N folds (default: the protocol's)",
    type: "int",
    min: 1,
    max: 100,
  },
  {
    name: "write-masks",
    description: "write predicted masks as .nii.gz",
    type: "boolean",
    default: true,
  },
] as const;

function validateSegmentationProtocol(protocol: ProtocolDefaults): void {
  const p = protocol as Partial<SegmentationProtocolDefaults>;
  for (const field of ["folds", "runFolds"] as const) {
    const v = p[field];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
      throw new TypeError(`protocol.${field} must be a positive integer: current value is ${v}`);
    }
  }
}

/** The `segmentation3d` task plugin. */
export const segmentation3dTask: TaskPlugin = {
  kind: "task",
  name: "segmentation3d",
  description:
    "Volumes → stacked slice features → a light 3D decoder per fold → Dice, HD95, precision, recall",
  version: "0.2.0",
  input: "volumes",
  problems: ["segmentation"],
  options: OPTIONS,
  validateProtocol: validateSegmentationProtocol,
  run: runSegmentation3d,
  extract: extractSegmentation3d,
};

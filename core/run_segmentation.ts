/**
 * The 3D segmentation protocol runner (PROTOCOLS.md, "3D segmentation —
 * stacked slice features + light 3D decoder"):
 *
 * ```
 * dataset.open → labelled cases → k-fold patient-level split (fold files)
 *   → slice-stack features per case → feature cache (float16 slabs, resumable)
 *   → per fold: decoder3d.fit(train cases) → sliding-window predict(val cases)
 *   → per class Dice, HD95 (mm, spacing-aware), precision, recall per case
 *   → per fold means → mean ± std over folds → OUT/result.json
 *   + OUT/masks/<fold>/<case>.nii.gz (on the source grid and affine)
 *   + OUT/folds/fold_<k>.json, OUT/splits_final.json, OUT/cases.csv
 * ```
 *
 * Features are extracted once per case (the cache key holds the dataset,
 * encoder and its weights checksum, resolution and adapter settings) and
 * stored as float16 slabs of slices; a case's features are read back as
 * float16 bit patterns, so a large CT never holds its feature volume in
 * float32. A case that fails to load or encode is recorded in
 * `data.failed` (or stops the run with `strict`).
 *
 * Datasets plug in through {@linkcode SegmentationSample}: a sample whose
 * `load()` gives the image {@linkcode Volume} (all channels) and whose
 * `loadLabels()` gives the label map on the same grid.
 *
 * Uses `Deno.*` for files (read data and weights, write `out` and the cache).
 *
 * @module
 */

import { FeatureCache } from "./cache.ts";
import { cacheKeyFor } from "./extract.ts";
import type {
  AdapterContext,
  Dataset,
  Encoder,
  ProtocolDefaults,
  Sample,
  Volume,
} from "./plugin.ts";
import type { Registry } from "./registry.ts";
import { reduceScores } from "./metrics.ts";
import {
  type FailedSample,
  formatResultRecord,
  type MetricValue,
  RESULT_SCHEMA,
  type ResultRecord,
  type StageTiming,
} from "./result.ts";
import type { GpuContext } from "./gpu.ts";
import { readNifti, writeNifti } from "../plugins/formats/nifti/mod.ts";
import {
  computeDice,
  computeVoxelPrecision,
  computeVoxelRecall,
} from "../plugins/metrics/overlap.ts";
import { computeSurfaceMetrics } from "../plugins/metrics/surface.ts";
import {
  extractSliceStack,
  type IntensityWindow,
  normalizeVolume,
  resolveSliceStackOptions,
  SLICE_STACK_KIND,
} from "../plugins/adapters/slice_stack/mod.ts";
import {
  createDecoder3dHead,
  type Decoder3dCase,
  type Decoder3dData,
  type FeatureVolume,
} from "../plugins/heads/decoder3d/mod.ts";
import { createMulberry32, shuffle } from "./random.ts";

// ------------------------------------------------------------ samples --

/** A labelled 3D sample: `load()` gives the image volume, `loadLabels()` its label map. */
export interface SegmentationSample extends Sample {
  /** The label file, for messages and records. */
  readonly labelPath?: string;
  /** Class indices `[D, H, W]` on the grid of `load()`'s volume. */
  loadLabels(): Promise<Uint8Array>;
}

/** True when a sample carries labels for segmentation. */
export function isSegmentationSample(sample: Sample): sample is SegmentationSample {
  return typeof (sample as SegmentationSample).loadLabels === "function";
}

/**
 * An opened segmentation dataset. `adapterOptions` overrides the protocol's
 * for what was opened (e.g. one intensity window per channel chosen with
 * `channels: "ct+pet"`).
 */
export interface SegmentationDataset extends Dataset {
  /** Adapter options that depend on how the dataset was opened. */
  readonly adapterOptions?: Readonly<Record<string, unknown>>;
}

/** Protocol defaults of a segmentation dataset: the common ones plus the cross-validation. */
export interface SegmentationProtocolDefaults extends ProtocolDefaults {
  /** Folds of the patient-level cross-validation (5 → 80/20 splits). */
  readonly folds: number;
  /** How many of the folds are run (all for MSD; 1 = one 80/20 split, as for PET/CT). */
  readonly runFolds: number;
}

/**
 * Reads a label map (NIfTI) and checks that it lies on the image grid
 * `[D, H, W]` and holds class indices in `[0, numClasses)`.
 * Uses `Deno.open` (read permission).
 */
export async function readLabelVolume(
  path: string,
  shape: readonly [number, number, number],
  numClasses: number,
): Promise<Uint8Array> {
  const image = await readNifti(path);
  const s = image.shape;
  const [d, h, w] = [s[2] ?? 1, s[1] ?? 1, s[0]];
  if (d !== shape[0] || h !== shape[1] || w !== shape[2] || s.slice(3).some((x) => x !== 1)) {
    throw new TypeError(
      `Cannot read labels "${path}" as they must lie on the image grid [${
        shape.join(", ")
      }] (D, H, W): current grid is [${[d, h, w].join(", ")}]`,
    );
  }
  const out = new Uint8Array(d * h * w);
  const src = image.data;
  const slope = image.scaling?.slope ?? 1;
  const inter = image.scaling?.inter ?? 0;
  for (let i = 0; i < out.length; i++) {
    const v = Number(src[i]) * slope + inter;
    const c = Math.round(v);
    if (!(Math.abs(v - c) < 1e-3 && c >= 0 && c < numClasses)) {
      throw new RangeError(
        `Cannot read labels "${path}" as voxels must hold class indices in [0, ${numClasses}): voxel ${i} holds ${v}`,
      );
    }
    out[i] = c;
  }
  return out;
}

// -------------------------------------------------------------- folds --

/** One fold of a cross-validation: sample ids to train on and to validate on. */
export interface SegmentationFold {
  /** 0-based fold index. */
  readonly index: number;
  /** Training sample ids. */
  readonly train: readonly string[];
  /** Validation sample ids. */
  readonly val: readonly string[];
}

/**
 * A patient-level k-fold split: subjects (the sample's `subject`, else its
 * id) are shuffled with the seed and dealt round-robin into `k` folds, so
 * no patient is in the training and validation set of a fold. Fold `i`
 * validates on the i-th group and trains on the rest.
 *
 * @example
 * ```ts
 * import { patientFolds } from "./run_segmentation.ts";
 * import assert from "node:assert/strict";
 * const samples = ["a1", "a2", "b", "c", "d", "e"].map((id) => ({ id, subject: id[0], load: () => Promise.reject() }));
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
): SegmentationFold[] {
  if (!Number.isInteger(k) || k < 2) {
    throw new RangeError(
      `Cannot split into folds as k must be an integer >= 2: current value is ${k}`,
    );
  }
  const bySubject = new Map<string, string[]>();
  for (const s of samples) {
    const key = s.subject ?? s.id;
    bySubject.set(key, [...(bySubject.get(key) ?? []), s.id]);
  }
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
 * Writes `folds/fold_<k>.json` (ids, subjects and seed) and the
 * nnU-Net-style `splits_final.json` (`[{ train, val }, ...]`) into `out`.
 */
export async function writeFoldFiles(
  out: string,
  folds: readonly SegmentationFold[],
  samples: readonly Pick<Sample, "id" | "subject">[],
  seed: number,
): Promise<string[]> {
  await Deno.mkdir(`${out}/folds`, { recursive: true });
  const subject = new Map(samples.map((s) => [s.id, s.subject ?? s.id]));
  const files: string[] = [];
  for (const f of folds) {
    const file = `folds/fold_${f.index}.json`;
    await Deno.writeTextFile(
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
  await Deno.writeTextFile(
    `${out}/splits_final.json`,
    JSON.stringify(folds.map((f) => ({ train: f.train, val: f.val })), null, 2) + "\n",
  );
  return [...files, "splits_final.json"];
}

// ------------------------------------------------- features in the cache --

const META_KIND = "volume_meta";

function slabId(id: string, z0: number): string {
  return `${id}#z${String(z0).padStart(5, "0")}`;
}

/** True when the cache holds every slab of a case (its meta entry is written last). */
export function hasCachedStack(cache: FeatureCache, id: string): boolean {
  return cache.has(`${id}#meta`, [META_KIND]);
}

/**
 * Extracts a case's slice-stack features into the cache: every slab of
 * slices as its own shard (float16), then a meta entry `[C, D, h, w, slab]`
 * marking the case complete. Returns the feature shape.
 */
export async function cacheSliceStack(
  cache: FeatureCache,
  id: string,
  volume: Volume,
  ctx: AdapterContext,
  adapterOptions: Record<string, unknown>,
): Promise<[number, number, number, number]> {
  let slabDepth = 0;
  const shape = await extractSliceStack(volume, ctx, adapterOptions, async (slab) => {
    slabDepth ||= slab.features.shape[1];
    await cache.put([{ id: slabId(id, slab.z0), features: { [SLICE_STACK_KIND]: slab.features } }]);
  });
  await cache.put([{
    id: `${id}#meta`,
    features: { [META_KIND]: { data: Float32Array.from([...shape, slabDepth]), shape: [5] } },
  }]);
  return shape;
}

/** Reads a cached case back as float16 bit patterns `[C, D, h, w]` (never widened to float32). */
export async function readCachedStack(cache: FeatureCache, id: string): Promise<FeatureVolume> {
  const meta = await cache.read(`${id}#meta`, META_KIND);
  const [c, d, h, w, slab] = Array.from(meta.data);
  const out = new Uint16Array(c * d * h * w);
  for (let z0 = 0; z0 < d; z0 += slab) {
    const depth = Math.min(slab, d - z0);
    const raw = await cache.readRaw(slabId(id, z0), SLICE_STACK_KIND);
    if (raw.dtype !== "F16" || raw.shape.join() !== [c, depth, h, w].join()) {
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
  }
  return { data: out, shape: [c, d, h, w] };
}

// ------------------------------------------------------------ metrics --

/** Per-class scores of one case (foreground classes 1..K−1). */
export interface CaseScores {
  /** Dice (NaN when the class is absent from the ground truth). */
  dice: Float64Array;
  /** 95th-percentile Hausdorff distance in mm (NaN or Infinity when a mask is empty). */
  hd95: Float64Array;
  /** Voxel precision (NaN when nothing is predicted). */
  precision: Float64Array;
  /** Voxel recall (NaN when the class is absent). */
  recall: Float64Array;
}

/** The scores of one predicted label map against its ground truth, with the voxel spacing `[z, y, x]` mm. */
export function scoreCase(
  prediction: Uint8Array,
  target: Uint8Array,
  shape: readonly [number, number, number],
  numClasses: number,
  spacingMm: readonly [number, number, number],
): CaseScores {
  const p = { data: prediction, shape: [...shape] };
  const t = { data: target, shape: [...shape] };
  return {
    dice: computeDice(p, t, { numClasses }),
    hd95: computeSurfaceMetrics(p, t, { numClasses, spacing: [...spacingMm], percentile: 95 })
      .hdPercentile,
    precision: computeVoxelPrecision(p, t, { numClasses }),
    recall: computeVoxelRecall(p, t, { numClasses }),
  };
}

const METRICS = ["dice", "hd95", "precision", "recall"] as const;
type MetricName = typeof METRICS[number];

function finiteOrNaN(v: number): number {
  return Number.isFinite(v) ? v : NaN;
}

function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const ok = values.filter(Number.isFinite);
  if (ok.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = ok.length > 1
    ? Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1))
    : 0;
  return { mean, std, n: ok.length };
}

// -------------------------------------------------------------- runner --

/** Reports progress of one long stage (the shape `core/run.ts` uses). */
export interface SegmentationStageProgress {
  /** Sets the number of finished items. */
  update(done: number): void;
  /** Ends the stage. */
  stop(): void;
}

/** Options of {@linkcode runSegmentationEvaluation}. */
export interface SegmentationEvaluationOptions {
  /** Plugins; the modality named by `dataset` is looked up here (or pass `spec`). */
  registry?: Registry;
  /** `modality/dataset`, e.g. `"ct/msd-task09"` or `"pet/autopet"`. */
  dataset: string;
  /** Dataset root folder, as downloaded. */
  root: string;
  /** Options for the dataset's `open` (e.g. `{ channels: "ct+pet" }`). */
  openOptions?: Record<string, unknown>;
  /** An opened dataset, instead of opening `root` through the registry. */
  opened?: Dataset;
  /** The dataset's protocol defaults, when `opened` is given. */
  protocol?: ProtocolDefaults;
  /** The encoder (created by the caller; not disposed here). */
  encoder: Encoder;
  /** Weights folder and whether they are pretrained, for the record. */
  encoderMeta?: { weights?: string; pretrained?: boolean };
  /** Head options merged over the protocol's (e.g. `{ epochs: 100 }`). */
  headOptions?: Record<string, unknown>;
  /** Adapter options merged over the protocol's (e.g. `{ window: [-175, 250] }`). */
  adapterOptions?: Record<string, unknown>;
  /** Encoder input resolution. @default the protocol's */
  resolution?: number | [number, number] | "native";
  /** Slices per encoder batch. @default {16} */
  batchSize?: number;
  /** Seed of the folds and of the head. @default {0} */
  seed?: number;
  /** Folds of the cross-validation. @default the protocol's (5) */
  folds?: number;
  /** Folds to run: a count (the first n) or explicit indices. @default the protocol's */
  runFolds?: number | readonly number[];
  /** Feature cache folder. @default {`${out}/cache`} */
  cacheDir?: string;
  /** Output folder. */
  out: string;
  /** Write predicted masks as `.nii.gz`. @default {true} */
  writeMasks?: boolean;
  /** Stop at the first failed case instead of recording it. @default {false} */
  strict?: boolean;
  /** Use at most this many labelled cases (quick runs). */
  limit?: number;
  /** A WebGPU context for the decoder (else one is requested). */
  gpu?: GpuContext;
  /** Progress reporter factory. */
  progress?: (stage: string, total: number, unit: string) => SegmentationStageProgress;
  /** Called after each training epoch of each fold. */
  onEpoch?: (fold: number, epoch: number, epochs: number, loss: number) => void;
  /** Stops the run between cases and training steps. */
  signal?: AbortSignal;
  /** medprobe version for the record. */
  version: string;
}

interface CaseInfo {
  sample: SegmentationSample;
  shape: [number, number, number];
  spacingMm: [number, number, number];
  affine?: readonly number[];
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, "_");
}

function now(): number {
  return performance.now() / 1000;
}

/**
 * Runs the segmentation protocol end to end and writes `result.json`
 * (a {@linkcode ResultRecord} with per-fold metrics in `folds`), per-case
 * scores (`cases.csv`), fold files and predicted masks into `out`.
 */
export async function runSegmentationEvaluation(
  options: SegmentationEvaluationOptions,
): Promise<ResultRecord> {
  const out = options.out;
  await Deno.mkdir(out, { recursive: true });
  const seed = options.seed ?? 0;
  const [modalityName, datasetName] = options.dataset.split("/");
  let dataset = options.opened;
  let protocol = options.protocol;
  if (!dataset) {
    if (!options.registry) {
      throw new TypeError("Cannot run segmentation as it needs a registry or an opened dataset");
    }
    const modality = options.registry.get("modality", modalityName);
    const spec = modality.datasets.find((d) => d.name === datasetName);
    if (!spec) {
      throw new TypeError(
        `Cannot run segmentation as modality "${modalityName}" has no dataset "${datasetName}": known datasets are ${
          modality.datasets.map((d) => d.name).join(", ")
        }`,
      );
    }
    dataset = await spec.open(options.root, options.openOptions);
    protocol ??= spec.protocol;
  }
  if (!protocol) {
    throw new TypeError("Cannot run segmentation as the protocol defaults are missing");
  }
  if (dataset.task !== "segmentation") {
    throw new TypeError(
      `Cannot run segmentation on "${dataset.id}" as its task must be "segmentation": current task is "${dataset.task}"`,
    );
  }
  const seg = protocol as Partial<SegmentationProtocolDefaults>;
  const numClasses = dataset.labels.length;
  const all = dataset.samples(protocol.trainSplit).filter(isSegmentationSample);
  const samples = options.limit ? all.slice(0, options.limit) : all;
  if (samples.length === 0) {
    throw new RangeError(
      `Cannot run segmentation on "${dataset.id}" as split "${protocol.trainSplit}" has no labelled cases`,
    );
  }
  const k = options.folds ?? seg.folds ?? 5;
  const folds = patientFolds(samples, k, seed);
  const runFolds = typeof options.runFolds === "object"
    ? [...options.runFolds]
    : Array.from({ length: Math.min(k, options.runFolds ?? seg.runFolds ?? k) }, (_, i) => i);
  for (const f of runFolds) {
    if (!(Number.isInteger(f) && f >= 0 && f < k)) {
      throw new RangeError(`Cannot run fold ${f} as folds are numbered 0..${k - 1}`);
    }
  }
  const artifacts: Record<string, string> = {};
  for (const f of await writeFoldFiles(out, folds, samples, seed)) artifacts[f] = f;

  // --- features ---------------------------------------------------------
  const resolution = options.resolution ?? protocol.resolution;
  const batchSize = options.batchSize ?? 16;
  const adapterOptions = {
    ...protocol.adapterOptions,
    ...(dataset as SegmentationDataset).adapterOptions,
    ...options.adapterOptions,
  };
  const adapterSettings = resolveSliceStackOptions(adapterOptions);
  const windows: IntensityWindow[] = adapterSettings.window;
  const encoder = options.encoder;
  const cacheDir = options.cacheDir ?? `${out}/cache`;
  const key = cacheKeyFor({
    dataset: dataset.id,
    encoder,
    resolution,
    adapter: {
      name: "slice-stack",
      settings: { window: windows, percentiles: adapterSettings.percentiles },
    },
  });
  const cache = await FeatureCache.open(cacheDir, key);
  const ctx: AdapterContext = { encoder, resolution, batchSize, signal: options.signal };
  const failed: FailedSample[] = [];
  const info = new Map<string, CaseInfo>();
  const timings: Record<string, StageTiming> = {};
  let t0 = now();
  let hits = 0;
  let slices = 0;
  const bar = options.progress?.("extract", samples.length, "volumes");
  for (const [i, s] of samples.entries()) {
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      const volume = await s.load() as Volume;
      if (volume?.kind !== "volume") {
        throw new TypeError(`Cannot segment sample "${s.id}" as it must load as a volume`);
      }
      info.set(s.id, {
        sample: s,
        shape: [...volume.shape],
        spacingMm: [...volume.spacingMm],
        affine: volume.affine,
      });
      if (hasCachedStack(cache, s.id)) {
        hits++;
      } else {
        await cacheSliceStack(cache, s.id, volume, ctx, adapterOptions);
        slices += volume.shape[0] * (volume.channels ?? 1);
      }
    } catch (e) {
      if (options.strict || options.signal?.aborted) throw e;
      failed.push({ id: s.id, path: s.path, stage: "extract", reason: (e as Error).message });
    }
    bar?.update(i + 1);
  }
  bar?.stop();
  timings.extract = {
    seconds: now() - t0,
    items: slices,
    unit: "slices",
    perSecond: slices / Math.max(now() - t0, 1e-9),
  };

  const loadCase = (id: string): Decoder3dCase => ({
    id,
    async load(): Promise<Decoder3dData> {
      const c = info.get(id)!;
      const volume = await c.sample.load() as Volume;
      return {
        features: await readCachedStack(cache, id),
        image: normalizeVolume(volume, windows, adapterSettings.percentiles),
        imageChannels: volume.channels ?? 1,
        shape: c.shape,
        labels: await c.sample.loadLabels(),
      };
    },
  });

  // --- folds --------------------------------------------------------------
  const headOptions = {
    ...(protocol.headOptions?.decoder3d ?? {}),
    ...options.headOptions,
    numClasses,
  };
  const perCase: { fold: number; id: string; scores: CaseScores }[] = [];
  const foldRecords: NonNullable<ResultRecord["folds"]> = [];
  let hyperparameters: Record<string, unknown> = {};
  let fitSeconds = 0;
  let predictSeconds = 0;
  let metricSeconds = 0;
  let predicted = 0;
  let trained = 0;
  for (const f of runFolds) {
    const fold = folds[f];
    const train = fold.train.filter((id) => info.has(id)).map(loadCase);
    const val = fold.val.filter((id) => info.has(id));
    if (train.length === 0 || val.length === 0) {
      throw new RangeError(
        `Cannot run fold ${f} as it needs training and validation cases: current counts are ${train.length} and ${val.length}`,
      );
    }
    const head = createDecoder3dHead({ ...headOptions, gpu: options.gpu });
    try {
      t0 = now();
      await head.fit(train, undefined, {
        seed: seed + f,
        signal: options.signal,
        onProgress: (p) => options.onEpoch?.(f, p.epoch, p.epochs, p.loss),
      });
      fitSeconds += now() - t0;
      trained += train.length;
      hyperparameters = { ...head.hyperparameters };
      await Deno.mkdir(`${out}/heads`, { recursive: true });
      await Deno.writeFile(`${out}/heads/fold_${f}.safetensors`, head.save());
      artifacts[`heads/fold_${f}`] = `heads/fold_${f}.safetensors`;
      const foldScores: CaseScores[] = [];
      const pbar = options.progress?.(`fold ${f} predict`, val.length, "volumes");
      for (const [j, id] of val.entries()) {
        if (options.signal?.aborted) throw options.signal.reason;
        const c = info.get(id)!;
        t0 = now();
        const data = await loadCase(id).load();
        const pred = await head.predictVolume(data, id);
        predictSeconds += now() - t0;
        predicted++;
        t0 = now();
        const scores = scoreCase(
          pred.labels,
          data.labels as Uint8Array,
          c.shape,
          numClasses,
          c.spacingMm,
        );
        metricSeconds += now() - t0;
        foldScores.push(scores);
        perCase.push({ fold: f, id, scores });
        if (options.writeMasks ?? true) {
          const dir = `masks/fold_${f}`;
          await Deno.mkdir(`${out}/${dir}`, { recursive: true });
          const file = `${dir}/${safeName(id)}.nii.gz`;
          const a = c.affine;
          const affine = a && a.length === 16
            ? [a.slice(0, 4), a.slice(4, 8), a.slice(8, 12), a.slice(12, 16)]
            : [[c.spacingMm[2], 0, 0, 0], [0, c.spacingMm[1], 0, 0], [0, 0, c.spacingMm[0], 0], [
              0,
              0,
              0,
              1,
            ]];
          await writeNifti(`${out}/${file}`, pred.labels, {
            shape: [c.shape[2], c.shape[1], c.shape[0]],
            affine,
            datatype: "uint8",
            description: `medprobe decoder3d fold ${f}`,
          });
        }
        pbar?.update(j + 1);
      }
      pbar?.stop();
      const metrics: Record<string, MetricValue> = {};
      for (const m of METRICS) {
        const rows = foldScores.map((s) => Array.from(s[m], finiteOrNaN));
        const perClass = reduceScores(rows, "mean_batch");
        const overall = reduceScores(rows, "mean");
        // A mean over no defined value is "undefined" (null), not MONAI's 0.
        metrics[m] = {
          value: overall.validCount[0] > 0 ? finiteOrNull(overall.value[0]) : null,
          validCount: overall.validCount[0],
        };
        dataset.labels.slice(1).forEach((label, c) => {
          metrics[`${m}/${label}`] = {
            value: perClass.validCount[c] > 0 ? finiteOrNull(perClass.value[c]) : null,
            validCount: perClass.validCount[c],
          };
        });
      }
      foldRecords.push({ index: f, metrics });
    } finally {
      head.dispose();
    }
  }
  if (runFolds.length > 0) {
    artifacts.masks = "masks";
    timings.fit = { seconds: fitSeconds, items: trained, unit: "training volumes" };
    timings.predict = {
      seconds: predictSeconds,
      items: predicted,
      unit: "volumes",
      perSecond: predicted / Math.max(predictSeconds, 1e-9),
    };
    timings.metrics = { seconds: metricSeconds, items: predicted, unit: "volumes" };
  }

  // --- aggregate ------------------------------------------------------------
  const macro: Record<string, MetricValue> = {};
  const perLabel: Record<string, Record<string, number | null>> = {};
  for (const m of METRICS) {
    const s = meanStd(foldRecords.map((r) => r.metrics[m].value ?? NaN));
    macro[m] = { value: finiteOrNull(s.mean), std: finiteOrNull(s.std), validCount: s.n };
    for (const label of dataset.labels.slice(1)) {
      perLabel[label] ??= {};
      perLabel[label][m] = finiteOrNull(
        meanStd(foldRecords.map((r) => r.metrics[`${m}/${label}`].value ?? NaN)).mean,
      );
      const sd = meanStd(foldRecords.map((r) => r.metrics[`${m}/${label}`].value ?? NaN)).std;
      perLabel[label][`${m}_std`] = finiteOrNull(sd);
    }
  }
  await writeCasesCsv(`${out}/cases.csv`, perCase, dataset.labels.slice(1));
  artifacts.cases = "cases.csv";

  const record: ResultRecord = {
    schema: RESULT_SCHEMA,
    medprobeVersion: options.version,
    createdAt: new Date().toISOString(),
    dataset: dataset.id,
    task: "segmentation",
    labels: dataset.labels.slice(1),
    protocol: {
      trainSplit: protocol.trainSplit,
      testSplit: `${k}-fold patient-level cross-validation`,
      resolution,
      feature: SLICE_STACK_KIND,
      seed,
      folds: k,
      runFolds,
      reduction:
        "per fold: mean over cases (NaN skipped) per class; then mean ± sample std over folds",
      metricsDefinition: {
        dice:
          "Dice per foreground class; NaN when the class is absent from the ground truth (MONAI ignore_empty)",
        hd95:
          "95th-percentile symmetric Hausdorff distance in mm with the voxel spacing (MONAI); cases with an empty mask are skipped",
        precision: "voxel precision per class",
        recall: "voxel recall per class",
      },
      ...(runFolds.length === 1 ? { fold: { index: runFolds[0], count: k } } : {}),
    },
    encoder: {
      id: encoder.info.id,
      backend: encoder.info.backend,
      backendReason: encoder.info.backendReason,
      weightsSha256: encoder.info.weightsSha256,
      dim: encoder.info.dim,
      patchSize: encoder.info.patchSize,
      precision: encoder.info.precision,
      ...(options.encoderMeta ?? {}),
    },
    adapter: {
      name: "slice-stack",
      settings: {
        window: windows,
        percentiles: adapterSettings.percentiles,
        batchSize,
        cache: "float16 slabs",
      },
    },
    head: { name: "decoder3d", hyperparameters },
    data: {
      root: options.root,
      counts: {
        cases: samples.length,
        extracted: info.size,
        ...Object.fromEntries(runFolds.map((f) => [`fold_${f}_val`, folds[f].val.length])),
      },
      failed,
      cache: cache.dir,
      cacheHits: hits,
    },
    timings,
    metrics: { macro, perLabel },
    folds: foldRecords,
    artifacts,
  };
  await Deno.writeTextFile(`${out}/result.json`, formatResultRecord(record));
  cache.close();
  return record;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

async function writeCasesCsv(
  path: string,
  rows: readonly { fold: number; id: string; scores: CaseScores }[],
  labels: readonly string[],
): Promise<void> {
  const header = ["fold", "case", ...labels.flatMap((l) => METRICS.map((m) => `${m}_${l}`))];
  const fmt = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : "");
  const lines = rows.map((r) =>
    [
      String(r.fold),
      JSON.stringify(r.id),
      ...labels.flatMap((_, c) => METRICS.map((m: MetricName) => fmt(r.scores[m][c]))),
    ].join(",")
  );
  await Deno.writeTextFile(path, [header.join(","), ...lines].join("\n") + "\n");
}

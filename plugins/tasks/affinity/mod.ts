/**
 * The `affinity` task (PROTOCOLS.md, "EM neuron segmentation —
 * affinities + agglomeration"):
 *
 * ```
 * dataset.open → train / test z-ranges of EM volumes (exact uint64 neuron ids)
 *   → adapter chunks (slabs of sections) → feature cache (float16, resumable)
 *   → targets: nearest-neighbour affinities from the ids (plugins/segment)
 *   → head.fit(train volumes)  (the protocol's head: `affinity`, balanced MSE, Adam 1e-3)
 *   → head.predict(train, test) → affinities (3, z, y, x)
 *   → watershed + waterz agglomeration, one segmentation per threshold
 *   → the protocol's metrics (VOI split / merge / sum, ARAND; lower is better)
 *     per threshold; the threshold with the lowest VOI sum on the training
 *     sections is chosen and reported with the test scores at it
 *   → OUT/result.json, OUT/thresholds.csv,
 *     OUT/segmentation/<test>.hdf (CREMI layout, uint64 neuron_ids),
 *     OUT/affinities/<test>.hdf (volumes/affinities float32), OUT/montage/<test>.png,
 *     OUT/heads/affinity.safetensors
 * ```
 *
 * Ground truth: ids 0 and 2^64 − 1 are background (ignored by the
 * metrics, as CREMI's evaluation does). The head, adapter and metrics come
 * from the registry by name; the threshold selection uses the `voi-sum`
 * metric plugin.
 *
 * @example The task as a plugin
 * ```ts
 * import { affinityTask } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(affinityTask.input, "volumes");
 * assert.deepEqual(affinityTask.problems, ["affinity"]);
 * ```
 *
 * @module
 */

import { writeFileAtomic } from "../../../core/_fs.ts";
import {
  adapterContext,
  cacheChunks,
  environmentOf,
  FailureLog,
  fitProgress,
  hasChunks,
  openRunCache,
  readChunks,
  safeFileName,
  StageTimer,
  writeResult,
} from "../../../core/experiment.ts";
import { expectSource } from "../../../core/fingerprint.ts";
import type {
  Adapter,
  Head,
  MetricPlugin,
  ProtocolDefaults,
  TaskContext,
  TaskPlugin,
  Volume,
} from "../../../core/plugin.ts";
import { type MetricValue, RESULT_SCHEMA, type ResultRecord } from "../../../core/result.ts";
import { csvRow } from "../../../core/csv.ts";
import { finiteOrNull } from "../../../core/stats.ts";
import { affinitiesFromLabels } from "../../segment/affinities.ts";
import {
  agglomerate,
  applyMap,
  mergeFunctionName,
  parseMergeFunction,
} from "../../segment/agglomerate.ts";
import { toDenseLabels, toUint64Labels } from "../../segment/labels.ts";
import { cremiBorderMask } from "../../segment/border_mask.ts";
import { watershed } from "../../segment/watershed.ts";
import { writeHdf5 } from "../../segment/io.ts";
import { segmentMontage } from "../../segment/montage.ts";
import { encodePng } from "../../formats/image/png.ts";
import { type AffinityProtocolDefaults, type AffinitySample, isAffinitySample } from "./types.ts";

export * from "./types.ts";

/** One row of the threshold sweep. */
export interface SweepRow {
  /** `"train"` or `"test"`. */
  split: string;
  /** Sample id. */
  sample: string;
  /** Agglomeration threshold. */
  threshold: number;
  /** Segments at this threshold. */
  segments: number;
  /** Metric values by name. */
  metrics: Record<string, number>;
}

/**
 * Parses a threshold list: numbers or a comma-separated string, each
 * finite; sorted ascending, duplicates removed.
 *
 * @example
 * ```ts
 * import { parseThresholds } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseThresholds("0.5,0.1, 0.3"), [0.1, 0.3, 0.5]);
 * ```
 */
export function parseThresholds(value: unknown): number[] {
  const list = typeof value === "string" ? value.split(",").map((s) => Number(s.trim())) : value;
  if (
    !Array.isArray(list) || list.length === 0 ||
    list.some((t) => typeof t !== "number" || !Number.isFinite(t))
  ) {
    throw new TypeError(
      `Cannot use the thresholds as they must be a non-empty list of numbers: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

/** Sweeps the thresholds over one predicted volume, scoring each segmentation. */
function sweep(
  affs: Float32Array,
  gt: Uint32Array,
  shape: readonly [number, number, number],
  thresholds: readonly number[],
  mergeFunction: string,
  metrics: readonly MetricPlugin[],
  keep?: number,
): {
  rows: { threshold: number; segments: number; metrics: Record<string, number> }[];
  kept?: Uint32Array;
} {
  const fragments = watershed(affs, shape);
  const rows: { threshold: number; segments: number; metrics: Record<string, number> }[] = [];
  let kept: Uint32Array | undefined;
  for (const level of agglomerate(affs, fragments, thresholds, { mergeFunction })) {
    const seg = applyMap(fragments.data, level.map);
    const values: Record<string, number> = {};
    for (const m of metrics) {
      values[m.name] =
        m.compute({ data: seg, shape: [...shape] }, { data: gt, shape: [...shape] })[0];
    }
    rows.push({ threshold: level.threshold, segments: level.segments, metrics: values });
    if (keep !== undefined && level.threshold === keep) kept = seg;
  }
  return { rows, kept };
}

/** The last `count` sections of a loaded volume (all when `count` is 0 or larger than it). */
function lastSections<
  T extends {
    features: { data: Float32Array; shape: [number, number, number, number] };
    image: Float32Array;
    raw: Float32Array;
    shape: [number, number, number];
    gt: Uint32Array;
    affinities: Float32Array;
  },
>(v: T, count: number): T {
  const [d, h, w] = v.shape;
  if (count <= 0 || count >= d) return v;
  const z0 = d - count, plane = h * w, n = d * plane;
  const [c, , fh, fw] = v.features.shape;
  const features = new Float32Array(c * count * fh * fw);
  for (let ch = 0; ch < c; ch++) {
    features.set(
      v.features.data.subarray((ch * d + z0) * fh * fw, (ch + 1) * d * fh * fw),
      ch * count * fh * fw,
    );
  }
  const gt = v.gt.slice(z0 * plane);
  const affinities = new Float32Array(3 * count * plane);
  for (let k = 0; k < 3; k++) {
    affinities.set(v.affinities.subarray(k * n + z0 * plane, (k + 1) * n), k * count * plane);
  }
  affinities.fill(0, 0, plane); // the first kept section has no predecessor
  return {
    ...v,
    features: { data: features, shape: [c, count, fh, fw] },
    image: v.image.slice(z0 * plane),
    raw: v.raw.slice(z0 * plane),
    shape: [count, h, w],
    gt,
    affinities,
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Runs the EM protocol (see the module doc). */
export async function runAffinity(ctx: TaskContext): Promise<ResultRecord> {
  const { registry, spec, encoder, out, seed } = ctx;
  const timer = new StageTimer();
  const failures = new FailureLog();
  const dataset = await timer.time("open", () => spec.open(ctx.root, { ...ctx.openOptions }));
  const protocol = spec.protocol as Partial<AffinityProtocolDefaults> & ProtocolDefaults;
  const pick = (split: string) => {
    const all = dataset.samples(split).filter(isAffinitySample);
    return ctx.limit ? all.slice(0, ctx.limit) : all;
  };
  const trainSamples = pick(protocol.trainSplit);
  const testSamples = pick(protocol.testSplit);
  if (trainSamples.length === 0 || testSamples.length === 0) {
    throw new RangeError(
      `Cannot run the affinity task on "${ctx.datasetId}" as splits "${protocol.trainSplit}" and "${protocol.testSplit}" need EM volumes with neuron ids: current counts are ${trainSamples.length} and ${testSamples.length}`,
    );
  }
  const thresholds = parseThresholds(
    ctx.taskOptions.thresholds ?? protocol.thresholds ??
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  );
  const mergeFunction = mergeFunctionName(
    parseMergeFunction(
      String(ctx.taskOptions.mergeFunction ?? protocol.mergeFunction ?? "quantile-75"),
    ),
  );
  const writeSegmentation = (ctx.taskOptions.writeSegmentation as boolean | undefined) ?? true;
  const montageSections = (ctx.taskOptions.montageSections as number | undefined) ?? 8;
  const selectionSections = (ctx.taskOptions.selectionSections as number | undefined) ?? 0;
  const borderThreshold = (ctx.taskOptions.borderThreshold as number | undefined) ?? 0;
  const resolutionNm = (dataset as { resolutionNm?: readonly number[] }).resolutionNm ??
    protocol.resolutionNm ?? [1, 1, 1];

  const adapter: Adapter = registry.get("adapter", ctx.adapter).create({ ...ctx.adapterOptions });
  const cache = await openRunCache(ctx, ctx.adapter, adapter);
  try {
    const actx = adapterContext(ctx);
    const extracted = new Set<string>();
    let hits = 0, sections = 0;
    const all = [...trainSamples, ...testSamples];
    await timer.time("extract", async () => {
      const bar = ctx.progress?.("extract", all.length, "volumes");
      for (const [i, s] of all.entries()) {
        ctx.signal?.throwIfAborted();
        try {
          await expectSource(cache, s); // the cache serves only features of this file content
          if (hasChunks(cache, s.id)) hits++;
          else {
            const volume = await s.load() as Volume;
            if (volume?.kind !== "volume") {
              throw new TypeError(`Cannot extract sample "${s.id}" as it must load as a volume`);
            }
            await cacheChunks(cache, s.id, adapter, volume, actx);
            sections += volume.shape[0];
          }
          extracted.add(s.id);
        } catch (e) {
          if (ctx.strict || ctx.signal?.aborted) throw e;
          failures.add(s, "extract", e);
        }
        bar?.update(i + 1);
      }
      bar?.stop();
    });
    timer.count("extract", sections, "sections");

    interface Loaded {
      features: { data: Float32Array; shape: [number, number, number, number] };
      image: Float32Array;
      raw: Float32Array;
      shape: [number, number, number];
      gt: Uint32Array;
      affinities: Float32Array;
    }
    const load = async (s: AffinitySample): Promise<Loaded> => {
      const volume = await s.load() as Volume;
      const shape: [number, number, number] = [...volume.shape];
      const image = adapter.prepareInput
        ? (adapter.prepareInput(volume) as Volume).data
        : volume.data;
      const f = await readChunks(cache, s.id, ctx.feature, 1);
      if (f.shape.length !== 4 || f.shape[1] !== shape[0]) {
        throw new RangeError(
          `Cannot use the features of "${s.id}" as they must be [C, ${
            shape[0]
          }, h, w] (feature "${ctx.feature}"): current shape is [${f.shape.join(", ")}]`,
        );
      }
      const ids = await s.loadNeuronIds();
      const dense = toDenseLabels({ data: ids, shape });
      return {
        features: { data: f.data, shape: [f.shape[0], f.shape[1], f.shape[2], f.shape[3]] },
        image,
        raw: volume.data,
        shape,
        // the metrics' gt: CREMI's border mask when asked (the targets keep every label)
        gt: borderThreshold > 0
          ? cremiBorderMask(dense.data, shape, borderThreshold / Number(resolutionNm[2]))
          : dense.data,
        affinities: affinitiesFromLabels(dense.data, shape),
      };
    };
    const asCase = (s: AffinitySample) => ({ id: s.id, load: () => load(s) });
    const train = trainSamples.filter((s) => extracted.has(s.id));
    const test = testSamples.filter((s) => extracted.has(s.id));
    if (train.length === 0 || test.length === 0) {
      throw new RangeError(
        `Cannot run the affinity task on "${ctx.datasetId}" as no ${
          train.length === 0 ? "training" : "test"
        } volume could be extracted (see data.failed)`,
      );
    }

    // --- head -------------------------------------------------------------
    const headPlugin = registry.get("head", ctx.head);
    const head: Head = headPlugin.create({
      ...ctx.headOptions,
      ...("backend" in headPlugin.defaults ? { backend: ctx.headBackend } : {}),
    });
    const artifacts: Record<string, string> = {};
    const metricPlugins: MetricPlugin[] = ctx.metrics.map((m) => registry.get("metric", m));
    const selector = registry.get("metric", "voi-sum");
    const scoring = metricPlugins.some((m) => m.name === selector.name)
      ? metricPlugins
      : [...metricPlugins, selector];
    const rows: SweepRow[] = [];
    let losses: number[] = [];
    let hyperparameters: Record<string, unknown> = {};
    let chosen = thresholds[0];
    try {
      const fitBar = fitProgress(ctx.progress, "fit", head);
      const fit = await timer.time("fit", () =>
        head.fit(train.map(asCase), undefined, {
          seed,
          signal: ctx.signal,
          onProgress: fitBar.onProgress,
        }));
      fitBar.stop();
      losses = fit.losses;
      hyperparameters = { ...head.hyperparameters };
      await Deno.mkdir(`${out}/heads`, { recursive: true });
      await writeFileAtomic(`${out}/heads/affinity.safetensors`, head.save());
      artifacts.head = "heads/affinity.safetensors";

      // --- threshold chosen on the training sections -------------------------
      for (const s of train) {
        const data = lastSections(await load(s), selectionSections);
        const [pred] = await timer.time(
          "predict",
          () => head.predict([{ id: s.id, load: () => Promise.resolve(data) }]),
        ) as { affinities: Float32Array }[];
        const r = await timer.time(
          "agglomerate",
          () => sweep(pred.affinities, data.gt, data.shape, thresholds, mergeFunction, scoring),
        );
        for (const row of r.rows) rows.push({ split: "train", sample: s.id, ...row });
      }
      let best = Infinity;
      for (const t of thresholds) {
        const v = mean(
          rows.filter((r) => r.split === "train" && r.threshold === t).map((r) =>
            r.metrics[selector.name]
          ),
        );
        if (v < best) (best = v, chosen = t);
      }

      // --- test ---------------------------------------------------------------
      for (const s of test) {
        ctx.signal?.throwIfAborted();
        const data = await load(s);
        const [pred] = await timer.time(
          "predict",
          () => head.predict([{ id: s.id, load: () => Promise.resolve(data) }]),
        ) as { affinities: Float32Array }[];
        const r = await timer.time(
          "agglomerate",
          () =>
            sweep(pred.affinities, data.gt, data.shape, thresholds, mergeFunction, scoring, chosen),
        );
        for (const row of r.rows) rows.push({ split: "test", sample: s.id, ...row });
        const name = safeFileName(s.id);
        const raw = Uint8Array.from(data.raw, (v) => Math.max(0, Math.min(255, Math.round(v))));
        if (writeSegmentation && r.kept) {
          const res = [...resolutionNm];
          await Deno.mkdir(`${out}/segmentation`, { recursive: true });
          await writeHdf5(`${out}/segmentation/${name}.hdf`, [
            { name: "volumes/raw", data: raw, shape: data.shape, attributes: { resolution: res } },
            {
              name: "volumes/labels/neuron_ids",
              data: toUint64Labels(r.kept),
              shape: data.shape,
              attributes: { resolution: res, offset: [0, 0, 0] },
            },
          ], {
            "file_format": "0.2",
            "medprobe_threshold": String(chosen),
            "medprobe_merge_function": mergeFunction,
          });
          await Deno.mkdir(`${out}/affinities`, { recursive: true });
          await writeHdf5(`${out}/affinities/${name}.hdf`, [{
            name: "volumes/affinities",
            data: pred.affinities,
            shape: [3, ...data.shape],
            attributes: { resolution: res, neighborhood: [-1, 0, 0, 0, -1, 0, 0, 0, -1] },
          }]);
          artifacts[`segmentation/${s.id}`] = `segmentation/${name}.hdf`;
          artifacts[`affinities/${s.id}`] = `affinities/${name}.hdf`;
        }
        if (montageSections > 0 && r.kept) {
          const image = segmentMontage(raw, r.kept, data.shape, montageSections);
          await Deno.mkdir(`${out}/montage`, { recursive: true });
          await writeFileAtomic(`${out}/montage/${name}.png`, encodePng(image));
          artifacts[`montage/${s.id}`] = `montage/${name}.png`;
        }
      }
    } finally {
      head.dispose();
    }

    // --- record -------------------------------------------------------------
    const macro: Record<string, MetricValue> = {};
    const definitions: Record<string, string> = {};
    const atChosen = rows.filter((r) => r.split === "test" && r.threshold === chosen);
    for (const m of metricPlugins) {
      if (m.definition) definitions[m.name] = m.definition;
      const values = atChosen.map((r) => r.metrics[m.name]).filter(Number.isFinite);
      macro[m.name] = { value: finiteOrNull(mean(values)), validCount: values.length };
    }
    const trainAtChosen = rows.filter((r) => r.split === "train" && r.threshold === chosen);
    artifacts.thresholds = "thresholds.csv";
    const names = scoring.map((m) => m.name);
    const csv = [
      csvRow(["split", "sample", "threshold", "segments", ...names]),
      ...rows.map((r) =>
        csvRow([
          r.split,
          r.sample,
          r.threshold,
          r.segments,
          ...names.map((n) => finiteOrNull(r.metrics[n])),
        ])
      ),
    ].join("\n") + "\n";
    const record: ResultRecord = {
      schema: RESULT_SCHEMA,
      medprobeVersion: ctx.version,
      createdAt: new Date().toISOString(),
      dataset: ctx.datasetId,
      task: dataset.problem,
      labels: [...dataset.labels],
      protocol: {
        taskPlugin: "affinity",
        trainSplit: protocol.trainSplit,
        testSplit: protocol.testSplit,
        resolution: ctx.resolution,
        feature: ctx.feature,
        seed,
        batchSize: ctx.batchSize,
        metrics: [...ctx.metrics],
        lowerIsBetter: metricPlugins.filter((m) => !m.higherIsBetter).map((m) => m.name),
        affinities:
          "nearest-neighbour (z, y, x) to the predecessor voxel; 1 iff same non-background id",
        postprocessing: {
          method: "watershed (Zlateski & Seung, low 0.0001, high 0.9999) + waterz agglomeration",
          mergeFunction,
          thresholds,
          threshold: chosen,
          thresholdSelection: `lowest mean ${selector.name} on the ${
            selectionSections > 0 ? `last ${selectionSections} ` : ""
          }${protocol.trainSplit} sections`,
        },
        resolutionNm: [...resolutionNm],
        borderThresholdNm: borderThreshold,
        ...(Object.keys(definitions).length ? { metricsDefinition: definitions } : {}),
        limit: ctx.limit ?? null,
      },
      encoder: { ...encoder.info, ...ctx.encoderMeta, preprocess: encoder.preprocess },
      adapter: { name: ctx.adapter, settings: { ...adapter.settings, batchSize: ctx.batchSize } },
      head: { name: ctx.head, hyperparameters, losses, file: artifacts.head },
      data: {
        root: ctx.root,
        counts: { train: train.length, test: test.length },
        failed: failures.failed,
        cache: cache.dir,
        cacheHits: hits,
        trainScoresAtThreshold: Object.fromEntries(
          names.map((n) => [n, finiteOrNull(mean(trainAtChosen.map((r) => r.metrics[n])))]),
        ),
      },
      timings: timer.finish(),
      metrics: { macro, perLabel: {} },
      environment: environmentOf(ctx.environment),
      artifacts,
    };
    await writeResult(out, record, { "thresholds.csv": csv });
    return record;
  } finally {
    cache.close();
  }
}

const OPTIONS = [
  {
    name: "thresholds",
    description:
      "agglomeration thresholds swept, comma-separated (default: the protocol's 0.1..0.9)",
    type: "string",
  },
  {
    name: "merge-function",
    description:
      'waterz merge function: "mean", "quantile-Q" (e.g. quantile-50/75/85), "quantile-Q-initmax"',
    type: "string",
  },
  {
    name: "write-segmentation",
    description: "write test segmentations and affinities as CREMI-style HDF5",
    type: "boolean",
    default: true,
  },
  {
    name: "selection-sections",
    description:
      "choose the threshold on the last N training sections only (0: all; predicting 100 CREMI sections on the CPU takes minutes)",
    type: "int",
    default: 0,
    min: 0,
    max: 100000,
  },
  {
    name: "border-threshold",
    description:
      "CREMI evaluation border mask: ignore gt pixels within this many nm of an in-section label change (CREMI's leaderboard: 25; default 0, none)",
    type: "number",
    default: 0,
    min: 0,
    max: 10000,
  },
  {
    name: "montage-sections",
    description: "sections in the PNG montage of each test volume (0: none)",
    type: "int",
    default: 8,
    min: 0,
    max: 64,
  },
] as const;

function validateAffinityProtocol(protocol: ProtocolDefaults): void {
  const p = protocol as Partial<AffinityProtocolDefaults>;
  if (p.thresholds !== undefined) {
    try {
      parseThresholds(p.thresholds);
    } catch {
      throw new TypeError(
        `protocol.thresholds must be a non-empty list of numbers: current value is ${
          JSON.stringify(p.thresholds)
        }`,
      );
    }
  }
  if (p.mergeFunction !== undefined) {
    try {
      parseMergeFunction(p.mergeFunction);
    } catch (e) {
      throw new TypeError(`protocol.mergeFunction is invalid: ${(e as Error).message}`);
    }
  }
}

/** The `affinity` task plugin. */
export const affinityTask: TaskPlugin = {
  kind: "task",
  name: "affinity",
  description:
    "EM volumes → stacked slice features → affinities → watershed + waterz agglomeration → VOI, ARAND",
  version: "0.1.0",
  input: "volumes",
  problems: ["affinity"],
  options: OPTIONS,
  validateProtocol: validateAffinityProtocol,
  run: runAffinity,
};

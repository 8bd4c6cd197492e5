/**
 * The `mil` task: whole-slide classification with multiple-instance
 * learning (PROTOCOLS.md, "Whole-slide images — ABMIL"):
 *
 * ```
 * dataset.open → slides → adapter (tile-bag: tissue → tiles → encoder)
 *   → one bag [N_i, C] per slide in the feature cache, chunk by chunk
 *   → per run (fold × seed): head (abmil) trained on train bags, the
 *     number of epochs chosen on the validation bags (best AUC)
 *   → test (and external test) predictions → metrics per run, mean ± std,
 *     bootstrap 95 % CIs → OUT/result.json, predictions.csv, tiles/,
 *     heatmaps/
 * ```
 *
 * **Splits.** `--folds 0` (default) uses the dataset's official split
 * (protocol `trainSplit` / `testSplit`, e.g. Camelyon16's 270 / 129);
 * `--val-fraction` of the training patients (seeded) is held out for model
 * selection (stratified by class). `--folds K` runs patient-level K-fold cross-validation over
 * `--cv-split` (default `all` when the dataset has it): fold i tests on
 * group i; the rest is split into train and validation by `--cv-ratio`
 * (`7:1:2` gives val = 1/8 of the rest, as BCNB's protocol).
 * `--seeds S` trains every fold with seeds `seed … seed + S − 1`.
 *
 * **Model selection.** For each run, one head per epoch count in
 * `--select-epochs` (default `10,20,40`) is trained on the training bags;
 * the one with the highest validation AUC (ties: fewer epochs) predicts the
 * test bags. The choice and the validation AUCs are in the record.
 *
 * **Several targets.** `--label T` picks one target of a dataset that has
 * several (BCNB); `--label all` runs every target in turn on the same bags
 * and writes one record: per-label metrics per target (the report's radar
 * axes), macro = mean ± std over the targets, per-target runs in
 * `protocol.targets`, and a `label` column in `predictions.csv`.
 *
 * **External test.** `--external wsi/camelyon17 --external-data DIR`
 * scores every run's selected head on another dataset's split
 * (`--external-split`, default that dataset's `testSplit`, e.g. the unseen
 * centres) — the report's Camelyon16 → Camelyon17 protocol over 5 seeds.
 *
 * **Outputs.** Metrics are the mean over runs with their standard
 * deviation; the 95 % CI is a stratified percentile bootstrap of the
 * pooled test predictions of all runs. Per-slide predictions go to
 * `predictions.csv`; tile coordinates (level-0 `x, y` with level and µm/px)
 * and a thumbnail with the tissue contour and tiles to `tiles/<slide>.json`
 * and `tiles/<slide>.png`; attention heatmaps of the first run's test
 * slides to `heatmaps/<slide>.png`. A slide that cannot be read, is
 * truncated or has no tissue is listed in `data.failed` with its reason and
 * the run goes on (`strict` stops).
 *
 * @example The task as a plugin
 * ```ts
 * import { milTask } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(milTask.input, "bags");
 * assert.deepEqual(milTask.problems, ["binary"]);
 * ```
 *
 * @module
 */

import { bootstrapCi } from "../../../core/bootstrap.ts";
import type { FeatureCache } from "../../../core/cache.ts";
import { csvField } from "../../../core/csv.ts";
import {
  cacheChunks,
  environmentOf,
  FailureLog,
  findDataset,
  hasChunks,
  openRunCache,
  patientFolds,
  patientSplit,
  readChunks,
  safeFileName,
  StageTimer,
  writeResult,
} from "../../../core/experiment.ts";
import { expectSource } from "../../../core/fingerprint.ts";
import type {
  Adapter,
  Dataset,
  Head,
  MetricPlugin,
  ProtocolDefaults,
  Sample,
  SampleData,
  TaskContext,
  TaskExtractReport,
  TaskPlugin,
} from "../../../core/plugin.ts";
import type { MetricValue, ResultRecord } from "../../../core/result.ts";
import { RESULT_SCHEMA } from "../../../core/result.ts";
import { finiteOrNull, macroOf, meanStd } from "../../../core/stats.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import type { SlideOutputs } from "../../adapters/tile_bag/mod.ts";

/** One training run: a fold (or the official split) and a seed. */
export interface MilRun {
  /** Fold index (0 for the official split). */
  fold: number;
  /** Seed of the head. */
  seed: number;
  /** Slide ids to train on. */
  train: string[];
  /** Slide ids for model selection. */
  val: string[];
  /** Slide ids to test on. */
  test: string[];
}

/** Parses `a:b:c` into train, val, test shares. */
export function parseRatio(text: string): [number, number, number] {
  const parts = text.split(":").map(Number);
  if (parts.length !== 3 || !parts.every((v) => v >= 0 && Number.isFinite(v)) || parts[0] <= 0) {
    throw new RangeError(
      `Cannot split as cv-ratio must be train:val:test with positive train, e.g. 7:1:2: current value is "${text}"`,
    );
  }
  return parts as [number, number, number];
}

/**
 * A seeded patient-level split stratified by class: patients (a patient's
 * class is the largest target of its slides) are split per class with
 * `patientSplit`, so both sides keep both classes whenever a class has two
 * patients or more (a class with one patient stays on the training side).
 */
export function stratifiedPatientSplit(
  samples: readonly Sample[],
  fraction: number,
  seed: number,
): { train: string[]; test: string[] } {
  const classOf = new Map<string, number>();
  for (const s of samples) {
    const key = s.subject ?? s.id;
    classOf.set(key, Math.max(classOf.get(key) ?? -Infinity, s.target?.[0] ?? 0));
  }
  const train: string[] = [], test: string[] = [];
  for (const c of [...new Set(classOf.values())].sort()) {
    const group = samples.filter((s) => classOf.get(s.subject ?? s.id) === c);
    if (new Set(group.map((s) => s.subject ?? s.id)).size < 2) {
      train.push(...group.map((s) => s.id));
      continue;
    }
    const split = patientSplit(group, fraction, seed);
    train.push(...split.train);
    test.push(...split.test);
  }
  return { train: train.sort(), test: test.sort() };
}

/**
 * The runs of a MIL evaluation: the official split with a seeded
 * patient-level validation hold-out, or K patient-level folds each split
 * into train and validation by the ratio; every one repeated per seed.
 */
export function planMilRuns(
  options: {
    train: readonly Sample[];
    test: readonly Sample[];
    pool: readonly Sample[];
    folds: number;
    ratio: [number, number, number];
    valFraction: number;
    seeds: number;
    seed: number;
  },
): MilRun[] {
  const runs: MilRun[] = [];
  const seeds = Array.from({ length: options.seeds }, (_, i) => options.seed + i);
  const ids = (list: readonly { id: string }[]) => list.map((s) => s.id);
  if (options.folds === 0) {
    const { train, test: val } = stratifiedPatientSplit(
      options.train,
      options.valFraction,
      options.seed,
    );
    for (const seed of seeds) runs.push({ fold: 0, seed, train, val, test: ids(options.test) });
    return runs;
  }
  const [a, b] = options.ratio;
  const folds = patientFolds(options.pool, options.folds, options.seed);
  const byId = new Map(options.pool.map((s) => [s.id, s]));
  for (const f of folds) {
    const rest = f.train.map((id) => byId.get(id)!);
    const split = b > 0
      ? stratifiedPatientSplit(rest, b / (a + b), options.seed + 1000 + f.index)
      : { train: f.train.slice(), test: [] as string[] };
    for (const seed of seeds) {
      runs.push({ fold: f.index, seed, train: split.train, val: split.test, test: [...f.val] });
    }
  }
  return runs;
}

/**
 * Extracts the bags of slides into the cache, chunk by chunk (core's
 * `cacheChunks`, the layout `readChunks` reads). A run killed at any point
 * resumes inside a slide: chunks already cached are not decoded again
 * (adapters that honour `extractChunks`' `skip`, as `tile-bag`). Two
 * processes may fill one cache. Failed slides go to `failures` unless
 * `strict`. Returns how many slides were computed and found cached.
 */
export async function extractSlideBags(
  ctx: Pick<TaskContext, "encoder" | "resolution" | "batchSize" | "signal" | "strict" | "progress">,
  adapter: Adapter,
  cache: FeatureCache,
  samples: readonly Sample[],
  failures: FailureLog,
  onSlide?: (sample: Sample) => Promise<void>,
): Promise<{ computed: number; cached: number }> {
  let computed = 0, cached = 0;
  const bar = ctx.progress?.("extract slides", samples.length, "slides");
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i];
    ctx.signal?.throwIfAborted();
    await cache.refresh();
    try {
      await expectSource(cache, sample); // the cache serves only features of this slide's content
    } catch (e) {
      if (ctx.strict) throw e;
      failures.add(sample, "load", e);
      continue;
    }
    if (hasChunks(cache, sample.id)) {
      cached++;
      bar?.update(i + 1);
      continue;
    }
    let data: SampleData;
    try {
      data = await sample.load(); // a path: nothing is decoded yet
    } catch (e) {
      if (ctx.strict) throw e;
      failures.add(sample, "load", e);
      continue;
    }
    try {
      await cacheChunks(cache, sample.id, adapter, data, {
        encoder: ctx.encoder,
        resolution: ctx.resolution,
        batchSize: ctx.batchSize,
        signal: ctx.signal,
      });
      computed++;
      await onSlide?.(sample);
    } catch (e) {
      if (ctx.strict || ctx.signal?.aborted) throw e;
      failures.add(sample, "extract", e);
    }
    bar?.update(i + 1);
  }
  bar?.stop();
  return { computed, cached };
}

/**
 * Extracts the selected slides' bags into the cache without training
 * (`medprobe extract --shard K/N`): whole slides per shard, every slide of
 * every split (the splits a later run uses are a subset), each resumable
 * inside the slide.
 */
export async function extractMil(
  ctx: TaskContext,
  select: (samples: readonly Sample[]) => readonly Sample[],
): Promise<TaskExtractReport> {
  const dataset = await ctx.spec.open(ctx.root, { ...ctx.openOptions });
  const seen = new Set<string>();
  const slides: Sample[] = [];
  for (const split of dataset.splits) {
    const list = dataset.samples(split);
    for (const s of ctx.limit ? list.slice(0, ctx.limit) : list) {
      if (!seen.has(s.id) && seen.add(s.id)) slides.push(s);
    }
  }
  const chosen = select(slides);
  const adapter = ctx.registry.get("adapter", ctx.adapter).create({ ...ctx.adapterOptions });
  const cache = await openRunCache(ctx, ctx.adapter, adapter);
  const failures = new FailureLog();
  try {
    const r = await extractSlideBags(ctx, adapter, cache, chosen, failures);
    return {
      samples: chosen.map((s) => s.id),
      computed: r.computed,
      cached: r.cached,
      failed: failures.failed,
      cacheDir: cache.dir,
    };
  } finally {
    cache.close();
  }
}

function binaryScores(probs: HostTensor): HostTensor {
  const [n, k] = probs.shape;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = probs.data[i * k + k - 1];
  return { data: out, shape: [n, 1] };
}

function targetsOf(samples: readonly Sample[]): HostTensor {
  return {
    data: Float32Array.from(samples, (s) => s.target?.[0] ?? NaN),
    shape: [samples.length, 1],
  };
}

function scoreAll(
  metrics: readonly MetricPlugin[],
  scores: HostTensor,
  target: HostTensor,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) out[m.name] = macroOf(m.compute(scores, target)).value;
  return out;
}

/** Runs one MIL evaluation (see the module documentation). */
export async function runMil(ctx: TaskContext): Promise<ResultRecord> {
  const { registry, spec } = ctx;
  const protocol = spec.protocol;
  const o = ctx.taskOptions;
  const timer = new StageTimer();
  const failures = new FailureLog();
  const headPlugin = registry.get("head", ctx.head);
  const auc = registry.get("metric", "auc");
  const metricPlugins = ctx.metrics.map((m) => registry.get("metric", m));
  const folds = Number(o.folds ?? 0);
  const seeds = Number(o.seeds ?? 1);
  const ratio = parseRatio(String(o.cvRatio ?? "7:1:2"));
  const valFraction = Number(o.valFraction ?? 0.1);
  const selectEpochs = String(o.selectEpochs ?? "10,20,40").split(",").map(Number);
  if (!selectEpochs.every((e) => Number.isInteger(e) && e >= 1)) {
    throw new RangeError(
      `Cannot run task "mil" as select-epochs must be positive integers separated by commas: current value is "${o.selectEpochs}"`,
    );
  }
  const heatmapCount = Number(o.heatmaps ?? 8);
  const limit = <T>(list: readonly T[]) => (ctx.limit ? list.slice(0, ctx.limit) : [...list]);

  // 1. Open the dataset(s).
  const every = String(o.label ?? "") === "all";
  const openOptions = {
    ...ctx.openOptions,
    ...(o.label && !every ? { label: String(o.label) } : {}),
  };
  const dataset = await timer.time("open", () => spec.open(ctx.root, openOptions));
  // `--label all`: every target of the dataset (BCNB's five), one after another.
  const targetNames = every ? (dataset as { targets?: readonly string[] }).targets : undefined;
  if (every && !targetNames?.length) {
    throw new TypeError(
      `Cannot run every target of "${ctx.datasetId}" as label "all" needs a dataset with several targets: leave --label out`,
    );
  }
  if (every && o.external) {
    throw new TypeError(
      'Cannot run an external test with label "all": run one target at a time',
    );
  }
  const perTarget: Dataset[] = every
    ? await timer.time("open", async () => {
      const out: Dataset[] = [];
      for (const t of targetNames!) {
        out.push(await spec.open(ctx.root, { ...openOptions, label: t }));
      }
      return out;
    })
    : [dataset];
  const need = (ds: Dataset, split: string) => {
    if (!ds.splits.includes(split)) {
      throw new TypeError(
        `Cannot evaluate "${ds.id}" as split "${split}" is missing: the dataset has ${
          ds.splits.map((s) => `"${s}"`).join(", ")
        }`,
      );
    }
    return limit(ds.samples(split));
  };
  const cvSplit = String(
    o.cvSplit || (dataset.splits.includes("all") ? "all" : protocol.trainSplit),
  );
  const train = folds === 0 ? need(dataset, protocol.trainSplit) : [];
  const test = folds === 0 ? need(dataset, protocol.testSplit) : [];
  const pool = folds === 0 ? [] : need(dataset, cvSplit);
  let external: { id: string; split: string; dataset: Dataset; samples: Sample[] } | undefined;
  if (o.external) {
    const id = String(o.external);
    if (!o.externalData) {
      throw new TypeError(
        `Cannot run the external test on "${id}" as external-data must name its folder: current value is empty`,
      );
    }
    const ext = findDataset(registry, id).spec;
    const ds = await ext.open(String(o.externalData));
    const split = String(o.externalSplit || ext.protocol.testSplit);
    external = { id, split, dataset: ds, samples: need(ds, split) };
  }

  // 2. Bags into the cache (resumable inside a slide), tiles and thumbnails out.
  const adapter = registry.get("adapter", ctx.adapter).create({ ...ctx.adapterOptions });
  // The adapter's pictures, when it draws them (tile-bag does), used by name only.
  const outputs = adapter as Partial<SlideOutputs>;
  const writeTiles = async (sample: Sample) => {
    if (!outputs.describeSlide) return;
    const { tiles, thumbnail } = await outputs.describeSlide(await sample.load(), {
      id: sample.id,
      path: sample.path,
    });
    const name = safeFileName(sample.id);
    await Deno.mkdir(`${ctx.out}/tiles`, { recursive: true });
    await Deno.writeTextFile(`${ctx.out}/tiles/${name}.json`, JSON.stringify(tiles) + "\n");
    await Deno.writeFile(`${ctx.out}/tiles/${name}.png`, thumbnail);
  };
  const mainSlides: Sample[] = [];
  {
    const seen = new Set<string>();
    for (const ds of perTarget) {
      const list = folds === 0
        ? [...need(ds, protocol.trainSplit), ...need(ds, protocol.testSplit)]
        : need(ds, cvSplit);
      for (const s of list) if (!seen.has(s.id) && seen.add(s.id)) mainSlides.push(s);
    }
  }
  const cache = await openRunCache(ctx, ctx.adapter, adapter);
  const extCache = external
    ? await openRunCache({ ...ctx, datasetId: external.id }, ctx.adapter, adapter)
    : undefined;
  try {
    const counts = await timer.time("extract", async () => {
      const a = await extractSlideBags(ctx, adapter, cache, mainSlides, failures);
      const b = external && extCache
        ? await extractSlideBags(ctx, adapter, extCache, external.samples, failures)
        : { computed: 0, cached: 0 };
      return { computed: a.computed + b.computed, cached: a.cached + b.cached };
    });
    timer.count("extract", counts.computed, "slides");
    const failed = failures.ids();
    const usable = (list: readonly Sample[]) => list.filter((s) => !failed.has(s.id));
    await timer.time("tiles", async () => {
      for (const s of usable(mainSlides)) {
        try {
          await writeTiles(s);
        } catch (e) {
          failures.add(s, "tiles", e);
        }
      }
    });

    // 3. Bags and runs.
    const bags = new Map<string, HostTensor>();
    const bagOf = async (c: FeatureCache, id: string) => {
      const key = `${c.dir}\n${id}`; // ids of two datasets may coincide
      let b = bags.get(key);
      if (!b) bags.set(key, b = await readChunks(c, id, ctx.feature));
      return b;
    };
    const rows: string[] = [
      ["run", "fold", "seed", "set", "id", "score", "target", "label"].join(","),
    ];
    let losses: number[] = [];
    let hyperparameters: Record<string, unknown> = {};
    let headBytes: Uint8Array | undefined;
    const heatmaps: string[] = [];
    const extSamples = external ? usable(external.samples) : [];
    const extBags: HostTensor[] = [];
    for (const s of extSamples) extBags.push(await bagOf(extCache!, s.id));
    // Runs of one target: model selection, test (and external) predictions, metrics.
    const evaluate = async (ds: Dataset, first: boolean) => {
      const dsTrain = folds === 0 ? need(ds, protocol.trainSplit) : [];
      const dsTest = folds === 0 ? need(ds, protocol.testSplit) : [];
      const dsPool = folds === 0 ? [] : need(ds, cvSplit);
      const byId = new Map([...dsTrain, ...dsTest, ...dsPool].map((s) => [s.id, s]));
      const runs = planMilRuns({
        train: usable(dsTrain),
        test: usable(dsTest),
        pool: usable(dsPool),
        folds,
        ratio,
        valFraction,
        seeds,
        seed: ctx.seed,
      });

      const perRun: Record<string, unknown>[] = [];
      const runMetrics: Record<string, number>[] = [];
      const extMetrics: Record<string, number>[] = [];
      const pooled = { scores: [] as number[], targets: [] as number[] };
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r];
        const pick = (ids: readonly string[]) => ids.map((id) => byId.get(id)!);
        const [trS, vaS, teS] = [pick(run.train), pick(run.val), pick(run.test)];
        const xs = async (list: readonly Sample[]) => {
          const out: HostTensor[] = [];
          for (const s of list) out.push(await bagOf(cache, s.id));
          return out;
        };
        const [xTr, xVa, xTe] = [await xs(trS), await xs(vaS), await xs(teS)];
        const yTr = {
          data: Float32Array.from(trS, (s) => s.target?.[0] ?? 0),
          shape: [trS.length],
        };
        // Model selection on the validation bags.
        let best: { head: Head; epochs: number; valAuc: number; losses: number[] } | undefined;
        const valAucs: Record<string, number | null> = {};
        for (const epochs of selectEpochs) {
          const head = headPlugin.create({
            ...ctx.headOptions,
            epochs,
            ...("device" in headPlugin.defaults ? { device: ctx.headBackend } : {}),
          });
          const fit = await timer.time(
            "fit",
            () => head.fit(xTr, yTr, { seed: run.seed, signal: ctx.signal }),
          );
          let valAuc = NaN;
          if (xVa.length > 0) {
            const pv = binaryScores(await head.predict(xVa) as HostTensor);
            valAuc = macroOf(auc.compute(pv, targetsOf(vaS))).value;
          }
          valAucs[String(epochs)] = finiteOrNull(valAuc);
          const better = !best || (Number.isFinite(valAuc) && !(valAuc <= best.valAuc)) ||
            (!Number.isFinite(best.valAuc) && Number.isFinite(valAuc));
          if (better) {
            best?.head.dispose();
            best = { head, epochs, valAuc, losses: fit.losses };
          } else head.dispose();
        }
        const head = best!.head;
        try {
          const scores = binaryScores(
            await timer.time("predict", () => head.predict(xTe)) as HostTensor,
          );
          const target = targetsOf(teS);
          const m = scoreAll(metricPlugins, scores, target);
          runMetrics.push(m);
          teS.forEach((s, i) => {
            pooled.scores.push(scores.data[i]);
            pooled.targets.push(target.data[i]);
            rows.push(
              [
                r,
                run.fold,
                run.seed,
                "test",
                csvField(s.id),
                scores.data[i],
                target.data[i],
                csvField(ds.labels[0]),
              ].join(","),
            );
          });
          let ext: Record<string, number> | undefined;
          if (external && extBags.length > 0) {
            const es = binaryScores(await head.predict(extBags) as HostTensor);
            const et = targetsOf(extSamples);
            ext = scoreAll(metricPlugins, es, et);
            extMetrics.push(ext);
            extSamples.forEach((s, i) =>
              rows.push(
                [
                  r,
                  run.fold,
                  run.seed,
                  "external",
                  csvField(s.id),
                  es.data[i],
                  et.data[i],
                  csvField(ds.labels[0]),
                ].join(","),
              )
            );
          }
          perRun.push({
            run: r,
            fold: run.fold,
            seed: run.seed,
            counts: { train: trS.length, val: vaS.length, test: teS.length },
            selectedEpochs: best!.epochs,
            valAuc: valAucs,
            metrics: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, finiteOrNull(v)])),
            ...(ext
              ? {
                external: Object.fromEntries(
                  Object.entries(ext).map(([k, v]) => [k, finiteOrNull(v)]),
                ),
              }
              : {}),
          });
          if (r === 0 && first) {
            losses = best!.losses;
            hyperparameters = { ...head.hyperparameters };
            try {
              headBytes = head.save();
            } catch { /* a head without savable state */ }
            // Attention heatmaps of the first run's test slides.
            const attention =
              (head as { attention?: (b: HostTensor[]) => Promise<Float32Array[]> }).attention;
            if (attention && outputs.renderAttention && heatmapCount !== 0) {
              await timer.time("heatmaps", async () => {
                const list = heatmapCount < 0 ? teS : teS.slice(0, heatmapCount);
                const listBags: HostTensor[] = [];
                for (const s of list) listBags.push(await bagOf(cache, s.id));
                const weights = await attention.call(head, listBags);
                for (let i = 0; i < list.length; i++) {
                  try {
                    const name = `heatmaps/${safeFileName(list[i].id)}.png`;
                    await Deno.mkdir(`${ctx.out}/heatmaps`, { recursive: true });
                    await Deno.writeFile(
                      `${ctx.out}/${name}`,
                      await outputs.renderAttention!(await list[i].load(), weights[i]),
                    );
                    heatmaps.push(name);
                  } catch (e) {
                    failures.add(list[i], "heatmap", e);
                  }
                }
              });
            }
          }
        } finally {
          head.dispose();
        }
      }

      // 4. Mean ± std over runs, bootstrap CI of the pooled test predictions.
      const macro: Record<string, MetricValue> = {};
      await timer.time("metrics", () => {
        const ps = { data: Float32Array.from(pooled.scores), shape: [pooled.scores.length, 1] };
        const pt = { data: Float32Array.from(pooled.targets), shape: [pooled.targets.length, 1] };
        for (const m of metricPlugins) {
          const values = runMetrics.map((x) => x[m.name]).filter(Number.isFinite);
          const { mean, std } = meanStd(values);
          let ci: MetricValue["ci"] = null;
          if (ctx.bootstrap > 0 && pooled.scores.length > 1) {
            const interval = bootstrapCi((p, t) => macroOf(m.compute(p, t)).value, ps, pt, {
              samples: ctx.bootstrap,
              seed: ctx.seed,
              stratified: true,
            });
            ci = {
              low: finiteOrNull(interval.low),
              high: finiteOrNull(interval.high),
              level: 0.95,
              samples: ctx.bootstrap,
            };
          }
          macro[m.name] = {
            value: finiteOrNull(mean),
            std: runs.length > 1 ? finiteOrNull(std) : null,
            ci,
            validCount: values.length,
          };
        }
      });
      return { macro, perRun, runs: runs.length, extMetrics };
    };
    const results: {
      label: string;
      macro: Record<string, MetricValue>;
      perRun: unknown[];
      runs: number;
      extMetrics: Record<string, number>[];
    }[] = [];
    for (let t = 0; t < perTarget.length; t++) {
      results.push({ label: perTarget[t].labels[0], ...(await evaluate(perTarget[t], t === 0)) });
    }
    const extMetrics = results[0].extMetrics;
    const runs = { length: results[0].runs };
    const perRun = results[0].perRun;
    // One target: its metrics. Every target: the mean over targets (per-label values below).
    const macro: Record<string, MetricValue> = results.length === 1
      ? results[0].macro
      : Object.fromEntries(metricPlugins.map((m) => {
        const values = results.map((r) => r.macro[m.name]?.value).filter((v): v is number =>
          typeof v === "number" && Number.isFinite(v)
        );
        const { mean, std } = meanStd(values);
        return [m.name, {
          value: finiteOrNull(mean),
          std: finiteOrNull(std),
          ci: null,
          validCount: values.length,
        }];
      }));
    const externalSummary = external
      ? {
        dataset: external.id,
        split: external.split,
        root: String(o.externalData),
        count: extSamples.length,
        splitInfo: (external.dataset as { splitInfo?: unknown }).splitInfo ?? null,
        excluded: (external.dataset as { excluded?: unknown }).excluded ?? [],
        metrics: Object.fromEntries(metricPlugins.map((m) => {
          const { mean, std } = meanStd(extMetrics.map((x) => x[m.name]).filter(Number.isFinite));
          return [m.name, {
            value: finiteOrNull(mean),
            std: finiteOrNull(std),
            runs: extMetrics.length,
          }];
        })),
      }
      : undefined;

    const record: ResultRecord = {
      schema: RESULT_SCHEMA,
      medprobeVersion: ctx.version,
      createdAt: new Date().toISOString(),
      dataset: ctx.datasetId,
      task: dataset.problem,
      labels: results.map((r) => r.label),
      protocol: {
        taskPlugin: "mil",
        trainSplit: folds === 0 ? protocol.trainSplit : cvSplit,
        testSplit: folds === 0 ? protocol.testSplit : `${cvSplit} (held-out fold)`,
        resolution: ctx.resolution,
        feature: ctx.feature,
        seed: ctx.seed,
        seeds,
        ...(folds > 0 ? { folds, cvRatio: ratio.join(":") } : {}),
        split: folds === 0 ? "official" : `${folds}-fold patient-level CV`,
        validation: folds === 0
          ? `${valFraction} of the training patients (seeded, stratified by class), for model selection`
          : `${ratio[1]}/${
            ratio[0] + ratio[1]
          } of each fold's training patients (seeded, stratified by class), for model selection`,
        modelSelection: `epochs in [${
          selectEpochs.join(", ")
        }] by validation AUC (ties: fewer epochs)`,
        batchSize: ctx.batchSize,
        bootstrapSamples: ctx.bootstrap,
        ciMethod: ctx.bootstrap > 0
          ? `stratified percentile bootstrap, ${ctx.bootstrap} resamples of the pooled test predictions of ${runs.length} run(s)`
          : "none",
        aggregate: `mean ± std over ${runs.length} run(s) (folds × seeds)`,
        metrics: [...ctx.metrics],
        limit: ctx.limit ?? null,
        runs: perRun,
        ...(results.length > 1
          ? {
            targets: Object.fromEntries(results.map((r) => [r.label, {
              metrics: r.macro,
              runs: r.perRun,
            }])),
            aggregateTargets:
              "macro = mean (± std) over the targets of each target's mean over runs",
          }
          : {}),
        ...(externalSummary ? { external: externalSummary } : {}),
      },
      encoder: { ...ctx.encoder.info, ...ctx.encoderMeta, preprocess: ctx.encoder.preprocess },
      adapter: { name: ctx.adapter, settings: { ...adapter.settings } },
      head: {
        name: ctx.head,
        hyperparameters,
        losses,
        ...(headBytes ? { file: "head.safetensors" } : {}),
      },
      data: {
        root: ctx.root,
        counts: folds === 0
          ? {
            [protocol.trainSplit]: usable(train).length,
            [protocol.testSplit]: usable(test).length,
          }
          : { [cvSplit]: usable(pool).length },
        failed: failures.failed,
        cache: ctx.cacheDir,
        cacheHits: counts.cached,
        splitInfo: (dataset as { splitInfo?: unknown }).splitInfo ?? null,
        excluded: (dataset as { excluded?: unknown }).excluded ?? [],
      },
      timings: timer.finish(),
      metrics: {
        macro,
        perLabel: Object.fromEntries(results.map((r) => [
          r.label,
          Object.fromEntries(Object.entries(r.macro).map(([k, v]) => [k, v.value])),
        ])),
      },
      environment: environmentOf(ctx.environment),
      artifacts: {
        predictions: "predictions.csv",
        tiles: "tiles/",
        ...(heatmaps.length > 0 ? { heatmaps: "heatmaps/" } : {}),
        ...(headBytes ? { head: "head.safetensors" } : {}),
      },
    };
    await writeResult(ctx.out, record, {
      "predictions.csv": rows.join("\n") + "\n",
      ...(headBytes ? { "head.safetensors": headBytes } : {}),
    });
    return record;
  } finally {
    cache.close();
    extCache?.close();
  }
}

function validateMilProtocol(protocol: ProtocolDefaults): void {
  if (protocol.feature !== "bag") {
    throw new TypeError(
      `protocol.feature must be "bag" for task "mil": current value is "${protocol.feature}"`,
    );
  }
}

/** The `mil` task plugin. */
export const milTask: TaskPlugin = {
  kind: "task",
  name: "mil",
  description:
    "Whole slides → tile bags → ABMIL with validation-based model selection, folds × seeds, external test, heatmaps",
  version: "0.1.0",
  input: "bags",
  problems: ["binary"],
  options: [
    {
      name: "folds",
      description: "K-fold patient-level CV (0: the official split)",
      type: "int",
      default: 0,
      min: 0,
    },
    {
      name: "cv-ratio",
      description: "train:val:test shares within CV",
      type: "string",
      default: "7:1:2",
    },
    {
      name: "cv-split",
      description: "Split the folds are drawn from (default: all)",
      type: "string",
    },
    {
      name: "val-fraction",
      description: "Training patients held out for model selection (official split)",
      type: "number",
      default: 0.1,
      min: 0.01,
      max: 0.9,
    },
    {
      name: "seeds",
      description: "Seeds per fold (mean ± std over runs)",
      type: "int",
      default: 1,
      min: 1,
    },
    {
      name: "select-epochs",
      description: "Epoch counts tried; the best validation AUC is kept",
      type: "string",
      default: "10,20,40",
    },
    {
      name: "external",
      description: "Dataset id of an external test (e.g. wsi/camelyon17)",
      type: "string",
    },
    {
      name: "external-data",
      description: "Folder of the external dataset",
      type: "string",
    },
    {
      name: "external-split",
      description: "Split of the external dataset (default its test split)",
      type: "string",
    },
    {
      name: "label",
      description:
        "Target of a dataset with several (BCNB: ALN, ER, PR, HER2, Ki67; all: each in turn, one record)",
      type: "string",
    },
    {
      name: "heatmaps",
      description: "Test slides with attention heatmaps (-1: all)",
      type: "int",
      default: 8,
      min: -1,
    },
  ],
  validateProtocol: validateMilProtocol,
  run: runMil,
  extract: extractMil,
};

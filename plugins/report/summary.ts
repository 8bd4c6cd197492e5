// This module is browser compatible.
/**
 * Turning result records into report tables: one table per dataset × head,
 * one row per encoder × resolution (× feature when it varies), one column per
 * macro metric. Several records landing on the same row (folds, seeds,
 * repeated runs) are averaged and reported as mean ± std with their count.
 *
 * @module
 */

import type { MetricValue, ResultRecord } from "../../core/result.ts";
import type { CollectedRecord } from "./collect.ts";

/**
 * Metrics where lower is better (distances, variation of information,
 * Rand error). Every other metric name is taken as higher-is-better.
 */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set([
  "hd",
  "hd95",
  "assd",
  "voi-split",
  "voi-merge",
  "voi",
  "arand",
  "cremi-score",
]);

/** Column order of well-known metrics; others follow alphabetically. */
export const METRIC_ORDER: readonly string[] = [
  "auc",
  "accuracy",
  "balanced-accuracy",
  "precision",
  "recall",
  "specificity",
  "f1",
  "average-precision",
  "subset-accuracy",
  "dice",
  "iou",
  "voxel-precision",
  "voxel-recall",
  "hd",
  "hd95",
  "assd",
  "voi-split",
  "voi-merge",
  "voi",
  "arand",
  "cremi-score",
];

const METRIC_LABELS: Record<string, string> = {
  auc: "AUC",
  accuracy: "ACC",
  "balanced-accuracy": "Balanced ACC",
  precision: "Precision",
  recall: "Recall",
  specificity: "Specificity",
  f1: "F1",
  "average-precision": "AP",
  "subset-accuracy": "Subset ACC",
  dice: "Dice",
  iou: "IoU",
  "voxel-precision": "Voxel precision",
  "voxel-recall": "Voxel recall",
  hd: "HD",
  hd95: "HD95",
  assd: "ASSD",
  "voi-split": "VOI split",
  "voi-merge": "VOI merge",
  voi: "VOI",
  arand: "ARAND",
  "cremi-score": "CREMI score",
};

/**
 * Whether a larger value of the metric is better.
 *
 * @example Direction of a few metrics
 * ```ts
 * import { isHigherBetter } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isHigherBetter("auc"), true);
 * assert.equal(isHigherBetter("hd95"), false);
 * assert.equal(isHigherBetter("my-new-score"), true);
 * ```
 */
export function isHigherBetter(metric: string): boolean {
  return !LOWER_IS_BETTER.has(metric);
}

/**
 * The column title of a metric, as the report writes it (`"auc"` → `"AUC"`);
 * unknown names are returned unchanged.
 *
 * @example Titles
 * ```ts
 * import { formatMetricName } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMetricName("accuracy"), "ACC");
 * assert.equal(formatMetricName("voi-split"), "VOI split");
 * assert.equal(formatMetricName("kappa"), "kappa");
 * ```
 */
export function formatMetricName(metric: string): string {
  return METRIC_LABELS[metric] ?? metric;
}

/**
 * Sorts metric names: well-known ones in {@linkcode METRIC_ORDER}, then the
 * rest alphabetically.
 *
 * @example Ordering
 * ```ts
 * import { sortMetrics } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(sortMetrics(["zeta", "recall", "auc", "hd95"]), ["auc", "recall", "hd95", "zeta"]);
 * ```
 */
export function sortMetrics(metrics: Iterable<string>): string[] {
  const rank = (m: string): number => {
    const i = METRIC_ORDER.indexOf(m);
    return i < 0 ? METRIC_ORDER.length : i;
  };
  return [...new Set(metrics)].sort((a, b) => rank(a) - rank(b) || compareText(a, b));
}

const DINOV3_SIZES: readonly [RegExp, string, number][] = [
  [/^dinov3-vits16plus$/, "DINOv3-S+", 1],
  [/^dinov3-vits\d*$/, "DINOv3-S", 0],
  [/^dinov3-vitb\d*$/, "DINOv3-B", 2],
  [/^dinov3-vitl\d*$/, "DINOv3-L", 3],
  [/^dinov3-vith\d*plus$/, "DINOv3-H+", 4],
  [/^dinov3-vit7b\d*$/, "DINOv3-7B", 5],
];

/**
 * The name a report gives an encoder id: DINOv3 ViTs by model size as in the
 * paper (`"dinov3-vitb16"` → `"DINOv3-B"`), anything else (ONNX baselines)
 * as its id.
 *
 * @example Names
 * ```ts
 * import { formatEncoderName } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatEncoderName("dinov3-vits16"), "DINOv3-S");
 * assert.equal(formatEncoderName("dinov3-vitl16"), "DINOv3-L");
 * assert.equal(formatEncoderName("biomedclip"), "biomedclip");
 * ```
 */
export function formatEncoderName(id: string): string {
  for (const [re, name] of DINOV3_SIZES) if (re.test(id)) return name;
  return id;
}

/** Sort rank of an encoder id: baselines (0) before DINOv3 by size (1..). */
function encoderRank(id: string): number {
  for (const [re, , rank] of DINOV3_SIZES) if (re.test(id)) return 1 + rank;
  return 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two encoders for row order: baselines first (alphabetically, as
 * the report lists BiomedCLIP before DINOv3), then DINOv3 by size S < S+ < B
 * < L < H+ < 7B; pretrained before randomly initialised weights.
 */
export function compareEncoders(a: EncoderKey, b: EncoderKey): number {
  return encoderRank(a.id) - encoderRank(b.id) || compareText(a.id, b.id) ||
    Number(!a.pretrained) - Number(!b.pretrained);
}

/** An encoder as a report row names it. */
export interface EncoderKey {
  /** Plugin id (`"dinov3-vits16"`, `"biomedclip"`). */
  id: string;
  /** False only when the record says the weights were random (`encoder.pretrained: false`). */
  pretrained: boolean;
  /** Display name, with `" (random init)"` for random weights. */
  label: string;
}

/** Builds the {@linkcode EncoderKey} of a record. */
export function getEncoderKey(record: ResultRecord): EncoderKey {
  const pretrained = record.encoder.pretrained !== false;
  const name = formatEncoderName(record.encoder.id);
  return { id: record.encoder.id, pretrained, label: pretrained ? name : `${name} (random init)` };
}

/** A resolution as a report row names and sorts it. */
export interface ResolutionKey {
  /** `"224"`, `"512x384"` (height x width) or `"native"`. */
  label: string;
  /** Pixels per side for sorting (geometric mean for rectangles; Infinity for native). */
  size: number;
}

/**
 * Builds the {@linkcode ResolutionKey} of a protocol resolution.
 *
 * @example Labels
 * ```ts
 * import { getResolutionKey } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(getResolutionKey(224).label, "224");
 * assert.equal(getResolutionKey([512, 384]).label, "512x384");
 * assert.equal(getResolutionKey("native").size, Infinity);
 * ```
 */
export function getResolutionKey(resolution: unknown): ResolutionKey {
  if (typeof resolution === "number") return { label: String(resolution), size: resolution };
  if (Array.isArray(resolution) && resolution.length === 2) {
    const [h, w] = resolution as number[];
    return { label: `${h}x${w}`, size: Math.sqrt(h * w) };
  }
  if (resolution === undefined || resolution === null) return { label: "n/a", size: Infinity };
  return { label: String(resolution), size: Infinity };
}

/** One cell: a metric of one row. */
export interface MetricCell {
  /** The value (mean over the row's records when more than one). */
  value: number | null;
  /** Lower end of the 95 % CI (single-record rows only). */
  low: number | null;
  /** Upper end of the 95 % CI (single-record rows only). */
  high: number | null;
  /** Standard deviation: the record's own (`std`) or over the row's records. */
  std: number | null;
  /** Records the value is aggregated over. */
  n: number;
}

/** One row of a table. */
export interface SummaryRow {
  /** The encoder. */
  encoder: EncoderKey;
  /** The input resolution. */
  resolution: ResolutionKey;
  /** Feature kind (`"cls"`, `"cls+mean"`...). */
  feature: string;
  /** Metric name → cell (only metrics some record of the row has). */
  metrics: Record<string, MetricCell>;
  /** The records behind the row. */
  records: CollectedRecord[];
}

/** One table: every run of one dataset with one head. */
export interface SummaryTable {
  /** `modality/dataset`. */
  dataset: string;
  /** Task family: the modality part of the dataset (`"xray"`). */
  family: string;
  /** The task(s) of the records, joined with `", "`. */
  task: string;
  /** Head name (`"linear"`, `"knn"`...). */
  head: string;
  /** Metric columns in display order. */
  metrics: string[];
  /** Label names (from the first record). */
  labels: string[];
  /** Whether rows differ in feature kind (then the feature is a column). */
  featureVaries: boolean;
  /** Rows in display order: encoder, then resolution, then feature. */
  rows: SummaryRow[];
}

function finite(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Aggregates the metric values of one row's records into one cell. */
export function aggregateCell(values: readonly (MetricValue | undefined)[]): MetricCell {
  const present = values.filter((v): v is MetricValue => v !== undefined);
  if (present.length === 1) {
    const v = present[0];
    return {
      value: finite(v.value),
      low: finite(v.ci?.low),
      high: finite(v.ci?.high),
      std: finite(v.std),
      n: 1,
    };
  }
  const xs = present.map((v) => finite(v.value)).filter((x): x is number => x !== null);
  if (xs.length === 0) return { value: null, low: null, high: null, std: null, n: present.length };
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.length > 1
    ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1))
    : null;
  return { value: mean, low: null, high: null, std, n: xs.length };
}

/** The task family (modality) of a dataset id: `"xray/nih14"` → `"xray"`. */
export function getFamily(dataset: string): string {
  const i = dataset.indexOf("/");
  return i < 0 ? dataset : dataset.slice(0, i);
}

/**
 * Groups records into tables (one per dataset × head, ordered by dataset
 * then head) with rows ordered by encoder, resolution and feature.
 */
export function summarizeRecords(records: readonly CollectedRecord[]): SummaryTable[] {
  const tables = new Map<string, CollectedRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.record.dataset, r.record.head.name]);
    const list = tables.get(key);
    if (list) list.push(r);
    else tables.set(key, [r]);
  }
  const out: SummaryTable[] = [];
  for (const [key, group] of tables) {
    const [dataset, head] = JSON.parse(key) as [string, string];
    const rowMap = new Map<string, CollectedRecord[]>();
    for (const r of group) {
      const e = getEncoderKey(r.record);
      const k = JSON.stringify([
        e.id,
        e.pretrained,
        getResolutionKey(r.record.protocol.resolution).label,
        String(r.record.protocol.feature),
      ]);
      const list = rowMap.get(k);
      if (list) list.push(r);
      else rowMap.set(k, [r]);
    }
    const metricNames = new Set<string>();
    const rows: SummaryRow[] = [];
    for (const recs of rowMap.values()) {
      const names = new Set<string>();
      for (const r of recs) for (const m of Object.keys(r.record.metrics.macro)) names.add(m);
      const metrics: Record<string, MetricCell> = {};
      for (const m of names) {
        metricNames.add(m);
        metrics[m] = aggregateCell(recs.map((r) => r.record.metrics.macro[m]));
      }
      const first = recs[0].record;
      rows.push({
        encoder: getEncoderKey(first),
        resolution: getResolutionKey(first.protocol.resolution),
        feature: String(first.protocol.feature),
        metrics,
        records: recs,
      });
    }
    rows.sort((a, b) =>
      compareEncoders(a.encoder, b.encoder) || a.resolution.size - b.resolution.size ||
      compareText(a.resolution.label, b.resolution.label) || compareText(a.feature, b.feature)
    );
    out.push({
      dataset,
      family: getFamily(dataset),
      task: [...new Set(group.map((r) => r.record.task))].join(", "),
      head,
      metrics: sortMetrics(metricNames),
      labels: group[0].record.labels,
      featureVaries: new Set(rows.map((r) => r.feature)).size > 1,
      rows,
    });
  }
  out.sort((a, b) => compareText(a.dataset, b.dataset) || compareText(a.head, b.head));
  return out;
}

/**
 * Indices of the best rows of a metric column (ties all count); empty when
 * fewer than two rows have a value or all values are equal.
 */
export function findBestRows(table: SummaryTable, metric: string): Set<number> {
  const values = table.rows.map((r) => r.metrics[metric]?.value ?? null);
  const defined = values.filter((v): v is number => v !== null);
  if (defined.length < 2) return new Set();
  const best = isHigherBetter(metric) ? Math.max(...defined) : Math.min(...defined);
  const rows = values.flatMap((v, i) => (v === best ? [i] : []));
  return rows.length === defined.length ? new Set() : new Set(rows);
}

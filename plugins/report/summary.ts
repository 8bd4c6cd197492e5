// This module is browser compatible.
/**
 * Turning result records into report tables: one table per dataset × head,
 * one row per encoder × resolution (× input channels, feature and other
 * protocol settings when they vary), one column per macro metric. Records
 * that differ only by seed or fold land on the same row and are averaged
 * and reported as mean ± std with their count.
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
  "voi-sum",
  "voi",
  "arand",
  "cremi-score",
]);

/**
 * Metrics whose values lie in [0, 1] (probabilities, rates, overlaps, Rand
 * error): figures bound their axes to that interval. Distances and
 * variation of information are bounded below by 0 only.
 */
export const BOUNDED_METRICS: ReadonlySet<string> = new Set([
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
  "arand",
]);

/**
 * The metric a table or figure shows first when none is asked for: AUC for
 * classification, Dice for segmentation, VOI sum / CREMI score / ARAND for
 * EM instance segmentation, in this order of preference.
 */
export const PRIMARY_METRICS: readonly string[] = [
  "auc",
  "dice",
  "voi-sum",
  "cremi-score",
  "voi",
  "arand",
];

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
  "voi-sum",
  "voi",
  "arand",
  "cremi-score",
];

/**
 * Column order of segmentation tables (the report's Table 10: Dice, HD95,
 * precision, recall), used when a table holds Dice.
 */
export const SEGMENTATION_METRIC_ORDER: readonly string[] = [
  "dice",
  "iou",
  "hd95",
  "hd",
  "assd",
  "precision",
  "recall",
  "voxel-precision",
  "voxel-recall",
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
  "voi-sum": "VOI sum",
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
  const names = [...new Set(metrics)];
  const segmentation = names.includes("dice");
  const rank = (m: string): number => {
    if (segmentation) {
      const j = SEGMENTATION_METRIC_ORDER.indexOf(m);
      if (j >= 0) return j - SEGMENTATION_METRIC_ORDER.length;
    }
    const i = METRIC_ORDER.indexOf(m);
    return i < 0 ? METRIC_ORDER.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b) || compareText(a, b));
}

/**
 * Whether the metric's values lie in [0, 1] ({@linkcode BOUNDED_METRICS}).
 *
 * @example Bounds
 * ```ts
 * import { isBoundedMetric } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isBoundedMetric("auc"), true);
 * assert.equal(isBoundedMetric("hd95"), false);
 * ```
 */
export function isBoundedMetric(metric: string): boolean {
  return BOUNDED_METRICS.has(metric);
}

/**
 * The metric to show of a list of columns: `requested` when present, else
 * the first of {@linkcode PRIMARY_METRICS} present (AUC, Dice, VOI sum...),
 * else the first column; `null` for an empty list.
 *
 * @example Dice for a segmentation table, AUC for a classification one
 * ```ts
 * import { choosePrimaryMetric } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(choosePrimaryMetric(["precision", "recall", "dice", "hd95"]), "dice");
 * assert.equal(choosePrimaryMetric(["auc", "accuracy"], "accuracy"), "accuracy");
 * assert.equal(choosePrimaryMetric(["auc", "accuracy"], "dice"), "auc");
 * ```
 */
export function choosePrimaryMetric(
  metrics: readonly string[],
  requested?: string,
): string | null {
  if (requested !== undefined && metrics.includes(requested)) return requested;
  return PRIMARY_METRICS.find((m) => metrics.includes(m)) ?? metrics[0] ?? null;
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
  /**
   * Standard deviation: over the row's records (seeds, folds written as
   * separate records) or the record's own over its folds; `null` when it
   * would rest on a single value (one fold, one seed).
   */
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
  /** Input channels (`"ct"`, `"pet"`, `"ct+pet"`) when the records say (`protocol.channels`). */
  channels: string | null;
  /**
   * The protocol settings that set this row apart from the table's other
   * rows beyond encoder, resolution, feature and channels (`"epochs=300"`);
   * `""` when none.
   */
  setting: string;
  /** Identity of the row across tables of one dataset (heads side by side). */
  key: string;
  /** Metric name → cell (only metrics some record of the row has). */
  metrics: Record<string, MetricCell>;
  /** The records behind the row: runs that differ only by seed or fold. */
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
  /** Whether some row has input channels (then an "Input" column). */
  hasChannels: boolean;
  /** Whether rows differ in other protocol settings (then a "Setting" column). */
  settingVaries: boolean;
  /** Rows in display order: encoder, then resolution, then input, feature and setting. */
  rows: SummaryRow[];
}

function finite(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Protocol keys that do not set a row apart: runs differing only in these
 * are the same experiment repeated, and share a row as mean ± std. The
 * resolution, feature and channels are row columns of their own.
 */
export const ROW_IGNORED_PROTOCOL_KEYS: ReadonlySet<string> = new Set([
  "seed",
  "fold",
  "resolution",
  "feature",
  "channels",
  "foldsFile",
  "splitFile",
  "notes",
]);

/**
 * How many runs a record's own `std` rests on: its fold list, else
 * `protocol.runFolds`, else `null` (unknown).
 */
export function countRecordRuns(record: ResultRecord): number | null {
  if (Array.isArray(record.folds)) return record.folds.length;
  const runFolds = record.protocol.runFolds;
  return typeof runFolds === "number" ? runFolds : null;
}

/**
 * Aggregates the metric values of one row's records into one cell: one
 * record keeps its value, CI and own std (dropped when `runs[0]` says it
 * rests on one run, or when it is 0 with one valid count); several records
 * give their mean and sample standard deviation.
 *
 * @example Two seeds; one fold
 * ```ts
 * import { aggregateCell } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * const two = aggregateCell([{ value: 0.8 }, { value: 0.9 }]);
 * assert.ok(Math.abs(two.value! - 0.85) < 1e-12 && two.n === 2);
 * assert.equal(aggregateCell([{ value: 0.8, std: 0, validCount: 1 }]).std, null);
 * assert.equal(aggregateCell([{ value: 0.8, std: 0.01 }], [1]).std, null);
 * assert.equal(aggregateCell([{ value: 0.8, std: 0.01 }], [5]).std, 0.01);
 * ```
 */
export function aggregateCell(
  values: readonly (MetricValue | undefined)[],
  runs: readonly (number | null)[] = [],
): MetricCell {
  const present = values.map((v, i) => ({ v, runs: runs[i] ?? null }))
    .filter((x): x is { v: MetricValue; runs: number | null } => x.v !== undefined);
  if (present.length === 1) {
    const { v, runs: r } = present[0];
    let std = finite(v.std);
    if (r !== null && r <= 1) std = null;
    if (std === 0 && (v.validCount ?? 0) <= 1) std = null;
    return { value: finite(v.value), low: finite(v.ci?.low), high: finite(v.ci?.high), std, n: 1 };
  }
  const xs = present.map((x) => finite(x.v.value)).filter((x): x is number => x !== null);
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
 * The input channels of a record (`protocol.channels`, lower case, `"+"`
 * joined when a list), or `null` when it does not say.
 */
export function getChannels(record: ResultRecord): string | null {
  const c = record.protocol.channels;
  if (typeof c === "string" && c !== "") return c.toLowerCase();
  if (Array.isArray(c) && c.length > 0) return c.map((x) => String(x).toLowerCase()).join("+");
  return null;
}

/**
 * The display name of input channels, as the report's Table 10 writes them.
 *
 * @example Names
 * ```ts
 * import { formatChannels } from "./summary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatChannels("ct+pet"), "CT+PET");
 * assert.equal(formatChannels("flair"), "FLAIR");
 * ```
 */
export function formatChannels(channels: string): string {
  return channels.toUpperCase();
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The protocol settings of a record that set a row apart (see {@linkcode ROW_IGNORED_PROTOCOL_KEYS}). */
function settingsOf(record: ResultRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record.protocol)) {
    if (!ROW_IGNORED_PROTOCOL_KEYS.has(k) && v !== undefined) out[k] = stableJson(v);
  }
  return out;
}

function formatSettingValue(json: string): string {
  const v = JSON.parse(json) as unknown;
  return typeof v === "string" ? v : json;
}

/** A row's identity: encoder, resolution, feature, channels and settings. */
function rowKeyOf(r: ResultRecord): string {
  const e = getEncoderKey(r);
  return stableJson([
    e.id,
    e.pretrained,
    getResolutionKey(r.protocol.resolution).label,
    String(r.protocol.feature),
    getChannels(r),
    settingsOf(r),
  ]);
}

/** Orders rows: encoder, resolution, channels, feature, setting. */
export function compareRows(a: SummaryRow, b: SummaryRow): number {
  return compareEncoders(a.encoder, b.encoder) || a.resolution.size - b.resolution.size ||
    compareText(a.resolution.label, b.resolution.label) ||
    compareText(a.channels ?? "", b.channels ?? "") || compareText(a.feature, b.feature) ||
    compareText(a.setting, b.setting);
}

/**
 * Groups records into tables (one per dataset × head, ordered by dataset
 * then head) with rows ordered by encoder, resolution, input channels,
 * feature and setting. Records differing only by seed or fold share a row
 * (mean ± std); records differing in input channels (`protocol.channels`)
 * or in any other protocol setting get rows of their own.
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
      const k = rowKeyOf(r.record);
      const list = rowMap.get(k);
      if (list) list.push(r);
      else rowMap.set(k, [r]);
    }
    // Settings that differ between rows of this table become the "Setting" label.
    const allSettings = [...rowMap.values()].map((recs) => settingsOf(recs[0].record));
    const keys = new Set(allSettings.flatMap((s) => Object.keys(s)));
    const varying = [...keys].filter((k) => new Set(allSettings.map((s) => s[k] ?? "")).size > 1)
      .sort();
    const metricNames = new Set<string>();
    const rows: SummaryRow[] = [];
    for (const [k, recs] of rowMap) {
      const names = new Set<string>();
      for (const r of recs) for (const m of Object.keys(r.record.metrics.macro)) names.add(m);
      const metrics: Record<string, MetricCell> = {};
      const runs = recs.map((r) => countRecordRuns(r.record));
      for (const m of names) {
        metricNames.add(m);
        metrics[m] = aggregateCell(recs.map((r) => r.record.metrics.macro[m]), runs);
      }
      const first = recs[0].record;
      const settings = settingsOf(first);
      const [id, pretrained, resolution, feature, channels] = JSON.parse(k) as unknown[];
      rows.push({
        encoder: getEncoderKey(first),
        resolution: getResolutionKey(first.protocol.resolution),
        feature: String(first.protocol.feature),
        channels: getChannels(first),
        setting: varying.filter((v) => settings[v] !== undefined)
          .map((v) => `${v}=${formatSettingValue(settings[v])}`).join(", "),
        key: stableJson([id, pretrained, resolution, feature, channels]),
        metrics,
        records: recs,
      });
    }
    // Rows keyed across heads also carry their setting.
    for (const r of rows) r.key = `${r.key}|${r.setting}`;
    rows.sort(compareRows);
    out.push({
      dataset,
      family: getFamily(dataset),
      task: [...new Set(group.map((r) => r.record.task))].join(", "),
      head,
      metrics: sortMetrics(metricNames),
      labels: group[0].record.labels,
      featureVaries: new Set(rows.map((r) => r.feature)).size > 1,
      hasChannels: rows.some((r) => r.channels !== null),
      settingVaries: varying.length > 0,
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

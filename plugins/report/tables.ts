// This module is browser compatible.
/**
 * Markdown and CSV renderings of the summary tables, shaped like the
 * report's: one row per encoder (model size) × resolution, one column per
 * metric written `value [CI low, CI high]`.
 *
 * @module
 */

import type { CollectedRecord } from "./collect.ts";
import { type DisplayCell, type DisplayTable, findBestCells, layoutTables } from "./layout.ts";
import {
  formatMetricName,
  getEncoderKey,
  getResolutionKey,
  isHigherBetter,
  type MetricCell,
  sortMetrics,
  type SummaryTable,
} from "./summary.ts";

/** Text written for a missing or undefined value. */
export const MISSING = "n/a";

/**
 * Formats a number with a fixed count of decimals (one decimal from 1000
 * up); `null` gives {@linkcode MISSING}.
 *
 * @example Formatting
 * ```ts
 * import { formatNumber } from "./tables.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatNumber(0.77884), "0.779");
 * assert.equal(formatNumber(12.5, 2), "12.50");
 * assert.equal(formatNumber(null), "n/a");
 * ```
 */
export function formatNumber(value: number | null, digits = 3): string {
  if (value === null || !Number.isFinite(value)) return MISSING;
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toFixed(digits);
}

/**
 * Formats a table cell: `0.779 [0.770, 0.788]` for one run with a CI,
 * `0.779 ± 0.010 [0.770, 0.788]` when the record carries a std, and
 * `0.779 ± 0.010 (n=5)` for a row averaged over several runs.
 *
 * @example Cells
 * ```ts
 * import { formatCell } from "./tables.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatCell({ value: 0.7788, low: 0.7702, high: 0.7881, std: null, n: 1 }),
 *   "0.779 [0.770, 0.788]",
 * );
 * assert.equal(
 *   formatCell({ value: 0.8, low: null, high: null, std: 0.0125, n: 5 }),
 *   "0.800 ± 0.013 (n=5)",
 * );
 * ```
 */
export function formatCell(cell: MetricCell | DisplayCell | null | undefined, digits = 3): string {
  if (!cell || cell.value === null) return MISSING;
  let s = formatNumber(cell.value, digits);
  if (cell.std !== null) s += ` ± ${formatNumber(cell.std, digits)}`;
  if (cell.n > 1) s += ` (n=${cell.n})`;
  else if (cell.low !== null && cell.high !== null) {
    s += ` [${formatNumber(cell.low, digits)}, ${formatNumber(cell.high, digits)}]`;
  }
  const note = (cell as DisplayCell).note;
  return note ? `${s} ${note}` : s;
}

/** The column title of a metric with `↓` for lower-is-better ones. */
export function formatMetricHeader(metric: string): string {
  return isHigherBetter(metric) ? formatMetricName(metric) : `${formatMetricName(metric)} ↓`;
}

/** The title of a table: `"xray/nih14 · linear"`. */
export function formatTableTitle(table: SummaryTable): string {
  return `${table.dataset} · ${table.head}`;
}

function escapeMarkdownCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** Column titles and formatted cells of a table (shared by Markdown and HTML). */
export interface TableText {
  /** Column titles (metric columns prefixed with their group in flat renderings). */
  header: string[];
  /** Metric column titles alone, without their group. */
  columnTitles: string[];
  /** Column groups over the metric columns, or `null`. */
  groups: { title: string; span: number }[] | null;
  /** Row cells as text. */
  rows: string[][];
  /** Per row, per column: whether the cell is the column's best. */
  best: boolean[][];
  /** Count of leading label columns (encoder, resolution, input, feature, setting). */
  labelColumns: number;
}

function toDisplay(table: SummaryTable | DisplayTable): DisplayTable {
  return "columns" in table ? table : layoutTables([table])[0];
}

/**
 * Formats a table's header and cells, and marks the best value of each
 * metric column (highest, or lowest for lower-is-better metrics). A
 * dataset × head summary table is laid out as one table first.
 */
export function formatTableText(table: SummaryTable | DisplayTable, digits = 3): TableText {
  const t = toDisplay(table);
  const bests = t.columns.map((_, j) => findBestCells(t, j));
  const titles = t.columns.map((c) => formatMetricHeaderTitle(c.title, c.metric));
  return {
    header: [
      ...t.labelHeader,
      ...t.columns.map((c, j) => (c.group ? `${c.group} ${titles[j]}` : titles[j])),
    ],
    columnTitles: titles,
    groups: t.groups,
    rows: t.rows.map((r) => [...r.labels, ...r.cells.map((c) => formatCell(c, digits))]),
    best: t.rows.map((_, i) => [
      ...t.labelHeader.map(() => false),
      ...bests.map((b) => b.has(i)),
    ]),
    labelColumns: t.labelHeader.length,
  };
}

/** A column title with `↓` when its metric is lower-is-better. */
function formatMetricHeaderTitle(title: string, metric: string): string {
  return isHigherBetter(metric) ? title : `${title} ↓`;
}

/**
 * Renders a table as a GitHub-flavoured Markdown table, the best value of
 * each metric column in bold (when at least two rows have one). Column
 * groups (heads side by side) prefix their columns' titles.
 */
export function renderMarkdownTable(table: SummaryTable | DisplayTable, digits = 3): string {
  const t = formatTableText(table, digits);
  const line = (cells: string[]): string => `| ${cells.map(escapeMarkdownCell).join(" | ")} |`;
  const out = [
    line(t.header),
    `|${t.header.map((_, i) => (i < t.labelColumns ? " --- " : " ---: ")).join("|")}|`,
  ];
  t.rows.forEach((cells, i) => {
    out.push(line(cells.map((c, j) => (t.best[i][j] ? `**${c}**` : c))));
  });
  return out.join("\n") + "\n";
}

/**
 * Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
 *
 * @example Quoting
 * ```ts
 * import { escapeCsvField } from "./tables.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeCsvField("cls+mean"), "cls+mean");
 * assert.equal(escapeCsvField('a "b", c'), '"a ""b"", c"');
 * ```
 */
export function escapeCsvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvNumber(v: number | null): string {
  return v === null ? "" : String(v);
}

function csvLines(rows: string[][]): string {
  return rows.map((r) => r.map(escapeCsvField).join(",")).join("\n") + "\n";
}

/**
 * Renders tables as one CSV, a row per table row: dataset, task, head,
 * encoder (display name), encoder_id, pretrained, resolution, input (channels),
 * feature, setting (differing protocol settings), runs,
 * then per metric (union of the tables' metrics) the full-precision value,
 * its CI ends and std (`<metric>`, `<metric>_ci_low`, `<metric>_ci_high`,
 * `<metric>_std`). Missing values are empty.
 */
export function renderTablesCsv(tables: readonly SummaryTable[]): string {
  const metrics = sortMetrics(tables.flatMap((t) => t.metrics));
  const header = [
    "dataset",
    "task",
    "head",
    "encoder",
    "encoder_id",
    "pretrained",
    "resolution",
    "input",
    "feature",
    "setting",
    "runs",
    ...metrics.flatMap((m) => [m, `${m}_ci_low`, `${m}_ci_high`, `${m}_std`]),
  ];
  const rows = [header];
  for (const t of tables) {
    for (const r of t.rows) {
      rows.push([
        t.dataset,
        t.task,
        t.head,
        r.encoder.label,
        r.encoder.id,
        String(r.encoder.pretrained),
        r.resolution.label,
        r.channels ?? "",
        r.feature,
        r.setting,
        String(r.records.length),
        ...metrics.flatMap((m) => {
          const c = r.metrics[m];
          return c
            ? [csvNumber(c.value), csvNumber(c.low), csvNumber(c.high), csvNumber(c.std)]
            : ["", "", "", ""];
        }),
      ]);
    }
  }
  return csvLines(rows);
}

/** One line of the provenance table: where a number came from. */
export interface RunSummary {
  /** The record file. */
  source: string;
  /** `modality/dataset`. */
  dataset: string;
  /** Head name. */
  head: string;
  /** Encoder display name. */
  encoder: string;
  /** Encoder id. */
  encoderId: string;
  /** Whether the weights were pretrained (`false` only when the record says so). */
  pretrained: boolean;
  /** Resolution label. */
  resolution: string;
  /** Feature kind. */
  feature: string;
  /** Master seed. */
  seed: number | null;
  /** `"index/count"` for cross-validation runs. */
  fold: string;
  /** Samples per split, `"train 100, test 40"`. */
  counts: string;
  /** Failed samples. */
  failed: number;
  /** Backend that ran the encoder. */
  backend: string;
  /** First 12 hex digits of the weights' SHA-256. */
  weights: string;
  /** medprobe version. */
  version: string;
  /** When the run finished. */
  createdAt: string;
  /** Feature extraction throughput (`"extract"` stage), items/s. */
  extractPerSecond: number | null;
}

/** Builds the provenance lines of the records, in the order given. */
export function summarizeRuns(records: readonly CollectedRecord[]): RunSummary[] {
  return records.map(({ record: r, source }) => {
    const e = getEncoderKey(r);
    const fold = r.protocol.fold;
    const extract = r.timings?.extract;
    const perSecond = extract?.perSecond ??
      (extract?.items && extract.seconds > 0 ? extract.items / extract.seconds : null);
    return {
      source,
      dataset: r.dataset,
      head: r.head.name,
      encoder: e.label,
      encoderId: e.id,
      pretrained: e.pretrained,
      resolution: getResolutionKey(r.protocol.resolution).label,
      feature: String(r.protocol.feature),
      seed: typeof r.protocol.seed === "number" ? r.protocol.seed : null,
      fold: fold ? `${fold.index}/${fold.count}` : "",
      counts: Object.entries(r.data.counts ?? {}).map(([k, v]) => `${k} ${v}`).join(", "),
      failed: Array.isArray(r.data.failed) ? r.data.failed.length : 0,
      backend: String(r.encoder.backend ?? ""),
      weights: String(r.encoder.weightsSha256 ?? "").slice(0, 12),
      version: r.medprobeVersion,
      createdAt: r.createdAt,
      extractPerSecond: typeof perSecond === "number" && Number.isFinite(perSecond)
        ? perSecond
        : null,
    };
  });
}

const RUN_HEADER = [
  "Record",
  "Dataset",
  "Head",
  "Encoder",
  "Resolution",
  "Feature",
  "Seed",
  "Fold",
  "Samples",
  "Failed",
  "Backend",
  "Weights SHA-256",
  "Extract /s",
  "medprobe",
  "Finished",
];

/**
 * The longest folder path all file sources share (`/a/b` for `/a/b/x/result.json`
 * and `/a/b/y.json`), or `""` when there is none.
 *
 * @example Common folder
 * ```ts
 * import { findCommonFolder } from "./tables.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(findCommonFolder(["/runs/a/result.json", "/runs/b/result.json"]), "/runs");
 * assert.equal(findCommonFolder(["/runs/a/result.json"]), "/runs/a");
 * assert.equal(findCommonFolder(["record 1"]), "");
 * ```
 */
export function findCommonFolder(sources: readonly string[]): string {
  const dirs = sources.filter((s) => s.includes("/")).map((s) => s.split("/").slice(0, -1));
  if (dirs.length === 0 || dirs.length !== sources.length) return "";
  let n = dirs[0].length;
  for (const d of dirs) {
    let i = 0;
    while (i < n && i < d.length && d[i] === dirs[0][i]) i++;
    n = i;
  }
  const common = dirs[0].slice(0, n).join("/");
  return common === "" && dirs[0][0] === "" ? "/" : common;
}

/**
 * The provenance table's header and cells as text (shared by Markdown and
 * HTML); record paths are shown relative to `root` when given.
 */
export function formatRunsText(
  runs: readonly RunSummary[],
  root = "",
): { header: string[]; rows: string[][] } {
  const prefix = root === "" ? "" : root.endsWith("/") ? root : `${root}/`;
  return {
    header: RUN_HEADER,
    rows: runs.map((r) => [
      prefix && r.source.startsWith(prefix) ? r.source.slice(prefix.length) : r.source,
      r.dataset,
      r.head,
      r.encoder,
      r.resolution,
      r.feature,
      r.seed === null ? MISSING : String(r.seed),
      r.fold || "–",
      r.counts,
      String(r.failed),
      r.backend,
      r.weights,
      r.extractPerSecond === null ? MISSING : r.extractPerSecond.toFixed(1),
      r.version,
      r.createdAt,
    ]),
  };
}

/** Renders the provenance table as Markdown (record paths relative to `root` when given). */
export function renderRunsMarkdown(runs: readonly RunSummary[], root = ""): string {
  const t = formatRunsText(runs, root);
  const line = (cells: string[]): string => `| ${cells.map(escapeMarkdownCell).join(" | ")} |`;
  return [line(t.header), `|${t.header.map(() => " --- ").join("|")}|`, ...t.rows.map(line)]
    .join("\n") + "\n";
}

/** Renders the provenance table as CSV (raw values, one line per record). */
export function renderRunsCsv(runs: readonly RunSummary[]): string {
  const header = [
    "source",
    "dataset",
    "head",
    "encoder",
    "encoder_id",
    "pretrained",
    "resolution",
    "feature",
    "seed",
    "fold",
    "samples",
    "failed",
    "backend",
    "weights_sha256_prefix",
    "extract_per_second",
    "medprobe_version",
    "created_at",
  ];
  return csvLines([
    header,
    ...runs.map((r) => [
      r.source,
      r.dataset,
      r.head,
      r.encoder,
      r.encoderId,
      String(r.pretrained),
      r.resolution,
      r.feature,
      r.seed === null ? "" : String(r.seed),
      r.fold,
      r.counts,
      String(r.failed),
      r.backend,
      r.weights,
      csvNumber(r.extractPerSecond),
      r.version,
      r.createdAt,
    ]),
  ]);
}

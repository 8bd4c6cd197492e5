/**
 * `medprobe report`: aggregates result records into the report's tables
 * (Markdown, LaTeX and CSV; rows = encoder × resolution × input channels,
 * `value [CI]` cells, runs that differ only by seed as `mean ± std (n=k)`),
 * laid out as the report prints them (the MSD tasks as columns of one table
 * with their mean, linear probe and k-NN side by side, AutoPET-II beside
 * HECKTOR by input channels, CREMI A/B/C side by side), SVG and 300-dpi PNG
 * figures (metric vs input resolution with one line per encoder, and a
 * radar chart per task family) and one self-contained HTML page.
 *
 * Files written under the output folder:
 *
 * | file | content |
 * |---|---|
 * | `report.md` | the tables, figure links, radar charts, runs |
 * | `report.html` | the same page, figures inline, no scripts, no external fetches |
 * | `results.csv` | every dataset × head row, full-precision values, CI ends, std |
 * | `runs.csv` | one line per record: source, encoder, seed, fold, samples, failures, versions |
 * | `tables/<dataset>__<head>.csv` | each dataset × head table alone |
 * | `tables.tex`, `tables/<table>.tex` | the printed tables as LaTeX (booktabs) |
 * | `plots/resolution__<dataset>__<head>__<metric>.svg` (`.png`) | metric vs resolution |
 * | `plots/radar__<family>[__<dataset>__<head>]__<metric>.svg` (`.png`) | radar charts |
 *
 * @example Writing a report from a folder of runs
 * ```ts ignore
 * import { writeReport } from "./mod.ts";
 *
 * const { files } = await writeReport(["runs/sweep"], "out/report", { metric: "auc" });
 * ```
 *
 * @module
 */

import { type ResultRecord, validateResultRecord } from "../../core/result.ts";
import { type CollectedRecord, collectRecords, type SkippedInput } from "./collect.ts";
import { renderHtmlReport } from "./html.ts";
import { renderMarkdownReport, type ReportContent, type ReportFigure } from "./markdown.ts";
import {
  assignEncoderColors,
  buildRadarSpec,
  buildResolutionSpec,
  chooseTableMetric,
  planRadarCharts,
  renderVegaLiteSvg,
  renderVegaSvg,
} from "./plots.ts";
import {
  formatMetricName,
  isHigherBetter,
  summarizeRecords,
  type SummaryTable,
} from "./summary.ts";
import { formatTableTitle, renderRunsCsv, renderTablesCsv, summarizeRuns } from "./tables.ts";
import { layoutTables } from "./layout.ts";
import { renderLatexTable, renderLatexTables } from "./latex.ts";
import { renderSvgToPng } from "./png.ts";

export { collectRecords, readRecordFile, RESULT_FILE_NAME } from "./collect.ts";
export type { CollectedRecord, CollectOptions, CollectResult, SkippedInput } from "./collect.ts";
export {
  BOUNDED_METRICS,
  choosePrimaryMetric,
  formatEncoderName,
  formatMetricName,
  isBoundedMetric,
  isHigherBetter,
  LOWER_IS_BETTER,
  PRIMARY_METRICS,
  summarizeRecords,
} from "./summary.ts";
export {
  DATASET_GROUPS,
  formatHeadName,
  getCollection,
  HEAD_LABELS,
  layoutTables,
  MSD_TASK_NAMES,
} from "./layout.ts";
export type { DisplayCell, DisplayColumn, DisplayRow, DisplayTable } from "./layout.ts";
export { escapeLatex, renderLatexTable, renderLatexTables } from "./latex.ts";
export { PRINT_DPI, renderSvgToPng } from "./png.ts";
export type { PngOptions, PngResult } from "./png.ts";
export type { EncoderKey, MetricCell, ResolutionKey, SummaryRow, SummaryTable } from "./summary.ts";
export { formatCell, formatNumber, renderMarkdownTable, renderTablesCsv } from "./tables.ts";
export type { RadarChart, RadarSkip } from "./plots.ts";
export type { RunSummary } from "./tables.ts";
export type { FailedSample, MetricValue, ResultRecord, StageTiming } from "../../core/result.ts";
export { renderHtmlReport } from "./html.ts";
export { renderMarkdownReport } from "./markdown.ts";
export type { ReportContent, ReportFigure } from "./markdown.ts";

/** Options of {@linkcode writeReport}. */
export interface ReportOptions {
  /**
   * Metric drawn in the figures. Without it each figure shows its table's
   * primary metric (AUC for classification, Dice for segmentation, VOI sum
   * for EM); a table without the requested metric falls back to its primary
   * one, and the report says so.
   */
  metric?: string;
  /**
   * Decimals in the Markdown and HTML tables (CSV keeps full precision).
   * @default {3}
   */
  digits?: number;
  /**
   * Page title.
   * @default {"medprobe report"}
   */
  title?: string;
  /**
   * Throw on an invalid `result.json` found in a folder instead of listing it
   * under "Skipped inputs".
   * @default {false}
   */
  strict?: boolean;
  /**
   * Also write every figure as PNG (`plots/*.png`) at this resolution in
   * dots per inch; `0` writes SVG only.
   * @default {300}
   */
  pngDpi?: number;
}

/** What {@linkcode writeReport} wrote. */
export interface ReportResult {
  /** Every file written, as `outDir/relative/path`, sorted. */
  files: string[];
  /** The records the report is built from. */
  records: number;
  /** Invalid `result.json` files that were skipped. */
  skipped: SkippedInput[];
  /** The tables (dataset × head). */
  tables: SummaryTable[];
  /**
   * What could not be written and why, the report itself being complete
   * (PNG figures without a renderer or a font: the SVGs are written).
   */
  warnings: string[];
}

/** Inputs of {@linkcode writeReport}: record files or run folders, or records in memory. */
export type ReportInput = string | ResultRecord;

function slugify(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "x";
}

function tableSlug(t: SummaryTable): string {
  return `${slugify(t.dataset)}__${slugify(t.head)}`;
}

/**
 * Builds the report content (tables, rendered figures, runs) from records
 * without writing anything.
 */
export async function buildReportContent(
  records: readonly CollectedRecord[],
  skipped: readonly SkippedInput[] = [],
  options: ReportOptions = {},
): Promise<ReportContent> {
  const metric = options.metric;
  const digits = options.digits ?? 3;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw new RangeError(
      `Cannot write report as digits must be an integer in [0, 10]: current value is ${digits}`,
    );
  }
  const tables = summarizeRecords(records);
  const colors = assignEncoderColors(tables);
  const figures: ReportFigure[] = [];
  const tableNotes: { table: number; text: string }[] = [];
  for (const [i, t] of tables.entries()) {
    const m = chooseTableMetric(t, metric);
    if (m === null) {
      tableNotes.push({ table: i, text: "No metric in this table: no figure." });
      continue;
    }
    const spec = buildResolutionSpec(t, m, colors);
    if (spec === null) {
      tableNotes.push({
        table: i,
        text: `${formatMetricName(m)} is known at fewer than two input resolutions: ` +
          "no resolution figure.",
      });
      continue;
    }
    if (metric !== undefined && m !== metric) {
      tableNotes.push({
        table: i,
        text: `No ${formatMetricName(metric)} in this table; the figure shows ${
          formatMetricName(m)
        }.`,
      });
    }
    const encoders = new Set(t.rows.map((r) => r.encoder.label)).size;
    const averaged = t.rows.some((r) => (r.metrics[m]?.n ?? 0) > 1);
    figures.push({
      kind: "resolution",
      file: `plots/resolution__${tableSlug(t)}__${slugify(m)}.svg`,
      title: `${formatMetricName(m)} vs input resolution — ${formatTableTitle(t)}`,
      caption:
        `${formatMetricName(m)}${isHigherBetter(m) ? "" : " (lower is better)"} against input ` +
        `resolution on ${formatTableTitle(t)}, one line per encoder (${encoders}); bars: 95 % ` +
        "bootstrap CI where the record has one" +
        (averaged ? ", ± std where a point is the mean over runs (seeds, folds)." : "."),
      svg: await renderVegaLiteSvg(spec),
      table: i,
    });
  }
  const radar = planRadarCharts(tables, metric, colors);
  for (const chart of radar.charts) {
    const suffix = chart.table ? `__${tableSlug(chart.table)}` : "";
    figures.push({
      kind: "radar",
      file: `plots/radar__${slugify(chart.family)}${suffix}__${slugify(chart.metric)}.svg`,
      title: chart.title,
      caption: `${chart.title}: ${chart.subtitle}; outward is better${
        isHigherBetter(chart.metric) ? "" : " (axis reversed: lower is better)"
      }.`,
      svg: await renderVegaSvg(buildRadarSpec(chart)),
    });
  }
  return {
    title: options.title ?? "medprobe report",
    records: [...records],
    skipped: [...skipped],
    tables,
    layouts: layoutTables(tables),
    figures,
    radarSkipped: radar.skipped,
    runs: summarizeRuns(records),
    tableNotes,
    digits,
    metric,
  };
}

/**
 * Collects the records (files, run folders searched recursively for
 * `result.json`, or records in memory), then writes the Markdown and CSV
 * tables, the SVG figures and the HTML page under `outDir` (created when
 * missing; files of an earlier report are overwritten, others left alone).
 * Throws a `TypeError` when no valid record is found.
 *
 * @example Writing a report of one in-memory record
 * ```ts
 * import { writeReport } from "./mod.ts";
 * import { RESULT_SCHEMA } from "../../core/result.ts";
 * import assert from "node:assert/strict";
 *
 * const auc = { value: 0.78, ci: { low: 0.77, high: 0.79, level: 0.95, samples: 1000 } };
 * const record = {
 *   schema: RESULT_SCHEMA, medprobeVersion: "0.1.0", createdAt: "2025-01-01T00:00:00Z",
 *   dataset: "xray/nih14", task: "multilabel", labels: ["Atelectasis"],
 *   protocol: { trainSplit: "train", testSplit: "test", resolution: 224, feature: "cls", seed: 0 },
 *   encoder: { id: "dinov3-vits16", backend: "webgpu", backendReason: "gpu", weightsSha256: "00" },
 *   adapter: { name: "image2d", settings: {} },
 *   head: { name: "linear", hyperparameters: {} },
 *   data: { root: "/data", counts: { train: 10, test: 5 }, failed: [] },
 *   timings: {},
 *   metrics: { macro: { auc }, perLabel: { Atelectasis: { auc: 0.78 } } },
 * };
 * const out = await Deno.makeTempDir();
 * const { files } = await writeReport([record], out);
 * assert.ok(files.includes(`${out}/report.html`));
 * assert.match(await Deno.readTextFile(`${out}/report.md`), /\| DINOv3-S \| 224 \| 0\.780 \[0\.770, 0\.790\] \|/);
 * await Deno.remove(out, { recursive: true });
 * ```
 */
export async function writeReport(
  inputs: readonly ReportInput[],
  outDir: string,
  options: ReportOptions = {},
): Promise<ReportResult> {
  const paths = inputs.filter((x): x is string => typeof x === "string");
  const collected = await collectRecords(paths, { strict: options.strict });
  const records: CollectedRecord[] = [...collected.records];
  inputs.forEach((x, i) => {
    if (typeof x !== "string") {
      const source = `record ${i + 1}`;
      records.push({ record: validateResultRecord(x, source), source });
    }
  });
  if (records.length === 0) {
    const where = paths.length ? paths.map((p) => `"${p}"`).join(", ") : "the inputs";
    throw new TypeError(
      `Cannot write report as no valid result record was found in ${where}` +
        (collected.skipped.length ? ` (${collected.skipped.length} invalid skipped)` : ""),
    );
  }
  const content = await buildReportContent(records, collected.skipped, options);
  const out = outDir.length > 1 ? outDir.replace(/\/+$/, "") : outDir;
  const written: string[] = [];
  const write = async (rel: string, text: string): Promise<void> => {
    const path = `${out}/${rel}`;
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    await Deno.writeTextFile(path, text);
    written.push(path);
  };
  await Deno.mkdir(out, { recursive: true });
  await write("report.md", renderMarkdownReport(content));
  await write("report.html", renderHtmlReport(content));
  await write("results.csv", renderTablesCsv(content.tables));
  await write("runs.csv", renderRunsCsv(content.runs));
  for (const t of content.tables) await write(`tables/${tableSlug(t)}.csv`, renderTablesCsv([t]));
  await write("tables.tex", renderLatexTables(content.layouts, content.digits));
  for (const t of content.layouts) {
    await write(`tables/${t.slug}.tex`, renderLatexTable(t, content.digits));
  }
  const dpi = options.pngDpi ?? 300;
  const warnings: string[] = [];
  let pngs = dpi > 0;
  let fontless = false;
  for (const f of content.figures) {
    await write(f.file, f.svg);
    if (!pngs) continue;
    let rendered: Awaited<ReturnType<typeof renderSvgToPng>>;
    try {
      rendered = await renderSvgToPng(f.svg, { dpi });
    } catch (e) {
      // The PNG renderer (resvg's WebAssembly) could not load: keep the SVGs, say why once.
      if (e instanceof RangeError) throw e;
      warnings.push(`PNG figures not written: ${(e as Error).message}`);
      pngs = false;
      continue;
    }
    if (rendered.fonts.length === 0) fontless = true;
    const path = `${out}/${f.file.replace(/\.svg$/, ".png")}`;
    await Deno.writeFile(path, rendered.png);
    written.push(path);
  }
  if (fontless) {
    warnings.push(
      "PNG figures have no text: no font file found (DejaVu Sans, Liberation Sans or Arial); " +
        "install fonts-dejavu-core or use the SVGs",
    );
  }
  return {
    files: written.sort(),
    records: records.length,
    skipped: collected.skipped,
    tables: content.tables,
    warnings,
  };
}

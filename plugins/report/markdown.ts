// This module is browser compatible.
/**
 * The report as one Markdown page: summary, a table per dataset × head with
 * its resolution figure, the radar charts, skipped inputs and the runs
 * behind every number.
 *
 * @module
 */

import type { CollectedRecord, SkippedInput } from "./collect.ts";
import type { RadarSkip } from "./plots.ts";
import type { DisplayTable } from "./layout.ts";
import type { SummaryTable } from "./summary.ts";
import {
  findCommonFolder,
  formatTableTitle,
  renderMarkdownTable,
  renderRunsMarkdown,
  type RunSummary,
} from "./tables.ts";

/** A figure written next to the report. */
export interface ReportFigure {
  /** `"resolution"` (Figure 1 style) or `"radar"`. */
  kind: "resolution" | "radar";
  /** Path relative to the output folder (`plots/....svg`). */
  file: string;
  /** Short title (alt text). */
  title: string;
  /** One-line caption saying what is drawn. */
  caption: string;
  /** The SVG document. */
  svg: string;
  /** For resolution figures: index of the table it belongs to. */
  table?: number;
}

/** Everything a report page shows, computed once and rendered as Markdown and HTML. */
export interface ReportContent {
  /** Page title. */
  title: string;
  /** The records, in source order. */
  records: CollectedRecord[];
  /** Invalid `result.json` files met in folders. */
  skipped: SkippedInput[];
  /** The dataset × head tables. */
  tables: SummaryTable[];
  /** The tables as printed (collections as one table, heads side by side). */
  layouts: DisplayTable[];
  /** The figures. */
  figures: ReportFigure[];
  /** Task families without a radar chart, and why. */
  radarSkipped: RadarSkip[];
  /** Provenance lines, one per record. */
  runs: RunSummary[];
  /** Notes printed under a table (figure metric replaced, no figure and why). */
  tableNotes: { table: number; text: string }[];
  /** Decimals in tables. */
  digits: number;
  /** The requested figure metric (`undefined`: each table's primary metric). */
  metric: string | undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The opening paragraphs (plain text, no markup) shared by the Markdown and HTML pages. */
export function describeReport(content: ReportContent): {
  summary: string;
  randomWarning: string | null;
  legend: string;
} {
  const recs = content.records.map((c) => c.record);
  const datasets = new Set(recs.map((r) => r.dataset));
  const encoders = new Set(content.tables.flatMap((t) => t.rows.map((r) => r.encoder.label)));
  const versions = [...new Set(recs.map((r) => r.medprobeVersion))].sort();
  const random = recs.filter((r) => r.encoder.pretrained === false).length;
  return {
    summary: `${plural(recs.length, "result record")}: ${plural(datasets.size, "dataset")}, ${
      plural(encoders.size, "encoder")
    }, ${plural(content.layouts.length, "table")}. medprobe ${versions.join(", ")}.`,
    randomWarning: random === 0
      ? null
      : `${random} of ${
        plural(recs.length, "record")
      } used encoder weights that are not pretrained (randomly initialised), marked "(random init)": ` +
        "their numbers show that the pipeline runs, not how good the encoder is.",
    legend: "Cells: value [95 % bootstrap CI]; mean ± std (n=k) where runs that differ only by " +
      "seed or fold share a row; ± std alone: the record's own spread over its folds. " +
      "↓ marks lower-is-better metrics (best = lowest). Bold: best in its column.",
  };
}

/** Caption line under a table: task, label count and runs. */
export function describeTable(table: SummaryTable | DisplayTable): string {
  if ("caption" in table) return table.caption;
  const runs = table.rows.reduce((s, r) => s + r.records.length, 0);
  return `Task ${table.task}, ${plural(table.labels.length, "label")}, ${plural(runs, "run")}.`;
}

/** Renders the whole report as Markdown (figures linked as relative SVG files). */
export function renderMarkdownReport(content: ReportContent): string {
  const d = describeReport(content);
  const out: string[] = [`# ${content.title}`, "", d.summary, ""];
  if (d.randomWarning) out.push(`> **Random weights.** ${d.randomWarning}`, "");
  out.push(d.legend, "");
  // A summary table shown by several layouts (MSD: one per metric) gets its notes and figures once.
  const shown = new Set<number>();
  for (const t of content.layouts) {
    out.push(`## ${t.title}`, "", describeTable(t), "", renderMarkdownTable(t, content.digits));
    const sources = t.sources.filter((i) => !shown.has(i));
    for (const i of sources) shown.add(i);
    const notes = content.tableNotes.filter((n) => sources.includes(n.table));
    for (const n of notes) {
      const prefix = t.sources.length > 1 ? `${formatTableTitle(content.tables[n.table])}: ` : "";
      out.push(`${prefix}${n.text}`, "");
    }
    const figures = content.figures.filter((f) =>
      f.kind === "resolution" && f.table !== undefined && sources.includes(f.table)
    );
    for (const f of figures) out.push(`![${f.title}](${f.file})`, "", `*${f.caption}*`, "");
  }
  const radars = content.figures.filter((f) => f.kind === "radar");
  if (radars.length > 0 || content.radarSkipped.length > 0) {
    out.push("## Radar charts by task family", "");
    for (const f of radars) out.push(`![${f.title}](${f.file})`, "", `*${f.caption}*`, "");
    for (const s of content.radarSkipped) out.push(`- No radar for ${s.family}: ${s.reason}.`);
    if (content.radarSkipped.length > 0) out.push("");
  }
  if (content.skipped.length > 0) {
    out.push("## Skipped inputs", "");
    for (const s of content.skipped) out.push(`- \`${s.path}\`: ${s.reason}`);
    out.push("");
  }
  const root = findCommonFolder(content.runs.map((r) => r.source));
  out.push("## Runs", "");
  if (root) out.push(`Record paths are relative to \`${root}\`.`, "");
  out.push(renderRunsMarkdown(content.runs, root));
  return out.join("\n");
}

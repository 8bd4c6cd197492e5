// This module is browser compatible.
/**
 * The report as one self-contained HTML page: inline CSS, inline SVG
 * figures, HTML tables, no scripts and no external fetches (a
 * Content-Security-Policy forbids any, so a stray URL shows up as a console
 * error instead of a silent network request).
 *
 * @module
 */

import { describeReport, describeTable, type ReportContent } from "./markdown.ts";
import {
  findCommonFolder,
  formatRunsText,
  formatTableText,
  formatTableTitle,
  type TableText,
} from "./tables.ts";

/**
 * Escapes text for HTML element content and double-quoted attributes.
 *
 * @example Escaping
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Prepares an SVG document for inlining: drops an XML declaration or
 * doctype, and prefixes every `id` (and its `url(#id)`/`href="#id"`
 * references) so several figures on one page cannot clash.
 */
export function inlineSvg(svg: string, idPrefix: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, "").replace(/^\s*<!DOCTYPE[^>]*>\s*/i, "")
    .replace(/\bid="([^"]+)"/g, `id="${idPrefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${idPrefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${idPrefix}$1"`);
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
  max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
p.legend, p.caption, p.meta { color: #555; font-size: .9rem; }
p.caption { font-style: italic; }
.warning { background: #fff4e5; border-left: 4px solid #f58518; padding: .6rem .9rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid #ddd; padding: .25rem .55rem; }
th { background: #f4f6f8; text-align: left; }
th.group { text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { font-weight: 700; background: #eef6ee; }
figure { margin: .8rem 0 1.4rem; }
figure svg { max-width: 100%; height: auto; }
.radars { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.runs, .table-wrap { overflow-x: auto; }
.table-wrap td, .table-wrap th { white-space: nowrap; }
.runs table { font-size: .78rem; }
code { font-size: .85em; }
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

function renderTable(
  header: string[],
  rows: string[][],
  numericFrom: number,
  best?: boolean[][],
  grouped?: TableText,
): string {
  let head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  if (grouped?.groups) {
    // Column groups (heads side by side): a spanning row, then the metric titles.
    const labels = header.slice(0, numericFrom);
    head = `<tr>${labels.map((h) => `<th rowspan="2">${escapeHtml(h)}</th>`).join("")}${
      grouped.groups.map((g) => `<th colspan="${g.span}" class="group">${escapeHtml(g.title)}</th>`)
        .join("")
    }</tr>\n<tr>${grouped.columnTitles.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  }
  const body = rows.map((cells, i) =>
    `<tr>${
      cells.map((c, j) => {
        const cls = [j >= numericFrom ? "num" : "", best?.[i][j] ? "best" : ""].filter(Boolean);
        return `<td${cls.length ? ` class="${cls.join(" ")}"` : ""}>${escapeHtml(c)}</td>`;
      }).join("")
    }</tr>`
  ).join("\n");
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function renderFigure(svg: string, caption: string, id: string): string {
  return `<figure id="${id}">\n${inlineSvg(svg, `${id}-`)}\n<figcaption><p class="caption">${
    escapeHtml(caption)
  }</p></figcaption>\n</figure>`;
}

/** Renders the whole report as one self-contained HTML page. */
export function renderHtmlReport(content: ReportContent): string {
  const d = describeReport(content);
  const parts: string[] = [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(content.title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1>${escapeHtml(content.title)}</h1>`,
    `<p class="meta">${escapeHtml(d.summary)}</p>`,
  ];
  if (d.randomWarning) {
    parts.push(
      `<p class="warning"><strong>Random weights.</strong> ${escapeHtml(d.randomWarning)}</p>`,
    );
  }
  parts.push(`<p class="legend">${escapeHtml(d.legend)}</p>`);
  // A summary table shown by several layouts (MSD: one per metric) gets its notes and figures once.
  const shown = new Set<number>();
  content.layouts.forEach((t, i) => {
    const text = formatTableText(t, content.digits);
    const sources = t.sources.filter((j) => !shown.has(j));
    for (const j of sources) shown.add(j);
    parts.push(
      `<section id="table-${i + 1}">`,
      `<h2>${escapeHtml(t.title)}</h2>`,
      `<p class="meta">${escapeHtml(describeTable(t))}</p>`,
      `<div class="table-wrap">${
        renderTable(text.header, text.rows, text.labelColumns, text.best, text)
      }</div>`,
    );
    for (const n of content.tableNotes.filter((n) => sources.includes(n.table))) {
      const prefix = t.sources.length > 1 ? `${formatTableTitle(content.tables[n.table])}: ` : "";
      parts.push(`<p class="meta">${escapeHtml(prefix + n.text)}</p>`);
    }
    content.figures.forEach((f, k) => {
      if (f.kind === "resolution" && f.table !== undefined && sources.includes(f.table)) {
        parts.push(renderFigure(f.svg, f.caption, `fig-${k + 1}`));
      }
    });
    parts.push("</section>");
  });
  const radars = content.figures.map((f, k) => ({ f, k })).filter(({ f }) => f.kind === "radar");
  if (radars.length > 0 || content.radarSkipped.length > 0) {
    parts.push(
      '<section id="radars">',
      "<h2>Radar charts by task family</h2>",
      '<div class="radars">',
    );
    for (const { f, k } of radars) parts.push(renderFigure(f.svg, f.caption, `fig-${k + 1}`));
    parts.push("</div>");
    if (content.radarSkipped.length > 0) {
      parts.push(
        `<ul>${
          content.radarSkipped.map((s) =>
            `<li>No radar for ${escapeHtml(s.family)}: ${escapeHtml(s.reason)}.</li>`
          )
            .join("")
        }</ul>`,
      );
    }
    parts.push("</section>");
  }
  if (content.skipped.length > 0) {
    parts.push(
      '<section id="skipped">',
      "<h2>Skipped inputs</h2>",
      `<ul>${
        content.skipped.map((s) =>
          `<li><code>${escapeHtml(s.path)}</code>: ${escapeHtml(s.reason)}</li>`
        ).join("")
      }</ul>`,
      "</section>",
    );
  }
  const root = findCommonFolder(content.runs.map((r) => r.source));
  const runs = formatRunsText(content.runs, root);
  parts.push(
    '<section id="runs">',
    "<h2>Runs</h2>",
    root
      ? `<p class="meta">Record paths are relative to <code>${escapeHtml(root)}</code>.</p>`
      : "",
    `<div class="runs">${renderTable(runs.header, runs.rows, runs.header.length)}</div>`,
    "</section>",
    "</body>",
    "</html>",
    "",
  );
  return parts.join("\n");
}

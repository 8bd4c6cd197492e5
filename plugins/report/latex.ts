// This module is browser compatible.
/**
 * LaTeX renderings of the report's tables, in the `booktabs` style papers
 * use (`\toprule`, `\midrule`, `\bottomrule`, `\cmidrule` under column
 * groups, no vertical rules), the best value of each column in bold and
 * `$\pm$` / `$\downarrow$` for spreads and lower-is-better columns.
 *
 * Each table is a `table` float with a caption and a label
 * (`tab:<slug>`); the preamble needs `\usepackage{booktabs}`.
 *
 * @module
 */

import { type DisplayTable, findBestCells } from "./layout.ts";
import { formatNumber, MISSING } from "./tables.ts";
import { isHigherBetter, type MetricCell } from "./summary.ts";

/**
 * Escapes text for LaTeX (the ten special characters, and `×`, `·`, `±`,
 * `↓`, `–` as math or text commands).
 *
 * @example Escaping
 * ```ts
 * import { escapeLatex } from "./latex.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeLatex("ct/msd · 50% & more_x"), "ct/msd $\\cdot$ 50\\% \\& more\\_x");
 * ```
 */
export function escapeLatex(text: string): string {
  const map: Record<string, string> = {
    "\\": "\\textbackslash{}",
    "{": "\\{",
    "}": "\\}",
    "$": "\\$",
    "&": "\\&",
    "#": "\\#",
    "%": "\\%",
    "_": "\\_",
    "^": "\\^{}",
    "~": "\\~{}",
    "×": "$\\times$",
    "·": "$\\cdot$",
    "±": "$\\pm$",
    "↓": "$\\downarrow$",
    "–": "--",
  };
  return text.replace(/[\\{}$&#%_^~×·±↓–]/g, (c) => map[c]);
}

/** A cell in LaTeX: `0.779 [0.770, 0.788]`, `0.800 $\pm$ 0.013 (n=5)`; bold when best. */
function latexCell(
  cell: (MetricCell & { note?: string }) | null,
  digits: number,
  best: boolean,
): string {
  if (!cell || cell.value === null) return MISSING;
  let value = formatNumber(cell.value, digits);
  if (best) value = `\\textbf{${value}}`;
  let s = value;
  if (cell.std !== null) s += ` $\\pm$ ${formatNumber(cell.std, digits)}`;
  if (cell.n > 1) s += ` (n=${cell.n})`;
  else if (cell.low !== null && cell.high !== null) {
    s += ` {\\scriptsize [${formatNumber(cell.low, digits)}, ${formatNumber(cell.high, digits)}]}`;
  }
  if (cell.note) s += ` ${escapeLatex(cell.note)}`;
  return s;
}

/**
 * Renders one display table as a booktabs `table` float: label columns
 * left-aligned, metric columns right-aligned, column groups (heads side by
 * side) as a spanning header row with `\cmidrule`s, `$\downarrow$` after
 * lower-is-better columns, the best value of each column in bold.
 *
 * @example A small table
 * ```ts
 * import { renderLatexTable } from "./latex.ts";
 * import assert from "node:assert/strict";
 *
 * const tex = renderLatexTable({
 *   slug: "xray_rsna__linear", title: "xray/rsna · linear", caption: "Task binary.",
 *   labelHeader: ["Encoder", "Resolution"], groups: null, sources: [0],
 *   columns: [{ title: "AUC", metric: "auc" }, { title: "HD95", metric: "hd95" }],
 *   rows: [
 *     { labels: ["DINOv3-S", "224"], cells: [{ value: 0.8, low: 0.7, high: 0.9, std: null, n: 1 }, null] },
 *   ],
 * });
 * assert.match(tex, /\\toprule\nEncoder & Resolution & AUC & HD95 \$\\downarrow\$ \\\\\n\\midrule/);
 * assert.match(tex, /DINOv3-S & 224 & 0\.800 \{\\scriptsize \[0\.700, 0\.900\]\} & n\/a \\\\/);
 * ```
 */
export function renderLatexTable(table: DisplayTable, digits = 3): string {
  const labels = table.labelHeader.length;
  const spec = "l".repeat(labels) + "r".repeat(table.columns.length);
  const lines = [
    "\\begin{table}[t]",
    "\\centering",
    `\\caption{${escapeLatex(table.title)}. ${escapeLatex(table.caption)}}`,
    `\\label{tab:${table.slug.replace(/[^A-Za-z0-9:._-]/g, "-")}}`,
    `\\begin{tabular}{${spec}}`,
    "\\toprule",
  ];
  if (table.groups) {
    const cells = [...table.labelHeader.map(() => "")];
    const rules: string[] = [];
    let col = labels + 1;
    for (const g of table.groups) {
      cells.push(`\\multicolumn{${g.span}}{c}{${escapeLatex(g.title)}}`);
      rules.push(`\\cmidrule(lr){${col}-${col + g.span - 1}}`);
      col += g.span;
    }
    lines.push(`${cells.join(" & ")} \\\\`, rules.join(" "));
  }
  const header = [
    ...table.labelHeader.map(escapeLatex),
    ...table.columns.map((c) =>
      `${escapeLatex(c.title)}${isHigherBetter(c.metric) ? "" : " $\\downarrow$"}`
    ),
  ];
  lines.push(`${header.join(" & ")} \\\\`, "\\midrule");
  const bests = table.columns.map((_, j) => findBestCells(table, j));
  table.rows.forEach((r, i) => {
    const cells = [
      ...r.labels.map(escapeLatex),
      ...r.cells.map((c, j) => latexCell(c, digits, bests[j].has(i))),
    ];
    lines.push(`${cells.join(" & ")} \\\\`);
  });
  lines.push("\\bottomrule", "\\end{tabular}", "\\end{table}");
  return lines.join("\n") + "\n";
}

/**
 * Renders all tables as one LaTeX file to `\input` (a comment says which
 * packages it needs).
 */
export function renderLatexTables(tables: readonly DisplayTable[], digits = 3): string {
  return [
    "% Tables written by medprobe report; needs \\usepackage{booktabs}.",
    "",
    ...tables.map((t) => renderLatexTable(t, digits)),
  ].join("\n");
}

// This module is browser compatible.
/**
 * Table layouts as the report prints them, built from the dataset × head
 * {@linkcode SummaryTable}s:
 *
 * - **Collections as one table** (the report's Tables 6–7): the Medical
 *   Segmentation Decathlon's tasks (`mri/msd-task01`, `ct/msd-task03` …
 *   `ct/msd-task10`, whichever modality holds them) become
 *   columns of one table per head and metric (Dice first), followed by the
 *   mean over the tasks computed from those columns.
 * - **Datasets side by side** as the report prints them: AutoPET-II and
 *   HECKTOR 2022 (Table 10, rows by input channels CT / PET / CT+PET) and
 *   CREMI A/B/C (Table 8), one column group per dataset.
 * - **Heads side by side** (the report's Table 5): a dataset evaluated with
 *   more than one head (linear probe and k-NN) gets one table whose column
 *   groups are the heads, its rows matched by encoder, resolution, input and
 *   feature.
 * - Every other dataset × head: one table, as summarised.
 *
 * Each layout is a {@linkcode DisplayTable}, rendered alike as Markdown,
 * HTML and LaTeX.
 *
 * @module
 */

import {
  aggregateCell,
  compareRows,
  formatChannels,
  formatMetricName,
  isHigherBetter,
  type MetricCell,
  sortMetrics,
  type SummaryRow,
  type SummaryTable,
} from "./summary.ts";

/** One metric column of a display table. */
export interface DisplayColumn {
  /** Column title (`"AUC"`, `"Spleen"`, `"Mean"`). */
  title: string;
  /** The metric the column holds (for its direction and bounds). */
  metric: string;
  /** Column group (head name, metric name), when the table has groups. */
  group?: string;
  /** Whether the column is computed from the other columns (the mean over tasks). */
  derived?: boolean;
}

/** One cell: a summary cell, with a note when it is partial. */
export interface DisplayCell extends MetricCell {
  /** Shown after the value (`"(9/10 tasks)"`). */
  note?: string;
}

/** One row of a display table. */
export interface DisplayRow {
  /** Label cells (encoder, resolution, input, feature, setting). */
  labels: string[];
  /** One cell per column; `null` where the row has no value. */
  cells: (DisplayCell | null)[];
}

/** A table as printed. */
export interface DisplayTable {
  /** File-name slug (`xray_nih14__linear`, `MSD__decoder3d__dice`). */
  slug: string;
  /** Title (`"xray/nih14 · linear"`, `"MSD · decoder3d · Dice"`). */
  title: string;
  /** One-line caption: task, labels, runs, what the columns are. */
  caption: string;
  /** Titles of the label columns. */
  labelHeader: string[];
  /** The metric columns. */
  columns: DisplayColumn[];
  /** Column groups in column order (`null` when the table has none). */
  groups: { title: string; span: number }[] | null;
  /** Rows in display order. */
  rows: DisplayRow[];
  /** Indices of the summary tables it shows. */
  sources: number[];
}

/** The ten MSD tasks by number, named as the report's Tables 6–7 name them. */
export const MSD_TASK_NAMES: Readonly<Record<string, string>> = {
  "01": "Brain",
  "02": "Heart",
  "03": "Liver",
  "04": "Hippocampus",
  "05": "Prostate",
  "06": "Lung",
  "07": "Pancreas",
  "08": "HepaticVessel",
  "09": "Spleen",
  "10": "Colon",
};

/**
 * The collection a dataset belongs to and its column title there: the MSD
 * tasks, whichever modality plugin holds them (`ct/msd-task09`,
 * `mri/msd-task01` → collection `"MSD"`); `null` for any other dataset.
 *
 * @example MSD tasks of two modalities, one collection
 * ```ts
 * import { getCollection } from "./layout.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(getCollection("ct/msd-task09"), { collection: "MSD", column: "Task09 Spleen", order: 9 });
 * assert.equal(getCollection("mri/msd-task01")?.collection, "MSD");
 * assert.equal(getCollection("xray/nih14"), null);
 * ```
 */
export function getCollection(
  dataset: string,
): { collection: string; column: string; order: number } | null {
  const m = dataset.match(/^(?:.+\/)?msd-task(\d\d)$/);
  if (!m) return null;
  const name = MSD_TASK_NAMES[m[1]];
  return {
    collection: "MSD",
    column: name ? `Task${m[1]} ${name}` : `Task${m[1]}`,
    order: Number(m[1]),
  };
}

function slugify(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "x";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Label columns shared by a set of tables. */
function labelColumns(tables: readonly SummaryTable[]): {
  header: string[];
  cells: (r: SummaryRow) => string[];
} {
  const hasChannels = tables.some((t) => t.hasChannels);
  const featureVaries = new Set(tables.flatMap((t) => t.rows.map((r) => r.feature))).size > 1;
  const settingVaries = tables.some((t) => t.settingVaries);
  return {
    header: [
      "Encoder",
      "Resolution",
      ...(hasChannels ? ["Input"] : []),
      ...(featureVaries ? ["Feature"] : []),
      ...(settingVaries ? ["Setting"] : []),
    ],
    cells: (r) => [
      r.encoder.label,
      r.resolution.label,
      ...(hasChannels ? [r.channels === null ? "–" : formatChannels(r.channels)] : []),
      ...(featureVaries ? [r.feature] : []),
      ...(settingVaries ? [r.setting || "–"] : []),
    ],
  };
}

/** Rows of several tables matched by key, in row order. */
function mergeRows(tables: readonly SummaryTable[]): { key: string; row: SummaryRow }[] {
  const byKey = new Map<string, SummaryRow>();
  for (const t of tables) for (const r of t.rows) if (!byKey.has(r.key)) byKey.set(r.key, r);
  return [...byKey.entries()].map(([key, row]) => ({ key, row }))
    .sort((a, b) => compareRows(a.row, b.row));
}

function runsOf(tables: readonly SummaryTable[]): number {
  return tables.reduce((s, t) => s + t.rows.reduce((a, r) => a + r.records.length, 0), 0);
}

/** One dataset × head table as printed. */
function singleTable(t: SummaryTable, index: number): DisplayTable {
  const labels = labelColumns([t]);
  return {
    slug: `${slugify(t.dataset)}__${slugify(t.head)}`,
    title: `${t.dataset} · ${t.head}`,
    caption: `Task ${t.task}, ${plural(t.labels.length, "label")}, ${plural(runsOf([t]), "run")}.`,
    labelHeader: labels.header,
    columns: t.metrics.map((m) => ({ title: formatMetricName(m), metric: m })),
    groups: null,
    rows: t.rows.map((r) => ({
      labels: labels.cells(r),
      cells: t.metrics.map((m) => r.metrics[m] ?? null),
    })),
    sources: [index],
  };
}

/** Tables side by side as column groups, rows matched by encoder, resolution, input and feature. */
function groupedTable(
  tables: readonly SummaryTable[],
  indices: number[],
  groupTitle: (t: SummaryTable) => string,
  head: { slug: string; title: string; caption: string },
): DisplayTable {
  const labels = labelColumns(tables);
  const columns: DisplayColumn[] = tables.flatMap((t) =>
    t.metrics.map((m) => ({ title: formatMetricName(m), metric: m, group: groupTitle(t) }))
  );
  const rows = mergeRows(tables).map(({ key, row }) => ({
    labels: labels.cells(row),
    cells: tables.flatMap((t) => {
      const r = t.rows.find((x) => x.key === key);
      return t.metrics.map((m) => r?.metrics[m] ?? null);
    }),
  }));
  return {
    ...head,
    labelHeader: labels.header,
    columns,
    groups: tables.map((t) => ({ title: groupTitle(t), span: t.metrics.length })),
    rows,
    sources: indices,
  };
}

/** How column groups name the built-in heads, as the report does (`"knn"` → `"k-NN"`). */
export const HEAD_LABELS: Readonly<Record<string, string>> = {
  knn: "k-NN",
  linear: "Linear probe",
  abmil: "ABMIL",
  decoder3d: "3D decoder",
  affinity: "Affinities",
};

/** The display name of a head: {@linkcode HEAD_LABELS}, else its name. */
export function formatHeadName(head: string): string {
  return HEAD_LABELS[head] ?? head;
}

/** One dataset, several heads side by side (the report's Table 5). */
function sideBySideTable(tables: readonly SummaryTable[], indices: number[]): DisplayTable {
  const t0 = tables[0];
  return groupedTable(tables, indices, (t) => formatHeadName(t.head), {
    slug: `${slugify(t0.dataset)}__${tables.map((t) => slugify(t.head)).join("_")}`,
    title: `${t0.dataset} · ${tables.map((t) => t.head).join(" vs ")}`,
    caption: `Task ${[...new Set(tables.map((t) => t.task))].join(", ")}, ${
      plural(t0.labels.length, "label")
    }, ${plural(runsOf(tables), "run")}; heads side by side.`,
  });
}

/**
 * Datasets the report prints side by side, one column group each: AutoPET-II
 * and HECKTOR 2022 (Table 10, rows keyed by input channels), CREMI A/B/C
 * (Table 8).
 */
export const DATASET_GROUPS: readonly {
  title: string;
  slug: string;
  members: readonly { dataset: string; title: string }[];
}[] = [
  {
    title: "PET/CT",
    slug: "pet_ct",
    members: [
      { dataset: "pet/autopet", title: "AutoPET-II" },
      { dataset: "pet/hecktor", title: "HECKTOR 2022" },
    ],
  },
  {
    title: "CREMI",
    slug: "em_cremi",
    members: [
      { dataset: "em/cremi-a", title: "CREMI-A" },
      { dataset: "em/cremi-b", title: "CREMI-B" },
      { dataset: "em/cremi-c", title: "CREMI-C" },
    ],
  },
];

/** Mean over the task columns of a row, with a note when some are missing. */
function meanOverColumns(cells: readonly (MetricCell | null)[]): DisplayCell | null {
  const values = cells.map((c) => c?.value ?? null).filter((v): v is number => v !== null);
  if (values.length === 0) return null;
  const cell: DisplayCell = {
    ...aggregateCell([{ value: values.reduce((s, v) => s + v, 0) / values.length }]),
  };
  if (values.length < cells.length) cell.note = `(${values.length}/${cells.length} tasks)`;
  return cell;
}

/** A collection (MSD) as one table per metric: tasks as columns, then their mean. */
function collectionTables(
  collection: string,
  head: string,
  members: { table: SummaryTable; index: number; column: string; order: number }[],
): DisplayTable[] {
  members.sort((a, b) => a.order - b.order);
  const tables = members.map((m) => m.table);
  const metrics = sortMetrics(tables.flatMap((t) => t.metrics));
  const labels = labelColumns(tables);
  const merged = mergeRows(tables);
  return metrics.map((metric) => {
    const columns: DisplayColumn[] = [
      ...members.map((m) => ({ title: m.column, metric })),
      { title: "Mean", metric, derived: true },
    ];
    const rows = merged.map(({ key, row }) => {
      const cells = tables.map((t) => t.rows.find((x) => x.key === key)?.metrics[metric] ?? null);
      return { labels: labels.cells(row), cells: [...cells, meanOverColumns(cells)] };
    });
    return {
      slug: `${slugify(collection)}__${slugify(head)}__${slugify(metric)}`,
      title: `${collection} · ${head} · ${formatMetricName(metric)}`,
      caption: `${formatMetricName(metric)}${
        isHigherBetter(metric) ? "" : " (lower is better)"
      } per task, ${plural(members.length, "task")}, ${
        plural(runsOf(tables), "run")
      }; Mean: the mean of the task columns of its row.`,
      labelHeader: labels.header,
      columns,
      groups: null,
      rows,
      sources: members.map((m) => m.index),
    };
  });
}

/**
 * Lays the summary tables out as the report prints them (see the module
 * doc): collections of two or more tasks as one table per head × metric,
 * datasets with several heads side by side, the rest one table each. The
 * order follows the first summary table each layout shows.
 *
 * @example Linear and k-NN side by side
 * ```ts
 * import { layoutTables } from "./layout.ts";
 * import { summarizeRecords } from "./summary.ts";
 * import { RESULT_SCHEMA, type ResultRecord } from "../../core/result.ts";
 * import assert from "node:assert/strict";
 *
 * const record = (head: string, auc: number): ResultRecord => ({
 *   schema: RESULT_SCHEMA, medprobeVersion: "0.1.0", createdAt: "2025-01-01T00:00:00Z",
 *   dataset: "ct/ctrate", task: "multilabel", labels: ["a"],
 *   protocol: { trainSplit: "train", testSplit: "valid", resolution: 224, feature: "cls", seed: 0 },
 *   encoder: { id: "dinov3-vits16", backend: "onnx", backendReason: "", weightsSha256: "00" },
 *   adapter: { name: "slice-mean", settings: {} }, head: { name: head, hyperparameters: {} },
 *   data: { root: "/d", counts: {}, failed: [] }, timings: {},
 *   metrics: { macro: { auc: { value: auc } }, perLabel: {} },
 * });
 * const tables = summarizeRecords([record("linear", 0.8), record("knn", 0.7)].map((r, i) => ({ record: r, source: `${i}` })));
 * const [t] = layoutTables(tables);
 * assert.deepEqual(t.groups, [{ title: "k-NN", span: 1 }, { title: "Linear probe", span: 1 }]);
 * assert.deepEqual(t.rows[0].cells.map((c) => c?.value), [0.7, 0.8]);
 * ```
 */
export function layoutTables(tables: readonly SummaryTable[]): DisplayTable[] {
  const out: { first: number; table: DisplayTable }[] = [];
  const used = new Set<number>();
  // Collections: two or more tasks of one collection with one head.
  const collections = new Map<
    string,
    { table: SummaryTable; index: number; column: string; order: number }[]
  >();
  tables.forEach((t, index) => {
    const c = getCollection(t.dataset);
    if (!c) return;
    const key = JSON.stringify([c.collection, t.head]);
    const list = collections.get(key) ?? [];
    list.push({ table: t, index, column: c.column, order: c.order });
    collections.set(key, list);
  });
  for (const [key, members] of collections) {
    if (members.length < 2) continue;
    const [collection, head] = JSON.parse(key) as [string, string];
    for (const m of members) used.add(m.index);
    const first = Math.min(...members.map((m) => m.index));
    for (const table of collectionTables(collection, head, members)) out.push({ first, table });
  }
  // Dataset groups (PET/CT, CREMI): two or more members with one head, side by side.
  for (const group of DATASET_GROUPS) {
    const heads = new Set(
      tables.flatMap((t, i) =>
        !used.has(i) && group.members.some((m) => m.dataset === t.dataset) ? [t.head] : []
      ),
    );
    for (const head of heads) {
      const indices = group.members.flatMap((m) =>
        tables.flatMap((
          t,
          i,
        ) => (!used.has(i) && t.dataset === m.dataset && t.head === head ? [i] : []))
      );
      if (indices.length < 2) continue;
      for (const i of indices) used.add(i);
      const members = indices.map((i) => tables[i]);
      const titleOf = (t: SummaryTable) =>
        group.members.find((m) => m.dataset === t.dataset)?.title ?? t.dataset;
      out.push({
        first: Math.min(...indices),
        table: groupedTable(members, indices, titleOf, {
          slug: `${group.slug}__${slugify(head)}`,
          title: `${group.title} · ${head}`,
          caption: `${members.map(titleOf).join(", ")} side by side; ${
            plural(runsOf(members), "run")
          }.`,
        }),
      });
    }
  }
  // Datasets with several heads: side by side.
  const byDataset = new Map<string, number[]>();
  tables.forEach((t, i) => {
    if (used.has(i)) return;
    const list = byDataset.get(t.dataset) ?? [];
    list.push(i);
    byDataset.set(t.dataset, list);
  });
  for (const indices of byDataset.values()) {
    if (indices.length > 1) {
      out.push({
        first: indices[0],
        table: sideBySideTable(indices.map((i) => tables[i]), indices),
      });
    } else {
      out.push({ first: indices[0], table: singleTable(tables[indices[0]], indices[0]) });
    }
  }
  return out.sort((a, b) => a.first - b.first).map((x) => x.table);
}

/**
 * Indices of the best rows of a column (ties all count), by the metric's
 * direction; empty when fewer than two rows have a value or all are equal.
 */
export function findBestCells(table: DisplayTable, column: number): Set<number> {
  const metric = table.columns[column].metric;
  const values = table.rows.map((r) => r.cells[column]?.value ?? null);
  const defined = values.filter((v): v is number => v !== null);
  if (defined.length < 2) return new Set();
  const best = isHigherBetter(metric) ? Math.max(...defined) : Math.min(...defined);
  const rows = values.flatMap((v, i) => (v === best ? [i] : []));
  return rows.length === defined.length ? new Set() : new Set(rows);
}

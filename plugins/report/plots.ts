/**
 * The report's figures as SVG, rendered headlessly by Vega (no browser, no
 * canvas): metric vs input resolution with one line per encoder (the
 * report's Figure 1, a Vega-Lite spec) and a radar chart per task family
 * (the report's Figure 3, a Vega spec, since Vega-Lite has no polar lines).
 *
 * Text widths are estimated without a canvas, so label placement is close
 * but not exact; SVG text uses the viewer's `sans-serif` font.
 *
 * @module
 */

import * as vega from "vega";
import * as vegaLite from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import {
  choosePrimaryMetric,
  compareEncoders,
  type EncoderKey,
  formatChannels,
  formatMetricName,
  isBoundedMetric,
  isHigherBetter,
  sortMetrics,
  type SummaryRow,
  type SummaryTable,
} from "./summary.ts";
import { formatTableTitle } from "./tables.ts";

/** Line colours, assigned to encoders in row order (Tableau 10, as Vega's default). */
export const PALETTE: readonly string[] = [
  "#4c78a8",
  "#f58518",
  "#e45756",
  "#72b7b2",
  "#54a24b",
  "#eeca3b",
  "#b279a2",
  "#ff9da6",
  "#9d755d",
  "#bab0ac",
];

/** Vega mark name of the per-encoder lines (their SVG group has class `series_marks`). */
export const SERIES_MARK_NAME = "series";

/**
 * Gives every encoder of the tables one colour, the same in every figure:
 * encoders in row order, colours from {@linkcode PALETTE} (cycling past 10).
 */
export function assignEncoderColors(tables: readonly SummaryTable[]): Map<string, string> {
  const keys = new Map<string, EncoderKey>();
  for (const t of tables) for (const r of t.rows) keys.set(r.encoder.label, r.encoder);
  const ordered = [...keys.values()].sort(compareEncoders);
  return new Map(ordered.map((k, i) => [k.label, PALETTE[i % PALETTE.length]]));
}

/**
 * Picks the metric a figure of a table shows: the requested one when
 * present, else the table's primary metric (AUC, Dice, VOI sum...: see
 * `choosePrimaryMetric`).
 */
export function chooseTableMetric(table: SummaryTable, metric?: string): string | null {
  return choosePrimaryMetric(table.metrics, metric);
}

function encodersOf(rows: readonly SummaryRow[]): EncoderKey[] {
  const m = new Map<string, EncoderKey>();
  for (const r of rows) m.set(r.encoder.label, r.encoder);
  return [...m.values()].sort(compareEncoders);
}

function metricAxisTitle(metric: string): string {
  return isHigherBetter(metric)
    ? formatMetricName(metric)
    : `${formatMetricName(metric)} (lower is better)`;
}

/** Lower and upper limits a metric's values can take (`[0, 1]`, `[0, Infinity]` for distances). */
export function metricBounds(metric: string): [number, number] {
  return isBoundedMetric(metric) ? [0, 1] : [0, Infinity];
}

/**
 * The y domain of a figure: the data (values and bar ends) padded by 8 %
 * of their span, then clamped to the metric's bounds so a bounded metric
 * never shows a tick below 0 or above 1.
 *
 * @example AUC near 1 stays within [0, 1]
 * ```ts
 * import { computeValueDomain } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * const [lo, hi] = computeValueDomain([0.9, 0.99, 1], "auc");
 * assert.ok(lo < 0.9 && hi === 1);
 * ```
 */
export function computeValueDomain(values: readonly number[], metric: string): [number, number] {
  const [min, max] = metricBounds(metric);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) * 0.1 || 0.1;
  lo = Math.max(min, lo - 0.08 * span);
  hi = Math.min(max, hi + 0.08 * span);
  if (!(hi > lo)) hi = lo + (span || 1);
  return [Number(lo.toPrecision(12)), Number(hi.toPrecision(12))];
}

/**
 * Builds the Vega-Lite spec of the report's Figure 1 for one table: the
 * metric against input resolution on a quantitative axis (points on their
 * resolution's tick; rectangles at the geometric mean of their sides), one
 * line (with points) per encoder, bars for the 95 % CI where the record has
 * one or ± std where the row averages several runs (seeds), input channels,
 * features and settings as dash patterns when they vary. The y axis is
 * bounded by the metric's range ([0, 1] for AUC, Dice...), the legend is
 * never truncated. Returns `null` when fewer than two resolutions have a
 * value (native-resolution rows have no place on the axis and are left
 * out).
 */
export function buildResolutionSpec(
  table: SummaryTable,
  metric: string,
  colors: ReadonlyMap<string, string>,
): TopLevelSpec | null {
  const rows = table.rows.filter((r) =>
    (r.metrics[metric]?.value ?? null) !== null && Number.isFinite(r.resolution.size)
  );
  const resolutions = [...new Map(rows.map((r) => [r.resolution.label, r.resolution])).values()]
    .sort((a, b) => a.size - b.size || (a.label < b.label ? -1 : 1));
  if (resolutions.length < 2) return null;
  const encoders = encodersOf(rows);
  const variantOf = (r: SummaryRow): string =>
    [
      r.channels === null ? "" : formatChannels(r.channels),
      table.featureVaries ? r.feature : "",
      r.setting,
    ].filter(Boolean).join(", ");
  const variants = new Set(rows.map(variantOf));
  const values = rows.map((r) => {
    const c = r.metrics[metric];
    const std = c.n > 1 && c.std !== null;
    return {
      encoder: r.encoder.label,
      variant: variantOf(r) || "–",
      series: `${r.encoder.label}|${variantOf(r)}`,
      resolution: r.resolution.label,
      size: r.resolution.size,
      value: c.value,
      low: std ? c.value! - c.std! : c.low,
      high: std ? c.value! + c.std! : c.high,
    };
  });
  const extent = values.flatMap((v) => [v.value, v.low, v.high])
    .filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  const yDomain = computeValueDomain(extent, metric);
  const sizes = resolutions.map((r) => r.size);
  const xSpan = sizes[sizes.length - 1] - sizes[0];
  const xDomain = [sizes[0] - 0.06 * xSpan, sizes[sizes.length - 1] + 0.06 * xSpan];
  const labelExpr = resolutions.reduceRight(
    (acc, r) => `abs(datum.value - ${r.size}) < 1e-6 ? ${JSON.stringify(r.label)} : ${acc}`,
    "''",
  );
  const title = metricAxisTitle(metric);
  const x = {
    field: "size",
    type: "quantitative" as const,
    title: "Input resolution (px)",
    scale: { domain: xDomain, nice: false, zero: false },
    axis: { values: sizes, labelExpr, labelAngle: 0, grid: true, labelOverlap: false },
  };
  const y = {
    field: "value",
    type: "quantitative" as const,
    title,
    scale: { domain: yDomain, nice: false, zero: false },
  };
  const color = {
    field: "encoder",
    type: "nominal" as const,
    title: "Encoder",
    sort: encoders.map((e) => e.label),
    scale: {
      domain: encoders.map((e) => e.label),
      range: encoders.map((e) => colors.get(e.label) ?? PALETTE[0]),
    },
    legend: { labelLimit: 0, titleLimit: 0 },
  };
  const variantTitle = [
    table.hasChannels ? "Input" : "",
    table.featureVaries ? "Feature" : "",
    table.settingVaries ? "Setting" : "",
  ].filter(Boolean).join(", ");
  const dash = variants.size > 1
    ? {
      strokeDash: {
        field: "variant",
        type: "nominal" as const,
        title: variantTitle,
        legend: { labelLimit: 0, titleLimit: 0 },
      },
    }
    : {};
  const barTitle = rows.some((r) => r.metrics[metric].n > 1) ? "± std over runs" : "95 % CI";
  return {
    title: {
      text: `${formatMetricName(metric)} vs input resolution`,
      subtitle: formatTableTitle(table),
    },
    width: 420,
    height: 260,
    background: "white",
    padding: 8,
    autosize: { type: "pad" },
    data: { values },
    encoding: { x, color, detail: { field: "series", type: "nominal" as const } },
    layer: [
      {
        name: "ci",
        description: barTitle,
        transform: [{ filter: "datum.low != null && datum.high != null" }],
        mark: { type: "rule", opacity: 0.7, strokeWidth: 1.5 },
        encoding: {
          y: { field: "low", type: "quantitative", title, scale: y.scale },
          y2: { field: "high" },
        },
      },
      {
        name: SERIES_MARK_NAME,
        mark: { type: "line", strokeWidth: 2 },
        encoding: { y, ...dash, order: { field: "size", type: "quantitative" } },
      },
      {
        name: "points",
        mark: { type: "point", filled: true, size: 40, opacity: 1 },
        encoding: { y },
      },
    ],
    config: {
      font: "sans-serif",
      legend: { symbolOpacity: 1, labelLimit: 0, titleLimit: 0 },
      axis: { labelLimit: 0, titleLimit: 0 },
      title: { limit: 0, subtitleLimit: 0 } as Record<string, unknown>,
    },
  } as TopLevelSpec;
}

/** One radar chart: axes around the circle, one closed line per encoder. */
export interface RadarChart {
  /** Task family (`"xray"`). */
  family: string;
  /** Chart title. */
  title: string;
  /** What the axes are, for the caption. */
  subtitle: string;
  /** The metric drawn. */
  metric: string;
  /** For a per-label radar: the table it draws; `null` when the axes are tables. */
  table: SummaryTable | null;
  /** Axis names, clockwise from the top. */
  axes: string[];
  /** One closed line per encoder; `null` where it has no value (the vertex is left out). */
  series: { encoder: string; color: string; values: (number | null)[] }[];
}

/** Why a task family has no radar chart. */
export interface RadarSkip {
  /** Task family. */
  family: string;
  /** The reason, for the report. */
  reason: string;
}

function meanOf(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((s, x) => s + x, 0) / v.length;
}

/** The best row of an encoder for a metric (over resolutions and features). */
function bestRowOf(rows: readonly SummaryRow[], label: string, metric: string): SummaryRow | null {
  const hi = isHigherBetter(metric);
  let best: SummaryRow | null = null;
  for (const r of rows) {
    if (r.encoder.label !== label) continue;
    const v = r.metrics[metric]?.value ?? null;
    if (v === null) continue;
    const b = best?.metrics[metric]?.value ?? null;
    if (b === null || (hi ? v > b : v < b)) best = r;
  }
  return best;
}

/**
 * Plans the radar charts of each task family (the dataset's modality). The
 * metric is the requested one, or the first column of the family's first
 * table when no table has it. With three or more dataset × head tables in
 * the family, the axes are those tables; otherwise each table with three or
 * more labels gets its own radar over its labels (per-label values, as the
 * report's BCNB radar is over its subtasks). Each encoder is drawn at its
 * best row (resolution, feature) for the metric; the caption says so.
 */
export function planRadarCharts(
  tables: readonly SummaryTable[],
  metric: string | undefined,
  colors: ReadonlyMap<string, string>,
): { charts: RadarChart[]; skipped: RadarSkip[] } {
  const charts: RadarChart[] = [];
  const skipped: RadarSkip[] = [];
  const families = [...new Set(tables.map((t) => t.family))];
  for (const family of families) {
    const inFamily = tables.filter((t) => t.family === family);
    const m = metric !== undefined && inFamily.some((t) => t.metrics.includes(metric))
      ? metric
      : choosePrimaryMetric(sortMetrics(inFamily.flatMap((t) => t.metrics)));
    const used = m === null ? [] : inFamily.filter((t) => t.metrics.includes(m));
    if (m === null || used.length === 0) {
      skipped.push({ family, reason: "no metric to draw" });
      continue;
    }
    const best = isHigherBetter(m) ? "highest" : "lowest";
    if (used.length >= 3) {
      const heads = new Set(used.map((t) => t.head));
      const axes = used.map((t) => {
        const name = t.dataset.slice(family.length + 1) || t.dataset;
        return heads.size > 1 ? `${name} · ${t.head}` : name;
      });
      const encoders = encodersOf(used.flatMap((t) => t.rows));
      charts.push({
        family,
        title: `${family}: ${formatMetricName(m)} per dataset`,
        subtitle: `each encoder at its ${best}-${formatMetricName(m)} resolution per dataset`,
        metric: m,
        table: null,
        axes,
        series: encoders.map((e) => ({
          encoder: e.label,
          color: colors.get(e.label) ?? PALETTE[0],
          values: used.map((t) => bestRowOf(t.rows, e.label, m)?.metrics[m]?.value ?? null),
        })),
      });
      continue;
    }
    let drawn = 0;
    for (const t of used) {
      const labels = t.labels.filter((l) =>
        t.rows.some((r) =>
          r.records.some((c) => meanOf([c.record.metrics.perLabel[l]?.[m]]) !== null)
        )
      );
      if (labels.length < 3) continue;
      const encoders = encodersOf(t.rows);
      charts.push({
        family,
        title: `${family}: ${formatMetricName(m)} per label`,
        subtitle: `${formatTableTitle(t)}; each encoder at its ${best}-macro-${
          formatMetricName(m)
        } resolution`,
        metric: m,
        table: t,
        axes: labels,
        series: encoders.map((e) => {
          const row = bestRowOf(t.rows, e.label, m);
          return {
            encoder: e.label,
            color: colors.get(e.label) ?? PALETTE[0],
            values: labels.map((l) =>
              row ? meanOf(row.records.map((c) => c.record.metrics.perLabel[l]?.[m])) : null
            ),
          };
        }),
      });
      drawn++;
    }
    if (drawn === 0) {
      skipped.push({
        family,
        reason: `fewer than 3 axes: ${used.length} dataset × head table${
          used.length === 1 ? "" : "s"
        } and no table with 3 or more labels holding per-label ${formatMetricName(m)}`,
      });
    }
  }
  return { charts, skipped };
}

function niceStep(span: number): number {
  const raw = span / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

/**
 * Radial domain and ring values of a radar: nice steps around the data,
 * about four rings, none outside `bounds` (a bounded metric such as AUC
 * never gets a ring below 0 or above 1).
 *
 * @example AUC rings stay within [0, 1]
 * ```ts
 * import { computeRadarTicks } from "./plots.ts";
 * import assert from "node:assert/strict";
 *
 * const ticks = computeRadarTicks([0.05, 0.9], [0, 1]);
 * assert.ok(ticks[0] >= 0 && ticks[ticks.length - 1] <= 1);
 * ```
 */
export function computeRadarTicks(
  values: readonly number[],
  bounds: readonly [number, number] = [-Infinity, Infinity],
): number[] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.05 || 0.05;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo);
  const start = Math.floor(lo / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= hi + step * 1e-6 || ticks.length < 2; i++) {
    ticks.push(Number((start + i * step).toPrecision(12)));
    if (start + i * step >= hi - step * 1e-6) break;
  }
  const eps = step * 1e-6;
  const inside = ticks.filter((t) => t >= bounds[0] - eps && t <= bounds[1] + eps);
  return inside.length >= 2 ? inside : ticks.slice(0, 2).map((t) => Math.max(bounds[0], t));
}

/**
 * Builds the Vega spec of a radar chart: spokes, polygonal rings labelled
 * with their values, one closed line (light fill) per encoder and a legend.
 * The radial axis starts at 15 % of the radius so the lowest value is not a
 * dot; for lower-is-better metrics it is reversed, so outward is always
 * better.
 */
export function buildRadarSpec(chart: RadarChart): vega.Spec {
  const radius = 150;
  const n = chart.axes.length;
  const angle = (i: number): number => -Math.PI / 2 + (2 * Math.PI * i) / n;
  const all = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const ticks = computeRadarTicks(all.length ? all : [0, 1], metricBounds(chart.metric));
  const domain = [ticks[0], ticks[ticks.length - 1]];
  const inner = radius * 0.15;
  const range = isHigherBetter(chart.metric) ? [inner, radius] : [radius, inner];
  const points = chart.series.flatMap((s) =>
    s.values.flatMap((v, i) =>
      v === null ? [] : [{ encoder: s.encoder, axis: chart.axes[i], angle: angle(i), value: v }]
    )
  );
  const axes = chart.axes.map((a, i) => ({ axis: a, angle: angle(i) }));
  const rings = ticks.flatMap((t) => axes.map((a) => ({ tick: t, angle: a.angle })));
  const labelX = `(${radius} + 10) * cos(datum.angle)`;
  return {
    width: 2 * radius,
    height: 2 * radius,
    padding: { left: 20, right: 20, top: 10, bottom: 10 },
    autosize: { type: "pad" },
    background: "white",
    title: { text: chart.title, subtitle: chart.subtitle, anchor: "middle", offset: 24 },
    data: [
      { name: "points", values: points },
      { name: "axes", values: axes },
      { name: "rings", values: rings },
      { name: "tickLabels", values: ticks.map((t) => ({ tick: t })) },
    ],
    scales: [
      {
        name: "radial",
        type: "linear",
        domain,
        range,
        clamp: true,
        zero: false,
        nice: false,
      },
      {
        name: "color",
        type: "ordinal",
        domain: chart.series.map((s) => s.encoder),
        range: chart.series.map((s) => s.color),
      },
    ],
    legends: [{
      stroke: "color",
      fill: "color",
      title: "Encoder",
      orient: "right",
      symbolType: "circle",
      labelLimit: 0,
      titleLimit: 0,
    }],
    marks: [{
      type: "group",
      encode: { enter: { x: { value: radius }, y: { value: radius } } },
      marks: [
        {
          type: "rule",
          name: "spokes",
          from: { data: "axes" },
          encode: {
            enter: {
              x: { value: 0 },
              y: { value: 0 },
              x2: { signal: `${radius} * cos(datum.angle)` },
              y2: { signal: `${radius} * sin(datum.angle)` },
              stroke: { value: "#ccc" },
              strokeWidth: { value: 1 },
            },
          },
        },
        {
          type: "group",
          name: "ringGroups",
          from: { facet: { data: "rings", name: "ring", groupby: ["tick"] } },
          marks: [{
            type: "line",
            name: "rings",
            from: { data: "ring" },
            encode: {
              enter: {
                interpolate: { value: "linear-closed" },
                x: { signal: "scale('radial', datum.tick) * cos(datum.angle)" },
                y: { signal: "scale('radial', datum.tick) * sin(datum.angle)" },
                stroke: { value: "#ddd" },
                strokeWidth: { value: 1 },
              },
            },
          }],
        },
        {
          type: "text",
          name: "ringLabels",
          from: { data: "tickLabels" },
          encode: {
            enter: {
              x: { value: 3 },
              y: { signal: "-scale('radial', datum.tick)" },
              text: { signal: "format(datum.tick, '.3~f')" },
              fontSize: { value: 9 },
              fill: { value: "#888" },
              baseline: { value: "bottom" },
            },
          },
        },
        {
          type: "group",
          name: "seriesGroups",
          from: { facet: { data: "points", name: "polygon", groupby: ["encoder"] } },
          marks: [
            {
              type: "line",
              name: SERIES_MARK_NAME,
              from: { data: "polygon" },
              encode: {
                enter: {
                  interpolate: { value: "linear-closed" },
                  x: { signal: "scale('radial', datum.value) * cos(datum.angle)" },
                  y: { signal: "scale('radial', datum.value) * sin(datum.angle)" },
                  stroke: { scale: "color", field: "encoder" },
                  strokeWidth: { value: 2 },
                  fill: { scale: "color", field: "encoder" },
                  fillOpacity: { value: 0.08 },
                },
              },
            },
            {
              type: "symbol",
              name: "vertices",
              from: { data: "polygon" },
              encode: {
                enter: {
                  x: { signal: "scale('radial', datum.value) * cos(datum.angle)" },
                  y: { signal: "scale('radial', datum.value) * sin(datum.angle)" },
                  size: { value: 20 },
                  fill: { scale: "color", field: "encoder" },
                },
              },
            },
          ],
        },
        {
          type: "text",
          name: "axisLabels",
          from: { data: "axes" },
          encode: {
            enter: {
              x: { signal: labelX },
              y: { signal: `(${radius} + 10) * sin(datum.angle)` },
              text: { field: "axis" },
              fontSize: { value: 10 },
              align: {
                signal:
                  "abs(cos(datum.angle)) < 0.2 ? 'center' : cos(datum.angle) > 0 ? 'left' : 'right'",
              },
              baseline: {
                signal:
                  "abs(sin(datum.angle)) < 0.2 ? 'middle' : sin(datum.angle) > 0 ? 'top' : 'bottom'",
              },
              fill: { value: "#333" },
            },
          },
        },
      ],
    }],
    config: { text: { font: "sans-serif" }, title: { font: "sans-serif" } },
  } as vega.Spec;
}

/**
 * Renders a Vega spec to an SVG string without a browser (`renderer:
 * "none"`).
 */
export async function renderVegaSvg(spec: vega.Spec): Promise<string> {
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Compiles a Vega-Lite spec and renders it to an SVG string (see {@linkcode renderVegaSvg}). */
export function renderVegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  return renderVegaSvg(vegaLite.compile(spec).spec as vega.Spec);
}

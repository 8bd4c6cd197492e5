/**
 * Slide thumbnails as pathology users check them: the low-resolution view
 * with the tissue contour (green) and the kept tiles (blue outlines), and
 * attention heatmaps (each tile filled with a colour from blue, low, to red,
 * high, blended over the thumbnail).
 *
 * @example
 * ```ts ignore
 * const png = renderTilesThumbnail(view, tissue, grid, { downsample: 16 });
 * await Deno.writeFile("tumor_001.png", png);
 * ```
 *
 * @module
 */

import { encodePng } from "../../formats/image/png.ts";
import type { RgbImage } from "./tissue.ts";
import { maskContour } from "./tissue.ts";
import type { TileGrid } from "./tiling.ts";

/** Where the thumbnail sits over level 0. */
export interface ThumbnailPlacement {
  /** Level-0 pixels per thumbnail pixel. */
  readonly downsample: number;
}

function paint(out: Uint8Array, w: number, i: number, rgb: readonly number[], alpha = 1): void {
  void w;
  for (let c = 0; c < 3; c++) {
    out[i * 3 + c] = Math.round(out[i * 3 + c] * (1 - alpha) + rgb[c] * alpha);
  }
}

function tileRect(grid: TileGrid, t: number, view: RgbImage, d: number) {
  const x0 = Math.max(0, Math.floor(grid.x[t] / d));
  const y0 = Math.max(0, Math.floor(grid.y[t] / d));
  const x1 = Math.min(
    view.width - 1,
    Math.max(x0, Math.ceil((grid.x[t] + grid.level0Size) / d) - 1),
  );
  const y1 = Math.min(
    view.height - 1,
    Math.max(y0, Math.ceil((grid.y[t] + grid.level0Size) / d) - 1),
  );
  return { x0, y0, x1, y1 };
}

/**
 * The thumbnail with the tissue contour and the kept tiles outlined, as PNG
 * bytes. `mask` must have the view's size.
 */
export function renderTilesThumbnail(
  view: RgbImage,
  mask: { readonly mask: Uint8Array; readonly width: number; readonly height: number },
  grid: TileGrid,
  placement: ThumbnailPlacement,
): Uint8Array {
  const out = view.data.slice();
  const w = view.width;
  if (mask.width === view.width && mask.height === view.height) {
    const contour = maskContour(mask.mask, mask.width, mask.height);
    for (let i = 0; i < contour.length; i++) if (contour[i]) paint(out, w, i, [0, 200, 0]);
  }
  for (let t = 0; t < grid.count; t++) {
    const { x0, y0, x1, y1 } = tileRect(grid, t, view, placement.downsample);
    for (let x = x0; x <= x1; x++) {
      paint(out, w, y0 * w + x, [30, 60, 255]);
      paint(out, w, y1 * w + x, [30, 60, 255]);
    }
    for (let y = y0; y <= y1; y++) {
      paint(out, w, y * w + x0, [30, 60, 255]);
      paint(out, w, y * w + x1, [30, 60, 255]);
    }
  }
  return encodePng({ data: out, width: w, height: view.height, channels: 3 });
}

/** Blue → cyan → yellow → red for a value in [0, 1]. */
export function heatColor(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0));
  const stops: [number, number, number][] = [[49, 54, 149], [116, 173, 209], [254, 224, 144], [
    215,
    48,
    39,
  ]];
  const s = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(s));
  const f = s - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] * (1 - f) + stops[i + 1][c] * f)) as [
    number,
    number,
    number,
  ];
}

/**
 * An attention heatmap over the thumbnail, as PNG bytes: each tile filled
 * with {@linkcode heatColor} of its attention, min-max scaled over the slide
 * (as CLAM's heatmaps), blended at `alpha`.
 */
export function renderAttentionHeatmap(
  view: RgbImage,
  grid: TileGrid,
  attention: ArrayLike<number>,
  placement: ThumbnailPlacement,
  alpha = 0.5,
): Uint8Array {
  if (attention.length !== grid.count) {
    throw new RangeError(
      `Cannot draw the attention heatmap as it needs one weight per tile (${grid.count}): current count is ${attention.length}`,
    );
  }
  const out = view.data.slice();
  const w = view.width;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < attention.length; i++) {
    lo = Math.min(lo, attention[i]);
    hi = Math.max(hi, attention[i]);
  }
  for (let t = 0; t < grid.count; t++) {
    const v = hi > lo ? (attention[t] - lo) / (hi - lo) : 0.5;
    const rgb = heatColor(v);
    const { x0, y0, x1, y1 } = tileRect(grid, t, view, placement.downsample);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) paint(out, w, y * w + x, rgb, alpha);
    }
  }
  return encodePng({ data: out, width: w, height: view.height, channels: 3 });
}

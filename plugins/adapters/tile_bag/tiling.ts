// This module is browser compatible.
/**
 * Tiling a slide into non-overlapping square tiles on a tissue mask, as
 * CLAM's `create_patches_fp.py` and TRIDENT do: tiles of `tileSize` pixels
 * (224 by default) at level 0 (native resolution), or at a requested µm per
 * pixel using the slide's own resolution (the tile covers
 * `tileSize * mpp / mpp0` level-0 pixels and is read from the coarsest level
 * that is still at least as fine as the request, then resized). A tile is kept
 * when the tissue fraction of its footprint on the mask reaches
 * `minTissueFraction`.
 *
 * Coordinates are level-0 pixels of the tile's top-left corner, row-major,
 * the grid anchored at (0, 0); partial edge tiles are dropped. A
 * {@linkcode TileGrid} serialises to JSON with the level, µm/px and sizes,
 * the equivalent of CLAM's `patches/<slide>.h5` `coords` dataset and its
 * `patch_level`/`patch_size` attributes.
 *
 * @example
 * ```ts
 * import { planTiles } from "./tiling.ts";
 * import assert from "node:assert/strict";
 * const mask = new Uint8Array(16 * 16).fill(1); // every pixel tissue, mask at downsample 28
 * const grid = planTiles({ width: 448, height: 448, mpp: 0.5, levels: [{ downsample: 1 }] },
 *   { mask, width: 16, height: 16, downsample: 28 }, { tileSize: 224 });
 * assert.equal(grid.count, 4);
 * assert.deepEqual([grid.x[3], grid.y[3]], [224, 224]);
 * ```
 *
 * @module
 */

/** The slide geometry tiling needs. */
export interface SlideGeometry {
  /** Level-0 width in pixels. */
  readonly width: number;
  /** Level-0 height in pixels. */
  readonly height: number;
  /** Level-0 µm per pixel, when known. */
  readonly mpp: number | undefined;
  /** Downsample of every level (level 0 first, 1). */
  readonly levels: readonly { readonly downsample: number }[];
}

/** A tissue mask over the slide at a downsample of level 0. */
export interface MaskView {
  /** 0/1 per pixel. */
  readonly mask: Uint8Array;
  /** Mask width. */
  readonly width: number;
  /** Mask height. */
  readonly height: number;
  /** Level-0 pixels per mask pixel. */
  readonly downsample: number;
}

/** Settings of {@linkcode planTiles}. */
export interface TilingOptions {
  /** Output tile side in pixels. @default {224} */
  tileSize?: number;
  /** Target µm per pixel of the tiles; `undefined` tiles level 0 at native resolution. */
  mpp?: number;
  /** Smallest tissue fraction of a kept tile, in [0, 1]. @default {0.5} */
  minTissueFraction?: number;
}

/** Default tiling settings. */
export const TILING_DEFAULTS: Readonly<{ tileSize: number; minTissueFraction: number }> = Object
  .freeze({ tileSize: 224, minTissueFraction: 0.5 });

/** The kept tiles of one slide. */
export interface TileGrid {
  /** Output tile side in pixels (what the encoder sees before resizing to its resolution). */
  readonly tileSize: number;
  /** Level the tiles are read from. */
  readonly level: number;
  /** Side of a tile at that level, in that level's pixels (resized to `tileSize` when different). */
  readonly readSize: number;
  /** Side of a tile in level-0 pixels. */
  readonly level0Size: number;
  /** µm per pixel of the output tiles (undefined when the slide does not say). */
  readonly mpp: number | undefined;
  /** Number of tiles. */
  readonly count: number;
  /** Level-0 x of each tile's top-left corner. */
  readonly x: Int32Array;
  /** Level-0 y of each tile's top-left corner. */
  readonly y: Int32Array;
  /** Tissue fraction of each tile, in [0, 1]. */
  readonly tissue: Float32Array;
  /** Tiles in the full grid before the tissue filter. */
  readonly gridTiles: number;
  /** The settings in effect. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * Plans the tiles of a slide from its tissue mask (see the module
 * documentation). Throws `RangeError` for bad settings, and `TypeError` when
 * a µm/px is requested on a slide without a resolution.
 */
export function planTiles(
  slide: SlideGeometry,
  mask: MaskView,
  options: TilingOptions = {},
): TileGrid {
  const tileSize = options.tileSize ?? TILING_DEFAULTS.tileSize;
  const minFraction = options.minTissueFraction ?? TILING_DEFAULTS.minTissueFraction;
  if (!Number.isInteger(tileSize) || tileSize < 1) {
    throw new RangeError(
      `Cannot tile the slide as tileSize must be a positive integer: current value is ${tileSize}`,
    );
  }
  if (!(minFraction >= 0 && minFraction <= 1)) {
    throw new RangeError(
      `Cannot tile the slide as minTissueFraction must be in [0, 1]: current value is ${minFraction}`,
    );
  }
  let level = 0;
  let readSize = tileSize;
  let level0Size = tileSize;
  let mpp = slide.mpp;
  if (options.mpp !== undefined) {
    if (!(options.mpp > 0)) {
      throw new RangeError(
        `Cannot tile the slide as mpp must be a positive number: current value is ${options.mpp}`,
      );
    }
    if (slide.mpp === undefined) {
      throw new TypeError(
        `Cannot tile the slide at ${options.mpp} µm/px as the slide does not record its resolution: tile at level 0 (leave mpp unset)`,
      );
    }
    const factor = options.mpp / slide.mpp; // level-0 px per output px
    level0Size = Math.round(tileSize * factor);
    // Coarsest level whose resolution is at least as fine as the request.
    slide.levels.forEach((l, i) => {
      if (l.downsample <= factor * 1.01 && l.downsample > slide.levels[level].downsample) level = i;
    });
    readSize = Math.max(1, Math.round(level0Size / slide.levels[level].downsample));
    mpp = options.mpp;
  }
  const across = Math.floor(slide.width / level0Size);
  const down = Math.floor(slide.height / level0Size);
  // Integral image of the mask for O(1) footprint sums.
  const mw = mask.width, mh = mask.height;
  const integral = new Float64Array((mw + 1) * (mh + 1));
  for (let y = 0; y < mh; y++) {
    let row = 0;
    for (let x = 0; x < mw; x++) {
      row += mask.mask[y * mw + x];
      integral[(y + 1) * (mw + 1) + x + 1] = integral[y * (mw + 1) + x + 1] + row;
    }
  }
  const xs: number[] = [], ys: number[] = [], fr: number[] = [];
  const d = mask.downsample;
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      const x0 = tx * level0Size, y0 = ty * level0Size;
      // Mask pixels whose centres fall inside the footprint; at least one.
      let mx0 = Math.min(mw - 1, Math.max(0, Math.round(x0 / d)));
      let my0 = Math.min(mh - 1, Math.max(0, Math.round(y0 / d)));
      let mx1 = Math.min(mw, Math.round((x0 + level0Size) / d));
      let my1 = Math.min(mh, Math.round((y0 + level0Size) / d));
      if (mx1 <= mx0) {
        [mx0, mx1] = [
          Math.min(mw - 1, Math.floor(x0 / d)),
          Math.min(mw - 1, Math.floor(x0 / d)) + 1,
        ];
      }
      if (my1 <= my0) {
        [my0, my1] = [
          Math.min(mh - 1, Math.floor(y0 / d)),
          Math.min(mh - 1, Math.floor(y0 / d)) + 1,
        ];
      }
      const sum = integral[my1 * (mw + 1) + mx1] - integral[my0 * (mw + 1) + mx1] -
        integral[my1 * (mw + 1) + mx0] + integral[my0 * (mw + 1) + mx0];
      const f = sum / ((mx1 - mx0) * (my1 - my0));
      if (f >= minFraction && f > 0) {
        xs.push(x0);
        ys.push(y0);
        fr.push(f);
      }
    }
  }
  return {
    tileSize,
    level,
    readSize,
    level0Size,
    mpp,
    count: xs.length,
    x: Int32Array.from(xs),
    y: Int32Array.from(ys),
    tissue: Float32Array.from(fr),
    gridTiles: across * down,
    settings: { tileSize, mpp: options.mpp ?? "native", minTissueFraction: minFraction },
  };
}

/** The JSON form of a {@linkcode TileGrid} written per slide (`<slide>.tiles.json`). */
export interface TileGridJson {
  /** Format name. */
  format: "medprobe-tiles";
  /** Format version. */
  formatVersion: 1;
  /** Slide id. */
  slide: string;
  /** Slide path. */
  path?: string;
  /** Level-0 size `[width, height]`. */
  size: [number, number];
  /** Level-0 µm/px of the slide. */
  slideMpp: number | null;
  /** Level read. */
  level: number;
  /** Output µm/px. */
  mpp: number | null;
  /** Output tile side. */
  tileSize: number;
  /** Side read at `level`. */
  readSize: number;
  /** Side in level-0 pixels. */
  level0Size: number;
  /** `[x, y]` level-0 top-left corners. */
  coords: [number, number][];
  /** Tissue fraction per tile. */
  tissue: number[];
  /** Tissue detection and tiling settings. */
  settings: Record<string, unknown>;
}

/** The JSON record of a slide's tiles (coordinates with level and µm/px). */
export function tileGridToJson(
  grid: TileGrid,
  slide: { id: string; path?: string; width: number; height: number; mpp: number | undefined },
  settings: Record<string, unknown> = {},
): TileGridJson {
  return {
    format: "medprobe-tiles",
    formatVersion: 1,
    slide: slide.id,
    ...(slide.path ? { path: slide.path } : {}),
    size: [slide.width, slide.height],
    slideMpp: slide.mpp ?? null,
    level: grid.level,
    mpp: grid.mpp ?? null,
    tileSize: grid.tileSize,
    readSize: grid.readSize,
    level0Size: grid.level0Size,
    coords: Array.from(grid.x, (x, i) => [x, grid.y[i]]),
    tissue: Array.from(grid.tissue, (f) => Math.round(f * 1e4) / 1e4),
    settings: { ...grid.settings, ...settings },
  };
}

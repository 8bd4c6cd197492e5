/**
 * The `tile-bag` adapter: a whole-slide image → tissue detection on a
 * low-resolution view → non-overlapping tiles on the tissue → tiles streamed
 * from the lazy slide reader in encoder batches (the next batch is read and
 * decoded while the encoder runs the current one) → one feature per tile:
 * the mean of the normalised patch tokens (the report's global average
 * pooling; `pool: "cls"` takes the CLS token) → one bag per slide.
 *
 * A sample is {@linkcode SlideData} (`kind: "slide"`, a path): the slide is
 * opened by the adapter, never decoded whole. At most
 * `(prefetchBatches + 1) * batchSize` decoded tiles are held at once, so a
 * 100,000-tile slide needs the same memory as a 100-tile one.
 *
 * Features (one {@linkcode FeatureRecord} per slide):
 * - `bag` `[N, C]`: tile features, in tile order (row-major on the grid);
 * - `coords` `[N, 2]`: level-0 `x, y` of each tile's top-left corner;
 * - `tissue` `[N]`: tissue fraction of each tile.
 *
 * For resumable extraction of very large slides, {@linkcode TileBagAdapter.extractChunks}
 * yields the same bag in chunks of `chunkTiles` tiles (every kind
 * concatenates along axis 0), and {@linkcode assembleBag} joins them back
 * into the record `extract` returns, bit for bit. {@linkcode TileBagAdapter.plan}
 * re-derives the overview, tissue mask and tile grid of a slide (no tile is
 * decoded) for thumbnails and attention heatmaps.
 *
 * A slide without tissue throws a {@linkcode FormatError} ("no tissue"), so the
 * runner records it as a failed sample instead of storing an empty bag.
 *
 * @example
 * ```ts ignore
 * import { tileBagAdapter } from "./mod.ts";
 * const adapter = tileBagAdapter.create({ tileSize: 224, pool: "mean" });
 * const bag = await adapter.extract({ kind: "slide", path: "tumor_001.tif" }, { encoder, resolution: 224, batchSize: 64 });
 * bag.bag.shape; // [N, C]
 * ```
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { imagesToBatch, targetSize } from "../../../core/image.ts";
import type {
  Adapter,
  AdapterContext,
  AdapterPlugin,
  FeatureRecord,
  Image2D,
  PreprocessSpec,
  SampleData,
} from "../../../core/plugin.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import { type DecodedTile, openWsi, type WsiReader } from "./reader.ts";
import { detectTissue, type RgbImage, TISSUE_DEFAULTS, type TissueOptions } from "./tissue.ts";
import {
  planTiles,
  type TileGrid,
  type TileGridJson,
  tileGridToJson,
  TILING_DEFAULTS,
} from "./tiling.ts";
import { renderAttentionHeatmap, renderTilesThumbnail } from "./thumbnail.ts";

export { BoxDownsampler, type DecodedTile, openWsi, resizeTile, type WsiReader } from "./reader.ts";
export {
  closeMask,
  detectTissue,
  labelComponents,
  maskContour,
  medianBlur,
  otsuThreshold,
  type RgbImage,
  saturationOf,
  TISSUE_DEFAULTS,
  type TissueMask,
  type TissueOptions,
} from "./tissue.ts";
export {
  type MaskView,
  planTiles,
  type SlideGeometry,
  type TileGrid,
  type TileGridJson,
  tileGridToJson,
  TILING_DEFAULTS,
  type TilingOptions,
} from "./tiling.ts";
export {
  heatColor,
  renderAttentionHeatmap,
  renderTilesThumbnail,
  type ThumbnailPlacement,
} from "./thumbnail.ts";

/** A whole-slide sample: what a `wsi` dataset's `load()` returns. Nothing is decoded yet. */
export interface SlideData {
  /** Discriminant of `SampleData`. */
  readonly kind: "slide";
  /** The slide file (`.tif`, `.svs`, `.jpg`). */
  readonly path: string;
  /** Level-0 µm/px when the file does not carry it (JPEG). */
  readonly mpp?: number;
}

/** Options of the `tile-bag` adapter; every one is part of the cache key. */
export interface TileBagOptions extends Omit<TissueOptions, "mpp"> {
  /** Tile side in pixels. @default {224} */
  tileSize?: number;
  /** Tile µm/px; unset tiles level 0 at native resolution. */
  mpp?: number;
  /** Smallest tissue fraction of a kept tile. @default {0.5} */
  minTissueFraction?: number;
  /** Tile feature: `"mean"` of the patch tokens (global average pooling) or `"cls"`. @default {"mean"} */
  pool?: "mean" | "cls";
  /** Downsample of the view used for tissue detection. @default {32} */
  overviewDownsample?: number;
  /** µm/px assumed at level 0 when the slide does not say (recorded). @default {0.25} */
  fallbackMpp?: number;
  /** Tiles per chunk for `extractChunks`. @default {512} */
  chunkTiles?: number;
  /** Encoder batches read ahead of the encoder. @default {1} */
  prefetchBatches?: number;
}

/** Defaults of the `tile-bag` adapter. */
export const TILE_BAG_DEFAULTS: Readonly<Required<Omit<TileBagOptions, "mpp">>> = Object.freeze({
  ...TISSUE_DEFAULTS,
  tileSize: TILING_DEFAULTS.tileSize,
  minTissueFraction: TILING_DEFAULTS.minTissueFraction,
  pool: "mean",
  overviewDownsample: 32,
  fallbackMpp: 0.25,
  chunkTiles: 512,
  prefetchBatches: 1,
});

/** Feature kinds of a tile bag. */
export const TILE_BAG_FEATURE_KINDS: readonly string[] = ["bag", "coords", "tissue"];

/** One chunk of a bag (see {@linkcode TileBagAdapter.extractChunks}). */
export interface BagChunk {
  /** 0-based chunk index. */
  readonly index: number;
  /** Chunks of the slide. */
  readonly count: number;
  /** `bag`, `coords`, `tissue` of the chunk's tiles. */
  readonly features: FeatureRecord;
}

/** Counters of the last extraction, for benches and tests. */
export interface TileBagStats {
  /** Tiles decoded. */
  tilesDecoded: number;
  /** Largest number of decoded tiles held at once. */
  peakTilesHeld: number;
  /** Seconds spent waiting for the encoder. */
  encodeSeconds: number;
  /** Seconds spent waiting for tiles (read + decode not hidden behind encoding). */
  readWaitSeconds: number;
  /** Chunks of the last slide (skipped ones included). */
  chunks: number;
}

/**
 * What a bag adapter offers tasks beside features (a task gets the adapter
 * by name from the registry and checks for these methods).
 */
export interface SlideOutputs {
  /**
   * The slide's tile record (level-0 coordinates with level and µm/px) and
   * a ~1024 px thumbnail PNG with the tissue contour and the kept tiles.
   */
  describeSlide(
    data: SampleData,
    slide: { id: string; path?: string },
  ): Promise<{ tiles: TileGridJson; thumbnail: Uint8Array }>;
  /** A ~1024 px attention heatmap PNG of the slide, one weight per tile in bag order. */
  renderAttention(data: SampleData, attention: ArrayLike<number>): Promise<Uint8Array>;
}

/** The `tile-bag` adapter, with chunked extraction. */
export interface TileBagAdapter extends Adapter, SlideOutputs {
  /** Resolved options. */
  readonly options: Readonly<Required<Omit<TileBagOptions, "mpp">> & { mpp?: number }>;
  /** Counters of the last call. */
  readonly stats: TileBagStats;
  /** Opens a slide, detects tissue and plans its tiles (no tile is decoded). */
  plan(data: SampleData): Promise<SlidePlan>;
  /**
   * Yields the bag in chunks of `chunkTiles` tiles; chunks whose index is in
   * `skip` are not decoded or encoded (they are already cached).
   */
  extractChunks(
    data: SampleData,
    ctx: AdapterContext,
    skip?: ReadonlySet<number>,
  ): AsyncGenerator<BagChunk>;
}

/** A slide opened and tiled. */
export interface SlidePlan {
  /** The reader (close it). */
  readonly reader: WsiReader;
  /** The tiles. */
  readonly grid: TileGrid;
  /** The overview image and its downsample. */
  readonly overview: {
    image: { data: Uint8Array; width: number; height: number };
    downsample: number;
  };
  /** The tissue mask at the overview's size. */
  readonly mask: Uint8Array;
  /** Level-0 µm/px used (the slide's, or the fallback). */
  readonly mpp: number;
  /** Whether `mpp` is the fallback. */
  readonly mppAssumed: boolean;
}

function asSlide(data: SampleData): SlideData {
  if (data.kind !== "slide" || typeof (data as unknown as SlideData).path !== "string") {
    throw new TypeError(
      `Cannot run adapter "tile-bag" as the sample must be a slide ({kind: "slide", path}): current kind is "${data.kind}"`,
    );
  }
  return data as unknown as SlideData;
}

const KNOWN = [...Object.keys(TILE_BAG_DEFAULTS), "mpp"];

/** Merges options with {@linkcode TILE_BAG_DEFAULTS} and validates them. */
export function resolveTileBagOptions(
  options: Record<string, unknown> = {},
): Required<Omit<TileBagOptions, "mpp">> & { mpp?: number } {
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new TypeError(
        `Cannot create adapter "tile-bag" as option "${key}" is unknown: known options are ${
          KNOWN.join(", ")
        }`,
      );
    }
  }
  const o = { ...TILE_BAG_DEFAULTS, ...options } as Required<Omit<TileBagOptions, "mpp">> & {
    mpp?: number;
  };
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot create adapter "tile-bag" as ${name} must be a positive integer: current value is ${v}`,
      );
    }
  };
  positiveInt("tileSize", o.tileSize);
  positiveInt("chunkTiles", o.chunkTiles);
  positiveInt("overviewDownsample", o.overviewDownsample);
  if (!Number.isInteger(o.prefetchBatches) || o.prefetchBatches < 0) {
    throw new RangeError(
      `Cannot create adapter "tile-bag" as prefetchBatches must be an integer ≥ 0: current value is ${o.prefetchBatches}`,
    );
  }
  if (o.pool !== "mean" && o.pool !== "cls") {
    throw new TypeError(
      `Cannot create adapter "tile-bag" as pool must be "mean" or "cls": current value is "${o.pool}"`,
    );
  }
  return o;
}

/**
 * RGB tiles (`side`² × 3, uint8) → one normalised NCHW batch
 * `[B, 3, H, W]`, the same values as `imagesToBatch` from core/image.ts;
 * when the tiles already have the encoder's size, without its resize pass
 * (a plain `(x / 255 − mean) / std`, several times faster).
 */
export function tilesToBatch(
  tiles: readonly Uint8Array[],
  side: number,
  resolution: AdapterContext["resolution"],
  spec: PreprocessSpec,
): HostTensor {
  const [h, w] = targetSize(resolution, side, side, spec.sizeMultiple);
  if (h !== side || w !== side) {
    const images: Image2D[] = tiles.map((data) => ({
      kind: "image",
      data,
      width: side,
      height: side,
      channels: 3,
      intensity: "dtype",
    }));
    return imagesToBatch(images, resolution, spec);
  }
  const plane = side * side;
  const out = new Float32Array(tiles.length * 3 * plane);
  const f = Math.fround;
  const lut = [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (f(v / 255) - spec.mean[c]) / spec.std[c];
    return t;
  });
  tiles.forEach((rgb, b) => {
    for (let c = 0; c < 3; c++) {
      const o = (b * 3 + c) * plane;
      const t = lut[c];
      for (let i = 0; i < plane; i++) out[o + i] = t[rgb[i * 3 + c]];
    }
  });
  return { data: out, shape: [tiles.length, 3, side, side] };
}

/**
 * A thumbnail of a planned slide for pictures (tiles, heatmaps): about
 * `maxSide` pixels on its longer side (never coarser than the tissue
 * overview), with the tissue mask resampled to it. Reads the slide again
 * (the plan's reader must be open); a 100k-pixel slide gives a ~1024 px view.
 */
export async function slideThumbnail(
  plan: SlidePlan,
  maxSide = 1024,
): Promise<{ image: RgbImage; downsample: number; mask: Uint8Array }> {
  const { reader, overview } = plan;
  const want = Math.max(1, Math.floor(Math.max(reader.width, reader.height) / maxSide));
  const view = want < overview.downsample ? await reader.readOverview(want) : overview;
  const { width, height } = view.image;
  const mask = new Uint8Array(width * height);
  const ow = overview.image.width, oh = overview.image.height;
  const f = view.downsample / overview.downsample;
  for (let y = 0; y < height; y++) {
    const my = Math.min(oh - 1, Math.floor(y * f));
    for (let x = 0; x < width; x++) {
      mask[y * width + x] = plan.mask[my * ow + Math.min(ow - 1, Math.floor(x * f))];
    }
  }
  return { image: view.image, downsample: view.downsample, mask };
}

/** Joins the chunks of one slide (in index order) into the record `extract` returns. */
export function assembleBag(chunks: readonly FeatureRecord[]): FeatureRecord {
  if (chunks.length === 0) {
    throw new RangeError(
      "Cannot assemble a bag as it must have at least one chunk: current count is 0",
    );
  }
  const join = (kind: string): HostTensor => {
    const n = chunks.reduce((s, c) => s + c[kind].shape[0], 0);
    const data = new Float32Array(chunks.reduce((s, c) => s + c[kind].data.length, 0));
    let at = 0;
    for (const c of chunks) {
      data.set(c[kind].data, at);
      at += c[kind].data.length;
    }
    return { data, shape: [n, ...chunks[0][kind].shape.slice(1)] };
  };
  return { bag: join("bag"), coords: join("coords"), tissue: join("tissue") };
}

/** Creates the adapter with validated options. */
export function createTileBagAdapter(options: Record<string, unknown> = {}): TileBagAdapter {
  const o = resolveTileBagOptions(options);
  const stats: TileBagStats = {
    tilesDecoded: 0,
    peakTilesHeld: 0,
    encodeSeconds: 0,
    readWaitSeconds: 0,
    chunks: 0,
  };
  const tissueOptions = {
    method: o.method,
    saturationThreshold: o.saturationThreshold,
    medianKernel: o.medianKernel,
    closeKernel: o.closeKernel,
    minTissueAreaUm2: o.minTissueAreaUm2,
    maxHoleAreaUm2: o.maxHoleAreaUm2,
  };
  const settings = {
    adapter: "tile-bag",
    ...tissueOptions,
    tileSize: o.tileSize,
    mpp: o.mpp ?? "native",
    minTissueFraction: o.minTissueFraction,
    pool: o.pool,
    overviewDownsample: o.overviewDownsample,
    fallbackMpp: o.fallbackMpp,
  };

  async function plan(data: SampleData): Promise<SlidePlan> {
    const slide = asSlide(data);
    const reader = await openWsi(slide.path, { mpp: slide.mpp });
    try {
      const overview = await reader.readOverview(o.overviewDownsample);
      const mppAssumed = reader.mpp === undefined;
      const mpp = reader.mpp ?? o.fallbackMpp;
      const tissue = detectTissue(overview.image, {
        ...tissueOptions,
        mpp: mpp * overview.downsample,
      });
      const grid = planTiles(
        { width: reader.width, height: reader.height, mpp: reader.mpp, levels: reader.levels },
        {
          mask: tissue.mask,
          width: tissue.width,
          height: tissue.height,
          downsample: overview.downsample,
        },
        { tileSize: o.tileSize, mpp: o.mpp, minTissueFraction: o.minTissueFraction },
      );
      if (grid.count === 0) {
        throw new FormatError(
          `Cannot make a tile bag as the slide has no tissue: ${tissue.tissuePixels} tissue pixels in the ${tissue.width}x${tissue.height} overview, no tile reaches a tissue fraction of ${o.minTissueFraction}`,
          { path: slide.path },
        );
      }
      return { reader, grid, overview, mask: tissue.mask, mpp, mppAssumed };
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  // Encodes the tiles `indices` of the plan, reading batch k+1 while batch k encodes.
  // `tiles` is shared by the chunks of one slide (one pass over a JPEG).
  async function encodeTiles(
    p: SlidePlan,
    tiles: AsyncGenerator<DecodedTile>,
    indices: readonly number[],
    ctx: AdapterContext,
  ): Promise<HostTensor> {
    const spec = ctx.encoder.preprocess;
    const bs = Math.max(1, ctx.batchSize);
    let held = 0;
    let requested = 0;
    const readBatch = async (): Promise<DecodedTile[]> => {
      const batch: DecodedTile[] = [];
      const want = Math.min(bs, indices.length - requested);
      requested += want;
      while (batch.length < want) {
        const r = await tiles.next();
        if (r.done) break;
        batch.push(r.value);
        held++;
        stats.tilesDecoded++;
        stats.peakTilesHeld = Math.max(stats.peakTilesHeld, held);
      }
      return batch;
    };
    let out: Float32Array | undefined;
    let c = 0;
    let done = 0;
    const queue: Promise<DecodedTile[]>[] = [readBatch()];
    {
      while (done < indices.length) {
        ctx.signal?.throwIfAborted();
        let t0 = performance.now();
        const batch = await queue.shift()!;
        stats.readWaitSeconds += (performance.now() - t0) / 1000;
        if (batch.length === 0) break;
        // Start reading ahead before the encoder runs (the async generator
        // decodes while the encoder's promise is pending).
        while (queue.length < o.prefetchBatches && requested < indices.length) {
          queue.push(readBatch());
        }
        const pixels = tilesToBatch(
          batch.map((t) => t.rgb),
          p.grid.tileSize,
          ctx.resolution,
          spec,
        ); // [B, 3, H, W]
        t0 = performance.now();
        const enc = await ctx.encoder.encode(pixels);
        stats.encodeSeconds += (performance.now() - t0) / 1000;
        const feat = o.pool === "cls" ? enc.cls : enc.patchMean; // [B, C]
        c = feat.shape[1];
        out ??= new Float32Array(indices.length * c);
        out.set(feat.data.subarray(0, batch.length * c), done * c);
        done += batch.length;
        held -= batch.length;
        if (queue.length === 0 && done < indices.length) queue.push(readBatch());
      }
    }
    if (done !== indices.length || !out) {
      throw new FormatError(
        `Cannot make a tile bag as only ${done} of ${indices.length} tiles could be read`,
        { path: p.reader.path },
      );
    }
    return { data: out, shape: [indices.length, c] };
  }

  function tileRecord(p: SlidePlan, indices: readonly number[], bag: HostTensor): FeatureRecord {
    const coords = new Float32Array(indices.length * 2);
    const tissue = new Float32Array(indices.length);
    indices.forEach((t, i) => {
      coords[i * 2] = p.grid.x[t];
      coords[i * 2 + 1] = p.grid.y[t];
      tissue[i] = p.grid.tissue[t];
    });
    return {
      bag,
      coords: { data: coords, shape: [indices.length, 2] },
      tissue: { data: tissue, shape: [indices.length] },
    };
  }

  const adapter: TileBagAdapter = {
    featureKinds: TILE_BAG_FEATURE_KINDS,
    chunkAxis: 0,
    settings,
    options: o,
    stats,
    plan,
    async describeSlide(data: SampleData, slide: { id: string; path?: string }) {
      const p = await plan(data);
      try {
        const thumb = await slideThumbnail(p);
        const view = thumb.image;
        return {
          tiles: tileGridToJson(
            p.grid,
            { ...slide, width: p.reader.width, height: p.reader.height, mpp: p.reader.mpp },
            { ...settings },
          ),
          thumbnail: renderTilesThumbnail(
            view,
            { mask: thumb.mask, width: view.width, height: view.height },
            p.grid,
            { downsample: thumb.downsample },
          ),
        };
      } finally {
        p.reader.close();
      }
    },
    async renderAttention(data: SampleData, attention: ArrayLike<number>) {
      const p = await plan(data);
      try {
        const thumb = await slideThumbnail(p);
        return renderAttentionHeatmap(thumb.image, p.grid, attention, {
          downsample: thumb.downsample,
        });
      } finally {
        p.reader.close();
      }
    },
    async extract(data: SampleData, ctx: AdapterContext): Promise<FeatureRecord> {
      const chunks: FeatureRecord[] = [];
      for await (const chunk of adapter.extractChunks(data, ctx)) chunks.push(chunk.features);
      return assembleBag(chunks);
    },
    async *extractChunks(
      data: SampleData,
      ctx: AdapterContext,
      skip: ReadonlySet<number> = new Set(),
    ): AsyncGenerator<BagChunk> {
      stats.tilesDecoded = 0;
      stats.peakTilesHeld = 0;
      stats.encodeSeconds = 0;
      stats.readWaitSeconds = 0;
      const p = await plan(data);
      const count = Math.ceil(p.grid.count / o.chunkTiles);
      stats.chunks = count;
      const chunkIndices = (index: number) => {
        const indices: number[] = [];
        const end = Math.min(p.grid.count, (index + 1) * o.chunkTiles);
        for (let t = index * o.chunkTiles; t < end; t++) indices.push(t);
        return indices;
      };
      const todo = Array.from({ length: count }, (_, i) => i).filter((i) => !skip.has(i));
      const tiles = p.reader.readTiles(p.grid, todo.flatMap(chunkIndices));
      try {
        for (const index of todo) {
          const indices = chunkIndices(index);
          const bag = await encodeTiles(p, tiles, indices, ctx);
          const features = tileRecord(p, indices, bag);
          yield { index, count, features };
        }
      } finally {
        await tiles.return(undefined);
        p.reader.close();
      }
    },
  };
  return adapter;
}

/** The `tile-bag` adapter plugin. */
export const tileBagAdapter: AdapterPlugin = {
  kind: "adapter",
  name: "tile-bag",
  description:
    "Whole slide → tissue detection → 224 px tiles streamed to the encoder → bag of mean-pooled tile features",
  version: "0.1.0",
  accepts: ["slide"],
  output: "bags",
  create: (options?: Record<string, unknown>): Adapter => createTileBagAdapter(options),
};

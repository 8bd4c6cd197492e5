/**
 * One reader over the slide files pathology datasets ship: pyramidal TIFF
 * (Camelyon `.tif`, Aperio `.svs`, through the lazy tile reader in
 * `plugins/formats/tiff/slide.ts`) and single very large baseline JPEG files
 * (BCNB, through the streaming decoder in `plugins/formats/jpeg_stream/`).
 * Both give a low-resolution overview (for tissue detection and thumbnails)
 * and tiles in grid order, holding a bounded number of decoded pixels: a
 * TIFF decodes one file tile at a time, a JPEG one band of MCU rows.
 *
 * @example
 * ```ts ignore
 * import { openWsi } from "./reader.ts";
 * const wsi = await openWsi("CAMELYON16/training/tumor/tumor_001.tif");
 * const { image, downsample } = await wsi.readOverview(32);
 * for await (const tile of wsi.readTiles(grid)) console.log(tile.index);
 * wsi.close();
 * ```
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { openSlide, type Slide } from "../../formats/tiff/slide.ts";
import { decodeJpegBytes, type JpegStream, openJpegStream } from "../../formats/jpeg_stream/mod.ts";
import type { RgbImage } from "./tissue.ts";
import type { TileGrid } from "./tiling.ts";

/** A decoded tile. */
export interface DecodedTile {
  /** Index in the grid. */
  readonly index: number;
  /** `tileSize * tileSize * 3` RGB samples. */
  readonly rgb: Uint8Array;
}

/** An open slide of any supported format. */
export interface WsiReader {
  /** The file path. */
  readonly path: string;
  /** `"tiff"` or `"jpeg"`. */
  readonly format: "tiff" | "jpeg";
  /** Level-0 width. */
  readonly width: number;
  /** Level-0 height. */
  readonly height: number;
  /** Level-0 µm per pixel, when the file says. */
  readonly mpp: number | undefined;
  /** Level downsamples (level 0 first). */
  readonly levels: readonly { readonly downsample: number }[];
  /**
   * An RGB overview at about `targetDownsample` (never finer than the
   * coarsest level that is at most that downsample), with the downsample
   * it actually has.
   */
  readOverview(targetDownsample: number): Promise<{ image: RgbImage; downsample: number }>;
  /**
   * Decodes the tiles of a grid in grid order (`indices`: a subset, in
   * increasing order), `tileSize`² RGB each. Errors name the tile.
   */
  readTiles(grid: TileGrid, indices?: readonly number[]): AsyncGenerator<DecodedTile>;
  /** Closes the file. */
  close(): void;
}

/** Box-averages RGB rows into an accumulator at an integer factor. */
export class BoxDownsampler {
  /** Output width. */
  readonly width: number;
  /** Output height. */
  readonly height: number;
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;
  readonly #srcWidth: number;
  readonly #factor: number;
  /** A downsampler of a `srcWidth` × `srcHeight` RGB image by `factor`. */
  constructor(srcWidth: number, srcHeight: number, factor: number) {
    this.#srcWidth = srcWidth;
    this.#factor = factor;
    this.width = Math.max(1, Math.ceil(srcWidth / factor));
    this.height = Math.max(1, Math.ceil(srcHeight / factor));
    this.#sums = new Float64Array(this.width * this.height * 3);
    this.#counts = new Float64Array(this.width * this.height);
  }
  /** Adds source rows `y0..` (RGB, `srcWidth` wide, `stride` channels per pixel). */
  addRows(y0: number, rows: number, data: Uint8Array, channels = 3): void {
    const f = this.#factor;
    for (let r = 0; r < rows; r++) {
      const oy = Math.floor((y0 + r) / f);
      if (oy >= this.height) break;
      const src = r * this.#srcWidth * channels;
      for (let x = 0; x < this.#srcWidth; x++) {
        const o = oy * this.width + Math.floor(x / f);
        const s = src + x * channels;
        this.#sums[o * 3] += data[s];
        this.#sums[o * 3 + 1] += data[s + (channels >= 3 ? 1 : 0)];
        this.#sums[o * 3 + 2] += data[s + (channels >= 3 ? 2 : 0)];
        this.#counts[o]++;
      }
    }
  }
  /** The averaged image (pixels never written are white). */
  result(): RgbImage {
    const out = new Uint8Array(this.width * this.height * 3);
    for (let i = 0; i < this.#counts.length; i++) {
      const n = this.#counts[i];
      for (let c = 0; c < 3; c++) {
        out[i * 3 + c] = n > 0 ? Math.round(this.#sums[i * 3 + c] / n) : 255;
      }
    }
    return { data: out, width: this.width, height: this.height };
  }
}

/** Resizes a square RGB tile with box averaging (down) or nearest neighbour (up). */
export function resizeTile(src: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return src;
  const out = new Uint8Array(to * to * 3);
  const scale = from / to;
  for (let y = 0; y < to; y++) {
    const sy0 = Math.floor(y * scale);
    const sy1 = Math.max(sy0 + 1, Math.min(from, Math.floor((y + 1) * scale)));
    for (let x = 0; x < to; x++) {
      const sx0 = Math.floor(x * scale);
      const sx1 = Math.max(sx0 + 1, Math.min(from, Math.floor((x + 1) * scale)));
      let r = 0, g = 0, b = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const s = (sy * from + sx) * 3;
          r += src[s];
          g += src[s + 1];
          b += src[s + 2];
        }
      }
      const n = (sy1 - sy0) * (sx1 - sx0);
      const o = (y * to + x) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return out;
}

function tiffReader(path: string, slide: Slide): WsiReader {
  const l0 = slide.levels[0];
  return {
    path,
    format: "tiff",
    width: l0.width,
    height: l0.height,
    mpp: slide.mppX ?? slide.mppY,
    levels: slide.levels.map((l) => ({ downsample: l.downsample })),
    async readOverview(target: number) {
      let li = 0;
      slide.levels.forEach((l, i) => {
        if (l.downsample <= target * 1.01 && l.downsample > slide.levels[li].downsample) li = i;
      });
      const lv = slide.levels[li];
      const factor = Math.max(1, Math.round(target / lv.downsample));
      const box = new BoxDownsampler(lv.width, lv.height, factor);
      // One band of file tiles at a time.
      for (let y = 0; y < lv.height; y += lv.tileHeight) {
        const rows = Math.min(lv.tileHeight, lv.height - y);
        const band = await slide.readRegion({ level: li, x: 0, y, width: lv.width, height: rows });
        box.addRows(y, rows, band.data);
      }
      return { image: box.result(), downsample: lv.downsample * factor };
    },
    async *readTiles(grid: TileGrid, indices?: readonly number[]) {
      const lv = slide.levels[grid.level];
      const list = indices ?? Array.from({ length: grid.count }, (_, i) => i);
      // Grid tiles rarely align with file tiles: keep the decoded file tiles
      // of about two rows of grid tiles (least recently used out), so each
      // file tile is decoded about once.
      // Capped at 384 file tiles (~75 MiB of 256 px tiles) whatever the slide's width.
      const limit = Math.min(
        384,
        Math.max(16, 2 * (lv.tilesAcross + 1) * Math.ceil(grid.readSize / lv.tileHeight + 1)),
      );
      const cache = new Map<number, Uint8Array>();
      const fileTile = async (col: number, row: number): Promise<Uint8Array> => {
        const key = row * lv.tilesAcross + col;
        let t = cache.get(key);
        if (t) {
          cache.delete(key);
        } else {
          t = await slide.readTile(grid.level, col, row);
          if (cache.size >= limit) cache.delete(cache.keys().next().value!);
        }
        cache.set(key, t);
        return t;
      };
      const side = Math.min(grid.readSize, lv.width, lv.height);
      const tw = lv.tileWidth, th = lv.tileHeight;
      for (const i of list) {
        const x = Math.max(0, Math.min(lv.width - side, Math.round(grid.x[i] / lv.downsample)));
        const y = Math.max(0, Math.min(lv.height - side, Math.round(grid.y[i] / lv.downsample)));
        const out = new Uint8Array(side * side * 3);
        try {
          for (let row = Math.floor(y / th); row <= Math.floor((y + side - 1) / th); row++) {
            for (let col = Math.floor(x / tw); col <= Math.floor((x + side - 1) / tw); col++) {
              const tile = await fileTile(col, row);
              const x0 = Math.max(x, col * tw), x1 = Math.min(x + side, (col + 1) * tw);
              const y0 = Math.max(y, row * th), y1 = Math.min(y + side, (row + 1) * th);
              for (let yy = y0; yy < y1; yy++) {
                const src = ((yy - row * th) * tw + (x0 - col * tw)) * 3;
                out.set(tile.subarray(src, src + (x1 - x0) * 3), ((yy - y) * side + (x0 - x)) * 3);
              }
            }
          }
        } catch (cause) {
          if (cause instanceof FormatError) {
            throw new FormatError(
              `Cannot read tile ${i} at level-0 (${grid.x[i]}, ${grid.y[i]}): ${cause.message}`,
              { path, cause },
            );
          }
          throw cause;
        }
        yield { index: i, rgb: resizeTile(out, side, grid.tileSize) };
      }
    },
    close: () => slide.close(),
  };
}

/**
 * Opens a slide by extension: `.tif`, `.tiff`, `.svs` (pyramidal TIFF) or
 * `.jpg`/`.jpeg` (one large baseline JPEG, streamed; `mpp` gives its
 * resolution, else a microscope-scale JFIF density, else none). Throws {@linkcode FormatError}
 * for unreadable files and `TypeError` for other extensions.
 */
export async function openWsi(path: string, options: { mpp?: number } = {}): Promise<WsiReader> {
  const lower = path.toLowerCase();
  if (/\.(tiff?|svs)$/.test(lower)) {
    // JPEG tiles through the streaming decoder: same samples, 2-5x faster.
    return tiffReader(
      path,
      await openSlide(path, {
        decodeJpeg: (bytes, p, o) => {
          const d = decodeJpegBytes(bytes, p, { colorTransform: o.colorTransform });
          return { info: { width: d.width, height: d.height }, data: d.data, channels: d.channels };
        },
      }),
    );
  }
  if (/\.jpe?g$/.test(lower)) {
    const jpeg = await openJpegStream(path);
    return jpegReader(path, jpeg, options.mpp ?? jpeg.mpp);
  }
  throw new TypeError(
    `Cannot open slide "${path}" as its extension must be .tif, .tiff, .svs, .jpg or .jpeg`,
  );
}

function jpegReader(
  path: string,
  jpeg: JpegStream,
  mpp: number | undefined,
): WsiReader {
  return {
    path,
    format: "jpeg",
    width: jpeg.width,
    height: jpeg.height,
    mpp,
    levels: [{ downsample: 1 }],
    async readOverview(target: number) {
      const factor = Math.max(1, Math.round(target));
      const box = new BoxDownsampler(jpeg.width, jpeg.height, factor);
      for await (const band of jpeg.bands()) {
        box.addRows(band.y, band.height, band.data, band.channels);
      }
      return { image: box.result(), downsample: factor };
    },
    async *readTiles(grid: TileGrid, indices?: readonly number[]) {
      // Tiles in grid order are row-major: assemble each grid row from bands.
      const list = indices ?? Array.from({ length: grid.count }, (_, i) => i);
      const side = grid.level0Size;
      let k = 0;
      let rowY = -1;
      let rowBuf: Uint8Array | undefined;
      let filled = 0;
      const width = jpeg.width;
      // Only MCU rows and columns under a kept tile (±1 for chroma context) get an IDCT.
      const rows = new Uint8Array(jpeg.mcuRows);
      const columns = new Uint8Array(jpeg.mcuColumns);
      for (const i of list) {
        const r0 = Math.max(0, Math.floor(grid.y[i] / jpeg.mcuHeight) - 1);
        const r1 = Math.min(
          jpeg.mcuRows - 1,
          Math.floor((grid.y[i] + side - 1) / jpeg.mcuHeight) + 1,
        );
        for (let r = r0; r <= r1; r++) rows[r] = 1;
        const c0 = Math.max(0, Math.floor(grid.x[i] / jpeg.mcuWidth) - 1);
        const c1 = Math.min(
          jpeg.mcuColumns - 1,
          Math.floor((grid.x[i] + side - 1) / jpeg.mcuWidth) + 1,
        );
        for (let c = c0; c <= c1; c++) columns[c] = 1;
      }
      for await (const band of jpeg.bands({ rows, columns })) {
        while (k < list.length) {
          const ty = grid.y[list[k]];
          if (rowY !== ty) {
            rowY = ty;
            rowBuf = new Uint8Array(width * side * 3);
            filled = 0;
          }
          // Copy the band's rows that fall in [rowY, rowY + side).
          const from = Math.max(band.y, rowY + filled);
          const to = Math.min(band.y + band.height, rowY + side);
          for (let y = from; y < to; y++) {
            const src = (y - band.y) * width * band.channels;
            const dst = (y - rowY) * width * 3;
            if (band.channels === 3) {
              rowBuf!.set(band.data.subarray(src, src + width * 3), dst);
            } else {
              for (let x = 0; x < width; x++) {
                const v = band.data[src + x * band.channels];
                rowBuf![dst + x * 3] = v;
                rowBuf![dst + x * 3 + 1] = v;
                rowBuf![dst + x * 3 + 2] = v;
              }
            }
          }
          if (to > from) filled = to - rowY;
          if (filled < side) break; // need the next band
          while (k < list.length && grid.y[list[k]] === rowY) {
            const i = list[k++];
            const tile = new Uint8Array(side * side * 3);
            for (let y = 0; y < side; y++) {
              const s = (y * width + grid.x[i]) * 3;
              tile.set(rowBuf!.subarray(s, s + side * 3), y * side * 3);
            }
            yield { index: i, rgb: resizeTile(tile, side, grid.tileSize) };
          }
          rowBuf = undefined;
        }
        if (k >= list.length) break;
      }
      if (k < list.length) {
        throw new FormatError(
          `Cannot read tile ${list[k]} as the JPEG data ended before row ${grid.y[list[k]] + side}`,
          { path },
        );
      }
    },
    close: () => jpeg.close(),
  };
}

/**
 * Whole-slide images stored as tiled pyramidal TIFF (generic pyramids as
 * in CAMELYON/TCGA conversions, and Aperio SVS): the resolution levels with
 * their downsample and microns per pixel, associated images (thumbnail,
 * label, macro) kept apart from the levels, and lazy region reads at any
 * level that fetch and decode only the tiles the region touches, one at a
 * time — a level is never decoded whole.
 *
 * Tiles may be JPEG (with or without shared JPEGTables; YCbCr or RGB
 * photometric), Deflate or uncompressed 8-bit RGB.
 *
 * {@linkcode openSlide} keeps a file handle open (`Deno.open`, read
 * permission) until {@linkcode Slide.close}; {@linkcode openSlideBytes}
 * works on bytes.
 *
 * @module
 */

import { inflateSync } from "node:zlib";
import { FormatError } from "../../../core/errors.ts";
import type { Image2D } from "../../../core/plugin.ts";
import { type ByteSource, createBytesSource, getErrorText, openFileSource } from "../_io.ts";
import { decodeJpeg } from "../_jpeg.ts";
import {
  COMPRESSION_NAMES,
  getTagBytes,
  getTagNumber,
  getTagNumbers,
  getTagString,
  getTiffBlocks,
  readTiffStructure,
  TAG,
  type TiffBlocks,
  type TiffFile,
  type TiffIfd,
} from "./ifd.ts";

/** Tile compressions the slide reader decodes. */
export const SLIDE_COMPRESSIONS: readonly number[] = [1, 7, 8, 32946];

/** One resolution level of a slide. */
export interface SlideLevel {
  /** Level index, 0 = full resolution. */
  readonly index: number;
  /** The TIFF IFD holding the level. */
  readonly ifd: number;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Level-0 pixels per level pixel (mean of the x and y ratios, as OpenSlide reports). */
  readonly downsample: number;
  /** Tile width and height in pixels. */
  readonly tileWidth: number;
  /** Tile height in pixels. */
  readonly tileHeight: number;
  /** Tiles across. */
  readonly tilesAcross: number;
  /** Tiles down. */
  readonly tilesDown: number;
  /** Microns per pixel along x at this level, when the file says. */
  readonly mppX: number | undefined;
  /** Microns per pixel along y at this level, when the file says. */
  readonly mppY: number | undefined;
  /** TIFF compression code of the tiles. */
  readonly compression: number;
}

/** A page of the file that is not a pyramid level. */
export interface SlideAssociatedImage {
  /** `"thumbnail"`, `"label"` or `"macro"` (from ImageDescription or position). */
  readonly name: string;
  /** The TIFF IFD. */
  readonly ifd: number;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** A region request at one level, in that level's pixel coordinates. */
export interface SlideRegion {
  /** Level index. @default {0} */
  level?: number;
  /** Left column in level pixels. */
  x: number;
  /** Top row in level pixels. */
  y: number;
  /** Width in pixels (≥ 1). */
  width: number;
  /** Height in pixels (≥ 1). */
  height: number;
}

/** An open whole-slide image. */
export interface Slide {
  /** The file path or source name. */
  readonly path: string;
  /** The levels, largest first. */
  readonly levels: readonly SlideLevel[];
  /** Thumbnail, label and macro pages (never returned as levels). */
  readonly associated: readonly SlideAssociatedImage[];
  /** Microns per pixel at level 0 along x, when known. */
  readonly mppX: number | undefined;
  /** Microns per pixel at level 0 along y, when known. */
  readonly mppY: number | undefined;
  /** ImageDescription of level 0 ("" when absent). */
  readonly description: string;
  /** Tiles decoded so far (each region read adds the tiles it touched). */
  readonly tilesDecoded: number;
  /**
   * Reads a region as RGB uint8 (`Image2D`, 3 channels), decoding only the
   * tiles it overlaps. Throws `RangeError` when the region leaves the
   * level, {@linkcode FormatError} when a tile cannot be decoded.
   */
  readRegion(region: SlideRegion): Promise<Image2D & { readonly data: Uint8Array }>;
  /** Reads and decodes one tile (full tile size, edge tiles include padding). */
  readTile(level: number, column: number, row: number): Promise<Uint8Array>;
  /** Closes the file handle. */
  close(): void;
}

interface LevelState {
  level: SlideLevel;
  ifd: TiffIfd;
  blocks: TiffBlocks;
  jpegTables: Uint8Array | undefined;
  photometric: number;
  samplesPerPixel: number;
  predictor: number;
}

function parseAperioMpp(description: string): number | undefined {
  const m = /\|\s*MPP\s*=\s*([0-9.eE+-]+)/.exec(description);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v > 0 ? v : undefined;
}

function resolutionMpp(ifd: TiffIfd, tag: number): number | undefined {
  const unit = getTagNumber(ifd, TAG.ResolutionUnit, 2);
  const res = getTagNumber(ifd, tag);
  if (!res || !(res > 0) || !Number.isFinite(res)) return undefined;
  if (unit === 3) return 10000 / res;
  if (unit === 2) return 25400 / res;
  return undefined;
}

function associatedName(ifd: TiffIfd, position: number): string {
  const d = getTagString(ifd, TAG.ImageDescription).toLowerCase();
  if (d.includes("label")) return "label";
  if (d.includes("macro")) return "macro";
  if (d.includes("thumbnail")) return "thumbnail";
  const subfile = getTagNumber(ifd, TAG.NewSubfileType, 0);
  if (subfile === 9) return "macro";
  return position === 1 ? "thumbnail" : "label";
}

function describeSlide(
  file: TiffFile,
): { levels: LevelState[]; associated: SlideAssociatedImage[] } {
  const path = file.path;
  const tiled = file.ifds.filter((ifd) => ifd.tags.has(TAG.TileWidth));
  const named = (ifd: TiffIfd) => /label|macro/i.test(getTagString(ifd, TAG.ImageDescription));
  const candidates = tiled.filter((ifd) =>
    !named(ifd) && (getTagNumber(ifd, TAG.NewSubfileType, 0) & 4) === 0
  );
  if (candidates.length === 0) {
    throw new FormatError(
      "Cannot open slide as the TIFF has no tiled image (whole-slide levels must be tiled)",
      { path },
    );
  }
  const size = (ifd: TiffIfd) =>
    getTagNumber(ifd, TAG.ImageWidth, 0) * getTagNumber(ifd, TAG.ImageLength, 0);
  const base = candidates.reduce((a, b) => (size(b) > size(a) ? b : a));
  const w0 = getTagNumber(base, TAG.ImageWidth, 0);
  const h0 = getTagNumber(base, TAG.ImageLength, 0);
  const levelIfds = candidates.filter((ifd) => {
    const w = getTagNumber(ifd, TAG.ImageWidth, 0);
    const h = getTagNumber(ifd, TAG.ImageLength, 0);
    if (w < 1 || h < 1 || w > w0 || h > h0) return false;
    // a level's sides are level 0's divided by one factor (rounded either way)
    const d = w0 / w;
    return ifd === base || (Math.abs(h * d - h0) <= d + 1 && Math.abs(h0 / h - d) / d < 0.05);
  }).sort((a, b) => size(b) - size(a));
  const description = getTagString(base, TAG.ImageDescription);
  const aperio = parseAperioMpp(description);
  const mpp0x = aperio ?? resolutionMpp(base, TAG.XResolution);
  const mpp0y = aperio ?? resolutionMpp(base, TAG.YResolution) ?? mpp0x;
  const levels: LevelState[] = levelIfds.map((ifd, index) => {
    const what = `slide level ${index} (TIFF page ${ifd.index})`;
    const compression = getTagNumber(ifd, TAG.Compression, 1);
    if (!SLIDE_COMPRESSIONS.includes(compression)) {
      throw new FormatError(
        `Cannot open ${what} as tile compression ${compression} (${
          COMPRESSION_NAMES[compression] ?? "unknown"
        }) is unsupported: supported are JPEG, Deflate and none`,
        { path, offset: ifd.offset },
      );
    }
    const bits = getTagNumbers(ifd, TAG.BitsPerSample);
    const spp = getTagNumber(ifd, TAG.SamplesPerPixel, 1);
    if (bits.some((b) => b !== 8) || (spp !== 3 && spp !== 4 && spp !== 1)) {
      throw new FormatError(
        `Cannot open ${what} as tiles must hold 8-bit grey, RGB or RGBA samples: current BitsPerSample is [${
          bits.join(", ")
        }] with ${spp} samples`,
        { path, offset: ifd.offset },
      );
    }
    if (getTagNumber(ifd, TAG.PlanarConfiguration, 1) === 2 && spp > 1) {
      throw new FormatError(`Cannot open ${what} as planar (separate) tiles are unsupported`, {
        path,
        offset: ifd.offset,
      });
    }
    const photometric = getTagNumber(ifd, TAG.Photometric, spp === 1 ? 1 : 2);
    if (compression !== 7 && photometric === 6) {
      throw new FormatError(`Cannot open ${what} as YCbCr is only supported inside JPEG tiles`, {
        path,
        offset: ifd.offset,
      });
    }
    const blocks = getTiffBlocks(file, ifd, what);
    const width = getTagNumber(ifd, TAG.ImageWidth, 0);
    const height = getTagNumber(ifd, TAG.ImageLength, 0);
    const downsample = (w0 / width + h0 / height) / 2;
    const ownX = resolutionMpp(ifd, TAG.XResolution);
    const ownY = resolutionMpp(ifd, TAG.YResolution);
    return {
      ifd,
      blocks,
      jpegTables: getTagBytes(ifd, TAG.JPEGTables),
      photometric,
      samplesPerPixel: spp,
      predictor: getTagNumber(ifd, TAG.Predictor, 1),
      level: {
        index,
        ifd: ifd.index,
        width,
        height,
        downsample,
        tileWidth: blocks.blockWidth,
        tileHeight: blocks.blockHeight,
        tilesAcross: blocks.across,
        tilesDown: blocks.down,
        mppX: aperio !== undefined || ownX === undefined
          ? (mpp0x === undefined ? undefined : mpp0x * (w0 / width))
          : ownX,
        mppY: aperio !== undefined || ownY === undefined
          ? (mpp0y === undefined ? undefined : mpp0y * (h0 / height))
          : ownY,
        compression,
      },
    };
  });
  const levelSet = new Set(levelIfds);
  const associated = file.ifds.filter((ifd) => !levelSet.has(ifd)).map((ifd) => ({
    name: associatedName(ifd, ifd.index),
    ifd: ifd.index,
    width: getTagNumber(ifd, TAG.ImageWidth, 0),
    height: getTagNumber(ifd, TAG.ImageLength, 0),
  }));
  return { levels, associated };
}

function spliceJpeg(tables: Uint8Array | undefined, tile: Uint8Array): Uint8Array {
  if (!tables || tables.length < 4) return tile;
  // tables: SOI ... EOI; tile: SOI ... EOI → SOI + tables + tile body
  const head = tables[tables.length - 2] === 0xff && tables[tables.length - 1] === 0xd9
    ? tables.subarray(0, tables.length - 2)
    : tables;
  const body = tile[0] === 0xff && tile[1] === 0xd8 ? tile.subarray(2) : tile;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * A JPEG tile decoder with `decodeJpeg`'s contract (see {@linkcode SlideOptions}):
 * `colorTransform` true for YCbCr tiles, false for RGB ones; grey kept as 1 channel.
 */
export type SlideJpegDecoder = (
  bytes: Uint8Array,
  path: string,
  options: { what: string; colorTransform?: boolean },
) => { info: { width: number; height: number }; data: Uint8Array; channels: number };

/** Options of {@linkcode openSlide}. */
export interface SlideOptions {
  /** Decodes JPEG tiles instead of the built-in decoder (e.g. the streaming one, faster). */
  decodeJpeg?: SlideJpegDecoder;
}

async function decodeTile(
  source: ByteSource,
  state: LevelState,
  index: number,
  jpegDecoder?: SlideJpegDecoder,
): Promise<Uint8Array> {
  const path = source.path;
  const { blocks, level } = state;
  const tw = blocks.blockWidth;
  const th = blocks.blockHeight;
  const out = new Uint8Array(tw * th * 3);
  const count = blocks.byteCounts[index];
  const what = `tile ${index} of slide level ${level.index}`;
  if (count === 0) {
    out.fill(255); // a sparse (absent) tile is background
    return out;
  }
  const raw = await source.read(blocks.offsets[index], count);
  const spp = state.samplesPerPixel;
  if (level.compression === 7) {
    const decoded = (jpegDecoder ?? decodeJpeg)(spliceJpeg(state.jpegTables, raw), path, {
      what: `JPEG ${what}`,
      colorTransform: state.photometric === 6 ? true : state.photometric === 2 ? false : undefined,
      keepGrey: true,
    });
    if (
      decoded.info.width < Math.min(tw, level.width) ||
      decoded.info.height < Math.min(th, level.height)
    ) {
      throw new FormatError(
        `Cannot decode ${what} as it is ${decoded.info.width}x${decoded.info.height}: tiles are ${tw}x${th}`,
        { path, offset: blocks.offsets[index] },
      );
    }
    const dw = decoded.info.width;
    const rows = Math.min(th, decoded.info.height);
    const cols = Math.min(tw, dw);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const s = (y * dw + x) * decoded.channels;
        const o = (y * tw + x) * 3;
        out[o] = decoded.data[s];
        out[o + 1] = decoded.data[s + (decoded.channels === 3 ? 1 : 0)];
        out[o + 2] = decoded.data[s + (decoded.channels === 3 ? 2 : 0)];
      }
    }
    return out;
  }
  let samples: Uint8Array;
  if (level.compression === 8 || level.compression === 32946) {
    try {
      samples = new Uint8Array(inflateSync(raw, { maxOutputLength: Math.max(1, tw * th * spp) }));
    } catch (cause) {
      if ((cause as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") {
        throw new FormatError(
          `Cannot decode Deflate ${what} as its output must be at most ${
            tw * th * spp
          } bytes (TileWidth x TileLength x SamplesPerPixel): the data inflates to more`,
          { path, offset: blocks.offsets[index], cause },
        );
      }
      throw new FormatError(`Cannot decode Deflate ${what}: ${getErrorText(cause)}`, {
        path,
        offset: blocks.offsets[index],
        cause,
      });
    }
  } else {
    samples = raw;
  }
  if (samples.length < tw * th * spp) {
    throw new FormatError(
      `Cannot decode ${what} as it holds ${samples.length} bytes: a ${tw}x${th} tile of ${spp} samples needs ${
        tw * th * spp
      }`,
      { path, offset: blocks.offsets[index] },
    );
  }
  if (state.predictor === 2) {
    samples = samples.slice();
    for (let y = 0; y < th; y++) {
      for (let x = 1; x < tw; x++) {
        for (let c = 0; c < spp; c++) {
          const i = (y * tw + x) * spp + c;
          samples[i] = (samples[i] + samples[i - spp]) & 255;
        }
      }
    }
  }
  for (let p = 0; p < tw * th; p++) {
    const s = p * spp;
    out[p * 3] = samples[s];
    out[p * 3 + 1] = samples[s + (spp === 1 ? 0 : 1)];
    out[p * 3 + 2] = samples[s + (spp === 1 ? 0 : 2)];
  }
  return out;
}

function createSlide(source: ByteSource, file: TiffFile, options: SlideOptions = {}): Slide {
  const { levels, associated } = describeSlide(file);
  const base = levels[0];
  const description = getTagString(base.ifd, TAG.ImageDescription);
  let tilesDecoded = 0;
  const slide: Slide = {
    path: source.path,
    levels: levels.map((l) => l.level),
    associated,
    mppX: base.level.mppX,
    mppY: base.level.mppY,
    description,
    get tilesDecoded(): number {
      return tilesDecoded;
    },
    async readTile(level: number, column: number, row: number): Promise<Uint8Array> {
      const state = levels[level];
      if (!state) {
        throw new RangeError(
          `Cannot read a tile of level ${level} as the slide has ${levels.length} levels`,
        );
      }
      const { across, down } = state.blocks;
      if (
        !Number.isInteger(column) || !Number.isInteger(row) || column < 0 || row < 0 ||
        column >= across || row >= down
      ) {
        throw new RangeError(
          `Cannot read tile [${column}, ${row}] of level ${level} as the level has ${across}x${down} tiles`,
        );
      }
      tilesDecoded++;
      return await decodeTile(source, state, row * across + column, options.decodeJpeg);
    },
    async readRegion(region: SlideRegion): Promise<Image2D & { readonly data: Uint8Array }> {
      const li = region.level ?? 0;
      const state = levels[li];
      if (!state) {
        throw new RangeError(`Cannot read level ${li} as the slide has ${levels.length} levels`);
      }
      const { x, y, width, height } = region;
      const lv = state.level;
      if (
        ![x, y, width, height].every(Number.isInteger) || width < 1 || height < 1 || x < 0 ||
        y < 0 ||
        x + width > lv.width || y + height > lv.height
      ) {
        throw new RangeError(
          `Cannot read region x=${x} y=${y} ${width}x${height} as it must lie inside level ${li} (${lv.width}x${lv.height})`,
        );
      }
      const out = new Uint8Array(width * height * 3);
      const tw = lv.tileWidth;
      const th = lv.tileHeight;
      for (let row = Math.floor(y / th); row <= Math.floor((y + height - 1) / th); row++) {
        for (let col = Math.floor(x / tw); col <= Math.floor((x + width - 1) / tw); col++) {
          const tile = await slide.readTile(li, col, row);
          const x0 = Math.max(x, col * tw);
          const x1 = Math.min(x + width, (col + 1) * tw);
          const y0 = Math.max(y, row * th);
          const y1 = Math.min(y + height, (row + 1) * th);
          for (let yy = y0; yy < y1; yy++) {
            const src = ((yy - row * th) * tw + (x0 - col * tw)) * 3;
            const dst = ((yy - y) * width + (x0 - x)) * 3;
            out.set(tile.subarray(src, src + (x1 - x0) * 3), dst);
          }
        }
      }
      return { kind: "image", data: out, width, height, channels: 3, intensity: "dtype" };
    },
    close(): void {
      source.close();
    },
  };
  return slide;
}

/**
 * Opens a whole-slide TIFF from disk: reads the IFDs and tile tables only
 * (pixels are read per region). Throws {@linkcode FormatError} for a wrong
 * magic, a tile offset past the end of the file, or an unsupported tile
 * compression (e.g. Aperio JPEG 2000). Uses `Deno.open`; call `close()`.
 *
 * @example Reading a 512×512 region at level 1
 * ```ts ignore
 * import { openSlide } from "./slide.ts";
 * const slide = await openSlide("wsi_pyramid_jpeg.tif");
 * console.log(slide.levels.map((l) => l.downsample), slide.mppX); // [1, 4, 16] 0.5
 * const tile = await slide.readRegion({ level: 1, x: 0, y: 0, width: 512, height: 256 });
 * slide.close();
 * ```
 */
export async function openSlide(path: string, options: SlideOptions = {}): Promise<Slide> {
  const source = await openFileSource(path);
  try {
    return createSlide(source, await readTiffStructure(source), options);
  } catch (error) {
    source.close();
    throw error;
  }
}

/**
 * Opens a whole-slide TIFF held in memory (see {@linkcode openSlide}).
 */
export async function openSlideBytes(bytes: Uint8Array, path: string): Promise<Slide> {
  const source = createBytesSource(bytes, path);
  return createSlide(source, await readTiffStructure(source));
}

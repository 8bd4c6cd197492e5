/**
 * Synthetic H&E-like slides: a near-white glass background, one or more
 * pink tissue sections (eosin) with purple nuclei (haematoxylin) and, on
 * "tumour" slides, a dense region of large dark nuclei inside the tissue —
 * the signal a slide-level MIL model must find. Written as pyramidal JPEG
 * TIFFs (levels 1, 4, 16) with an Aperio-style `MPP = ...` description.
 *
 * @module
 */

import { createMulberry32 } from "../../../core/random.ts";
import { writePyramidTiff } from "../../formats/tiff/writer.ts";

/** Settings of {@linkcode renderSyntheticSlide}. */
export interface SyntheticSlideOptions {
  /** Level-0 width. @default {2048} */
  width?: number;
  /** Level-0 height. @default {1536} */
  height?: number;
  /** Seed of every random choice. */
  seed: number;
  /** Draw a tumour region. */
  tumour: boolean;
  /** Draw tissue at all (false: blank glass, a "no tissue" slide). @default {true} */
  tissue?: boolean;
  /** Level-0 µm/px written in the file (coarse, so small synthetic sections pass CLAM's area filter). @default {4} */
  mpp?: number;
}

interface Disc {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

function inside(d: Disc, x: number, y: number): boolean {
  return ((x - d.cx) / d.rx) ** 2 + ((y - d.cy) / d.ry) ** 2 <= 1;
}

/** Renders a synthetic slide as RGB pixels (see the module documentation). */
export function renderSyntheticSlide(
  options: SyntheticSlideOptions,
): {
  data: Uint8Array;
  width: number;
  height: number;
  tumourBox?: [number, number, number, number];
} {
  const width = options.width ?? 2048;
  const height = options.height ?? 1536;
  const rng = createMulberry32(options.seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const n = (rng() - 0.5) * 6;
    data[i * 3] = 242 + n;
    data[i * 3 + 1] = 240 + n;
    data[i * 3 + 2] = 244 + n;
  }
  if (options.tissue === false) return { data, width, height };
  const sections: Disc[] = [];
  const count = 1 + Math.floor(rng() * 2);
  for (let s = 0; s < count; s++) {
    const rx = Math.min(width, height) * (0.28 + rng() * 0.06);
    const ry = rx * (0.8 + rng() * 0.3);
    const cx = count === 1 ? width / 2 : width * (s === 0 ? 0.3 : 0.7);
    const cy = height / 2 + (rng() - 0.5) * height * 0.1;
    sections.push({
      cx,
      cy,
      rx: Math.min(rx, width / (2 * count) - 8),
      ry: Math.min(ry, height / 2 - 8),
    });
  }
  let tumour: Disc | undefined;
  if (options.tumour) {
    const host = sections[0];
    const r = Math.min(host.rx, host.ry) * 0.45;
    tumour = {
      cx: host.cx + (rng() - 0.5) * (host.rx - r),
      cy: host.cy + (rng() - 0.5) * (host.ry - r),
      rx: r,
      ry: r * (0.8 + rng() * 0.3),
    };
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!sections.some((d) => inside(d, x, y))) continue;
      const o = (y * width + x) * 3;
      const n = (rng() - 0.5) * 20;
      if (tumour && inside(tumour, x, y)) {
        data[o] = 150 + n;
        data[o + 1] = 70 + n;
        data[o + 2] = 160 + n;
      } else {
        data[o] = 232 + n;
        data[o + 1] = 160 + n;
        data[o + 2] = 200 + n;
      }
    }
  }
  // Nuclei: small dark purple dots, larger and denser in the tumour.
  const area = sections.reduce((s, d) => s + Math.PI * d.rx * d.ry, 0);
  const nuclei = Math.round(area / 180);
  for (let k = 0; k < nuclei; k++) {
    const d = sections[Math.floor(rng() * sections.length)];
    const a = rng() * 2 * Math.PI, r = Math.sqrt(rng());
    const cx = d.cx + Math.cos(a) * r * d.rx, cy = d.cy + Math.sin(a) * r * d.ry;
    const inTumour = tumour !== undefined && inside(tumour, cx, cy);
    const rad = inTumour ? 3.5 + rng() * 2 : 1.5 + rng();
    for (let dy = -Math.ceil(rad); dy <= Math.ceil(rad); dy++) {
      for (let dx = -Math.ceil(rad); dx <= Math.ceil(rad); dx++) {
        const x = Math.round(cx + dx), y = Math.round(cy + dy);
        if (x < 0 || y < 0 || x >= width || y >= height || dx * dx + dy * dy > rad * rad) continue;
        const o = (y * width + x) * 3;
        data[o] = inTumour ? 60 : 110;
        data[o + 1] = inTumour ? 20 : 60;
        data[o + 2] = inTumour ? 100 : 150;
      }
    }
  }
  const box: [number, number, number, number] | undefined = tumour
    ? [tumour.cx - tumour.rx, tumour.cy - tumour.ry, tumour.cx + tumour.rx, tumour.cy + tumour.ry]
    : undefined;
  return { data, width, height, ...(box ? { tumourBox: box } : {}) };
}

/** Writes a synthetic slide as a pyramidal JPEG TIFF (levels 1, 4, 16; 256 px tiles). */
export async function writeSyntheticSlide(
  path: string,
  options: SyntheticSlideOptions,
): Promise<void> {
  const mpp = options.mpp ?? 4;
  const image = renderSyntheticSlide(options);
  await writePyramidTiff(path, image, {
    tileSize: 256,
    downsamples: [1, 4, 16],
    quality: 85,
    mpp,
    description: `medprobe synthetic slide ${image.width}x${image.height}|MPP = ${mpp}`,
  });
}

/** Settings of {@linkcode createSlideRowRenderer}. */
export interface SlideRowOptions {
  /** Level-0 width. */
  width: number;
  /** Level-0 height. */
  height: number;
  /** Seed of the layout. */
  seed: number;
  /** Draw a tumour region. */
  tumour: boolean;
}

function hash2(x: number, y: number, seed: number): number {
  let h = (x * 374761393 + y * 668265263 + seed * 2246822519) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/**
 * A synthetic slide of any size rendered row by row (for slides too large
 * to hold, e.g. 50,000 × 40,000): flat glass background (cheap to encode),
 * elliptical tissue sections with hashed texture and nuclei, and on
 * tumour slides a dark purple region. Returns `rows(y0, count, step)`
 * giving `count * ceil(width / step) * 3` RGB samples: rows `y0..` with
 * every `step`-th column (for coarse pyramid levels).
 */
export function createSlideRowRenderer(
  options: SlideRowOptions,
): (y0: number, count: number, step?: number) => Uint8Array {
  const { width, height, seed } = options;
  const rng = createMulberry32(seed);
  const sections: Disc[] = [];
  const count = 1 + Math.floor(rng() * 3);
  for (let s = 0; s < count; s++) {
    const rx = (width / (2 * count)) * (0.6 + rng() * 0.3);
    const ry = (height / 2) * (0.5 + rng() * 0.4);
    sections.push({
      cx: (width / count) * (s + 0.5),
      cy: height / 2 + (rng() - 0.5) * height * 0.1,
      rx,
      ry,
    });
  }
  const host = sections[0];
  const tr = Math.min(host.rx, host.ry) * 0.4;
  const tumour: Disc | undefined = options.tumour
    ? {
      cx: host.cx + (rng() - 0.5) * host.rx * 0.5,
      cy: host.cy + (rng() - 0.5) * host.ry * 0.5,
      rx: tr,
      ry: tr,
    }
    : undefined;
  return (y0: number, n: number, step = 1) => {
    const ow = Math.ceil(width / step);
    const out = new Uint8Array(n * ow * 3);
    for (let i = 0; i < n * ow; i++) {
      out[i * 3] = 242;
      out[i * 3 + 1] = 240;
      out[i * 3 + 2] = 244;
    }
    for (let r = 0; r < n; r++) {
      const y = y0 + r;
      for (const d of sections) {
        const dy = (y - d.cy) / d.ry;
        if (dy * dy > 1) continue;
        const half = d.rx * Math.sqrt(1 - dy * dy);
        const x0 = Math.max(0, Math.ceil((d.cx - half) / step)) * step;
        const x1 = Math.min(width - 1, Math.floor(d.cx + half));
        for (let x = x0; x <= x1; x += step) {
          const o = (r * ow + x / step) * 3;
          const t = hash2(x >> 2, y >> 2, seed);
          const inT = tumour !== undefined && inside(tumour, x, y);
          const nucleus = t < (inT ? 0.25 : 0.06);
          if (nucleus) {
            out[o] = inT ? 60 : 110;
            out[o + 1] = inT ? 20 : 60;
            out[o + 2] = inT ? 100 : 150;
          } else {
            const v = (t - 0.5) * 20;
            out[o] = (inT ? 150 : 232) + v;
            out[o + 1] = (inT ? 70 : 160) + v;
            out[o + 2] = (inT ? 160 : 200) + v;
          }
        }
      }
    }
    return out;
  };
}

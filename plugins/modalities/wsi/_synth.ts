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

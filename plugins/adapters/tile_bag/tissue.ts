// This module is browser compatible.
/**
 * Tissue detection on a low-resolution view of a whole-slide image, as
 * CLAM (`WholeSlideImage.segmentTissue`) does it: RGB → HSV saturation →
 * median blur → threshold (a fixed saturation level, or Otsu's) →
 * morphological closing → removal of small tissue objects and filling of
 * small holes, both by area in µm² (so one setting fits every scanner and
 * every pyramid level).
 *
 * Differences from CLAM, on purpose: areas are pixel counts of 8-connected
 * components (CLAM measures contour polygons), and every hole under the
 * area threshold is filled (CLAM also caps the holes kept per contour).
 *
 * Defaults are CLAM's for H&E (`sthresh` 8, `mthresh` 7, `close` 4) with
 * CLAM's `a_t` = 100 and `a_h` = 16 reference patches (512 px at level 0 of a
 * 0.25 µm/px scan, i.e. 16,384 µm² each) converted to µm²:
 * 1,638,400 µm² for tissue objects and 262,144 µm² for holes.
 *
 * @example A red disc on white is tissue, the white border is not
 * ```ts
 * import { detectTissue } from "./tissue.ts";
 * import assert from "node:assert/strict";
 * const w = 64, h = 64;
 * const rgb = new Uint8Array(w * h * 3).fill(245);
 * for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
 *   if ((x - 32) ** 2 + (y - 32) ** 2 < 400) rgb.set([200, 80, 150], (y * w + x) * 3);
 * }
 * const t = detectTissue({ data: rgb, width: w, height: h }, { mpp: 10, minTissueAreaUm2: 1000 });
 * assert.equal(t.mask[32 * w + 32], 1);
 * assert.equal(t.mask[0], 0);
 * ```
 *
 * @module
 */

/** RGB pixels, 8-bit, row-major, 3 channels interleaved. */
export interface RgbImage {
  /** `width * height * 3` samples. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** Settings of {@linkcode detectTissue}. */
export interface TissueOptions {
  /** `"saturation"`: fixed threshold on HSV saturation (CLAM); `"otsu"`: Otsu's threshold of the blurred saturation. @default {"saturation"} */
  method?: "saturation" | "otsu";
  /** Saturation level (0-255) above which a pixel is tissue, for `"saturation"`. @default {8} */
  saturationThreshold?: number;
  /** Side of the median blur window, odd (1 = none). @default {7} */
  medianKernel?: number;
  /** Side of the square closing element (0 = none). @default {4} */
  closeKernel?: number;
  /** Tissue objects smaller than this many µm² are removed. @default {1638400} */
  minTissueAreaUm2?: number;
  /** Holes smaller than this many µm² are filled. @default {262144} */
  maxHoleAreaUm2?: number;
  /** Microns per pixel of the image given (level 0 µm/px × the view's downsample). */
  mpp: number;
}

/** Default tissue detection settings (CLAM's, areas in µm²). */
export const TISSUE_DEFAULTS: Readonly<Required<Omit<TissueOptions, "mpp">>> = Object.freeze({
  method: "saturation",
  saturationThreshold: 8,
  medianKernel: 7,
  closeKernel: 4,
  minTissueAreaUm2: 1_638_400,
  maxHoleAreaUm2: 262_144,
});

/** The result of {@linkcode detectTissue}. */
export interface TissueMask {
  /** 1 for tissue, 0 for background, `width * height`. */
  readonly mask: Uint8Array;
  /** Width of the mask (the image's). */
  readonly width: number;
  /** Height of the mask. */
  readonly height: number;
  /** The saturation threshold applied (the Otsu level for `"otsu"`). */
  readonly threshold: number;
  /** Tissue pixels after filtering. */
  readonly tissuePixels: number;
  /** Tissue area in µm². */
  readonly tissueAreaUm2: number;
  /** Tissue objects kept. */
  readonly objects: number;
  /** Every setting in effect. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** HSV saturation of every pixel, 0-255 (OpenCV's `COLOR_RGB2HSV` for 8-bit). */
export function saturationOf(image: RgbImage): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const r = d[i * 3], g = d[i * 3 + 1], b = d[i * 3 + 2];
    const max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    const min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    out[i] = max === 0 ? 0 : Math.round((255 * (max - min)) / max);
  }
  return out;
}

/**
 * Median filter of an 8-bit image over a `k`×`k` window, edges replicated
 * (OpenCV `medianBlur`). Huang's running histogram along each row.
 */
export function medianBlur(src: Uint8Array, width: number, height: number, k: number): Uint8Array {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) {
    throw new RangeError(
      `Cannot median-blur as the kernel must be a positive odd integer: current value is ${k}`,
    );
  }
  if (k === 1) return src.slice();
  const r = (k - 1) / 2;
  const out = new Uint8Array(width * height);
  const hist = new Int32Array(256);
  const half = (k * k + 1) / 2; // rank of the median (1-based)
  const at = (x: number, y: number) =>
    src[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
  for (let y = 0; y < height; y++) {
    hist.fill(0);
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) hist[at(dx, y + dy)]++;
    for (let x = 0; x < width; x++) {
      if (x > 0) {
        for (let dy = -r; dy <= r; dy++) {
          hist[at(x - r - 1, y + dy)]--;
          hist[at(x + r, y + dy)]++;
        }
      }
      let sum = 0;
      let v = 0;
      for (; v < 256; v++) {
        sum += hist[v];
        if (sum >= half) break;
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/** Otsu's threshold of an 8-bit image: pixels `> t` are foreground (OpenCV `THRESH_OTSU`). */
export function otsuThreshold(values: Uint8Array): number {
  const hist = new Float64Array(256);
  for (const v of values) hist[v]++;
  const total = values.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) sumAll += i * hist[i];
  let wB = 0, sumB = 0, best = -1, t = 0;
  for (let i = 0; i < 256; i++) {
    wB += hist[i];
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += i * hist[i];
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) {
      best = between;
      t = i;
    }
  }
  return t;
}

function morph(
  src: Uint8Array,
  width: number,
  height: number,
  k: number,
  max: boolean,
): Uint8Array {
  // Separable square min/max; the window is clipped at the border (OpenCV's default border).
  const lo = Math.floor(k / 2);
  const hi = k - 1 - lo;
  const tmp = new Uint8Array(width * height);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = max ? 0 : 1;
      for (let dx = -lo; dx <= hi; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= width) continue;
        const s = src[y * width + xx];
        if (max ? s > v : s < v) v = s;
      }
      tmp[y * width + x] = v;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = max ? 0 : 1;
      for (let dy = -lo; dy <= hi; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        const s = tmp[yy * width + x];
        if (max ? s > v : s < v) v = s;
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/** Morphological closing (dilate then erode) of a 0/1 mask with a `k`×`k` square. */
export function closeMask(mask: Uint8Array, width: number, height: number, k: number): Uint8Array {
  if (k <= 1) return mask.slice();
  return morph(morph(mask, width, height, k, true), width, height, k, false);
}

/**
 * Labels the connected components of pixels equal to `value` (8-connected
 * for 1, 4-connected for 0, the usual dual pair). Returns the label image
 * (0 = other value, components from 1) and each component's size and
 * whether it touches the border.
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
  value: 0 | 1,
): { labels: Int32Array; sizes: number[]; border: boolean[] } {
  const labels = new Int32Array(width * height);
  const sizes = [0];
  const border = [false];
  const stack: number[] = [];
  const eight = value === 1;
  let next = 1;
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== value || labels[start] !== 0) continue;
    const id = next++;
    let size = 0;
    let touches = false;
    labels[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      const x = p % width;
      const y = (p - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) touches = true;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          if (!eight && dx !== 0 && dy !== 0) continue;
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] === value && labels[q] === 0) {
            labels[q] = id;
            stack.push(q);
          }
        }
      }
    }
    sizes.push(size);
    border.push(touches);
  }
  return { labels, sizes, border };
}

function checkOption(name: string, value: number, ok: boolean, want: string): void {
  if (!ok) {
    throw new RangeError(
      `Cannot detect tissue as ${name} must be ${want}: current value is ${value}`,
    );
  }
}

/**
 * Detects tissue in a low-resolution RGB view of a slide (see the module
 * documentation for the steps). `options.mpp` is the view's µm per pixel.
 */
export function detectTissue(image: RgbImage, options: TissueOptions): TissueMask {
  const o = { ...TISSUE_DEFAULTS, ...options };
  const { width, height } = image;
  if (image.data.length !== width * height * 3) {
    throw new TypeError(
      `Cannot detect tissue as the image must hold width x height x 3 = ${
        width * height * 3
      } samples: current length is ${image.data.length}`,
    );
  }
  checkOption("mpp", o.mpp, o.mpp > 0 && Number.isFinite(o.mpp), "a positive number");
  checkOption(
    "medianKernel",
    o.medianKernel,
    Number.isInteger(o.medianKernel) && o.medianKernel >= 1 && o.medianKernel % 2 === 1,
    "a positive odd integer",
  );
  checkOption(
    "closeKernel",
    o.closeKernel,
    Number.isInteger(o.closeKernel) && o.closeKernel >= 0,
    "an integer ≥ 0",
  );
  checkOption(
    "saturationThreshold",
    o.saturationThreshold,
    o.saturationThreshold >= 0 && o.saturationThreshold <= 255,
    "in [0, 255]",
  );
  if (o.method !== "saturation" && o.method !== "otsu") {
    throw new TypeError(
      `Cannot detect tissue as method must be "saturation" or "otsu": current value is "${o.method}"`,
    );
  }
  const sat = medianBlur(saturationOf(image), width, height, o.medianKernel);
  const threshold = o.method === "otsu" ? otsuThreshold(sat) : o.saturationThreshold;
  let mask: Uint8Array = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = sat[i] > threshold ? 1 : 0;
  mask = closeMask(mask, width, height, o.closeKernel);
  const pixelUm2 = o.mpp * o.mpp;
  // Fill small holes (background components not touching the border).
  const holes = labelComponents(mask, width, height, 0);
  for (let i = 0; i < mask.length; i++) {
    const id = holes.labels[i];
    if (id > 0 && !holes.border[id] && holes.sizes[id] * pixelUm2 < o.maxHoleAreaUm2) mask[i] = 1;
  }
  // Remove small tissue objects.
  const objects = labelComponents(mask, width, height, 1);
  let kept = 0;
  const keep = objects.sizes.map((s, id) => {
    const k = id > 0 && s * pixelUm2 >= o.minTissueAreaUm2;
    if (k) kept++;
    return k;
  });
  let tissuePixels = 0;
  for (let i = 0; i < mask.length; i++) {
    const id = objects.labels[i];
    mask[i] = id > 0 && keep[id] ? 1 : 0;
    tissuePixels += mask[i];
  }
  return {
    mask,
    width,
    height,
    threshold,
    tissuePixels,
    tissueAreaUm2: tissuePixels * pixelUm2,
    objects: kept,
    settings: {
      method: o.method,
      saturationThreshold: o.saturationThreshold,
      medianKernel: o.medianKernel,
      closeKernel: o.closeKernel,
      minTissueAreaUm2: o.minTissueAreaUm2,
      maxHoleAreaUm2: o.maxHoleAreaUm2,
    },
  };
}

/** Pixels of the mask on the tissue boundary (tissue with a 4-neighbour that is not). */
export function maskContour(mask: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      if (
        x === 0 || y === 0 || x === width - 1 || y === height - 1 || !mask[i - 1] ||
        !mask[i + 1] || !mask[i - width] || !mask[i + width]
      ) out[i] = 1;
    }
  }
  return out;
}

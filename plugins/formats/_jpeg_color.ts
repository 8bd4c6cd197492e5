/**
 * libjpeg's default decompression colour path, bit for bit: "fancy"
 * (triangle-filter) chroma upsampling for 2×1, 1×2 and 2×2 subsampling,
 * sample replication for other integer ratios (jdsample.c), and the
 * fixed-point YCbCr → RGB conversion that rounds to nearest (jdcolor.c).
 * With these, pixels decoded from planes match libjpeg-turbo (Pillow,
 * OpenSlide) up to the IDCT's own rounding.
 *
 * Pure functions over Uint8Array rows and planes, usable by a whole-image
 * decoder (plane functions) or a streaming one (row functions). Private to
 * `plugins/formats`.
 *
 * @module
 */

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);

function fix(x: number): number {
  return Math.floor(x * (1 << SCALEBITS) + 0.5);
}

/** libjpeg's `Cr_r_tab`, `Cb_b_tab`, `Cr_g_tab`, `Cb_g_tab` (jdcolor.c `build_ycc_rgb_table`). */
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Converts `width` YCbCr samples (three rows at full resolution) to
 * interleaved RGB in `out` starting at `outOffset`, exactly as libjpeg's
 * `ycc_rgb_convert` (16-bit fixed point, round to nearest, clamp).
 */
export function convertYcbcrRow(
  y: Uint8Array,
  cb: Uint8Array,
  cr: Uint8Array,
  width: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  for (let x = 0, o = outOffset; x < width; x++, o += 3) {
    const l = y[x];
    const b = cb[x];
    const r = cr[x];
    out[o] = clamp8(l + CR_R[r]);
    out[o + 1] = clamp8(l + ((CB_G[b] + CR_G[r]) >> SCALEBITS));
    out[o + 2] = clamp8(l + CB_B[b]);
  }
}

/**
 * Converts interleaved YCbCr (`pixels × 3` samples) to RGB in place with
 * {@linkcode convertYcbcrRow}'s arithmetic.
 */
export function convertYcbcrInterleaved(data: Uint8Array, pixels = data.length / 3): void {
  for (let p = 0, o = 0; p < pixels; p++, o += 3) {
    const l = data[o];
    const b = data[o + 1];
    const r = data[o + 2];
    data[o] = clamp8(l + CR_R[r]);
    data[o + 1] = clamp8(l + ((CB_G[b] + CR_G[r]) >> SCALEBITS));
    data[o + 2] = clamp8(l + CB_B[b]);
  }
}

/**
 * One output row of a component upsampled by integer factors `hScale` ×
 * `vScale` (max sampling factor over the component's own), as libjpeg does
 * by default:
 *
 * - 2×1 with more than 2 input columns: `h2v1_fancy_upsample`;
 * - 1×2: `h1v2_fancy_upsample`;
 * - 2×2 with more than 2 input columns: `h2v2_fancy_upsample`;
 * - anything else: replication (`int_upsample`).
 *
 * `near` is the input row nearest the output row; `far` the next nearest
 * (the row above for the upper output row of a pair, `phase` 0, the row
 * below for the lower, `phase` 1; at the image edges the edge row itself).
 * `inWidth` is the component's real width (`ceil(imageWidth × h / maxH)`);
 * `out` receives `outWidth` samples (the image width; the rest is cropped).
 */
export function upsampleRow(
  near: Uint8Array,
  far: Uint8Array,
  phase: number,
  inWidth: number,
  hScale: number,
  vScale: number,
  out: Uint8Array,
  outWidth: number,
): void {
  const fancyH = hScale === 2 && inWidth > 2;
  if (hScale === 1 && vScale === 1) {
    out.set(near.subarray(0, outWidth));
    return;
  }
  if (hScale === 1 && vScale === 2) {
    const bias = phase === 0 ? 1 : 2;
    for (let i = 0; i < outWidth; i++) out[i] = (near[i] * 3 + far[i] + bias) >> 2;
    return;
  }
  if (fancyH && vScale === 1) {
    const n = inWidth;
    const tmp = outWidth === 2 * n ? out : new Uint8Array(2 * n);
    tmp[0] = near[0];
    tmp[1] = (near[0] * 3 + near[1] + 2) >> 2;
    for (let i = 1; i < n - 1; i++) {
      const v = near[i] * 3;
      tmp[2 * i] = (v + near[i - 1] + 1) >> 2;
      tmp[2 * i + 1] = (v + near[i + 1] + 2) >> 2;
    }
    tmp[2 * n - 2] = (near[n - 1] * 3 + near[n - 2] + 1) >> 2;
    tmp[2 * n - 1] = near[n - 1];
    if (tmp !== out) out.set(tmp.subarray(0, outWidth));
    return;
  }
  if (fancyH && vScale === 2) {
    const n = inWidth;
    const tmp = outWidth === 2 * n ? out : new Uint8Array(2 * n);
    let last = near[0] * 3 + far[0];
    let cur = last;
    let next = near[1] * 3 + far[1];
    tmp[0] = (cur * 4 + 8) >> 4;
    tmp[1] = (cur * 3 + next + 7) >> 4;
    last = cur;
    cur = next;
    for (let i = 1; i < n - 1; i++) {
      next = near[i + 1] * 3 + far[i + 1];
      tmp[2 * i] = (cur * 3 + last + 8) >> 4;
      tmp[2 * i + 1] = (cur * 3 + next + 7) >> 4;
      last = cur;
      cur = next;
    }
    tmp[2 * n - 2] = (cur * 3 + last + 8) >> 4;
    tmp[2 * n - 1] = (cur * 4 + 7) >> 4;
    if (tmp !== out) out.set(tmp.subarray(0, outWidth));
    return;
  }
  // Replication (int_upsample, and h2v1/h2v2 on images 1–2 samples wide).
  for (let i = 0; i < outWidth; i++) out[i] = near[Math.floor(i / hScale)];
}

/**
 * Upsamples a whole component plane (`inWidth × inHeight`, row stride
 * `inWidth`) to `outWidth × outHeight` with {@linkcode upsampleRow}; rows
 * beyond the top and bottom edges repeat the edge row, as libjpeg's
 * context rows do.
 *
 * @example A 2×2 plane upsampled 2×2 is smooth inside, exact at the corners
 * ```ts
 * import { upsamplePlane } from "./_jpeg_color.ts";
 * import assert from "node:assert/strict";
 * const out = upsamplePlane(new Uint8Array([0, 100, 100, 200]), 2, 2, 2, 2, 4, 4);
 * assert.equal(out.length, 16);
 * ```
 */
export function upsamplePlane(
  plane: Uint8Array,
  inWidth: number,
  inHeight: number,
  hScale: number,
  vScale: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const rowOf = (r: number) => {
    const c = r < 0 ? 0 : r >= inHeight ? inHeight - 1 : r;
    return plane.subarray(c * inWidth, c * inWidth + inWidth);
  };
  const fancyV = vScale === 2 && (hScale === 1 || (hScale === 2 && inWidth > 2));
  for (let y = 0; y < outHeight; y++) {
    const r = Math.floor(y / vScale);
    const phase = y - r * vScale;
    const far = fancyV ? rowOf(phase === 0 ? r - 1 : r + 1) : rowOf(r);
    upsampleRow(
      rowOf(r),
      far,
      phase,
      inWidth,
      hScale,
      fancyV ? 2 : 1,
      out.subarray(y * outWidth, (y + 1) * outWidth),
      outWidth,
    );
  }
  return out;
}

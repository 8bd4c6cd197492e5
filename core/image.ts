// This module is browser compatible.
/**
 * Image preprocessing shared by every encoder and adapter: intensity to
 * [0, 1], grayscale → 3 channels, antialiased bilinear resize, per-channel
 * normalisation, NCHW batches.
 *
 * Resize: a separable triangle (bilinear) filter whose support widens by the
 * scale factor when shrinking, with pixel centres at `i + 0.5` and weights
 * renormalised at the borders — Pillow's `BILINEAR` and torchvision's
 * `resize(..., antialias=True)` algorithm. Upsampling reduces to ordinary
 * bilinear interpolation (`align_corners=False`). Aspect ratio is not kept
 * (as the Hugging Face DINOv3 processor does).
 *
 * @example Preprocessing a grey image for a DINOv3 encoder
 * ```ts
 * import { imageToPixelValues, IMAGENET_PREPROCESS } from "./image.ts";
 * import assert from "node:assert/strict";
 * const grey = { kind: "image" as const, data: new Uint8Array(20 * 30).fill(255), width: 30, height: 20, channels: 1 };
 * const px = imageToPixelValues(grey, [32, 48], IMAGENET_PREPROCESS);
 * assert.equal(px.length, 3 * 32 * 48);
 * assert.ok(Math.abs(px[0] - (1 - 0.485) / 0.229) < 1e-6);
 * ```
 *
 * @module
 */

import type { Image2D, PreprocessSpec } from "./plugin.ts";
import type { HostTensor } from "./tensor.ts";

/** ImageNet normalisation with patch-16 sizes (DINOv3). */
export const IMAGENET_PREPROCESS: PreprocessSpec = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  sizeMultiple: 16,
  defaultSize: 224,
};

/** An input size request: a square side, `[H, W]`, or `"native"`. */
export type Resolution = number | readonly [number, number] | "native";

/**
 * The `[H, W]` an image is resized to: the requested size, or for
 * `"native"` its own size rounded to the nearest multiple (at least one).
 * Throws `RangeError` when a requested size is not a positive multiple.
 */
export function targetSize(
  resolution: Resolution,
  height: number,
  width: number,
  multiple: number,
): [number, number] {
  if (resolution === "native") {
    return [
      Math.max(multiple, Math.round(height / multiple) * multiple),
      Math.max(multiple, Math.round(width / multiple) * multiple),
    ];
  }
  const [h, w] = typeof resolution === "number" ? [resolution, resolution] : resolution;
  for (const s of [h, w]) {
    if (!Number.isInteger(s) || s <= 0 || s % multiple !== 0) {
      throw new RangeError(
        `Cannot resize image as the target size must be a positive multiple of ${multiple}: current value is ${s}`,
      );
    }
  }
  return [h, w];
}

function dtypeMax(data: Image2D["data"]): number {
  if (data instanceof Uint8Array) return 255;
  if (data instanceof Uint16Array) return 65535;
  if (data instanceof Int16Array) return 32767;
  return 1;
}

/**
 * Converts an image to float32 in [0, 1] (HWC, same channel count) by its
 * `intensity` rule: `"dtype"` divides by the type maximum, `"minmax"`
 * rescales the image's range (a constant image becomes 0), `"unit"` copies.
 */
export function toUnitRange(image: Image2D): Float32Array {
  const { data } = image;
  const out = new Float32Array(data.length);
  const rule = image.intensity ?? "dtype";
  if (rule === "minmax") {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let i = 0; i < data.length; i++) out[i] = span > 0 ? (data[i] - lo) / span : 0;
    return out;
  }
  const max = rule === "unit" ? 1 : dtypeMax(data);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / max;
  return out;
}

/**
 * The first preprocessing step: values to [0, 1] by the image's intensity
 * rule, alpha dropped, so grey stays 1 channel and RGB(A) becomes 3 (HWC).
 *
 * @example
 * ```ts
 * import { toUnitPixels } from "./image.ts";
 * import assert from "node:assert/strict";
 * const rgba = { kind: "image" as const, data: new Uint8Array([255, 0, 51, 7]), width: 1, height: 1, channels: 4 };
 * const { data, channels } = toUnitPixels(rgba);
 * assert.equal(channels, 3);
 * assert.deepEqual([...data].map((v) => +v.toFixed(2)), [1, 0, 0.2]);
 * ```
 */
export function toUnitPixels(image: Image2D): { data: Float32Array; channels: number } {
  const unit = toUnitRange(image);
  if (image.channels !== 4) return { data: unit, channels: image.channels };
  const n = image.width * image.height;
  const rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = unit[i * 4 + c];
  }
  return { data: rgb, channels: 3 };
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  width: number;
}

/** Filter taps for one axis: for each output index, the input window and weights. */
function computeTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = scale > 1 ? scale : 1; // triangle support (radius) in input pixels
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * width);
  const invSupport = 1 / support;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    const n = hi - lo;
    for (let j = 0; j < n; j++) {
      const x = (lo + j + 0.5 - center) * invSupport;
      const w = Math.max(0, 1 - Math.abs(x));
      weights[i * width + j] = w;
      total += w;
    }
    if (total > 0) { for (let j = 0; j < n; j++) weights[i * width + j] /= total; }
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, width };
}

/**
 * Antialiased bilinear resize of a float HWC image (any channel count).
 *
 * @example Upsampling 2 pixels to 4 gives half-pixel bilinear weights
 * ```ts
 * import { resizeBilinear } from "./image.ts";
 * import assert from "node:assert/strict";
 * const out = resizeBilinear(new Float32Array([0, 1]), 1, 2, 1, 1, 4);
 * assert.deepEqual([...out], [0, 0.25, 0.75, 1]);
 * ```
 */
export function resizeBilinear(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  if (src.length !== height * width * channels) {
    throw new TypeError(
      `Cannot resize image as data length must be ${
        height * width * channels
      } for ${height}×${width}×${channels}: current length is ${src.length}`,
    );
  }
  if (height === outHeight && width === outWidth) return src.slice();
  // Horizontal pass: [height, outWidth, channels]
  const tx = computeTaps(width, outWidth);
  const tmp = new Float32Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const s = tx.start[x];
      const n = tx.count[x];
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let j = 0; j < n; j++) {
          acc += tx.weights[x * tx.width + j] * src[(y * width + s + j) * channels + c];
        }
        tmp[(y * outWidth + x) * channels + c] = acc;
      }
    }
  }
  // Vertical pass: [outHeight, outWidth, channels]
  const ty = computeTaps(height, outHeight);
  const out = new Float32Array(outHeight * outWidth * channels);
  const row = outWidth * channels;
  for (let y = 0; y < outHeight; y++) {
    const s = ty.start[y];
    const n = ty.count[y];
    for (let j = 0; j < n; j++) {
      const w = ty.weights[y * ty.width + j];
      const base = (s + j) * row;
      for (let k = 0; k < row; k++) out[y * row + k] += w * tmp[base + k];
    }
  }
  return out;
}

/**
 * Preprocesses one image into `[3, H, W]` pixel values: intensity to [0, 1]
 * → grey replicated to RGB (alpha dropped) → antialiased bilinear resize →
 * `(x - mean) / std` per channel.
 */
export function imageToPixelValues(
  image: Image2D,
  size: readonly [number, number],
  spec: PreprocessSpec,
): Float32Array {
  const { width, height, channels } = image;
  if (![1, 3, 4].includes(channels)) {
    throw new RangeError(
      `Cannot preprocess image as it must have 1, 3 or 4 channels: current channel count is ${channels}`,
    );
  }
  if (image.data.length !== width * height * channels) {
    throw new TypeError(
      `Cannot preprocess image as data length must be ${
        width * height * channels
      } for ${height}×${width}×${channels}: current length is ${image.data.length}`,
    );
  }
  // Resize before replicating grey (3× less work; the result is identical).
  const { data: src, channels: keep } = toUnitPixels(image);
  const [oh, ow] = size;
  const resized = resizeBilinear(src, height, width, keep, oh, ow);
  const out = new Float32Array(3 * oh * ow);
  const plane = oh * ow;
  for (let c = 0; c < 3; c++) {
    const m = spec.mean[c];
    const s = spec.std[c];
    const sc = keep === 1 ? 0 : c;
    for (let i = 0; i < plane; i++) out[c * plane + i] = (resized[i * keep + sc] - m) / s;
  }
  return out;
}

/**
 * Preprocesses images into one NCHW batch `[B, 3, H, W]` at a common size
 * (`"native"` uses the first image's rounded size).
 */
export function imagesToBatch(
  images: readonly Image2D[],
  resolution: Resolution,
  spec: PreprocessSpec,
): HostTensor {
  if (images.length === 0) {
    throw new RangeError(
      "Cannot build a batch as it must hold at least one image: current count is 0",
    );
  }
  const [h, w] = targetSize(resolution, images[0].height, images[0].width, spec.sizeMultiple);
  const per = 3 * h * w;
  const data = new Float32Array(images.length * per);
  images.forEach((img, i) => data.set(imageToPixelValues(img, [h, w], spec), i * per));
  return { data, shape: [images.length, 3, h, w] };
}

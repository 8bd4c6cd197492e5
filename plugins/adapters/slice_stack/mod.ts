/**
 * The `slice-stack` adapter (PROTOCOLS.md, 3D segmentation): every axial
 * slice of a volume goes through the frozen encoder, and the patch-token
 * maps `[h, w, C]` are stacked along z into a feature volume
 * `[C·channels, D, h, w]` (channel-major; for a multi-channel volume such
 * as PET/CT, each image channel is encoded on its own and the feature
 * channels are concatenated, image channel slowest).
 *
 * Intensities are mapped to [0, 1] per image channel before the encoder's
 * own preprocessing (grey replicated to RGB, resize, ImageNet
 * normalisation): a window `[min, max]` (CT Hounsfield units, PET SUV)
 * clipped and rescaled, `"minmax"` (the volume's own range) or
 * `"percentile"` (the 0.5–99.5 percentile range, for MR). The same mapping
 * gives the decoder's skip-connection image ({@linkcode normalizeVolume}).
 *
 * Memory: slices are encoded in batches of `batchSize`, and the feature
 * volume is produced in slabs of slices ({@linkcode extractSliceStack}), so
 * a caller storing slabs in float16 (the feature cache does) never holds
 * the whole feature volume in float32. `extract()` (the `Adapter`
 * interface) assembles every slab into one float32 tensor, for small
 * volumes.
 *
 * @example Stacking a toy encoder's patch maps
 * ```ts
 * import { sliceStackAdapter } from "./mod.ts";
 * import assert from "node:assert/strict";
 * // a toy "encoder": one 2-channel token per 16×16 patch, holding the patch mean and 1
 * const encoder = {
 *   info: { id: "toy", backend: "cpu-reference", backendReason: "test", dim: 2, patchSize: 16, numRegisters: 0, weightsSha256: "0", precision: "f32" as const },
 *   preprocess: { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number], sizeMultiple: 16, defaultSize: 32 },
 *   encode(px: { data: Float32Array; shape: readonly number[] }) {
 *     const [b, , hh, ww] = px.shape;
 *     const h = hh / 16, w = ww / 16;
 *     const patches = new Float32Array(b * h * w * 2);
 *     for (let i = 0; i < b; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
 *       let s = 0;
 *       for (let yy = 0; yy < 16; yy++) for (let xx = 0; xx < 16; xx++) s += px.data[(i * 3 * hh + y * 16 + yy) * ww + x * 16 + xx];
 *       patches.set([s / 256, 1], ((i * h + y) * w + x) * 2);
 *     }
 *     const empty = { data: new Float32Array(0), shape: [b, 0] };
 *     return Promise.resolve({ cls: empty, registers: empty, patchMean: empty, patches: { data: patches, shape: [b, h, w, 2] } });
 *   },
 *   dispose() {},
 * };
 * const volume = { kind: "volume" as const, data: new Float32Array(3 * 32 * 32).fill(100), shape: [3, 32, 32] as [number, number, number], spacingMm: [1, 1, 1] as [number, number, number] };
 * const adapter = sliceStackAdapter.create({ window: [0, 200] });
 * const { volume: f } = await adapter.extract(volume, { encoder, resolution: "native", batchSize: 2 });
 * assert.deepEqual(f.shape, [2, 3, 2, 2]);
 * assert.equal(f.data[0], 0.5); // (100 − 0) / 200
 * assert.equal(f.data[3 * 4], 1);
 * ```
 *
 * @module
 */

import type {
  Adapter,
  AdapterContext,
  AdapterPlugin,
  FeatureChunk,
  FeatureRecord,
  Image2D,
  SampleData,
  Volume,
} from "../../../core/plugin.ts";
import { imagesToBatch, targetSize } from "../../../core/image.ts";
import { formatShape, type HostTensor } from "../../../core/tensor.ts";

/** How one image channel's intensities map to [0, 1]. */
export type IntensityWindow = readonly [number, number] | "minmax" | "percentile";

/** Options of the slice-stack adapter. */
export interface SliceStackOptions {
  /**
   * Intensity window, one for every channel or one per channel: `[min,
   * max]` (clipped, then rescaled), `"minmax"` or `"percentile"`.
   * @default {"minmax"}
   */
  window?: IntensityWindow | readonly IntensityWindow[];
  /** Percentiles of the `"percentile"` window. @default {[0.5, 99.5]} */
  percentiles?: readonly [number, number];
  /** Largest float32 slab of features produced at once, in bytes. @default {64 MiB} */
  slabBytes?: number;
}

/** The feature kind the adapter produces: `[C·channels, D, h, w]`. */
export const SLICE_STACK_KIND = "volume";

const DEFAULT_SLAB_BYTES = 64 * 2 ** 20;

function checkWindow(w: unknown, where: string): IntensityWindow {
  if (w === "minmax" || w === "percentile") return w;
  if (
    Array.isArray(w) && w.length === 2 &&
    w.every((v) => typeof v === "number" && Number.isFinite(v)) &&
    w[1] > w[0]
  ) {
    return [w[0], w[1]];
  }
  throw new TypeError(
    `Cannot create the slice-stack adapter as ${where} must be [min, max] with min < max, "minmax" or "percentile": current value is ${
      JSON.stringify(w)
    }`,
  );
}

/**
 * Validates adapter options and fills the defaults.
 *
 * @example
 * ```ts
 * import { resolveSliceStackOptions } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveSliceStackOptions({ window: [-160, 240] }).window, [[-160, 240]]);
 * assert.throws(() => resolveSliceStackOptions({ window: [240, -160] }), TypeError);
 * ```
 */
export function resolveSliceStackOptions(options: Record<string, unknown> = {}): {
  window: IntensityWindow[];
  percentiles: [number, number];
  slabBytes: number;
} {
  for (const key of Object.keys(options)) {
    if (!["window", "percentiles", "slabBytes"].includes(key)) {
      throw new TypeError(
        `Cannot create the slice-stack adapter as option "${key}" is unknown: known options are window, percentiles, slabBytes`,
      );
    }
  }
  const raw = options.window ?? "minmax";
  const list = Array.isArray(raw) && raw.length > 0 && typeof raw[0] !== "number"
    ? (raw as unknown[]).map((w, i) => checkWindow(w, `window[${i}]`))
    : [checkWindow(raw, "window")];
  const p = options.percentiles ?? [0.5, 99.5];
  if (
    !Array.isArray(p) || p.length !== 2 || !(p[0] >= 0 && p[0] < p[1] && p[1] <= 100)
  ) {
    throw new RangeError(
      `Cannot create the slice-stack adapter as percentiles must be [lo, hi] with 0 <= lo < hi <= 100: current value is ${
        JSON.stringify(p)
      }`,
    );
  }
  const slabBytes = options.slabBytes ?? DEFAULT_SLAB_BYTES;
  if (typeof slabBytes !== "number" || !(slabBytes > 0)) {
    throw new RangeError(
      `Cannot create the slice-stack adapter as slabBytes must be positive: current value is ${slabBytes}`,
    );
  }
  return { window: list, percentiles: [p[0], p[1]], slabBytes };
}

function percentileRange(values: Float32Array, lo: number, hi: number): [number, number] {
  // Strided subsample of at most ~1M values, sorted.
  const step = Math.max(1, Math.floor(values.length / 1_000_000));
  const sample = new Float32Array(Math.ceil(values.length / step));
  for (let i = 0, j = 0; i < values.length; i += step) sample[j++] = values[i];
  sample.sort();
  const at = (p: number) =>
    sample[Math.min(sample.length - 1, Math.round((p / 100) * (sample.length - 1)))];
  return [at(lo), at(hi)];
}

/**
 * Maps every channel of a volume to [0, 1] with its window (values outside
 * are clipped); a constant channel becomes 0. Returns `[C, D, H, W]`.
 *
 * @example A CT abdomen window
 * ```ts
 * import { normalizeVolume } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const v = { kind: "volume" as const, data: Float32Array.of(-1000, -160, 40, 240, 1000), shape: [1, 1, 5] as [number, number, number], spacingMm: [1, 1, 1] as [number, number, number] };
 * assert.deepEqual([...normalizeVolume(v, [[-160, 240]])], [0, 0, 0.5, 1, 1]);
 * ```
 */
export function normalizeVolume(
  volume: Volume,
  windows: readonly IntensityWindow[],
  percentiles: readonly [number, number] = [0.5, 99.5],
): Float32Array {
  const channels = volume.channels ?? 1;
  const block = volume.shape[0] * volume.shape[1] * volume.shape[2];
  if (volume.data.length !== channels * block) {
    throw new TypeError(
      `Cannot normalise volume as data must hold ${channels}×${
        formatShape(volume.shape)
      } values: current count is ${volume.data.length}`,
    );
  }
  if (windows.length !== 1 && windows.length !== channels) {
    throw new TypeError(
      `Cannot normalise volume as it needs 1 or ${channels} windows: current count is ${windows.length}`,
    );
  }
  const out = new Float32Array(volume.data.length);
  for (let c = 0; c < channels; c++) {
    const part = volume.data.subarray(c * block, (c + 1) * block);
    const w = windows[windows.length === 1 ? 0 : c];
    let lo: number;
    let hi: number;
    if (w === "minmax") {
      lo = Infinity;
      hi = -Infinity;
      for (const v of part) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    } else if (w === "percentile") {
      [lo, hi] = percentileRange(part, percentiles[0], percentiles[1]);
    } else {
      [lo, hi] = w;
    }
    const scale = hi > lo ? 1 / (hi - lo) : 0;
    for (let i = 0; i < block; i++) {
      const v = (part[i] - lo) * scale;
      out[c * block + i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

/** A slab of the feature volume: slices `[z0, z0 + depth)`. */
export interface FeatureSlab {
  /** First slice. */
  z0: number;
  /** Features `[C·channels, depth, h, w]`, float32. */
  features: HostTensor;
}

/** The feature-volume shape `[C·channels, D, h, w]` a volume will give. */
export function sliceStackShape(
  volume: Pick<Volume, "shape" | "channels">,
  ctx: AdapterContext,
): [number, number, number, number] {
  const [d, hh, ww] = volume.shape;
  const ps = ctx.encoder.info.patchSize;
  const [th, tw] = targetSize(ctx.resolution, hh, ww, ctx.encoder.preprocess.sizeMultiple);
  return [ctx.encoder.info.dim * (volume.channels ?? 1), d, th / ps, tw / ps];
}

/**
 * Encodes every axial slice of a volume and hands the stacked features to
 * `onSlab` in slabs of slices, in z order. The normalised volume is
 * computed once; one encoder batch and one slab are alive at a time.
 */
export async function extractSliceStack(
  volume: Volume,
  ctx: AdapterContext,
  options: Record<string, unknown>,
  onSlab: (slab: FeatureSlab) => Promise<void> | void,
): Promise<[number, number, number, number]> {
  const o = resolveSliceStackOptions(options);
  if (volume?.kind !== "volume") {
    throw new TypeError(
      `Cannot run the slice-stack adapter as it needs a volume: current sample kind is ${
        JSON.stringify(volume?.kind)
      }`,
    );
  }
  if (!(Number.isInteger(ctx.batchSize) && ctx.batchSize > 0)) {
    throw new RangeError(
      `Cannot run the slice-stack adapter as batchSize must be a positive integer: current value is ${ctx.batchSize}`,
    );
  }
  const channels = volume.channels ?? 1;
  const unit = normalizeVolume(volume, o.window, o.percentiles);
  const [d, hh, ww] = volume.shape;
  const shape = sliceStackShape(volume, ctx);
  const [ctot, , h, w] = shape;
  const dim = ctx.encoder.info.dim;
  const perSlice = ctot * h * w * 4;
  const slabDepth = Math.max(1, Math.min(d, Math.floor(o.slabBytes / perSlice)));
  const plane = hh * ww;
  for (let z0 = 0; z0 < d; z0 += slabDepth) {
    const depth = Math.min(slabDepth, d - z0);
    const slab = new Float32Array(ctot * depth * h * w);
    for (let c = 0; c < channels; c++) {
      for (let b0 = 0; b0 < depth; b0 += ctx.batchSize) {
        if (ctx.signal?.aborted) {
          throw ctx.signal.reason ?? new DOMException("Extraction was aborted", "AbortError");
        }
        const n = Math.min(ctx.batchSize, depth - b0);
        const images: Image2D[] = [];
        for (let i = 0; i < n; i++) {
          const z = z0 + b0 + i;
          const start = (c * d + z) * plane;
          images.push({
            kind: "image",
            data: unit.subarray(start, start + plane),
            width: ww,
            height: hh,
            channels: 1,
            intensity: "unit",
          });
        }
        const batch = imagesToBatch(images, ctx.resolution, ctx.encoder.preprocess); // [n, 3, H', W']
        const out = await ctx.encoder.encode(batch);
        const p = out.patches; // [n, h, w, C]
        if (p.shape[1] !== h || p.shape[2] !== w || p.shape[3] !== dim) {
          throw new TypeError(
            `Cannot stack slice features as the encoder's patch tokens must have shape [${n}, ${h}, ${w}, ${dim}]: current shape is ${
              formatShape(p.shape)
            }`,
          );
        }
        for (let i = 0; i < n; i++) {
          const zz = b0 + i;
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const src = ((i * h + y) * w + x) * dim;
              for (let k = 0; k < dim; k++) {
                slab[(((c * dim + k) * depth + zz) * h + y) * w + x] = p.data[src + k];
              }
            }
          }
        }
      }
    }
    await onSlab({ z0, features: { data: slab, shape: [ctot, depth, h, w] } });
  }
  return shape;
}

/** Creates a slice-stack adapter with validated options. */
export function createSliceStackAdapter(options: SliceStackOptions = {}): Adapter {
  const o = resolveSliceStackOptions(options as Record<string, unknown>);
  return {
    featureKinds: [SLICE_STACK_KIND],
    settings: { window: o.window, percentiles: o.percentiles, layout: "[C*channels, D, h, w]" },
    chunkAxis: 1,
    async extract(data: SampleData, ctx: AdapterContext): Promise<FeatureRecord> {
      const volume = data as Volume;
      let out: HostTensor | undefined;
      await extractSliceStack(volume, ctx, options as Record<string, unknown>, (slab) => {
        const [c, depth, h, w] = slab.features.shape;
        if (!out) {
          const total = volume.shape[0];
          out = { data: new Float32Array(c * total * h * w), shape: [c, total, h, w] };
        }
        for (let ch = 0; ch < c; ch++) {
          out.data.set(
            slab.features.data.subarray(ch * depth * h * w, (ch + 1) * depth * h * w),
            (ch * volume.shape[0] + slab.z0) * h * w,
          );
        }
      });
      return { [SLICE_STACK_KIND]: out! };
    },
    async *extractChunks(data: SampleData, ctx: AdapterContext): AsyncIterable<FeatureChunk> {
      // One slab at a time: the extraction is paused at each slab until the
      // consumer (the cache) has taken it.
      const slabs: FeatureSlab[] = [];
      let wake: (() => void) | undefined;
      let resume: (() => void) | undefined;
      let done = false;
      let error: unknown;
      const run = extractSliceStack(
        data as Volume,
        ctx,
        options as Record<string, unknown>,
        (slab) => {
          slabs.push(slab);
          wake?.();
          return new Promise<void>((r) => (resume = r));
        },
      ).then(
        () => void (done = true),
        (e) => void ((error = e), (done = true)),
      ).finally(() => wake?.());
      let index = 0;
      while (true) {
        if (slabs.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const slab = slabs.shift();
        if (slab) {
          yield { index: index++, features: { [SLICE_STACK_KIND]: slab.features } };
          const r = resume;
          resume = undefined;
          r?.();
          continue;
        }
        if (done) break;
      }
      await run;
      if (error !== undefined) throw error;
    },
    prepareInput(data: SampleData): SampleData {
      const volume = data as Volume;
      return { ...volume, data: normalizeVolume(volume, o.window, o.percentiles) };
    },
  };
}

/** The slice-stack adapter plugin (`medprobe` name `"slice-stack"`). */
export const sliceStackAdapter: AdapterPlugin = {
  kind: "adapter",
  name: "slice-stack",
  description: "Volume → every axial slice's patch-token map → stacked [C, D, h, w] feature volume",
  version: "0.1.0",
  accepts: ["volume"],
  output: "volumes",
  create(options: Record<string, unknown> = {}): Adapter {
    return createSliceStackAdapter(options as SliceStackOptions);
  },
};

// This module is browser compatible.
/**
 * The `slice-mean` adapter for 3D classification (PROTOCOLS.md, CT-RATE):
 * every axial slice of a volume → HU window → [0, 1] → grey replicated to 3
 * channels → resize → encoder (slices batched) → CLS and mean patch token per
 * slice → volume embedding = mean over slices.
 *
 * Produces `cls` `[C]`, `mean` `[C]` and `cls+mean` `[2C]` (each the mean over
 * slices of the per-slice feature), and with option `feature` also
 * `last4`, `last4+mean` or `layer:N` (per slice as the `image2d` adapter
 * makes them, then averaged; see `plugins/adapters/_features.ts`).
 *
 * Window: `[level - width/2, level + width/2]` clipped and scaled to [0, 1]
 * (MONAI `ScaleIntensityRange` with clip). Default: the lung/mediastinal
 * compromise used for chest CT, `[-1000, 1000]` HU.
 *
 * @module
 */

import type {
  Adapter,
  AdapterContext,
  AdapterPlugin,
  FeatureRecord,
  Image2D,
  SampleData,
  Volume,
} from "../../../core/plugin.ts";
import { imagesToBatch } from "../../../core/image.ts";
import {
  addIntermediateFeatures,
  BASE_FEATURE_KINDS,
  featureKindsFor,
  featuresFromOutput,
  intermediatePlan,
} from "../_features.ts";

/** Options of the `slice-mean` adapter. */
export interface SliceMeanOptions {
  /** Lower bound of the intensity window (HU for CT). @default {-1000} */
  windowMin?: number;
  /** Upper bound of the intensity window. @default {1000} */
  windowMax?: number;
  /** Use every `sliceStep`-th axial slice. @default {1} */
  sliceStep?: number;
  /** Channel of a multi-channel volume to use. @default {0} */
  channel?: number;
  /** The feature the head will use (`last4`, `last4+mean`, `layer:N` add that kind). @default {"cls"} */
  feature?: string;
  /** The encoder's block count, when the encoder does not say (`config.depth`). */
  depth?: number;
}

/** Default options. */
export const SLICE_MEAN_DEFAULTS: Required<Omit<SliceMeanOptions, "feature" | "depth">> = {
  windowMin: -1000,
  windowMax: 1000,
  sliceStep: 1,
  channel: 0,
};

/**
 * Windows one axial slice `z` of a volume to a float image in [0, 1].
 *
 * @example
 * ```ts
 * import { windowSlice } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const v = { kind: "volume" as const, data: new Float32Array([-2000, 0, 500, 3000]), shape: [1, 2, 2] as const, spacingMm: [1, 1, 1] as const };
 * assert.deepEqual([...windowSlice(v, 0, -1000, 1000).data], [0, 0.5, 0.75, 1]);
 * ```
 */
export function windowSlice(
  volume: Volume,
  z: number,
  windowMin: number,
  windowMax: number,
  channel = 0,
): Image2D {
  const [d, h, w] = volume.shape;
  const plane = h * w;
  const base = (channel * d + z) * plane;
  const out = new Float32Array(plane);
  const span = windowMax - windowMin;
  for (let i = 0; i < plane; i++) {
    const v = (volume.data[base + i] - windowMin) / span;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { kind: "image", data: out, width: w, height: h, channels: 1, intensity: "unit" };
}

/** Creates the adapter with validated options. */
export function createSliceMeanAdapter(options: SliceMeanOptions = {}): Adapter {
  const { feature, depth: blocks, ...rest } = options;
  const o = { ...SLICE_MEAN_DEFAULTS, ...rest };
  const kinds = featureKindsFor(feature);
  const extended = kinds.length > BASE_FEATURE_KINDS.length ? feature : undefined;
  if (
    !(Number.isFinite(o.windowMin) && Number.isFinite(o.windowMax) && o.windowMax > o.windowMin)
  ) {
    throw new RangeError(
      `Cannot create adapter "slice-mean" as windowMax must be greater than windowMin: current window is [${o.windowMin}, ${o.windowMax}]`,
    );
  }
  if (!Number.isInteger(o.sliceStep) || o.sliceStep < 1) {
    throw new RangeError(
      `Cannot create adapter "slice-mean" as sliceStep must be a positive integer: current value is ${o.sliceStep}`,
    );
  }
  return {
    featureKinds: kinds,
    settings: { adapter: "slice-mean", ...o, ...(extended ? { feature: extended } : {}) },
    async extract(data: SampleData, ctx: AdapterContext): Promise<FeatureRecord> {
      if (data.kind !== "volume") {
        throw new TypeError(
          `Cannot run adapter "slice-mean" as the sample must be a volume: current kind is "${data.kind}"`,
        );
      }
      const volume = data as Volume;
      const [depth] = volume.shape;
      const channels = volume.channels ?? 1;
      if (o.channel >= channels) {
        throw new RangeError(
          `Cannot run adapter "slice-mean" as channel must be below ${channels}: current value is ${o.channel}`,
        );
      }
      const zs: number[] = [];
      for (let z = 0; z < depth; z += o.sliceStep) zs.push(z);
      if (zs.length === 0) {
        throw new RangeError('Cannot run adapter "slice-mean" as the volume has no slices');
      }
      const sums: Record<string, Float32Array> = {};
      const plan = intermediatePlan(extended, ctx.encoder, blocks);
      for (let s = 0; s < zs.length; s += ctx.batchSize) {
        ctx.signal?.throwIfAborted();
        const part = zs.slice(s, s + ctx.batchSize);
        const images = part.map((z) => windowSlice(volume, z, o.windowMin, o.windowMax, o.channel));
        const out = await ctx.encoder.encode(
          imagesToBatch(images, ctx.resolution, ctx.encoder.preprocess),
          plan ? { intermediateLayers: plan.layers } : undefined,
        );
        const records = featuresFromOutput(out);
        if (plan) addIntermediateFeatures(records, out, plan);
        for (const rec of records) {
          for (const [k, t] of Object.entries(rec)) {
            const acc = sums[k] ??= new Float32Array(t.data.length);
            for (let i = 0; i < acc.length; i++) acc[i] += t.data[i];
          }
        }
      }
      const result: FeatureRecord = {};
      for (const [k, acc] of Object.entries(sums)) {
        for (let i = 0; i < acc.length; i++) acc[i] /= zs.length;
        result[k] = { data: acc, shape: [acc.length] };
      }
      return result;
    },
  };
}

/** The `slice-mean` adapter plugin. */
export const sliceMeanAdapter: AdapterPlugin = {
  kind: "adapter",
  name: "slice-mean",
  description: "3D volume → every axial slice (HU window) → encoder → mean over slices",
  accepts: ["volume"],
  create: (options?: Record<string, unknown>): Adapter =>
    createSliceMeanAdapter(options as SliceMeanOptions | undefined),
};

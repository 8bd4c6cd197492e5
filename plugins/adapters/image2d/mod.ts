// This module is browser compatible.
/**
 * The `image2d` adapter: a 2D image (grey, RGB or RGBA; 8/16-bit or float)
 * → grey replicated to 3 channels → antialiased bilinear resize to the
 * resolution → ImageNet normalisation → encoder → per-image features:
 *
 * - `cls` `[C]`: the normalised CLS token;
 * - `mean` `[C]`: the mean normalised patch token;
 * - `cls+mean` `[2C]`: both concatenated (the official DINOv3 linear-probe feature);
 * - with option `feature`, also `last4` `[4C]`, `last4+mean` `[5C]` or
 *   `layer:N` `[C]` (intermediate blocks' CLS through the final norm, as
 *   DINOv2/DINOv3's linear evaluation takes them; see `features.ts`): the
 *   encoder is asked for those blocks' outputs, and the feature kind is
 *   part of the adapter's settings (its own cache entries).
 *
 * Several images are encoded in one batch through `extractBatch`.
 *
 * @example
 * ```ts ignore
 * import { image2dAdapter } from "./mod.ts";
 * const adapter = image2dAdapter.create();
 * const [features] = await adapter.extractBatch!([image], { encoder, resolution: 224, batchSize: 16 });
 * features.cls; // [C]
 * ```
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
} from "../../../core/plugin.ts";
import { imagesToBatch, targetSize } from "../../../core/image.ts";
import {
  addIntermediateFeatures,
  BASE_FEATURE_KINDS,
  featureKindsFor,
  featuresFromOutput,
  intermediatePlan,
} from "../_features.ts";

export {
  addIntermediateFeatures,
  BASE_FEATURE_KINDS,
  encoderDepth,
  encoderNormEps,
  type FeatureKind,
  featureKindsFor,
  featuresFromOutput,
  type IntermediateFeatureOptions,
  intermediateFeatures,
  intermediateLayersFor,
  intermediatePlan,
  LAST_BLOCKS,
  type NormAffine,
  parseFeatureKind,
  recoverFinalNorm,
} from "../_features.ts";

/** Options of the `image2d` adapter (none change the features beyond the context's resolution). */
export interface Image2dOptions {
  /** How to map pixel values to [0, 1] when the image does not say. @default {"dtype"} */
  intensity?: "dtype" | "minmax" | "unit";
  /**
   * The feature the head will use. Only `last4`, `last4+mean` and `layer:N`
   * change anything: the adapter then also makes that kind from the
   * encoder's intermediate blocks. @default {"cls"}
   */
  feature?: string;
  /** The encoder's block count, when the encoder does not say (`config.depth`). */
  depth?: number;
}

/** Feature kinds produced by image adapters without an intermediate-block feature. */
export const IMAGE_FEATURE_KINDS: readonly string[] = BASE_FEATURE_KINDS;

function asImage(data: SampleData, intensity: Image2dOptions["intensity"]): Image2D {
  if (data.kind !== "image") {
    throw new TypeError(
      `Cannot run adapter "image2d" as the sample must be an image: current kind is "${data.kind}"`,
    );
  }
  const img = data as Image2D;
  return img.intensity || !intensity ? img : { ...img, intensity };
}

/** Creates the adapter. */
export function createImage2dAdapter(options: Image2dOptions = {}): Adapter {
  const intensity = options.intensity;
  if (options.depth !== undefined && !(Number.isInteger(options.depth) && options.depth >= 1)) {
    throw new RangeError(
      `Cannot create adapter "image2d" as depth must be a positive integer: current value is ${options.depth}`,
    );
  }
  if (intensity !== undefined && !["dtype", "minmax", "unit"].includes(intensity)) {
    throw new TypeError(
      `Cannot create adapter "image2d" as intensity must be "dtype", "minmax" or "unit": current value is "${intensity}"`,
    );
  }
  const kinds = featureKindsFor(options.feature);
  const extended = kinds.length > BASE_FEATURE_KINDS.length ? options.feature : undefined;
  const adapter: Adapter = {
    featureKinds: kinds,
    settings: {
      adapter: "image2d",
      intensity: intensity ?? "dtype",
      channels: "grey→RGB",
      ...(extended ? { feature: extended } : {}),
    },
    async extract(data: SampleData, ctx: AdapterContext): Promise<FeatureRecord> {
      return (await adapter.extractBatch!([data], ctx))[0];
    },
    async extractBatch(
      data: readonly SampleData[],
      ctx: AdapterContext,
    ): Promise<FeatureRecord[]> {
      const spec = ctx.encoder.preprocess;
      const images = data.map((d) => asImage(d, intensity));
      // Images of one batch share a size; "native" groups by each image's own size.
      const groups = new Map<string, number[]>();
      images.forEach((img, i) => {
        const [h, w] = targetSize(ctx.resolution, img.height, img.width, spec.sizeMultiple);
        const key = `${h}x${w}`;
        groups.set(key, [...(groups.get(key) ?? []), i]);
      });
      const out = new Array<FeatureRecord>(images.length);
      const plan = intermediatePlan(extended, ctx.encoder, options.depth);
      for (const idx of groups.values()) {
        for (let s = 0; s < idx.length; s += ctx.batchSize) {
          ctx.signal?.throwIfAborted();
          const part = idx.slice(s, s + ctx.batchSize);
          const batch = imagesToBatch(part.map((i) => images[i]), ctx.resolution, spec);
          const encoded = await ctx.encoder.encode(
            batch,
            plan ? { intermediateLayers: plan.layers } : undefined,
          );
          const records = featuresFromOutput(encoded);
          if (plan) addIntermediateFeatures(records, encoded, plan);
          part.forEach((i, k) => (out[i] = records[k]));
        }
      }
      return out;
    },
  };
  return adapter;
}

/** The `image2d` adapter plugin. */
export const image2dAdapter: AdapterPlugin = {
  kind: "adapter",
  name: "image2d",
  description:
    "2D image → grey→RGB, resize, ImageNet norm → CLS / mean patch token / last-4-blocks CLS / block N CLS",
  accepts: ["image"],
  create: (options?: Record<string, unknown>): Adapter =>
    createImage2dAdapter(options as Image2dOptions | undefined),
};

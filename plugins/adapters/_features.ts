// This module is browser compatible.
/**
 * Feature kinds of the image adapters, as DINOv2/DINOv3's own linear
 * evaluations take them:
 *
 * - `cls` `[C]`: the final (normalised) CLS token;
 * - `mean` `[C]`: the mean final patch token;
 * - `cls+mean` `[2C]`: both concatenated;
 * - `last4` `[4C]`: the CLS tokens of the last four blocks, each through
 *   the final LayerNorm, concatenated oldest first (DINOv2's
 *   `n_last_blocks=4`, `get_intermediate_layers(..., norm=True)`);
 * - `last4+mean` `[5C]`: `last4` and the mean final patch token
 *   (`use_avgpool`);
 * - `layer:N` `[C]`: the CLS token of block N through the final LayerNorm
 *   (0-based; negative counts from the last block, `layer:-1` is `cls`).
 *
 * The first three come from every encoder output. The others need the
 * encoder's intermediate block outputs (`EncodeOptions.intermediateLayers`,
 * {@linkcode intermediateLayersFor}); they are made only when asked for
 * (adapter option `feature`), so the default cache entries stay as they
 * are. The encoder returns block outputs *before* its final LayerNorm; the
 * norm's per-channel scale and shift are recovered exactly from the last
 * block (its normalised tokens are the encoder's final tokens) by a
 * per-channel least-squares fit over every token of the batch, then applied
 * to the requested blocks — so no weights are read twice and any encoder
 * whose final tokens are `LayerNorm(last block)` works.
 *
 * @example
 * ```ts
 * import { featureKindsFor, intermediateLayersFor, parseFeatureKind } from "./_features.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(intermediateLayersFor("last4", 12), [8, 9, 10, 11]);
 * assert.deepEqual(intermediateLayersFor("layer:3", 12), [3, 11]);
 * assert.deepEqual(parseFeatureKind("layer:-2"), { kind: "layer", index: -2 });
 * assert.deepEqual(featureKindsFor("last4+mean"), ["cls", "mean", "cls+mean", "last4+mean"]);
 * ```
 *
 * @module
 */

import type { EncoderOutput, FeatureRecord } from "../../core/plugin.ts";
import type { HostTensor } from "../../core/tensor.ts";

/** The feature kinds every image adapter produces. */
export const BASE_FEATURE_KINDS: readonly string[] = ["cls", "mean", "cls+mean"];

/** Blocks whose CLS tokens `last4` concatenates. */
export const LAST_BLOCKS = 4;

/** A parsed feature kind. */
export type FeatureKind =
  | { readonly kind: "base"; readonly name: string }
  | { readonly kind: "last4"; readonly withMean: boolean }
  | { readonly kind: "layer"; readonly index: number };

/**
 * Parses a feature kind name; `TypeError` naming the accepted forms for
 * anything else.
 *
 * @example
 * ```ts
 * import { parseFeatureKind } from "./_features.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseFeatureKind("last4+mean"), { kind: "last4", withMean: true });
 * assert.throws(() => parseFeatureKind("layer:x"), TypeError);
 * ```
 */
export function parseFeatureKind(feature: string): FeatureKind {
  if (BASE_FEATURE_KINDS.includes(feature)) return { kind: "base", name: feature };
  if (feature === "last4") return { kind: "last4", withMean: false };
  if (feature === "last4+mean") return { kind: "last4", withMean: true };
  const m = /^layer:(-?\d+)$/.exec(feature);
  if (m) return { kind: "layer", index: Number(m[1]) };
  throw new TypeError(
    `Cannot use feature "${feature}" as it must be cls, mean, cls+mean, last4, last4+mean or layer:N (N a block index, negative from the end): current value is ${
      JSON.stringify(feature)
    }`,
  );
}

/**
 * The feature kinds an image adapter produces when `feature` is asked for:
 * the base kinds, plus `feature` when it needs intermediate blocks.
 */
export function featureKindsFor(feature?: string): string[] {
  if (feature === undefined) return [...BASE_FEATURE_KINDS];
  const parsed = parseFeatureKind(feature);
  return parsed.kind === "base" ? [...BASE_FEATURE_KINDS] : [...BASE_FEATURE_KINDS, feature];
}

function blockIndex(index: number, depth: number, feature: string): number {
  const i = index < 0 ? depth + index : index;
  if (!Number.isInteger(i) || i < 0 || i >= depth) {
    throw new RangeError(
      `Cannot use feature "${feature}" as the block must be in [${-depth}, ${
        depth - 1
      }] for a ${depth}-block encoder: current value is ${index}`,
    );
  }
  return i;
}

/**
 * The blocks the feature needs (0-based, ascending, the last block
 * included for the norm), for `EncodeOptions.intermediateLayers` and for an
 * ONNX graph built with them; `[]` for the base kinds. A model with fewer
 * than four blocks gives all of them to `last4` (as DINOv2's
 * `get_intermediate_layers(n=4)` does).
 */
export function intermediateLayersFor(feature: string, depth: number): number[] {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new RangeError(
      `Cannot choose blocks as depth must be a positive integer: current value is ${depth}`,
    );
  }
  const parsed = parseFeatureKind(feature);
  if (parsed.kind === "base") return [];
  const blocks = parsed.kind === "last4"
    ? Array.from(
      { length: Math.min(LAST_BLOCKS, depth) },
      (_, i) => depth - Math.min(LAST_BLOCKS, depth) + i,
    )
    : [blockIndex(parsed.index, depth, feature)];
  return [...new Set([...blocks, depth - 1])].sort((a, b) => a - b);
}

/** The final LayerNorm's per-channel affine, recovered from one encoder output. */
export interface NormAffine {
  /** Scale `[C]`. */
  readonly weight: Float64Array;
  /** Shift `[C]`. */
  readonly bias: Float64Array;
}

function standardizeToken(
  src: Float32Array,
  offset: number,
  c: number,
  eps: number,
  out: Float64Array,
): void {
  let mean = 0;
  for (let j = 0; j < c; j++) mean += src[offset + j];
  mean /= c;
  let v = 0;
  for (let j = 0; j < c; j++) {
    const d = src[offset + j] - mean;
    v += d * d;
  }
  const inv = 1 / Math.sqrt(v / c + eps);
  for (let j = 0; j < c; j++) out[j] = (src[offset + j] - mean) * inv;
}

/** The final tokens `[B, N, C]` (CLS, registers, patches) of an encoder output, in token order. */
function finalTokens(out: EncoderOutput): { data: Float32Array; n: number } {
  const [b, c] = out.cls.shape;
  const r = out.registers.shape[1] ?? 0;
  const p = out.patches.shape.length === 4 ? out.patches.shape[1] * out.patches.shape[2] : 0;
  const n = 1 + r + p;
  const data = new Float32Array(b * n * c);
  for (let i = 0; i < b; i++) {
    const base = i * n * c;
    data.set(out.cls.data.subarray(i * c, (i + 1) * c), base);
    data.set(out.registers.data.subarray(i * r * c, (i + 1) * r * c), base + c);
    data.set(out.patches.data.subarray(i * p * c, (i + 1) * p * c), base + (1 + r) * c);
  }
  return { data, n };
}

/**
 * Recovers the final LayerNorm's scale and shift: for each channel, the
 * least-squares line from the standardised last-block tokens to the final
 * tokens, over every token of the batch (exact up to float32 rounding when
 * the final tokens are that LayerNorm of the last block).
 */
export function recoverFinalNorm(
  out: EncoderOutput,
  lastBlock: HostTensor,
  eps = 1e-5,
): NormAffine {
  const [b, c] = out.cls.shape;
  const final = finalTokens(out);
  const tokens = b * final.n;
  if (lastBlock.data.length !== tokens * c) {
    throw new RangeError(
      `Cannot recover the final norm as the last block must have ${tokens} tokens of ${c}: current shape is [${
        lastBlock.shape.join(", ")
      }]`,
    );
  }
  const sz = new Float64Array(c), sy = new Float64Array(c);
  const szz = new Float64Array(c), szy = new Float64Array(c);
  const z = new Float64Array(c);
  for (let t = 0; t < tokens; t++) {
    standardizeToken(lastBlock.data, t * c, c, eps, z);
    for (let j = 0; j < c; j++) {
      const y = final.data[t * c + j];
      sz[j] += z[j];
      sy[j] += y;
      szz[j] += z[j] * z[j];
      szy[j] += z[j] * y;
    }
  }
  const weight = new Float64Array(c), bias = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const mz = sz[j] / tokens, my = sy[j] / tokens;
    const vz = szz[j] / tokens - mz * mz;
    weight[j] = vz > 0 ? (szy[j] / tokens - mz * my) / vz : 0;
    bias[j] = my - weight[j] * mz;
  }
  return { weight, bias };
}

/** Options of {@linkcode intermediateFeatures}. */
export interface IntermediateFeatureOptions {
  /** The requested kind (`last4`, `last4+mean` or `layer:N`). */
  feature: string;
  /** The blocks the encoder was asked for (the `intermediateLayers` it got), in order. */
  layers: readonly number[];
  /** The encoder's block count. */
  depth: number;
  /** LayerNorm epsilon of the final norm. @default {1e-5} */
  eps?: number;
}

/**
 * The extended feature of each image of an encoder output that carries the
 * requested blocks' outputs (see the module doc).
 */
export function intermediateFeatures(
  out: EncoderOutput,
  options: IntermediateFeatureOptions,
): HostTensor[] {
  const { feature, layers, depth } = options;
  const parsed = parseFeatureKind(feature);
  if (parsed.kind === "base") {
    throw new TypeError(
      `Cannot make feature "${feature}" from intermediate blocks as it is a base kind`,
    );
  }
  const inter = out.intermediates ?? [];
  const at = (block: number): HostTensor => {
    const i = layers.indexOf(block);
    if (i < 0 || !inter[i]) {
      throw new RangeError(
        `Cannot make feature "${feature}" as the encoder output lacks block ${block}: it returned blocks [${
          layers.slice(0, inter.length).join(", ")
        }]`,
      );
    }
    return inter[i];
  };
  const [b, c] = out.cls.shape;
  const affine = recoverFinalNorm(out, at(depth - 1), options.eps ?? 1e-5);
  const blocks = parsed.kind === "last4"
    ? intermediateLayersFor("last4", depth)
    : [blockIndex(parsed.index, depth, feature)];
  const withMean = parsed.kind === "last4" && parsed.withMean;
  const width = blocks.length * c + (withMean ? c : 0);
  const z = new Float64Array(c);
  const result: HostTensor[] = [];
  for (let i = 0; i < b; i++) {
    const v = new Float32Array(width);
    blocks.forEach((block, k) => {
      const t = at(block);
      const n = t.data.length / (b * c);
      standardizeToken(t.data, i * n * c, c, options.eps ?? 1e-5, z); // token 0 is CLS
      for (let j = 0; j < c; j++) v[k * c + j] = z[j] * affine.weight[j] + affine.bias[j];
    });
    if (withMean) v.set(out.patchMean.data.subarray(i * c, (i + 1) * c), blocks.length * c);
    result.push({ data: v, shape: [width] });
  }
  return result;
}

/**
 * The encoder's block count: its `config.depth` (the DINOv3 encoders) or
 * `fallback`; `TypeError` when neither is known.
 */
export function encoderDepth(encoder: unknown, fallback?: number): number {
  const depth = (encoder as { config?: { depth?: unknown } }).config?.depth ?? fallback;
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 1) {
    throw new TypeError(
      `Cannot choose intermediate blocks as the encoder's depth must be known: give the adapter option depth (the number of blocks), current value is ${
        JSON.stringify(depth)
      }`,
    );
  }
  return depth;
}

/** The LayerNorm epsilon of the encoder's config (`layerNormEps`), else 1e-5. */
export function encoderNormEps(encoder: unknown): number {
  const eps = (encoder as { config?: { layerNormEps?: unknown } }).config?.layerNormEps;
  return typeof eps === "number" && eps > 0 ? eps : 1e-5;
}

/** Adds the extended feature (when asked) to per-image base records, in place. */
export function addIntermediateFeatures(
  records: FeatureRecord[],
  out: EncoderOutput,
  options: IntermediateFeatureOptions,
): FeatureRecord[] {
  const extra = intermediateFeatures(out, options);
  records.forEach((r, i) => (r[options.feature] = extra[i]));
  return records;
}

/**
 * The encode options and the post-processing of an intermediate-block
 * feature for one encoder (`undefined` for the base kinds).
 */
export function intermediatePlan(
  feature: string | undefined,
  encoder: unknown,
  depthOption?: number,
): { layers: number[]; depth: number; eps: number; feature: string } | undefined {
  if (feature === undefined || parseFeatureKind(feature).kind === "base") return undefined;
  const depth = encoderDepth(encoder, depthOption);
  return {
    feature,
    depth,
    layers: intermediateLayersFor(feature, depth),
    eps: encoderNormEps(encoder),
  };
}

/** Splits an encoder output of B images into per-image feature records. */
export function featuresFromOutput(out: EncoderOutput): FeatureRecord[] {
  const [b, c] = out.cls.shape;
  const records: FeatureRecord[] = [];
  for (let i = 0; i < b; i++) {
    const cls = out.cls.data.slice(i * c, (i + 1) * c);
    const mean = out.patchMean.data.slice(i * c, (i + 1) * c);
    const both = new Float32Array(2 * c);
    both.set(cls);
    both.set(mean, c);
    records.push({
      cls: { data: cls, shape: [c] },
      mean: { data: mean, shape: [c] },
      "cls+mean": { data: both, shape: [2 * c] },
    });
  }
  return records;
}

/**
 * Small synthetic ONNX models for tests: a CNN with the I/O names of
 * examples/resnet50.json and a ViT-like token model with those of
 * examples/vit_b16.json. Not published.
 *
 * @module
 */

import { encodePlan, GraphBuilder, planModel } from "./proto.ts";

/** Deterministic values in [-1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** A toy CNN: Conv(3→C, k = s = 32) → Relu → GlobalAveragePool → Flatten. */
export interface ToyCnn {
  /** Model bytes. */
  bytes: Uint8Array;
  /** Conv weight [C, 3, 32, 32]. */
  weight: Float32Array;
  /** Conv bias [C]. */
  bias: Float32Array;
  /** Channels. */
  channels: number;
}

/**
 * Builds the toy CNN with input `input` `[batch, 3, size, size]` (fixed
 * size), output `pooled` `[batch, C]` and, when `featureMap`, `features`
 * `[batch, C, size/32, size/32]`.
 */
export async function toyCnn(
  options: { channels?: number; size?: number; featureMap?: boolean; pooledName?: string } = {},
): Promise<ToyCnn> {
  const C = options.channels ?? 8;
  const size = options.size ?? 224;
  const weight = seeded(C * 3 * 32 * 32, 1).map((v) => v * 0.05);
  const bias = seeded(C, 2);
  const g = new GraphBuilder();
  g.input("input", ["batch", 3, size, size]);
  const conv = g.op("Conv", [
    "input",
    g.weight("w", [C, 3, 32, 32], () => weight),
    g.weight("b", [C], () => bias),
  ], {
    kernel_shape: [32, 32],
    strides: [32, 32],
  });
  const relu = g.op("Relu", [conv], {}, options.featureMap ? "features" : undefined);
  const pooled = g.op("GlobalAveragePool", [relu]);
  g.op("Flatten", [pooled], { axis: 1 }, options.pooledName ?? "pooled");
  g.output(options.pooledName ?? "pooled", ["batch", C]);
  if (options.featureMap) g.output("features", ["batch", C, size / 32, size / 32]);
  return { bytes: await encodePlan(planModel(g, { name: "toy_cnn" })), weight, bias, channels: C };
}

/** Reference of {@linkcode toyCnn}: the Relu feature map `[B, C, h, w]` and its mean `[B, C]`. */
export function toyCnnRef(
  m: ToyCnn,
  px: Float32Array,
  batch: number,
  size: number,
): { features: Float64Array; pooled: Float64Array } {
  const C = m.channels;
  const g = size / 32;
  const features = new Float64Array(batch * C * g * g);
  const pooled = new Float64Array(batch * C);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < C; k++) {
      for (let i = 0; i < g; i++) {
        for (let j = 0; j < g; j++) {
          let acc = m.bias[k];
          for (let c = 0; c < 3; c++) {
            for (let y = 0; y < 32; y++) {
              for (let x = 0; x < 32; x++) {
                acc += m.weight[((k * 3 + c) * 32 + y) * 32 + x] *
                  px[((b * 3 + c) * size + i * 32 + y) * size + j * 32 + x];
              }
            }
          }
          const v = Math.max(0, acc);
          features[((b * C + k) * g + i) * g + j] = v;
          pooled[b * C + k] += v / (g * g);
        }
      }
    }
  }
  return { features, pooled };
}

/**
 * A toy ViT-like token model: input `pixel_values` `[batch, 3, height,
 * width]` (symbolic sides), Conv patch 16 (3→C), tokens
 * `last_hidden_state` `[batch, 1 + h*w, C]` with a constant CLS first.
 */
export async function toyVit(channels = 8): Promise<{ bytes: Uint8Array; cls: Float32Array }> {
  const C = channels;
  const cls = seeded(C, 3);
  const g = new GraphBuilder();
  g.input("pixel_values", ["batch", 3, "height", "width"]);
  const conv = g.op("Conv", [
    "pixel_values",
    g.weight("w", [C, 3, 16, 16], () => seeded(C * 768, 4).map((v) => v * 0.05)),
    g.weight("b", [C], () => seeded(C, 5)),
  ], { kernel_shape: [16, 16], strides: [16, 16] }); // [B, C, h, w]
  const tokens = g.op("Transpose", [g.op("Reshape", [conv, g.constI64([0, C, -1])])], {
    perm: [0, 2, 1],
  }); // [B, hw, C]
  const batch = g.op("Gather", [g.op("Shape", [conv]), g.constI64([0])], { axis: 0 });
  const clsB = g.op("Expand", [
    g.weight("cls", [1, 1, C], () => cls),
    g.op("Concat", [batch, g.constI64([1, C])], { axis: 0 }),
  ]); // [B, 1, C]
  g.op("Concat", [clsB, tokens], { axis: 1 }, "last_hidden_state");
  g.output("last_hidden_state", ["batch", "sequence", C]);
  return { bytes: await encodePlan(planModel(g, { name: "toy_vit" })), cls };
}

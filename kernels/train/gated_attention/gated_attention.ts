// This module is browser compatible.
/**
 * Launchers of the gated-attention family (ABMIL's non-linear pieces):
 * {@linkcode relu}, {@linkcode reluBackward}, {@linkcode gatedScore},
 * {@linkcode softmaxVector}, {@linkcode softmaxVectorBackward} and
 * {@linkcode gatedBackward}. All take persistent buffers (the ABMIL head
 * reuses them for every bag) and an optional command encoder.
 *
 * @module
 */

import type { GpuContext } from "../../../core/gpu.ts";
import { dispatch, getPipeline, writeUniforms } from "../../_runtime.ts";
import { leakyRelu, leakyReluBackward } from "../../leaky_relu/leaky_relu.ts";
import {
  GATED_BACKWARD_WGSL,
  GATED_SCORE_WGSL,
  SOFTMAX_BACKWARD_WGSL,
  SOFTMAX_WGSL,
} from "./gated_attention.wgsl.ts";

const WORKGROUP_SIZE = 64;
const REDUCE_WORKGROUP_SIZE = 256;

/** Sizes of a gated-attention call: N instances, attention dim D. */
export interface GatedDims {
  /** Instances (elements for relu). */
  n: number;
  /** Attention dimension D (unused by relu and softmax). */
  d?: number;
}

/**
 * Checks sizes and buffer capacities without a GPU (`bytes` maps a
 * binding name to [buffer size, elements needed]).
 *
 * @example
 * ```ts
 * import { checkGatedArgs } from "./gated_attention.ts";
 * import assert from "node:assert/strict";
 * checkGatedArgs("gatedScore", { n: 3, d: 2 }, { s: [48, 12] });
 * assert.throws(() => checkGatedArgs("gatedScore", { n: 3, d: 2 }, { s: [40, 12] }), RangeError);
 * assert.throws(() => checkGatedArgs("gatedScore", { n: 0, d: 2 }, {}), RangeError);
 * ```
 */
export function checkGatedArgs(
  op: string,
  dims: GatedDims,
  bytes: Record<string, [number, number]>,
): void {
  for (const [name, v] of Object.entries({ n: dims.n, d: dims.d ?? 1 })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot run ${op} as ${name} must be a positive integer: current value is ${v}`,
      );
    }
  }
  for (const [name, [size, elements]] of Object.entries(bytes)) {
    if (size < elements * 4) {
      throw new RangeError(
        `Cannot run ${op} as buffer ${name} must hold ${elements} f32 values: current size is ${size} bytes`,
      );
    }
  }
}

/** Packs the uniforms {n, d}. */
export function packGatedParams(n: number, d = 0): ArrayBuffer {
  return new Uint32Array([n, d, 0, 0]).buffer;
}

async function run(
  ctx: GpuContext,
  label: string,
  code: string,
  buffers: GPUBuffer[],
  n: number,
  d: number,
  workgroups: number,
  size: number,
  encoder?: GPUCommandEncoder,
): Promise<void> {
  const pipeline = await getPipeline(ctx, { label, code, constants: { WORKGROUP_SIZE: size } });
  dispatch(ctx, {
    label,
    pipeline,
    buffers: [...buffers, writeUniforms(ctx, label, packGatedParams(n, d))],
    workgroups,
    encoder,
  });
}

/**
 * In-place ReLU over the first `n` values of `x`: the activation family's
 * {@linkcode leakyRelu} with slope 0, in place.
 */
export async function relu(
  ctx: GpuContext,
  args: { x: GPUBuffer; n: number; encoder?: GPUCommandEncoder },
): Promise<void> {
  checkGatedArgs("relu", { n: args.n }, { x: [args.x.size, args.n] });
  const x = { buffer: args.x, shape: [args.n], dtype: "f32" as const };
  await leakyRelu(ctx, { x, slope: 0, out: x, encoder: args.encoder });
}

/**
 * `dh ← dh ⊙ [h > 0]` over the first `n` values: {@linkcode leakyReluBackward}
 * with slope 0, in place (the mask of `h = relu(x)` is that of `x`).
 */
export async function reluBackward(
  ctx: GpuContext,
  args: { h: GPUBuffer; dh: GPUBuffer; n: number; encoder?: GPUCommandEncoder },
): Promise<void> {
  checkGatedArgs("reluBackward", { n: args.n }, {
    h: [args.h.size, args.n],
    dh: [args.dh.size, args.n],
  });
  const shape = [args.n];
  const dh = { buffer: args.dh, shape, dtype: "f32" as const };
  await leakyReluBackward(ctx, {
    x: { buffer: args.h, shape, dtype: "f32" },
    dy: dh,
    slope: 0,
    out: dh,
    encoder: args.encoder,
  });
}

/** Gates `g: [N, D]` and attention logits `e: [N]` from `S: [N, 2D]` and `w: [D]`. */
export function gatedScore(
  ctx: GpuContext,
  args: {
    s: GPUBuffer;
    w: GPUBuffer;
    e: GPUBuffer;
    g: GPUBuffer;
    n: number;
    d: number;
    encoder?: GPUCommandEncoder;
  },
): Promise<void> {
  const { n, d } = args;
  checkGatedArgs("gatedScore", { n, d }, {
    s: [args.s.size, n * 2 * d],
    w: [args.w.size, d],
    e: [args.e.size, n],
    g: [args.g.size, n * d],
  });
  return run(
    ctx,
    "gated_score",
    GATED_SCORE_WGSL,
    [args.s, args.w, args.e, args.g],
    n,
    d,
    Math.ceil(n / WORKGROUP_SIZE),
    WORKGROUP_SIZE,
    args.encoder,
  );
}

/** `a = softmax(e)` over the first `n` values (one workgroup). */
export function softmaxVector(
  ctx: GpuContext,
  args: { e: GPUBuffer; a: GPUBuffer; n: number; encoder?: GPUCommandEncoder },
): Promise<void> {
  checkGatedArgs("softmaxVector", { n: args.n }, {
    e: [args.e.size, args.n],
    a: [args.a.size, args.n],
  });
  return run(
    ctx,
    "softmax_vector",
    SOFTMAX_WGSL,
    [args.e, args.a],
    args.n,
    0,
    1,
    REDUCE_WORKGROUP_SIZE,
    args.encoder,
  );
}

/** `de = a ⊙ (da − Σ a·da)` over the first `n` values (one workgroup). */
export function softmaxVectorBackward(
  ctx: GpuContext,
  args: { a: GPUBuffer; da: GPUBuffer; de: GPUBuffer; n: number; encoder?: GPUCommandEncoder },
): Promise<void> {
  checkGatedArgs("softmaxVectorBackward", { n: args.n }, {
    a: [args.a.size, args.n],
    da: [args.da.size, args.n],
    de: [args.de.size, args.n],
  });
  return run(
    ctx,
    "softmax_vector_backward",
    SOFTMAX_BACKWARD_WGSL,
    [args.a, args.da, args.de],
    args.n,
    0,
    1,
    REDUCE_WORKGROUP_SIZE,
    args.encoder,
  );
}

/** `dS: [N, 2D]` of the gated score from `de: [N]`. */
export function gatedBackward(
  ctx: GpuContext,
  args: {
    s: GPUBuffer;
    de: GPUBuffer;
    w: GPUBuffer;
    ds: GPUBuffer;
    n: number;
    d: number;
    encoder?: GPUCommandEncoder;
  },
): Promise<void> {
  const { n, d } = args;
  checkGatedArgs("gatedBackward", { n, d }, {
    s: [args.s.size, n * 2 * d],
    de: [args.de.size, n],
    w: [args.w.size, d],
    ds: [args.ds.size, n * 2 * d],
  });
  return run(
    ctx,
    "gated_backward",
    GATED_BACKWARD_WGSL,
    [args.s, args.de, args.w, args.ds],
    n,
    d,
    Math.ceil(n * d / WORKGROUP_SIZE),
    WORKGROUP_SIZE,
    args.encoder,
  );
}

// This module is browser compatible.
/**
 * Launchers of the rope family: {@linkcode ropeTables} (CPU f64 tables,
 * uploaded once per grid and cached per device) and {@linkcode rope} (the
 * standalone rotation; the attention kernel fuses it).
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import { ROPE_WGSL } from "./rope.wgsl.ts";
import { checkRopeGeometry, type RopeTables, ropeTablesRef } from "./rope_ref.ts";

export type { RopeTables };

const WORKGROUP_SIZE = 64;

/** RoPE tables on the GPU. */
export interface GpuRopeTables {
  /** `[h·w, Dh]`. */
  readonly sin: GpuTensor;
  /** `[h·w, Dh]`. */
  readonly cos: GpuTensor;
  /** Patch grid `[h, w]`. */
  readonly grid: readonly [number, number];
  /** Head dim. */
  readonly headDim: number;
}

/** Uploads host tables (from {@linkcode ropeTablesRef}) as GPU tensors. */
export function uploadRopeTables(
  ctx: GpuContext,
  tables: RopeTables,
  grid: readonly [number, number],
): GpuRopeTables {
  const [P, D] = tables.sin.shape;
  if (P !== grid[0] * grid[1] || formatShape(tables.cos.shape) !== formatShape([P, D])) {
    throw new TypeError(
      `Cannot upload RoPE tables as sin and cos must have shape [${
        grid[0] * grid[1]
      }, Dh]: current shapes are ${formatShape(tables.sin.shape)} and ${
        formatShape(tables.cos.shape)
      }`,
    );
  }
  return {
    sin: ctx.uploadTensor(tables.sin, "rope:sin"),
    cos: ctx.uploadTensor(tables.cos, "rope:cos"),
    grid: [grid[0], grid[1]],
    headDim: D,
  };
}

const CACHE = new WeakMap<GpuContext, Map<string, GpuRopeTables>>();

/**
 * The tables of an `h × w` patch grid on a device: computed on the CPU in
 * f64 and uploaded on first use, then cached per device and geometry.
 *
 * @example
 * ```ts ignore
 * const t = ropeTables(gpu, 14, 14, 64, 100); // sin/cos [196, 64]
 * ```
 */
export function ropeTables(
  ctx: GpuContext,
  h: number,
  w: number,
  headDim: number,
  base: number,
): GpuRopeTables {
  checkRopeGeometry(h, w, headDim, base);
  let byKey = CACHE.get(ctx);
  if (!byKey) CACHE.set(ctx, byKey = new Map());
  const key = `${h}x${w}|${headDim}|${base}`;
  let t = byKey.get(key);
  if (!t) {
    t = uploadRopeTables(ctx, ropeTablesRef(h, w, headDim, base), [h, w]);
    byKey.set(key, t);
  }
  return t;
}

/** Arguments of {@linkcode rope}. */
export interface RopeArgs {
  /**
   * `[B, N, S]` with `N = prefix + h·w` and `S >= blocks·heads·Dh`; rotated
   * in place.
   */
  x: GpuTensor;
  /** The grid's tables. */
  tables: GpuRopeTables;
  /** Attention heads. */
  heads: number;
  /** Unrotated tokens before the patches (1 + registers). */
  prefix: number;
  /** Consecutive blocks of `heads·Dh` channels to rotate (2 for q and k of a packed qkv). @default {1} */
  blocks?: number;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Validates rope arguments without a GPU; returns `[B, N, heads, Dh]`.
 *
 * @example
 * ```ts
 * import { checkRopeArgs } from "./rope.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkRopeArgs({ x: [2, 201, 384], table: [196, 64], heads: 6, prefix: 5 }), [2, 201, 6, 64]);
 * assert.deepEqual(checkRopeArgs({ x: [2, 201, 1152], table: [196, 64], heads: 6, prefix: 5, blocks: 2 }), [2, 201, 6, 64]);
 * assert.throws(() => checkRopeArgs({ x: [2, 201, 384], table: [196, 64], heads: 6, prefix: 4 }), TypeError);
 * ```
 */
export function checkRopeArgs(s: {
  x: readonly number[];
  table: readonly number[];
  heads: number;
  prefix: number;
  blocks?: number;
}): [number, number, number, number] {
  const [P, D] = s.table;
  const blocks = s.blocks ?? 1;
  if (
    !Number.isInteger(s.heads) || s.heads < 1 || !Number.isInteger(s.prefix) || s.prefix < 0 ||
    !Number.isInteger(blocks) || blocks < 1
  ) {
    throw new RangeError(
      `Cannot run rope as heads and blocks must be >= 1 and prefix >= 0: current values are ${s.heads}, ${blocks} and ${s.prefix}`,
    );
  }
  const N = s.prefix + P;
  if (s.x.length !== 3 || s.x[1] !== N || s.x[2] < blocks * s.heads * D || D % 2 !== 0) {
    throw new TypeError(
      `Cannot run rope as x must have shape [B, ${N}, >= ${blocks}·${s.heads}·${D}]: current shape is ${
        formatShape(s.x)
      }`,
    );
  }
  return [s.x[0], N, s.heads, D];
}

/** Rotates the patch tokens of every head in place. */
export async function rope(ctx: GpuContext, args: RopeArgs): Promise<void> {
  const blocks = args.blocks ?? 1;
  const [B, N, H, D] = checkRopeArgs({
    x: args.x.shape,
    table: args.tables.sin.shape,
    heads: args.heads,
    prefix: args.prefix,
    blocks,
  });
  if (args.x.dtype !== "f32") {
    throw new TypeError(`Cannot run rope as x must be f32: current dtype is ${args.x.dtype}`);
  }
  const pipeline = await getPipeline(ctx, {
    label: "rope",
    code: ROPE_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  const vectors = B * (N - args.prefix) * blocks * H;
  dispatch(ctx, {
    label: "rope",
    pipeline,
    buffers: [
      args.tables.sin.buffer,
      args.tables.cos.buffer,
      args.x.buffer,
      writeUniforms(
        ctx,
        "rope",
        new Uint32Array([B, N, H, D, args.prefix, blocks, args.x.shape[2], 0]).buffer,
      ),
    ],
    workgroups: Math.ceil(vectors / WORKGROUP_SIZE),
    encoder: args.encoder,
  });
}

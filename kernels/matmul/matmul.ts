// This module is browser compatible.
/**
 * Launcher of the matmul family: `y = x · wᵀ + bias` (PyTorch `Linear`
 * layout, `w: [N, K]`) with fused epilogues — exact-erf GELU, or
 * LayerScale + residual add (`y = residual + gamma ⊙ (x · wᵀ + bias)`) —
 * and an optional output row remap that writes rows into a larger tensor
 * (the patch embedding writes its rows after the CLS and register tokens).
 *
 * Two kernels: `"blocked"` (register-blocked, vec4 along K, 8×8 outputs per
 * thread on software adapters; needs `K % 4 == 0`) and `"naive"` (one output
 * per thread, the benchmark baseline, any K). `"auto"` picks blocked when it
 * can.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../core/gpu.ts";
import { formatShape, numel } from "../../core/tensor.ts";
import { dispatch, getPipeline, writeUniforms } from "../_runtime.ts";
import {
  MATMUL_NAIVE_WGSL,
  MATMUL_TILE_HARDWARE,
  MATMUL_TILE_SOFTWARE,
  type MatmulTile,
  matmulTiledBytes,
  matmulTiledWgsl,
  matmulWgsl,
} from "./matmul.wgsl.ts";
import type { MatmulEpilogue } from "./matmul_ref.ts";

export type { MatmulEpilogue, MatmulTile };

const EPILOGUES: Record<MatmulEpilogue, number> = {
  none: 0,
  gelu: 1,
  "layer_scale_residual": 2,
};

/**
 * Output row remap: logical row `r` is stored at row
 * `floor(r / group) · stride + offset + r % group` of `out`.
 */
export interface MatmulRowMap {
  /** Rows per group (e.g. patches per image). */
  group: number;
  /** Output rows between groups (e.g. tokens per image). */
  stride: number;
  /** Output row of the first row of each group (e.g. 1 + registers). */
  offset: number;
}

/**
 * Which kernel runs: `"blocked"` (register blocks, no workgroup memory),
 * `"tiled"` (the same register blocks fed from workgroup-memory tiles),
 * `"naive"` (one output per thread, any K), or `"auto"`: naive when K is not
 * a multiple of 4, else tiled on a hardware adapter whose
 * `maxComputeWorkgroupStorageSize` holds the tiles, else blocked.
 */
export type MatmulVariant = "auto" | "blocked" | "tiled" | "naive";

/** Arguments of {@linkcode matmul}. */
export interface MatmulArgs {
  /** `[..., K]`; the leading axes are flattened to M rows. */
  x: GpuTensor;
  /** `[N, K]` (PyTorch `Linear.weight`). */
  weight: GpuTensor;
  /** `[N]`. */
  bias?: GpuTensor;
  /** @default {"none"} */
  epilogue?: MatmulEpilogue;
  /** `[N]` LayerScale, required by `"layer_scale_residual"`. */
  gamma?: GpuTensor;
  /** Same shape as the output, required by `"layer_scale_residual"`; must not be `out`. */
  residual?: GpuTensor;
  /** Destination, `[..., N]`; allocated when absent. */
  out?: GpuTensor;
  /** Row remap into `out` (requires `out`). */
  outRows?: MatmulRowMap;
  /** @default {"auto"} */
  variant?: MatmulVariant;
  /** Register tile of the blocked kernel. @default by adapter (software or hardware) */
  tile?: MatmulTile;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/** Shapes (and identities, for aliasing) checked by {@linkcode checkMatmulArgs}. */
export interface MatmulShapes {
  /** x shape. */
  x: readonly number[];
  /** weight shape. */
  weight: readonly number[];
  /** bias shape. */
  bias?: readonly number[];
  /** gamma shape. */
  gamma?: readonly number[];
  /** residual shape. */
  residual?: readonly number[];
  /** out shape. */
  out?: readonly number[];
  /** Epilogue. */
  epilogue?: string;
  /** Row remap. */
  outRows?: MatmulRowMap;
  /** Variant. */
  variant?: string;
  /** dtypes of every tensor given. */
  dtypes?: readonly string[];
}

/** What {@linkcode checkMatmulArgs} derives. */
export interface MatmulPlan {
  /** Rows. */
  m: number;
  /** Output columns. */
  n: number;
  /** Reduction length. */
  k: number;
  /** Output shape (the given `out`'s, or `[...x.shape[:-1], n]`). */
  outShape: number[];
  /** The kernel that will run (`"blocked"` may become `"tiled"` on a hardware adapter, see {@linkcode MatmulVariant}). */
  variant: "blocked" | "tiled" | "naive";
  /** Row remap in effect (identity when none was given). */
  rows: MatmulRowMap;
}

/**
 * Validates matmul arguments without a GPU. Throws `TypeError` for wrong
 * shapes, dtypes or missing epilogue operands and `RangeError` for a row
 * remap that writes outside `out`.
 *
 * @example
 * ```ts
 * import { checkMatmulArgs } from "./matmul.ts";
 * import assert from "node:assert/strict";
 * const p = checkMatmulArgs({ x: [2, 201, 384], weight: [1152, 384] });
 * assert.deepEqual([p.m, p.n, p.k, p.variant], [402, 1152, 384, "blocked"]);
 * assert.throws(() => checkMatmulArgs({ x: [201, 384], weight: [384, 768] }), TypeError);
 * ```
 */
export function checkMatmulArgs(s: MatmulShapes): MatmulPlan {
  const fail = (what: string, expected: readonly (number | string)[], actual: readonly number[]) =>
    new TypeError(
      `Cannot run matmul as ${what} must have shape [${expected.join(", ")}]: current shape is ${
        formatShape(actual)
      }`,
    );
  if (s.x.length < 1) throw fail("x", ["*", "K"], s.x);
  const k = s.x[s.x.length - 1];
  const m = numel(s.x) / Math.max(k, 1);
  if (s.weight.length !== 2 || s.weight[1] !== k) throw fail("weight", ["N", k], s.weight);
  const n = s.weight[0];
  const epilogue = s.epilogue ?? "none";
  if (!(epilogue in EPILOGUES)) {
    throw new TypeError(
      `Cannot run matmul as epilogue must be "none", "gelu" or "layer_scale_residual": current value is "${epilogue}"`,
    );
  }
  const variant = s.variant ?? "auto";
  if (!["auto", "blocked", "tiled", "naive"].includes(variant)) {
    throw new TypeError(
      `Cannot run matmul as variant must be "auto", "blocked", "tiled" or "naive": current value is "${variant}"`,
    );
  }
  if ((variant === "blocked" || variant === "tiled") && k % 4 !== 0) {
    throw new TypeError(
      `Cannot run the ${variant} matmul as K must be a multiple of 4: current K is ${k}; use variant "naive" or "auto"`,
    );
  }
  for (const d of s.dtypes ?? []) {
    if (d !== "f32") {
      throw new TypeError(`Cannot run matmul as every tensor must be f32: current dtype is ${d}`);
    }
  }
  if (s.bias && (s.bias.length !== 1 || s.bias[0] !== n)) throw fail("bias", [n], s.bias);
  if (s.outRows && !s.out) {
    throw new TypeError("Cannot run matmul as a row remap (outRows) needs an out tensor");
  }
  const outShape = s.out ? [...s.out] : [...s.x.slice(0, -1), n];
  if (outShape[outShape.length - 1] !== n) throw fail("out", ["*", n], outShape);
  const outRowCount = numel(outShape) / Math.max(n, 1);
  const rows = s.outRows ?? { group: Math.max(m, 1), stride: 0, offset: 0 };
  if (!Number.isInteger(rows.group) || rows.group < 1 || rows.stride < 0 || rows.offset < 0) {
    throw new RangeError(
      `Cannot run matmul as outRows must have group >= 1, stride >= 0, offset >= 0: current value is ${
        JSON.stringify(rows)
      }`,
    );
  }
  if (m > 0) {
    const last = Math.floor((m - 1) / rows.group) * rows.stride + rows.offset +
      (m - 1) % rows.group;
    if (last >= outRowCount) {
      throw new RangeError(
        `Cannot run matmul as the row remap must stay inside out (${outRowCount} rows): current last row is ${last}`,
      );
    }
  }
  if (epilogue === "layer_scale_residual") {
    if (!s.gamma || s.gamma.length !== 1 || s.gamma[0] !== n) {
      throw fail("gamma", [n], s.gamma ?? []);
    }
    if (!s.residual || formatShape(s.residual) !== formatShape(outShape)) {
      throw fail("residual", outShape, s.residual ?? []);
    }
  }
  return {
    m,
    n,
    k,
    outShape,
    variant: variant === "naive" || k % 4 !== 0
      ? "naive"
      : variant === "tiled"
      ? "tiled"
      : "blocked",
    rows,
  };
}

/**
 * Packs the 32-byte uniform block: m, n, k, out_group, out_stride,
 * out_offset, pad, pad (all u32).
 *
 * @example
 * ```ts
 * import { packMatmulParams } from "./matmul.ts";
 * import assert from "node:assert/strict";
 * const u = new Uint32Array(packMatmulParams(392, 384, 768, { group: 196, stride: 201, offset: 5 }));
 * assert.deepEqual([...u], [392, 384, 768, 196, 201, 5, 0, 0]);
 * ```
 */
export function packMatmulParams(m: number, n: number, k: number, rows: MatmulRowMap): ArrayBuffer {
  return new Uint32Array([m, n, k, rows.group, rows.stride, rows.offset, 0, 0]).buffer;
}

function fitsTiles(ctx: GpuContext, tile: MatmulTile): boolean {
  return matmulTiledBytes(tile) <= ctx.device.limits.maxComputeWorkgroupStorageSize;
}

/**
 * Whether `"auto"` runs the workgroup-memory tiles: on a hardware adapter
 * whose workgroup storage holds them (on llvmpipe workgroup memory does not
 * help; the register blocks stay the fastest there).
 */
export function useTiles(ctx: GpuContext, tile: MatmulTile = defaultMatmulTile(ctx)): boolean {
  return !ctx.info.isSoftware && fitsTiles(ctx, tile);
}

/** The default register tile for an adapter. */
export function defaultMatmulTile(ctx: GpuContext): MatmulTile {
  return ctx.info.isSoftware ? MATMUL_TILE_SOFTWARE : MATMUL_TILE_HARDWARE;
}

/**
 * `x · wᵀ + bias` with an epilogue, into `out` (or a new tensor).
 *
 * @example
 * ```ts ignore
 * const y = await matmul(gpu, { x, weight, bias, epilogue: "gelu" }); // [M, N]
 * ```
 */
export async function matmul(ctx: GpuContext, args: MatmulArgs): Promise<GpuTensor> {
  const given = [args.x, args.weight, args.bias, args.gamma, args.residual, args.out]
    .filter((t): t is GpuTensor => t !== undefined);
  const plan = checkMatmulArgs({
    x: args.x.shape,
    weight: args.weight.shape,
    bias: args.bias?.shape,
    gamma: args.gamma?.shape,
    residual: args.residual?.shape,
    out: args.out?.shape,
    epilogue: args.epilogue,
    outRows: args.outRows,
    variant: args.variant,
    dtypes: given.map((t) => t.dtype),
  });
  const out = args.out ??
    {
      buffer: ctx.createStorageBuffer(numel(plan.outShape) * 4, "matmul:out"),
      shape: plan.outShape,
      dtype: "f32" as const,
    };
  const read = [args.x, args.weight, args.bias, args.gamma, args.residual];
  if (read.some((t) => t?.buffer === out.buffer)) {
    throw new TypeError("Cannot run matmul as out must not share a buffer with an input");
  }
  const epilogue = args.epilogue ?? "none";
  const tile = args.tile ?? defaultMatmulTile(ctx);
  const naive = plan.variant === "naive";
  const tiled = plan.variant === "tiled" ||
    (plan.variant === "blocked" && (args.variant ?? "auto") === "auto" && useTiles(ctx, tile));
  if (tiled && !fitsTiles(ctx, tile)) {
    throw new RangeError(
      `Cannot run the tiled matmul as its tiles need ${
        matmulTiledBytes(tile)
      } bytes of workgroup memory: the adapter's maxComputeWorkgroupStorageSize is ${ctx.device.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  const pipeline = await getPipeline(ctx, {
    label: naive ? "matmul_naive" : tiled ? "matmul_tiled" : "matmul",
    code: naive ? MATMUL_NAIVE_WGSL : tiled ? matmulTiledWgsl(tile) : matmulWgsl(tile),
    constants: { EPILOGUE: EPILOGUES[epilogue], HAS_BIAS: args.bias ? 1 : 0 },
  });
  const params = writeUniforms(
    ctx,
    "matmul",
    packMatmulParams(plan.m, plan.n, plan.k, plan.rows),
  );
  const dummy = args.weight.buffer;
  const workgroups: [number, number, number] = naive
    ? [Math.ceil(plan.n / 8), Math.ceil(plan.m / 8), 1]
    : [
      Math.ceil(plan.n / (tile.wgX * tile.cols)),
      Math.ceil(plan.m / (tile.wgY * tile.rows)),
      1,
    ];
  dispatch(ctx, {
    label: naive ? "matmul_naive" : "matmul",
    pipeline,
    buffers: [
      args.x.buffer,
      args.weight.buffer,
      args.bias?.buffer ?? dummy,
      args.gamma?.buffer ?? dummy,
      args.residual?.buffer ?? dummy,
      out.buffer,
      params,
    ],
    workgroups,
    encoder: args.encoder,
  });
  return out;
}

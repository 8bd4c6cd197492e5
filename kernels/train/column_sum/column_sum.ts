// This module is browser compatible.
/**
 * Launcher of the reduction family: {@linkcode columnSum}. Used for bias
 * gradients (`db = Σ_n dy[n]`) and for summing per-sample losses into one
 * slot of an epoch's loss buffer. Narrow matrices (fewer than
 * {@linkcode WIDE_COLUMNS} columns) use a workgroup per column with a tree
 * reduction; wide ones a thread per column.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { dispatch, getPipeline, writeUniforms } from "../../_runtime.ts";
import { checkHolds, checkMatrix, outputTensor, type ShapeLike } from "../_util.ts";
import { COLUMN_SUM_WGSL, COLUMN_SUM_WIDE_WGSL } from "./column_sum.wgsl.ts";

const WORKGROUP_SIZE = 64;
/** From this many columns on, one thread per column beats a workgroup per column. */
export const WIDE_COLUMNS = 64;

/** Arguments of {@linkcode columnSum}. */
export interface ColumnSumArgs {
  /** The matrix `[R, C]`. */
  x: GpuTensor;
  /** Multiplier of the sums. @default {1} */
  alpha?: number;
  /** Write into this buffer (at element `offset`) instead of a new one. */
  out?: GpuTensor;
  /** First element written in `out`. @default {0} */
  offset?: number;
  /** Record into this encoder instead of submitting. */
  encoder?: GPUCommandEncoder;
}

/**
 * Checks column-sum arguments without a GPU and returns `[R, C]`.
 *
 * @example
 * ```ts
 * import { checkColumnSumArgs } from "./column_sum.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkColumnSumArgs({ shape: [5, 3] }), [5, 3]);
 * assert.throws(() => checkColumnSumArgs({ shape: [5] }), TypeError);
 * assert.throws(() => checkColumnSumArgs({ shape: [5, 3] }, 1.5), RangeError);
 * ```
 */
export function checkColumnSumArgs(x: ShapeLike, offset = 0, alpha = 1): [number, number] {
  const rc = checkMatrix("columnSum", "x", x);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(
      `Cannot run columnSum as offset must be a non-negative integer: current value is ${offset}`,
    );
  }
  if (!Number.isFinite(alpha)) {
    throw new RangeError(`Cannot run columnSum as alpha must be finite: current value is ${alpha}`);
  }
  return rc;
}

/** Packs the uniforms: rows, cols, offset (u32), alpha (f32). */
export function packColumnSumParams(
  rows: number,
  cols: number,
  offset: number,
  alpha: number,
): ArrayBuffer {
  const p = new DataView(new ArrayBuffer(16));
  p.setUint32(0, rows, true);
  p.setUint32(4, cols, true);
  p.setUint32(8, offset, true);
  p.setFloat32(12, alpha, true);
  return p.buffer;
}

/**
 * `out[offset + c] = alpha · Σ_r x[r, c]`; returns the `[C]` view of the
 * written slots (a new tensor when `out` is not given).
 *
 * @example
 * ```ts ignore
 * const db = await columnSum(gpu, { x: dy }); // [K]
 * ```
 */
export async function columnSum(ctx: GpuContext, args: ColumnSumArgs): Promise<GpuTensor> {
  const offset = args.offset ?? 0;
  const alpha = args.alpha ?? 1;
  const [rows, cols] = checkColumnSumArgs(args.x, offset, alpha);
  checkHolds("columnSum", "x", args.x);
  const out = outputTensor(ctx, "columnSum", args.out, [offset + cols], "column_sum:out");
  const wide = cols >= WIDE_COLUMNS;
  const label = wide ? "column_sum_wide" : "column_sum";
  const pipeline = await getPipeline(ctx, {
    label,
    code: wide ? COLUMN_SUM_WIDE_WGSL : COLUMN_SUM_WGSL,
    constants: { WORKGROUP_SIZE },
  });
  dispatch(ctx, {
    label,
    pipeline,
    buffers: [
      args.x.buffer,
      out.buffer,
      writeUniforms(ctx, "column_sum", packColumnSumParams(rows, cols, offset, alpha)),
    ],
    workgroups: wide ? Math.ceil(cols / WORKGROUP_SIZE) : cols,
    encoder: args.encoder,
  });
  return { buffer: out.buffer, shape: [offset + cols], dtype: "f32" };
}

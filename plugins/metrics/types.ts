// This module is browser compatible.
/**
 * Input types shared by the metric families.
 *
 * @module
 */

/**
 * A dense row-major array with its shape (last axis fastest). A core
 * `HostTensor` fits, and so does `{ data: Uint8Array, shape: [D, H, W] }`.
 */
export interface ShapedArray {
  /** The values, row-major. */
  readonly data: ArrayLike<number>;
  /** The extent of each axis. */
  readonly shape: readonly number[];
}

/**
 * A vector `[N]` or a matrix `[N, K]` of numbers, rows being samples: a flat
 * array (`[N]`), a list of N rows of K numbers, or a {@linkcode ShapedArray}
 * of rank 1 or 2.
 */
export type MatrixInput = ArrayLike<number> | readonly ArrayLike<number>[] | ShapedArray;

/**
 * An integer label map of any rank up to 3 (`[W]`, `[H, W]` or `[D, H, W]`):
 * class indices for semantic segmentation.
 */
export type LabelMap = ShapedArray;

/**
 * Integer instance labels, possibly 64-bit (CREMI stores uint64 neuron ids,
 * which h5wasm returns as `BigUint64Array`). Labels must be non-negative
 * integers; number arrays must hold safe integers.
 */
export type LabelData = ArrayLike<number> | BigUint64Array | BigInt64Array;

/** An instance label volume with its shape, e.g. `[D, H, W]`. */
export interface LabelVolume {
  /** The labels, row-major. */
  readonly data: LabelData;
  /** The extent of each axis. */
  readonly shape: readonly number[];
}

// This module is browser compatible.
/**
 * CPU references of trilinear resampling for channel-major volumes
 * `[N, C, D, H, W]` and its backward pass.
 *
 * Each output index `o` along an axis reads the input at the continuous
 * coordinate `s = o · scale + offset`, clamped to `[0, size − 1]`, and
 * interpolates linearly between `floor(s)` and the next voxel. With
 * `scale = in / out` and `offset = scale / 2 − 1/2` this is PyTorch's
 * `F.interpolate(mode="trilinear", align_corners=False)`; other offsets
 * express crops of a larger grid (sliding windows) exactly.
 *
 * @module
 */

import type { HostTensor } from "../../core/tensor.ts";

/** Per-axis affine map from output index to input coordinate, `[z, y, x]`. */
export interface ResampleMapping {
  /** Input voxels per output voxel. */
  readonly scale: readonly [number, number, number];
  /** Input coordinate of output index 0. */
  readonly offset: readonly [number, number, number];
}

/**
 * The mapping of a resize from `input` to `output` extents (pixel centres
 * aligned, `align_corners=False`). When the output is a crop of a larger
 * grid of extents `outputGrid` starting at `outputStart`, and the input a
 * crop of `inputGrid` starting at `inputStart`, the mapping is that of the
 * whole grids, expressed in crop coordinates.
 *
 * @example
 * ```ts
 * import { resizeMapping } from "./upsample3d_ref.ts";
 * import assert from "node:assert/strict";
 * const m = resizeMapping([4, 8, 8], [4, 16, 16]);
 * assert.deepEqual(m.scale, [1, 0.5, 0.5]);
 * assert.deepEqual(m.offset, [0, -0.25, -0.25]);
 * ```
 */
export function resizeMapping(
  input: readonly number[],
  output: readonly number[],
  options: {
    inputGrid?: readonly number[];
    outputGrid?: readonly number[];
    inputStart?: readonly number[];
    outputStart?: readonly number[];
  } = {},
): ResampleMapping {
  const scale = [0, 1, 2].map((a) =>
    (options.inputGrid ?? input)[a] / (options.outputGrid ?? output)[a]
  );
  const offset = [0, 1, 2].map((a) =>
    ((options.outputStart?.[a] ?? 0) + 0.5) * scale[a] - 0.5 - (options.inputStart?.[a] ?? 0)
  );
  return {
    scale: scale as [number, number, number],
    offset: offset as [number, number, number],
  };
}

/**
 * The two taps and the weight of the second along one axis: output index
 * `o` reads `(1 − f)·in[i0] + f·in[i1]`.
 */
export function axisTaps(
  o: number,
  scale: number,
  offset: number,
  size: number,
): [number, number, number] {
  const s = Math.min(Math.max(o * scale + offset, 0), size - 1);
  const i0 = Math.floor(s);
  const i1 = Math.min(i0 + 1, size - 1);
  return [i0, i1, s - i0];
}

/**
 * Trilinear resampling of `x [N, C, D, H, W]` to `[N, C, ...outSize]`.
 *
 * @example Doubling a 2-voxel row
 * ```ts
 * import { upsample3dRef, resizeMapping } from "./upsample3d_ref.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([0, 4]), shape: [1, 1, 1, 1, 2] };
 * const y = upsample3dRef(x, [1, 1, 4], resizeMapping([1, 1, 2], [1, 1, 4]));
 * assert.deepEqual([...y.data], [0, 1, 3, 4]);
 * ```
 */
export function upsample3dRef(
  x: HostTensor,
  outSize: readonly [number, number, number],
  mapping: ResampleMapping,
): HostTensor {
  const [n, c, d, h, w] = x.shape;
  const [od, oh, ow] = outSize;
  const out = new Float32Array(n * c * od * oh * ow);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * d * h * w;
    for (let z = 0; z < od; z++) {
      const [z0, z1, fz] = axisTaps(z, mapping.scale[0], mapping.offset[0], d);
      for (let y = 0; y < oh; y++) {
        const [y0, y1, fy] = axisTaps(y, mapping.scale[1], mapping.offset[1], h);
        for (let xx = 0; xx < ow; xx++) {
          const [x0, x1, fx] = axisTaps(xx, mapping.scale[2], mapping.offset[2], w);
          const at = (a: number, b: number, e: number) => x.data[base + (a * h + b) * w + e];
          const v = (1 - fz) * ((1 - fy) * ((1 - fx) * at(z0, y0, x0) + fx * at(z0, y0, x1)) +
                fy * ((1 - fx) * at(z0, y1, x0) + fx * at(z0, y1, x1))) +
            fz * ((1 - fy) * ((1 - fx) * at(z1, y0, x0) + fx * at(z1, y0, x1)) +
                fy * ((1 - fx) * at(z1, y1, x0) + fx * at(z1, y1, x1)));
          out[o++] = v;
        }
      }
    }
  }
  return { data: out, shape: [n, c, od, oh, ow] };
}

/**
 * Gradient of {@linkcode upsample3dRef} with respect to its input: each
 * output gradient scattered to its 8 input taps with the same weights.
 *
 * @example
 * ```ts
 * import { upsample3dBackwardRef, resizeMapping } from "./upsample3d_ref.ts";
 * import assert from "node:assert/strict";
 * const dy = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 1, 1, 1, 4] };
 * const dx = upsample3dBackwardRef(dy, [1, 1, 1, 1, 2], resizeMapping([1, 1, 2], [1, 1, 4]));
 * assert.deepEqual([...dx.data], [2, 2]);
 * ```
 */
export function upsample3dBackwardRef(
  dy: HostTensor,
  inputShape: readonly number[],
  mapping: ResampleMapping,
): HostTensor {
  const [n, c, d, h, w] = inputShape;
  const [, , od, oh, ow] = dy.shape;
  const dx = new Float64Array(n * c * d * h * w);
  let o = 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * d * h * w;
    for (let z = 0; z < od; z++) {
      const [z0, z1, fz] = axisTaps(z, mapping.scale[0], mapping.offset[0], d);
      for (let y = 0; y < oh; y++) {
        const [y0, y1, fy] = axisTaps(y, mapping.scale[1], mapping.offset[1], h);
        for (let xx = 0; xx < ow; xx++) {
          const [x0, x1, fx] = axisTaps(xx, mapping.scale[2], mapping.offset[2], w);
          const g = dy.data[o++];
          const add = (a: number, b: number, e: number, wt: number) => {
            dx[base + (a * h + b) * w + e] += g * wt;
          };
          add(z0, y0, x0, (1 - fz) * (1 - fy) * (1 - fx));
          add(z0, y0, x1, (1 - fz) * (1 - fy) * fx);
          add(z0, y1, x0, (1 - fz) * fy * (1 - fx));
          add(z0, y1, x1, (1 - fz) * fy * fx);
          add(z1, y0, x0, fz * (1 - fy) * (1 - fx));
          add(z1, y0, x1, fz * (1 - fy) * fx);
          add(z1, y1, x0, fz * fy * (1 - fx));
          add(z1, y1, x1, fz * fy * fx);
        }
      }
    }
  }
  return { data: Float32Array.from(dx), shape: [...inputShape] };
}

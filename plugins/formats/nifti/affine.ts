// This module is browser compatible.
/**
 * Voxel-to-world geometry shared by the NIfTI reader and writer (and usable
 * for DICOM series): quaternion (qform) ↔ matrix conversion (nibabel's reading,
 * `nifti_mat44_to_quatern` for writing), axis orientation codes
 * (nibabel's `io_orientation`/`aff2axcodes`), and the index permutation that
 * brings an image to the canonical RAS+ orientation.
 *
 * Matrices are row-major `number[][]` (4×4 for affines, 3×3 for rotations)
 * in float64.
 *
 * @module
 */

/** A 4×4 row-major matrix. */
export type Mat4 = number[][];

/** One voxel axis of an orientation: which world axis it follows and in which direction. */
export interface AxisOrientation {
  /** World axis index: 0 = x (R/L), 1 = y (A/P), 2 = z (S/I). */
  readonly axis: number;
  /** +1 when the voxel axis points to R/A/S, -1 when it points to L/P/I. */
  readonly flip: 1 | -1;
}

/** The quaternion form of a NIfTI affine (the `quatern_*`, `qoffset_*`, `pixdim` and qfac fields). */
export interface Quaternion {
  /** Quaternion b, c, d (a is implied, non-negative). */
  readonly b: number;
  /** Quaternion c. */
  readonly c: number;
  /** Quaternion d. */
  readonly d: number;
  /** Offsets x, y, z (mm). */
  readonly offset: readonly [number, number, number];
  /** Voxel sizes along i, j, k (positive). */
  readonly pixdim: readonly [number, number, number];
  /** +1 or -1: the sign of the third column (pixdim[0] in the header). */
  readonly qfac: 1 | -1;
}

/** Returns the 4×4 identity matrix. */
export function createIdentity4(): Mat4 {
  return [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
}

/** Multiplies two 4×4 matrices. */
export function multiplyMat4(a: Mat4, b: Mat4): Mat4 {
  const out: Mat4 = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i][k] * b[k][j];
      out[i][j] = s;
    }
  }
  return out;
}

/**
 * The affine of a NIfTI qform: rotation from the quaternion, scaled by
 * pixdim with the third column times qfac, plus the offsets. As nibabel
 * (the fixtures' reference reader) does it: a = √(1 − b² − c² − d²), or 0
 * when that is negative, and the rotation is normalised by a² + b² + c² +
 * d² (this equals `nifti_quatern_to_mat44` except when a² is below 1e-7,
 * where nifti1_io forces a = 0). Non-positive pixdim counts as 1.
 *
 * @example The identity quaternion gives a diagonal matrix
 * ```ts
 * import { convertQuaternToAffine } from "./affine.ts";
 * import assert from "node:assert/strict";
 * const m = convertQuaternToAffine({ b: 0, c: 0, d: 0, offset: [1, 2, 3], pixdim: [2, 2, 2], qfac: 1 });
 * assert.deepEqual(m, [[2, 0, 0, 1], [0, 2, 0, 2], [0, 0, 2, 3], [0, 0, 0, 1]]);
 * ```
 */
export function convertQuaternToAffine(q: Quaternion): Mat4 {
  const { b, c, d } = q;
  const w2 = 1 - (b * b + c * c + d * d);
  const a = w2 > 0 ? Math.sqrt(w2) : 0;
  const n = a * a + b * b + c * c + d * d;
  const s = n > 0 ? 2 / n : 0;
  const xd = q.pixdim[0] > 0 ? q.pixdim[0] : 1;
  const yd = q.pixdim[1] > 0 ? q.pixdim[1] : 1;
  let zd = q.pixdim[2] > 0 ? q.pixdim[2] : 1;
  if (q.qfac < 0) zd = -zd;
  const [X, Y, Z] = [b * s, c * s, d * s];
  const [wX, wY, wZ] = [a * X, a * Y, a * Z];
  const [xX, xY, xZ] = [b * X, b * Y, b * Z];
  const [yY, yZ, zZ] = [c * Y, c * Z, d * Z];
  return [
    [(1 - (yY + zZ)) * xd, (xY - wZ) * yd, (xZ + wY) * zd, q.offset[0]],
    [(xY + wZ) * xd, (1 - (xX + zZ)) * yd, (yZ - wX) * zd, q.offset[1]],
    [(xZ - wY) * xd, (yZ + wX) * yd, (1 - (xX + yY)) * zd, q.offset[2]],
    [0, 0, 0, 1],
  ];
}

function det3(m: number[][]): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

function inverse3(m: number[][]): number[][] {
  const d = det3(m);
  return [
    [
      (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d,
      (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / d,
      (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d,
    ],
    [
      (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / d,
      (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d,
      (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / d,
    ],
    [
      (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d,
      (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / d,
      (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d,
    ],
  ];
}

/**
 * The orthogonal matrix nearest to a 3×3 matrix (polar decomposition by
 * Newton iteration, as `nifti_mat33_polar`). A singular input is nudged
 * until it is invertible.
 */
export function computePolar3(m: readonly (readonly number[])[]): number[][] {
  let x = m.map((r) => [...r]);
  let tries = 0;
  while (Math.abs(det3(x)) < 1e-12 && tries < 10) {
    const bump = 1e-5 * (1 + tries);
    x = x.map((r, i) => r.map((v, j) => (i === j ? v + bump : v)));
    tries++;
  }
  for (let k = 0; k < 100; k++) {
    const inv = inverse3(x);
    const next = x.map((r, i) => r.map((v, j) => 0.5 * (v + inv[j][i])));
    let diff = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) diff += Math.abs(next[i][j] - x[i][j]);
    x = next;
    if (diff < 1e-14) break;
  }
  return x;
}

/**
 * The quaternion form of an affine (`nifti_mat44_to_quatern`): column norms
 * become pixdim, the nearest rotation gives the quaternion, and a negative
 * determinant gives qfac = -1. Shear, if any, is dropped (the sform keeps it).
 *
 * @example Round trip through the quaternion form
 * ```ts
 * import { convertAffineToQuatern, convertQuaternToAffine } from "./affine.ts";
 * import assert from "node:assert/strict";
 * const affine = [[-0.8, 0, 0, 25], [0, -0.8, 0, 22], [0, 0, 3, -180], [0, 0, 0, 1]];
 * const back = convertQuaternToAffine(convertAffineToQuatern(affine));
 * for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(back[i][j] - affine[i][j]) < 1e-12);
 * ```
 */
export function convertAffineToQuatern(affine: readonly (readonly number[])[]): Quaternion {
  const r = [0, 1, 2].map((i) => [affine[i][0], affine[i][1], affine[i][2]]);
  const pixdim: [number, number, number] = [0, 0, 0];
  for (let j = 0; j < 3; j++) {
    let n = Math.hypot(r[0][j], r[1][j], r[2][j]);
    if (n === 0) {
      for (let i = 0; i < 3; i++) r[i][j] = i === j ? 1 : 0;
      n = 1;
    }
    pixdim[j] = n;
    for (let i = 0; i < 3; i++) r[i][j] /= n;
  }
  const p = computePolar3(r);
  let qfac: 1 | -1 = 1;
  if (det3(p) <= 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) p[i][2] = -p[i][2];
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = p;
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = 0.25 * (r32 - r23) / a;
    c = 0.25 * (r13 - r31) / a;
    d = 0.25 * (r21 - r12) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = 0.25 * (r12 + r21) / b;
      d = 0.25 * (r13 + r31) / b;
      a = 0.25 * (r32 - r23) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = 0.25 * (r12 + r21) / c;
      d = 0.25 * (r23 + r32) / c;
      a = 0.25 * (r13 - r31) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = 0.25 * (r13 + r31) / d;
      c = 0.25 * (r23 + r32) / d;
      a = 0.25 * (r21 - r12) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return {
    b,
    c,
    d,
    offset: [affine[0][3], affine[1][3], affine[2][3]],
    pixdim,
    qfac,
  };
}

/**
 * Which world axis each voxel axis follows, and in which direction (nibabel's
 * `io_orientation`): columns are normalised, replaced by the nearest
 * orthogonal matrix, and assigned greedily to the world axis they change most,
 * so two voxel axes never share a world axis.
 *
 * @example An LPS affine
 * ```ts
 * import { getAffineOrientation } from "./affine.ts";
 * import assert from "node:assert/strict";
 * const o = getAffineOrientation([[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]]);
 * assert.deepEqual(o, [{ axis: 0, flip: -1 }, { axis: 1, flip: -1 }, { axis: 2, flip: 1 }]);
 * ```
 */
export function getAffineOrientation(affine: readonly (readonly number[])[]): AxisOrientation[] {
  const rs = [0, 1, 2].map((i) => [affine[i][0], affine[i][1], affine[i][2]]);
  for (let j = 0; j < 3; j++) {
    const n = Math.hypot(rs[0][j], rs[1][j], rs[2][j]) || 1;
    for (let i = 0; i < 3; i++) rs[i][j] /= n;
  }
  const singular = Math.abs(det3(rs)) < 1e-9;
  const r = singular ? rs : computePolar3(rs);
  const out: AxisOrientation[] = [];
  const used = [false, false, false];
  for (let j = 0; j < 3; j++) {
    let best = -1;
    let bestAbs = 0;
    for (let i = 0; i < 3; i++) {
      if (used[i]) continue;
      const v = Math.abs(r[i][j]);
      if (v > bestAbs) {
        bestAbs = v;
        best = i;
      }
    }
    if (best < 0) {
      best = used.indexOf(false);
      out.push({ axis: best, flip: 1 });
    } else {
      out.push({ axis: best, flip: r[best][j] < 0 ? -1 : 1 });
    }
    used[best] = true;
  }
  return out;
}

const CODES = [["L", "R"], ["P", "A"], ["I", "S"]];

/**
 * The three-letter axis code of an affine (nibabel's `aff2axcodes`): the
 * direction each voxel axis points to, e.g. `"LPS"` or `"RAS"`.
 *
 * @example
 * ```ts
 * import { getOrientationCode } from "./affine.ts";
 * import assert from "node:assert/strict";
 * assert.equal(getOrientationCode([[-2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]), "LAS");
 * ```
 */
export function getOrientationCode(affine: readonly (readonly number[])[]): string {
  return getAffineOrientation(affine).map((o) => CODES[o.axis][o.flip > 0 ? 1 : 0]).join("");
}

/** How to move a 3D grid to canonical RAS+ voxel order. */
export interface CanonicalTransform {
  /** For each output axis (0 = i → R, 1 = j → A, 2 = k → S): the input axis it reads. */
  readonly sourceAxis: readonly [number, number, number];
  /** For each output axis: true when the input axis is traversed backwards. */
  readonly reversed: readonly [boolean, boolean, boolean];
  /** The affine of the reoriented grid. */
  readonly affine: Mat4;
  /** The shape `[ni, nj, nk]` of the reoriented grid. */
  readonly shape: readonly [number, number, number];
}

/**
 * The axis permutation and flips that bring a grid of `shape` (`[ni, nj, nk]`)
 * with `affine` to the canonical RAS+ orientation (nibabel's
 * `as_closest_canonical`), with the affine of the result.
 *
 * @example An LPS grid only needs its first two axes reversed
 * ```ts
 * import { getCanonicalTransform } from "./affine.ts";
 * import assert from "node:assert/strict";
 * const t = getCanonicalTransform([[-1, 0, 0, 10], [0, -1, 0, 20], [0, 0, 1, 0], [0, 0, 0, 1]], [11, 21, 5]);
 * assert.deepEqual(t.sourceAxis, [0, 1, 2]);
 * assert.deepEqual(t.reversed, [true, true, false]);
 * assert.deepEqual(t.affine[0], [1, 0, 0, 0]);
 * ```
 */
export function getCanonicalTransform(
  affine: readonly (readonly number[])[],
  shape: readonly [number, number, number],
): CanonicalTransform {
  const ornt = getAffineOrientation(affine);
  const sourceAxis: [number, number, number] = [0, 1, 2];
  const reversed: [boolean, boolean, boolean] = [false, false, false];
  for (let a = 0; a < 3; a++) {
    sourceAxis[ornt[a].axis] = a;
    reversed[ornt[a].axis] = ornt[a].flip < 0;
  }
  // old index o[a] = reversed ? (n_a - 1 - new[w]) : new[w], with a = sourceAxis[w]
  const m: Mat4 = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  for (let w = 0; w < 3; w++) {
    const a = sourceAxis[w];
    m[a][w] = reversed[w] ? -1 : 1;
    m[a][3] = reversed[w] ? shape[a] - 1 : 0;
  }
  const full = affine.map((r) => [...r]);
  return {
    sourceAxis,
    reversed,
    affine: multiplyMat4(full, m),
    shape: [shape[sourceAxis[0]], shape[sourceAxis[1]], shape[sourceAxis[2]]],
  };
}

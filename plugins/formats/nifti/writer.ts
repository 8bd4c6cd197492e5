/**
 * NIfTI-1 writer: a label map or a float volume written as `.nii` or
 * `.nii.gz` with a voxel-to-world affine, so that masks predicted on an
 * image open aligned with it in ITK-SNAP, 3D Slicer or nibabel. Both the
 * sform (exact affine) and the qform (its nearest rigid form) are written.
 *
 * {@linkcode writeNifti} and {@linkcode writeNiftiLike} use
 * `Deno.writeFile` (write permission); {@linkcode encodeNifti} returns bytes.
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { HOST_LITTLE_ENDIAN } from "../_io.ts";
import { convertAffineToQuatern, type Mat4 } from "./affine.ts";
import {
  getNiftiDataTypeBytes,
  getNiftiDataTypeCode,
  type NiftiDataType,
  type NiftiImage,
  type NiftiTypedArray,
} from "./reader.ts";

/** Options of {@linkcode encodeNifti}. */
export interface EncodeNiftiOptions {
  /** Extent of each axis, `[ni, nj, nk(, nt...)]`, i fastest in the data (1 to 7 axes). */
  shape: readonly number[];
  /** The voxel-to-world (RAS+ mm) affine: 4×4 rows or 16 numbers row-major. */
  affine: readonly (readonly number[])[] | readonly number[];
  /**
   * The on-disk element type. Defaults to the type of the input array
   * (float32 for `Float32Array`, ...). Integer targets accept only integer
   * values inside their range (a `RangeError` otherwise, never a silent clamp).
   */
  datatype?: NiftiDataType;
  /** `scl_slope` to store. @default {NaN} (no scaling) */
  sclSlope?: number;
  /** `scl_inter` to store. @default {NaN} */
  sclInter?: number;
  /** `sform_code` (1 scanner, 2 aligned, ...). @default {1} */
  sformCode?: number;
  /** `qform_code`. @default {1} */
  qformCode?: number;
  /** `descrip`, up to 79 ASCII characters. @default {""} */
  description?: string;
  /** `xyzt_units`. @default {10} (mm and seconds) */
  xyztUnits?: number;
  /** Extra `pixdim[4..7]` (e.g. the repetition time). @default {[1, 1, 1, 1]} */
  pixdimExtra?: readonly number[];
  /** Gzip the result (a `.nii.gz`). @default {false} */
  gzip?: boolean;
  /** Gzip level 1-9. @default {6} */
  gzipLevel?: number;
}

/** An array of voxel values the writer accepts. */
export type NiftiWritableArray = NiftiTypedArray | readonly number[];

function typeOfArray(data: NiftiWritableArray): NiftiDataType {
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof BigUint64Array) return "uint64";
  if (data instanceof Float64Array) return "float64";
  return "float32";
}

const INT_RANGES: Partial<Record<NiftiDataType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

function toAffine(affine: EncodeNiftiOptions["affine"]): Mat4 {
  if (affine.length === 16 && typeof affine[0] === "number") {
    const flat = affine as readonly number[];
    return [0, 1, 2, 3].map((r) => flat.slice(r * 4, r * 4 + 4));
  }
  if (
    affine.length === 4 && (affine as readonly (readonly number[])[]).every((r) => r.length === 4)
  ) {
    return (affine as readonly (readonly number[])[]).map((r) => [...r]);
  }
  throw new TypeError(
    "Cannot encode NIfTI as affine must be 4×4 rows or 16 numbers: current value has length " +
      affine.length,
  );
}

function packData(
  data: NiftiWritableArray,
  type: NiftiDataType,
  out: DataView,
  offset: number,
): void {
  const n = data.length;
  const range = INT_RANGES[type];
  const le = true;
  for (let i = 0; i < n; i++) {
    const raw = data[i];
    if (type === "int64" || type === "uint64") {
      const v = typeof raw === "bigint" ? raw : BigInt(raw as number);
      if (type === "int64") out.setBigInt64(offset + i * 8, v, le);
      else out.setBigUint64(offset + i * 8, v, le);
      continue;
    }
    const v = Number(raw);
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw new RangeError(
        `Cannot encode NIfTI as ${type} needs integers in [${range[0]}, ${
          range[1]
        }]: value at index ${i} is ${v}`,
      );
    }
    switch (type) {
      case "uint8":
        out.setUint8(offset + i, v);
        break;
      case "int8":
        out.setInt8(offset + i, v);
        break;
      case "int16":
        out.setInt16(offset + i * 2, v, le);
        break;
      case "uint16":
        out.setUint16(offset + i * 2, v, le);
        break;
      case "int32":
        out.setInt32(offset + i * 4, v, le);
        break;
      case "uint32":
        out.setUint32(offset + i * 4, v, le);
        break;
      case "float32":
        out.setFloat32(offset + i * 4, v, le);
        break;
      case "float64":
        out.setFloat64(offset + i * 8, v, le);
        break;
    }
  }
}

/**
 * Encodes voxel values as a single-file NIfTI-1 (`n+1`), little-endian,
 * `vox_offset` 352, with the affine written as the sform and, in its
 * nearest rigid form, as the qform (pixdim from the affine's column norms,
 * qfac from its determinant). Returns the `.nii` bytes, or `.nii.gz`
 * bytes with `gzip: true`.
 *
 * @example A 2×2×1 label map
 * ```ts
 * import { encodeNifti } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeNifti(new Uint8Array([0, 1, 2, 0]), { shape: [2, 2, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
 * assert.equal(bytes.length, 352 + 4);
 * assert.equal(new DataView(bytes.buffer).getInt32(0, true), 348);
 * ```
 */
export function encodeNifti(data: NiftiWritableArray, options: EncodeNiftiOptions): Uint8Array {
  const shape = options.shape;
  if (shape.length < 1 || shape.length > 7) {
    throw new TypeError(
      `Cannot encode NIfTI as shape must have 1 to 7 axes: current shape is [${shape.join(", ")}]`,
    );
  }
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > 32767) {
      throw new RangeError(
        `Cannot encode NIfTI-1 as each axis must be 1 to 32767 voxels: current shape is [${
          shape.join(", ")
        }]`,
      );
    }
    count *= d;
  }
  if (data.length !== count) {
    throw new TypeError(
      `Cannot encode NIfTI as data length must be ${count} for shape [${
        shape.join(", ")
      }]: current length is ${data.length}`,
    );
  }
  const type = options.datatype ?? typeOfArray(data);
  const code = getNiftiDataTypeCode(type);
  const bytesPer = getNiftiDataTypeBytes(type);
  const affine = toAffine(options.affine);
  const q = convertAffineToQuatern(affine);
  const voxOffset = 352;
  const out = new Uint8Array(voxOffset + count * bytesPer);
  const v = new DataView(out.buffer);
  const le = true;
  v.setInt32(0, 348, le);
  v.setUint8(38, 0); // regular
  v.setInt16(40, shape.length, le);
  for (let i = 0; i < 7; i++) v.setInt16(42 + i * 2, shape[i] ?? 1, le);
  v.setInt16(70, code, le);
  v.setInt16(72, bytesPer * 8, le);
  const extra = options.pixdimExtra ?? [1, 1, 1, 1];
  const pixdim = [q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], ...extra].slice(0, 8);
  for (let i = 0; i < 8; i++) v.setFloat32(76 + i * 4, pixdim[i] ?? 1, le);
  v.setFloat32(108, voxOffset, le);
  v.setFloat32(112, options.sclSlope ?? NaN, le);
  v.setFloat32(116, options.sclInter ?? NaN, le);
  v.setUint8(123, options.xyztUnits ?? 10);
  const descrip = (options.description ?? "").slice(0, 79);
  for (let i = 0; i < descrip.length; i++) v.setUint8(148 + i, descrip.charCodeAt(i) & 0x7f);
  v.setInt16(252, options.qformCode ?? 1, le);
  v.setInt16(254, options.sformCode ?? 1, le);
  v.setFloat32(256, q.b, le);
  v.setFloat32(260, q.c, le);
  v.setFloat32(264, q.d, le);
  v.setFloat32(268, q.offset[0], le);
  v.setFloat32(272, q.offset[1], le);
  v.setFloat32(276, q.offset[2], le);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) v.setFloat32(280 + (r * 4 + c) * 4, affine[r][c], le);
  }
  out.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  // bytes 348..351: no extensions
  const sameType = typeOfArray(data) === type && !Array.isArray(data);
  if (sameType && HOST_LITTLE_ENDIAN && type !== "int64" && type !== "uint64") {
    const src = data as Exclude<NiftiTypedArray, BigInt64Array | BigUint64Array>;
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), voxOffset);
  } else {
    packData(data, type, v, voxOffset);
  }
  if (!options.gzip) return out;
  const gz = gzipSync(out, { level: options.gzipLevel ?? 6 });
  return new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength);
}

/**
 * Writes voxel values to a NIfTI file; gzipped when the path ends in `.gz`.
 * Uses `Deno.writeFile` (write permission). See {@linkcode encodeNifti}.
 *
 * @example
 * ```ts ignore
 * import { writeNifti } from "./writer.ts";
 * await writeNifti("mask.nii.gz", labels, { shape: [64, 56, 20], affine: ct.affine, datatype: "uint8" });
 * ```
 */
export async function writeNifti(
  path: string,
  data: NiftiWritableArray,
  options: Omit<EncodeNiftiOptions, "gzip">,
): Promise<void> {
  await Deno.writeFile(path, encodeNifti(data, { ...options, gzip: path.endsWith(".gz") }));
}

/** Options of {@linkcode writeNiftiLike}. */
export interface WriteNiftiLikeOptions {
  /** The on-disk type. @default the input array's type */
  datatype?: NiftiDataType;
  /** `descrip`. @default {""} */
  description?: string;
  /** `scl_slope`/`scl_inter` to store. @default none */
  scaling?: { slope: number; inter: number };
  /** Gzip level. @default {6} */
  gzipLevel?: number;
}

/**
 * Writes a label map or float volume on the grid of a source image: same
 * spatial shape, the source's affine (as read, or as reoriented) and its
 * sform/qform codes, so the result overlays the source in a viewer.
 * `data` is in the source's voxel order (i fastest), e.g. a
 * {@linkcode Volume}'s `data` made from that image. Gzipped when the path
 * ends in `.gz`. Uses `Deno.writeFile` (write permission).
 *
 * @example Saving a predicted mask next to its CT
 * ```ts ignore
 * import { readNifti } from "./reader.ts";
 * import { writeNiftiLike } from "./writer.ts";
 * const ct = await readNifti("ct.nii.gz");
 * const mask = new Uint8Array(ct.data.length); // predicted labels
 * await writeNiftiLike("ct_mask.nii.gz", mask, ct, { datatype: "uint8" });
 * ```
 */
export async function writeNiftiLike(
  path: string,
  data: NiftiWritableArray,
  source: NiftiImage,
  options: WriteNiftiLikeOptions = {},
): Promise<void> {
  await Deno.writeFile(
    path,
    encodeNiftiLike(data, source, { ...options, gzip: path.endsWith(".gz") }),
  );
}

/**
 * The bytes {@linkcode writeNiftiLike} writes: `data` on the grid of
 * `source`. Only the spatial axes must match; extra trailing axes (channels)
 * are inferred from the data length.
 */
export function encodeNiftiLike(
  data: NiftiWritableArray,
  source: NiftiImage,
  options: WriteNiftiLikeOptions & { gzip?: boolean } = {},
): Uint8Array {
  const spatial = source.shape.slice(0, 3);
  const block = spatial.reduce((a, b) => a * b, 1);
  if (data.length % block !== 0 || data.length === 0) {
    throw new TypeError(
      `Cannot write NIfTI like "${source.path}" as data length must be a multiple of ${block} (shape [${
        spatial.join(", ")
      }]): current length is ${data.length}`,
    );
  }
  const extra = data.length / block;
  const shape = extra === 1 ? spatial : [...spatial, extra];
  return encodeNifti(data, {
    shape,
    affine: source.affine,
    datatype: options.datatype,
    sclSlope: options.scaling?.slope,
    sclInter: options.scaling?.inter,
    sformCode: source.header.sformCode > 0 ? source.header.sformCode : 1,
    qformCode: source.header.qformCode > 0 ? source.header.qformCode : 1,
    description: options.description,
    xyztUnits: source.header.xyztUnits || 10,
    gzip: options.gzip,
    gzipLevel: options.gzipLevel,
  });
}

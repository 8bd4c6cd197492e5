/**
 * NIfTI-1 and NIfTI-2 reader: `.nii` and `.nii.gz`, either byte order, every
 * integer and float datatype, `scl_slope`/`scl_inter`, header extensions,
 * the sform/qform/pixdim affine with the standard's precedence, orientation
 * codes, reorientation to canonical RAS+, and conversion to the
 * {@linkcode Volume} sample type.
 *
 * Header fields are decoded by nifti-reader-js; this module validates the
 * bytes before handing them over and fills its gaps (the standard's
 * sform-before-qform precedence, float64 quaternion maths, extensions, data
 * length checks, byte swapping).
 *
 * {@linkcode readNifti} uses `Deno.open` (read permission);
 * {@linkcode parseNifti} works on bytes anywhere.
 *
 * @module
 */

import { constants as zlibConstants, gunzipSync } from "node:zlib";
import * as nifti from "nifti-reader-js";
import { FormatError } from "../../../core/errors.ts";
import type { Volume } from "../../../core/plugin.ts";
import {
  getErrorText,
  gunzipChecked,
  HOST_LITTLE_ENDIAN,
  isGzip,
  readFileBytes,
  swapBytesInPlace,
} from "../_io.ts";
import {
  convertQuaternToAffine,
  getCanonicalTransform,
  getOrientationCode,
  type Mat4,
} from "./affine.ts";
import { checkDecodeBudget } from "../limits.ts";

/** The element types a NIfTI file can hold that this reader decodes. */
export type NiftiDataType =
  | "uint8"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64";

/** The typed array that holds the stored values of each {@linkcode NiftiDataType}. */
export type NiftiTypedArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

interface DataTypeInfo {
  name: NiftiDataType;
  bytes: number;
  // deno-lint-ignore no-explicit-any
  ctor: any;
}

/** NIfTI datatype codes → element type (codes from nifti1.h). */
export const NIFTI_DATATYPES: Readonly<Record<number, NiftiDataType>> = {
  2: "uint8",
  4: "int16",
  8: "int32",
  16: "float32",
  64: "float64",
  256: "int8",
  512: "uint16",
  768: "uint32",
  1024: "int64",
  1280: "uint64",
};

const UNSUPPORTED_DATATYPES: Readonly<Record<number, string>> = {
  1: "binary",
  32: "complex64",
  128: "rgb24",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "rgba32",
};

const TYPE_INFO: Readonly<Record<NiftiDataType, DataTypeInfo>> = {
  uint8: { name: "uint8", bytes: 1, ctor: Uint8Array },
  int8: { name: "int8", bytes: 1, ctor: Int8Array },
  int16: { name: "int16", bytes: 2, ctor: Int16Array },
  uint16: { name: "uint16", bytes: 2, ctor: Uint16Array },
  int32: { name: "int32", bytes: 4, ctor: Int32Array },
  uint32: { name: "uint32", bytes: 4, ctor: Uint32Array },
  int64: { name: "int64", bytes: 8, ctor: BigInt64Array },
  uint64: { name: "uint64", bytes: 8, ctor: BigUint64Array },
  float32: { name: "float32", bytes: 4, ctor: Float32Array },
  float64: { name: "float64", bytes: 8, ctor: Float64Array },
};

/** Bytes per element of a {@linkcode NiftiDataType}. */
export function getNiftiDataTypeBytes(type: NiftiDataType): number {
  return TYPE_INFO[type].bytes;
}

/** The NIfTI datatype code of an element type (inverse of {@linkcode NIFTI_DATATYPES}). */
export function getNiftiDataTypeCode(type: NiftiDataType): number {
  for (const [code, name] of Object.entries(NIFTI_DATATYPES)) {
    if (name === type) return Number(code);
  }
  throw new RangeError(`Cannot find a NIfTI datatype code as the type is unknown: "${type}"`);
}

/** One NIfTI header extension (between the header and `vox_offset`). */
export interface NiftiExtension {
  /** The extension code (e.g. 6 = comment, 4 = AFNI). */
  readonly code: number;
  /** Size in bytes including its 8-byte size/code prefix. */
  readonly size: number;
  /** Byte offset of the extension in the (decompressed) file. */
  readonly offset: number;
}

/** The header fields of a NIfTI-1 or NIfTI-2 file, decoded to numbers (float64). */
export interface NiftiHeader {
  /** 1 for NIfTI-1 (348-byte header), 2 for NIfTI-2 (540-byte header). */
  readonly version: 1 | 2;
  /** Byte order of the header and data. */
  readonly littleEndian: boolean;
  /** `sizeof_hdr`: 348 or 540. */
  readonly sizeofHdr: number;
  /** `dim[0..7]`: dim[0] is the number of dimensions. */
  readonly dim: readonly number[];
  /** The `datatype` code. */
  readonly datatypeCode: number;
  /** The element type of `datatype`. */
  readonly datatype: NiftiDataType;
  /** `bitpix`. */
  readonly bitpix: number;
  /** `pixdim[0..7]`: pixdim[0] is qfac, pixdim[1..3] the voxel size. */
  readonly pixdim: readonly number[];
  /** Byte offset of the voxel data. */
  readonly voxOffset: number;
  /** `scl_slope` as stored (may be 0 or NaN: no scaling). */
  readonly sclSlope: number;
  /** `scl_inter` as stored. */
  readonly sclInter: number;
  /** `cal_min`. */
  readonly calMin: number;
  /** `cal_max`. */
  readonly calMax: number;
  /** `xyzt_units` (spatial units in bits 0-2, temporal in 3-5). */
  readonly xyztUnits: number;
  /** `qform_code` (0 = unknown). */
  readonly qformCode: number;
  /** `sform_code` (0 = unknown). */
  readonly sformCode: number;
  /** `quatern_b`, `quatern_c`, `quatern_d`. */
  readonly quatern: readonly [number, number, number];
  /** `qoffset_x`, `qoffset_y`, `qoffset_z`. */
  readonly qoffset: readonly [number, number, number];
  /** `srow_x`, `srow_y`, `srow_z` (the first three rows of the sform). */
  readonly srow: readonly (readonly number[])[];
  /** `intent_code`. */
  readonly intentCode: number;
  /** `intent_name`. */
  readonly intentName: string;
  /** `descrip` (NUL bytes removed). */
  readonly description: string;
  /** `aux_file`. */
  readonly auxFile: string;
  /** The header extensions, in file order. */
  readonly extensions: readonly NiftiExtension[];
}

/** Where the affine of a {@linkcode NiftiImage} came from. */
export type NiftiAffineSource = "sform" | "qform" | "pixdim";

/** A decoded NIfTI image: header, geometry and the stored voxel values. */
export interface NiftiImage {
  /** The file path or source name. */
  readonly path: string;
  /** The header as read from the file (not updated by reorientation). */
  readonly header: NiftiHeader;
  /** Extent of each axis, `[ni, nj, nk(, nt, ...)]`, i fastest in `data`. */
  readonly shape: readonly number[];
  /** The stored values (no scaling), i fastest, in host byte order. */
  readonly data: NiftiTypedArray;
  /** The element type of `data`. */
  readonly datatype: NiftiDataType;
  /** Voxel size in mm along `[i, j, k]` (absolute `pixdim[1..3]`). */
  readonly spacing: readonly [number, number, number];
  /** The voxel-to-world (RAS+ mm) 4×4 matrix, row-major, float64. */
  readonly affine: Mat4;
  /** Which header fields gave `affine`: sform when `sform_code > 0`, else qform when `qform_code > 0`, else pixdim. */
  readonly affineSource: NiftiAffineSource;
  /** The sform matrix (zeros but the last row when `sform_code` is 0). */
  readonly sformAffine: Mat4;
  /** The qform matrix (always decoded from the quaternion fields). */
  readonly qformAffine: Mat4;
  /** Three-letter axis code of `affine`, e.g. `"LPS"`, `"RAS"`. */
  readonly orientation: string;
  /**
   * What the reader replaced because it was unusable, for the run record
   * (nibabel's behaviour): an sform with a non-finite or singular matrix is
   * ignored in favour of the qform (or pixdim), with a warning here.
   */
  readonly warnings?: readonly string[];
  /** `{ slope, inter }` when scaling applies (`scl_slope` finite and non-zero), else `null`. */
  readonly scaling: { readonly slope: number; readonly inter: number } | null;
}

/** The header bytes' sizes: NIfTI-1 then NIfTI-2. */
const NIFTI1_SIZE = 348;
const NIFTI2_SIZE = 540;

function detectVersion(bytes: Uint8Array, path: string): { version: 1 | 2; littleEndian: boolean } {
  if (bytes.length < 4) {
    throw new FormatError(
      `Cannot read NIfTI header as the file is truncated: ${bytes.length} bytes, the header needs ${NIFTI1_SIZE}`,
      { path, offset: 0 },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  let found: { version: 1 | 2; littleEndian: boolean } | undefined;
  if (le === NIFTI1_SIZE) found = { version: 1, littleEndian: true };
  else if (be === NIFTI1_SIZE) found = { version: 1, littleEndian: false };
  else if (le === NIFTI2_SIZE) found = { version: 2, littleEndian: true };
  else if (be === NIFTI2_SIZE) found = { version: 2, littleEndian: false };
  if (!found) {
    throw new FormatError(
      `Cannot read NIfTI header as sizeof_hdr must be 348 or 540 in either byte order: current value is ${le} (little-endian)`,
      { path, offset: 0 },
    );
  }
  const size = found.version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  if (bytes.length < size) {
    throw new FormatError(
      `Cannot read NIfTI-${found.version} header as the file is truncated: ${bytes.length} bytes, the header needs ${size}`,
      { path, offset: bytes.length },
    );
  }
  const magicAt = found.version === 1 ? 344 : 4;
  const magic = String.fromCharCode(...bytes.subarray(magicAt, magicAt + 4));
  const expected = found.version === 1 ? "n+1\0" : "n+2\0";
  if (magic !== expected) {
    const pair = found.version === 1 ? "ni1\0" : "ni2\0";
    throw new FormatError(
      magic === pair
        ? `Cannot read NIfTI image as it is a header/image pair (.hdr/.img), which is not supported: magic is "${
          magic.replace("\0", "\\0")
        }"`
        : `Cannot read NIfTI-${found.version} header as the magic must be "${
          expected.replace("\0", "\\0")
        }": current bytes are ${JSON.stringify(magic)}`,
      { path, offset: magicAt },
    );
  }
  return found;
}

function parseExtensions(
  bytes: Uint8Array,
  headerSize: number,
  voxOffset: number,
  littleEndian: boolean,
  path: string,
): NiftiExtension[] {
  const out: NiftiExtension[] = [];
  const start = headerSize + 4;
  if (voxOffset < start || bytes[headerSize] === 0) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = start;
  while (at + 8 <= voxOffset) {
    const size = view.getInt32(at, littleEndian);
    const code = view.getInt32(at + 4, littleEndian);
    if (size === 0) break;
    if (size < 16 || size % 16 !== 0 || at + size > voxOffset) {
      throw new FormatError(
        `Cannot read NIfTI header extension as its size must be a positive multiple of 16 ending before vox_offset ${voxOffset}: current size is ${size}`,
        { path, offset: at },
      );
    }
    out.push({ code, size, offset: at });
    at += size;
  }
  return out;
}

// deno-lint-ignore no-explicit-any
function decodeHeaderFields(bytes: Uint8Array, version: 1 | 2, path: string): any {
  const size = version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  // Only the fixed-size header goes to the library: extensions are parsed here.
  const headerBuffer = bytes.slice(0, size).buffer;
  try {
    const header = version === 1 ? new nifti.NIFTI1() : new nifti.NIFTI2();
    header.readHeader(headerBuffer);
    return header;
  } catch (cause) {
    throw new FormatError(`Cannot decode NIfTI-${version} header: ${getErrorText(cause)}`, {
      path,
      offset: 0,
      cause,
    });
  }
}

function readSrow(bytes: Uint8Array, version: 1 | 2, littleEndian: boolean): number[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const rows: number[][] = [];
  for (let r = 0; r < 3; r++) {
    const row: number[] = [];
    for (let c = 0; c < 4; c++) {
      row.push(
        version === 1
          ? view.getFloat32(280 + (r * 4 + c) * 4, littleEndian)
          : view.getFloat64(400 + (r * 4 + c) * 8, littleEndian),
      );
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Decodes and validates the header of a NIfTI file held in `bytes`
 * (already decompressed). Throws {@linkcode FormatError} for a wrong
 * `sizeof_hdr` or magic, an unsupported datatype, bad dims or `vox_offset`,
 * or a malformed extension.
 *
 * @example Rejecting bytes that are not NIfTI
 * ```ts
 * import { parseNiftiHeader } from "./reader.ts";
 * import { FormatError } from "../../../core/errors.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseNiftiHeader(new Uint8Array(400), "zeros.nii"), FormatError);
 * ```
 */
export function parseNiftiHeader(bytes: Uint8Array, path: string): NiftiHeader {
  const { version, littleEndian } = detectVersion(bytes, path);
  const h = decodeHeaderFields(bytes, version, path);
  const headerSize = version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  const dim: number[] = [...h.dims].map(Number);
  const ndim = dim[0];
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) {
    throw new FormatError(
      `Cannot read NIfTI header as dim[0] must be between 1 and 7: current value is ${ndim}`,
      { path, offset: version === 1 ? 40 : 16 },
    );
  }
  for (let i = 1; i <= ndim; i++) {
    if (!Number.isSafeInteger(dim[i]) || dim[i] < 1) {
      throw new FormatError(
        `Cannot read NIfTI header as dim[${i}] must be a positive integer: current dims are [${
          dim.join(", ")
        }]`,
        { path, offset: version === 1 ? 40 + 2 * i : 16 + 8 * i },
      );
    }
  }
  const datatypeCode = Number(h.datatypeCode);
  const datatype = NIFTI_DATATYPES[datatypeCode];
  if (datatype === undefined) {
    const known = UNSUPPORTED_DATATYPES[datatypeCode];
    throw new FormatError(
      known
        ? `Cannot read NIfTI data as datatype ${datatypeCode} (${known}) is not supported`
        : `Cannot read NIfTI header as datatype ${datatypeCode} is unknown`,
      { path, offset: version === 1 ? 70 : 12 },
    );
  }
  const bitpix = Number(h.numBitsPerVoxel);
  if (bitpix !== TYPE_INFO[datatype].bytes * 8) {
    throw new FormatError(
      `Cannot read NIfTI header as bitpix must be ${
        TYPE_INFO[datatype].bytes * 8
      } for ${datatype}: current value is ${bitpix}`,
      { path, offset: version === 1 ? 72 : 14 },
    );
  }
  const voxOffsetRaw = Number(h.vox_offset);
  const voxOffset = Math.floor(voxOffsetRaw);
  if (!Number.isFinite(voxOffsetRaw) || voxOffset < headerSize) {
    throw new FormatError(
      `Cannot read NIfTI header as vox_offset must be at least ${headerSize}: current value is ${voxOffsetRaw}`,
      { path, offset: version === 1 ? 108 : 168 },
    );
  }
  if (voxOffset > bytes.length) {
    throw new FormatError(
      `Cannot read NIfTI data as vox_offset ${voxOffset} lies past the end of the file (${bytes.length} bytes)`,
      { path, offset: version === 1 ? 108 : 168 },
    );
  }
  const extensions = parseExtensions(bytes, headerSize, voxOffset, littleEndian, path);
  return {
    version,
    littleEndian,
    sizeofHdr: headerSize,
    dim,
    datatypeCode,
    datatype,
    bitpix,
    pixdim: [...h.pixDims].map(Number),
    voxOffset,
    sclSlope: Number(h.scl_slope),
    sclInter: Number(h.scl_inter),
    calMin: Number(h.cal_min),
    calMax: Number(h.cal_max),
    xyztUnits: Number(h.xyzt_units),
    qformCode: Number(h.qform_code),
    sformCode: Number(h.sform_code),
    quatern: [Number(h.quatern_b), Number(h.quatern_c), Number(h.quatern_d)],
    qoffset: [Number(h.qoffset_x), Number(h.qoffset_y), Number(h.qoffset_z)],
    srow: readSrow(bytes, version, littleEndian),
    intentCode: Number(h.intent_code),
    intentName: String(h.intent_name ?? ""),
    description: String(h.description ?? ""),
    auxFile: String(h.aux_file ?? ""),
    extensions,
  };
}

/** The qform matrix of a header (quaternion, pixdim, qfac = sign of pixdim[0]). */
export function getNiftiQformAffine(header: NiftiHeader): Mat4 {
  return convertQuaternToAffine({
    b: header.quatern[0],
    c: header.quatern[1],
    d: header.quatern[2],
    offset: header.qoffset,
    pixdim: [header.pixdim[1], header.pixdim[2], header.pixdim[3]],
    qfac: header.pixdim[0] < 0 ? -1 : 1,
  });
}

/**
 * The affine a reader should use, with the standard's precedence: the sform
 * when `sform_code > 0`, else the qform when `qform_code > 0`, else
 * `diag(pixdim[1..3])` (NIfTI "method 1"; nibabel instead centres a
 * flipped-x grid here).
 */
export function getNiftiAffine(header: NiftiHeader): { affine: Mat4; source: NiftiAffineSource } {
  if (header.sformCode > 0) {
    return { affine: [...header.srow.map((r) => [...r]), [0, 0, 0, 1]], source: "sform" };
  }
  if (header.qformCode > 0) return { affine: getNiftiQformAffine(header), source: "qform" };
  const p = (i: number) => (header.pixdim[i] > 0 ? header.pixdim[i] : 1);
  return {
    affine: [[p(1), 0, 0, 0], [0, p(2), 0, 0], [0, 0, p(3), 0], [0, 0, 0, 1]],
    source: "pixdim",
  };
}

/** Options of {@linkcode parseNifti} and {@linkcode readNifti}. */
export interface ReadNiftiOptions {
  /**
   * Reorient the voxels to canonical RAS+ (i → Right, j → Anterior, k →
   * Superior) with {@linkcode reorientNiftiToCanonical}. @default {false}
   */
  canonical?: boolean;
}

/**
 * Decodes a NIfTI-1 or NIfTI-2 file from bytes (`.nii`, or `.nii.gz` when
 * the bytes start with the gzip magic). The stored values are returned
 * unscaled in a typed array of the on-disk type; apply
 * {@linkcode scaleNiftiData} or {@linkcode convertNiftiToVolume} for
 * scaled values. The input bytes are never modified (big-endian data is
 * copied once, little-endian aligned data is viewed without a copy).
 *
 * Throws {@linkcode FormatError} for a truncated gzip stream, a wrong magic,
 * dims that need more bytes than the file holds, or an unsupported datatype.
 *
 * @example Writing a volume and reading it back
 * ```ts
 * import { parseNifti } from "./reader.ts";
 * import { encodeNifti } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const affine = [[-0.8, 0, 0, 25], [0, -0.8, 0, 22], [0, 0, 3, -180], [0, 0, 0, 1]];
 * const bytes = encodeNifti(new Int16Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2, 1], affine, gzip: true });
 * const image = parseNifti(bytes, "memory.nii.gz");
 * assert.deepEqual(image.shape, [3, 2, 1]);
 * assert.equal(image.orientation, "LPS");
 * assert.deepEqual([...image.data], [1, 2, 3, 4, 5, 6]);
 * ```
 */
export function parseNifti(
  bytes: Uint8Array,
  path: string,
  options: ReadNiftiOptions = {},
): NiftiImage {
  const owned = isGzip(bytes);
  const raw = owned ? gunzipNifti(bytes, path) : bytes;
  return decodeNifti(raw, path, owned, options);
}

/**
 * Reads a NIfTI file (`.nii` or `.nii.gz`, detected by content) from disk.
 * Uses `Deno.open` (read permission); `Deno.errors.NotFound` propagates.
 * See {@linkcode parseNifti} for what is returned and thrown.
 *
 * @example Reading a CT volume and its geometry
 * ```ts ignore
 * import { readNifti } from "./reader.ts";
 * const ct = await readNifti("ct_int16_scl_lps.nii.gz");
 * console.log(ct.shape, ct.orientation, ct.spacing); // [64, 56, 20] "LPS" [0.8, 0.8, 3]
 * ```
 */
export async function readNifti(path: string, options: ReadNiftiOptions = {}): Promise<NiftiImage> {
  let bytes: Uint8Array | undefined = await readFileBytes(path);
  if (isGzip(bytes)) {
    const raw = gunzipNifti(bytes, path);
    bytes = undefined; // let the compressed copy go before decoding
    return decodeNifti(raw, path, true, options);
  }
  return decodeNifti(bytes, path, true, options);
}

/** Trailing bytes a `.nii.gz` may hold after its voxels (padding some writers add). */
const GZIP_SLACK = 1 << 20;

/**
 * Inflates a `.nii.gz` in two steps so a small file cannot inflate to more
 * than its header declares: first only the header (a compressed prefix,
 * flushed), then the whole stream with its output capped at `vox_offset` +
 * voxels × bytes per voxel (plus {@linkcode GZIP_SLACK}).
 */
function gunzipNifti(bytes: Uint8Array, path: string): Uint8Array {
  let head: Uint8Array = new Uint8Array(0);
  // A compressed prefix inflates to at most 1032 times its size (deflate's
  // largest ratio), so each step's output is bounded by the prefix.
  for (let prefix = 64; head.length < NIFTI2_SIZE + 4; prefix *= 4) {
    try {
      const out = gunzipSync(bytes.subarray(0, Math.min(prefix, bytes.length)), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        maxOutputLength: prefix * 1032 + 1024,
      });
      head = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch {
      // A corrupt stream: let gunzipChecked name the failure.
      return gunzipChecked(bytes, path, { maxOutput: prefix * 1032 + 1024, field: "the header" });
    }
    if (prefix >= bytes.length) break;
  }
  if (head.length < 348) return gunzipChecked(bytes, path, { maxOutput: 1 << 16 });
  const { version } = detectVersion(head, path);
  const h = decodeHeaderFields(head, version, path);
  const dims: number[] = [...h.dims].map(Number);
  const ndim = dims[0];
  let count = 1;
  for (let i = 1; i <= ndim && i <= 7; i++) count *= dims[i];
  const bytesPer = Number(h.numBitsPerVoxel) / 8;
  const declared = Number(h.vox_offset) + count * bytesPer;
  if (!Number.isFinite(declared) || declared < 0 || ndim < 1 || ndim > 7) {
    // Bad dims, bitpix or vox_offset: parseNiftiHeader names the field.
    parseNiftiHeader(head, path);
    return gunzipChecked(bytes, path, { maxOutput: head.length });
  }
  checkDecodeBudget(path, {
    what: "NIfTI data",
    field: "dim, bitpix and vox_offset",
    bytes: declared,
  });
  return gunzipChecked(bytes, path, {
    maxOutput: Math.ceil(declared) + GZIP_SLACK,
    field: `dim [${
      dims.slice(1, 1 + ndim).join(", ")
    }], bitpix ${h.numBitsPerVoxel} and vox_offset ${
      Number(h.vox_offset)
    } (+${GZIP_SLACK} bytes of slack)`,
  });
}

function decodeNifti(
  raw: Uint8Array,
  path: string,
  owned: boolean,
  options: ReadNiftiOptions,
): NiftiImage {
  const header = parseNiftiHeader(raw, path);
  const ndim = header.dim[0];
  const shape = header.dim.slice(1, 1 + ndim);
  let count = 1;
  for (const d of shape) count *= d;
  const info = TYPE_INFO[header.datatype];
  const byteLength = count * info.bytes;
  const available = raw.length - header.voxOffset;
  if (!Number.isSafeInteger(byteLength) || byteLength > available) {
    throw new FormatError(
      `Cannot read NIfTI data as dims [${
        shape.join(", ")
      }] of ${header.datatype} need ${byteLength} bytes after vox_offset ${header.voxOffset}: the file holds ${available}`,
      { path, offset: header.voxOffset },
    );
  }
  const start = raw.byteOffset + header.voxOffset;
  const swap = header.littleEndian !== HOST_LITTLE_ENDIAN && info.bytes > 1;
  let data: NiftiTypedArray;
  if (!swap && start % info.bytes === 0) {
    data = new info.ctor(raw.buffer, start, count);
  } else {
    let region = raw.subarray(header.voxOffset, header.voxOffset + byteLength);
    if (!owned || start % info.bytes !== 0) region = region.slice();
    if (swap) swapBytesInPlace(region, info.bytes);
    data = new info.ctor(region.buffer, region.byteOffset, count);
  }
  const warnings: string[] = [];
  for (let i = 1; i <= Math.min(ndim, 3); i++) {
    if (!Number.isFinite(header.pixdim[i]) && !Number.isNaN(header.pixdim[i])) {
      throw new FormatError(
        `Cannot read NIfTI geometry as pixdim[${i}] (voxel size) must be finite: current value is ${
          header.pixdim[i]
        }`,
        { path, offset: header.version === 1 ? 76 + 4 * i : 104 + 8 * i },
      );
    }
    if (Number.isNaN(header.pixdim[i])) {
      warnings.push(`${path}: pixdim[${i}] is NaN; a voxel size of 1 mm is used along axis ${i}`);
    }
  }
  const { affine, source } = getUsableAffine(header, path, warnings);
  const slope = header.sclSlope;
  const scaling = Number.isFinite(slope) && slope !== 0
    ? { slope, inter: Number.isFinite(header.sclInter) ? header.sclInter : 0 }
    : null;
  if (
    header.sclSlope !== 0 && !Number.isNaN(header.sclSlope) && !Number.isFinite(header.sclSlope)
  ) {
    throw new FormatError(
      `Cannot scale NIfTI data as scl_slope must be finite: current value is ${header.sclSlope}`,
      { path, offset: header.version === 1 ? 112 : 176 },
    );
  }
  if (scaling && !Number.isFinite(header.sclInter) && !Number.isNaN(header.sclInter)) {
    throw new FormatError(
      `Cannot scale NIfTI data as scl_inter must be finite: current value is ${header.sclInter}`,
      { path, offset: header.version === 1 ? 116 : 184 },
    );
  }
  const sformAffine: Mat4 = header.sformCode > 0
    ? [...header.srow.map((r) => [...r]), [0, 0, 0, 1]]
    : [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  const image: NiftiImage = {
    path,
    header,
    shape,
    data,
    datatype: header.datatype,
    spacing: [
      Math.abs(header.pixdim[1]) || 1,
      ndim >= 2 ? Math.abs(header.pixdim[2]) || 1 : 1,
      ndim >= 3 ? Math.abs(header.pixdim[3]) || 1 : 1,
    ],
    affine,
    affineSource: source,
    sformAffine,
    qformAffine: getNiftiQformAffine(header),
    orientation: getOrientationCode(affine),
    scaling,
    warnings,
  };
  if (scaling) checkScaledRange(image, path);
  return options.canonical ? reorientNiftiToCanonical(image) : image;
}

function isUsableAffine(m: Mat4): boolean {
  if (!m.every((row) => row.every(Number.isFinite))) return false;
  const [a, b, c] = m;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
    a[2] * (b[0] * c[1] - b[1] * c[0]);
  return Number.isFinite(det) && det !== 0;
}

/**
 * {@linkcode getNiftiAffine}, except that an unusable matrix (non-finite or
 * singular) is skipped with a warning, as nibabel does for an unusable
 * sform; when no source is usable the header is refused.
 */
function getUsableAffine(
  header: NiftiHeader,
  path: string,
  warnings: string[],
): { affine: Mat4; source: NiftiAffineSource } {
  const chosen = getNiftiAffine(header);
  if (isUsableAffine(chosen.affine)) return chosen;
  if (chosen.source === "sform") {
    const fallback = getNiftiAffine({ ...header, sformCode: 0 });
    if (isUsableAffine(fallback.affine)) {
      warnings.push(
        `${path}: sform_code is ${header.sformCode} but srow_x/y/z [${
          header.srow.map((r) => `[${r.join(", ")}]`).join(", ")
        }] is not a finite invertible matrix; the ${fallback.source} is used instead`,
      );
      return fallback;
    }
  }
  throw new FormatError(
    `Cannot read NIfTI geometry as the ${chosen.source} must be a finite invertible matrix: current value is [${
      chosen.affine.map((r) => `[${r.join(", ")}]`).join(", ")
    }]`,
    { path },
  );
}

/**
 * Throws when `scl_slope`/`scl_inter` take a finite stored value to
 * ±Infinity in float32 (a slope of 1e38 gives all-Infinity voxels).
 */
function checkScaledRange(image: NiftiImage, path: string): void {
  const src = image.data;
  if (src.length === 0) return;
  let lo = Infinity;
  let hi = -Infinity;
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < src.length; i++) {
      const v = Number(src[i]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  } else {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return; // NaN/Inf stored as data: the caller's guard
  const { slope, inter } = image.scaling!;
  for (const v of [lo, hi]) {
    const scaled = Math.fround(v * slope + inter);
    if (!Number.isFinite(scaled)) {
      throw new FormatError(
        `Cannot scale NIfTI data as stored value ${v} × scl_slope ${slope} + scl_inter ${inter} must be finite in float32: current value is ${scaled}`,
        { path, offset: image.header.version === 1 ? 112 : 176 },
      );
    }
  }
}

/**
 * Returns the image with its voxels permuted and flipped so that i → Right,
 * j → Anterior, k → Superior (nibabel's `as_closest_canonical`), with the
 * affine, shape and spacing updated to match. Axes beyond the third are
 * carried along. An image already in RAS+ order is returned as is;
 * otherwise the data is copied once.
 *
 * @example An LPS image becomes RAS
 * ```ts
 * import { parseNifti, reorientNiftiToCanonical } from "./reader.ts";
 * import { encodeNifti } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const affine = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
 * const image = parseNifti(encodeNifti(new Uint8Array([1, 2, 3, 4]), { shape: [2, 2, 1], affine }), "lps.nii");
 * const ras = reorientNiftiToCanonical(image);
 * assert.equal(ras.orientation, "RAS");
 * assert.deepEqual([...ras.data], [4, 3, 2, 1]);
 * assert.deepEqual(ras.affine[0], [1, 0, 0, -1]);
 * ```
 */
export function reorientNiftiToCanonical(image: NiftiImage): NiftiImage {
  const s = image.shape;
  const spatial: [number, number, number] = [s[0], s[1] ?? 1, s[2] ?? 1];
  const t = getCanonicalTransform(image.affine, spatial);
  const identity = t.sourceAxis.every((a, i) => a === i) && t.reversed.every((r) => !r);
  if (identity) return image;
  const rest = s.slice(3).reduce((a, b) => a * b, 1);
  const [ni, nj, nk] = t.shape;
  const inStride = [1, spatial[0], spatial[0] * spatial[1]];
  const block = spatial[0] * spatial[1] * spatial[2];
  // Index into the source for new (i, j, k): base + i*si + j*sj + k*sk.
  const step = [0, 1, 2].map((w) => (t.reversed[w] ? -1 : 1) * inStride[t.sourceAxis[w]]);
  let base = 0;
  for (let w = 0; w < 3; w++) {
    if (t.reversed[w]) base += (spatial[t.sourceAxis[w]] - 1) * inStride[t.sourceAxis[w]];
  }
  const src = image.data;
  // deno-lint-ignore no-explicit-any
  const out: any = new (src.constructor as any)(src.length);
  let o = 0;
  for (let r = 0; r < rest; r++) {
    const off = r * block + base;
    for (let k = 0; k < nk; k++) {
      for (let j = 0; j < nj; j++) {
        let idx = off + k * step[2] + j * step[1];
        for (let i = 0; i < ni; i++, idx += step[0]) out[o++] = src[idx];
      }
    }
  }
  const spacing = image.spacing;
  return {
    ...image,
    shape: [ni, nj, nk, ...s.slice(3)].slice(0, Math.max(s.length, 3)),
    data: out as NiftiTypedArray,
    spacing: [spacing[t.sourceAxis[0]], spacing[t.sourceAxis[1]], spacing[t.sourceAxis[2]]],
    affine: t.affine,
    orientation: getOrientationCode(t.affine),
  };
}

/**
 * The scaled voxel values (`stored * scl_slope + scl_inter` when scaling
 * applies, else the stored values) as float32, in the same order as
 * `image.data`.
 */
export function scaleNiftiData(image: NiftiImage): Float32Array {
  const src = image.data;
  const out = new Float32Array(src.length);
  const slope = image.scaling?.slope ?? 1;
  const inter = image.scaling?.inter ?? 0;
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]) * slope + inter;
  } else if (slope === 1 && inter === 0) {
    out.set(src);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = src[i] * slope + inter;
  }
  return out;
}

/**
 * Converts a NIfTI image to the {@linkcode Volume} sample type: scaled
 * float32 values, shape `[D, H, W]` = `[nk, nj, ni]` (the NIfTI order is
 * already z-slowest), spacing `[z, y, x]` in mm, the affine flattened
 * row-major, and every axis beyond the third folded into channels
 * (channel-major, as a 4D NIfTI stores them).
 *
 * @example
 * ```ts
 * import { convertNiftiToVolume, parseNifti } from "./reader.ts";
 * import { encodeNifti } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const affine = [[0.75, 0, 0, 0], [0, 0.75, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]];
 * const bytes = encodeNifti(new Int16Array([0, 1, 2, 3]), { shape: [2, 2, 1], affine, sclSlope: 1, sclInter: -1024 });
 * const volume = convertNiftiToVolume(parseNifti(bytes, "ct.nii"));
 * assert.deepEqual(volume.shape, [1, 2, 2]);
 * assert.deepEqual(volume.spacingMm, [3, 0.75, 0.75]);
 * assert.deepEqual([...volume.data], [-1024, -1023, -1022, -1021]);
 * ```
 */
export function convertNiftiToVolume(image: NiftiImage): Volume {
  const s = image.shape;
  const channels = s.slice(3).reduce((a, b) => a * b, 1);
  return {
    kind: "volume",
    data: scaleNiftiData(image),
    shape: [s[2] ?? 1, s[1] ?? 1, s[0]],
    channels,
    spacingMm: [image.spacing[2], image.spacing[1], image.spacing[0]],
    affine: image.affine.flat(),
    ...(image.warnings?.length ? { warnings: [...image.warnings] } : {}),
  };
}

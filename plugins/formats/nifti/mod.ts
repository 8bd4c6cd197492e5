/**
 * NIfTI-1/NIfTI-2 reading and writing: {@linkcode readNifti} /
 * {@linkcode parseNifti} decode `.nii` and `.nii.gz` with their geometry;
 * {@linkcode convertNiftiToVolume} gives the {@linkcode Volume} sample type;
 * {@linkcode writeNiftiLike} saves a label map aligned with its source.
 *
 * The path-based functions use `Deno.open`/`Deno.writeFile`.
 *
 * @example Round trip in memory
 * ```ts
 * import { encodeNifti, parseNifti } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const affine = [[2, 0, 0, -10], [0, 2, 0, -10], [0, 0, 2, 0], [0, 0, 0, 1]];
 * const image = parseNifti(encodeNifti(new Float32Array(8).fill(0.5), { shape: [2, 2, 2], affine, gzip: true }), "x.nii.gz");
 * assert.equal(image.orientation, "RAS");
 * assert.deepEqual(image.spacing, [2, 2, 2]);
 * ```
 *
 * @module
 */

export {
  type AxisOrientation,
  type CanonicalTransform,
  convertAffineToQuatern,
  convertQuaternToAffine,
  getAffineOrientation,
  getCanonicalTransform,
  getOrientationCode,
  type Mat4,
  type Quaternion,
} from "./affine.ts";
export {
  convertNiftiToVolume,
  getNiftiAffine,
  getNiftiDataTypeBytes,
  getNiftiDataTypeCode,
  getNiftiQformAffine,
  NIFTI_DATATYPES,
  type NiftiAffineSource,
  type NiftiDataType,
  type NiftiExtension,
  type NiftiHeader,
  type NiftiImage,
  type NiftiTypedArray,
  parseNifti,
  parseNiftiHeader,
  readNifti,
  type ReadNiftiOptions,
  reorientNiftiToCanonical,
  scaleNiftiData,
} from "./reader.ts";
export {
  encodeNifti,
  encodeNiftiLike,
  type EncodeNiftiOptions,
  type NiftiWritableArray,
  writeNifti,
  writeNiftiLike,
  type WriteNiftiLikeOptions,
} from "./writer.ts";
export { readLabelVolume } from "./labels.ts";

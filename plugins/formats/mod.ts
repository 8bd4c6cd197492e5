/**
 * Readers and writers for the on-disk formats of the public medical-imaging
 * datasets medprobe evaluates on: NIfTI (`.nii`, `.nii.gz`), DICOM (files
 * and series), PNG/JPEG, TIFF stacks and tiled whole-slide pyramids, HDF5
 * (CREMI) and CSV label tables. Readers validate before decoding and throw
 * `FormatError` (with the file path) on bad input; none returns a partial
 * array.
 *
 * Path-based functions (`read*`, `open*`, `write*`) use `Deno.*` file APIs;
 * each has a bytes-based twin (`parse*`, `encode*`) usable anywhere.
 *
 * @example Write a NIfTI volume to memory and read it back
 * ```ts
 * import { encodeNifti, parseNifti } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const affine = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]];
 * const bytes = encodeNifti(new Int16Array(24), { shape: [4, 3, 2], affine, gzip: true });
 * const image = parseNifti(bytes, "memory.nii.gz");
 * assert.equal(image.orientation, "LPS");
 * assert.deepEqual(image.spacing, [1, 1, 2.5]);
 * ```
 *
 * @module
 */

export * from "./nifti/mod.ts";
export type { Image2D, Volume } from "../../core/plugin.ts";
export * from "./image/mod.ts";
export * from "./dicom/mod.ts";
export * from "./tiff/mod.ts";
export * from "./hdf5/mod.ts";
export * from "./csv/mod.ts";

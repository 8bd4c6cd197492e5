/**
 * HDF5 files and the CREMI connectomics layout, read with h5wasm:
 * {@linkcode openHdf5} opens a path lazily, {@linkcode readCremi} returns
 * raw EM and exact uint64 labels with their resolution.
 *
 * Path-based functions read through node's `fs` under Deno; the bytes-based
 * {@linkcode openHdf5Bytes} uses h5wasm's in-memory file system.
 *
 * @example The CREMI background id needs BigInt
 * ```ts
 * import { CREMI_BACKGROUND_ID } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(CREMI_BACKGROUND_ID, 2n ** 64n - 1n);
 * ```
 *
 * @module
 */

export {
  CREMI_BACKGROUND_ID,
  type CremiVolume,
  type Hdf5Array,
  type Hdf5Attribute,
  type Hdf5AttributeValue,
  type Hdf5DatasetInfo,
  type Hdf5ElementType,
  type Hdf5File,
  type Hdf5TypedArray,
  openHdf5,
  openHdf5Bytes,
  readCremi,
} from "./hdf5.ts";

/**
 * HDF5 reading with h5wasm (the HDF5 C library compiled to wasm: every
 * filter and datatype, uint64 as exact `BigUint64Array`), plus the CREMI
 * connectomics layout: `volumes/raw`, `volumes/labels/neuron_ids` (ids ≥
 * 2^53 kept exact), `volumes/labels/clefts`, attributes `resolution` and
 * `offset`.
 *
 * {@linkcode openHdf5} opens a path lazily with h5wasm's node build
 * (NODERAWFS): only the chunks a read touches are fetched and inflated, so
 * a z-range of a multi-GB volume costs that range. It uses `Deno` file
 * access through node's `fs` (read permission). {@linkcode openHdf5Bytes}
 * copies bytes into h5wasm's in-memory file system (browser-compatible
 * build; the whole file then sits in the wasm heap).
 *
 * HDF5 library errors are raised as exceptions (h5wasm's throwing error
 * handler) and wrapped in `FormatError`; nothing is printed.
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { formatHexBytes, getErrorText, openFileSource } from "../_io.ts";
import { checkDecodeBudget } from "../limits.ts";

/** Typed arrays an HDF5 numeric dataset is read into. */
export type Hdf5TypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** An attribute value as h5wasm returns it: typed array, number, bigint, string or nested list. */
export type Hdf5AttributeValue = unknown;

/** One attribute with its HDF5 type. */
export interface Hdf5Attribute {
  /** The value (typed array for numeric arrays, string for strings). */
  readonly value: Hdf5AttributeValue;
  /** h5wasm's dtype string, e.g. `"<d"` (float64), `"<i"` (int32), `"S"` (string). */
  readonly dtype: string;
  /** The attribute's shape (`[]` for a scalar). */
  readonly shape: readonly number[];
}

/** The element type names of numeric datasets. */
export type Hdf5ElementType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "uint64"
  | "int64"
  | "float32"
  | "float64";

/** What a dataset is, without reading it. */
export interface Hdf5DatasetInfo {
  /** Path inside the file, e.g. `"volumes/raw"`. */
  readonly name: string;
  /** Extent of each axis (C order). */
  readonly shape: readonly number[];
  /** Element type, or `undefined` for non-numeric data (strings, compounds). */
  readonly dtype: Hdf5ElementType | undefined;
  /** Chunk shape, or `null` for contiguous storage. */
  readonly chunks: readonly number[] | null;
  /** Filter names in pipeline order (e.g. `["shuffle", "deflate"]`). */
  readonly filters: readonly string[];
}

/** A block of a numeric dataset read into memory. */
export interface Hdf5Array {
  /** The values, C order; `BigUint64Array`/`BigInt64Array` for 64-bit integers. */
  readonly data: Hdf5TypedArray;
  /** The block's shape. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: Hdf5ElementType;
}

/** An open HDF5 file. */
export interface Hdf5File {
  /** The file path or source name. */
  readonly path: string;
  /** Every object path (groups and datasets), e.g. `["volumes", "volumes/raw"]`. */
  list(): string[];
  /** True when `name` is a dataset. */
  isDataset(name: string): boolean;
  /** Shape, type, chunks and filters of a dataset (no data is read). */
  info(name: string): Hdf5DatasetInfo;
  /** The attributes of a group or dataset (`"/"` for the root). */
  attributes(name?: string): Record<string, Hdf5Attribute>;
  /**
   * Reads a numeric dataset, whole or a `[start, end)` range along its
   * first axis (a z-range of a `[z, y, x]` volume); only the chunks that
   * range touches are read and inflated.
   */
  read(name: string, options?: { range?: readonly [number, number] }): Hdf5Array;
  /** Closes the file. */
  close(): void;
}

// The slice of h5wasm's API used here.
interface H5Attribute {
  value: unknown;
  dtype: unknown;
  shape: number[] | null;
}
interface H5Object {
  attrs: Record<string, H5Attribute>;
}
interface H5Dataset extends H5Object {
  metadata: {
    type: number;
    size: number;
    signed: boolean;
    shape: number[] | null;
    chunks: number[] | null;
  };
  shape: number[] | null;
  filters: { id: number; name: string }[];
  value: unknown;
  slice(ranges: number[][]): unknown;
}
interface H5Group extends H5Object {
  keys(): string[];
  get(name: string): unknown;
  paths(): string[];
}
interface H5FileInstance extends H5Group {
  "file_id": bigint;
  close(): unknown;
}
interface H5Module {
  File: new (name: string, mode: string) => H5FileInstance;
  Dataset: new (...args: never[]) => H5Dataset;
  Group: new (...args: never[]) => H5Group;
  ready: Promise<{
    activate_throwing_error_handler(): number;
    FS: { writeFile(path: string, data: Uint8Array): void; unlink(path: string): void };
  }>;
}

let nodeModule: Promise<H5Module> | undefined;
let memoryModule: Promise<H5Module> | undefined;

async function loadModule(kind: "node" | "memory"): Promise<H5Module> {
  // deno-lint-ignore no-explicit-any
  const mod: any = kind === "node" ? await import("h5wasm/node") : await import("h5wasm");
  const h5 = (mod.default ?? mod) as H5Module;
  const wasm = await h5.ready;
  wasm.activate_throwing_error_handler(); // errors throw instead of printing to stderr
  return h5;
}

/** Short HDF5 error text: the innermost message of an HDF5-DIAG stack. */
function hdf5Message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = [...text.matchAll(/#\d+: .*? in [\w]+\(\): (.*)/g)].map((m) => m[1].trim());
  return lines.length > 0 ? lines[lines.length - 1] : getErrorText(error);
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function hasSignatureAt(bytes: Uint8Array, at: number): boolean {
  return SIGNATURE.every((b, i) => bytes[at + i] === b);
}

const ELEMENT_TYPES: Readonly<Record<string, Hdf5ElementType>> = {
  "0,1,false": "uint8",
  "0,1,true": "int8",
  "0,2,false": "uint16",
  "0,2,true": "int16",
  "0,4,false": "uint32",
  "0,4,true": "int32",
  "0,8,false": "uint64",
  "0,8,true": "int64",
  "1,4,true": "float32",
  "1,8,true": "float64",
  "1,4,false": "float32",
  "1,8,false": "float64",
};

function wrapFile(h5: H5Module, file: H5FileInstance, path: string, onClose: () => void): Hdf5File {
  const get = (name: string): unknown => {
    try {
      return file.get(name);
    } catch (cause) {
      throw new FormatError(`Cannot open HDF5 object "${name}": ${hdf5Message(cause)}`, {
        path,
        cause,
      });
    }
  };
  const dataset = (name: string): H5Dataset => {
    const obj = get(name);
    if (!(obj instanceof h5.Dataset)) {
      throw new FormatError(
        `Cannot read HDF5 dataset "${name}" as it ${obj ? "is not a dataset" : "does not exist"}`,
        { path },
      );
    }
    return obj as H5Dataset;
  };
  /** Runs a library call, turning its raw HDF5 error dump into a one-line FormatError. */
  const guard = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof FormatError || cause instanceof RangeError) throw cause;
      throw new FormatError(`Cannot ${what}: ${hdf5Message(cause)}`, { path, cause });
    }
  };
  const elementType = (d: H5Dataset) => {
    const m = guard("read HDF5 dataset metadata", () => d.metadata);
    return ELEMENT_TYPES[`${m.type},${m.size},${m.type === 1 ? true : m.signed}`];
  };
  let closed = false;
  return {
    path,
    list(): string[] {
      return guard("list the HDF5 objects", () => file.paths().map((p) => p.replace(/^\//, "")));
    },
    isDataset(name: string): boolean {
      return get(name) instanceof h5.Dataset;
    },
    info(name: string): Hdf5DatasetInfo {
      const d = dataset(name);
      return guard(`read the description of HDF5 dataset "${name}"`, () => ({
        name,
        shape: d.metadata.shape ?? [],
        dtype: elementType(d),
        chunks: d.metadata.chunks ?? null,
        filters: d.filters.map((f) => f.name),
      }));
    },
    attributes(name = "/"): Record<string, Hdf5Attribute> {
      const obj = get(name) as H5Object | null;
      if (!obj) {
        throw new FormatError(`Cannot read attributes of "${name}" as it does not exist`, { path });
      }
      const out: Record<string, Hdf5Attribute> = {};
      try {
        for (const [key, attr] of Object.entries(obj.attrs)) {
          out[key] = { value: attr.value, dtype: String(attr.dtype), shape: attr.shape ?? [] };
        }
      } catch (cause) {
        throw new FormatError(`Cannot read attributes of "${name}": ${hdf5Message(cause)}`, {
          path,
          cause,
        });
      }
      return out;
    },
    read(name: string, options: { range?: readonly [number, number] } = {}): Hdf5Array {
      const d = dataset(name);
      const dtype = elementType(d);
      const shape = guard(`read the shape of HDF5 dataset "${name}"`, () => d.metadata.shape ?? []);
      const itemSize = guard(`read HDF5 dataset "${name}"`, () => d.metadata.size) || 1;
      checkDecodeBudget(path, {
        what: `HDF5 dataset "${name}"`,
        field: `its dataspace [${shape.join(", ")}] x ${itemSize} bytes`,
        bytes: shape.reduce((a: number, b: number) => a * b, 1) * itemSize,
      });
      if (!dtype) {
        throw new FormatError(
          `Cannot read HDF5 dataset "${name}" as its type is not numeric (class ${d.metadata.type}, ${d.metadata.size} bytes)`,
          { path },
        );
      }
      let outShape = [...shape];
      let value: unknown;
      try {
        if (options.range) {
          const [start, end] = options.range;
          if (
            shape.length === 0 || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 ||
            end > shape[0] || start >= end
          ) {
            throw new RangeError(
              `Cannot read range [${start}, ${end}) of HDF5 dataset "${name}" as its first axis has ${
                shape[0]
              } entries`,
            );
          }
          value = d.slice([[start, end]]);
          outShape = [end - start, ...shape.slice(1)];
        } else {
          value = d.value;
        }
      } catch (cause) {
        if (cause instanceof RangeError) throw cause;
        throw new FormatError(`Cannot read HDF5 dataset "${name}": ${hdf5Message(cause)}`, {
          path,
          cause,
        });
      }
      const count = outShape.reduce((a, b) => a * b, 1);
      if (!ArrayBuffer.isView(value) || (value as Hdf5TypedArray).length !== count) {
        throw new FormatError(
          `Cannot read HDF5 dataset "${name}" as it returned ${
            ArrayBuffer.isView(value) ? (value as Hdf5TypedArray).length : typeof value
          } values for shape [${outShape.join(", ")}]`,
          { path },
        );
      }
      return { data: value as Hdf5TypedArray, shape: outShape, dtype };
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        guard("close the HDF5 file", () => file.close());
      } finally {
        onClose();
      }
    },
  };
}

function checkOpened(file: H5FileInstance, path: string): void {
  if (file.file_id < 0n) {
    throw new FormatError("Cannot open HDF5 file as the HDF5 library refused it", { path });
  }
}

/**
 * Opens an HDF5 file lazily (h5wasm node build). Checks the HDF5 signature
 * first (at byte 0 or after a user block at 512, 1024, ...). Throws
 * {@linkcode FormatError} for a wrong signature or a file HDF5 cannot open
 * (e.g. truncated), `Deno.errors.NotFound` when the file does not exist.
 *
 * @example Reading a z-range of a CREMI label volume
 * ```ts ignore
 * import { openHdf5 } from "./hdf5.ts";
 * const file = await openHdf5("sample_A_20160501.hdf");
 * const ids = file.read("volumes/labels/neuron_ids", { range: [0, 10] }); // BigUint64Array
 * file.close();
 * ```
 */
export async function openHdf5(path: string): Promise<Hdf5File> {
  const source = await openFileSource(path); // NotFound surfaces here, as Deno's error
  try {
    let found = false;
    for (let at = 0; at + 8 <= source.size; at = at === 0 ? 512 : at * 2) {
      if (hasSignatureAt(await source.read(at, 8), 0)) {
        found = true;
        break;
      }
    }
    if (!found) {
      const head = await source.read(0, Math.min(8, source.size));
      throw new FormatError(
        `Cannot open HDF5 file as the signature 89 48 44 46 0d 0a 1a 0a must be at byte 0 (or after a user block): current bytes are ${
          formatHexBytes(head)
        }`,
        { path, offset: 0 },
      );
    }
  } finally {
    source.close();
  }
  nodeModule ??= loadModule("node");
  const h5 = await nodeModule;
  let file: H5FileInstance;
  try {
    file = new h5.File(path, "r");
  } catch (cause) {
    throw new FormatError(`Cannot open HDF5 file: ${hdf5Message(cause)}`, { path, cause });
  }
  checkOpened(file, path);
  return wrapFile(h5, file, path, () => {});
}

let memoryCounter = 0;

/**
 * Opens HDF5 bytes with h5wasm's in-memory build (the bytes are copied into
 * the wasm file system until `close()`). See {@linkcode openHdf5}.
 *
 * @example Bytes that are not HDF5
 * ```ts
 * import { openHdf5Bytes } from "./hdf5.ts";
 * import { FormatError } from "../../../core/errors.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => openHdf5Bytes(new Uint8Array(64), "x.h5"), FormatError);
 * ```
 */
export async function openHdf5Bytes(bytes: Uint8Array, path: string): Promise<Hdf5File> {
  let found = false;
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (hasSignatureAt(bytes, at)) {
      found = true;
      break;
    }
  }
  if (!found) {
    throw new FormatError(
      `Cannot open HDF5 file as the signature 89 48 44 46 0d 0a 1a 0a must be at byte 0 (or after a user block): current bytes are ${
        formatHexBytes(bytes.subarray(0, 8))
      }`,
      { path, offset: 0 },
    );
  }
  memoryModule ??= loadModule("memory");
  const h5 = await memoryModule;
  const wasm = await h5.ready;
  const name = `/medprobe_${++memoryCounter}.h5`;
  wasm.FS.writeFile(name, bytes);
  let file: H5FileInstance;
  try {
    file = new h5.File(name, "r");
    checkOpened(file, path);
  } catch (cause) {
    wasm.FS.unlink(name);
    if (cause instanceof FormatError) throw cause;
    throw new FormatError(`Cannot open HDF5 file: ${hdf5Message(cause)}`, { path, cause });
  }
  return wrapFile(h5, file, path, () => wasm.FS.unlink(name));
}

/** A CREMI volume (raw EM and labels) with its voxel geometry. */
export interface CremiVolume {
  /** `volumes/raw`, uint8 `[z, y, x]`. */
  readonly raw: Hdf5Array;
  /** `volumes/labels/neuron_ids`, uint64 `[z, y, x]` (`BigUint64Array`), when present. */
  readonly neuronIds: Hdf5Array | undefined;
  /** `volumes/labels/clefts`, uint64, when present. */
  readonly clefts: Hdf5Array | undefined;
  /** Voxel size `[z, y, x]` in nm (`resolution` attribute of `volumes/raw`). */
  readonly resolutionNm: readonly [number, number, number];
  /** `offset` attribute of the labels (nm, `[z, y, x]`), `[0, 0, 0]` when absent. */
  readonly offsetNm: readonly [number, number, number];
  /** The first z index read (0 unless a range was asked). */
  readonly zStart: number;
}

/** The CREMI background / unlabeled id, 2^64 - 1. */
export const CREMI_BACKGROUND_ID: bigint = 0xffffffffffffffffn;

function triple(
  attr: Hdf5Attribute | undefined,
  name: string,
  path: string,
): [number, number, number] | undefined {
  if (!attr) return undefined;
  const v = attr.value as ArrayLike<number>;
  if (!v || typeof v !== "object" || v.length !== 3) {
    throw new FormatError(`Cannot read CREMI attribute "${name}" as it must hold 3 numbers`, {
      path,
    });
  }
  return [Number(v[0]), Number(v[1]), Number(v[2])];
}

/**
 * Reads a CREMI file (raw, neuron ids, clefts, resolution, offset), whole
 * or a `[start, end)` z-range of every volume. Accepts a path (opened
 * lazily and closed afterwards) or an open {@linkcode Hdf5File}.
 *
 * @example
 * ```ts ignore
 * import { readCremi } from "./hdf5.ts";
 * const cremi = await readCremi("sample_A_20160501.hdf", { zRange: [0, 5] });
 * console.log(cremi.resolutionNm, cremi.neuronIds?.data[0]); // [40, 4, 4] 18446744073709551615n
 * ```
 */
export async function readCremi(
  source: string | Hdf5File,
  options: { zRange?: readonly [number, number] } = {},
): Promise<CremiVolume> {
  const file = typeof source === "string" ? await openHdf5(source) : source;
  try {
    const path = file.path;
    const names = new Set(file.list());
    if (!names.has("volumes/raw")) {
      throw new FormatError('Cannot read CREMI file as it has no "volumes/raw" dataset', { path });
    }
    const range = options.zRange ? { range: options.zRange } : {};
    const raw = file.read("volumes/raw", range);
    const ids = names.has("volumes/labels/neuron_ids")
      ? file.read("volumes/labels/neuron_ids", range)
      : undefined;
    const clefts = names.has("volumes/labels/clefts")
      ? file.read("volumes/labels/clefts", range)
      : undefined;
    for (const [label, array] of [["neuron_ids", ids], ["clefts", clefts]] as const) {
      if (array && array.dtype !== "uint64") {
        throw new FormatError(
          `Cannot read CREMI ${label} as they must be uint64: current type is ${array.dtype}`,
          {
            path,
          },
        );
      }
    }
    const rawAttrs = file.attributes("volumes/raw");
    const labelAttrs = names.has("volumes/labels/neuron_ids")
      ? file.attributes("volumes/labels/neuron_ids")
      : {};
    const resolution = triple(rawAttrs.resolution, "resolution", path) ??
      triple(labelAttrs.resolution, "resolution", path);
    if (!resolution) {
      throw new FormatError('Cannot read CREMI file as "volumes/raw" has no resolution attribute', {
        path,
      });
    }
    return {
      raw,
      neuronIds: ids,
      clefts,
      resolutionNm: resolution,
      offsetNm: triple(labelAttrs.offset, "offset", path) ?? [0, 0, 0],
      zStart: options.zRange?.[0] ?? 0,
    };
  } finally {
    if (typeof source === "string") file.close();
  }
}

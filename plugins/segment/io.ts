/**
 * HDF5 files of the EM pipeline, written with h5wasm (node build, a real
 * file on disk): CREMI-style volumes (`volumes/raw` uint8,
 * `volumes/labels/neuron_ids` uint64, `volumes/affinities` float32 with
 * the waterz neighbourhood, each with a `resolution` attribute in nm) and
 * single-dataset files (`main`, the AC3/AC4 layout). Reading affinities
 * for `medprobe agglomerate` checks the shape `(3, z, y, x)`, the type and
 * the [0, 1] range, naming the file and dataset on error.
 *
 * @module
 */

import { FormatError } from "../../core/errors.ts";
import { openHdf5 } from "../formats/hdf5/mod.ts";

// The slice of h5wasm's writing API used here.
interface H5WGroup {
  "create_group"(name: string): unknown;
  "create_dataset"(options: {
    name: string;
    data: ArrayBufferView;
    shape: number[];
    chunks?: number[];
    compression?: number;
  }): { "create_attribute"(name: string, value: unknown): void };
  "create_attribute"(name: string, value: unknown): void;
  close(): void;
}
interface H5WModule {
  File: new (name: string, mode: string) => H5WGroup;
  ready: Promise<unknown>;
}

let writer: Promise<H5WModule> | undefined;

async function h5(): Promise<H5WModule> {
  writer ??= (async () => {
    // deno-lint-ignore no-explicit-any
    const mod: any = await import("h5wasm/node");
    const m = (mod.default ?? mod) as H5WModule;
    // deno-lint-ignore no-explicit-any
    const wasm: any = await m.ready;
    wasm.activate_throwing_error_handler?.();
    return m;
  })();
  return await writer;
}

/** One dataset to write. */
export interface Hdf5DatasetWrite {
  /** Path inside the file, e.g. `"volumes/raw"`; parent groups are created. */
  readonly name: string;
  /** The values, C order. */
  readonly data: Uint8Array | Uint16Array | Uint32Array | Float32Array | BigUint64Array;
  /** The shape. */
  readonly shape: readonly number[];
  /** Attributes (numbers arrays become float64 arrays, strings stay strings). */
  readonly attributes?: Readonly<Record<string, readonly number[] | string>>;
}

/**
 * Writes datasets to a new HDF5 file (replacing it), gzip-compressed in
 * chunks of at most 1 × 256 × 256 (leading axes chunked by 1).
 *
 * @example
 * ```ts ignore
 * await writeHdf5("seg.h5", [{ name: "volumes/labels/neuron_ids", data: ids, shape: [z, y, x], attributes: { resolution: [40, 4, 4] } }]);
 * ```
 *
 * @param path The file.
 * @param datasets The datasets.
 * @param rootAttributes Attributes of the root group.
 */
export async function writeHdf5(
  path: string,
  datasets: readonly Hdf5DatasetWrite[],
  rootAttributes: Readonly<Record<string, string>> = {},
): Promise<void> {
  const m = await h5();
  for (const d of datasets) {
    const count = d.shape.reduce((a, b) => a * b, 1);
    if (count !== d.data.length) {
      throw new TypeError(
        `Cannot write HDF5 dataset "${d.name}" as its shape [${
          d.shape.join(", ")
        }] needs ${count} values: current length is ${d.data.length}`,
      );
    }
  }
  let file: H5WGroup;
  try {
    file = new m.File(path, "w");
  } catch (cause) {
    throw new FormatError(`Cannot create HDF5 file: ${String(cause).split("\n")[0]}`, {
      path,
      cause,
    });
  }
  try {
    for (const [key, value] of Object.entries(rootAttributes)) file.create_attribute(key, value);
    const groups = new Set<string>();
    for (const d of datasets) {
      const parts = d.name.split("/");
      for (let i = 1; i < parts.length; i++) {
        const g = parts.slice(0, i).join("/");
        if (!groups.has(g)) {
          file.create_group(g);
          groups.add(g);
        }
      }
      const chunks = d.shape.map((s, i) => i >= d.shape.length - 2 ? Math.min(s, 256) : 1);
      const ds = file.create_dataset({
        name: d.name,
        data: d.data,
        shape: [...d.shape],
        chunks,
        compression: 4,
      });
      for (const [key, value] of Object.entries(d.attributes ?? {})) {
        ds.create_attribute(key, typeof value === "string" ? value : Float64Array.from(value));
      }
    }
  } finally {
    file.close();
  }
}

/** Affinities read from an HDF5 file. */
export interface AffinityVolume {
  /** `[3, z, y, x]` values in [0, 1]. */
  readonly data: Float32Array;
  /** `[z, y, x]`. */
  readonly shape: readonly [number, number, number];
  /** `resolution` attribute (nm, `[z, y, x]`) when present. */
  readonly resolutionNm?: readonly [number, number, number];
}

/**
 * Reads an affinity dataset shaped `(3, z, y, x)`: float32/float64 values
 * in [0, 1], or uint8 (divided by 255). Throws {@linkcode FormatError}
 * naming the file and the dataset when it is missing, mis-shaped, not
 * numeric or out of range.
 *
 * @param path The HDF5 file.
 * @param dataset The dataset inside it. @default {"volumes/affinities"}
 * @returns The affinities.
 */
export async function readAffinities(
  path: string,
  dataset = "volumes/affinities",
): Promise<AffinityVolume> {
  const file = await openHdf5(path);
  try {
    const names = file.list();
    if (!names.includes(dataset) || !file.isDataset(dataset)) {
      const found = names.filter((n) => file.isDataset(n));
      throw new FormatError(
        `Cannot read affinities as dataset "${dataset}" must exist: current datasets are ${
          found.length > 0 ? found.map((n) => `"${n}"`).join(", ") : "none"
        }`,
        { path },
      );
    }
    const info = file.info(dataset);
    if (info.shape.length !== 4 || info.shape[0] !== 3) {
      throw new FormatError(
        `Cannot read affinities "${dataset}" as their shape must be (3, z, y, x): current shape is (${
          info.shape.join(", ")
        })`,
        { path },
      );
    }
    const array = file.read(dataset);
    let data: Float32Array;
    if (array.dtype === "float32") data = array.data as Float32Array;
    else if (array.dtype === "float64") data = Float32Array.from(array.data as Float64Array);
    else if (array.dtype === "uint8") {
      const u = array.data as Uint8Array;
      data = new Float32Array(u.length);
      for (let i = 0; i < u.length; i++) data[i] = u[i] / 255;
    } else {
      throw new FormatError(
        `Cannot read affinities "${dataset}" as they must be float32, float64 or uint8: current type is ${array.dtype}`,
        { path },
      );
    }
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!(v >= 0 && v <= 1)) {
        throw new FormatError(
          `Cannot read affinities "${dataset}" as every value must be in [0, 1]: current value at flat index ${i} is ${v}`,
          { path },
        );
      }
    }
    const attrs = file.attributes(dataset);
    const r = attrs.resolution?.value as ArrayLike<number> | undefined;
    return {
      data,
      shape: [info.shape[1], info.shape[2], info.shape[3]],
      resolutionNm: r && r.length === 3 ? [Number(r[0]), Number(r[1]), Number(r[2])] : undefined,
    };
  } finally {
    file.close();
  }
}

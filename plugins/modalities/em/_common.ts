/**
 * What the EM datasets share: checking an HDF5 raw / label pair at open
 * (datasets present, 3D, raw numeric, labels integer, same shape), lazy
 * z-range samples that load the raw sections as a {@linkcode Volume} and
 * the neuron ids as exact uint64, and the protocol defaults.
 *
 * @module
 */

import type { Volume } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { type Hdf5ElementType, type Hdf5File, openHdf5 } from "../../formats/hdf5/mod.ts";
import type { AffinityProtocolDefaults, AffinitySample } from "../../tasks/affinity/types.ts";

/** Where a volume's raw sections and labels live. */
export interface EmSource {
  /** File of the raw sections. */
  readonly rawPath: string;
  /** Dataset of the raw sections. */
  readonly rawDataset: string;
  /** File of the labels. */
  readonly labelPath: string;
  /** Dataset of the labels. */
  readonly labelDataset: string;
  /** Voxel size in nm `[z, y, x]`. */
  readonly resolutionNm: readonly [number, number, number];
}

const INTEGER_TYPES: readonly Hdf5ElementType[] = [
  "uint8",
  "int8",
  "uint16",
  "int16",
  "uint32",
  "int32",
  "uint64",
  "int64",
];

async function withFile<T>(path: string, fn: (file: Hdf5File) => T): Promise<T> {
  const file = await openHdf5(path);
  try {
    return fn(file);
  } finally {
    file.close();
  }
}

function datasetShape(file: Hdf5File, name: string, what: string): readonly number[] {
  const names = file.list();
  if (!names.includes(name) || !file.isDataset(name)) {
    const found = names.filter((n) => file.isDataset(n));
    throw new FormatError(
      `Cannot read the ${what} as dataset "${name}" must exist: current datasets are ${
        found.length > 0 ? found.map((n) => `"${n}"`).join(", ") : "none"
      }`,
      { path: file.path },
    );
  }
  const info = file.info(name);
  if (info.shape.length !== 3) {
    throw new FormatError(
      `Cannot read the ${what} "${name}" as it must be 3D (z, y, x): current shape is (${
        info.shape.join(", ")
      })`,
      { path: file.path },
    );
  }
  if (what === "neuron ids" && !INTEGER_TYPES.includes(info.dtype!)) {
    throw new FormatError(
      `Cannot read the neuron ids "${name}" as they must be integers: current type is ${
        info.dtype ?? "not numeric"
      }`,
      { path: file.path },
    );
  }
  if (what === "raw sections" && info.dtype === undefined) {
    throw new FormatError(
      `Cannot read the raw sections "${name}" as they must be numeric: current type is not numeric`,
      { path: file.path },
    );
  }
  return info.shape;
}

/**
 * Checks a raw / label pair without reading voxels; returns the shape.
 * Throws {@linkcode FormatError} naming the file and dataset for a missing
 * dataset, a non-3D or non-numeric raw, non-integer labels or a shape
 * mismatch between raw and labels.
 *
 * @param source The files and datasets.
 * @returns `[z, y, x]`.
 */
export async function checkEmSource(source: EmSource): Promise<[number, number, number]> {
  const raw = await withFile(
    source.rawPath,
    (f) => datasetShape(f, source.rawDataset, "raw sections"),
  );
  const labels = await withFile(
    source.labelPath,
    (f) => datasetShape(f, source.labelDataset, "neuron ids"),
  );
  if (raw.some((s, i) => s !== labels[i])) {
    throw new FormatError(
      `Cannot pair raw "${source.rawDataset}" and labels "${source.labelDataset}" as their shapes must match: current shapes are (${
        raw.join(", ")
      }) and (${labels.join(", ")})${
        source.labelPath !== source.rawPath ? ` (labels in ${source.labelPath})` : ""
      }`,
      { path: source.rawPath },
    );
  }
  return [raw[0], raw[1], raw[2]];
}

/** Reads integer labels of any width as exact uint64. */
function toUint64(data: ArrayLike<number> | BigUint64Array | BigInt64Array): BigUint64Array {
  if (data instanceof BigUint64Array) return data;
  if (data instanceof BigInt64Array) {
    return new BigUint64Array(data.buffer, data.byteOffset, data.length);
  }
  const out = new BigUint64Array(data.length);
  const halves = new Uint32Array(out.buffer);
  for (let i = 0; i < data.length; i++) halves[2 * i] = data[i] >>> 0;
  return out;
}

/**
 * A lazy z-range sample of an EM volume.
 *
 * @param id Sample id.
 * @param source Files and datasets.
 * @param zRange `[start, end)` sections.
 * @returns The sample.
 */
export function emSample(
  id: string,
  source: EmSource,
  zRange: readonly [number, number],
): AffinitySample {
  return {
    id,
    subject: id,
    path: source.rawPath,
    labelPath: source.labelPath,
    labelDataset: source.labelDataset,
    zRange,
    load: () =>
      withFile(source.rawPath, (f): Volume => {
        const raw = f.read(source.rawDataset, { range: zRange });
        const data = raw.data instanceof Float32Array ? raw.data : Float32Array.from(
          raw.data as ArrayLike<number>,
        );
        const [d, h, w] = raw.shape;
        const [rz, ry, rx] = source.resolutionNm;
        return {
          kind: "volume",
          data,
          shape: [d, h, w],
          spacingMm: [rz * 1e-6, ry * 1e-6, rx * 1e-6],
        };
      }),
    loadNeuronIds: () =>
      withFile(source.labelPath, (f) => {
        const ids = f.read(source.labelDataset, { range: zRange });
        return toUint64(ids.data as ArrayLike<number> | BigUint64Array | BigInt64Array);
      }),
  };
}

/** The train / test section ranges of a volume of `depth` sections. */
export function sectionSplit(
  depth: number,
  train: number,
  of: number,
): { train: [number, number]; test: [number, number] } {
  const cut = depth === of
    ? train
    : Math.max(1, Math.min(depth - 1, Math.round(depth * train / of)));
  return { train: [0, cut], test: [cut, depth] };
}

/** Protocol defaults of the EM datasets (PROTOCOLS.md, "EM neuron segmentation"). */
export function emProtocol(
  resolutionNm: readonly [number, number, number],
): AffinityProtocolDefaults {
  return {
    adapter: "slice-stack",
    adapterOptions: { window: [0, 255] },
    heads: ["affinity"],
    headOptions: { affinity: { lr: 1e-3 } },
    metrics: ["voi-split", "voi-merge", "voi-sum", "arand"],
    resolution: 448,
    feature: "volume", // the slice-stack adapter's feature volume
    trainSplit: "train",
    testSplit: "test",
    thresholds: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    mergeFunction: "quantile-75",
    resolutionNm,
  };
}

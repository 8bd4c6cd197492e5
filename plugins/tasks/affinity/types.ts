// This module is browser compatible.
/**
 * The protocol types of the `affinity` task (EM neuron segmentation): what
 * an EM dataset gives (a z-range of a raw volume with exact uint64 neuron
 * ids) and what its protocol declares (the waterz post-processing). EM
 * modalities import these types; they are the one thing a plugin may take
 * from a task.
 *
 * @module
 */

import type { ProtocolDefaults, Sample } from "../../../core/plugin.ts";

/** A z-range of an EM volume: `load()` gives the raw `Volume`, `loadNeuronIds()` its ids. */
export interface AffinitySample extends Sample {
  /** The file of the raw sections. */
  readonly path: string;
  /** The file of the labels (the same file for CREMI). */
  readonly labelPath: string;
  /** The dataset of the labels inside `labelPath`, for messages. */
  readonly labelDataset: string;
  /** `[start, end)` sections of the file. */
  readonly zRange: readonly [number, number];
  /** Neuron ids `[z, y, x]` of the range, uint64 exact (background 0 and 2^64 − 1). */
  loadNeuronIds(): Promise<BigUint64Array>;
}

/** Protocol defaults of an EM dataset: the common ones plus waterz's post-processing. */
export interface AffinityProtocolDefaults extends ProtocolDefaults {
  /** Agglomeration score thresholds swept (each gives a segmentation). */
  readonly thresholds: readonly number[];
  /** waterz merge function: `"mean"`, `"quantile-50"`, `"quantile-75"`, `"quantile-85"`... */
  readonly mergeFunction: string;
  /** Voxel size in nm `[z, y, x]` as published. */
  readonly resolutionNm: readonly [number, number, number];
}

/** True when a sample carries EM neuron ids. */
export function isAffinitySample(sample: Sample): sample is AffinitySample {
  return typeof (sample as AffinitySample).loadNeuronIds === "function";
}

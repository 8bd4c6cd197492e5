// This module is browser compatible.
/**
 * The protocol types of the `segmentation3d` task: what a modality's
 * segmentation dataset gives (labelled volumes) and what its protocol
 * declares (the cross-validation). Modalities import these types; they are
 * the one thing a plugin may take from a task.
 *
 * @module
 */

import type { Dataset, ProtocolDefaults, Sample } from "../../../core/plugin.ts";

/** A labelled 3D sample: `load()` gives the image volume, `loadLabels()` its label map. */
export interface SegmentationSample extends Sample {
  /** The label file, for messages and records. */
  readonly labelPath?: string;
  /** Class indices `[D, H, W]` on the grid of `load()`'s volume. */
  loadLabels(): Promise<Uint8Array>;
}

/**
 * An opened segmentation dataset. `adapterOptions` overrides the protocol's
 * for what was opened (e.g. one intensity window per channel chosen with
 * `channels: "ct+pet"`); `channels` names the input channels for the record.
 */
export interface SegmentationDataset extends Dataset {
  /** Adapter options that depend on how the dataset was opened. */
  readonly adapterOptions?: Readonly<Record<string, unknown>>;
}

/** Protocol defaults of a segmentation dataset: the common ones plus the cross-validation. */
export interface SegmentationProtocolDefaults extends ProtocolDefaults {
  /** Folds of the patient-level cross-validation (5 → 80/20 splits). */
  readonly folds: number;
  /** How many of the folds are run (all for MSD; 1 = one 80/20 split, as for PET/CT). */
  readonly runFolds: number;
}

/** The feature volume a volume head reads: float32, or float16 bit patterns. */
export interface FeatureVolume {
  /** `[C, D, h, w]` values. */
  data: Float32Array | Uint16Array;
  /** `[C, D, h, w]`. */
  shape: readonly [number, number, number, number];
}

/** What a volume head is fitted on and predicts from, one case at a time. */
export interface VolumeCaseData {
  /** Stacked slice features `[Cf, D, h, w]`. */
  features: FeatureVolume;
  /** The normalised image `[Cin, D, H, W]` for skip connections. */
  image: Float32Array;
  /** Cin. */
  imageChannels: number;
  /** `[D, H, W]`. */
  shape: readonly [number, number, number];
  /** Class indices `[D, H, W]` (training only). */
  labels?: ArrayLike<number>;
}

/** A case a volume head loads when it needs it. */
export interface VolumeCase {
  /** Sample id. */
  readonly id: string;
  /** Loads the case. */
  load(): Promise<VolumeCaseData>;
}

/** A predicted label map. */
export interface VolumePrediction {
  /** Class index per voxel `[D, H, W]`. */
  labels: Uint8Array;
}

/** True when a sample carries labels for segmentation. */
export function isSegmentationSample(sample: Sample): sample is SegmentationSample {
  return typeof (sample as SegmentationSample).loadLabels === "function";
}

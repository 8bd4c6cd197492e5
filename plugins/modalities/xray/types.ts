/**
 * Types shared by the X-ray datasets: how a split was made, and the rows
 * that could not become samples.
 *
 * @module
 */

import type { Dataset, SynthOptions } from "../../../core/plugin.ts";

/** How the splits of an opened dataset were made (recorded by the runner). */
export interface SplitInfo {
  /**
   * `"official"` (the dataset's own split files), `"mgca"` (MGCA's split
   * files), `"mgca-recomputed"` (MGCA's split computed from the raw labels
   * as MGCA's script does) or `"hash-fallback"` (computed from the subject
   * id and a seed).
   */
  readonly method: "official" | "mgca" | "mgca-recomputed" | "hash-fallback";
  /** Files the split was read from, relative to the root; empty when computed. */
  readonly files: readonly string[];
  /** One sentence for result records and reports. */
  readonly description: string;
}

/** A row of a label or split file that could not become a sample, with the reason. */
export interface SkippedRow {
  /** The image or patient id. */
  readonly id: string;
  /** Why it was left out. */
  readonly reason: string;
}

/** An opened X-ray dataset: a {@linkcode Dataset} plus its split provenance. */
export interface XrayDataset extends Dataset {
  /** How the splits were made. */
  readonly splitInfo: SplitInfo;
  /** One line for result records (`data.splitSource`): `"<method>: <description>"`. */
  readonly splitSource: string;
  /** Rows left out at open time (never silently). */
  readonly skipped: readonly SkippedRow[];
}

/** Options of the X-ray generators. */
export interface XraySynthOptions extends SynthOptions {
  /** Image side in pixels. @default {128} */
  size?: number;
}

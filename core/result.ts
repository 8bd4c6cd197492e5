// This module is browser compatible.
/**
 * Result records: one JSON file per evaluation run (`OUT/result.json`)
 * holding everything needed to trust and reproduce the numbers — protocol,
 * every hyperparameter and seed, medprobe version, encoder identity and
 * weights checksum, backend and why, data counts and failed samples,
 * per-stage timings, per-label and macro metrics with bootstrap CIs.
 *
 * `medprobe report` aggregates records into tables and plots; anything that
 * reads them should go through {@linkcode validateResultRecord}.
 *
 * @module
 */

/** The schema id written in every record. */
export const RESULT_SCHEMA = "medprobe.result/1";

/** A metric value with its bootstrap confidence interval. */
export interface MetricValue {
  /** The value (NaN/undefined are written as `null`). */
  value: number | null;
  /** 95 % bootstrap interval, when computed. */
  ci?: { low: number | null; high: number | null; level: number; samples: number } | null;
  /** Labels/classes/samples whose value was defined (NaN-aware reduction). */
  validCount?: number;
  /** Standard deviation over folds or seeds, when aggregated. */
  std?: number | null;
}

/** A sample that could not be used, and why. */
export interface FailedSample {
  /** Sample id. */
  id: string;
  /** File it came from, when known. */
  path?: string;
  /** The stage where it failed (`"load"`, `"encode"`...). */
  stage: string;
  /** The error message. */
  reason: string;
}

/** Timing of one stage. */
export interface StageTiming {
  /** Wall seconds. */
  seconds: number;
  /** Items processed (images, slices, volumes, epochs...). */
  items?: number;
  /** Unit of `items`. */
  unit?: string;
  /** `items / seconds`. */
  perSecond?: number;
}

/** One evaluation run. */
export interface ResultRecord {
  /** Always {@linkcode RESULT_SCHEMA}. */
  schema: string;
  /** medprobe version that produced it. */
  medprobeVersion: string;
  /** ISO time the run finished. */
  createdAt: string;
  /** `modality/dataset`, e.g. `"xray/nih14"`. */
  dataset: string;
  /** The learning problem. */
  task: string;
  /** Label or class names in metric order. */
  labels: string[];
  /** Protocol settings actually used. */
  protocol: {
    /** Train split name. */
    trainSplit: string;
    /** Test split name. */
    testSplit: string;
    /** Input resolution. */
    resolution: number | [number, number] | "native";
    /** Feature kind fed to the head (`"cls"`, `"cls+mean"`...). */
    feature: string;
    /** Master seed. */
    seed: number;
    /** Fold index and count for cross-validation runs. */
    fold?: { index: number; count: number };
    /** Any further protocol settings. */
    [key: string]: unknown;
  };
  /** Encoder identity. */
  encoder: {
    /** Plugin id. */
    id: string;
    /** Backend that ran (`"webgpu"`, `"onnx-node"`...). */
    backend: string;
    /** Why that backend. */
    backendReason: string;
    /** SHA-256 of the weights. */
    weightsSha256: string;
    /** Where the weights came from. */
    weights?: string;
    /** Whether the weights are pretrained (false for random demo weights). */
    pretrained?: boolean;
    /** Embedding width, patch size, registers, precision... */
    [key: string]: unknown;
  };
  /** Adapter name and settings. */
  adapter: { name: string; settings: Record<string, unknown> };
  /** Head name and every hyperparameter in effect. */
  head: {
    /** Head plugin name. */
    name: string;
    /** Every hyperparameter in effect. */
    hyperparameters: Record<string, unknown>;
    /** Training loss per epoch (the loss curve), when the head trains. */
    losses?: number[];
    /** The saved trained head, relative to the record. */
    file?: string;
    /** Any further head facts (per-fold files...). */
    [key: string]: unknown;
  };
  /** Data used. */
  data: {
    /** Dataset root. */
    root: string;
    /** Samples per split actually used. */
    counts: Record<string, number>;
    /** Samples that failed, with reasons. */
    failed: FailedSample[];
    /** Feature cache folder, when used. */
    cache?: string;
    /** Samples served from the cache vs computed. */
    cacheHits?: number;
    /** Any further data facts (split source, rows skipped at open...). */
    [key: string]: unknown;
  };
  /** Per-stage timings (`"extract"`, `"fit"`, `"predict"`, `"metrics"`). */
  timings: Record<string, StageTiming>;
  /** Scores. */
  metrics: {
    /** Macro (or dataset-level) value of each metric. */
    macro: Record<string, MetricValue>;
    /** Per label/class: metric → value (`null` where undefined). */
    perLabel: Record<string, Record<string, number | null>>;
  };
  /** Per-fold results of a cross-validation run. */
  folds?: Array<{ index: number; metrics: Record<string, MetricValue> }>;
  /** Environment (OS, Deno, adapter). */
  environment?: Record<string, unknown>;
  /** Where outputs (predictions, masks) were written, relative to the record. */
  artifacts?: Record<string, string>;
}

/** Replaces NaN and ±Infinity by `null` so a record is valid JSON; keeps the rest. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === "object") {
    if (ArrayBuffer.isView(value)) {
      return Array.from(value as unknown as ArrayLike<number>, jsonSafe);
    }
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).map((
        [k, v],
      ) => [k, jsonSafe(v)]),
    );
  }
  return value;
}

/** Serialises a record as pretty JSON (non-finite numbers as `null`). */
export function formatResultRecord(record: ResultRecord): string {
  return JSON.stringify(jsonSafe(record), null, 2) + "\n";
}

const REQUIRED: readonly [string, string][] = [
  ["schema", "string"],
  ["medprobeVersion", "string"],
  ["createdAt", "string"],
  ["dataset", "string"],
  ["task", "string"],
  ["labels", "array"],
  ["protocol", "object"],
  ["encoder", "object"],
  ["adapter", "object"],
  ["head", "object"],
  ["data", "object"],
  ["timings", "object"],
  ["metrics", "object"],
];

/**
 * Checks the shape of a parsed record and returns it typed; throws a
 * `TypeError` naming the first missing or wrong field.
 *
 * @example
 * ```ts
 * import { validateResultRecord } from "./result.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => validateResultRecord({ schema: "medprobe.result/1" }), /field "medprobeVersion"/);
 * ```
 */
export function validateResultRecord(json: unknown, source = "result record"): ResultRecord {
  if (typeof json !== "object" || json === null) {
    throw new TypeError(`Cannot read ${source} as it must be a JSON object`);
  }
  const r = json as Record<string, unknown>;
  for (const [field, type] of REQUIRED) {
    const v = r[field];
    const actual = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
    if (actual !== type) {
      throw new TypeError(
        `Cannot read ${source} as field "${field}" must be ${
          type === "array" || type === "object" ? "an" : "a"
        } ${type}: current type is ${actual}`,
      );
    }
  }
  if (r.schema !== RESULT_SCHEMA) {
    throw new TypeError(
      `Cannot read ${source} as field "schema" must be "${RESULT_SCHEMA}": current value is ${
        JSON.stringify(r.schema)
      }`,
    );
  }
  const m = r.metrics as Record<string, unknown>;
  if (typeof m.macro !== "object" || m.macro === null || typeof m.perLabel !== "object") {
    throw new TypeError(
      `Cannot read ${source} as field "metrics" must hold "macro" and "perLabel" objects`,
    );
  }
  return json as ResultRecord;
}

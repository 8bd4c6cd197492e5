/**
 * CT-RATE (Hamamci et al., 2024) as downloaded from Hugging Face: NIfTI
 * volumes in `dataset/{train,valid}/<split>_<patient>/<split>_<patient>_<scan>/
 * <split>_<patient>_<scan>_<reconstruction>.nii.gz`, the 18 abnormality
 * labels in `dataset/multi_abnormality_labels/{train,valid}_predicted_labels.csv`,
 * and per-volume DICOM-derived fields in `dataset/metadata/train_metadata.csv`
 * and `validation_metadata.csv`. The official train/valid split comes from
 * the folders (patient-disjoint).
 *
 * Hounsfield units come from the metadata row, not the NIfTI header
 * (the original release stores raw values with placeholder geometry):
 * `HU = stored × RescaleSlope + RescaleIntercept`; spacing from `XYSpacing`
 * (`[x, y]`) and `ZSpacing`. See README_ctrate.md.
 *
 * Uses `Deno.readDir`/`Deno.readTextFile`/`Deno.open` to open and
 * `Deno.writeFile` to synthesize.
 *
 * @example Generate a small synthetic copy and open it
 * ```ts
 * import { openCtrate, synthesizeCtrate } from "./ctrate.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await synthesizeCtrate(dir, { count: 6, seed: 1, size: 16, depth: 4 });
 * const ds = await openCtrate(dir);
 * assert.equal(ds.labels.length, 18);
 * const volume = await ds.samples("valid")[0].load();
 * assert.equal(volume.kind, "volume");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { csvField } from "../../../core/csv.ts";
import type {
  Dataset,
  DatasetSpec,
  ProtocolDefaults,
  Sample,
  SynthOptions,
  Volume,
} from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { readNifti, writeNifti } from "../../formats/nifti/mod.ts";
import {
  CT_RATE_ABNORMALITIES,
  parseListField,
  readCsv,
  readCtRateLabels,
} from "../../formats/csv/mod.ts";
import { createRng, ctrateLesion, renderChestCt, type Rng } from "./_synth_ctrate.ts";
import { formatFound, joinPath, listTopLevel, statKind } from "../../../core/_fs.ts";

/**
 * The 18 CT-RATE abnormality labels, in the column order of the label CSVs
 * (target index = position): Medical material, Arterial wall calcification,
 * Cardiomegaly, Pericardial effusion, Coronary artery wall calcification,
 * Hiatal hernia, Lymphadenopathy, Emphysema, Atelectasis, Lung nodule, Lung
 * opacity, Pulmonary fibrotic sequela, Pleural effusion, Mosaic attenuation
 * pattern, Peribronchial thickening, Consolidation, Bronchiectasis,
 * Interlobular septal thickening.
 */
export const CTRATE_LABELS: readonly string[] = CT_RATE_ABNORMALITIES;

/** The files and folders {@linkcode ctrateDataset} expects (under `dataset/` or at the root). */
export const CTRATE_LAYOUT: readonly string[] = [
  "train/train_<patient>/train_<patient>_<scan>/train_<patient>_<scan>_<reconstruction>.nii.gz",
  "valid/valid_<patient>/valid_<patient>_<scan>/valid_<patient>_<scan>_<reconstruction>.nii.gz",
  "multi_abnormality_labels/train_predicted_labels.csv",
  "multi_abnormality_labels/valid_predicted_labels.csv",
  "metadata/train_metadata.csv",
  "metadata/validation_metadata.csv (or valid_metadata.csv)",
];

/** Protocol defaults of CT-RATE (PROTOCOLS.md, 3D classification — slice-wise features). */
export const CTRATE_PROTOCOL: ProtocolDefaults = {
  adapter: "slice-mean",
  adapterOptions: { windowMin: -1000, windowMax: 1000 },
  heads: ["linear", "knn"],
  metrics: ["auc", "accuracy", "precision", "recall"],
  resolution: 224,
  feature: "cls",
  trainSplit: "train",
  testSplit: "valid",
};

/** The header of CT-RATE's metadata CSVs (the real column list). */
export const CTRATE_METADATA_COLUMNS: readonly string[] = [
  "VolumeName",
  "Manufacturer",
  "SeriesDescription",
  "ManufacturerModelName",
  "PatientSex",
  "PatientAge",
  "ReconstructionDiameter",
  "DistanceSourceToDetector",
  "DistanceSourceToPatient",
  "GantryDetectorTilt",
  "TableHeight",
  "RotationDirection",
  "ExposureTime",
  "XRayTubeCurrent",
  "Exposure",
  "FilterType",
  "GeneratorPower",
  "FocalSpots",
  "ConvolutionKernel",
  "PatientPosition",
  "RevolutionTime",
  "SingleCollimationWidth",
  "TotalCollimationWidth",
  "TableSpeed",
  "TableFeedPerRotation",
  "SpiralPitchFactor",
  "DataCollectionCenterPatient",
  "ReconstructionTargetCenterPatient",
  "ExposureModulationType",
  "CTDIvol",
  "ImagePositionPatient",
  "ImageOrientationPatient",
  "SliceLocation",
  "SamplesPerPixel",
  "PhotometricInterpretation",
  "Rows",
  "Columns",
  "XYSpacing",
  "RescaleIntercept",
  "RescaleSlope",
  "RescaleType",
  "NumberofSlices",
  "ZSpacing",
  "StudyDate",
];

/** Probability of each label per synthetic scan. */
const SYNTH_PREVALENCE = 0.2;
const SPLIT_DESCRIPTION =
  "official patient-disjoint split: train = train/ (train_predicted_labels.csv), test = valid/ (valid_predicted_labels.csv)";
const SPLITS = ["train", "valid"] as const;
type CtrateSplit = typeof SPLITS[number];
const LABEL_FILES: Record<CtrateSplit, string> = {
  train: "multi_abnormality_labels/train_predicted_labels.csv",
  valid: "multi_abnormality_labels/valid_predicted_labels.csv",
};
const METADATA_FILES: Record<CtrateSplit, readonly string[]> = {
  train: ["metadata/train_metadata.csv"],
  valid: ["metadata/validation_metadata.csv", "metadata/valid_metadata.csv"],
};
const VOLUME_NAME = /^(train|valid)_(\d+)_([a-z]+)_(\d+)\.nii\.gz$/;

/** Rescale and spacing of one volume, from its metadata row. */
export interface CtrateGeometry {
  /** RescaleSlope. */
  readonly slope: number;
  /** RescaleIntercept. */
  readonly intercept: number;
  /** `[z, y, x]` in mm from ZSpacing and XYSpacing `[x, y]`. */
  readonly spacingMm: readonly [number, number, number];
}

/** Options of {@linkcode openCtrate}. */
export interface CtrateOpenOptions {
  /**
   * Keep only volumes whose file exists (a partial download of the
   * training set); the others are listed in `skipped`. @default {false}
   */
  presentOnly?: boolean;
}

/** An opened CT-RATE: a {@linkcode Dataset} plus its split provenance. */
export interface CtrateDataset extends Dataset {
  /** The folder holding `train/`, `valid/`, `multi_abnormality_labels/`, `metadata/`. */
  readonly base: string;
  /** How the splits were made (the official train/valid folders). */
  readonly splitInfo: {
    readonly method: "official";
    readonly files: readonly string[];
    readonly description: string;
  };
  /** One line for result records (`data.splitSource`): `"official: <description>"`. */
  readonly splitSource: string;
  /** Rows left out at open time, with the reason (never silently). */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/** Options of {@linkcode synthesizeCtrate}. */
export interface CtrateSynthOptions extends SynthOptions {
  /** In-plane size (rows = columns). @default {64} */
  size?: number;
  /** Slices per volume. @default {16} */
  depth?: number;
}

/**
 * The rescale and spacing of one metadata row; throws `FormatError` naming
 * the volume when a field is missing or not a number.
 *
 * @example
 * ```ts
 * import { geometryFromMetadata } from "./ctrate.ts";
 * import assert from "node:assert/strict";
 * const g = geometryFromMetadata({ RescaleSlope: "1", RescaleIntercept: "-1024", XYSpacing: "[0.75, 0.7]", ZSpacing: "1.5" }, "v.nii.gz", "meta.csv", 2);
 * assert.deepEqual(g, { slope: 1, intercept: -1024, spacingMm: [1.5, 0.7, 0.75] });
 * ```
 */
export function geometryFromMetadata(
  row: Readonly<Record<string, string>>,
  volume: string,
  path: string,
  line: number,
): CtrateGeometry {
  const number = (field: string): number => {
    const text = (row[field] ?? "").trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) {
      throw new FormatError(
        `Cannot read the metadata of "${volume}" as ${field} must be a number: current value is ${
          JSON.stringify(row[field] ?? null)
        } (line ${line})`,
        { path },
      );
    }
    return value;
  };
  const slope = number("RescaleSlope");
  const intercept = number("RescaleIntercept");
  const xy = parseListField(row.XYSpacing ?? "", "XYSpacing", line, path);
  if (!xy || xy.length !== 2 || !xy.every((v) => v > 0)) {
    throw new FormatError(
      `Cannot read the metadata of "${volume}" as XYSpacing must be "[x, y]" with two positive numbers: current value is ${
        JSON.stringify(row.XYSpacing ?? null)
      } (line ${line})`,
      { path },
    );
  }
  const z = number("ZSpacing");
  if (!(z > 0) || slope === 0) {
    throw new FormatError(
      `Cannot read the metadata of "${volume}" as ZSpacing must be positive and RescaleSlope non-zero: current values are ${z} and ${slope} (line ${line})`,
      { path },
    );
  }
  return { slope, intercept, spacingMm: [z, xy[1], xy[0]] };
}

/**
 * Reads a CT-RATE volume and applies its metadata row: HU = stored ×
 * RescaleSlope + RescaleIntercept (the header's own scl_slope/scl_inter are
 * ignored), shape `[D, H, W]` = NIfTI `[k, j, i]` (axial slices along D),
 * spacing `[z, y, x]` from the metadata. Throws `FormatError` for a file
 * that is not a 3D volume or has no slices.
 */
export async function loadCtrateVolume(path: string, geometry: CtrateGeometry): Promise<Volume> {
  const image = await readNifti(path);
  const s = image.shape;
  const extra = s.slice(3).reduce((a, b) => a * b, 1);
  if (s.length < 2 || extra !== 1) {
    throw new FormatError(
      `Cannot read CT volume as it must have 3 axes: current shape is [${s.join(", ")}]`,
      { path },
    );
  }
  const [ni, nj, nk] = [s[0], s[1], s[2] ?? 1];
  if (ni * nj * nk === 0) {
    throw new FormatError(
      `Cannot read CT volume as it has no slices: current shape is [${s.join(", ")}]`,
      { path },
    );
  }
  const src = image.data;
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    throw new FormatError(`Cannot read CT volume as 64-bit integer voxels are not supported`, {
      path,
    });
  }
  const data = new Float32Array(src.length);
  const { slope, intercept } = geometry;
  for (let i = 0; i < src.length; i++) data[i] = src[i] * slope + intercept;
  return { kind: "volume", data, shape: [nk, nj, ni], channels: 1, spacingMm: geometry.spacingMm };
}

async function resolveBase(root: string): Promise<{ base: string; found: string[] | null }> {
  const found = await listTopLevel(root);
  if (found && !found.includes("multi_abnormality_labels/") && found.includes("dataset/")) {
    const base = joinPath(root, "dataset");
    return { base, found: await listTopLevel(base) };
  }
  return { base: root, found };
}

/**
 * Opens CT-RATE at `root` (the Hugging Face repository folder or its
 * `dataset/` folder) exactly as downloaded. Throws `Deno.errors.NotFound`
 * listing the expected layout and the entries found when it does not
 * match; `FormatError` when a label CSV lacks the VolumeName column or the
 * two label CSVs disagree on their columns. A volume listed in a label CSV
 * but absent on disk (or without a metadata row) still becomes a sample
 * whose `load()` rejects, unless `presentOnly` is set.
 */
export async function openCtrate(
  root: string,
  options: CtrateOpenOptions = {},
): Promise<CtrateDataset> {
  const id = "ct/ctrate";
  const { base, found } = await resolveBase(root);
  const missing: string[] = [];
  const metadataFiles = {} as Record<CtrateSplit, string>;
  if (found) {
    for (const split of SPLITS) {
      if (await statKind(joinPath(base, split)) !== "dir") missing.push(`${split}/`);
    }
    for (const split of SPLITS) {
      if (await statKind(joinPath(base, LABEL_FILES[split])) !== "file") {
        missing.push(LABEL_FILES[split]);
      }
    }
    for (const split of SPLITS) {
      let meta: string | undefined;
      for (const name of METADATA_FILES[split]) {
        if (await statKind(joinPath(base, name)) === "file") {
          meta = name;
          break;
        }
      }
      if (meta) metadataFiles[split] = meta;
      else missing.push(METADATA_FILES[split][0]);
    }
  } else {
    missing.push(...SPLITS.map((s) => `${s}/`), ...SPLITS.map((s) => LABEL_FILES[s]));
  }
  if (missing.length > 0) {
    throw new Deno.errors.NotFound(
      `Cannot open dataset "${id}" at "${root}" as its layout does not match: expected ${
        CTRATE_LAYOUT.join("; ")
      } (under dataset/ or at the root); missing ${missing.join(", ")}; found ${
        formatFound(found)
      }${base !== root ? " (in dataset/)" : ""}`,
    );
  }
  const skipped: { id: string; reason: string }[] = [];
  const bySplit = new Map<string, Sample[]>();
  for (const split of SPLITS) {
    const labelPath = joinPath(base, LABEL_FILES[split]);
    const rows = await readCtRateLabels(labelPath);
    const metaPath = joinPath(base, metadataFiles[split]);
    const metaTable = await readCsv(metaPath);
    const nameAt = metaTable.columns.indexOf("VolumeName");
    if (nameAt < 0) {
      throw new FormatError(
        `Cannot read CT-RATE metadata as column "VolumeName" is missing: current columns are ${
          metaTable.columns.slice(0, 4).map((c) => JSON.stringify(c)).join(", ")
        }`,
        { path: metaPath },
      );
    }
    const metaByName = new Map<string, { row: Record<string, string>; line: number }>();
    for (const [r, cells] of metaTable.rows.entries()) {
      const row = Object.fromEntries(metaTable.columns.map((c, k) => [c, cells[k]]));
      const name = cells[nameAt].trim();
      if (!metaByName.has(name)) metaByName.set(name, { row, line: r + 2 });
    }
    const samples: Sample[] = [];
    const seen = new Set<string>();
    for (const [r, row] of rows.entries()) {
      const name = row.volumeName;
      if (row.split !== split) {
        skipped.push({
          id: name,
          reason: `not a ${split} volume name, listed in ${LABEL_FILES[split]} line ${r + 2}`,
        });
        continue;
      }
      if (seen.has(name)) {
        skipped.push({ id: name, reason: `listed twice in ${LABEL_FILES[split]}` });
        continue;
      }
      seen.add(name);
      const target = row.target;
      const { patient, scan } = row;
      const path = joinPath(
        base,
        split,
        `${split}_${patient}`,
        `${split}_${patient}_${scan}`,
        name,
      );
      if (options.presentOnly && await statKind(path) !== "file") {
        skipped.push({ id: name, reason: `file not present: ${path}` });
        continue;
      }
      const meta = metaByName.get(name);
      samples.push({
        id: name.replace(/\.nii\.gz$/, ""),
        subject: `${split}_${patient}`,
        target,
        path,
        async load(): Promise<Volume> {
          if (!meta) {
            throw new FormatError(
              `Cannot load sample "${name}" as it has no row in ${
                metadataFiles[split]
              } (rescale and spacing come from there)`,
              { path: metaPath },
            );
          }
          const geometry = geometryFromMetadata(meta.row, name, metaPath, meta.line);
          try {
            return await loadCtrateVolume(path, geometry);
          } catch (error) {
            if (error instanceof Deno.errors.NotFound) {
              throw new Deno.errors.NotFound(
                `Cannot load sample "${name}" as its volume file is missing: expected "${path}" (listed in ${
                  LABEL_FILES[split]
                })`,
                { cause: error },
              );
            }
            throw error;
          }
        },
      });
    }
    bySplit.set(split, samples);
  }
  return {
    id,
    root,
    base,
    problem: "multilabel",
    labels: CTRATE_LABELS,
    splits: [...SPLITS],
    splitInfo: {
      method: "official",
      files: [LABEL_FILES.train, LABEL_FILES.valid],
      description: SPLIT_DESCRIPTION,
    },
    splitSource: `official: ${SPLIT_DESCRIPTION}`,
    skipped,
    samples(split: string): readonly Sample[] {
      const s = bySplit.get(split);
      if (!s) {
        throw new RangeError(
          `Cannot list samples of "${id}" as split must be "train" or "valid": current value is "${split}"`,
        );
      }
      return s;
    },
  };
}

// ------------------------------------------------------------ generator --

/** One generated volume of the synthetic CT-RATE. */
export interface CtrateSynthVolume {
  /** `<split>_<patient>_<scan>_<reconstruction>.nii.gz`. */
  readonly name: string;
  /** `"train"` or `"valid"`. */
  readonly split: "train" | "valid";
  /** Indices into {@linkcode CTRATE_LABELS} (shared by the reconstructions of a scan). */
  readonly labels: readonly number[];
  /** RescaleSlope written to the metadata (stored = (HU − intercept) / slope). */
  readonly slope: number;
  /** RescaleIntercept written to the metadata. */
  readonly intercept: number;
}

/**
 * The deterministic plan of the synthetic CT-RATE: volume names (patients
 * with one or two scans, each with one or two reconstructions sharing
 * labels), the patient-disjoint split (about a quarter of the volumes in
 * valid), labels, and per-volume rescale parameters.
 *
 * @example
 * ```ts
 * import { planCtrateSynth } from "./ctrate.ts";
 * import assert from "node:assert/strict";
 * const plan = planCtrateSynth({ count: 12, seed: 2 });
 * assert.equal(plan.length, 12);
 * assert.ok(plan.some((v) => v.split === "valid"));
 * ```
 */
export function planCtrateSynth(options: CtrateSynthOptions = {}): CtrateSynthVolume[] {
  const count = options.count ?? 48;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(count) || count < 2) {
    throw new RangeError(
      `Cannot synthesize "ct/ctrate" as count must be an integer of at least 2: current value is ${count}`,
    );
  }
  const rng = createRng(seed * 7919 + 18);
  const validTarget = Math.max(1, Math.round(count * 0.25));
  type Draft = {
    split: CtrateSplit;
    patient: number;
    scan: string;
    recon: number;
    labels: Set<number>;
  };
  const drafts: Draft[] = [];
  const counters: Record<CtrateSplit, number> = { train: 0, valid: 0 };
  // exactly `validTarget` volumes in valid and the rest in train, whole patients each side
  const quota: Record<CtrateSplit, number> = { train: count - validTarget, valid: validTarget };
  const used: Record<CtrateSplit, number> = { train: 0, valid: 0 };
  while (drafts.length < count) {
    const split: CtrateSplit = used.valid < quota.valid &&
        (rng() < 0.3 || used.train >= quota.train)
      ? "valid"
      : "train";
    const patient = ++counters[split];
    const scans = rng() < 0.3 ? 2 : 1;
    for (let s = 0; s < scans && used[split] < quota[split]; s++) {
      const labels = new Set<number>();
      for (let k = 0; k < CTRATE_LABELS.length; k++) if (rng() < SYNTH_PREVALENCE) labels.add(k);
      const recons = rng() < 0.5 ? 2 : 1;
      for (let r = 1; r <= recons && used[split] < quota[split]; r++) {
        drafts.push({ split, patient, scan: "ab"[s], recon: r, labels });
        used[split]++;
      }
    }
  }
  // repair: every label positive and negative at least once per split (per scan)
  for (const split of SPLITS) {
    const scans = [...new Set(drafts.filter((d) => d.split === split).map((d) => d.labels))];
    if (scans.length < 2) continue;
    for (let k = 0; k < CTRATE_LABELS.length; k++) {
      const pos = scans.filter((l) => l.has(k));
      if (pos.length === 0) scans[Math.floor(rng() * scans.length)].add(k);
      else if (pos.length === scans.length) pos[Math.floor(rng() * pos.length)].delete(k);
    }
  }
  const rescales: readonly (readonly [number, number])[] = [[1, -1024], [1, -8192], [0.5, -1024]];
  return drafts.map((d, i) => {
    const [slope, intercept] = rescales[i % 3];
    return {
      name: `${d.split}_${d.patient}_${d.scan}_${d.recon}.nii.gz`,
      split: d.split,
      labels: [...d.labels].sort((a, b) => a - b),
      slope,
      intercept,
    };
  });
}

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function metadataRow(
  v: CtrateSynthVolume,
  shape: readonly [number, number, number],
  spacing: readonly [number, number, number],
  rng: Rng,
): string {
  const [d, h, w] = shape;
  const [sz, sy, sx] = spacing;
  const z0 = -(d - 1) * sz;
  const values: Record<string, string> = {
    VolumeName: v.name,
    Manufacturer: ["SIEMENS", "Philips", "PNMS"][Math.floor(rng() * 3)],
    SeriesDescription: "THORAX",
    ManufacturerModelName: `Model-${Math.floor(rng() * 3)}`,
    PatientSex: rng() < 0.5 ? "M" : "F",
    PatientAge: `${String(20 + Math.floor(rng() * 60)).padStart(3, "0")}Y`,
    ReconstructionDiameter: String(Math.round(w * sx)),
    GantryDetectorTilt: "0",
    TableHeight: "150",
    RotationDirection: "CW",
    ConvolutionKernel: v.name.endsWith("_1.nii.gz") ? "B" : "L",
    PatientPosition: "HFS",
    ImagePositionPatient: `[${-(w * sx) / 2}, ${-(h * sy) / 2}, ${z0}]`,
    ImageOrientationPatient: "[1, 0, 0, 0, 1, 0]",
    SliceLocation: String(z0),
    SamplesPerPixel: "1",
    PhotometricInterpretation: "MONOCHROME2",
    Rows: String(h),
    Columns: String(w),
    XYSpacing: `[${sx}, ${sy}]`,
    RescaleIntercept: String(v.intercept),
    RescaleSlope: String(v.slope),
    RescaleType: "HU",
    NumberofSlices: String(d),
    ZSpacing: String(sz),
    StudyDate: `2020${String(1 + Math.floor(rng() * 12)).padStart(2, "0")}15`,
  };
  return CTRATE_METADATA_COLUMNS.map((c) => csvField(values[c] ?? "")).join(",");
}

/**
 * Writes a synthetic CT-RATE in the Hugging Face layout under
 * `root/dataset/`: int16 `.nii.gz` volumes with placeholder 1 mm geometry
 * and no header scaling (as originally released), the two label CSVs with
 * the 18 real columns, and the two metadata CSVs with the real column list
 * whose RescaleSlope/RescaleIntercept (varied per volume) and
 * XYSpacing/ZSpacing give HU and spacing. Deterministic for a seed.
 */
export async function synthesizeCtrate(
  root: string,
  options: CtrateSynthOptions = {},
): Promise<void> {
  const size = options.size ?? 64;
  const depth = options.depth ?? 16;
  if (!Number.isInteger(size) || size < 8 || !Number.isInteger(depth) || depth < 1) {
    throw new RangeError(
      `Cannot synthesize "ct/ctrate" as size must be an integer of at least 8 and depth a positive integer: current values are ${size} and ${depth}`,
    );
  }
  const seed = options.seed ?? 0;
  const plan = planCtrateSynth(options);
  const base = joinPath(root, "dataset");
  const shape = [depth, size, size] as const;
  const spacing = [Math.max(1, 160 / depth), 320 / size, 320 / size] as const; // [z, y, x] mm
  const labelLines: Record<CtrateSplit, string[]> = { train: [], valid: [] };
  const metaLines: Record<CtrateSplit, string[]> = { train: [], valid: [] };
  const header = ["VolumeName", ...CTRATE_LABELS].map(csvField).join(",");
  for (const [i, v] of plan.entries()) {
    const m = VOLUME_NAME.exec(v.name)!;
    // reconstructions of one scan share anatomy and lesions; each has its own noise
    const scanRng = createRng(seed * 1000003 + hashText(`${v.split}_${m[2]}_${m[3]}`));
    const rng = createRng(seed * 1000003 + i);
    const folder = joinPath(base, v.split, `${v.split}_${m[2]}`, `${v.split}_${m[2]}_${m[3]}`);
    await Deno.mkdir(folder, { recursive: true });
    const lesions = v.labels.map((k) => ctrateLesion(k, scanRng));
    const hu = renderChestCt(shape, scanRng, lesions, {
      rng,
      sigmaHu: m[4] === "1" ? 12 : 14,
    });
    const stored = new Int16Array(hu.length);
    for (let j = 0; j < hu.length; j++) stored[j] = Math.round((hu[j] - v.intercept) / v.slope);
    await writeNifti(joinPath(folder, v.name), stored, {
      shape: [size, size, depth],
      affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
      description: "medprobe synthetic CT-RATE volume",
    });
    const target = CTRATE_LABELS.map((_, k) => (v.labels.includes(k) ? "1" : "0"));
    labelLines[v.split].push([v.name, ...target].join(","));
    metaLines[v.split].push(metadataRow(v, shape, spacing, rng));
  }
  await Deno.mkdir(joinPath(base, "multi_abnormality_labels"), { recursive: true });
  await Deno.mkdir(joinPath(base, "metadata"), { recursive: true });
  for (const split of SPLITS) {
    await Deno.mkdir(joinPath(base, split), { recursive: true });
    await Deno.writeTextFile(
      joinPath(base, LABEL_FILES[split]),
      [header, ...labelLines[split]].join("\n") + "\n",
    );
    await Deno.writeTextFile(
      joinPath(base, METADATA_FILES[split][0]),
      [CTRATE_METADATA_COLUMNS.join(","), ...metaLines[split]].join("\n") + "\n",
    );
  }
}

/** CT-RATE: 18-label multi-label classification of chest CT volumes, official train/valid split. */
export const ctrateDataset: DatasetSpec = {
  name: "ctrate",
  description:
    "CT-RATE: non-contrast chest CT volumes (NIfTI), 18 abnormality labels, official train/valid split",
  task: "classification",
  problem: "multilabel",
  layout: CTRATE_LAYOUT,
  protocol: CTRATE_PROTOCOL,
  open: openCtrate,
  synthesize: synthesizeCtrate,
};

/**
 * RSNA Pneumonia Detection Challenge (stage 2) as downloaded from Kaggle:
 * DICOMs in `stage_2_train_images/<patientId>.dcm` and boxes in
 * `stage_2_train_labels.csv` (`patientId,x,y,width,height,Target`, one row
 * per box, so several rows per positive patient). The binary label
 * "Pneumonia" is the maximum Target over a patient's rows.
 *
 * Split: MGCA's split files (`train.csv`, `val.csv`, `test.csv` beside the
 * labels CSV, as MGCA's `preprocess/rsna.py` writes them: 70/15/15 by
 * patient) when `train.csv` and `test.csv` are present; otherwise MGCA's
 * split recomputed from the labels CSV exactly as MGCA's
 * `preprocess_rsna_data()` makes it (numpy `RandomState` + scikit-learn
 * `train_test_split`, re-implemented bit for bit in `mgca_split.ts`). The
 * documented hash split (FNV-1a of `"<splitSeed>:<patientId>"`, train <
 * 0.70 ≤ val < 0.85 ≤ test) is only used when asked for (`splitMethod:
 * "hash-fallback"`). The dataset's `splitInfo` says which was used. See
 * README.md.
 *
 * Pixels: the DICOM display pipeline (rescale, the file's first VOI window
 * when it has one, else the image's own range; MONOCHROME1 inverted),
 * values in [0, 1] with intensity `"unit"`.
 *
 * Uses `Deno.readDir`/`Deno.readTextFile`/`Deno.open` to open and
 * `Deno.writeFile` to synthesize.
 *
 * @example Generate a small synthetic copy and open it
 * ```ts
 * import { openRsna, synthesizeRsna } from "./rsna.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await synthesizeRsna(dir, { count: 10, seed: 1, size: 32 });
 * const ds = await openRsna(dir);
 * assert.deepEqual(ds.labels, ["Pneumonia"]);
 * assert.deepEqual(ds.splits, ["train", "val", "test"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { DatasetSpec, ProtocolDefaults, Sample } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { convertDicomToImage, readDicom, writeDicom } from "../../formats/dicom/mod.ts";
import { type CsvTable, readCsv } from "../../formats/csv/mod.ts";
import {
  createLayoutError,
  createRng,
  fileSample,
  findNestedHint,
  hashUnit,
  type Rng,
  xrayProtocol,
} from "./_common.ts";
import {
  LATTICE_TEXTURES,
  type Lesion,
  lesionBox,
  renderChestRadiograph,
  toUint8,
} from "./_phantom.ts";
import type { SkippedRow, SplitInfo, XrayDataset, XraySynthOptions } from "./types.ts";
import { shuffle } from "../../../core/random.ts";
import { joinPath, listTopLevel } from "../../../core/_fs.ts";
import { mgcaRsnaSplit } from "./mgca_split.ts";

/** The one RSNA label. */
export const RSNA_LABELS: readonly string[] = ["Pneumonia"];

/** The files and folders {@linkcode rsnaDataset} expects. */
export const RSNA_LAYOUT: readonly string[] = [
  "stage_2_train_images/<patientId>.dcm",
  "stage_2_train_labels.csv",
  "optional MGCA split files train.csv, val.csv, test.csv (patientId column)",
];

/** MGCA's split files (mgca/constants.py: RSNA_TRAIN_CSV, RSNA_VALID_CSV, RSNA_TEST_CSV). */
export const RSNA_MGCA_SPLIT_FILES: Readonly<Record<"train" | "val" | "test", string>> = {
  train: "train.csv",
  val: "val.csv",
  test: "test.csv",
};

/** Fractions of the fallback split (as MGCA's: 70 / 15 / 15 by patient). */
export const RSNA_FALLBACK_FRACTIONS: Readonly<{ train: number; val: number; test: number }> = {
  train: 0.7,
  val: 0.15,
  test: 0.15,
};

/**
 * The fewest patients MGCA's split can be made from: with fewer,
 * scikit-learn's `train_test_split` leaves a part empty (and raises), so
 * {@linkcode openRsna} uses the hash split and says why.
 */
export const RSNA_MGCA_MIN_PATIENTS = 4;

/** Protocol defaults of RSNA Pneumonia (PROTOCOLS.md, 2D classification — linear probe). */
export const RSNA_PROTOCOL: ProtocolDefaults = xrayProtocol();

const LABELS_CSV = "stage_2_train_labels.csv";
const IMAGES_DIR = "stage_2_train_images";

/** How {@linkcode openRsna} splits the patients. */
export type RsnaSplitMethod = "auto" | "mgca-recomputed" | "hash-fallback";

/** Options of {@linkcode openRsna}. */
export interface RsnaOpenOptions {
  /**
   * `"auto"`: MGCA's split files when present, else MGCA's split recomputed
   * from the labels CSV; `"mgca-recomputed"`: always recompute (ignore the
   * files); `"hash-fallback"`: the FNV-1a hash split. @default {"auto"}
   */
  splitMethod?: RsnaSplitMethod;
  /** Seed of the hash split (used only by `"hash-fallback"`). @default {0} */
  splitSeed?: number;
  /** Same as `splitMethod: "hash-fallback"` (kept for older callers). @default {false} */
  forceFallbackSplit?: boolean;
}

/**
 * The fallback split of one patient: FNV-1a hash of `"<seed>:<patientId>"`
 * in [0, 1); train below 0.70, val below 0.85, test otherwise.
 *
 * @example
 * ```ts
 * import { rsnaFallbackSplit } from "./rsna.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rsnaFallbackSplit("0004cfab-14fd-4e49-80ba-63a80b6bddd6", 0), rsnaFallbackSplit("0004cfab-14fd-4e49-80ba-63a80b6bddd6", 0));
 * ```
 */
export function rsnaFallbackSplit(patientId: string, seed = 0): "train" | "val" | "test" {
  const u = hashUnit(`${seed}:${patientId}`);
  const f = RSNA_FALLBACK_FRACTIONS;
  return u < f.train ? "train" : u < f.train + f.val ? "val" : "test";
}

function createDicomSample(id: string, target: Float32Array, path: string): Sample {
  return fileSample(
    { id, subject: id, target, path },
    "DICOM",
    LABELS_CSV,
    async (file) => convertDicomToImage(await readDicom(file), { mode: "display" }),
  );
}

function columnIndex(table: CsvTable, column: string, what: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) {
    throw new FormatError(
      `Cannot read ${what} as column "${column}" is missing: current columns are ${
        table.columns.map((c) => JSON.stringify(c)).join(", ")
      }`,
      { path: table.path },
    );
  }
  return i;
}

async function readSplitIds(path: string): Promise<string[]> {
  const table = await readCsv(path);
  const i = columnIndex(table, "patientId", "the RSNA split file");
  return table.rows.map((r) => r[i].trim()).filter((v) => v.length > 0);
}

/**
 * Opens the RSNA Pneumonia training set at `root` exactly as downloaded
 * (see the module doc for the split rules). Throws `Deno.errors.NotFound`
 * listing the expected layout and the entries found when the folder does
 * not match, `FormatError` for an unreadable labels or split CSV. A patient
 * whose DICOM is missing still becomes a sample whose `load()` rejects.
 */
export async function openRsna(root: string, options: RsnaOpenOptions = {}): Promise<XrayDataset> {
  const id = "xray/rsna";
  const found = await listTopLevel(root);
  const entries = found ?? [];
  const missing: string[] = [];
  if (!entries.includes(LABELS_CSV)) missing.push(LABELS_CSV);
  if (!entries.includes(`${IMAGES_DIR}/`)) missing.push(`${IMAGES_DIR}/`);
  if (missing.length > 0) {
    const hint = await findNestedHint(root, found, LABELS_CSV);
    throw createLayoutError(id, root, RSNA_LAYOUT, missing, found, hint);
  }
  const labelsPath = joinPath(root, LABELS_CSV);
  const table = await readCsv(labelsPath);
  const pidAt = columnIndex(table, "patientId", "the RSNA labels");
  const targetAt = columnIndex(table, "Target", "the RSNA labels");
  const targets = new Map<string, number>();
  for (const [r, row] of table.rows.entries()) {
    const pid = row[pidAt].trim();
    const text = row[targetAt].trim();
    const t = Number(text);
    if (pid === "" || text === "" || !(t === 0 || t === 1)) {
      throw new FormatError(
        `Cannot read the RSNA labels as line ${
          r + 2
        } must have a patientId and a Target of 0 or 1: current values are ${
          JSON.stringify(row[pidAt])
        } and ${JSON.stringify(row[targetAt])}`,
        { path: labelsPath },
      );
    }
    targets.set(pid, Math.max(targets.get(pid) ?? 0, t));
  }
  const method = options.forceFallbackSplit ? "hash-fallback" : options.splitMethod ?? "auto";
  if (!["auto", "mgca-recomputed", "hash-fallback"].includes(method)) {
    throw new TypeError(
      `Cannot open "xray/rsna" as splitMethod must be "auto", "mgca-recomputed" or "hash-fallback": current value is ${
        JSON.stringify(method)
      }`,
    );
  }
  const useMgca = method === "auto" &&
    entries.includes(RSNA_MGCA_SPLIT_FILES.train) && entries.includes(RSNA_MGCA_SPLIT_FILES.test);
  // MGCA groups the labels CSV by patientId; its order of rows does not matter
  // scikit-learn refuses MGCA's two splits below 4 patients (an empty part): hash split then
  const tooFew = targets.size < RSNA_MGCA_MIN_PATIENTS;
  const recomputed = method === "hash-fallback" || tooFew
    ? undefined
    : mgcaRsnaSplit(targets.keys());
  const assignment = new Map<string, string>();
  const skipped: SkippedRow[] = [];
  let splitNames: string[];
  let splitInfo: SplitInfo;
  if (useMgca) {
    const files = (["train", "val", "test"] as const).filter((s) =>
      entries.includes(RSNA_MGCA_SPLIT_FILES[s])
    );
    splitNames = [...files];
    for (const split of files) {
      for (const pid of await readSplitIds(joinPath(root, RSNA_MGCA_SPLIT_FILES[split]))) {
        const before = assignment.get(pid);
        if (before !== undefined) {
          skipped.push({
            id: pid,
            reason: `in MGCA split files for both ${before} and ${split}; kept in ${before}`,
          });
          continue;
        }
        if (!targets.has(pid)) {
          skipped.push({
            id: pid,
            reason: `in ${RSNA_MGCA_SPLIT_FILES[split]} but not in ${LABELS_CSV}`,
          });
          continue;
        }
        assignment.set(pid, split);
      }
    }
    let differ = 0;
    for (const split of ["train", "val", "test"] as const) {
      for (const pid of recomputed?.[split] ?? []) if (assignment.get(pid) !== split) differ++;
    }
    splitInfo = {
      method: "mgca",
      files: files.map((s) => RSNA_MGCA_SPLIT_FILES[s]),
      description: `MGCA split read from ${
        files.map((s) => RSNA_MGCA_SPLIT_FILES[s]).join(", ")
      } (patient-level 70/15/15); ${
        !recomputed
          ? `too few patients (${targets.size}) to recompute MGCA's split for comparison`
          : differ === 0
          ? "identical to MGCA's preprocess_rsna_data() recomputed from the labels CSV"
          : `${differ} patient(s) differ from MGCA's preprocess_rsna_data() recomputed from the labels CSV`
      }`,
    };
    let unassigned = 0;
    for (const pid of targets.keys()) if (!assignment.has(pid)) unassigned++;
    if (unassigned > 0) {
      skipped.push({
        id: `${unassigned} patient(s)`,
        reason: `in ${LABELS_CSV} but in none of the MGCA split files`,
      });
    }
  } else if (recomputed) {
    splitNames = ["train", "val", "test"];
    for (const split of splitNames as ("train" | "val" | "test")[]) {
      for (const pid of recomputed[split]) assignment.set(pid, split);
    }
    splitInfo = {
      method: "mgca-recomputed",
      files: [],
      description:
        `MGCA split recomputed from ${LABELS_CSV} as MGCA's preprocess_rsna_data() makes it (patients sorted by id; sklearn train_test_split(test_size=0.3, random_state=0), then test_size=0.5 on the held-out part: test then val; numpy MT19937 permutation), ${recomputed.train.length}/${recomputed.val.length}/${recomputed.test.length} patients (no MGCA train.csv/test.csv ${
          method === "auto" ? "found" : "used"
        })`,
    };
  } else {
    const seed = options.splitSeed ?? 0;
    splitNames = ["train", "val", "test"];
    for (const pid of targets.keys()) assignment.set(pid, rsnaFallbackSplit(pid, seed));
    splitInfo = {
      method: "hash-fallback",
      files: [],
      description: `deterministic patient-level fallback (${
        tooFew && method !== "hash-fallback"
          ? `${targets.size} patient(s): too few for MGCA's train_test_split, which needs ${RSNA_MGCA_MIN_PATIENTS}`
          : "asked for"
      }; not MGCA's membership): FNV-1a hash of "${seed}:<patientId>" in [0, 1), train < 0.70 <= val < 0.85 <= test`,
    };
  }
  const bySplit = new Map<string, Sample[]>(splitNames.map((s) => [s, []]));
  for (const [pid, split] of assignment) {
    const target = Float32Array.of(targets.get(pid)!);
    bySplit.get(split)!.push(
      createDicomSample(pid, target, joinPath(root, IMAGES_DIR, `${pid}.dcm`)),
    );
  }
  return {
    id,
    root,
    problem: "binary",
    labels: RSNA_LABELS,
    splits: splitNames,
    splitInfo,
    splitSource: `${splitInfo.method}: ${splitInfo.description}`,
    skipped,
    samples(split: string): readonly Sample[] {
      const s = bySplit.get(split);
      if (!s) {
        throw new RangeError(
          `Cannot list samples of "${id}" as split must be one of ${
            splitNames.map((n) => `"${n}"`).join(", ")
          }: current value is "${split}"`,
        );
      }
      return s;
    },
  };
}

// ------------------------------------------------------------ generator --

/** Options of the RSNA generator. */
export interface RsnaSynthOptions extends XraySynthOptions {
  /** Write MGCA split files (`train.csv`, `val.csv`, `test.csv`). @default {true} */
  splitFiles?: boolean;
}

/** One generated patient of the synthetic RSNA set. */
export interface RsnaSynthPatient {
  /** UUID-like patient id (the DICOM file name without `.dcm`). */
  readonly patientId: string;
  /** 1 with pneumonia opacities, 0 without. */
  readonly target: number;
  /** Opacity boxes `[x, y, width, height]` in pixels (one labels-CSV row each). */
  readonly boxes: readonly (readonly [number, number, number, number])[];
  /** MGCA-style split. */
  readonly split: "train" | "val" | "test";
  /** Photometric interpretation written (some files are MONOCHROME1, stored inverted). */
  readonly photometric: "MONOCHROME1" | "MONOCHROME2";
}

function uuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function opacity(rng: Rng): Lesion {
  const side = rng() < 0.5 ? -1 : 1;
  return {
    cx: 0.5 + side * (0.17 + (rng() - 0.5) * 0.08),
    cy: 0.32 + rng() * 0.32,
    sigma: 0.045 + rng() * 0.02,
    polarity: 1,
    wave: [LATTICE_TEXTURES[2][0], LATTICE_TEXTURES[2][1]],
    phase: 0,
    amplitude: 0.28 + rng() * 0.06,
  };
}

function planRsna(options: RsnaSynthOptions): { patient: RsnaSynthPatient; lesions: Lesion[] }[] {
  const count = options.count ?? 64;
  const seed = options.seed ?? 0;
  const size = options.size ?? 128;
  if (!Number.isInteger(count) || count < 3) {
    throw new RangeError(
      `Cannot synthesize "xray/rsna" as count must be an integer of at least 3: current value is ${count}`,
    );
  }
  const rng = createRng(seed * 7919 + 2);
  const drafts = Array.from({ length: count }, (_, i) => {
    const positive = rng() < 0.4;
    const lesions = positive ? Array.from({ length: rng() < 0.5 ? 1 : 2 }, () => opacity(rng)) : [];
    return { patientId: uuid(rng), lesions, mono1: i % 4 === 3 };
  });
  // stratified 70/15/15 so every split holds both classes when the count allows
  const splitOf = new Map<number, "train" | "val" | "test">();
  for (const positive of [true, false]) {
    const idx = drafts.map((d, i) => ({ d, i })).filter((x) =>
      (x.d.lesions.length > 0) === positive
    )
      .map((x) => x.i);
    shuffle(idx, rng);
    const nVal = Math.max(idx.length >= 3 ? 1 : 0, Math.round(idx.length * 0.15));
    const nTest = Math.max(idx.length >= 2 ? 1 : 0, Math.round(idx.length * 0.15));
    idx.forEach((i, r) => splitOf.set(i, r < nTest ? "test" : r < nTest + nVal ? "val" : "train"));
  }
  return drafts.map((d, i) => ({
    lesions: d.lesions,
    patient: {
      patientId: d.patientId,
      target: d.lesions.length > 0 ? 1 : 0,
      boxes: d.lesions.map((l) => lesionBox(l, size)),
      split: splitOf.get(i)!,
      photometric: d.mono1 ? "MONOCHROME1" : "MONOCHROME2",
    },
  }));
}

/**
 * The deterministic plan of the synthetic RSNA set (patients, targets,
 * boxes, split, photometric). {@linkcode synthesizeRsna} writes exactly this.
 *
 * @example
 * ```ts
 * import { planRsnaSynth } from "./rsna.ts";
 * import assert from "node:assert/strict";
 * const plan = planRsnaSynth({ count: 20, seed: 4 });
 * assert.equal(plan.length, 20);
 * assert.ok(plan.every((p) => p.boxes.length === 0 || p.target === 1));
 * ```
 */
export function planRsnaSynth(options: RsnaSynthOptions = {}): RsnaSynthPatient[] {
  return planRsna(options).map((p) => p.patient);
}

/**
 * Writes a synthetic RSNA Pneumonia set in the Kaggle layout: 8-bit
 * uncompressed DICOMs (chest phantoms; positives carry one or two bright
 * textured opacities; every fourth file is MONOCHROME1, stored inverted) in
 * `stage_2_train_images/`, `stage_2_train_labels.csv` with one row per box,
 * and MGCA split files unless `splitFiles` is false. Deterministic for a seed.
 */
export async function synthesizeRsna(root: string, options: RsnaSynthOptions = {}): Promise<void> {
  const size = options.size ?? 128;
  if (!Number.isInteger(size) || size < 16) {
    throw new RangeError(
      `Cannot synthesize "xray/rsna" as size must be an integer of at least 16: current value is ${size}`,
    );
  }
  const seed = options.seed ?? 0;
  const plan = planRsna(options);
  const images = joinPath(root, IMAGES_DIR);
  await Deno.mkdir(images, { recursive: true });
  const rows = ["patientId,x,y,width,height,Target"];
  const splitRows: Record<string, string[]> = { train: [], val: [], test: [] };
  const spacing = 0.143 * 1024 / size;
  for (const [i, { patient, lesions }] of plan.entries()) {
    const rng = createRng(seed * 1000003 + i);
    const pixels = toUint8(renderChestRadiograph(size, rng, lesions));
    if (patient.photometric === "MONOCHROME1") {
      for (let j = 0; j < pixels.length; j++) pixels[j] = 255 - pixels[j];
    }
    await writeDicom(joinPath(images, `${patient.patientId}.dcm`), {
      pixels,
      rows: size,
      columns: size,
      pixelSpacing: [spacing, spacing],
      photometric: patient.photometric,
      modality: "CR",
      patientId: patient.patientId,
      patientSex: rng() < 0.5 ? "M" : "F",
      patientAge: String(20 + Math.floor(rng() * 60)),
      viewPosition: rng() < 0.5 ? "PA" : "AP",
      bodyPartExamined: "CHEST",
      seed: `rsna/${seed}/${patient.patientId}`,
    });
    if (patient.boxes.length === 0) rows.push(`${patient.patientId},,,,,0`);
    for (const [x, y, w, h] of patient.boxes) {
      rows.push(
        `${patient.patientId},${x.toFixed(1)},${y.toFixed(1)},${w.toFixed(1)},${h.toFixed(1)},1`,
      );
    }
    const bbox = patient.boxes.length === 0
      ? ""
      : `"[${patient.boxes.map(([x, y, w, h]) => `[${x}, ${y}, ${x + w}, ${y + h}]`).join(", ")}]"`;
    splitRows[patient.split].push(`${patient.patientId},${bbox},${patient.target}`);
  }
  await Deno.writeTextFile(joinPath(root, LABELS_CSV), rows.join("\n") + "\n");
  if (options.splitFiles ?? true) {
    for (const split of ["train", "val", "test"] as const) {
      await Deno.writeTextFile(
        joinPath(root, RSNA_MGCA_SPLIT_FILES[split]),
        ["patientId,bbox,Target", ...splitRows[split]].join("\n") + "\n",
      );
    }
  }
}

/** RSNA Pneumonia: binary classification of chest radiograph DICOMs, MGCA split. */
export const rsnaDataset: DatasetSpec = {
  name: "rsna",
  description:
    "RSNA Pneumonia Detection (stage 2 train): 26,684 chest X-ray DICOMs, binary, MGCA split",
  task: "classification",
  problem: "binary",
  layout: RSNA_LAYOUT,
  protocol: RSNA_PROTOCOL,
  open: openRsna,
  synthesize: synthesizeRsna,
};

/**
 * CAMELYON16 and CAMELYON17, read exactly as downloaded from the
 * challenge's bucket (`s3://camelyon-dataset/CAMELYON16/`, layout as eva's
 * dataset documentation shows it):
 *
 * ```
 * CAMELYON16/training/normal/normal_001.tif …   training/tumor/tumor_001.tif …
 * CAMELYON16/testing/images/test_001.tif …      testing/reference.csv
 * CAMELYON17/training/center_0/patient_000_node_0.tif …   stage_labels.csv
 * ```
 *
 * **Camelyon16** (binary, label "Tumor"): splits `train` (270: the
 * `normal_*` and `tumor_*` slides), `test` (the test slides labelled in
 * `reference.csv`, rows `test_001,Tumor,Macro,…` or `test_002,Normal,…`;
 * header optional, names case-insensitive) and `all`. The test set has 130
 * slides of which `test_049` is a duplicate of a training slide (DIDSR/dldp
 * data description, followed by eva); it is left out by default
 * (`keepDuplicate: true` keeps it), giving the official 270 / 129.
 *
 * **Camelyon17** (binary, label "Tumor"): the 500 labelled training slides
 * `patient_XXX_node_Y.tif` (in `training/center_N/` or flat), slide labels
 * from `stage_labels.csv` (`patient,stage` rows; slide rows say `negative`,
 * `itc`, `micro` or `macro`; the `patient_XXX.zip` pN rows are ignored).
 * ITC slides are removed (following AttriMIL, Cai et al. 2025, as the
 * report does); micro and macro are positive. Splits: `all`, `seen` and
 * `unseen`: seen centres are those that also contributed Camelyon16 —
 * Radboud UMC (`center_0`) and UMC Utrecht (`center_2`), per Bandi et al.
 * 2018 (IEEE TMI 38(2)) — and `unseen` the other three (CWZ, RST, LPON).
 * The report counts 140 seen / 324 unseen slides after ITC removal; the
 * counts this definition gives are recorded by the dataset (`splitInfo`),
 * and `seenCenters` overrides the definition.
 *
 * @module
 */

import type {
  Dataset,
  DatasetSpec,
  ProtocolDefaults,
  Sample,
  SynthOptions,
} from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { formatFound, joinPath, listTopLevel, statKind } from "../../../core/_fs.ts";
import { parseCsv } from "../../formats/csv/csv.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { writeSyntheticSlide } from "./_synth.ts";

/** The protocol of the WSI datasets (PROTOCOLS.md, "Whole-slide images — ABMIL"). */
export const WSI_PROTOCOL: ProtocolDefaults = {
  adapter: "tile-bag",
  adapterOptions: {},
  heads: ["abmil"],
  metrics: ["auc", "accuracy", "precision", "recall"],
  resolution: 224,
  feature: "bag",
  trainSplit: "train",
  testSplit: "test",
};

/** A WSI dataset: splits, plus how they were made. */
export interface WsiDataset extends Dataset {
  /** How the splits were defined (recorded in results). */
  readonly splitInfo: Readonly<Record<string, unknown>>;
  /** Slides left out, with the reason. */
  readonly excluded: readonly { id: string; reason: string }[];
  /** The targets `open` accepts as `label`, when the dataset has several (BCNB). */
  readonly targets?: readonly string[];
}

function slideSample(id: string, path: string, label: number, subject?: string): Sample {
  return {
    id,
    path,
    subject: subject ?? id,
    target: Float32Array.of(label),
    load: async () => {
      if ((await statKind(path)) !== "file") {
        throw new Deno.errors.NotFound(`Cannot load slide "${id}" as ${path} does not exist`);
      }
      return { kind: "slide", path };
    },
  };
}

async function listSlides(dir: string, pattern: RegExp): Promise<string[]> {
  const names = await listTopLevel(dir);
  return (names ?? []).filter((n) => pattern.test(n)).sort();
}

function makeDataset(
  id: string,
  root: string,
  splits: Record<string, Sample[]>,
  splitInfo: Record<string, unknown>,
  excluded: { id: string; reason: string }[],
): WsiDataset {
  return {
    id,
    root,
    problem: "binary",
    labels: ["Tumor"],
    splits: Object.keys(splits),
    samples(split: string): readonly Sample[] {
      const s = splits[split];
      if (!s) {
        throw new RangeError(
          `Cannot list split "${split}" of ${id} as it must be one of ${
            Object.keys(splits).join(", ")
          }`,
        );
      }
      return s;
    },
    splitInfo,
    excluded,
  };
}

// ------------------------------------------------------------ Camelyon16 --

/** The files and folders Camelyon16 is read from. */
export const CAMELYON16_LAYOUT: readonly string[] = [
  "training/normal/normal_NNN.tif",
  "training/tumor/tumor_NNN.tif",
  "testing/images/test_NNN.tif",
  "testing/reference.csv (test_NNN,Tumor|Normal,...)",
];

/** The duplicate test slide left out by default. */
export const CAMELYON16_DUPLICATE = "test_049";

/** Opens CAMELYON16 as downloaded (see the module documentation). */
export async function openCamelyon16(
  root: string,
  options: { keepDuplicate?: boolean } = {},
): Promise<WsiDataset> {
  const normalDir = joinPath(root, "training", "normal");
  const tumorDir = joinPath(root, "training", "tumor");
  const testDir = joinPath(root, "testing", "images");
  const refPath = joinPath(root, "testing", "reference.csv");
  if ((await statKind(normalDir)) !== "dir" || (await statKind(tumorDir)) !== "dir") {
    throw new FormatError(
      `Cannot open wsi/camelyon16 as training/normal and training/tumor must be folders: found ${
        formatFound(await listTopLevel(root))
      } (expected ${CAMELYON16_LAYOUT.join(", ")})`,
      { path: root },
    );
  }
  const slide = /\.tif$/i;
  const train: Sample[] = [];
  for (const n of await listSlides(normalDir, slide)) {
    train.push(slideSample(n.replace(slide, ""), joinPath(normalDir, n), 0));
  }
  for (const n of await listSlides(tumorDir, slide)) {
    train.push(slideSample(n.replace(slide, ""), joinPath(tumorDir, n), 1));
  }
  const test: Sample[] = [];
  const excluded: { id: string; reason: string }[] = [];
  if ((await statKind(refPath)) === "file") {
    const text = await Deno.readTextFile(refPath);
    // Rows have 2 to 4 fields (normal slides leave the lesion type out): split by hand.
    const rows = text.split(/\r?\n/).filter((l) => l.trim()).map((l) => l.split(","));
    const files = new Map(
      (await listSlides(testDir, slide)).map((n) => [n.replace(slide, "").toLowerCase(), n]),
    );
    for (const row of rows) {
      const name = (row[0] ?? "").trim().toLowerCase().replace(/\.tif$/, "");
      const cls = (row[1] ?? "").trim().toLowerCase();
      if (!name || name === "image" || name === "name") continue;
      if (cls !== "tumor" && cls !== "normal") {
        throw new FormatError(
          `Cannot read the label of ${name} as the class must be Tumor or Normal: current value is "${
            row[1]
          }"`,
          { path: refPath },
        );
      }
      if (name === CAMELYON16_DUPLICATE && !options.keepDuplicate) {
        excluded.push({ id: name, reason: "duplicate of a training slide (DIDSR/dldp)" });
        continue;
      }
      const file = files.get(name);
      const path = joinPath(testDir, file ?? `${name}.tif`);
      test.push(slideSample(name, path, cls === "tumor" ? 1 : 0));
    }
  }
  return makeDataset(
    "wsi/camelyon16",
    root,
    { train, test, all: [...train, ...test] },
    {
      method: "official",
      train: train.length,
      test: test.length,
      duplicate: options.keepDuplicate ? "kept" : `${CAMELYON16_DUPLICATE} left out`,
    },
    excluded,
  );
}

/** Writes a synthetic Camelyon16 in the real layout (half tumour slides). */
export async function synthesizeCamelyon16(
  root: string,
  options: SynthOptions & { width?: number; height?: number; testCount?: number } = {},
): Promise<void> {
  const count = options.count ?? 12;
  const seed = options.seed ?? 0;
  const testCount = options.testCount ?? Math.max(2, Math.round(count / 3));
  const rng = createMulberry32(seed);
  for (const dir of ["training/normal", "training/tumor", "testing/images"]) {
    await Deno.mkdir(joinPath(root, dir), { recursive: true });
  }
  const size = { width: options.width, height: options.height };
  let n = 0, t = 0;
  for (let i = 0; i < count; i++) {
    const tumour = i % 2 === 1;
    const name = tumour
      ? `tumor_${String(++t).padStart(3, "0")}`
      : `normal_${String(++n).padStart(3, "0")}`;
    await writeSyntheticSlide(
      joinPath(root, "training", tumour ? "tumor" : "normal", `${name}.tif`),
      { ...size, seed: Math.floor(rng() * 2 ** 31), tumour },
    );
  }
  const rows: string[] = [];
  for (let i = 0; i < testCount; i++) {
    const tumour = i % 2 === 0;
    const name = `test_${String(i + 1).padStart(3, "0")}`;
    await writeSyntheticSlide(joinPath(root, "testing", "images", `${name}.tif`), {
      ...size,
      seed: Math.floor(rng() * 2 ** 31),
      tumour,
    });
    rows.push(
      `${name},${tumour ? "Tumor" : "Normal"},${tumour ? "Macro" : ""},${
        tumour ? "Annotated" : ""
      }`,
    );
  }
  await Deno.writeTextFile(joinPath(root, "testing", "reference.csv"), rows.join("\n") + "\n");
}

/** The `camelyon16` dataset of the `wsi` modality. */
export const camelyon16Dataset: DatasetSpec = {
  name: "camelyon16",
  description:
    "CAMELYON16 lymph-node WSIs (tumour vs normal): official 270 / 129 split and k-fold CV, ABMIL",
  task: "mil",
  problem: "binary",
  layout: CAMELYON16_LAYOUT,
  protocol: WSI_PROTOCOL,
  open: (root: string, options?: Record<string, unknown>): Promise<Dataset> =>
    openCamelyon16(root, options as { keepDuplicate?: boolean }),
  synthesize: (root: string, options?: SynthOptions): Promise<void> =>
    synthesizeCamelyon16(root, options),
};

// ------------------------------------------------------------ Camelyon17 --

/** The files and folders Camelyon17 is read from. */
export const CAMELYON17_LAYOUT: readonly string[] = [
  "training/center_N/patient_NNN_node_N.tif (or training/patient_NNN_node_N.tif)",
  "stage_labels.csv or training/stage_labels.csv (patient,stage)",
];

/** Centres that also contributed Camelyon16 (Radboud UMC, UMC Utrecht; Bandi et al. 2018). */
export const CAMELYON17_SEEN_CENTERS: readonly number[] = [0, 2];

/** Opens CAMELYON17's labelled training slides (see the module documentation). */
export async function openCamelyon17(
  root: string,
  options: { seenCenters?: readonly number[] } = {},
): Promise<WsiDataset> {
  const training = joinPath(root, "training");
  const base = (await statKind(training)) === "dir" ? training : root;
  let labelsPath = joinPath(root, "stage_labels.csv");
  if ((await statKind(labelsPath)) !== "file") labelsPath = joinPath(training, "stage_labels.csv");
  if ((await statKind(labelsPath)) !== "file") {
    throw new FormatError(
      `Cannot open wsi/camelyon17 as stage_labels.csv is missing: found ${
        formatFound(await listTopLevel(root))
      } (expected ${CAMELYON17_LAYOUT.join(", ")})`,
      { path: root },
    );
  }
  const table = parseCsv(await Deno.readTextFile(labelsPath), labelsPath);
  const stages = new Map<string, string>();
  for (const row of table.rows) {
    const name = (row[0] ?? "").trim();
    if (!/\.tif$/i.test(name)) continue; // patient rows (pN stage)
    stages.set(name.replace(/\.tif$/i, ""), (row[1] ?? "").trim().toLowerCase());
  }
  // Slide files: in center_N folders, or flat.
  const files = new Map<string, { path: string; center: number }>();
  const pattern = /^patient_(\d+)_node_(\d+)\.tif$/i;
  for (const entry of (await listTopLevel(base)) ?? []) {
    const m = /^center_(\d+)$/.exec(entry);
    if (m) {
      for (const n of await listSlides(joinPath(base, entry), pattern)) {
        files.set(n.replace(/\.tif$/i, ""), {
          path: joinPath(base, entry, n),
          center: Number(m[1]),
        });
      }
    } else if (pattern.test(entry)) {
      const patient = Number(pattern.exec(entry)![1]);
      files.set(entry.replace(/\.tif$/i, ""), {
        path: joinPath(base, entry),
        center: Math.floor(patient / 20),
      });
    }
  }
  const seen = new Set(options.seenCenters ?? CAMELYON17_SEEN_CENTERS);
  const all: Sample[] = [], seenS: Sample[] = [], unseen: Sample[] = [];
  const excluded: { id: string; reason: string }[] = [];
  for (const [id, stage] of [...stages].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (stage === "itc") {
      excluded.push({ id, reason: "isolated tumour cells (ITC) slide removed" });
      continue;
    }
    if (!["negative", "micro", "macro"].includes(stage)) {
      throw new FormatError(
        `Cannot read the stage of ${id} as it must be negative, itc, micro or macro: current value is "${stage}"`,
        { path: labelsPath },
      );
    }
    const patient = Number(/^patient_(\d+)/.exec(id)?.[1] ?? NaN);
    const file = files.get(id);
    const center = file?.center ?? Math.floor(patient / 20);
    const sample = slideSample(
      id,
      file?.path ?? joinPath(base, `center_${center}`, `${id}.tif`),
      stage === "negative" ? 0 : 1,
      `patient_${String(patient).padStart(3, "0")}`,
    );
    all.push(sample);
    (seen.has(center) ? seenS : unseen).push(sample);
  }
  return makeDataset(
    "wsi/camelyon17",
    root,
    { all, seen: seenS, unseen, test: unseen },
    {
      method: "seen/unseen by centre",
      seenCenters: [...seen],
      definition:
        "seen = centres that also contributed Camelyon16 (Radboud UMC = center_0, UMC Utrecht = center_2; Bandi et al. 2018); ITC slides removed following AttriMIL (Cai et al. 2025)",
      seen: seenS.length,
      unseen: unseen.length,
      reportCounts: { seen: 140, unseen: 324 },
    },
    excluded,
  );
}

/** Writes a synthetic Camelyon17 in the real layout (5 centres, patients of 5 nodes). */
export async function synthesizeCamelyon17(
  root: string,
  options: SynthOptions & { width?: number; height?: number } = {},
): Promise<void> {
  const count = options.count ?? 10;
  const rng = createMulberry32((options.seed ?? 0) + 17);
  const rows = ["patient,stage"];
  const stages = ["negative", "macro", "micro", "negative", "itc"];
  for (let i = 0; i < count; i++) {
    // Slide i goes to centre i mod 5, so every centre (seen and unseen) has slides.
    const center = i % 5;
    const p = center * 20 + Math.floor(i / 25);
    const node = Math.floor(i / 5) % 5;
    const stage = stages[(i + Math.floor(i / 5)) % stages.length];
    const id = `patient_${String(p).padStart(3, "0")}_node_${node}`;
    const dir = joinPath(root, "training", `center_${center}`);
    await Deno.mkdir(dir, { recursive: true });
    await writeSyntheticSlide(joinPath(dir, `${id}.tif`), {
      width: options.width,
      height: options.height,
      seed: Math.floor(rng() * 2 ** 31),
      tumour: stage === "micro" || stage === "macro",
    });
    rows.push(`${id}.tif,${stage}`);
  }
  await Deno.writeTextFile(joinPath(root, "training", "stage_labels.csv"), rows.join("\n") + "\n");
}

/** The `camelyon17` dataset of the `wsi` modality (external test of Camelyon16 models). */
export const camelyon17Dataset: DatasetSpec = {
  name: "camelyon17",
  description:
    "CAMELYON17 training slides (ITC removed), seen/unseen centres: external test of Camelyon16 models",
  task: "mil",
  problem: "binary",
  layout: CAMELYON17_LAYOUT,
  protocol: { ...WSI_PROTOCOL, trainSplit: "seen", testSplit: "unseen" },
  open: (root: string, options?: Record<string, unknown>): Promise<Dataset> =>
    openCamelyon17(root, options as { seenCenters?: readonly number[] }),
  synthesize: (root: string, options?: SynthOptions): Promise<void> =>
    synthesizeCamelyon17(root, options),
};

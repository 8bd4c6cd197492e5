/**
 * NIH ChestX-ray14 (Wang et al., CVPR 2017) as downloaded: PNG images in
 * `images_*\/images/` (or one `images/` folder), labels in
 * `Data_Entry_2017.csv` ('Finding Labels' joined by `|`, `No Finding` = all
 * zeros), and the official patient-wise split in `train_val_list.txt` /
 * `test_list.txt`. 14 labels in the official order; see README.md.
 *
 * Uses `Deno.readDir`/`Deno.readTextFile` to open and `Deno.writeFile` to
 * synthesize.
 *
 * @example Generate a small synthetic copy and open it
 * ```ts
 * import { openNih14, synthesizeNih14 } from "./nih14.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await synthesizeNih14(dir, { count: 8, seed: 1, size: 32 });
 * const ds = await openNih14(dir);
 * assert.equal(ds.labels.length, 14);
 * assert.equal(ds.samples("train").length + ds.samples("test").length, 8);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { DatasetSpec, Image2D, ProtocolDefaults, Sample } from "../../../core/plugin.ts";
import { readImage, writePng } from "../../formats/image/mod.ts";
import { NIH_CHEST_XRAY14_CLASSES, readNihDataEntry } from "../../formats/csv/mod.ts";
import {
  createLayoutError,
  createRng,
  fileSample,
  findNestedHint,
  isDirectory,
  type Rng,
  xrayProtocol,
} from "./_common.ts";
import { LATTICE_TEXTURES, type Lesion, renderChestRadiograph, toUint8 } from "./_phantom.ts";
import type { SkippedRow, XrayDataset, XraySynthOptions } from "./types.ts";
import { shuffle } from "../../../core/random.ts";
import { joinPath, listTopLevel } from "../../../core/_fs.ts";

/**
 * The 14 NIH ChestX-ray14 labels in the official order (target index =
 * position): Atelectasis, Cardiomegaly, Effusion, Infiltration, Mass,
 * Nodule, Pneumonia, Pneumothorax, Consolidation, Edema, Emphysema,
 * Fibrosis, Pleural_Thickening, Hernia.
 */
export const NIH14_LABELS: readonly string[] = NIH_CHEST_XRAY14_CLASSES;

/** The 'Finding Labels' value meaning no finding (all 14 targets 0). */
export const NIH14_NO_FINDING = "No Finding";

/** The files and folders {@linkcode nih14Dataset} expects. */
export const NIH14_LAYOUT: readonly string[] = [
  "Data_Entry_2017.csv (or Data_Entry_2017_v2020.csv)",
  "train_val_list.txt",
  "test_list.txt",
  "images_*/images/*.png (or images/*.png)",
];

/** Protocol defaults of NIH-14 (PROTOCOLS.md, 2D classification — linear probe). */
export const NIH14_PROTOCOL: ProtocolDefaults = xrayProtocol();

const SPLIT_DESCRIPTION =
  "official patient-wise split: train = train_val_list.txt, test = test_list.txt";
const DATA_ENTRY_NAMES = ["Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv"];
const IMAGE_FOLDER = /^images(_\d+)?$/;

/** Finds the image folders: `images_NNN/images/`, `images_NNN/` or `images/`. */
async function findImageFolders(root: string, found: readonly string[]): Promise<string[]> {
  const folders: string[] = [];
  for (const entry of found) {
    if (!entry.endsWith("/") || !IMAGE_FOLDER.test(entry.slice(0, -1))) continue;
    const top = joinPath(root, entry.slice(0, -1));
    const nested = joinPath(top, "images");
    folders.push(await isDirectory(nested) ? nested : top);
  }
  return folders;
}

async function indexImages(folders: readonly string[]): Promise<Map<string, string>> {
  const byName = new Map<string, string>();
  for (const folder of folders) {
    for await (const entry of Deno.readDir(folder)) {
      if (!entry.isFile && !entry.isSymlink) continue;
      if (!byName.has(entry.name)) byName.set(entry.name, joinPath(folder, entry.name));
    }
  }
  return byName;
}

async function readList(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Grey + alpha (PNG colour type 4) → grey: the adapters take 1, 3 or 4 channels. */
function dropAlpha(image: Image2D): Image2D {
  const n = image.width * image.height;
  const src = image.data;
  const grey = src instanceof Uint16Array ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) grey[i] = src[i * 2];
  return { ...image, data: grey, channels: 1 };
}

function createImageSample(
  id: string,
  subject: string,
  target: Float32Array,
  path: string,
  listedIn: string,
): Sample {
  return fileSample({ id, subject, target, path }, "image", listedIn, async (file) => {
    const image = await readImage(file);
    return image.channels === 2 ? dropAlpha(image) : image;
  });
}

/**
 * Opens NIH ChestX-ray14 at `root` exactly as downloaded. Throws
 * `Deno.errors.NotFound` listing the expected layout and the entries found
 * when the folder does not match; `FormatError` for a label table it cannot
 * read (an unknown finding label, a malformed row). Images listed in the table but absent on disk still become samples
 * whose `load()` rejects (the runner records them as failed).
 */
export async function openNih14(root: string): Promise<XrayDataset> {
  const id = "xray/nih14";
  const found = await listTopLevel(root);
  const entries = found ?? [];
  const csvName = DATA_ENTRY_NAMES.find((n) => entries.includes(n));
  const missing: string[] = [];
  if (!csvName) missing.push("Data_Entry_2017.csv");
  for (const list of ["train_val_list.txt", "test_list.txt"]) {
    if (!entries.includes(list)) missing.push(list);
  }
  const folders = found ? await findImageFolders(root, entries) : [];
  if (folders.length === 0) missing.push("images_*/images/");
  if (missing.length > 0) {
    const hint = await findNestedHint(root, found, "train_val_list.txt");
    throw createLayoutError(id, root, NIH14_LAYOUT, missing, found, hint);
  }
  const csvPath = joinPath(root, csvName!);
  const skipped: SkippedRow[] = [];
  const byImage = new Map<string, { target: Float32Array; subject: string }>();
  for (const row of await readNihDataEntry(csvPath)) {
    if (byImage.has(row.imageIndex)) {
      skipped.push({ id: row.imageIndex, reason: `second row in ${csvName} ignored` });
      continue;
    }
    byImage.set(row.imageIndex, { target: row.target, subject: String(row.patientId) });
  }
  const images = await indexImages(folders);
  const splits = new Map<string, Sample[]>();
  const listed = new Set<string>();
  for (const [split, file] of [["train", "train_val_list.txt"], ["test", "test_list.txt"]]) {
    const samples: Sample[] = [];
    for (const name of await readList(joinPath(root, file))) {
      if (listed.has(name)) {
        skipped.push({ id: name, reason: `listed more than once in the split files (${file})` });
        continue;
      }
      listed.add(name);
      const row = byImage.get(name);
      if (!row) {
        skipped.push({ id: name, reason: `listed in ${file} but has no row in ${csvName}` });
        continue;
      }
      // absent from every image folder: name the one folder, or the pattern when several
      const path = images.get(name) ??
        (folders.length === 1
          ? joinPath(folders[0], name)
          : joinPath(root, "images_*", "images", name));
      samples.push(createImageSample(name, row.subject, row.target, path, csvName!));
    }
    splits.set(split, samples);
  }
  let unlisted = 0;
  for (const name of byImage.keys()) if (!listed.has(name)) unlisted++;
  if (unlisted > 0) {
    skipped.push({
      id: `${unlisted} image(s)`,
      reason: `in ${csvName} but in neither train_val_list.txt nor test_list.txt`,
    });
  }
  return {
    id,
    root,
    problem: "multilabel",
    labels: NIH14_LABELS,
    splits: ["train", "test"],
    splitInfo: {
      method: "official",
      files: ["train_val_list.txt", "test_list.txt"],
      description: SPLIT_DESCRIPTION,
    },
    splitSource: `official: ${SPLIT_DESCRIPTION}`,
    skipped,
    samples(split: string): readonly Sample[] {
      const s = splits.get(split);
      if (!s) {
        throw new RangeError(
          `Cannot list samples of "${id}" as split must be "train" or "test": current value is "${split}"`,
        );
      }
      return s;
    },
  };
}

// ------------------------------------------------------------ generator --

/** Where and how the lesion of each NIH label is drawn (fractions of the image). */
function nihLesion(k: number, rng: Rng): Lesion {
  const side = k < 7 ? -1 : 1;
  const slots: readonly (readonly [number, number])[] = [
    [-0.05, 0.27],
    [0.05, 0.34],
    [-0.05, 0.42],
    [0.05, 0.5],
    [-0.05, 0.58],
    [0.05, 0.64],
    [0, 0.7],
  ];
  const [dx, cy] = slots[k % 7];
  const name = NIH14_LABELS[k];
  return {
    cx: 0.5 + side * 0.18 + dx + (rng() - 0.5) * 0.03,
    cy: cy + (rng() - 0.5) * 0.03,
    sigma: (k < 8 ? 0.06 : 0.08) + rng() * 0.01,
    polarity: name === "Pneumothorax" || name === "Emphysema" ? -1 : 1,
    wave: [LATTICE_TEXTURES[k % 8][0], LATTICE_TEXTURES[k % 8][1]],
    phase: LATTICE_TEXTURES[k % 8][2],
    amplitude: 0.4 + rng() * 0.06,
  };
}

/** One generated image of the synthetic NIH-14 set. */
export interface Nih14SynthImage {
  /** `<patient>_<follow-up>.png`. */
  readonly name: string;
  /** Patient ID (1-based). */
  readonly patientId: number;
  /** Follow-up number within the patient. */
  readonly followUp: number;
  /** Indices into {@linkcode NIH14_LABELS}. */
  readonly labels: readonly number[];
  /** `"train"` (train_val_list.txt) or `"test"` (test_list.txt). */
  readonly split: "train" | "test";
}

/**
 * The deterministic plan of the synthetic NIH-14 set: names, patients,
 * labels and the patient-wise split (about 25 % of patients in test, each
 * label positive and negative at least once per split when the count
 * allows). {@linkcode synthesizeNih14} writes exactly this.
 *
 * @example
 * ```ts
 * import { planNih14Synth } from "./nih14.ts";
 * import assert from "node:assert/strict";
 * const plan = planNih14Synth({ count: 20, seed: 3 });
 * assert.equal(plan.length, 20);
 * assert.deepEqual(plan, planNih14Synth({ count: 20, seed: 3 }));
 * ```
 */
export function planNih14Synth(options: XraySynthOptions = {}): Nih14SynthImage[] {
  const count = options.count ?? 64;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(count) || count < 2) {
    throw new RangeError(
      `Cannot synthesize "xray/nih14" as count must be an integer of at least 2: current value is ${count}`,
    );
  }
  const rng = createRng(seed * 7919 + 14);
  const patients: { id: number; images: number }[] = [];
  let left = count;
  for (let p = 1; left > 0; p++) {
    // at least two patients, so that both splits get one
    const n = Math.min(p === 1 ? left - 1 : left, 1 + Math.floor(rng() * 3));
    patients.push({ id: p, images: n });
    left -= n;
  }
  // patient-wise split: shuffle, then about a quarter of the images go to test
  const order = patients.map((_, i) => i);
  shuffle(order, rng);
  const testPatients = new Set<number>();
  let testImages = 0;
  for (const i of order) {
    if (testImages >= Math.max(1, Math.round(count * 0.25))) break;
    if (testPatients.size >= patients.length - 1) break;
    testPatients.add(patients[i].id);
    testImages += patients[i].images;
  }
  const plan: {
    name: string;
    patientId: number;
    followUp: number;
    labels: Set<number>;
    split: "train" | "test";
  }[] = [];
  for (const p of patients) {
    for (let f = 0; f < p.images; f++) {
      const labels = new Set<number>();
      if (rng() >= 0.15) {
        for (let k = 0; k < NIH14_LABELS.length; k++) if (rng() < 0.3) labels.add(k);
        if (labels.size === 0) labels.add(Math.floor(rng() * NIH14_LABELS.length));
      }
      plan.push({
        name: `${String(p.id).padStart(8, "0")}_${String(f).padStart(3, "0")}.png`,
        patientId: p.id,
        followUp: f,
        labels,
        split: testPatients.has(p.id) ? "test" : "train",
      });
    }
  }
  // repair: every label positive and negative at least once per split
  for (const split of ["train", "test"] as const) {
    const items = plan.filter((p) => p.split === split);
    if (items.length < 2) continue;
    for (let k = 0; k < NIH14_LABELS.length; k++) {
      const pos = items.filter((p) => p.labels.has(k));
      if (pos.length === 0) items[Math.floor(rng() * items.length)].labels.add(k);
      else if (pos.length === items.length) pos[Math.floor(rng() * pos.length)].labels.delete(k);
    }
  }
  return plan.map((p) => ({ ...p, labels: [...p.labels].sort((a, b) => a - b) }));
}

/**
 * Writes a synthetic NIH ChestX-ray14 in the real layout: 8-bit grey PNGs
 * (chest phantoms with label-specific lesion blobs) split over
 * `images_001/images/` and `images_002/images/`, `Data_Entry_2017.csv`
 * with the real header (trailing comma included), `train_val_list.txt` and
 * `test_list.txt`. Deterministic for a seed.
 */
export async function synthesizeNih14(
  root: string,
  options: XraySynthOptions = {},
): Promise<void> {
  const size = options.size ?? 128;
  if (!Number.isInteger(size) || size < 16) {
    throw new RangeError(
      `Cannot synthesize "xray/nih14" as size must be an integer of at least 16: current value is ${size}`,
    );
  }
  const plan = planNih14Synth(options);
  const seed = options.seed ?? 0;
  const folders = [joinPath(root, "images_001", "images"), joinPath(root, "images_002", "images")];
  for (const f of folders) await Deno.mkdir(f, { recursive: true });
  const half = Math.ceil(plan.length / 2);
  const lines = [
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],",
  ];
  const spacing = (0.143 * 1024 / size).toFixed(3);
  for (let i = 0; i < plan.length; i++) {
    const item = plan[i];
    const rng = createRng(seed * 1000003 + i);
    const lesions = item.labels.map((k) => nihLesion(k, rng));
    const pixels = toUint8(renderChestRadiograph(size, rng, lesions));
    await writePng(joinPath(folders[i < half ? 0 : 1], item.name), {
      data: pixels,
      width: size,
      height: size,
      channels: 1,
    });
    const findings = item.labels.length === 0
      ? NIH14_NO_FINDING
      : item.labels.map((k) => NIH14_LABELS[k]).join("|");
    const age = 20 + Math.floor(rng() * 60);
    const gender = rng() < 0.5 ? "M" : "F";
    const view = rng() < 0.6 ? "PA" : "AP";
    lines.push(
      [
        item.name,
        findings,
        item.followUp,
        item.patientId,
        age,
        gender,
        view,
        size,
        size,
        spacing,
        spacing,
      ]
        .join(","),
    );
  }
  await Deno.writeTextFile(joinPath(root, "Data_Entry_2017.csv"), lines.join("\n") + "\n");
  for (const [split, file] of [["train", "train_val_list.txt"], ["test", "test_list.txt"]]) {
    const names = plan.filter((p) => p.split === split).map((p) => p.name).sort();
    await Deno.writeTextFile(joinPath(root, file), names.join("\n") + "\n");
  }
}

/** NIH ChestX-ray14: 14-label multi-label classification, official patient-wise split. */
export const nih14Dataset: DatasetSpec = {
  name: "nih14",
  description:
    "NIH ChestX-ray14: 112,120 frontal chest PNGs, 14 labels, official patient-wise split",
  task: "classification",
  problem: "multilabel",
  layout: NIH14_LAYOUT,
  protocol: NIH14_PROTOCOL,
  open: openNih14,
  synthesize: synthesizeNih14,
};

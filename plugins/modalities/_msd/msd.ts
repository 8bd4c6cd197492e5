/**
 * The Medical Segmentation Decathlon (Antonelli et al., 2022) as
 * downloaded: one folder per task, `TaskXX_Name/` with `dataset.json`,
 * `imagesTr/` and `labelsTr/` (NIfTI, `.nii.gz`) and unlabelled
 * `imagesTs/`. Multi-modal tasks (BrainTumour: FLAIR, T1w, t1gd, T2w;
 * Prostate: T2, ADC) store 4D images with the channels on the 4th axis;
 * they load as one {@linkcode Volume} with `channels` > 1.
 *
 * The protocol (PROTOCOLS.md): 5-fold cross-validation on the public
 * training set, 80/20 at the patient level (one case per patient in MSD),
 * mean Dice per task; the fold files are written to the output by the
 * runner. Cases are listed from `dataset.json` (`training[].image/label`),
 * so the macOS `._*` files shipped inside the archives are never read.
 *
 * Uses `Deno.readTextFile`/`Deno.stat`/`Deno.open` to open and
 * `Deno.writeFile` to synthesize.
 *
 * @example Generate a small synthetic Task09_Spleen and open it
 * ```ts
 * import { MSD_TASKS, msdDataset, synthesizeMsd } from "./msd.ts";
 * import assert from "node:assert/strict";
 * const spec = msdDataset("Task09_Spleen");
 * const dir = await Deno.makeTempDir();
 * await synthesizeMsd(dir, MSD_TASKS["Task09_Spleen"], { count: 3, seed: 1, size: 32, depth: 8 });
 * const ds = await spec.open(dir);
 * assert.deepEqual(ds.labels, ["background", "spleen"]);
 * const [first] = ds.samples("train");
 * const volume = await first.load();
 * assert.equal(volume.kind, "volume");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { Dataset, DatasetSpec, Sample, SynthOptions, Volume } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import {
  convertNiftiToVolume,
  readLabelVolume,
  readNifti,
  writeNifti,
} from "../../formats/nifti/mod.ts";
import type {
  SegmentationProtocolDefaults,
  SegmentationSample,
} from "../../tasks/segmentation3d/types.ts";
import type { IntensityWindow } from "../../adapters/slice_stack/mod.ts";
import { createMulberry32, gaussian } from "../../../core/random.ts";
import { joinPath as join, statKind } from "../../../core/_fs.ts";

/** One MSD task: folder name, image channels, classes and the intensity window of the protocol. */
export interface MsdTask {
  /** Folder name, e.g. `"Task09_Spleen"`. */
  readonly folder: string;
  /** Imaging modality of the task (`"CT"` or `"MRI"`). */
  readonly modality: "CT" | "MRI";
  /** Channel names in `dataset.json` order. */
  readonly channels: readonly string[];
  /** Class names, background first. */
  readonly labels: readonly string[];
  /** Intensity window per channel for the encoder and the decoder skips. */
  readonly window: IntensityWindow;
}

/** The ten MSD tasks (labels and channels as in their `dataset.json`). */
export const MSD_TASKS: Readonly<Record<string, MsdTask>> = {
  "Task01_BrainTumour": {
    folder: "Task01_BrainTumour",
    modality: "MRI",
    channels: ["FLAIR", "T1w", "t1gd", "T2w"],
    labels: ["background", "edema", "non-enhancing tumor", "enhancing tumour"],
    window: "percentile",
  },
  "Task02_Heart": {
    folder: "Task02_Heart",
    modality: "MRI",
    channels: ["MRI"],
    labels: ["background", "left atrium"],
    window: "percentile",
  },
  "Task03_Liver": {
    folder: "Task03_Liver",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "liver", "cancer"],
    window: [-175, 250],
  },
  "Task04_Hippocampus": {
    folder: "Task04_Hippocampus",
    modality: "MRI",
    channels: ["MRI"],
    labels: ["background", "Anterior", "Posterior"],
    window: "percentile",
  },
  "Task05_Prostate": {
    folder: "Task05_Prostate",
    modality: "MRI",
    channels: ["T2", "ADC"],
    labels: ["background", "PZ", "TZ"],
    window: "percentile",
  },
  "Task06_Lung": {
    folder: "Task06_Lung",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "cancer"],
    window: [-1000, 400],
  },
  "Task07_Pancreas": {
    folder: "Task07_Pancreas",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "pancreas", "cancer"],
    window: [-175, 250],
  },
  "Task08_HepaticVessel": {
    folder: "Task08_HepaticVessel",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "Vessel", "Tumour"],
    window: [-175, 250],
  },
  "Task09_Spleen": {
    folder: "Task09_Spleen",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "spleen"],
    window: [-175, 250],
  },
  "Task10_Colon": {
    folder: "Task10_Colon",
    modality: "CT",
    channels: ["CT"],
    labels: ["background", "colon cancer primaries"],
    window: [-175, 250],
  },
};

/** The files and folders an MSD task folder holds. */
export const MSD_LAYOUT: readonly string[] = [
  "TaskXX_Name/dataset.json (name, modality, labels, training[{image, label}], test[])",
  "TaskXX_Name/imagesTr/<case>.nii.gz (3D, or 4D with channels on the 4th axis)",
  "TaskXX_Name/labelsTr/<case>.nii.gz (uint8 class indices on the image grid)",
  "TaskXX_Name/imagesTs/<case>.nii.gz (unlabelled)",
];

/** Protocol defaults of an MSD task (PROTOCOLS.md: 5-fold patient-level CV, Dice). */
export function msdProtocol(task: MsdTask): SegmentationProtocolDefaults {
  return {
    adapter: "slice-stack",
    adapterOptions: { window: task.window },
    heads: ["decoder3d"],
    headOptions: { decoder3d: { lr: 1e-4, schedule: "cosine", warmupFraction: 0 } },
    metrics: ["dice", "hd95", "voxel-precision", "voxel-recall"],
    resolution: 224,
    feature: "volume",
    trainSplit: "train",
    testSplit: "train",
    folds: 5,
    runFolds: 5,
  };
}

/** An opened MSD task. */
export interface MsdDataset extends Dataset {
  /** The task. */
  readonly problem: "segmentation";
  /** The task folder that was opened. */
  readonly folder: string;
  /** Channel names from `dataset.json`. */
  readonly channels: readonly string[];
  /** `dataset.json` as read. */
  readonly manifest: Readonly<Record<string, unknown>>;
}

/** Options of the MSD generator. */
export interface MsdSynthOptions extends SynthOptions {
  /** In-plane size (rows = columns). @default {64} */
  size?: number;
  /** Slices per volume. @default {32} */
  depth?: number;
}

async function findTaskFolder(root: string, task: MsdTask): Promise<string> {
  for (const candidate of [root, join(root, task.folder)]) {
    if (await statKind(join(candidate, "dataset.json")) === "file") return candidate;
  }
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) found.push(e.isDirectory ? `${e.name}/` : e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  throw new Deno.errors.NotFound(
    `Cannot open MSD ${task.folder} as "${root}" must hold dataset.json (or ${task.folder}/dataset.json): found ${
      found.length ? found.sort().slice(0, 20).join(", ") : "nothing"
    }`,
  );
}

function caseId(path: string): string {
  const name = path.split("/").pop()!;
  return name.replace(/\.nii(\.gz)?$/, "");
}

/** A labelled case: the image volume (all channels) and its label map. */
function segmentationSample(
  id: string,
  imagePath: string,
  labelPath: string,
  numClasses: number,
  subject: string = id,
): SegmentationSample {
  let shape: [number, number, number] | undefined;
  const load = async (): Promise<Volume> => {
    const volume = convertNiftiToVolume(await readNifti(imagePath));
    shape = [...volume.shape];
    return volume;
  };
  return {
    id,
    subject,
    path: imagePath,
    labelPath,
    load,
    async loadLabels(): Promise<Uint8Array> {
      if (!shape) await load();
      return await readLabelVolume(labelPath, shape!, numClasses);
    },
  };
}

/** Opens an MSD task folder (or its parent) and checks `dataset.json` against the task. */
export async function openMsd(root: string, task: MsdTask): Promise<MsdDataset> {
  const folder = await findTaskFolder(root, task);
  const manifestPath = join(folder, "dataset.json");
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) throw cause;
    throw new FormatError(`Cannot read MSD dataset.json as it is not valid JSON`, {
      path: manifestPath,
      cause,
    });
  }
  const labelsObj = manifest.labels as Record<string, string> | undefined;
  const modalityObj = manifest.modality as Record<string, string> | undefined;
  const training = manifest.training as { image?: string; label?: string }[] | undefined;
  if (!labelsObj || typeof labelsObj !== "object" || !Array.isArray(training) || !modalityObj) {
    throw new FormatError(
      `Cannot read MSD dataset.json as it must hold "labels", "modality" and "training": current keys are ${
        Object.keys(manifest).join(", ")
      }`,
      { path: manifestPath },
    );
  }
  const labels = Object.keys(labelsObj).map(Number).sort((a, b) => a - b).map((k, i) => {
    if (k !== i) {
      throw new FormatError(
        `Cannot read MSD dataset.json as label keys must be 0..K−1: current keys are ${
          Object.keys(labelsObj).join(", ")
        }`,
        { path: manifestPath },
      );
    }
    return labelsObj[String(k)];
  });
  const channels = Object.keys(modalityObj).map(Number).sort((a, b) => a - b).map((k) =>
    modalityObj[String(k)]
  );
  const train: Sample[] = [];
  const missing: string[] = [];
  for (const entry of training) {
    if (typeof entry?.image !== "string" || typeof entry?.label !== "string") {
      throw new FormatError(
        `Cannot read MSD dataset.json as every "training" entry must have "image" and "label": current entry is ${
          JSON.stringify(entry)
        }`,
        { path: manifestPath },
      );
    }
    const image = join(folder, entry.image);
    const label = join(folder, entry.label);
    for (const p of [image, label]) if (await statKind(p) !== "file") missing.push(p);
    train.push(segmentationSample(caseId(entry.image), image, label, labels.length));
  }
  if (missing.length > 0) {
    throw new Deno.errors.NotFound(
      `Cannot open MSD ${task.folder} as dataset.json lists ${missing.length} missing file(s): ${
        missing.slice(0, 5).join(", ")
      }${missing.length > 5 ? ", ..." : ""}`,
    );
  }
  const test: Sample[] = ((manifest.test as string[] | undefined) ?? []).map((p) => {
    const path = join(folder, p);
    return {
      id: caseId(p),
      path,
      load: async () => convertNiftiToVolume(await readNifti(path)),
    };
  });
  train.sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  const specName = `msd-${task.folder.slice(0, 6).toLowerCase()}`;
  return {
    id: `${msdModalityOf(task)}/${specName}`,
    root,
    folder,
    problem: "segmentation",
    labels,
    channels,
    manifest,
    splits: ["train", "test"],
    samples(split: string): readonly Sample[] {
      if (split === "train") return train;
      if (split === "test") return test;
      throw new RangeError(
        `Cannot list split "${split}" of MSD ${task.folder}: splits are train, test`,
      );
    },
  };
}

// --------------------------------------------------------------- synthesis --

/** Intensities of the phantom per channel: [outside, body, bone, class 1, class 2, ...]. */
function phantomIntensities(task: MsdTask, channel: number): number[] {
  if (task.modality === "CT") {
    // air, soft tissue, bone, then the labelled structures (contrast-enhanced organ, lesion...)
    return [-1000, 40, 700, 130, 200, 80];
  }
  // MR, arbitrary units: each channel shows the structures with its own contrast
  const base = [0, 300, 150];
  const classes = [
    [700, 900, 500],
    [450, 250, 950],
    [800, 600, 350],
    [200, 850, 650],
  ][channel % 4];
  return [...base, ...classes];
}

/**
 * Writes a synthetic task in the MSD layout: `count` labelled cases and
 * `ceil(count / 4)` unlabelled test cases, NIfTI with LPS-style affines
 * (negative x/y axes) and anisotropic spacing; 4D images for multi-channel
 * tasks. Each case holds a body ellipse, a bright vertebra, and nested
 * ellipsoids for the classes (class k inside class k−1) at random
 * positions and sizes, with their own intensity and Gaussian noise, so the
 * classes are learnable from the image.
 */
export async function synthesizeMsd(
  root: string,
  task: MsdTask,
  options: MsdSynthOptions = {},
): Promise<void> {
  const count = options.count ?? 8;
  const size = options.size ?? 64;
  const depth = options.depth ?? 32;
  const rng = createMulberry32(options.seed ?? 0);
  for (const [name, v] of [["count", count], ["size", size], ["depth", depth]] as const) {
    if (!Number.isInteger(v) || v < (name === "count" ? 1 : 8)) {
      throw new RangeError(
        `Cannot synthesize MSD ${task.folder} as ${name} must be an integer >= ${
          name === "count" ? 1 : 8
        }: current value is ${v}`,
      );
    }
  }
  const folder = join(root, task.folder);
  for (const sub of ["imagesTr", "labelsTr", "imagesTs"]) {
    await Deno.mkdir(join(folder, sub), { recursive: true });
  }
  const prefix = task.folder.split("_")[1].toLowerCase();
  const channels = task.channels.length;
  const classes = task.labels.length;
  const training: { image: string; label: string }[] = [];
  const test: string[] = [];
  const nTest = Math.ceil(count / 4);
  for (let n = 0; n < count + nTest; n++) {
    const labelled = n < count;
    const id = `${prefix}_${n + 1}`;
    const sx = 0.7 + 0.2 * rng();
    const sz = 2.5 + 2.5 * rng();
    const affine = [[-sx, 0, 0, 100 * sx], [0, -sx, 0, 120 * sx], [0, 0, sz, -depth * sz], [
      0,
      0,
      0,
      1,
    ]];
    const c = [
      depth * (0.35 + 0.3 * rng()),
      size * (0.35 + 0.3 * rng()),
      size * (0.35 + 0.3 * rng()),
    ];
    const r = [
      depth * (0.2 + 0.1 * rng()),
      size * (0.12 + 0.06 * rng()),
      size * (0.12 + 0.06 * rng()),
    ];
    const plane = size * size;
    const labels = new Uint8Array(depth * plane);
    const tissue = new Uint8Array(depth * plane); // 0 outside, 1 body, 2 bone
    for (let z = 0; z < depth; z++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const i = z * plane + y * size + x;
          const u = (x - size / 2) / (size * 0.45);
          const v = (y - size / 2) / (size * 0.38);
          if (u * u + v * v < 1) tissue[i] = 1;
          const bu = (x - size / 2) / (size * 0.06);
          const bv = (y - size * 0.78) / (size * 0.06);
          if (bu * bu + bv * bv < 1) tissue[i] = 2;
          let scale = 1;
          for (let k = 1; k < classes; k++) {
            const d = ((z - c[0]) / (r[0] * scale)) ** 2 + ((y - c[1]) / (r[1] * scale)) ** 2 +
              ((x - c[2]) / (r[2] * scale)) ** 2;
            if (d < 1) labels[i] = k;
            scale *= 0.55;
          }
          if (labels[i] > 0) tissue[i] = 1;
        }
      }
    }
    const image = new Float32Array(channels * depth * plane);
    for (let ch = 0; ch < channels; ch++) {
      const levels = phantomIntensities(task, ch);
      const noise = task.modality === "CT" ? 15 : 40;
      for (let i = 0; i < depth * plane; i++) {
        const base = labels[i] > 0 ? levels[2 + labels[i]] : levels[tissue[i]];
        image[ch * depth * plane + i] = base + (tissue[i] === 0 ? 0 : noise * gaussian(rng));
      }
    }
    const shape = channels > 1 ? [size, size, depth, channels] : [size, size, depth];
    const imagePath = labelled ? `./imagesTr/${id}.nii.gz` : `./imagesTs/${id}.nii.gz`;
    if (task.modality === "CT") {
      await writeNifti(join(folder, imagePath), Int16Array.from(image, (v) => Math.round(v)), {
        shape,
        affine,
        sclSlope: 1,
        sclInter: 0,
        description: `medprobe synthetic MSD ${task.folder}`,
      });
    } else {
      await writeNifti(join(folder, imagePath), image, {
        shape,
        affine,
        description: `medprobe synthetic MSD ${task.folder}`,
      });
    }
    if (labelled) {
      const labelPath = `./labelsTr/${id}.nii.gz`;
      await writeNifti(join(folder, labelPath), labels, {
        shape: [size, size, depth],
        affine,
        datatype: "uint8",
        description: `medprobe synthetic MSD ${task.folder} labels`,
      });
      training.push({ image: imagePath, label: labelPath });
    } else {
      test.push(imagePath);
    }
  }
  const manifest = {
    name: task.folder.split("_")[1],
    description: `medprobe synthetic copy of ${task.folder} (NOT patient data)`,
    reference: "medprobe synthetic generator",
    licence: "CC0",
    release: "synthetic",
    tensorImageSize: channels > 1 ? "4D" : "3D",
    modality: Object.fromEntries(task.channels.map((m, i) => [String(i), m])),
    labels: Object.fromEntries(task.labels.map((l, i) => [String(i), l])),
    numTraining: training.length,
    numTest: test.length,
    training,
    test,
  };
  await Deno.writeTextFile(join(folder, "dataset.json"), JSON.stringify(manifest, null, 4) + "\n");
}

/**
 * The dataset spec of one MSD task, named `msd-taskNN` (e.g. `"msd-task09"`
 * for Task09_Spleen, opened as `medprobe eval ct/msd-task09 --data <dir>`;
 * the MRI tasks 01, 02 and 05 are filed under `mri/`).
 * Accepts the folder name (`"Task09_Spleen"`), `"Task09"` or `"09"`/`9`.
 *
 * @example
 * ```ts
 * import { msdDataset } from "./msd.ts";
 * import assert from "node:assert/strict";
 * assert.equal(msdDataset(9).name, "msd-task09");
 * assert.equal(msdDataset("Task03_Liver").problem, "segmentation");
 * assert.throws(() => msdDataset(11), RangeError);
 * ```
 */
export function msdDataset(task: string | number): DatasetSpec {
  const num = typeof task === "number" ? task : Number(/(\d+)/.exec(task)?.[1]);
  const key = Object.keys(MSD_TASKS).find((k) => Number(k.slice(4, 6)) === num);
  if (!key) {
    throw new RangeError(
      `Cannot find MSD task ${JSON.stringify(task)}: tasks are ${
        Object.keys(MSD_TASKS).join(", ")
      }`,
    );
  }
  const t = MSD_TASKS[key];
  return {
    name: `msd-task${key.slice(4, 6)}`,
    description: `Medical Segmentation Decathlon ${t.folder} (${t.modality}, ${
      t.labels.length - 1
    } class${t.labels.length > 2 ? "es" : ""}): 5-fold patient-level CV, Dice, HD95`,
    task: "segmentation3d",
    problem: "segmentation",
    layout: MSD_LAYOUT,
    protocol: msdProtocol(t),
    open: (root: string) => openMsd(root, t),
    synthesize: (root: string, options?: SynthOptions) =>
      synthesizeMsd(root, t, options as MsdSynthOptions),
  };
}

/** Every MSD task's dataset spec, Task01 to Task10. */
export const MSD_DATASETS: readonly DatasetSpec[] = Object.keys(MSD_TASKS).map((k) =>
  msdDataset(k)
);

/** The modality an MSD task is filed under: `"ct"` or `"mri"`. */
export function msdModalityOf(task: Pick<MsdTask, "modality">): "ct" | "mri" {
  return task.modality === "MRI" ? "mri" : "ct";
}

/** The MRI tasks of MSD (BrainTumour, Heart, Prostate). */
export const MSD_MRI_DATASETS: readonly DatasetSpec[] = Object.keys(MSD_TASKS)
  .filter((k) => MSD_TASKS[k].modality === "MRI")
  .map((k) => msdDataset(k));

/** The CT tasks of MSD (Liver, Lung, Pancreas, HepaticVessel, Spleen, Colon). */
export const MSD_CT_DATASETS: readonly DatasetSpec[] = Object.keys(MSD_TASKS)
  .filter((k) => MSD_TASKS[k].modality === "CT")
  .map((k) => msdDataset(k));

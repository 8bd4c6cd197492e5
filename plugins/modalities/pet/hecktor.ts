/**
 * HECKTOR 2022 (Oreiller et al. 2022): head and neck FDG-PET/CT with
 * primary tumour (GTVp, label 1) and lymph node (GTVn, label 2) contours.
 *
 * Layout (the challenge's training release): `[hecktor2022_training/
 * hecktor2022/]imagesTr/<Center>-<n>__CT.nii.gz` and `__PT.nii.gz`, and
 * `labelsTr/<Center>-<n>.nii.gz`. The CT (~1 mm) and the PET (~4 mm) lie on
 * different grids; the labels on the CT grid. Following the challenge's
 * preprocessing, the PET is resampled onto the CT grid (trilinear, world
 * coordinates from the affines) when both are loaded, and onto the label
 * grid (the CT grid) when only the PET is (`channels: "pet"`), so the three
 * inputs of the report's Table 10 (CT, PET, CT+PET) are scored on the same
 * voxels.
 *
 * The protocol (PROTOCOLS.md): one 80/20 patient-level split, inputs CT, PET
 * or CT+PET, Dice + CE with a linear warm-up; Dice, HD95, precision and
 * recall per class (GTVp, GTVn).
 *
 * Uses `Deno.readDir`/`Deno.open` to open and `Deno.writeFile` to synthesize.
 *
 * @example Generate and open; the PET is resampled onto the CT grid
 * ```ts
 * import { openHecktor, synthesizeHecktor } from "./hecktor.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await synthesizeHecktor(dir, { count: 2, seed: 1 });
 * const ds = await openHecktor(dir);
 * assert.deepEqual(ds.labels, ["background", "GTVp", "GTVn"]);
 * const v = await ds.samples("train")[0].load();
 * assert.equal(v.kind === "volume" && v.channels, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { DatasetSpec, Sample, SynthOptions } from "../../../core/plugin.ts";
import { writeNifti } from "../../formats/nifti/mod.ts";
import type {
  SegmentationDataset,
  SegmentationProtocolDefaults,
} from "../../tasks/segmentation3d/types.ts";
import {
  checkChannels,
  describeDir,
  findFolder,
  listDir,
  PET_CHANNEL_LABELS,
  type PetChannels,
  petCtProtocol,
  petCtSample,
  trainSplitOnly,
  windowsFor,
} from "./_common.ts";
import { randomLesions, renderPetCt } from "./_phantom.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { joinPath } from "../../../core/_fs.ts";

/** HECKTOR classes. */
export const HECKTOR_LABELS: readonly string[] = ["background", "GTVp", "GTVn"];

/** The files and folders {@linkcode openHecktor} reads. */
export const HECKTOR_LAYOUT: readonly string[] = [
  "[hecktor2022_training/hecktor2022/]imagesTr/<Center>-<n>__CT.nii.gz (CT, HU)",
  "[hecktor2022_training/hecktor2022/]imagesTr/<Center>-<n>__PT.nii.gz (PET, SUV, own grid)",
  "[hecktor2022_training/hecktor2022/]labelsTr/<Center>-<n>.nii.gz (0 background, 1 GTVp, 2 GTVn; CT grid)",
];

/** Protocol defaults of HECKTOR 2022 (PROTOCOLS.md: 80/20, warm-up, CT+PET). */
export const HECKTOR_PROTOCOL: SegmentationProtocolDefaults = petCtProtocol();

/** Options of {@linkcode openHecktor}. */
export interface HecktorOpenOptions {
  /** Channels to load. @default {"ct+pet"} */
  channels?: PetChannels;
}

/** An opened HECKTOR copy. */
export interface HecktorDataset extends SegmentationDataset {
  /** The folder holding imagesTr/ and labelsTr/. */
  readonly base: string;
  /** Channels loaded. */
  readonly channels: PetChannels;
  /** The input as Table 10 of the report names it: `"CT"`, `"PET"` or `"CT+PET"`. */
  readonly input: string;
  /** Where the split comes from, for the record. */
  readonly splitSource: string;
}

/** Where the HECKTOR split comes from (the report names none beyond 80/20). */
export const HECKTOR_SPLIT_SOURCE =
  "medprobe default, not stated in the report: the report says only 'official challenge protocol, 80%/20% split'; HECKTOR 2022 publishes no validation split of its training set, so fold 0 of the runner's seeded 5-fold patient-level split is used (--seed changes it)";

function findBase(root: string): Promise<string | undefined> {
  return findFolder(root, 3, async (dir, entries) => {
    if (!entries.some((e) => e.dir && e.name === "imagesTr")) return false;
    const images = await listDir(joinPath(dir, "imagesTr"));
    return images?.some((e) => e.name.endsWith("__CT.nii.gz")) ?? false;
  });
}

/** Opens the HECKTOR 2022 training release. */
export async function openHecktor(
  root: string,
  options: HecktorOpenOptions = {},
): Promise<HecktorDataset> {
  const channels = checkChannels(options.channels, "HECKTOR");
  const base = await findBase(root);
  if (!base) {
    throw new Deno.errors.NotFound(
      `Cannot open HECKTOR as "${root}" (or a folder below it) must hold imagesTr/<case>__CT.nii.gz, __PT.nii.gz and labelsTr/<case>.nii.gz: found ${await describeDir(
        root,
      )}`,
    );
  }
  const images = new Set((await listDir(joinPath(base, "imagesTr")))!.map((e) => e.name));
  const labels = new Set(((await listDir(joinPath(base, "labelsTr"))) ?? []).map((e) => e.name));
  const samples: Sample[] = [];
  const problems: string[] = [];
  for (const name of [...images].sort()) {
    const m = /^(.+)__CT\.nii\.gz$/.exec(name);
    if (!m) continue;
    const id = m[1];
    if (!images.has(`${id}__PT.nii.gz`)) problems.push(`${id}__PT.nii.gz`);
    if (!labels.has(`${id}.nii.gz`)) problems.push(`labelsTr/${id}.nii.gz`);
    const files = {
      id,
      subject: id,
      ct: joinPath(base, "imagesTr", name),
      pet: joinPath(base, "imagesTr", `${id}__PT.nii.gz`),
      seg: joinPath(base, "labelsTr", `${id}.nii.gz`),
    };
    // labels lie on the CT grid: a PET-only case is resampled onto it as in CT+PET
    samples.push(petCtSample(files, channels, HECKTOR_LABELS.length, undefined, true));
  }
  if (problems.length > 0) {
    throw new Deno.errors.NotFound(
      `Cannot open HECKTOR as ${problems.length} file(s) are missing under ${base}: ${
        problems.slice(0, 5).join(", ")
      }`,
    );
  }
  return {
    id: "pet/hecktor",
    root,
    base,
    problem: "segmentation",
    labels: HECKTOR_LABELS,
    splits: ["train"],
    channels,
    input: PET_CHANNEL_LABELS[channels],
    splitSource: HECKTOR_SPLIT_SOURCE,
    adapterOptions: { window: windowsFor(channels) },
    samples: trainSplitOnly("HECKTOR", samples),
  };
}

/** Options of {@linkcode synthesizeHecktor}. */
export interface HecktorSynthOptions extends SynthOptions {
  /** CT in-plane size (1 mm voxels); the PET grid has 4 mm voxels. @default {48} */
  size?: number;
  /** CT slices (2 mm). @default {24} */
  depth?: number;
}

const CENTERS = ["CHUM", "CHUP", "CHUS", "HGJ", "HMR", "MDA", "USZ"];

/**
 * Writes a synthetic copy of the HECKTOR training layout: CT on a 1 × 1 × 2
 * mm LPS grid, PET on a 4 × 4 × 4 mm grid covering the same field of view
 * (so it must be resampled), labels (GTVp, GTVn) on the CT grid.
 */
export async function synthesizeHecktor(
  root: string,
  options: HecktorSynthOptions = {},
): Promise<void> {
  const count = options.count ?? 8;
  const size = options.size ?? 48;
  const depth = options.depth ?? 24;
  if (
    !Number.isInteger(count) || count < 1 || size % 4 !== 0 || size < 16 || depth % 2 !== 0 ||
    depth < 8
  ) {
    throw new RangeError(
      `Cannot synthesize HECKTOR as count must be >= 1, size a multiple of 4 >= 16 and depth even >= 8: current values are ${count}, ${size}, ${depth}`,
    );
  }
  const rng = createMulberry32(options.seed ?? 0);
  const base = joinPath(root, "hecktor2022_training", "hecktor2022");
  await Deno.mkdir(joinPath(base, "imagesTr"), { recursive: true });
  await Deno.mkdir(joinPath(base, "labelsTr"), { recursive: true });
  const sct = [1, 1, 2];
  const spet = 4;
  const oct = [size / 2, size / 2, -depth];
  // LPS-style CT axes (−x, −y); the PET voxel edges coincide with the CT's.
  const ctAffine = [[-sct[0], 0, 0, oct[0]], [0, -sct[1], 0, oct[1]], [0, 0, sct[2], oct[2]], [
    0,
    0,
    0,
    1,
  ]];
  const opet = [
    oct[0] - (spet - sct[0]) / 2,
    oct[1] - (spet - sct[1]) / 2,
    oct[2] + (spet - sct[2]) / 2,
  ];
  const petAffine = [[-spet, 0, 0, opet[0]], [0, -spet, 0, opet[1]], [0, 0, spet, opet[2]], [
    0,
    0,
    0,
    1,
  ]];
  const petShape: [number, number, number] = [depth * sct[2] / spet, size / spet, size / spet];
  for (let n = 0; n < count; n++) {
    const id = `${CENTERS[n % CENTERS.length]}-${String(n + 1).padStart(3, "0")}`;
    const lesions = randomLesions([depth, size, size], 2, [1, 2], rng, [3, 7]);
    const seedState = Math.floor(rng() * 2 ** 31);
    const onCt = renderPetCt([depth, size, size], lesions, createMulberry32(seedState));
    const onPet = renderPetCt(petShape, lesions, createMulberry32(seedState + 1), [
      sct[2] / spet,
      sct[1] / spet,
      sct[0] / spet,
    ]);
    const description = "medprobe synthetic HECKTOR 2022 (NOT patient data)";
    await writeNifti(
      joinPath(base, "imagesTr", `${id}__CT.nii.gz`),
      Int16Array.from(onCt.ct, (v) => Math.round(v)),
      {
        shape: [size, size, depth],
        affine: ctAffine,
        sclSlope: 1,
        sclInter: 0,
        description,
      },
    );
    await writeNifti(joinPath(base, "imagesTr", `${id}__PT.nii.gz`), onPet.pet, {
      shape: [petShape[2], petShape[1], petShape[0]],
      affine: petAffine,
      description,
    });
    await writeNifti(joinPath(base, "labelsTr", `${id}.nii.gz`), onCt.labels, {
      shape: [size, size, depth],
      affine: ctAffine,
      datatype: "uint8",
      description,
    });
  }
}

/** HECKTOR 2022: head and neck PET/CT, GTVp and GTVn (CT, PET or CT+PET channels). */
export const hecktorDataset: DatasetSpec = {
  name: "hecktor",
  description:
    "HECKTOR 2022: head & neck PET/CT, GTVp/GTVn segmentation, PET resampled onto the CT grid",
  task: "segmentation3d",
  problem: "segmentation",
  layout: HECKTOR_LAYOUT,
  protocol: HECKTOR_PROTOCOL,
  open: (root: string, options?: Record<string, unknown>) =>
    openHecktor(root, options as HecktorOpenOptions),
  synthesize: (root: string, options?: SynthOptions) =>
    synthesizeHecktor(root, options as HecktorSynthOptions),
};

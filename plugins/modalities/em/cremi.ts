/**
 * CREMI (MICCAI 2016 circuit reconstruction challenge) as downloaded from
 * cremi.org: one HDF5 file per sample, `sample_A_20160501.hdf`,
 * `sample_B_20160501.hdf`, `sample_C_20160501.hdf`, each with
 * `volumes/raw` (uint8, 125 × 1250 × 1250, `resolution` 40 × 4 × 4 nm) and
 * `volumes/labels/neuron_ids` (uint64; 2^64 − 1 = no label). The padded
 * test volumes (`sample_A+_…`) carry no public labels and are not used.
 *
 * Protocol (the report): train on the first 100 sections, test on the last
 * 25 of each sample. A volume of another depth (a crop, a synthetic one)
 * is split in the same 100 : 25 proportion.
 *
 * @example Synthesize and open CREMI-A
 * ```ts ignore
 * import { cremiDataset } from "./cremi.ts";
 * const spec = cremiDataset("A");
 * await spec.synthesize("/tmp/cremi", { count: 10, seed: 1 });
 * const ds = await spec.open("/tmp/cremi");
 * ds.samples("train")[0].zRange; // [0, 8]
 * ```
 *
 * @module
 */

import type { Dataset, DatasetSpec, SynthOptions } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { formatFound, joinPath, listTopLevel, statKind } from "../../../core/_fs.ts";
import { writeHdf5 } from "../../segment/io.ts";
import type { AffinitySample } from "../../tasks/affinity/types.ts";
import { checkEmSource, emProtocol, emSample, sectionSplit } from "./_common.ts";
import { makeEmPhantom } from "./_phantom.ts";

/** The CREMI samples. */
export type CremiSampleName = "A" | "B" | "C";

/** CREMI voxel size in nm, `[z, y, x]`. */
export const CREMI_RESOLUTION_NM: readonly [number, number, number] = [40, 4, 4];

/** The file name of a CREMI training sample as downloaded. */
export function cremiFileName(sample: CremiSampleName): string {
  return `sample_${sample}_20160501.hdf`;
}

/** An opened EM dataset. */
export interface EmDataset extends Dataset {
  /** Voxel size in nm `[z, y, x]`. */
  readonly resolutionNm: readonly [number, number, number];
  /** The samples of a split. */
  samples(split: string): readonly AffinitySample[];
}

/** Options of the synthetic generators. */
export interface EmSynthOptions extends SynthOptions {
  /** Sections (z). @default {10} */
  count?: number;
  /** In-plane size (pixels). @default {64} */
  size?: number;
}

async function findCremiFile(root: string, sample: CremiSampleName): Promise<string> {
  const kind = await statKind(root);
  if (kind === "file") return root;
  const expected = cremiFileName(sample);
  const found = await listTopLevel(root);
  if (found === null) {
    throw new Deno.errors.NotFound(`Cannot open CREMI-${sample} as ${root} does not exist`);
  }
  const match = found.find((f) => f === expected) ??
    found.find((f) => new RegExp(`^sample_${sample}_\\d+\\.(hdf|h5|hdf5)$`).test(f));
  if (!match) {
    throw new FormatError(
      `Cannot open CREMI-${sample} as the folder must hold ${expected}: current entries are ${
        formatFound(found)
      }`,
      { path: root },
    );
  }
  return joinPath(root, match);
}

/**
 * Opens a CREMI sample (a folder holding `sample_X_20160501.hdf`, or the
 * file itself).
 *
 * @param root Folder or file.
 * @param sample `"A"`, `"B"` or `"C"`.
 * @returns The dataset: splits `train` (first 100 sections) and `test` (last 25).
 */
export async function openCremi(root: string, sample: CremiSampleName): Promise<EmDataset> {
  const path = await findCremiFile(root, sample);
  const source = {
    rawPath: path,
    rawDataset: "volumes/raw",
    labelPath: path,
    labelDataset: "volumes/labels/neuron_ids",
    resolutionNm: CREMI_RESOLUTION_NM,
  };
  const [depth] = await checkEmSource(source);
  const split = sectionSplit(depth, 100, 125);
  const samples: Record<string, AffinitySample[]> = {
    train: [emSample(`cremi-${sample}:${split.train.join("-")}`, source, split.train)],
    test: [emSample(`cremi-${sample}:${split.test.join("-")}`, source, split.test)],
  };
  return {
    id: `em/cremi-${sample.toLowerCase()}`,
    root,
    problem: "affinity",
    labels: ["neuron"],
    splits: ["train", "test"],
    resolutionNm: CREMI_RESOLUTION_NM,
    samples(name: string): readonly AffinitySample[] {
      const s = samples[name];
      if (!s) {
        throw new RangeError(
          `Cannot list split "${name}" of CREMI-${sample}: splits are train, test`,
        );
      }
      return s;
    },
  };
}

/**
 * Writes a synthetic CREMI sample in the downloaded layout (raw, uint64
 * neuron ids with ids above 2^53, resolution and offset attributes).
 *
 * @param root Output folder.
 * @param sample Which sample's file name.
 * @param options Sections, size, seed.
 */
export async function synthesizeCremi(
  root: string,
  sample: CremiSampleName,
  options: EmSynthOptions = {},
): Promise<void> {
  const depth = options.count ?? 10;
  const size = options.size ?? 64;
  const seed = (options.seed ?? 0) + "ABC".indexOf(sample) * 101;
  const p = makeEmPhantom({
    shape: [depth, size, size],
    seed,
    diameter: 10 + 3 * "ABC".indexOf(sample),
  });
  await Deno.mkdir(root, { recursive: true });
  await writeHdf5(joinPath(root, cremiFileName(sample)), [
    {
      name: "volumes/raw",
      data: p.raw,
      shape: p.shape,
      attributes: { resolution: [...CREMI_RESOLUTION_NM] },
    },
    {
      name: "volumes/labels/neuron_ids",
      data: p.neuronIds,
      shape: p.shape,
      attributes: { resolution: [...CREMI_RESOLUTION_NM], offset: [0, 0, 0] },
    },
  ], { "file_format": "0.2" });
}

/**
 * The dataset spec of one CREMI sample: `em/cremi-a`, `-b`, `-c`.
 *
 * @param sample `"A"`, `"B"` or `"C"`.
 * @returns The spec.
 */
export function cremiDataset(sample: CremiSampleName): DatasetSpec {
  return {
    name: `cremi-${sample.toLowerCase()}`,
    description:
      `CREMI sample ${sample} (Drosophila EM, 40 × 4 × 4 nm): affinities → waterz, train 100 / test 25 sections, VOI and ARAND`,
    task: "affinity",
    problem: "affinity",
    layout: [`${cremiFileName(sample)} (volumes/raw, volumes/labels/neuron_ids)`],
    protocol: emProtocol(CREMI_RESOLUTION_NM),
    open: (root: string) => openCremi(root, sample),
    synthesize: (root: string, options?: SynthOptions) =>
      synthesizeCremi(root, sample, options as EmSynthOptions),
  };
}

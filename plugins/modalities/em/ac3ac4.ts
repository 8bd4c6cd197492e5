/**
 * AC3 / AC4 (Kasthuri et al. 2015, the SNEMI3D volumes) in the layout the
 * connectomics community distributes them (e.g. the `snemi3d` /
 * `AC3_AC4` folders of the superhuman, PEA and CAD code bases): one folder
 * with `AC3_inputs.h5`, `AC3_labels.h5`, `AC4_inputs.h5`, `AC4_labels.h5`,
 * each holding a single dataset `main` (raw uint8 `[z, 1024, 1024]`,
 * labels an integer type, 0 = no label). AC3 has 256 sections, AC4 100;
 * voxels are 29 × 6 × 6 nm (acquired at 3 × 3 × 29 nm, published
 * downsampled to 6 nm).
 *
 * Protocol (the report): train on the first 80 sections of AC4, test on
 * the first 100 sections of AC3. Shorter volumes (crops, synthetic) keep
 * the proportion for AC4 (80 %) and use up to 100 sections of AC3.
 *
 * @module
 */

import type { DatasetSpec, SynthOptions } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { formatFound, joinPath, listTopLevel } from "../../../core/_fs.ts";
import { writeHdf5 } from "../../segment/io.ts";
import type { AffinitySample } from "../../tasks/affinity/types.ts";
import { checkEmSource, emProtocol, emSample, type EmSource, sectionSplit } from "./_common.ts";
import type { EmDataset, EmSynthOptions } from "./cremi.ts";
import { makeEmPhantom } from "./_phantom.ts";

/** AC3/AC4 voxel size in nm, `[z, y, x]`. */
export const AC3AC4_RESOLUTION_NM: readonly [number, number, number] = [29, 6, 6];

/** The four files of the AC3/AC4 layout. */
export const AC3AC4_LAYOUT: readonly string[] = [
  "AC3_inputs.h5 (main)",
  "AC3_labels.h5 (main)",
  "AC4_inputs.h5 (main)",
  "AC4_labels.h5 (main)",
];

function source(root: string, volume: "AC3" | "AC4"): EmSource {
  return {
    rawPath: joinPath(root, `${volume}_inputs.h5`),
    rawDataset: "main",
    labelPath: joinPath(root, `${volume}_labels.h5`),
    labelDataset: "main",
    resolutionNm: AC3AC4_RESOLUTION_NM,
  };
}

/**
 * Opens the AC3/AC4 folder.
 *
 * @param root The folder with the four files.
 * @returns Splits `train` (AC4, first 80 sections) and `test` (AC3, first 100).
 */
export async function openAc3Ac4(root: string): Promise<EmDataset> {
  const found = await listTopLevel(root);
  if (found === null) {
    throw new Deno.errors.NotFound(`Cannot open AC3/AC4 as ${root} does not exist`);
  }
  const missing = ["AC3_inputs.h5", "AC3_labels.h5", "AC4_inputs.h5", "AC4_labels.h5"]
    .filter((f) => !found.includes(f));
  if (missing.length > 0) {
    throw new FormatError(
      `Cannot open AC3/AC4 as the folder must hold ${missing.join(", ")}: current entries are ${
        formatFound(found)
      }`,
      { path: root },
    );
  }
  const ac4 = source(root, "AC4"), ac3 = source(root, "AC3");
  const [d4] = await checkEmSource(ac4);
  const [d3] = await checkEmSource(ac3);
  const train = sectionSplit(d4, 80, 100).train;
  const test: [number, number] = [0, Math.min(100, d3)];
  const samples: Record<string, AffinitySample[]> = {
    train: [emSample(`AC4:${train.join("-")}`, ac4, train)],
    test: [emSample(`AC3:${test.join("-")}`, ac3, test)],
  };
  return {
    id: "em/ac3ac4",
    root,
    problem: "affinity",
    labels: ["neuron"],
    splits: ["train", "test"],
    resolutionNm: AC3AC4_RESOLUTION_NM,
    samples(name: string): readonly AffinitySample[] {
      const s = samples[name];
      if (!s) {
        throw new RangeError(`Cannot list split "${name}" of AC3/AC4: splits are train, test`);
      }
      return s;
    },
  };
}

/**
 * Writes synthetic AC3/AC4 files in the community layout (`main` datasets,
 * uint8 raw, uint32 labels; AC3 a quarter deeper than AC4).
 *
 * @param root Output folder.
 * @param options `count`: AC4 sections (AC3 gets 1.25×); `size`; `seed`.
 */
export async function synthesizeAc3Ac4(root: string, options: EmSynthOptions = {}): Promise<void> {
  const depth4 = options.count ?? 10;
  const depth3 = Math.ceil(depth4 * 1.25);
  const size = options.size ?? 64;
  await Deno.mkdir(root, { recursive: true });
  for (const [name, depth, seed] of [["AC4", depth4, 0], ["AC3", depth3, 57]] as const) {
    const p = makeEmPhantom({ shape: [depth, size, size], seed: (options.seed ?? 0) + seed });
    await writeHdf5(joinPath(root, `${name}_inputs.h5`), [{
      name: "main",
      data: p.raw,
      shape: p.shape,
    }]);
    await writeHdf5(joinPath(root, `${name}_labels.h5`), [{
      name: "main",
      data: Uint32Array.from(p.dense),
      shape: p.shape,
    }]);
  }
}

/** The `em/ac3ac4` dataset spec. */
export const ac3ac4Dataset: DatasetSpec = {
  name: "ac3ac4",
  description:
    "AC3/AC4 (Kasthuri mouse cortex EM, 29 × 6 × 6 nm): affinities → waterz, train AC4[0:80], test AC3[0:100], VOI and ARAND",
  task: "affinity",
  problem: "affinity",
  layout: AC3AC4_LAYOUT,
  protocol: emProtocol(AC3AC4_RESOLUTION_NM),
  open: (root: string) => openAc3Ac4(root),
  synthesize: (root: string, options?: SynthOptions) =>
    synthesizeAc3Ac4(root, options as EmSynthOptions),
};

/**
 * `medprobe agglomerate AFF.h5 --out SEG.h5 --threshold T`: waterz's
 * post-processing for any affinity predictor. Reads a float affinity
 * dataset shaped `(3, z, y, x)` with values in [0, 1] (`--dataset`,
 * default `volumes/affinities`; channel c is the affinity to the
 * predecessor voxel along z, y, x, waterz's convention), runs the
 * watershed and the agglomeration up to the threshold, and writes
 * `volumes/labels/neuron_ids` (uint64, CREMI layout, the affinities'
 * `resolution` attribute kept). With `--gt FILE` it also prints VOI split /
 * merge / sum and ARAND against that file's `volumes/labels/neuron_ids`.
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import { readAffinities, writeHdf5 } from "../plugins/segment/io.ts";
import {
  agglomerate,
  applyMap,
  mergeFunctionName,
  parseMergeFunction,
} from "../plugins/segment/agglomerate.ts";
import type { Fragments } from "../plugins/segment/watershed.ts";
import { type IntegerLabelData, toDenseLabels, toUint64Labels } from "../plugins/segment/labels.ts";
import { scoreSegmentation, segmentAffinities } from "../plugins/segment/segment.ts";
import { FormatError } from "../core/errors.ts";
import { openHdf5 } from "../plugins/formats/hdf5/mod.ts";
import { cremiBorderMask } from "../plugins/segment/border_mask.ts";
import { say } from "./common.ts";

/** Options of {@linkcode runAgglomerate}. */
export interface AgglomerateCliOptions {
  /** The affinity file. */
  input: string;
  /** Dataset inside it. @default {"volumes/affinities"} */
  dataset?: string;
  /** Output HDF5 file (replaced). */
  out: string;
  /** Agglomeration threshold (score `1 − affinity`). */
  threshold: number;
  /** Merge function. @default {"quantile-75"} */
  mergeFunction?: string;
  /** HDF5 file of fragments to agglomerate instead of the watershed's. */
  fragments?: string;
  /** Dataset of the fragments. @default {"volumes/fragments"} */
  fragmentsDataset?: string;
  /** Watershed low threshold. @default {0.0001} */
  low?: number;
  /** Watershed high threshold. @default {0.9999} */
  high?: number;
  /** Ground truth file to score against. */
  gt?: string;
  /** Dataset of the ground truth. @default {"volumes/labels/neuron_ids"} */
  gtDataset?: string;
  /** CREMI border mask of the ground truth in nm (0: none). @default {0} */
  borderThreshold?: number;
}

/** What {@linkcode runAgglomerate} did. */
export interface AgglomerateSummary {
  /** Output file. */
  out: string;
  /** `[z, y, x]`. */
  shape: readonly number[];
  /** Segments written. */
  segments: number;
  /** Threshold used. */
  threshold: number;
  /** Merge function used. */
  mergeFunction: string;
  /** Scores against `--gt`, when given. */
  scores?: { voiSplit: number; voiMerge: number; voiSum: number; arand: number };
  /** Seconds. */
  seconds: number;
}

/** Reads integer fragments (0 = background) shaped like the affinities' volume. */
async function readFragments(
  path: string,
  name: string,
  shape: readonly [number, number, number],
): Promise<Fragments> {
  const file = await openHdf5(path);
  let array;
  try {
    if (!file.list().includes(name) || !file.isDataset(name)) {
      throw new FormatError(`Cannot read fragments as dataset "${name}" must exist`, { path });
    }
    array = file.read(name);
  } finally {
    file.close();
  }
  if (array.shape.join() !== shape.join()) {
    throw new FormatError(
      `Cannot use fragments "${name}" as their shape must be the affinities' (${
        shape.join(", ")
      }): current shape is (${array.shape.join(", ")})`,
      { path },
    );
  }
  if (array.dtype.startsWith("float")) {
    throw new FormatError(
      `Cannot use fragments "${name}" as they must be integers: current type is ${array.dtype}`,
      { path },
    );
  }
  const dense = toDenseLabels({ data: array.data as IntegerLabelData, shape }, {
    background: [0n],
  });
  const sizes = new Float64Array(dense.count + 1);
  for (const id of dense.data) sizes[id]++;
  return { data: dense.data, shape, count: dense.count, sizes };
}

/**
 * Runs the agglomeration on an affinity file and writes the segmentation.
 *
 * @param o Options.
 * @returns A summary.
 */
export async function runAgglomerate(o: AgglomerateCliOptions): Promise<AgglomerateSummary> {
  const start = performance.now();
  const mergeFunction = mergeFunctionName(parseMergeFunction(o.mergeFunction ?? "quantile-75"));
  const affs = await readAffinities(o.input, o.dataset ?? "volumes/affinities");
  let seg: { data: Uint32Array; segments: number };
  if (o.fragments) {
    // the caller's fragments (e.g. lsd's watershed_from_affinities), waterz's `fragments=`
    const fragments = await readFragments(
      o.fragments,
      o.fragmentsDataset ?? "volumes/fragments",
      affs.shape,
    );
    const [level] = agglomerate(affs.data, fragments, [o.threshold], { mergeFunction });
    seg = { data: applyMap(fragments.data, level.map), segments: level.segments };
  } else {
    [seg] = segmentAffinities(affs.data, affs.shape, {
      thresholds: [o.threshold],
      mergeFunction,
      low: o.low,
      high: o.high,
    });
  }
  const resolution = affs.resolutionNm ? { resolution: [...affs.resolutionNm] } : undefined;
  await writeHdf5(o.out, [{
    name: "volumes/labels/neuron_ids",
    data: toUint64Labels(seg.data),
    shape: affs.shape,
    attributes: resolution,
  }], { "medprobe_threshold": String(o.threshold), "medprobe_merge_function": mergeFunction });
  let scores: AgglomerateSummary["scores"];
  if (o.gt) {
    const name = o.gtDataset ?? "volumes/labels/neuron_ids";
    const file = await openHdf5(o.gt);
    let gt, gtResolution: ArrayLike<number> | undefined;
    try {
      if (!file.list().includes(name)) {
        throw new FormatError(`Cannot read ground truth as dataset "${name}" must exist`, {
          path: o.gt,
        });
      }
      gt = file.read(name);
      gtResolution = file.attributes(name).resolution?.value as ArrayLike<number> | undefined;
    } finally {
      file.close();
    }
    if (gt.shape.join() !== affs.shape.join()) {
      throw new FormatError(
        `Cannot score against "${name}" as its shape must be the affinities' (${
          affs.shape.join(", ")
        }): current shape is (${gt.shape.join(", ")})`,
        { path: o.gt },
      );
    }
    if (gt.dtype.startsWith("float")) {
      throw new FormatError(
        `Cannot score against "${name}" as its labels must be integers: current type is ${gt.dtype}`,
        { path: o.gt },
      );
    }
    const dense = toDenseLabels({ data: gt.data as IntegerLabelData, shape: affs.shape });
    let labels = dense.data;
    if ((o.borderThreshold ?? 0) > 0) {
      const xy = gtResolution?.[2] ?? affs.resolutionNm?.[2];
      if (!xy) {
        throw new FormatError(
          `Cannot apply a ${o.borderThreshold} nm border mask as "${name}" (or the affinities) must have a resolution attribute`,
          { path: o.gt },
        );
      }
      labels = cremiBorderMask(labels, affs.shape, o.borderThreshold! / Number(xy));
    }
    scores = scoreSegmentation(seg.data, labels, affs.shape);
  }
  return {
    out: o.out,
    shape: affs.shape,
    segments: seg.segments,
    threshold: o.threshold,
    mergeFunction,
    scores,
    seconds: (performance.now() - start) / 1000,
  };
}

function unitNumber(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0 || v > 1) {
    throw new InvalidArgumentError(`must be a number in [0, 1]: current value is ${value}`);
  }
  return v;
}

function threshold(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v)) {
    throw new InvalidArgumentError(`must be a number: current value is ${value}`);
  }
  return v;
}

/** Registers `agglomerate`. */
export function registerAgglomerateCommand(program: Command): void {
  program
    .command("agglomerate")
    .description(
      "Watershed + waterz agglomeration of any (3, z, y, x) affinity HDF5 → volumes/labels/neuron_ids (uint64)",
    )
    .argument("<affinities>", "HDF5 file with float affinities (3, z, y, x) in [0, 1]")
    .requiredOption("--out <file>", "output HDF5 file (CREMI layout)")
    .requiredOption("--threshold <t>", "merge while 1 − affinity < t (e.g. 0.5)", threshold)
    .option("--dataset <name>", "affinity dataset inside the file", "volumes/affinities")
    .option(
      "--merge-function <f>",
      'waterz merge function: "mean", "quantile-50", "quantile-75", "quantile-85"...',
      "quantile-75",
    )
    .option(
      "--fragments <file>",
      "agglomerate these fragments (integer, 0 = background) instead of the watershed's",
    )
    .option("--fragments-dataset <name>", "fragments dataset", "volumes/fragments")
    .option("--low <a>", "watershed: affinities at or below never connect", unitNumber, 0.0001)
    .option("--high <a>", "watershed: affinities at or above always connect", unitNumber, 0.9999)
    .option("--gt <file>", "ground truth HDF5 to score against (VOI, ARAND)")
    .option("--gt-dataset <name>", "ground-truth dataset", "volumes/labels/neuron_ids")
    .option(
      "--border-threshold <nm>",
      "CREMI border mask of the ground truth in nm (CREMI's leaderboard: 25)",
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) {
          throw new InvalidArgumentError(`must be a non-negative number: current value is ${v}`);
        }
        return n;
      },
      0,
    )
    .option("--json", "print JSON")
    .action(async (input: string, opts: {
      out: string;
      threshold: number;
      dataset: string;
      mergeFunction: string;
      low: number;
      high: number;
      gt?: string;
      gtDataset: string;
      borderThreshold: number;
      fragments?: string;
      fragmentsDataset: string;
      json?: boolean;
    }) => {
      const s = await runAgglomerate({ input, ...opts });
      if (opts.json) {
        say(JSON.stringify(s, null, 2));
        return;
      }
      say(
        `wrote ${s.segments} segments (${s.mergeFunction}, threshold ${s.threshold}) of ${
          s.shape.join(" × ")
        } to ${s.out} (volumes/labels/neuron_ids) in ${s.seconds.toFixed(1)} s`,
      );
      if (s.scores) {
        say(
          `VOI split ${s.scores.voiSplit.toFixed(4)}  VOI merge ${
            s.scores.voiMerge.toFixed(4)
          }  VOI sum ${s.scores.voiSum.toFixed(4)}  ARAND ${
            s.scores.arand.toFixed(4)
          } (lower is better)`,
        );
      }
    });
}

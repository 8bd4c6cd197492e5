/**
 * The `decoder3d` head: training on random crops and sliding-window
 * inference of the light 3D decoder (see `network.ts`) over stacked slice
 * features.
 *
 * @module
 */

import type { FitOptions, FitReport, Head } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import { formatShape, numel } from "../../../core/tensor.ts";
import { resizeMapping } from "../../../kernels/upsample3d/upsample3d_ref.ts";
import type { ResampleMapping } from "../../../kernels/upsample3d/upsample3d_ref.ts";
import type { SegLossOptions } from "../../../kernels/dice_ce/dice_ce_ref.ts";
import {
  checkChoice,
  checkKnownOptions,
  checkNumber,
  decodeHead,
  encodeHead,
  f32Copy,
  permutation,
  resolveTrainingBackend,
  throwIfAborted,
  type TrainingBackendRequest,
} from "../_common.ts";
import {
  type Augmentation,
  augmentBox,
  augmentMapping,
  type Crop,
  cropBox,
  type CropPlan,
  drawAugmentation,
  type FeatureVolume,
  gaussianWindow,
  IDENTITY_AUGMENTATION,
  imagePyramid,
  learningRate,
  makeCrop,
  planCrop,
  slidingWindows,
  stageCount,
  stageGrids,
} from "./geometry.ts";
import {
  type CropTensors,
  type Decoder3dArch,
  Decoder3dNet,
  type Decoder3dNetwork,
  initialParameters,
  parameterShapes,
} from "./network.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { Decoder3dCpuNet } from "./network_cpu.ts";

/** Every hyperparameter of the decoder3d head. */
export interface Decoder3dHyperparameters {
  /** Classes K, background (0) included. */
  numClasses: number;
  /**
   * Stage widths `[c0, c1, ..., ]`: c0 at the feature grid, then one per
   * ×2 upsampling stage. The stage count S is fixed by the data (about
   * log2 of voxels per feature cell); the list is cut or its last width
   * repeated to S + 1 entries.
   */
  channels: number[];
  /** Peak learning rate (AdamW). */
  lr: number;
  /** Final learning rate of the cosine schedule. */
  minLr: number;
  /** `"cosine"` annealing or `"constant"`. */
  schedule: "cosine" | "constant";
  /** Fraction of the steps spent in linear warm-up (0 for none; the PET/CT protocol uses warm-up). */
  warmupFraction: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Passes over the training volumes. */
  epochs: number;
  /** Random crops per volume per epoch (one optimiser step each). */
  cropsPerVolume: number;
  /** Crop (and sliding window) size in voxels `[d, h, w]`; in-plane rounded to whole feature cells. */
  patchSize: [number, number, number];
  /** Probability that a crop is centred on a foreground voxel of a random class present. */
  foregroundOversample: number;
  /** Random flips (each axis) and in-plane 90° rotations of features, skips and labels together. */
  augment: boolean;
  /** Sliding-window overlap in [0, 1). */
  overlap: number;
  /** Weight of the cross-entropy term. */
  ceWeight: number;
  /** Weight of the Dice term. */
  diceWeight: number;
  /** Whether the background class enters the Dice mean. */
  includeBackground: boolean;
  /** Dice numerator smoothing. */
  smoothNr: number;
  /** Dice denominator smoothing. */
  smoothDr: number;
  /**
   * Normalisation after the convolutions below full resolution: `"none"`
   * (biases only; the features are already layer-normalised tokens and the
   * skips z-scored, and predictions do not depend on what else a window
   * holds) or `"group"` (group normalisation over each crop, nnU-Net-like;
   * needs large crops).
   */
  norm: "group" | "none";
  /** Group-norm groups (at most; the largest divisor of each width). */
  normGroups: number;
  /** Group-norm epsilon. */
  normEps: number;
  /** LeakyReLU negative slope. */
  slope: number;
  /** Prepared training volumes kept in memory (features, image pyramid, labels). */
  cacheVolumes: number;
  /**
   * What trains and runs the network: `"webgpu"` (the WGSL kernels),
   * `"cpu"` (the same graph on onnxruntime's native CPU kernels, AdamW on
   * the host) or `"auto"`: WebGPU on a hardware adapter, the CPU on a
   * software adapter (llvmpipe) or none. The choice and its reason are
   * recorded in the hyperparameters (`backend`, `backendReason`).
   */
  backend: TrainingBackendRequest;
}

/** Defaults of the decoder3d head (PROTOCOLS.md, 3D segmentation). */
export const DECODER3D_DEFAULTS: Readonly<Decoder3dHyperparameters> = Object.freeze({
  numClasses: 2,
  channels: [64, 32, 16, 16, 8],
  lr: 1e-4,
  minLr: 0,
  schedule: "cosine",
  warmupFraction: 0,
  weightDecay: 0.01,
  epochs: 50,
  cropsPerVolume: 4,
  patchSize: [32, 128, 128],
  foregroundOversample: 0.33,
  augment: true,
  overlap: 0.5,
  ceWeight: 1,
  diceWeight: 1,
  includeBackground: false,
  smoothNr: 1e-5,
  smoothDr: 1e-5,
  norm: "none",
  normGroups: 8,
  normEps: 1e-5,
  slope: 0.01,
  cacheVolumes: 4,
  backend: "auto",
}) as Readonly<Decoder3dHyperparameters>;

/** One decoded segmentation sample, as the head consumes it. */
export interface Decoder3dData {
  /** Stacked slice features `[Cf, D, h, w]` (float32, or float16 bit patterns). */
  features: FeatureVolume;
  /** The normalised image `[Cin, D, H, W]` for the skip connections (e.g. HU window → [0, 1]). */
  image: Float32Array;
  /** Cin. */
  imageChannels: number;
  /** `[D, H, W]`. */
  shape: readonly [number, number, number];
  /** Class indices `[D, H, W]` (training only). */
  labels?: ArrayLike<number>;
}

/** A sample the head loads when it needs it (training volumes are cached, a few at a time). */
export interface Decoder3dCase {
  /** Sample id (for messages). */
  readonly id: string;
  /** Decodes the sample. */
  load(): Promise<Decoder3dData>;
}

/** Options of {@linkcode Decoder3dHead.predict}. */
export interface Decoder3dPredictOptions {
  /** Called after each volume: volumes done, total, and the sample id. */
  onVolume?: (done: number, total: number, id: string) => void;
  /** Cancels prediction between windows. */
  signal?: AbortSignal;
}

/** A predicted label map. */
export interface Decoder3dPrediction {
  /** Class index per voxel `[D, H, W]`. */
  labels: Uint8Array;
  /** `[D, H, W]`. */
  shape: [number, number, number];
}

/** Options of {@linkcode createDecoder3dHead}. */
export interface Decoder3dOptions extends Partial<Decoder3dHyperparameters> {
  /** The WebGPU context to run on (else one is requested, and destroyed on dispose). */
  gpu?: GpuContext;
}

const HEAD = "decoder3d";
const KNOWN = [...Object.keys(DECODER3D_DEFAULTS), "gpu"];
const FOREGROUND_SAMPLES = 10000;

/**
 * Merges options with {@linkcode DECODER3D_DEFAULTS} and validates every
 * value: `TypeError` for unknown names or wrong types, `RangeError` for
 * values out of range.
 *
 * @example
 * ```ts
 * import { resolveDecoder3dOptions } from "./decoder3d.ts";
 * import assert from "node:assert/strict";
 * const h = resolveDecoder3dOptions({ numClasses: 3, lr: 3e-4 });
 * assert.equal(h.numClasses, 3);
 * assert.deepEqual(h.channels, [64, 32, 16, 16, 8]);
 * assert.throws(() => resolveDecoder3dOptions({ overlap: 1 }), RangeError);
 * assert.throws(() => resolveDecoder3dOptions({ lr_: 1 } as never), TypeError);
 * ```
 */
export function resolveDecoder3dOptions(
  options: Record<string, unknown> = {},
): Decoder3dHyperparameters {
  checkKnownOptions(HEAD, options, KNOWN);
  const o = { ...DECODER3D_DEFAULTS, ...options } as Record<string, unknown>;
  const int = (name: string, min: number) =>
    checkNumber(
      HEAD,
      name,
      o[name],
      (v) => Number.isInteger(v) && v >= min,
      `an integer >= ${min}`,
    );
  const num = (name: string, ok: (v: number) => boolean, what: string) =>
    checkNumber(HEAD, name, o[name], ok, what);
  const bool = (name: string) => {
    if (typeof o[name] !== "boolean") {
      throw new TypeError(
        `Cannot create the ${HEAD} head as ${name} must be a boolean: current value is ${
          JSON.stringify(o[name])
        }`,
      );
    }
    return o[name] as boolean;
  };
  const ints = (name: string, length?: number) => {
    const v = o[name];
    if (
      !Array.isArray(v) || v.length === 0 || (length !== undefined && v.length !== length) ||
      v.some((x) => !Number.isInteger(x) || x < 1)
    ) {
      throw new RangeError(
        `Cannot create the ${HEAD} head as ${name} must be ${
          length ? `${length}` : "one or more"
        } positive integers: current value is ${JSON.stringify(v)}`,
      );
    }
    return [...v] as number[];
  };
  return {
    numClasses: checkNumber(
      HEAD,
      "numClasses",
      o.numClasses,
      (v) => Number.isInteger(v) && v >= 2 && v <= 256,
      "an integer in [2, 256]",
    ),
    channels: ints("channels"),
    lr: num("lr", (v) => v > 0, "positive"),
    minLr: num("minLr", (v) => v >= 0, ">= 0"),
    schedule: checkChoice(HEAD, "schedule", o.schedule, ["cosine", "constant"] as const),
    warmupFraction: num("warmupFraction", (v) => v >= 0 && v < 1, "in [0, 1)"),
    weightDecay: num("weightDecay", (v) => v >= 0, ">= 0"),
    epochs: int("epochs", 1),
    cropsPerVolume: int("cropsPerVolume", 1),
    patchSize: ints("patchSize", 3) as [number, number, number],
    foregroundOversample: num("foregroundOversample", (v) => v >= 0 && v <= 1, "in [0, 1]"),
    augment: bool("augment"),
    overlap: num("overlap", (v) => v >= 0 && v < 1, "in [0, 1)"),
    ceWeight: num("ceWeight", (v) => v >= 0, ">= 0"),
    diceWeight: num("diceWeight", (v) => v >= 0, ">= 0"),
    includeBackground: bool("includeBackground"),
    smoothNr: num("smoothNr", (v) => v >= 0, ">= 0"),
    smoothDr: num("smoothDr", (v) => v > 0, "positive"),
    norm: checkChoice(HEAD, "norm", o.norm, ["none", "group"] as const),
    normGroups: int("normGroups", 1),
    normEps: num("normEps", (v) => v > 0, "positive"),
    slope: num("slope", (v) => v >= 0, ">= 0"),
    cacheVolumes: int("cacheVolumes", 1),
    backend: checkChoice(HEAD, "backend", o.backend, ["auto", "webgpu", "cpu"] as const),
  };
}

/** A sample with everything crops are cut from. */
interface Prepared {
  data: Decoder3dData;
  feature: [number, number];
  voxels: [number, number];
  pyramid: Float32Array[];
  grids: [number, number][];
  plan: CropPlan;
  labels?: Float32Array;
  foreground: Uint32Array[];
}

function checkData(id: string, d: Decoder3dData, arch?: Decoder3dArch): void {
  const [cf, fd, fh, fw] = d.features.shape;
  const [dd, hh, ww] = d.shape;
  const fail = (what: string) => {
    throw new TypeError(`Cannot use sample "${id}" in decoder3d as ${what}`);
  };
  if (d.features.data.length !== numel(d.features.shape)) {
    fail(
      `its features must hold ${
        numel(d.features.shape)
      } values: current count is ${d.features.data.length}`,
    );
  }
  if (fd !== dd) {
    fail(
      `its features must have one map per slice (${dd}): current shape is ${
        formatShape(d.features.shape)
      }`,
    );
  }
  if (fh > hh || fw > ww) {
    fail(`its feature grid must not exceed the image grid: ${fh}×${fw} vs ${hh}×${ww}`);
  }
  if (d.image.length !== d.imageChannels * dd * hh * ww) {
    fail(
      `its image must hold ${d.imageChannels}×${dd}×${hh}×${ww} values: current count is ${d.image.length}`,
    );
  }
  if (d.labels && d.labels.length !== dd * hh * ww) {
    fail(`its labels must hold ${dd * hh * ww} values: current count is ${d.labels.length}`);
  }
  if (arch && (cf !== arch.featureChannels || d.imageChannels !== arch.imageChannels)) {
    fail(
      `it must have ${arch.featureChannels} feature and ${arch.imageChannels} image channels like the training data: current counts are ${cf} and ${d.imageChannels}`,
    );
  }
}

/** Per-channel mean and standard deviation over some images (float64 sums). */
function imageStats(images: readonly Decoder3dData[]): { mean: number[]; std: number[] } {
  const c = images[0].imageChannels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let n = 0;
    let s = 0;
    let s2 = 0;
    for (const d of images) {
      const block = d.shape[0] * d.shape[1] * d.shape[2];
      const part = d.image.subarray(ch * block, (ch + 1) * block);
      for (let i = 0; i < part.length; i++) {
        s += part[i];
        s2 += part[i] * part[i];
      }
      n += part.length;
    }
    const m = s / n;
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / n - m * m, 0)) || 1);
  }
  return { mean, std };
}

function standardize(d: Decoder3dData, arch: Decoder3dArch): Float32Array {
  const block = d.shape[0] * d.shape[1] * d.shape[2];
  const out = new Float32Array(d.image.length);
  for (let ch = 0; ch < d.imageChannels; ch++) {
    const m = arch.imageMean[ch];
    const inv = 1 / arch.imageStd[ch];
    for (let i = ch * block; i < (ch + 1) * block; i++) out[i] = (d.image[i] - m) * inv;
  }
  return out;
}

function prepare(
  d: Decoder3dData,
  arch: Decoder3dArch,
  patch: readonly [number, number, number],
  numClasses: number,
): Prepared {
  const feature: [number, number] = [d.features.shape[2], d.features.shape[3]];
  const voxels: [number, number] = [d.shape[1], d.shape[2]];
  const grids = stageGrids(feature, voxels, arch.channels.length - 1);
  const pyramid = imagePyramid(standardize(d, arch), d.imageChannels, d.shape, grids);
  const plan = planCrop(patch, d.shape[0], feature, voxels);
  let labels: Float32Array | undefined;
  const foreground: Uint32Array[] = [];
  if (d.labels) {
    labels = Float32Array.from(d.labels);
    const counts = new Float64Array(numClasses);
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i];
      if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
        throw new RangeError(
          `Cannot train decoder3d as labels must be class indices in [0, ${numClasses}): voxel ${i} is ${c}`,
        );
      }
      counts[c]++;
    }
    for (let c = 1; c < numClasses; c++) {
      const stride = Math.max(1, Math.ceil(counts[c] / FOREGROUND_SAMPLES));
      const picks: number[] = [];
      let seen = 0;
      for (let i = 0; i < labels.length && counts[c] > 0; i++) {
        if (labels[i] === c && seen++ % stride === 0) picks.push(i);
      }
      foreground.push(Uint32Array.from(picks));
    }
  }
  return { data: d, feature, voxels, pyramid, grids, plan, labels, foreground };
}

function cropTensors(p: Prepared, crop: Crop, aug: Augmentation, withLabels: boolean): CropTensors {
  const d = p.data;
  const cf = d.features.shape[0];
  const [z0, nz] = crop.z;
  const [[cy, ch], [cx, cw]] = crop.cells;
  const featureShape: [number, number, number] = [nz, ch, cw];
  const features = augmentBox(
    cropBox(d.features.data, d.features.shape, crop.z, [cy, ch], [cx, cw]),
    [cf, nz, ch, cw],
    aug,
  );
  const gridShapes = crop.grid.map(([y, x]) => [nz, y[1], x[1]] as [number, number, number]);
  const skips: Float32Array[] = [];
  const mappings: ResampleMapping[] = [];
  const stages = crop.grid.length - 1;
  for (let s = 1; s <= stages; s++) {
    const [gy, gx] = crop.grid[s];
    const [py, px] = crop.grid[s - 1];
    const g = p.grids[s];
    const box = cropBox(p.pyramid[s], [d.imageChannels, d.shape[0], g[0], g[1]], crop.z, gy, gx);
    skips.push(augmentBox(box, [d.imageChannels, nz, gy[1], gx[1]], aug));
    const m = resizeMapping([nz, py[1], px[1]], [nz, gy[1], gx[1]], {
      inputGrid: [d.shape[0], ...p.grids[s - 1]],
      outputGrid: [d.shape[0], ...g],
      inputStart: [z0, py[0], px[0]],
      outputStart: [z0, gy[0], gx[0]],
    });
    mappings.push(augmentMapping(m, [nz, py[1], px[1]], [nz, gy[1], gx[1]], aug));
  }
  let labels: Float32Array | undefined;
  if (withLabels) {
    const [gy, gx] = crop.grid[stages];
    labels = augmentBox(
      cropBox(p.labels!, [1, d.shape[0], d.shape[1], d.shape[2]], crop.z, gy, gx),
      [1, nz, gy[1], gx[1]],
      aug,
    );
  }
  return { features, featureShape, skips, gridShapes, mappings, labels };
}

function sampleCrop(p: Prepared, stages: number, oversample: number, rng: () => number): Crop {
  const { plan, feature, voxels } = p;
  const depth = p.data.shape[0];
  const present = p.foreground.filter((f) => f.length > 0);
  let z0: number;
  let cell: [number, number];
  if (present.length > 0 && rng() < oversample) {
    const list = present[Math.floor(rng() * present.length)];
    const v = list[Math.floor(rng() * list.length)];
    const [hh, ww] = voxels;
    const z = Math.floor(v / (hh * ww));
    const y = Math.floor(v / ww) % hh;
    const x = v % ww;
    z0 = Math.min(Math.max(0, z - Math.floor(plan.depth / 2)), depth - plan.depth);
    cell = [0, 1].map((a) => {
      const c = Math.round(([y, x][a] * feature[a]) / voxels[a] - plan.cells[a] / 2);
      return Math.min(Math.max(0, c), feature[a] - plan.cells[a]);
    }) as [number, number];
  } else {
    z0 = Math.floor(rng() * (depth - plan.depth + 1));
    cell = [
      Math.floor(rng() * (feature[0] - plan.cells[0] + 1)),
      Math.floor(rng() * (feature[1] - plan.cells[1] + 1)),
    ];
  }
  return makeCrop(plan, z0, cell, feature, voxels, stages);
}

function archFor(
  h: Decoder3dHyperparameters,
  d: Decoder3dData,
  stats: { mean: number[]; std: number[] },
): Decoder3dArch {
  const stages = stageCount([d.features.shape[2], d.features.shape[3]], [d.shape[1], d.shape[2]]);
  const channels: number[] = [];
  for (let s = 0; s <= stages; s++) channels.push(h.channels[Math.min(s, h.channels.length - 1)]);
  return {
    featureChannels: d.features.shape[0],
    imageChannels: d.imageChannels,
    numClasses: h.numClasses,
    channels,
    norm: h.norm,
    normGroups: h.normGroups,
    normEps: h.normEps,
    slope: h.slope,
    imageMean: stats.mean,
    imageStd: stats.std,
  };
}

/** The decoder3d head. Create it with {@linkcode createDecoder3dHead} or load it with {@linkcode loadDecoder3dHead}. */
export class Decoder3dHead implements Head<Decoder3dCase[], unknown, Decoder3dPrediction[]> {
  readonly #h: Decoder3dHyperparameters;
  #gpu: GpuContext | undefined;
  #ownsGpu = false;
  #arch: Decoder3dArch | undefined;
  #net: Decoder3dNetwork | undefined;
  #params: Record<string, Float32Array> | undefined;
  #device = "";
  #backend: { backend: "webgpu" | "cpu"; reason: string } | undefined;

  /** Creates an untrained head (or a trained one from saved parameters). */
  constructor(
    hyperparameters: Decoder3dHyperparameters,
    gpu?: GpuContext,
    saved?: { arch: Decoder3dArch; params: Record<string, Float32Array> },
  ) {
    this.#h = hyperparameters;
    this.#gpu = gpu;
    if (saved) {
      this.#arch = saved.arch;
      this.#params = saved.params;
    }
  }

  /** Every hyperparameter, plus the architecture and device once known. */
  get hyperparameters(): Readonly<Record<string, unknown>> {
    return {
      ...this.#h,
      ...(this.#arch
        ? { stages: this.#arch.channels.length - 1, stageChannels: [...this.#arch.channels] }
        : {}),
      ...(this.#backend
        ? { backend: this.#backend.backend, backendReason: this.#backend.reason }
        : {}),
      ...(this.#device ? { device: this.#device } : {}),
    };
  }

  /** The architecture (after `fit` or `load`). */
  get arch(): Decoder3dArch | undefined {
    return this.#arch;
  }

  /** Builds the network on the backend the options resolve to (resolved once per head). */
  async #open(
    arch: Decoder3dArch,
    values: Record<string, Float32Array>,
  ): Promise<Decoder3dNetwork> {
    if (!this.#backend) {
      const r = await resolveTrainingBackend(this.#h.backend, this.#gpu);
      this.#backend = { backend: r.backend, reason: r.reason };
      if (r.backend === "webgpu") {
        this.#gpu = r.gpu;
        this.#ownsGpu = r.owned;
      }
    }
    if (this.#backend.backend === "cpu") {
      const net = Decoder3dCpuNet.create(arch, values);
      this.#device = "cpu: onnxruntime";
      return net;
    }
    const gpu = this.#gpu!;
    this.#device = `webgpu: ${gpu.info.description || "adapter"}${
      gpu.info.isSoftware ? " (software)" : ""
    }`;
    return new Decoder3dNet(gpu, arch, values);
  }

  #lossOptions(): SegLossOptions {
    const h = this.#h;
    return {
      includeBackground: h.includeBackground,
      ceWeight: h.ceWeight,
      diceWeight: h.diceWeight,
      smoothNr: h.smoothNr,
      smoothDr: h.smoothDr,
    };
  }

  /**
   * Trains on the cases (labels come with each case; `_y` is ignored).
   * Each epoch visits the volumes in a seeded random order and takes
   * `cropsPerVolume` random crops (one AdamW step each) from each, so only
   * `cacheVolumes` prepared volumes are held at once.
   */
  async fit(cases: Decoder3dCase[], _y?: unknown, options: FitOptions = {}): Promise<FitReport> {
    if (!Array.isArray(cases) || cases.length === 0) {
      throw new RangeError(
        "Cannot fit decoder3d as it needs at least one training case: current count is 0",
      );
    }
    const start = performance.now();
    const h = this.#h;
    const rng = createMulberry32(options.seed ?? 0);
    const cache = new Map<string, Prepared>();
    const load = async (c: Decoder3dCase): Promise<Prepared> => {
      let p = cache.get(c.id);
      if (p) {
        cache.delete(c.id);
        cache.set(c.id, p);
        return p;
      }
      const d = await c.load();
      checkData(c.id, d, this.#arch);
      if (!d.labels) {
        throw new TypeError(`Cannot train decoder3d as sample "${c.id}" has no labels`);
      }
      p = prepare(d, this.#arch!, h.patchSize, h.numClasses);
      cache.set(c.id, p);
      if (cache.size > h.cacheVolumes) cache.delete(cache.keys().next().value!);
      return p;
    };
    // The architecture (stage count, channels) and the image statistics of
    // the skip connections come from the first few training volumes.
    const first: Decoder3dData[] = [];
    for (const c of cases.slice(0, Math.min(cases.length, h.cacheVolumes))) {
      const d = await c.load();
      checkData(c.id, d);
      first.push(d);
    }
    this.#arch = archFor(h, first[0], imageStats(first));
    first.length = 0;
    const arch = this.#arch;
    this.#net?.dispose();
    this.#net = await this.#open(arch, initialParameters(arch, rng));
    const total = h.epochs * cases.length * h.cropsPerVolume;
    const schedule = {
      lr: h.lr,
      minLr: h.minLr,
      schedule: h.schedule,
      warmupSteps: Math.round(h.warmupFraction * total),
    };
    const loss = this.#lossOptions();
    const losses: number[] = [];
    let step = 0;
    for (let epoch = 1; epoch <= h.epochs; epoch++) {
      let sum = 0;
      for (const i of permutation(cases.length, rng)) {
        const p = await load(cases[i]);
        for (let r = 0; r < h.cropsPerVolume; r++) {
          throwIfAborted(options.signal);
          const crop = sampleCrop(p, arch.channels.length - 1, h.foregroundOversample, rng);
          const square = crop.cells[0][1] === crop.cells[1][1] &&
            crop.grid.every(([y, x]) => y[1] === x[1]);
          const aug = drawAugmentation(rng, square, h.augment);
          step++;
          const value = await this.#net.trainStep(
            cropTensors(p, crop, aug, true),
            learningRate(step, total, schedule),
            loss,
            h.weightDecay,
          );
          if (!Number.isFinite(value.loss)) {
            throw new RangeError(
              `Cannot train decoder3d as the loss is not finite at step ${step} (sample "${
                cases[i].id
              }"): lower lr (current ${h.lr})`,
            );
          }
          sum += value.loss;
        }
      }
      losses.push(sum / (cases.length * h.cropsPerVolume));
      options.onProgress?.({ epoch, epochs: h.epochs, loss: losses.at(-1)! });
    }
    const params = await this.#net.parameters();
    this.#params = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.data]));
    return { losses, seconds: (performance.now() - start) / 1000 };
  }

  async #network(): Promise<Decoder3dNetwork> {
    if (!this.#arch || !this.#params) {
      throw new TypeError(
        "Cannot predict with decoder3d as it is not trained: call fit() or load a saved head",
      );
    }
    this.#net ??= await this.#open(this.#arch, this.#params);
    return this.#net;
  }

  /**
   * Predicts the label map of one sample by sliding-window inference:
   * windows of `patchSize` with `overlap`, each window's probabilities
   * weighted by a Gaussian importance map, argmax per voxel. Windows are
   * visited z-slowest and slices are finalised as soon as no later window
   * reaches them, so the accumulators hold one window depth of slices.
   */
  async predictVolume(
    data: Decoder3dData,
    id = "sample",
    signal?: AbortSignal,
  ): Promise<Decoder3dPrediction> {
    const net = await this.#network();
    const arch = this.#arch!;
    checkData(id, data, arch);
    const stages = arch.channels.length - 1;
    const p = prepare({ ...data, labels: undefined }, arch, this.#h.patchSize, arch.numClasses);
    const [depth, hh, ww] = data.shape;
    const k = arch.numClasses;
    const windows = slidingWindows(p.plan, depth, p.feature, p.voxels, stages, this.#h.overlap);
    const ring = p.plan.depth;
    const plane = hh * ww;
    const acc = new Float32Array(k * ring * plane);
    const weight = new Float32Array(ring * plane);
    const labels = new Uint8Array(depth * plane);
    const gaussians = new Map<string, Float32Array>();
    let done = 0;
    const finalise = (until: number) => {
      for (; done < until; done++) {
        const r = (done % ring) * plane;
        for (let i = 0; i < plane; i++) {
          let best = 0;
          let bestValue = acc[r + i];
          for (let c = 1; c < k; c++) {
            const v = acc[c * ring * plane + r + i];
            if (v > bestValue) {
              bestValue = v;
              best = c;
            }
          }
          labels[done * plane + i] = best;
          for (let c = 0; c < k; c++) acc[c * ring * plane + r + i] = 0;
          weight[r + i] = 0;
        }
      }
    };
    for (const w of windows) {
      throwIfAborted(signal);
      finalise(w.z[0]);
      const probs = await net.predictCrop(cropTensors(p, w, IDENTITY_AUGMENTATION, false));
      const [[y0, ny], [x0, nx]] = w.grid[stages];
      const nz = w.z[1];
      const key = `${nz},${ny},${nx}`;
      let g = gaussians.get(key);
      if (!g) gaussians.set(key, g = gaussianWindow([nz, ny, nx]));
      for (let z = 0; z < nz; z++) {
        const r = ((w.z[0] + z) % ring) * plane;
        for (let y = 0; y < ny; y++) {
          for (let x = 0; x < nx; x++) {
            const o = r + (y0 + y) * ww + x0 + x;
            const wi = (z * ny + y) * nx + x;
            const gv = g[wi];
            weight[o] += gv;
            for (let c = 0; c < k; c++) {
              acc[c * ring * plane + o] += gv * probs[c * nz * ny * nx + wi];
            }
          }
        }
      }
    }
    finalise(depth);
    return { labels, shape: [depth, hh, ww] };
  }

  /**
   * Predicts every case (see {@linkcode Decoder3dHead.predictVolume}),
   * reporting each finished volume to `options.onVolume`.
   */
  async predict(
    cases: Decoder3dCase[],
    options: Decoder3dPredictOptions = {},
  ): Promise<Decoder3dPrediction[]> {
    const out: Decoder3dPrediction[] = [];
    for (const c of cases) {
      out.push(await this.predictVolume(await c.load(), c.id, options.signal));
      options.onVolume?.(out.length, cases.length, c.id);
    }
    return out;
  }

  /** The trained parameters on the host, by name (after `fit` or `load`). */
  get parameters(): Readonly<Record<string, Float32Array>> | undefined {
    return this.#params;
  }

  /** Peak bytes of training/inference activations held by the GPU buffer pool. */
  get peakActivationBytes(): number {
    return this.#net?.peakActivationBytes ?? 0;
  }

  /** Serialises the trained head: parameters as F32 safetensors, hyperparameters and architecture as JSON. */
  save(): Uint8Array {
    if (!this.#arch || !this.#params) {
      throw new TypeError("Cannot save decoder3d as it is not trained: call fit() first");
    }
    const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    for (const { name, shape } of parameterShapes(this.#arch)) {
      tensors[name] = { dtype: "F32", shape, data: this.#params[name] };
    }
    return encodeHead(HEAD, tensors, {
      hyperparameters: this.#h,
      arch: this.#arch,
    });
  }

  /** Releases GPU buffers (and the context, when the head requested it). */
  dispose(): void {
    this.#net?.dispose();
    this.#net = undefined;
    if (this.#ownsGpu) {
      this.#gpu?.destroy();
      this.#gpu = undefined;
      this.#ownsGpu = false;
    }
  }
}

/** Creates an untrained decoder3d head with validated options. */
export function createDecoder3dHead(options: Decoder3dOptions = {}): Decoder3dHead {
  const { gpu, ...rest } = options;
  return new Decoder3dHead(resolveDecoder3dOptions(rest), gpu);
}

/**
 * Restores a head written by {@linkcode Decoder3dHead.save}; `options.gpu`
 * shares a context and `options.backend` overrides the saved backend request.
 */
export function loadDecoder3dHead(
  bytes: Uint8Array,
  options: { gpu?: GpuContext; backend?: TrainingBackendRequest } = {},
): Decoder3dHead {
  const first = decodeHead(HEAD, bytes, []);
  const arch = first.state.arch as Decoder3dArch;
  const names = parameterShapes(arch).map((p) => p.name);
  const { tensors, state } = decodeHead(HEAD, bytes, names);
  const params: Record<string, Float32Array> = {};
  for (const { name, shape } of parameterShapes(arch)) {
    if (formatShape(tensors[name].shape) !== formatShape(shape)) {
      throw new TypeError(
        `Cannot load decoder3d as tensor "${name}" must have shape ${
          formatShape(shape)
        }: current shape is ${formatShape(tensors[name].shape)}`,
      );
    }
    params[name] = f32Copy(tensors[name]);
  }
  const h = resolveDecoder3dOptions({
    ...state.hyperparameters as Record<string, unknown>,
    ...(options.backend ? { backend: options.backend } : {}),
  });
  return new Decoder3dHead(h, options.gpu, { arch, params });
}

/**
 * The `affinity` head (PROTOCOLS.md, EM neuron segmentation): stacked
 * slice features → a light 3D decoder ({@link ./network.ts}) with three
 * sigmoid outputs, the nearest-neighbour affinities along z, y and x.
 *
 * - Loss: class-balanced (weighted) MSE, gunpowder's `BalanceLabels`
 *   weights per crop (positives and negatives weigh the same in total);
 *   the first section / row / column of a crop is masked for the channel
 *   whose predecessor lies outside the crop.
 * - Adam (β 0.9 / 0.999, ε 1e-8), lr 1e-3 (the protocol's).
 * - Random crops of `patchSize` voxels; `epochs × cropsPerEpoch` steps,
 *   one crop per step; seeded initialisation and crop order.
 * - Inference in windows with a 2-voxel halo (the network's receptive
 *   radius), which reproduces a whole-volume pass exactly.
 * - Runs on the CPU in TypeScript (no GPU needed); sized for the feature
 *   grids and crops of the protocol, not for training large networks.
 *
 * @example Defaults
 * ```ts
 * import { affinityHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(affinityHead.defaults.lr, 1e-3);
 * assert.equal(affinityHead.input, "volumes");
 * ```
 *
 * @module
 */

import type { FitOptions, FitReport, Head, HeadPlugin } from "../../../core/plugin.ts";
import { f16ToF32 } from "../../../core/tensor.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { checkKnownOptions, checkNumber, decodeHead, encodeHead, f32Copy } from "../_common.ts";
import { balancedWeights } from "../../segment/affinities.ts";
import {
  type AffinityParams,
  axisMap,
  backward,
  type Dims,
  forward,
  initParams,
  PARAM_NAMES,
} from "./network.ts";

export * from "./network.ts";

/** A feature volume `[C, D, h, w]`: float32, or float16 bit patterns. */
export interface AffinityFeatures {
  /** The values. */
  readonly data: Float32Array | Uint16Array;
  /** `[C, D, h, w]`. */
  readonly shape: readonly [number, number, number, number];
}

/** One volume the head trains on or predicts. */
export interface AffinityCaseData {
  /** Stacked slice features. */
  readonly features: AffinityFeatures;
  /** Raw sections mapped to [0, 1], `[D, H, W]`. */
  readonly image: Float32Array;
  /** `[D, H, W]`. */
  readonly shape: readonly [number, number, number];
  /** Target affinities `[3, D, H, W]` (training). */
  readonly affinities?: Float32Array;
}

/** A volume loaded when the head needs it. */
export interface AffinityCase {
  /** Sample id. */
  readonly id: string;
  /** Loads it. */
  load(): Promise<AffinityCaseData>;
}

/** Predicted affinities of one volume. */
export interface AffinityPrediction {
  /** `[3, D, H, W]` in [0, 1]. */
  readonly affinities: Float32Array;
  /** `[D, H, W]`. */
  readonly shape: readonly [number, number, number];
}

/** Hyperparameters of the head. */
export interface AffinityHyperparameters {
  /** Hidden channels F. */
  hidden: number;
  /** Epochs. */
  epochs: number;
  /** Crops (steps) per epoch. */
  cropsPerEpoch: number;
  /** Crop size `[z, y, x]` (clipped to the volume). */
  patchSize: [number, number, number];
  /** Inference window core `[z, y, x]`. */
  window: [number, number, number];
  /** Adam learning rate. */
  lr: number;
  /** Clip of the positive fraction in the balanced weights. */
  balanceClip: number;
}

/** The defaults (lr 1e-3 as the protocol). */
export const AFFINITY_DEFAULTS: Readonly<AffinityHyperparameters> = {
  hidden: 8,
  epochs: 20,
  cropsPerEpoch: 8,
  patchSize: [8, 64, 64],
  window: [16, 128, 128],
  lr: 1e-3,
  balanceClip: 0.05,
};

function triple(name: string, v: unknown): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || v.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new RangeError(
      `Cannot create the affinity head as ${name} must be 3 positive integers [z, y, x]: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  return [v[0], v[1], v[2]];
}

/** Merges options over the defaults and checks them. */
export function resolveAffinityOptions(
  options: Record<string, unknown> = {},
): AffinityHyperparameters {
  checkKnownOptions("affinity", options, Object.keys(AFFINITY_DEFAULTS));
  const o = { ...AFFINITY_DEFAULTS, ...options } as Record<string, unknown>;
  const int = (name: string, max: number) =>
    checkNumber(
      "affinity",
      name,
      o[name],
      (v) => Number.isInteger(v) && v >= 1 && v <= max,
      `an integer in [1, ${max}]`,
    );
  return {
    hidden: int("hidden", 256),
    epochs: int("epochs", 100000),
    cropsPerEpoch: int("cropsPerEpoch", 100000),
    patchSize: triple("patchSize", o.patchSize),
    window: triple("window", o.window),
    lr: checkNumber("affinity", "lr", o.lr, (v) => v > 0 && v < 1, "in (0, 1)"),
    balanceClip: checkNumber(
      "affinity",
      "balanceClip",
      o.balanceClip,
      (v) => v >= 0 && v < 0.5,
      "in [0, 0.5)",
    ),
  };
}

/** Feature planes of sections `[z0, z1)` as float32 `[C, z1 − z0, h, w]`. */
function featureSlab(f: AffinityFeatures, z0: number, z1: number): Float32Array {
  const [c, d, h, w] = f.shape;
  const plane = h * w, dz = z1 - z0;
  const out = new Float32Array(c * dz * plane);
  for (let ch = 0; ch < c; ch++) {
    const src = f.data.subarray((ch * d + z0) * plane, (ch * d + z1) * plane);
    out.set(src instanceof Uint16Array ? f16ToF32(src) : src, ch * dz * plane);
  }
  return out;
}

function zscore(image: Float32Array): Float32Array {
  let s = 0, s2 = 0;
  for (const v of image) (s += v, s2 += v * v);
  const mean = s / image.length;
  const std = Math.sqrt(Math.max(s2 / image.length - mean * mean, 1e-12));
  return image.map((v) => (v - mean) / std);
}

function crop3(
  src: Float32Array,
  channels: number,
  shape: readonly [number, number, number],
  o: readonly [number, number, number],
  dims: Dims,
): Float32Array {
  const [, h, w] = shape;
  const n = shape[0] * h * w;
  const [dz, dy, dx] = dims;
  const out = new Float32Array(channels * dz * dy * dx);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    for (let z = 0; z < dz; z++) {
      for (let y = 0; y < dy; y++) {
        const base = c * n + (o[0] + z) * h * w + (o[1] + y) * w + o[2];
        out.set(src.subarray(base, base + dx), k);
        k += dx;
      }
    }
  }
  return out;
}

function checkCase(id: string, c: AffinityCaseData, training: boolean): void {
  const [d, h, w] = c.shape;
  const n = d * h * w;
  if (c.features.shape[1] !== d) {
    throw new RangeError(
      `Cannot use case "${id}" as its features must have ${d} sections: current shape is [${
        c.features.shape.join(", ")
      }]`,
    );
  }
  if (c.image.length !== n) {
    throw new RangeError(
      `Cannot use case "${id}" as its image must hold ${n} values: current length is ${c.image.length}`,
    );
  }
  if (training && c.affinities?.length !== 3 * n) {
    throw new RangeError(
      `Cannot train on case "${id}" as its affinities must hold 3 × ${n} values: current length is ${c.affinities?.length}`,
    );
  }
}

/** The trained or untrained affinity head. */
export class AffinityHead implements Head<AffinityCase[], unknown, AffinityPrediction[]> {
  #h: AffinityHyperparameters;
  #p: AffinityParams | undefined;
  #cf = 0;

  /** Creates an untrained head. */
  constructor(options: Record<string, unknown> = {}, params?: AffinityParams, featureChannels = 0) {
    this.#h = resolveAffinityOptions(options);
    this.#p = params;
    this.#cf = featureChannels;
  }

  /** Every hyperparameter in effect. */
  get hyperparameters(): Readonly<Record<string, unknown>> {
    return {
      ...this.#h,
      loss: "class-balanced MSE (gunpowder BalanceLabels)",
      optimizer: "Adam(0.9, 0.999, 1e-8)",
      outputs: "sigmoid affinities z, y, x",
      device: "cpu",
    };
  }

  /** Trains on the cases (their `affinities` are the targets); `y` is unused. */
  async fit(x: AffinityCase[], _y?: unknown, options: FitOptions = {}): Promise<FitReport> {
    const start = performance.now();
    if (x.length === 0) {
      throw new RangeError("Cannot train the affinity head as it needs at least one case");
    }
    const cases: AffinityCaseData[] = [];
    for (const c of x) {
      const data = await c.load();
      checkCase(c.id, data, true);
      cases.push({ ...data, image: zscore(data.image) });
    }
    const h = this.#h;
    const cf = cases[0].features.shape[0];
    const rng = createMulberry32(options.seed ?? 0);
    const p = initParams(cf, h.hidden, rng);
    const zeros = (): AffinityParams =>
      Object.fromEntries(
        PARAM_NAMES.map((k) => [k, new Float32Array(p[k].length)]),
      ) as unknown as AffinityParams;
    const g = zeros(), m = zeros(), v = zeros();
    let t = 0;
    const losses: number[] = [];
    for (let epoch = 1; epoch <= h.epochs; epoch++) {
      let sum = 0;
      for (let step = 0; step < h.cropsPerEpoch; step++) {
        options.signal?.throwIfAborted();
        const c = cases[Math.floor(rng() * cases.length)];
        const [d, hh, ww] = c.shape;
        const dims: Dims = [
          Math.min(d, h.patchSize[0]),
          Math.min(hh, h.patchSize[1]),
          Math.min(ww, h.patchSize[2]),
        ];
        const o: [number, number, number] = [
          Math.floor(rng() * (d - dims[0] + 1)),
          Math.floor(rng() * (hh - dims[1] + 1)),
          Math.floor(rng() * (ww - dims[2] + 1)),
        ];
        const [, , fh, fw] = c.features.shape;
        const feats = featureSlab(c.features, o[0], o[0] + dims[0]);
        const ys = axisMap(fh, hh, o[1], dims[1]), xs = axisMap(fw, ww, o[2], dims[2]);
        const image = crop3(c.image, 1, c.shape, o, dims);
        const targets = crop3(c.affinities!, 3, c.shape, o, dims);
        const weights = balancedWeights(targets, { clip: h.balanceClip });
        // mask the edges whose predecessor lies outside the crop
        const n = dims[0] * dims[1] * dims[2], plane = dims[1] * dims[2];
        for (let i = 0; i < n; i++) {
          const z = Math.floor(i / plane), y = Math.floor(i / dims[2]) % dims[1], xx = i % dims[2];
          if (z === 0) weights[i] = 0;
          if (y === 0) weights[n + i] = 0;
          if (xx === 0) weights[2 * n + i] = 0;
        }
        for (const name of PARAM_NAMES) g[name].fill(0);
        const state = forward(p, feats, cf, fh, fw, image, dims, ys, xs, h.hidden);
        const loss = backward(
          p,
          state,
          targets,
          weights,
          3 * n,
          cf,
          fh,
          fw,
          dims,
          ys,
          xs,
          h.hidden,
          g,
        );
        if (!Number.isFinite(loss)) {
          throw new RangeError(
            `Cannot train the affinity head as the loss is not finite at epoch ${epoch}`,
          );
        }
        sum += loss;
        t++;
        const b1 = 0.9, b2 = 0.999, eps = 1e-8;
        const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
        for (const name of PARAM_NAMES) {
          const pw = p[name], gw = g[name], mw = m[name], vw = v[name];
          for (let i = 0; i < pw.length; i++) {
            mw[i] = b1 * mw[i] + (1 - b1) * gw[i];
            vw[i] = b2 * vw[i] + (1 - b2) * gw[i] * gw[i];
            pw[i] -= h.lr * (mw[i] / c1) / (Math.sqrt(vw[i] / c2) + eps);
          }
        }
      }
      losses.push(sum / h.cropsPerEpoch);
      options.onProgress?.({ epoch, epochs: h.epochs, loss: losses.at(-1)! });
      await new Promise((r) => setTimeout(r, 0)); // let progress and signals through
    }
    this.#p = p;
    this.#cf = cf;
    return { losses, seconds: (performance.now() - start) / 1000 };
  }

  /** Predicts affinities `[3, D, H, W]` for each case (windows with a 2-voxel halo). */
  async predict(x: AffinityCase[]): Promise<AffinityPrediction[]> {
    const p = this.#p;
    if (!p) {
      throw new RangeError(
        "Cannot predict with the affinity head as it must be fitted or loaded first",
      );
    }
    const out: AffinityPrediction[] = [];
    for (const c of x) {
      const data = await c.load();
      checkCase(c.id, data, false);
      if (data.features.shape[0] !== this.#cf) {
        throw new RangeError(
          `Cannot predict case "${c.id}" as its features must have ${this.#cf} channels: current count is ${
            data.features.shape[0]
          }`,
        );
      }
      const image = zscore(data.image);
      const [d, hh, ww] = data.shape;
      const [, , fh, fw] = data.features.shape;
      const n = d * hh * ww;
      const affs = new Float32Array(3 * n);
      const [wz, wy, wx] = this.#h.window;
      const halo = 2;
      for (let z = 0; z < d; z += wz) {
        const ez0 = Math.max(0, z - halo), ez1 = Math.min(d, z + wz + halo);
        const feats = featureSlab(data.features, ez0, ez1);
        for (let y = 0; y < hh; y += wy) {
          const ey0 = Math.max(0, y - halo), ey1 = Math.min(hh, y + wy + halo);
          for (let xx = 0; xx < ww; xx += wx) {
            const ex0 = Math.max(0, xx - halo), ex1 = Math.min(ww, xx + wx + halo);
            const dims: Dims = [ez1 - ez0, ey1 - ey0, ex1 - ex0];
            const state = forward(
              p,
              feats,
              this.#cf,
              fh,
              fw,
              crop3(image, 1, data.shape, [ez0, ey0, ex0], dims),
              dims,
              axisMap(fh, hh, ey0, dims[1]),
              axisMap(fw, ww, ex0, dims[2]),
              this.#h.hidden,
            );
            const wn = dims[0] * dims[1] * dims[2];
            for (let k = 0; k < 3; k++) {
              for (let zz = z; zz < Math.min(d, z + wz); zz++) {
                for (let yy = y; yy < Math.min(hh, y + wy); yy++) {
                  const src = k * wn + (zz - ez0) * dims[1] * dims[2] + (yy - ey0) * dims[2] +
                    (xx - ex0);
                  const dst = k * n + zz * hh * ww + yy * ww + xx;
                  const len = Math.min(ww, xx + wx) - xx;
                  affs.set(state.out.subarray(src, src + len), dst);
                }
              }
            }
          }
        }
      }
      // the first section / row / column has no predecessor: affinity 0 (as the targets)
      for (let i = 0; i < n; i++) {
        const zz = Math.floor(i / (hh * ww)), yy = Math.floor(i / ww) % hh, xx = i % ww;
        if (zz === 0) affs[i] = 0;
        if (yy === 0) affs[n + i] = 0;
        if (xx === 0) affs[2 * n + i] = 0;
      }
      out.push({ affinities: affs, shape: [d, hh, ww] });
    }
    return out;
  }

  /** Safetensors bytes with the parameters and hyperparameters. */
  save(): Uint8Array {
    const p = this.#p;
    if (!p) throw new RangeError("Cannot save the affinity head as it must be fitted first");
    const shapes: Record<string, number[]> = {
      projW: [this.#h.hidden, this.#cf],
      projB: [this.#h.hidden],
      conv1W: [this.#h.hidden, this.#h.hidden + 1, 3, 3, 3],
      conv1B: [this.#h.hidden],
      conv2W: [this.#h.hidden, this.#h.hidden, 3, 3, 3],
      conv2B: [this.#h.hidden],
      outW: [3, this.#h.hidden],
      outB: [3],
    };
    return encodeHead(
      "affinity",
      Object.fromEntries(
        PARAM_NAMES.map((k) => [k, { dtype: "F32", shape: shapes[k], data: p[k] }]),
      ),
      { hyperparameters: this.#h, featureChannels: this.#cf },
    );
  }

  /** Nothing to release (CPU). */
  dispose(): void {}
}

/** The `affinity` head plugin. */
export const affinityHead: HeadPlugin = {
  kind: "head",
  name: "affinity",
  description:
    "3D decoder over stacked slice features → z/y/x affinities (sigmoid, balanced MSE, Adam), CPU",
  version: "0.1.0",
  tasks: ["affinity"],
  input: "volumes",
  defaults: AFFINITY_DEFAULTS as unknown as Record<string, unknown>,
  create: (options?: Record<string, unknown>) => new AffinityHead(options),
  load(bytes: Uint8Array, options?: Record<string, unknown>): Head {
    const { tensors, state } = decodeHead("affinity", bytes, PARAM_NAMES);
    const p = Object.fromEntries(
      PARAM_NAMES.map((k) => [k, f32Copy(tensors[k])]),
    ) as unknown as AffinityParams;
    return new AffinityHead(
      { ...(state.hyperparameters as Record<string, unknown>), ...options },
      p,
      Number(state.featureChannels),
    );
  },
};

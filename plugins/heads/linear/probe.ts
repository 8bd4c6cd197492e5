/**
 * The linear probe: one linear layer on frozen features, trained with
 * AdamW on minibatches, with sigmoid BCE (binary and multi-label, one
 * independent sigmoid per label) or softmax cross-entropy (multi-class).
 * On WebGPU every step (forward, loss, backward, AdamW) runs in one
 * command encoder with the kernels of `kernels/train`; without a GPU the
 * same algorithm runs on their CPU references.
 *
 * @module
 */

import type { FitOptions, FitReport, Head } from "../../../core/plugin.ts";
import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import { linearBackward, linearForward } from "../../../kernels/train/linear/linear.ts";
import { linearBackwardRef, linearForwardRef } from "../../../kernels/train/linear/linear_ref.ts";
import {
  sigmoidBce,
  softmaxCrossEntropy,
} from "../../../kernels/train/cross_entropy/cross_entropy.ts";
import {
  sigmoid,
  sigmoidBceRef,
  softmaxCrossEntropyRef,
} from "../../../kernels/train/cross_entropy/cross_entropy_ref.ts";
import { columnSum } from "../../../kernels/train/column_sum/column_sum.ts";
import { adamw } from "../../../kernels/train/adamw/adamw.ts";
import { adamwRef } from "../../../kernels/train/adamw/adamw_ref.ts";
import {
  checkFeatures,
  type ClassificationTask,
  decodeHead,
  encodeHead,
  encodeTargets,
  f32Copy,
  type HeadDevice,
  type HeadDeviceRequest,
  initLinear,
  LazyDevice,
  permutation,
  throwIfAborted,
} from "../_common.ts";
import { createMulberry32 } from "../../../core/random.ts";

/** Hyperparameters of the linear probe (PROTOCOLS.md defaults). */
export interface LinearHeadHyperparameters {
  /** The learning problem. */
  task: ClassificationTask;
  /** Classes of a multi-class problem (inferred from the targets when absent). */
  numClasses?: number;
  /** AdamW learning rate. */
  lr: number;
  /** Samples per step (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Passes over the training set. */
  epochs: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** AdamW β1. */
  beta1: number;
  /** AdamW β2. */
  beta2: number;
  /** AdamW ε. */
  eps: number;
  /**
   * The fewest optimizer steps a fit takes: when `epochs` passes give fewer
   * (a small training set at batch 1024 makes one step per epoch), training
   * goes on, epoch by epoch, until this many steps or until the loss has
   * converged (see `tolerance`). Never shortens the `epochs` passes.
   */
  minSteps: number;
  /**
   * Convergence of the extra epochs: training stops early once the epoch
   * loss improved by less than this fraction in each of the last
   * `patience` epochs.
   */
  tolerance: number;
  /** Epochs in a row below `tolerance` that count as converged. */
  patience: number;
  /** Standardise each feature with the training mean and standard deviation. */
  standardize: boolean;
  /** Where to run. */
  device: HeadDeviceRequest;
}

/**
 * The default hyperparameters: lr 0.005, batch 1024, 50 epochs (the
 * report), AdamW with PyTorch's defaults, and at least 1,000 optimizer
 * steps unless the loss converges first (medprobe's; see
 * {@linkcode LINEAR_HEAD_SOURCES}).
 */
export const LINEAR_HEAD_DEFAULTS: Readonly<LinearHeadHyperparameters> = Object.freeze({
  task: "multilabel",
  lr: 0.005,
  batchSize: 1024,
  epochs: 50,
  minSteps: 1000,
  tolerance: 1e-4,
  patience: 5,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  standardize: false,
  device: "auto",
});

/**
 * Where each default of {@linkcode LINEAR_HEAD_DEFAULTS} comes from, recorded
 * as `sources` in `hyperparameters` ("report" or "medprobe default, not
 * stated in the report").
 */
export const LINEAR_HEAD_SOURCES: Readonly<Record<string, string>> = Object.freeze({
  task: "report (BCE loss, one sigmoid per label)",
  lr: "report (0.005)",
  batchSize: "report (1024)",
  epochs: "report (50)",
  minSteps:
    "medprobe default, not stated in the report: the report's 50 epochs at batch 1024 assume ~100,000 images (~4,900 steps); a few hundred images would get ~50 steps, so training continues to 1,000 steps or convergence (as eva fixes a step budget)",
  tolerance: "medprobe default, not stated in the report",
  patience: "medprobe default, not stated in the report",
  optimizer: "medprobe default (AdamW), not stated in the report",
  weightDecay: "medprobe default (PyTorch AdamW's 0.01), not stated in the report",
  beta1: "medprobe default (PyTorch AdamW's 0.9), not stated in the report",
  beta2: "medprobe default (PyTorch AdamW's 0.999), not stated in the report",
  eps: "medprobe default (PyTorch AdamW's 1e-8), not stated in the report",
  standardize: "medprobe default (off), not stated in the report",
});

/** Why a fit stopped, recorded as `stopReason`. */
export type ProbeStopReason = "epochs" | "min-steps" | "converged";

/** The training schedule of one fit: the report's epochs, extended to `minSteps` unless converged. */
export interface ProbeSchedule {
  /** Optimizer steps per epoch: `ceil(n / min(batchSize, n))`. */
  readonly stepsPerEpoch: number;
  /** Epochs always run (`epochs`). */
  readonly minEpochs: number;
  /** Most epochs: `max(epochs, ceil(minSteps / stepsPerEpoch))`. */
  readonly maxEpochs: number;
}

/**
 * The schedule of a fit on `n` samples.
 *
 * @example 150 images at batch 1024: one step per epoch, so up to 1,000 epochs
 * ```ts
 * import { LINEAR_HEAD_DEFAULTS, probeSchedule } from "./probe.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(probeSchedule(LINEAR_HEAD_DEFAULTS, 150), { stepsPerEpoch: 1, minEpochs: 50, maxEpochs: 1000 });
 * assert.equal(probeSchedule(LINEAR_HEAD_DEFAULTS, 100_000).maxEpochs, 50); // 98 steps per epoch
 * ```
 */
export function probeSchedule(
  hp: Pick<LinearHeadHyperparameters, "batchSize" | "epochs" | "minSteps">,
  n: number,
): ProbeSchedule {
  const stepsPerEpoch = Math.ceil(n / Math.min(hp.batchSize, n));
  return {
    stepsPerEpoch,
    minEpochs: hp.epochs,
    maxEpochs: Math.max(hp.epochs, Math.ceil((hp.minSteps ?? 0) / stepsPerEpoch)),
  };
}

/**
 * Whether training stops after `losses.length` epochs, and why: never
 * before `epochs`; at `maxEpochs`; in between once each of the last
 * `patience` epochs improved the loss by less than `tolerance` (relative).
 */
function stopAfter(
  hp: LinearHeadHyperparameters,
  schedule: ProbeSchedule,
  losses: readonly number[],
): ProbeStopReason | undefined {
  const epoch = losses.length;
  if (epoch < schedule.minEpochs) return undefined;
  if (epoch >= schedule.maxEpochs) return epoch > schedule.minEpochs ? "min-steps" : "epochs";
  const patience = hp.patience ?? 5;
  if (epoch < patience + 1) return undefined;
  for (let i = epoch - patience; i < epoch; i++) {
    const before = losses[i - 1];
    if (!(before - losses[i] < (hp.tolerance ?? 0) * Math.abs(before))) return undefined;
  }
  return epoch === schedule.minEpochs ? "epochs" : "converged";
}

/** Trained state of a linear probe. */
interface ProbeState {
  weight: Float32Array; // [K, F]
  bias: Float32Array; // [K]
  mean?: Float32Array; // [F]
  invStd?: Float32Array; // [F]
  f: number;
  k: number;
}

/**
 * A linear probe. Create it through {@linkcode linearHead} (`create`,
 * `load`) or {@linkcode createLinearHead}.
 */
export class LinearProbe implements Head<HostTensor, HostTensor, HostTensor> {
  #hp: LinearHeadHyperparameters;
  #device: LazyDevice;
  #state: ProbeState | undefined;
  #trained: Record<string, unknown> = {};

  /** Creates an untrained probe; `gpu` pins the WebGPU context to use. */
  constructor(hp: LinearHeadHyperparameters, gpu?: GpuContext) {
    this.#hp = { ...hp };
    this.#device = new LazyDevice(hp.device, gpu);
  }

  /** Every hyperparameter, plus the device used and the trained sizes once known. */
  get hyperparameters(): Readonly<Record<string, unknown>> {
    return {
      ...this.#hp,
      ...this.#trained,
      ...this.#device.fields,
      sources: LINEAR_HEAD_SOURCES,
    };
  }

  /** The device in use (after `fit`/`predict`), or undefined before. */
  get device(): HeadDevice | undefined {
    return this.#device.device;
  }

  /**
   * Trains on features `x: [N, F]` and targets `y` (`[N, K]` 0/1 labels for
   * binary/multi-label, `[N]` class indices for multi-class).
   */
  async fit(x: HostTensor, y: HostTensor, options: FitOptions = {}): Promise<FitReport> {
    const start = performance.now();
    const [n, f] = checkFeatures("fit", x);
    const { targets, k } = encodeTargets("fit", this.#hp.task, y, n, this.#hp.numClasses);
    const seed = options.seed ?? 0;
    const rng = createMulberry32(seed);
    const { weight, bias } = initLinear(k, f, rng);
    const state: ProbeState = { weight, bias, f, k };
    if (this.#hp.standardize) Object.assign(state, standardization(x));
    const dev = await this.#device.resolve();
    const schedule = probeSchedule(this.#hp, n);
    const { losses, stopReason } = dev.device === "webgpu"
      ? await trainGpu(dev.gpu!, this.#hp, schedule, state, x, targets, n, rng, options)
      : trainCpu(this.#hp, schedule, state, x, targets, n, rng, options);
    this.#state = state;
    const steps = losses.length * schedule.stepsPerEpoch;
    this.#trained = {
      numFeatures: f,
      numOutputs: k,
      seed,
      samples: n,
      stepsPerEpoch: schedule.stepsPerEpoch,
      epochsRun: losses.length,
      steps,
      stopReason,
      trainingNote: stopReason === "epochs"
        ? `${this.#hp.epochs} epochs of ${schedule.stepsPerEpoch} step(s) = ${steps} steps (at least minSteps ${this.#hp.minSteps})`
        : `${this.#hp.epochs} epochs of ${schedule.stepsPerEpoch} step(s) are fewer than minSteps ${this.#hp.minSteps}: trained ${losses.length} epochs = ${steps} steps, ${
          stopReason === "converged"
            ? `stopped when the loss converged (relative change < ${this.#hp.tolerance} for ${this.#hp.patience} epochs)`
            : "reaching minSteps"
        }`,
    };
    return { losses, seconds: (performance.now() - start) / 1000 };
  }

  /**
   * Probabilities `[N, K]`: sigmoids (binary, multi-label) or softmax rows
   * (multi-class).
   */
  async predict(x: HostTensor): Promise<HostTensor> {
    const logits = await this.logits(x);
    const [n, k] = logits.shape;
    const out = new Float32Array(n * k);
    if (this.#hp.task === "multiclass") {
      for (let r = 0; r < n; r++) {
        let m = -Infinity;
        for (let j = 0; j < k; j++) m = Math.max(m, logits.data[r * k + j]);
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.exp(logits.data[r * k + j] - m);
        for (let j = 0; j < k; j++) out[r * k + j] = Math.exp(logits.data[r * k + j] - m) / s;
      }
    } else {
      for (let i = 0; i < out.length; i++) out[i] = sigmoid(logits.data[i]);
    }
    return { data: out, shape: [n, k] };
  }

  /** Raw logits `[N, K]` (before the sigmoid or softmax). */
  async logits(x: HostTensor): Promise<HostTensor> {
    const s = this.#requireState("predict");
    const [n] = checkFeatures("predict", x, s.f);
    const dev = await this.#device.resolve();
    if (dev.device === "cpu") {
      return linearForwardRef(standardize(x, s), { data: s.weight, shape: [s.k, s.f] }, {
        data: s.bias,
        shape: [s.k],
      });
    }
    const gpu = dev.gpu!;
    const rows = Math.max(
      1,
      Math.min(n, 8192, Math.floor(gpu.limits.maxStorageBufferBindingSize / (4 * s.f))),
    );
    const w = gpu.upload(s.weight, "linear_head:weight");
    const b = gpu.upload(s.bias, "linear_head:bias");
    const xb = gpu.createStorageBuffer(rows * s.f * 4, "linear_head:x");
    const yb = gpu.createStorageBuffer(rows * s.k * 4, "linear_head:y");
    const out = new Float32Array(n * s.k);
    try {
      for (let r0 = 0; r0 < n; r0 += rows) {
        const m = Math.min(rows, n - r0);
        gpu.write(xb, standardizeRows(x, s, r0, m));
        const y = await linearForward(gpu, {
          x: { buffer: xb, shape: [m, s.f], dtype: "f32" },
          weight: { buffer: w, shape: [s.k, s.f], dtype: "f32" },
          bias: { buffer: b, shape: [s.k], dtype: "f32" },
          out: { buffer: yb, shape: [m, s.k], dtype: "f32" },
        });
        out.set(new Float32Array(await gpu.readback(y.buffer, m * s.k * 4)), r0 * s.k);
      }
    } finally {
      for (const buf of [w, b, xb, yb]) buf.destroy();
    }
    return { data: out, shape: [n, s.k] };
  }

  /** The trained weights `[K, F]` and bias `[K]` (copies). */
  get parameters(): { weight: HostTensor; bias: HostTensor } {
    const s = this.#requireState("read parameters of");
    return {
      weight: { data: new Float32Array(s.weight), shape: [s.k, s.f] },
      bias: { data: new Float32Array(s.bias), shape: [s.k] },
    };
  }

  /** safetensors bytes: `weight`, `bias` (and `mean`, `inv_std`), hyperparameters in the metadata. */
  save(): Uint8Array {
    const s = this.#requireState("save");
    const tensors: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {
      weight: { dtype: "F32", shape: [s.k, s.f], data: s.weight },
      bias: { dtype: "F32", shape: [s.k], data: s.bias },
    };
    if (s.mean && s.invStd) {
      tensors.mean = { dtype: "F32", shape: [s.f], data: s.mean };
      tensors.inv_std = { dtype: "F32", shape: [s.f], data: s.invStd };
    }
    const { device: _d, ...hp } = this.#hp;
    return encodeHead("linear", tensors, { hyperparameters: hp, trained: this.#trained });
  }

  /** Restores the trained state written by {@linkcode LinearProbe.save}. */
  static restore(
    bytes: Uint8Array,
    hp: LinearHeadHyperparameters,
    gpu?: GpuContext,
  ): LinearProbe {
    const { tensors, state } = decodeHead("linear", bytes, ["weight", "bias"]);
    const saved = (state.hyperparameters ?? {}) as Partial<LinearHeadHyperparameters>;
    const probe = new LinearProbe(
      { ...LINEAR_HEAD_DEFAULTS, ...saved, device: hp.device } as LinearHeadHyperparameters,
      gpu,
    );
    const [k, f] = tensors.weight.shape;
    const s: ProbeState = { weight: f32Copy(tensors.weight), bias: f32Copy(tensors.bias), f, k };
    if (tensors.mean && tensors.inv_std) {
      s.mean = f32Copy(tensors.mean);
      s.invStd = f32Copy(tensors.inv_std);
    }
    probe.#state = s;
    probe.#trained = (state.trained ?? {}) as Record<string, unknown>;
    return probe;
  }

  /** Releases the WebGPU device when the head requested it itself. */
  dispose(): void {
    this.#device.dispose();
  }

  #requireState(what: string): ProbeState {
    if (!this.#state) {
      throw new TypeError(`Cannot ${what} the linear head as it is not trained: call fit() first`);
    }
    return this.#state;
  }
}

/** Per-feature mean and 1/std (population) over the training rows, float64 sums. */
function standardization(x: HostTensor): { mean: Float32Array; invStd: Float32Array } {
  const [n, f] = x.shape;
  const sum = new Float64Array(f);
  const sq = new Float64Array(f);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < f; j++) sum[j] += x.data[r * f + j];
  }
  const mean = new Float32Array(f);
  for (let j = 0; j < f; j++) mean[j] = sum[j] / n;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < f; j++) {
      const d = x.data[r * f + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const invStd = new Float32Array(f);
  for (let j = 0; j < f; j++) {
    const sd = Math.sqrt(sq[j] / n);
    invStd[j] = sd > 0 ? 1 / sd : 1;
  }
  return { mean, invStd };
}

/** Rows `r0..r0+m` of x, standardised when the state says so (a view when not). */
function standardizeRows(x: HostTensor, s: ProbeState, r0: number, m: number): Float32Array {
  const f = s.f;
  const rows = x.data.subarray(r0 * f, (r0 + m) * f);
  if (!s.mean || !s.invStd) return rows;
  const out = new Float32Array(m * f);
  for (let i = 0; i < m * f; i++) {
    const j = i % f;
    out[i] = (rows[i] - s.mean[j]) * s.invStd[j];
  }
  return out;
}

function standardize(x: HostTensor, s: ProbeState): HostTensor {
  return { data: standardizeRows(x, s, 0, x.shape[0]), shape: x.shape };
}

/** Gathers the rows `order[b0..b0+m]` (standardised) into `dst`, and their targets. */
function gatherBatch(
  x: HostTensor,
  targets: Float32Array,
  s: ProbeState,
  order: Uint32Array,
  b0: number,
  m: number,
  dst: Float32Array,
  dstY: Float32Array,
): void {
  const f = s.f;
  const k = s.k;
  for (let i = 0; i < m; i++) {
    const r = order[b0 + i];
    const src = x.data.subarray(r * f, (r + 1) * f);
    if (s.mean && s.invStd) {
      for (let j = 0; j < f; j++) dst[i * f + j] = (src[j] - s.mean[j]) * s.invStd[j];
    } else {
      dst.set(src, i * f);
    }
    dstY.set(targets.subarray(r * k, (r + 1) * k), i * k);
  }
}

function lossScale(task: ClassificationTask, m: number, k: number): number {
  return task === "multiclass" ? 1 / m : 1 / (m * k);
}

/** Losses per epoch and why training stopped. */
interface TrainOutcome {
  losses: number[];
  stopReason: ProbeStopReason;
}

async function trainGpu(
  gpu: GpuContext,
  hp: LinearHeadHyperparameters,
  schedule: ProbeSchedule,
  s: ProbeState,
  x: HostTensor,
  targets: Float32Array,
  n: number,
  rng: () => number,
  options: FitOptions,
): Promise<TrainOutcome> {
  const { f, k } = s;
  const bs = Math.min(hp.batchSize, n);
  const steps = Math.ceil(n / bs);
  const t = (buffer: GPUBuffer, shape: number[]): GpuTensor => ({ buffer, shape, dtype: "f32" });
  const buffers: GPUBuffer[] = [];
  const make = (bytes: number, label: string): GPUBuffer => {
    const b = gpu.createStorageBuffer(bytes, `linear_head:${label}`);
    buffers.push(b);
    return b;
  };
  const w = make(k * f * 4, "weight");
  const b = make(k * 4, "bias");
  gpu.write(w, s.weight);
  gpu.write(b, s.bias);
  const mw = make(k * f * 4, "m_weight");
  const vw = make(k * f * 4, "v_weight");
  const mb = make(k * 4, "m_bias");
  const vb = make(k * 4, "v_bias");
  const dw = make(k * f * 4, "d_weight");
  const db = make(k * 4, "d_bias");
  const xb = make(bs * f * 4, "x");
  const yb = make(bs * k * 4, "y");
  const logits = make(bs * k * 4, "logits");
  const lossBuf = make(bs * k * 4, "loss");
  const grad = make(bs * k * 4, "grad");
  const epochLoss = make(steps * 4, "epoch_loss");
  const hostX = new Float32Array(bs * f);
  const hostY = new Float32Array(bs * k);
  const losses: number[] = [];
  const opt = {
    lr: hp.lr,
    beta1: hp.beta1,
    beta2: hp.beta2,
    eps: hp.eps,
    weightDecay: hp.weightDecay,
  };
  let step = 0;
  let stopReason: ProbeStopReason | undefined;
  try {
    for (let epoch = 1; stopReason === undefined; epoch++) {
      const order = permutation(n, rng);
      for (let i = 0; i < steps; i++) {
        throwIfAborted(options.signal);
        const b0 = i * bs;
        const m = Math.min(bs, n - b0);
        gatherBatch(x, targets, s, order, b0, m, hostX, hostY);
        gpu.write(xb, hostX.subarray(0, m * f));
        gpu.write(yb, hostY.subarray(0, m * k));
        step++;
        const encoder = gpu.device.createCommandEncoder({ label: "linear_head:step" });
        const xt = t(xb, [m, f]);
        const z = await linearForward(gpu, {
          x: xt,
          weight: t(w, [k, f]),
          bias: t(b, [k]),
          out: t(logits, [m, k]),
          encoder,
        });
        const lossArgs = {
          logits: z,
          targets: t(yb, [m, k]),
          gradScale: lossScale(hp.task, m, k),
          out: { loss: t(lossBuf, [m * k]), grad: t(grad, [m, k]) },
          encoder,
        };
        const l = hp.task === "multiclass"
          ? await softmaxCrossEntropy(gpu, lossArgs)
          : await sigmoidBce(gpu, lossArgs);
        const lossRows = hp.task === "multiclass" ? m : m * k;
        await columnSum(gpu, {
          x: t(l.loss.buffer, [lossRows, 1]),
          out: t(epochLoss, [steps]),
          offset: i,
          encoder,
        });
        await linearBackward(gpu, {
          x: xt,
          weight: t(w, [k, f]),
          dy: l.grad,
          out: { dWeight: t(dw, [k, f]), dBias: t(db, [k]) },
          encoder,
        });
        await adamw(gpu, {
          param: t(w, [k * f]),
          grad: t(dw, [k * f]),
          m: t(mw, [k * f]),
          v: t(vw, [k * f]),
          ...opt,
          step,
          encoder,
        });
        await adamw(gpu, {
          param: t(b, [k]),
          grad: t(db, [k]),
          m: t(mb, [k]),
          v: t(vb, [k]),
          ...opt,
          step,
          encoder,
        });
        gpu.device.queue.submit([encoder.finish()]);
        if (i % 8 === 7) await gpu.sync();
      }
      const sums = new Float32Array(await gpu.readback(epochLoss, steps * 4));
      let total = 0;
      for (const v of sums) total += v;
      const loss = total / (hp.task === "multiclass" ? n : n * k);
      losses.push(loss);
      options.onProgress?.({ epoch, epochs: schedule.maxEpochs, loss });
      stopReason = stopAfter(hp, schedule, losses);
    }
    s.weight.set(new Float32Array(await gpu.readback(w, k * f * 4)));
    s.bias.set(new Float32Array(await gpu.readback(b, k * 4)));
  } finally {
    for (const buf of buffers) buf.destroy();
  }
  return { losses, stopReason: stopReason! };
}

function trainCpu(
  hp: LinearHeadHyperparameters,
  schedule: ProbeSchedule,
  s: ProbeState,
  x: HostTensor,
  targets: Float32Array,
  n: number,
  rng: () => number,
  options: FitOptions,
): TrainOutcome {
  const { f, k } = s;
  const bs = Math.min(hp.batchSize, n);
  const steps = Math.ceil(n / bs);
  const mw = new Float32Array(k * f);
  const vw = new Float32Array(k * f);
  const mb = new Float32Array(k);
  const vb = new Float32Array(k);
  const hostX = new Float32Array(bs * f);
  const hostY = new Float32Array(bs * k);
  const opt = {
    lr: hp.lr,
    beta1: hp.beta1,
    beta2: hp.beta2,
    eps: hp.eps,
    weightDecay: hp.weightDecay,
  };
  const losses: number[] = [];
  let step = 0;
  let stopReason: ProbeStopReason | undefined;
  for (let epoch = 1; stopReason === undefined; epoch++) {
    const order = permutation(n, rng);
    let total = 0;
    for (let i = 0; i < steps; i++) {
      throwIfAborted(options.signal);
      const m = Math.min(bs, n - i * bs);
      gatherBatch(x, targets, s, order, i * bs, m, hostX, hostY);
      const xt = { data: hostX.subarray(0, m * f), shape: [m, f] };
      const yt = { data: hostY.subarray(0, m * k), shape: [m, k] };
      const z = linearForwardRef(xt, { data: s.weight, shape: [k, f] }, {
        data: s.bias,
        shape: [k],
      });
      const l = hp.task === "multiclass"
        ? softmaxCrossEntropyRef(z, yt, lossScale(hp.task, m, k))
        : sigmoidBceRef(z, yt, lossScale(hp.task, m, k));
      for (const v of l.loss.data) total += v;
      const g = linearBackwardRef(xt, { data: s.weight, shape: [k, f] }, l.grad);
      step++;
      adamwRef(s.weight, g.dWeight.data, mw, vw, { ...opt, step });
      adamwRef(s.bias, g.dBias.data, mb, vb, { ...opt, step });
    }
    const loss = total / (hp.task === "multiclass" ? n : n * k);
    losses.push(loss);
    options.onProgress?.({ epoch, epochs: schedule.maxEpochs, loss });
    stopReason = stopAfter(hp, schedule, losses);
  }
  return { losses, stopReason: stopReason! };
}

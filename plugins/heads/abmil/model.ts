/**
 * The ABMIL head: attention-based multiple-instance learning with gated
 * attention (Ilse et al. 2018), trained one bag per step with AdamW on
 * the bag-level cross-entropy. On WebGPU a whole step (forward, backward,
 * seven AdamW updates) is one command encoder of `kernels/train` kernels;
 * on the CPU (no adapter, a software adapter with device `"auto"`, or
 * device `"cpu"`) the same step is one ONNX graph on onnxruntime's native
 * CPU kernels (`onnx.ts`), checked against `abmilBackwardRef`.
 *
 * @module
 */

import type { FitOptions, FitReport, Head } from "../../../core/plugin.ts";
import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { formatShape, type HostTensor } from "../../../core/tensor.ts";
import {
  linearForward,
  linearInputGrad,
  linearWeightGrad,
} from "../../../kernels/train/linear/linear.ts";
import { softmaxCrossEntropy } from "../../../kernels/train/cross_entropy/cross_entropy.ts";
import { columnSum } from "../../../kernels/train/column_sum/column_sum.ts";
import { adamw } from "../../../kernels/train/adamw/adamw.ts";
import { adamwRef } from "../../../kernels/train/adamw/adamw_ref.ts";
import {
  gatedBackward,
  gatedScore,
  relu,
  reluBackward,
  softmaxVector,
  softmaxVectorBackward,
} from "../../../kernels/train/gated_attention/gated_attention.ts";
import { AbmilCpu } from "./onnx.ts";
import { ABMIL_TENSORS, type AbmilParams, abmilShapes } from "./abmil_ref.ts";
import {
  decodeHead,
  encodeHead,
  f32Copy,
  type HeadDevice,
  type HeadDeviceRequest,
  LazyDevice,
  permutation,
  throwIfAborted,
} from "../_common.ts";
import { createMulberry32 } from "../../../core/random.ts";

/** Hyperparameters of the ABMIL head. */
export interface AbmilHeadHyperparameters {
  /** Bag classification: binary (2 classes) or multi-class. */
  task: "binary" | "multiclass";
  /** Classes (2 for binary; inferred from the targets when absent). */
  numClasses?: number;
  /** Size L of the projected instance features. */
  hiddenDim: number;
  /** Size D of the attention branches. */
  attentionDim: number;
  /** AdamW learning rate. */
  lr: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** Passes over the bags (one bag per step). */
  epochs: number;
  /** Where to run. */
  device: HeadDeviceRequest;
}

/** Defaults after CLAM's ABMIL setup (lr 2e-4, weight decay 1e-5, L = 256, D = 128), 20 epochs. */
export const ABMIL_HEAD_DEFAULTS: Readonly<AbmilHeadHyperparameters> = Object.freeze({
  task: "binary",
  hiddenDim: 256,
  attentionDim: 128,
  lr: 2e-4,
  weightDecay: 1e-5,
  epochs: 20,
  device: "auto",
});

type Name = (typeof ABMIL_TENSORS)[number];

/** Checks a list of bags: non-empty `[N_i, F]` float32 tensors with one F. */
function checkBags(op: string, bags: readonly HostTensor[], f?: number): number {
  if (!Array.isArray(bags) || bags.length === 0) {
    throw new TypeError(`Cannot run ${op} as bags must be a non-empty array of [N, F] tensors`);
  }
  const width = f ?? bags[0]?.shape?.[1];
  bags.forEach((b, i) => {
    if (
      !(b?.data instanceof Float32Array) || b.shape.length !== 2 || b.shape[0] < 1 ||
      b.shape[1] !== width || b.data.length !== b.shape[0] * b.shape[1]
    ) {
      throw new TypeError(
        `Cannot run ${op} as bag ${i} must be a non-empty [N, ${width}] float32 tensor: current shape is ${
          b?.shape ? formatShape(b.shape) : String(b)
        }`,
      );
    }
  });
  return width;
}

/** Checks bag labels `[B]` (class indices) and returns them with K. */
function checkLabels(
  y: HostTensor,
  b: number,
  hp: AbmilHeadHyperparameters,
): { labels: Int32Array; k: number } {
  if (!(y?.data instanceof Float32Array) || y.data.length !== b) {
    throw new TypeError(
      `Cannot run fit as targets must hold one class index per bag (${b}): current shape is ${
        y?.shape ? formatShape(y.shape) : String(y)
      }`,
    );
  }
  const labels = Int32Array.from(y.data);
  const max = Math.max(...labels);
  const k = hp.task === "binary" ? 2 : (hp.numClasses ?? Math.max(2, max + 1));
  y.data.forEach((v) => {
    if (!Number.isInteger(v) || v < 0 || v >= k) {
      throw new RangeError(
        `Cannot run fit as bag labels must be integers in [0, ${k - 1}]: current value is ${v}`,
      );
    }
  });
  return { labels, k };
}

function initParams(f: number, l: number, d: number, k: number, rng: () => number): AbmilParams {
  const p = { f, l, d, k } as AbmilParams;
  const shapes = abmilShapes(p);
  const fanIn: Record<Name, number> = { w1: f, b1: f, vu: l, bvu: l, w: d, c: l, cb: l };
  for (const name of ABMIL_TENSORS) {
    const size = shapes[name].reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn[name]);
    p[name] = new Float32Array(size).map(() => (rng() * 2 - 1) * bound);
  }
  return p;
}

function softmaxHost(logits: ArrayLike<number>): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  return Float32Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i] - m) / s);
}

/** A trained or untrained ABMIL head; create it with {@linkcode abmilHead}. */
export class AbmilHead implements Head<HostTensor[], HostTensor, HostTensor> {
  #hp: AbmilHeadHyperparameters;
  #device: LazyDevice;
  #params: AbmilParams | undefined;
  #trained: Record<string, unknown> = {};

  /** Creates an untrained head; `gpu` pins the WebGPU context. */
  constructor(hp: AbmilHeadHyperparameters, gpu?: GpuContext) {
    this.#hp = { ...hp };
    // The CPU path runs onnxruntime's native kernels: "auto" takes it on a software adapter too.
    this.#device = new LazyDevice(hp.device, gpu, true);
  }

  /** Every hyperparameter, plus the device used once known. */
  get hyperparameters(): Readonly<Record<string, unknown>> {
    return {
      ...this.#hp,
      ...this.#trained,
      ...this.#device.fields,
    };
  }

  /** The device in use, once resolved. */
  get device(): HeadDevice | undefined {
    return this.#device.device;
  }

  /** A copy of the parameters. */
  get parameters(): AbmilParams {
    const p = this.#require("read the parameters of");
    const out = { ...p };
    for (const name of ABMIL_TENSORS) out[name] = new Float32Array(p[name]);
    return out;
  }

  /**
   * Trains on bags `[N_i, F]` (1 ≤ N_i; on WebGPU N_i·F·4 bytes must fit
   * `maxStorageBufferBindingSize`) with bag labels `y: [B]`.
   */
  async fit(bags: HostTensor[], y: HostTensor, options: FitOptions = {}): Promise<FitReport> {
    const start = performance.now();
    const f = checkBags("fit", bags);
    const { labels, k } = checkLabels(y, bags.length, this.#hp);
    const seed = options.seed ?? 0;
    const rng = createMulberry32(seed);
    const p = initParams(f, this.#hp.hiddenDim, this.#hp.attentionDim, k, rng);
    const dev = await this.#device.resolve();
    const losses = dev.device === "webgpu"
      ? await new GpuAbmil(dev.gpu!, p, maxInstances(bags)).train(
        bags,
        labels,
        this.#hp,
        rng,
        options,
      )
      : await trainCpu(p, bags, labels, this.#hp, rng, options);
    this.#params = p;
    this.#trained = { numFeatures: f, numClasses: k, seed, bags: bags.length };
    return { losses, seconds: (performance.now() - start) / 1000 };
  }

  /** Class probabilities `[B, K]` of each bag. */
  async predict(bags: HostTensor[]): Promise<HostTensor> {
    const { probabilities } = await this.#infer(bags);
    return probabilities;
  }

  /** Attention weights of each instance of each bag (they sum to 1 per bag). */
  async attention(bags: HostTensor[]): Promise<Float32Array[]> {
    return (await this.#infer(bags)).attention;
  }

  async #infer(
    bags: HostTensor[],
  ): Promise<{ probabilities: HostTensor; attention: Float32Array[] }> {
    const p = this.#require("predict with");
    checkBags("predict", bags, p.f);
    const dev = await this.#device.resolve();
    const out = new Float32Array(bags.length * p.k);
    const attention: Float32Array[] = [];
    if (dev.device === "cpu") {
      const cpu = new AbmilCpu(p);
      try {
        for (const [i, bag] of bags.entries()) {
          const fw = await cpu.forward(p, bag);
          out.set(softmaxHost(fw.logits), i * p.k);
          attention.push(fw.attention);
        }
      } finally {
        await cpu.release();
      }
    } else {
      const model = new GpuAbmil(dev.gpu!, p, maxInstances(bags));
      try {
        const r = await model.forwardAll(bags);
        r.logits.forEach((logits, i) => out.set(softmaxHost(logits), i * p.k));
        attention.push(...r.attention);
      } finally {
        model.destroy();
      }
    }
    return { probabilities: { data: out, shape: [bags.length, p.k] }, attention };
  }

  /** safetensors bytes: the seven parameter tensors, hyperparameters in the metadata. */
  save(): Uint8Array {
    const p = this.#require("save");
    const shapes = abmilShapes(p);
    const tensors = Object.fromEntries(
      ABMIL_TENSORS.map((n) => [n, { dtype: "F32" as const, shape: shapes[n], data: p[n] }]),
    );
    const { device: _d, ...hp } = this.#hp;
    return encodeHead("abmil", tensors, { hyperparameters: hp, trained: this.#trained });
  }

  /** Restores a head written by {@linkcode AbmilHead.save}. */
  static restore(bytes: Uint8Array, hp: AbmilHeadHyperparameters, gpu?: GpuContext): AbmilHead {
    const { tensors, state } = decodeHead("abmil", bytes, ABMIL_TENSORS);
    const saved = (state.hyperparameters ?? {}) as Partial<AbmilHeadHyperparameters>;
    const head = new AbmilHead({ ...saved, device: hp.device } as AbmilHeadHyperparameters, gpu);
    const [l, f] = tensors.w1.shape;
    const p = { f, l, d: tensors.w.shape[0], k: tensors.cb.shape[0] } as AbmilParams;
    for (const name of ABMIL_TENSORS) p[name] = f32Copy(tensors[name]);
    head.#params = p;
    head.#trained = (state.trained ?? {}) as Record<string, unknown>;
    return head;
  }

  /** Releases the device when the head requested it. */
  dispose(): void {
    this.#device.dispose();
  }

  #require(what: string): AbmilParams {
    if (!this.#params) {
      throw new TypeError(`Cannot ${what} the abmil head as it is not trained: call fit() first`);
    }
    return this.#params;
  }
}

function maxInstances(bags: readonly HostTensor[]): number {
  return Math.max(...bags.map((b) => b.shape[0]));
}

/** Training on onnxruntime's CPU kernels (loss and gradients), AdamW on the host. */
async function trainCpu(
  p: AbmilParams,
  bags: HostTensor[],
  labels: Int32Array,
  hp: AbmilHeadHyperparameters,
  rng: () => number,
  options: FitOptions,
): Promise<number[]> {
  const cpu = new AbmilCpu(p);
  try {
    return await trainCpuWith(cpu, p, bags, labels, hp, rng, options);
  } finally {
    await cpu.release();
  }
}

async function trainCpuWith(
  cpu: AbmilCpu,
  p: AbmilParams,
  bags: HostTensor[],
  labels: Int32Array,
  hp: AbmilHeadHyperparameters,
  rng: () => number,
  options: FitOptions,
): Promise<number[]> {
  const moments = Object.fromEntries(
    ABMIL_TENSORS.map((n) => [n, [new Float32Array(p[n].length), new Float32Array(p[n].length)]]),
  ) as Record<Name, [Float32Array, Float32Array]>;
  const losses: number[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    let total = 0;
    for (const i of permutation(bags.length, rng)) {
      throwIfAborted(options.signal);
      const { loss, grads } = await cpu.step(p, bags[i], labels[i]);
      total += loss;
      step++;
      for (const n of ABMIL_TENSORS) {
        adamwRef(p[n], grads[n], moments[n][0], moments[n][1], {
          lr: hp.lr,
          weightDecay: hp.weightDecay,
          step,
        });
      }
    }
    const loss = total / bags.length;
    losses.push(loss);
    options.onProgress?.({ epoch, epochs: hp.epochs, loss });
  }
  return losses;
}

/** GPU buffers of one ABMIL model, sized for bags of up to `nMax` instances. */
class GpuAbmil {
  #gpu: GpuContext;
  #p: AbmilParams;
  #nMax: number;
  #buffers: GPUBuffer[] = [];
  #param = {} as Record<Name, GPUBuffer>;
  #act: Record<string, GPUBuffer> = {};

  constructor(gpu: GpuContext, p: AbmilParams, nMax: number) {
    this.#gpu = gpu;
    this.#p = p;
    this.#nMax = nMax;
    const { f, l, d, k } = p;
    const limit = gpu.limits.maxStorageBufferBindingSize;
    if (nMax * f * 4 > limit || nMax * Math.max(l, 2 * d) * 4 > limit) {
      throw new RangeError(
        `Cannot run the abmil head on WebGPU as a bag of ${nMax} instances × ${
          Math.max(f, l, 2 * d)
        } features must fit maxStorageBufferBindingSize (${limit} bytes): split the bag or use device "cpu"`,
      );
    }
    for (const name of ABMIL_TENSORS) this.#param[name] = this.#make(p[name].length, name, p[name]);
    const sizes: Record<string, number> = {
      x: nMax * f,
      h: nMax * l,
      s: nMax * 2 * d,
      g: nMax * d,
      e: nMax,
      a: nMax,
      da: nMax,
      de: nMax,
      z: l,
      logits: k,
      target: k,
      loss: 1,
      dlogits: k,
      dz: l,
      dh: nMax * l,
      ds: nMax * 2 * d,
    };
    for (const [name, size] of Object.entries(sizes)) this.#act[name] = this.#make(size, name);
  }

  #make(size: number, label: string, data?: Float32Array): GPUBuffer {
    const b = this.#gpu.createStorageBuffer(size * 4, `abmil:${label}`);
    if (data) this.#gpu.write(b, data);
    this.#buffers.push(b);
    return b;
  }

  /** Records the forward pass of a bag already written to `x`. */
  async #recordForward(n: number, encoder: GPUCommandEncoder): Promise<void> {
    const gpu = this.#gpu;
    const { f, l, d, k } = this.#p;
    const P = this.#param;
    const A = this.#act;
    const t = (buffer: GPUBuffer, shape: number[]): GpuTensor => ({ buffer, shape, dtype: "f32" });
    await linearForward(gpu, {
      x: t(A.x, [n, f]),
      weight: t(P.w1, [l, f]),
      bias: t(P.b1, [l]),
      out: t(A.h, [n, l]),
      encoder,
    }); // [N, L]
    await relu(gpu, { x: A.h, n: n * l, encoder });
    await linearForward(gpu, {
      x: t(A.h, [n, l]),
      weight: t(P.vu, [2 * d, l]),
      bias: t(P.bvu, [2 * d]),
      out: t(A.s, [n, 2 * d]),
      encoder,
    }); // [N, 2D]
    await gatedScore(gpu, { s: A.s, w: P.w, e: A.e, g: A.g, n, d, encoder }); // [N], [N, D]
    await softmaxVector(gpu, { e: A.e, a: A.a, n, encoder }); // [N]
    await linearWeightGrad(gpu, {
      x: t(A.h, [n, l]),
      dy: t(A.a, [n, 1]),
      out: t(A.z, [1, l]),
      encoder,
    }); // z = aᵀh [1, L]
    await linearForward(gpu, {
      x: t(A.z, [1, l]),
      weight: t(P.c, [k, l]),
      bias: t(P.cb, [k]),
      out: t(A.logits, [1, k]),
      encoder,
    }); // [1, K]
  }

  /**
   * Forward passes of many bags, one submit each, with the logits and
   * attention weights copied aside and read back once at the end.
   */
  async forwardAll(
    bags: readonly HostTensor[],
  ): Promise<{ logits: Float32Array[]; attention: Float32Array[] }> {
    const gpu = this.#gpu;
    const k = this.#p.k;
    const total = bags.reduce((s, b) => s + b.shape[0], 0);
    const allLogits = this.#make(bags.length * k, "all_logits");
    const allAttention = this.#make(total, "all_attention");
    let at = 0;
    for (let i = 0; i < bags.length; i++) {
      const n = bags[i].shape[0];
      gpu.write(this.#act.x, bags[i].data);
      const encoder = gpu.device.createCommandEncoder({ label: "abmil:forward" });
      await this.#recordForward(n, encoder);
      encoder.copyBufferToBuffer(this.#act.logits, 0, allLogits, i * k * 4, k * 4);
      encoder.copyBufferToBuffer(this.#act.a, 0, allAttention, at * 4, n * 4);
      gpu.device.queue.submit([encoder.finish()]);
      at += n;
      if (i % 8 === 7) await gpu.sync();
    }
    const logits = new Float32Array(await gpu.readback(allLogits, bags.length * k * 4));
    const attention = new Float32Array(await gpu.readback(allAttention, total * 4));
    at = 0;
    return {
      logits: bags.map((_, i) => logits.slice(i * k, (i + 1) * k)),
      attention: bags.map((b) => attention.slice(at, at += b.shape[0])),
    };
  }

  /** Loss and gradients of one bag (for tests: compares with the reference). */
  async gradients(
    bag: HostTensor,
    label: number,
  ): Promise<{ loss: number; grads: Record<Name, Float32Array> }> {
    const grads = this.#gradBuffers();
    const lossOut = this.#make(1, "loss_out");
    await this.#step(bag, label, grads, lossOut, 0, undefined);
    const out = {} as Record<Name, Float32Array>;
    for (const name of ABMIL_TENSORS) {
      out[name] = new Float32Array(await this.#gpu.readback(grads[name], this.#p[name].length * 4));
    }
    return { loss: new Float32Array(await this.#gpu.readback(lossOut, 4))[0], grads: out };
  }

  #gradBuffers(): Record<Name, GPUBuffer> {
    const g = {} as Record<Name, GPUBuffer>;
    for (const name of ABMIL_TENSORS) g[name] = this.#make(this.#p[name].length, `d_${name}`);
    return g;
  }

  /** Records and submits forward, backward and (with `update`) the AdamW updates of one bag. */
  async #step(
    bag: HostTensor,
    label: number,
    G: Record<Name, GPUBuffer>,
    lossOut: GPUBuffer,
    slot: number,
    update:
      | {
        m: Record<Name, GPUBuffer>;
        v: Record<Name, GPUBuffer>;
        step: number;
        lr: number;
        weightDecay: number;
      }
      | undefined,
  ): Promise<void> {
    const gpu = this.#gpu;
    const { f, l, d, k } = this.#p;
    const n = bag.shape[0];
    const P = this.#param;
    const A = this.#act;
    const t = (buffer: GPUBuffer, shape: number[]): GpuTensor => ({ buffer, shape, dtype: "f32" });
    gpu.write(A.x, bag.data);
    const target = new Float32Array(k);
    target[label] = 1;
    gpu.write(A.target, target);
    const encoder = gpu.device.createCommandEncoder({ label: "abmil:step" });
    await this.#recordForward(n, encoder);
    await softmaxCrossEntropy(gpu, {
      logits: t(A.logits, [1, k]),
      targets: t(A.target, [1, k]),
      out: { loss: t(A.loss, [1]), grad: t(A.dlogits, [1, k]) },
      encoder,
    });
    await columnSum(gpu, {
      x: t(A.loss, [1, 1]),
      out: t(lossOut, [slot + 1]),
      offset: slot,
      encoder,
    });
    // Classifier: dC = dŷ ⊗ z, dc = dŷ, dz = Cᵀ dŷ.
    await linearWeightGrad(gpu, {
      x: t(A.z, [1, l]),
      dy: t(A.dlogits, [1, k]),
      out: t(G.c, [k, l]),
      encoder,
    });
    await columnSum(gpu, { x: t(A.dlogits, [1, k]), out: t(G.cb, [k]), encoder });
    await linearInputGrad(gpu, {
      dy: t(A.dlogits, [1, k]),
      weight: t(P.c, [k, l]),
      out: t(A.dz, [1, l]),
      encoder,
    });
    // Pooling z = Σ a_n h_n: da = h·dz, dh = a ⊗ dz.
    await linearForward(gpu, {
      x: t(A.h, [n, l]),
      weight: t(A.dz, [1, l]),
      out: t(A.da, [n, 1]),
      encoder,
    });
    await softmaxVectorBackward(gpu, { a: A.a, da: A.da, de: A.de, n, encoder });
    await linearInputGrad(gpu, {
      dy: t(A.a, [n, 1]),
      weight: t(A.dz, [1, l]),
      out: t(A.dh, [n, l]),
      encoder,
    });
    // Gated attention: dw = deᵀ g, dS, then the [V; U] layer.
    await gatedBackward(gpu, { s: A.s, de: A.de, w: P.w, ds: A.ds, n, d, encoder });
    await linearWeightGrad(gpu, {
      x: t(A.g, [n, d]),
      dy: t(A.de, [n, 1]),
      out: t(G.w, [1, d]),
      encoder,
    });
    await linearWeightGrad(gpu, {
      x: t(A.h, [n, l]),
      dy: t(A.ds, [n, 2 * d]),
      out: t(G.vu, [2 * d, l]),
      encoder,
    });
    await columnSum(gpu, { x: t(A.ds, [n, 2 * d]), out: t(G.bvu, [2 * d]), encoder });
    await linearInputGrad(gpu, {
      dy: t(A.ds, [n, 2 * d]),
      weight: t(P.vu, [2 * d, l]),
      out: t(A.dh, [n, l]),
      accumulate: true,
      encoder,
    });
    // Projection h = ReLU(x·W1ᵀ + b1).
    await reluBackward(gpu, { h: A.h, dh: A.dh, n: n * l, encoder });
    await linearWeightGrad(gpu, {
      x: t(A.x, [n, f]),
      dy: t(A.dh, [n, l]),
      out: t(G.w1, [l, f]),
      encoder,
    });
    await columnSum(gpu, { x: t(A.dh, [n, l]), out: t(G.b1, [l]), encoder });
    if (update) {
      for (const name of ABMIL_TENSORS) {
        const size = [this.#p[name].length];
        await adamw(gpu, {
          param: t(P[name], size),
          grad: t(G[name], size),
          m: t(update.m[name], size),
          v: t(update.v[name], size),
          lr: update.lr,
          weightDecay: update.weightDecay,
          step: update.step,
          encoder,
        });
      }
    }
    gpu.device.queue.submit([encoder.finish()]);
  }

  /** Trains in place; returns the mean loss of each epoch. */
  async train(
    bags: HostTensor[],
    labels: Int32Array,
    hp: AbmilHeadHyperparameters,
    rng: () => number,
    options: FitOptions,
  ): Promise<number[]> {
    try {
      const grads = this.#gradBuffers();
      const m = {} as Record<Name, GPUBuffer>;
      const v = {} as Record<Name, GPUBuffer>;
      for (const name of ABMIL_TENSORS) {
        m[name] = this.#make(this.#p[name].length, `m_${name}`);
        v[name] = this.#make(this.#p[name].length, `v_${name}`);
      }
      const epochLoss = this.#make(bags.length, "epoch_loss");
      const losses: number[] = [];
      let step = 0;
      for (let epoch = 1; epoch <= hp.epochs; epoch++) {
        const order = permutation(bags.length, rng);
        for (let i = 0; i < order.length; i++) {
          throwIfAborted(options.signal);
          step++;
          await this.#step(bags[order[i]], labels[order[i]], grads, epochLoss, i, {
            m,
            v,
            step,
            lr: hp.lr,
            weightDecay: hp.weightDecay,
          });
          if (i % 8 === 7) await this.#gpu.sync();
        }
        const sums = new Float32Array(await this.#gpu.readback(epochLoss, bags.length * 4));
        const loss = sums.reduce((a, b) => a + b, 0) / bags.length;
        losses.push(loss);
        options.onProgress?.({ epoch, epochs: hp.epochs, loss });
      }
      for (const name of ABMIL_TENSORS) {
        this.#p[name].set(
          new Float32Array(await this.#gpu.readback(this.#param[name], this.#p[name].length * 4)),
        );
      }
      return losses;
    } finally {
      this.destroy();
    }
  }

  /** Destroys every buffer. */
  destroy(): void {
    for (const b of this.#buffers) b.destroy();
    this.#buffers = [];
  }

  /** Largest bag this model's buffers hold. */
  get maxInstances(): number {
    return this.#nMax;
  }
}

/**
 * Loss and gradients of one bag computed by the WebGPU step (no update):
 * what `abmil_test.ts` compares with `abmilBackwardRef`.
 */
export async function abmilGradientsGpu(
  gpu: GpuContext,
  params: AbmilParams,
  bag: HostTensor,
  label: number,
): Promise<{ loss: number; grads: Record<Name, Float32Array> }> {
  const model = new GpuAbmil(gpu, params, bag.shape[0]);
  try {
    return await model.gradients(bag, label);
  } finally {
    model.destroy();
  }
}

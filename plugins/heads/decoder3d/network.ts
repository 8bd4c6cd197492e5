// This module is browser compatible.
/**
 * The 3D decoder network on WebGPU: parameters (with AdamW moments),
 * the forward pass of one crop, its backward pass and the optimiser step,
 * built from the kernel families `conv3d`, `norm3d`, `activation`,
 * `upsample3d`, `concat`, `seg_loss` and `train/adamw`. One command
 * encoder per training step; activations come from a buffer pool and go
 * back to it after the step.
 *
 * Architecture (`channels = [c0, c1, ..., cS]`, S upsampling stages):
 *
 * ```
 * features [Cf, D, h, w]
 *   stage 0: conv 1×1×1 Cf→c0, [GN], LeakyReLU; conv 3×3×3 c0→c0, [GN], LeakyReLU
 *   stage s = 1..S: trilinear ×2 in-plane (the last stage: to [H, W])
 *                   ⊕ image resampled to the stage grid (skip, Cin channels)
 *                   conv 3×3×3 (c(s−1) + Cin)→cs, [GN], LeakyReLU
 *                   (stage S never has GN)
 *   head: conv 1×1×1 (cS + Cin)→K (+ bias) on [last stage ⊕ image] → logits [K, D, H, W]
 * ```
 *
 * `[GN]` is group normalisation when `norm` is `"group"`; convolutions
 * followed by it have no bias (it removes it), the others have one. Group
 * normalisation over a crop removes absolute intensity (a crop inside a
 * bright organ and one outside look alike after it), so the full-resolution
 * stage is never normalised and the head sees the image again: intensity
 * bands (organ, not bone) stay learnable at full resolution. Weights start
 * as He-uniform (`±√(6/fan_in)`, the head `±1/√fan_in`), biases at 0, norms
 * as identity, from a seeded generator.
 *
 * @module
 */

import type { GpuContext, GpuTensor } from "../../../core/gpu.ts";
import { numel } from "../../../core/tensor.ts";
import { BufferPool } from "../../../kernels/_runtime.ts";
import {
  conv3d,
  conv3dBackwardData,
  conv3dBackwardWeights,
} from "../../../kernels/conv3d/conv3d.ts";
import { groupNorm, groupNormBackward } from "../../../kernels/group_norm/group_norm.ts";
import { leakyRelu, leakyReluBackward } from "../../../kernels/leaky_relu/leaky_relu.ts";
import {
  type ResampleMapping,
  upsample3d,
  upsample3dBackward,
} from "../../../kernels/upsample3d/upsample3d.ts";
import { concat, splitChannels } from "../../../kernels/concat/concat.ts";
import {
  segLoss,
  segLossFromSums,
  type SegLossOptions,
  type SegLossValue,
  softmax3d,
} from "../../../kernels/dice_ce/dice_ce.ts";
import { adamw } from "../../../kernels/train/adamw/adamw.ts";

/** What fixes the shapes of every parameter. */
export interface Decoder3dArch {
  /** Feature channels Cf (the encoder width times the image channels). */
  readonly featureChannels: number;
  /** Image channels Cin of the skip connections. */
  readonly imageChannels: number;
  /** Classes K (background included). */
  readonly numClasses: number;
  /** Stage widths `[c0, ..., cS]`; S = length − 1 upsampling stages. */
  readonly channels: readonly number[];
  /** `"group"`: group normalisation after the convolutions below full resolution; `"none"`: biases only. */
  readonly norm: "group" | "none";
  /** Groups of each group normalisation (the largest divisor of the width not above it). */
  readonly normGroups: number;
  /** Group-norm epsilon. */
  readonly normEps: number;
  /** Negative slope of the LeakyReLUs. */
  readonly slope: number;
  /**
   * Per-channel mean and standard deviation of the training images: the
   * skip connections see `(image − mean) / std` (a dataset-level z-score,
   * as nnU-Net normalises CT), which keeps absolute intensity and gives it
   * unit scale.
   */
  readonly imageMean: readonly number[];
  /** See {@linkcode Decoder3dArch.imageMean}. */
  readonly imageStd: readonly number[];
}

/** A crop ready for the network (host arrays, batch of one). */
export interface CropTensors {
  /** Features `[Cf, d, ch, cw]`. */
  readonly features: Float32Array;
  /** Feature crop extents `[d, ch, cw]`. */
  readonly featureShape: readonly [number, number, number];
  /** Image skips for stages 1..S: `skips[s − 1]` is `[Cin, d, gh, gw]`. */
  readonly skips: readonly Float32Array[];
  /** Extents of each stage grid crop `[d, gh, gw]`, stages 0..S. */
  readonly gridShapes: readonly (readonly [number, number, number])[];
  /** Upsampling maps from stage s − 1 to s, for s = 1..S. */
  readonly mappings: readonly ResampleMapping[];
  /** Labels `[d, H, W]` as f32 class indices (training only). */
  readonly labels?: Float32Array;
}

/**
 * What the head needs from a network, on whichever backend runs it
 * ({@linkcode Decoder3dNet} on WebGPU, `Decoder3dCpuNet` on onnxruntime's
 * CPU kernels).
 */
export interface Decoder3dNetwork {
  /** The architecture. */
  readonly arch: Decoder3dArch;
  /** Optimiser steps taken. */
  readonly steps: number;
  /** Peak bytes of activations held by a GPU buffer pool (0 on the CPU). */
  readonly peakActivationBytes: number;
  /** One training step on one crop; resolves with the loss before the update. */
  trainStep(
    crop: CropTensors,
    lr: number,
    loss: SegLossOptions,
    weightDecay: number,
  ): Promise<SegLossValue>;
  /** The loss of one crop and every gradient, without an update. */
  lossAndGradients(crop: CropTensors, loss: SegLossOptions): Promise<SegLossValue>;
  /** The gradients of the last step, by name. */
  gradients(): Promise<Record<string, Float32Array>>;
  /** Class probabilities `[K, d, H, W]` of one crop. */
  predictCrop(crop: CropTensors): Promise<Float32Array>;
  /** Every parameter on the host, by name. */
  parameters(): Promise<Record<string, { shape: number[]; data: Float32Array }>>;
  /** Releases what the network holds. */
  dispose(): void;
}

/** One trainable tensor with its gradient and AdamW moments. */
interface Param {
  name: string;
  shape: number[];
  value: GpuTensor;
  grad: GpuTensor;
  m: GpuTensor;
  v: GpuTensor;
}

interface Block {
  name: string;
  weight: Param;
  bias?: Param;
  gamma?: Param;
  beta?: Param;
  kernel: [number, number, number];
  padding: [number, number, number];
  groups: number;
  /** Followed by a LeakyReLU. */
  act: boolean;
}

/** The largest divisor of `c` that is at most `max`. */
export function groupsFor(c: number, max: number): number {
  for (let g = Math.min(c, max); g > 1; g--) if (c % g === 0) return g;
  return 1;
}

/** The parameter names and shapes of an architecture, in a stable order. */
export function parameterShapes(arch: Decoder3dArch): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [];
  const c = arch.channels;
  const conv = (name: string, co: number, ci: number, k: number, norm: boolean) => {
    out.push({ name: `${name}.weight`, shape: [co, ci, k, k, k] });
    if (norm) {
      out.push({ name: `${name}.norm.weight`, shape: [co] });
      out.push({ name: `${name}.norm.bias`, shape: [co] });
    } else {
      out.push({ name: `${name}.bias`, shape: [co] });
    }
  };
  const gn = arch.norm === "group";
  conv("stage0.proj", c[0], arch.featureChannels, 1, gn);
  conv("stage0.conv", c[0], c[0], 3, gn);
  for (let s = 1; s < c.length; s++) {
    // The full-resolution stage has a bias and no normalisation: it keeps
    // absolute intensity thresholds on the image skip (a crop-wise norm
    // would remove them).
    conv(`stage${s}.conv`, c[s], c[s - 1] + arch.imageChannels, 3, gn && s < c.length - 1);
  }
  conv("head", arch.numClasses, c[c.length - 1] + arch.imageChannels, 1, false);
  return out;
}

/** Seeded initial values of every parameter (He-uniform convolutions, identity norms). */
export function initialParameters(
  arch: Decoder3dArch,
  rng: () => number,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const { name, shape } of parameterShapes(arch)) {
    const n = numel(shape);
    const data = new Float32Array(n);
    if (name.endsWith(".norm.weight")) data.fill(1);
    else if (name.endsWith(".weight")) {
      const fanIn = n / shape[0];
      const bound = name.startsWith("head") ? 1 / Math.sqrt(fanIn) : Math.sqrt(6 / fanIn);
      for (let i = 0; i < n; i++) data[i] = (rng() * 2 - 1) * bound;
    }
    out[name] = data;
  }
  return out;
}

interface Saved {
  input: GpuTensor;
  z: GpuTensor;
  stats?: GpuTensor;
  y?: GpuTensor;
}

/** The decoder on a GPU context. */
export class Decoder3dNet implements Decoder3dNetwork {
  /** The architecture. */
  readonly arch: Decoder3dArch;
  readonly #ctx: GpuContext;
  readonly #params: Param[] = [];
  readonly #blocks: Block[] = [];
  readonly #pool: BufferPool;
  #step = 0;
  #disposed = false;

  /** Uploads `values` (from {@linkcode initialParameters} or a saved head) to the GPU. */
  constructor(ctx: GpuContext, arch: Decoder3dArch, values: Record<string, Float32Array>) {
    this.#ctx = ctx;
    this.arch = arch;
    this.#pool = new BufferPool(ctx);
    const byName = new Map<string, Param>();
    for (const { name, shape } of parameterShapes(arch)) {
      const data = values[name];
      if (!data || data.length !== numel(shape)) {
        throw new TypeError(
          `Cannot build decoder3d as parameter "${name}" must have ${
            numel(shape)
          } values: current count is ${data?.length ?? 0}`,
        );
      }
      const zeros = new Float32Array(data.length);
      const t = (d: Float32Array, what: string): GpuTensor => ({
        buffer: ctx.upload(d, `decoder3d:${name}:${what}`),
        shape,
        dtype: "f32",
      });
      const p = {
        name,
        shape,
        value: t(data, "value"),
        grad: t(zeros, "grad"),
        m: t(zeros, "m"),
        v: t(zeros, "v"),
      };
      this.#params.push(p);
      byName.set(name, p);
    }
    const block = (name: string, k: number, act = true): Block => {
      const weight = byName.get(`${name}.weight`)!;
      const gamma = byName.get(`${name}.norm.weight`);
      const pad = (k - 1) / 2;
      return {
        name,
        weight,
        bias: byName.get(`${name}.bias`),
        gamma,
        beta: byName.get(`${name}.norm.bias`),
        kernel: [k, k, k],
        padding: [pad, pad, pad],
        groups: gamma ? groupsFor(weight.shape[0], arch.normGroups) : 1,
        act,
      };
    };
    this.#blocks.push(block("stage0.proj", 1), block("stage0.conv", 3));
    for (let s = 1; s < arch.channels.length; s++) this.#blocks.push(block(`stage${s}.conv`, 3));
    this.#blocks.push(block("head", 1, false));
  }

  /** Optimiser steps taken. */
  get steps(): number {
    return this.#step;
  }

  /** Bytes of activations the pool holds at most (a training-memory figure). */
  get peakActivationBytes(): number {
    return this.#pool.peakBytes;
  }

  #tensor(shape: number[], used: GpuTensor[]): GpuTensor {
    const t: GpuTensor = {
      buffer: this.#pool.acquire(numel(shape) * 4, "decoder3d:activation"),
      shape,
      dtype: "f32",
    };
    used.push(t);
    return t;
  }

  #upload(data: Float32Array, shape: number[], used: GpuTensor[]): GpuTensor {
    const t = this.#tensor(shape, used);
    this.#ctx.write(t.buffer, data);
    return t;
  }

  async #block(
    b: Block,
    x: GpuTensor,
    enc: GPUCommandEncoder,
    used: GpuTensor[],
    transients: GPUBuffer[],
    saved: Saved[],
  ): Promise<GpuTensor> {
    const [n, , d, h, w] = x.shape;
    const co = b.weight.shape[0];
    const z = this.#tensor([n, co, d, h, w], used);
    await conv3d(this.#ctx, {
      x,
      weight: b.weight.value,
      bias: b.bias?.value,
      padding: b.padding,
      out: z,
      encoder: enc,
      transients,
    });
    if (!b.gamma) {
      if (!b.act) {
        saved.push({ input: x, z });
        return z;
      }
      const a = this.#tensor([n, co, d, h, w], used);
      await leakyRelu(this.#ctx, {
        x: z,
        slope: this.arch.slope,
        out: a,
        encoder: enc,
        transients,
      });
      saved.push({ input: x, z, y: z });
      return a;
    }
    const y = this.#tensor([n, co, d, h, w], used);
    const stats = this.#tensor([n * b.groups, 2], used);
    await groupNorm(this.#ctx, {
      x: z,
      gamma: b.gamma.value,
      beta: b.beta!.value,
      groups: b.groups,
      eps: this.arch.normEps,
      out: y,
      stats,
      encoder: enc,
      transients,
    });
    const a = this.#tensor([n, co, d, h, w], used);
    await leakyRelu(this.#ctx, { x: y, slope: this.arch.slope, out: a, encoder: enc, transients });
    saved.push({ input: x, z, stats, y });
    return a;
  }

  async #forward(
    crop: CropTensors,
    enc: GPUCommandEncoder,
    used: GpuTensor[],
    transients: GPUBuffer[],
    saved: Saved[],
  ): Promise<{ logits: GpuTensor; ups: GpuTensor[] }> {
    const a = this.arch;
    const [d, ch, cw] = crop.featureShape;
    let x = this.#upload(crop.features, [1, a.featureChannels, d, ch, cw], used);
    x = await this.#block(this.#blocks[0], x, enc, used, transients, saved); // [1, c0, d, ch, cw]
    x = await this.#block(this.#blocks[1], x, enc, used, transients, saved); // [1, c0, d, ch, cw]
    const ups: GpuTensor[] = [];
    let lastSkip: GpuTensor | undefined;
    for (let s = 1; s < a.channels.length; s++) {
      const g = crop.gridShapes[s];
      const up = this.#tensor([1, a.channels[s - 1], ...g], used); // [1, c(s-1), d, gh, gw]
      await upsample3d(this.#ctx, {
        x,
        outSize: g as [number, number, number],
        mapping: crop.mappings[s - 1],
        out: up,
        encoder: enc,
        transients,
      });
      ups.push(x);
      const skip = this.#upload(crop.skips[s - 1], [1, a.imageChannels, ...g], used);
      lastSkip = skip;
      const cat = this.#tensor([1, a.channels[s - 1] + a.imageChannels, ...g], used);
      await concat(this.#ctx, { parts: [up, skip], out: cat, encoder: enc, transients });
      x = await this.#block(this.#blocks[s + 1], cat, enc, used, transients, saved); // [1, cs, d, gh, gw]
    }
    const last = crop.gridShapes.at(-1)!;
    const headIn = this.#tensor([1, a.channels.at(-1)! + a.imageChannels, ...last], used);
    await concat(this.#ctx, { parts: [x, lastSkip!], out: headIn, encoder: enc, transients });
    const logits = await this.#block(this.#blocks.at(-1)!, headIn, enc, used, transients, saved);
    return { logits, ups };
  }

  async #backwardBlock(
    b: Block,
    s: Saved,
    dOut: GpuTensor,
    needInput: boolean,
    enc: GPUCommandEncoder,
    used: GpuTensor[],
    transients: GPUBuffer[],
  ): Promise<GpuTensor | undefined> {
    const ctx = this.#ctx;
    let dz = dOut;
    if (!b.gamma && b.act) {
      dz = this.#tensor(s.z.shape.slice(), used);
      await leakyReluBackward(ctx, {
        x: s.z,
        dy: dOut,
        slope: this.arch.slope,
        out: dz,
        encoder: enc,
        transients,
      });
    }
    if (b.gamma) {
      const dy = this.#tensor(s.z.shape.slice(), used);
      await leakyReluBackward(ctx, {
        x: s.y!,
        dy: dOut,
        slope: this.arch.slope,
        out: dy,
        encoder: enc,
        transients,
      });
      dz = this.#tensor(s.z.shape.slice(), used);
      await groupNormBackward(ctx, {
        x: s.z,
        dy,
        gamma: b.gamma.value,
        stats: s.stats!,
        groups: b.groups,
        dx: dz,
        dgamma: b.gamma.grad,
        dbeta: b.beta!.grad,
        encoder: enc,
        transients,
      });
    }
    await conv3dBackwardWeights(ctx, {
      x: s.input,
      dy: dz,
      kernel: b.kernel,
      padding: b.padding,
      dweight: b.weight.grad,
      dbias: b.bias?.grad,
      encoder: enc,
      transients,
    });
    if (!needInput) return undefined;
    const dx = this.#tensor(s.input.shape.slice(), used);
    await conv3dBackwardData(ctx, {
      dy: dz,
      weight: b.weight.value,
      inputShape: s.input.shape,
      padding: b.padding,
      out: dx,
      encoder: enc,
      transients,
    });
    return dx;
  }

  #finish(used: GpuTensor[], transients: GPUBuffer[]): void {
    for (const t of used) this.#pool.release(t.buffer);
    for (const b of transients) b.destroy();
  }

  /**
   * One training step on one crop: forward, Dice + CE loss, backward and
   * an AdamW update with learning rate `lr`. Resolves with the loss of the
   * crop (before the update).
   */
  trainStep(
    crop: CropTensors,
    lr: number,
    loss: SegLossOptions,
    weightDecay: number,
  ): Promise<SegLossValue> {
    return this.#run(crop, loss, { lr, weightDecay });
  }

  /**
   * The loss of one crop and the gradients of every parameter (left in the
   * gradient buffers; read them with {@linkcode Decoder3dNet.gradients}),
   * without an optimiser step. For gradient checks.
   */
  lossAndGradients(crop: CropTensors, loss: SegLossOptions): Promise<SegLossValue> {
    return this.#run(crop, loss);
  }

  /** Reads every parameter gradient back to the host, by name. */
  async gradients(): Promise<Record<string, Float32Array>> {
    this.#alive();
    const out: Record<string, Float32Array> = {};
    for (const p of this.#params) out[p.name] = (await this.#ctx.readTensor(p.grad)).data;
    return out;
  }

  async #run(
    crop: CropTensors,
    loss: SegLossOptions,
    update?: { lr: number; weightDecay: number },
  ): Promise<SegLossValue> {
    this.#alive();
    const ctx = this.#ctx;
    const a = this.arch;
    const used: GpuTensor[] = [];
    const transients: GPUBuffer[] = [];
    const saved: Saved[] = [];
    const enc = ctx.device.createCommandEncoder({ label: "decoder3d:train_step" });
    const { logits, ups } = await this.#forward(crop, enc, used, transients, saved);
    const labelShape = logits.shape.slice();
    labelShape.splice(1, 1);
    const labels = this.#upload(crop.labels!, labelShape, used);
    const dlogits = this.#tensor(logits.shape.slice(), used);
    const { sums } = await segLoss(ctx, {
      logits,
      labels,
      dlogits,
      ...loss,
      encoder: enc,
      transients,
    });
    transients.push(sums.buffer);
    const dhead = await this.#backwardBlock(
      this.#blocks.at(-1)!,
      saved.at(-1)!,
      dlogits,
      true,
      enc,
      used,
      transients,
    );
    const last = crop.gridShapes.at(-1)!;
    let [grad] = await splitChannels(ctx, {
      x: dhead!,
      sizes: [a.channels.at(-1)!, a.imageChannels],
      outs: [
        this.#tensor([1, a.channels.at(-1)!, ...last], used),
        this.#tensor([1, a.imageChannels, ...last], used),
      ],
      encoder: enc,
      transients,
    });
    for (let s = a.channels.length - 1; s >= 1; s--) {
      const dcat = await this.#backwardBlock(
        this.#blocks[s + 1],
        saved[s + 1],
        grad,
        true,
        enc,
        used,
        transients,
      );
      const [dup] = await splitChannels(ctx, {
        x: dcat!,
        sizes: [a.channels[s - 1], a.imageChannels],
        outs: [
          this.#tensor([1, a.channels[s - 1], ...crop.gridShapes[s]], used),
          this.#tensor([1, a.imageChannels, ...crop.gridShapes[s]], used),
        ],
        encoder: enc,
        transients,
      });
      const prev = ups[s - 1];
      grad = this.#tensor(prev.shape.slice(), used);
      await upsample3dBackward(ctx, {
        dy: dup,
        inputShape: prev.shape,
        mapping: crop.mappings[s - 1],
        out: grad,
        encoder: enc,
        transients,
      });
    }
    grad =
      (await this.#backwardBlock(this.#blocks[1], saved[1], grad, true, enc, used, transients))!;
    await this.#backwardBlock(this.#blocks[0], saved[0], grad, false, enc, used, transients);
    if (update) {
      this.#step++;
      for (const p of this.#params) {
        await adamw(ctx, {
          param: p.value,
          grad: p.grad,
          m: p.m,
          v: p.v,
          lr: update.lr,
          step: this.#step,
          weightDecay: update.weightDecay,
          encoder: enc,
        });
      }
    }
    ctx.device.queue.submit([enc.finish()]);
    const values = new Float32Array(await ctx.readback(sums.buffer, sums.shape[0] * 4));
    this.#finish(used, transients);
    return segLossFromSums(values, a.numClasses, numel(labelShape), loss);
  }

  /** Class probabilities `[K, d, H, W]` of one crop (softmax of the logits). */
  async predictCrop(crop: CropTensors): Promise<Float32Array> {
    this.#alive();
    const ctx = this.#ctx;
    const used: GpuTensor[] = [];
    const transients: GPUBuffer[] = [];
    const enc = ctx.device.createCommandEncoder({ label: "decoder3d:predict" });
    const { logits } = await this.#forward(crop, enc, used, transients, []);
    const probs = this.#tensor(logits.shape.slice(), used);
    await softmax3d(ctx, { logits, out: probs, encoder: enc, transients });
    ctx.device.queue.submit([enc.finish()]);
    const out = new Float32Array(await ctx.readback(probs.buffer, numel(probs.shape) * 4));
    this.#finish(used, transients);
    return out;
  }

  /** Reads every parameter back to the host, by name. */
  async parameters(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    this.#alive();
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const p of this.#params) {
      out[p.name] = { shape: p.shape, data: (await this.#ctx.readTensor(p.value)).data };
    }
    return out;
  }

  #alive(): void {
    if (this.#disposed) throw new TypeError("Cannot use decoder3d as it was disposed");
  }

  /** Releases every GPU buffer. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const p of this.#params) {
      for (const t of [p.value, p.grad, p.m, p.v]) t.buffer.destroy();
    }
    this.#pool.trim();
  }
}

/**
 * The 3D decoder on the CPU at native speed: the forward pass, the
 * Dice + CE loss and the backward pass of one crop are one ONNX graph run
 * by onnxruntime's CPU kernels (MLAS convolutions and GEMMs, multi-threaded);
 * the AdamW step runs on the host ({@linkcode adamwRef}, float64 per
 * element). Same architecture, parameters, loss and gradients as the
 * WebGPU network in `network.ts` (checked against it and against finite
 * differences in the tests).
 *
 * How each backward piece is built from forward ONNX operators (stride 1,
 * "same" padding):
 *
 * - conv input gradient: `Conv(dz, W')` with `W'[ci, co] = flip(W[co, ci])`
 *   (transposed in channels, reversed in space), same padding;
 * - conv weight gradient: the input padded once, then for each of the k³
 *   kernel offsets a `Gemm` of `dz [co, V]` with the shifted input
 *   `[ci, V]`ᵀ (one `Gemm` for 1×1×1 convolutions); bias gradient a
 *   `ReduceSum`;
 * - trilinear resampling (separable, per-axis affine maps): `MatMul` with a
 *   per-axis interpolation matrix built on the host from the
 *   {@linkcode ResampleMapping}, and its transpose for the gradient;
 * - LeakyReLU: `Where(z > 0, dy, slope · dy)`; group normalisation: the
 *   closed-form gradient with `ReduceMean`/`ReduceSum` over each group;
 * - the loss: `Softmax`/`LogSoftmax` over classes, one-hot labels from
 *   `Equal`, the per-class sums `[Σpg, Σp, Σg, Σnll]` as an output (the loss
 *   value is computed from them on the host with `segLossFromSums`, as on
 *   the GPU) and the logits gradient of `segLossRef` in closed form.
 *
 * @module
 */

import { numel } from "../../../core/tensor.ts";
import { encodePlan, GraphBuilder, planModel } from "../../encoders/onnx/proto.ts";
import { OnnxSession } from "../../encoders/onnx/session.ts";
import { axisTaps, type ResampleMapping } from "../../../kernels/upsample3d/upsample3d_ref.ts";
import {
  segLossFromSums,
  type SegLossOptions,
  type SegLossValue,
} from "../../../kernels/dice_ce/dice_ce_ref.ts";
import { adamwRef } from "../../../kernels/train/adamw/adamw_ref.ts";
import {
  type CropTensors,
  type Decoder3dArch,
  type Decoder3dNetwork,
  groupsFor,
  parameterShapes,
} from "./network.ts";

/** Options of {@linkcode Decoder3dCpuNet.create}. */
export interface Decoder3dCpuNetOptions {
  /** onnxruntime intra-op threads. @default {onnxruntime's choice: the physical cores} */
  threads?: number;
  /** Which onnxruntime package runs the graphs. @default {"auto"} */
  runtime?: "node" | "wasm" | "auto";
}

interface BlockSpec {
  name: string;
  ci: number;
  co: number;
  k: number;
  groups: number;
  bias: boolean;
  norm: boolean;
  act: boolean;
}

function blockSpecs(arch: Decoder3dArch): BlockSpec[] {
  const shapes = new Map(parameterShapes(arch).map((p) => [p.name, p.shape]));
  const spec = (name: string, act = true): BlockSpec => {
    const [co, ci, k] = shapes.get(`${name}.weight`)!;
    const norm = shapes.has(`${name}.norm.weight`);
    return {
      name,
      ci,
      co,
      k,
      groups: norm ? groupsFor(co, arch.normGroups) : 1,
      bias: shapes.has(`${name}.bias`),
      norm,
      act,
    };
  };
  const out = [spec("stage0.proj"), spec("stage0.conv")];
  for (let s = 1; s < arch.channels.length; s++) out.push(spec(`stage${s}.conv`));
  out.push(spec("head", false));
  return out;
}

const BIG = Number.MAX_SAFE_INTEGER;

/** Graph-building helpers over {@linkcode GraphBuilder}. */
class Ops {
  readonly g = new GraphBuilder();
  readonly #i64 = new Map<string, string>();
  readonly #f32 = new Map<string, string>();
  constructor(readonly arch: Decoder3dArch) {}

  i64(values: readonly number[]): string {
    const key = values.join(",");
    let n = this.#i64.get(key);
    if (!n) this.#i64.set(key, n = this.g.constI64(values));
    return n;
  }

  f32(value: number): string {
    const key = String(value);
    let n = this.#f32.get(key);
    if (!n) this.#f32.set(key, n = this.g.constF32([value], [1]));
    return n;
  }

  op(
    type: string,
    inputs: string[],
    attrs: Record<string, number | number[] | { float: number }> = {},
  ): string {
    return this.g.op(type, inputs, attrs);
  }

  conv(x: string, w: string, b: string | undefined, k: number): string {
    const p = (k - 1) / 2;
    return this.op("Conv", b ? [x, w, b] : [x, w], { pads: [p, p, p, p, p, p] });
  }

  leaky(x: string): string {
    return this.op("LeakyRelu", [x], { alpha: { float: this.arch.slope } });
  }

  leakyBackward(x: string, dy: string): string {
    const positive = this.op("Greater", [x, this.f32(0)]);
    return this.op("Where", [positive, dy, this.op("Mul", [dy, this.f32(this.arch.slope)])]);
  }

  /** Group norm of `z [1, C, ...]`: returns y and the normalised x̂ and rstd `[1, G, 1]`. */
  groupNorm(z: string, gamma: string, beta: string, groups: number): {
    y: string;
    xhat: string;
    rstd: string;
  } {
    const shape = this.op("Shape", [z]);
    const zr = this.op("Reshape", [z, this.i64([1, groups, -1])]);
    const mean = this.op("ReduceMean", [zr], { axes: [2], keepdims: 1 });
    const d = this.op("Sub", [zr, mean]);
    const v = this.op("ReduceMean", [this.op("Mul", [d, d])], { axes: [2], keepdims: 1 });
    const rstd = this.op(
      "Reciprocal",
      [this.op("Sqrt", [this.op("Add", [v, this.f32(this.arch.normEps)])])],
    );
    const xhat = this.op("Reshape", [this.op("Mul", [d, rstd]), shape]);
    const c = this.i64([1, -1, 1, 1, 1]);
    const y = this.op("Add", [
      this.op("Mul", [xhat, this.op("Reshape", [gamma, c])]),
      this.op("Reshape", [beta, c]),
    ]);
    return { y, xhat, rstd };
  }

  /** Gradients of {@linkcode Ops.groupNorm}: dx, dgamma, dbeta. */
  groupNormBackward(
    dy: string,
    xhat: string,
    rstd: string,
    gamma: string,
    groups: number,
  ): { dx: string; dgamma: string; dbeta: string } {
    const axes = this.i64([0, 2, 3, 4]);
    const dgamma = this.op("ReduceSum", [this.op("Mul", [dy, xhat]), axes], { keepdims: 0 });
    const dbeta = this.op("ReduceSum", [dy, axes], { keepdims: 0 });
    const gy = this.op("Mul", [dy, this.op("Reshape", [gamma, this.i64([1, -1, 1, 1, 1])])]);
    const shape = this.op("Shape", [dy]);
    const gyr = this.op("Reshape", [gy, this.i64([1, groups, -1])]);
    const xr = this.op("Reshape", [xhat, this.i64([1, groups, -1])]);
    const a = this.op("ReduceMean", [gyr], { axes: [2], keepdims: 1 });
    const b = this.op("ReduceMean", [this.op("Mul", [gyr, xr])], { axes: [2], keepdims: 1 });
    const dxr = this.op("Mul", [
      this.op("Sub", [this.op("Sub", [gyr, a]), this.op("Mul", [xr, b])]),
      rstd,
    ]);
    return { dx: this.op("Reshape", [dxr, shape]), dgamma, dbeta };
  }

  /** Resamples `x [1, C, D, h, w]` with per-axis matrices `[out, in]` (z applied first). */
  resample(x: string, mz: string, mh: string, mw: string): string {
    const shape = this.op("Shape", [x]);
    const flat = this.op("Reshape", [x, this.i64([0, 0, 0, -1])]);
    const zr = this.op("Reshape", [this.op("MatMul", [mz, flat]), shape]);
    const wr = this.op("MatMul", [zr, this.op("Transpose", [mw], { perm: [1, 0] })]);
    return this.op("MatMul", [mh, wr]);
  }

  /** Gradient of {@linkcode Ops.resample} with respect to its input. */
  resampleBackward(dy: string, inputShape: string, mz: string, mh: string, mw: string): string {
    const dh = this.op("MatMul", [this.op("Transpose", [mh], { perm: [1, 0] }), dy]);
    const dw = this.op("MatMul", [dh, mw]);
    const flat = this.op("Reshape", [dw, this.i64([0, 0, 0, -1])]);
    const dz = this.op("MatMul", [this.op("Transpose", [mz], { perm: [1, 0] }), flat]);
    return this.op("Reshape", [dz, inputShape]);
  }

  /** Weight gradient `[co, ci, k, k, k]` of a stride-1 "same" convolution. */
  convWeightGrad(x: string, dz: string, ci: number, co: number, k: number): string {
    const dz2 = this.op("Reshape", [dz, this.i64([co, -1])]);
    if (k === 1) {
      const g = this.op("Gemm", [dz2, this.op("Reshape", [x, this.i64([ci, -1])])], {
        transB: 1,
      });
      return this.op("Reshape", [g, this.i64([co, ci, 1, 1, 1])]);
    }
    const p = (k - 1) / 2;
    const xp = this.op("Pad", [x, this.i64([0, 0, p, p, p, 0, 0, p, p, p])]);
    const axes = this.i64([2, 3, 4]);
    const taps: string[] = [];
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        for (let c = 0; c < k; c++) {
          const end = (o: number) => (o < k - 1 ? o - (k - 1) : BIG);
          const xs = this.op("Slice", [
            xp,
            this.i64([a, b, c]),
            this.i64([end(a), end(b), end(c)]),
            axes,
          ]);
          const g = this.op("Gemm", [dz2, this.op("Reshape", [xs, this.i64([ci, -1])])], {
            transB: 1,
          });
          taps.push(this.op("Unsqueeze", [g, this.i64([2])]));
        }
      }
    }
    const all = this.op("Concat", taps, { axis: 2 });
    return this.op("Reshape", [all, this.i64([co, ci, k, k, k])]);
  }

  /** The first part of a two-way channel split (the gradient of a concatenation's first input). */
  splitFirst(x: string, a: number, b: number): string {
    return this.g.opN("Split", [x, this.i64([a, b])], 2, { axis: 1 })[0];
  }

  /** Input gradient of a stride-1 "same" convolution. */
  convDataGrad(dz: string, w: string, k: number): string {
    let wt = this.op("Transpose", [w], { perm: [1, 0, 2, 3, 4] });
    if (k > 1) {
      wt = this.op("Slice", [
        wt,
        this.i64([-1, -1, -1]),
        this.i64([-BIG, -BIG, -BIG]),
        this.i64([2, 3, 4]),
        this.i64([-1, -1, -1]),
      ]);
    }
    return this.conv(dz, wt, undefined, k);
  }
}

interface Saved {
  input: string;
  z: string;
  y?: string;
  xhat?: string;
  rstd?: string;
}

/** Graph input names of one crop. */
const FEATURES = "features";
const LABELS = "labels";
const CE_SCALE = "ce_scale";
const SUMS = "sums";
const PROBS = "probs";
const skipName = (s: number) => `skip${s}`;
const mapName = (axis: "z" | "h" | "w", s: number) => `m${axis}${s}`;
const gradName = (p: string) => `grad:${p}`;

/**
 * Builds the ONNX model of the decoder: `"predict"` maps a crop to class
 * probabilities `probs [1, K, d, H, W]`; `"train"` also takes `labels
 * [1, 1, d, H, W]` (class indices as floats) and `ce_scale [1]`
 * (`ceWeight / voxels`) and outputs the loss sums `[Σpg (K), Σp (K), Σg (K),
 * Σnll]` and the gradient `grad:<name>` of every parameter. Parameters are
 * graph inputs, so one model serves every step.
 */
export function buildDecoder3dGraph(
  arch: Decoder3dArch,
  mode: "train" | "predict",
  loss?: SegLossOptions,
): GraphBuilder {
  const o = new Ops(arch);
  const g = o.g;
  const S = arch.channels.length - 1;
  const cin = arch.imageChannels;
  for (const { name, shape } of parameterShapes(arch)) g.input(name, shape);
  g.input(FEATURES, [1, arch.featureChannels, "d", "h0", "w0"]);
  for (let s = 1; s <= S; s++) {
    g.input(skipName(s), [1, cin, "d", `h${s}`, `w${s}`]);
    g.input(mapName("z", s), ["d", "d"]);
    g.input(mapName("h", s), [`h${s}`, `h${s - 1}`]);
    g.input(mapName("w", s), [`w${s}`, `w${s - 1}`]);
  }
  const blocks = blockSpecs(arch);
  const saved: Saved[] = [];
  const forwardBlock = (b: BlockSpec, x: string): string => {
    const z = o.conv(x, `${b.name}.weight`, b.bias ? `${b.name}.bias` : undefined, b.k);
    if (b.norm) {
      const { y, xhat, rstd } = o.groupNorm(
        z,
        `${b.name}.norm.weight`,
        `${b.name}.norm.bias`,
        b.groups,
      );
      saved.push({ input: x, z, y, xhat, rstd });
      return o.leaky(y);
    }
    saved.push({ input: x, z });
    return b.act ? o.leaky(z) : z;
  };
  let x = forwardBlock(blocks[0], FEATURES);
  x = forwardBlock(blocks[1], x);
  const ups: string[] = [];
  for (let s = 1; s <= S; s++) {
    ups.push(x);
    const up = o.resample(x, mapName("z", s), mapName("h", s), mapName("w", s));
    x = forwardBlock(blocks[s + 1], o.op("Concat", [up, skipName(s)], { axis: 1 }));
  }
  const logits = forwardBlock(blocks[S + 2], o.op("Concat", [x, skipName(S)], { axis: 1 }));
  if (mode === "predict") {
    g.op("Softmax", [logits], { axis: 1 }, PROBS);
    g.output(PROBS, [1, arch.numClasses, "d", `h${S}`, `w${S}`]);
    return g;
  }
  if (!loss) {
    throw new TypeError("Cannot build the decoder3d training graph as loss options must be given");
  }
  const k = arch.numClasses;
  g.input(LABELS, [1, 1, "d", `h${S}`, `w${S}`]);
  g.input(CE_SCALE, [1]);
  const classes = g.constF32(Array.from({ length: k }, (_, i) => i), [1, k, 1, 1, 1]);
  const onehot = o.op("Cast", [o.op("Equal", [LABELS, classes])], { to: 1 });
  const p = o.op("Softmax", [logits], { axis: 1 });
  const logp = o.op("LogSoftmax", [logits], { axis: 1 });
  const spatial = o.i64([0, 2, 3, 4]);
  const sum = (t: string) => o.op("ReduceSum", [t, spatial], { keepdims: 1 });
  const inter = sum(o.op("Mul", [p, onehot]));
  const psum = sum(p);
  const gsum = sum(onehot);
  const nll = o.op("Neg", [o.op("ReduceSum", [o.op("Mul", [onehot, logp])], { keepdims: 0 })]);
  const flatK = o.i64([k]);
  g.op(
    "Concat",
    [
      o.op("Reshape", [inter, flatK]),
      o.op("Reshape", [psum, flatK]),
      o.op("Reshape", [gsum, flatK]),
      o.op("Reshape", [nll, o.i64([1])]),
    ],
    { axis: 0 },
    SUMS,
  );
  g.output(SUMS, [3 * k + 1]);
  // d(loss)/d(logits), as segLossRef: p·(a − Σ_c p·a) + ceScale·(p − g), with
  // a_c = −wd·(2 g u_c − (2 I_c + smoothNr)) / u_c², u_c = Σp_c + Σg_c + smoothDr.
  const first = loss.includeBackground || k === 1 ? 0 : 1;
  const wd = loss.diceWeight / (k - first);
  const mask = g.constF32(Array.from({ length: k }, (_, c) => (c < first ? 0 : 1)), [
    1,
    k,
    1,
    1,
    1,
  ]);
  const u = o.op("Add", [o.op("Add", [psum, gsum]), o.f32(loss.smoothDr)]);
  const u2 = o.op("Mul", [u, u]);
  const coefA = o.op("Div", [o.op("Mul", [mask, o.f32(-2 * wd)]), u]);
  const coefB = o.op("Div", [
    o.op("Mul", [
      o.op("Mul", [mask, o.f32(wd)]),
      o.op("Add", [o.op("Mul", [inter, o.f32(2)]), o.f32(loss.smoothNr)]),
    ]),
    u2,
  ]);
  const a = o.op("Add", [o.op("Mul", [onehot, coefA]), coefB]);
  const dot = o.op("ReduceSum", [o.op("Mul", [p, a]), o.i64([1])], { keepdims: 1 });
  const dlogits = o.op("Add", [
    o.op("Mul", [p, o.op("Sub", [a, dot])]),
    o.op("Mul", [o.op("Sub", [p, onehot]), CE_SCALE]),
  ]);
  const grads = new Map<string, string>();
  const backwardBlock = (b: BlockSpec, sv: Saved, dOut: string, needInput: boolean) => {
    let dz = dOut;
    if (b.norm) {
      const dy = o.leakyBackward(sv.y!, dOut);
      const r = o.groupNormBackward(dy, sv.xhat!, sv.rstd!, `${b.name}.norm.weight`, b.groups);
      dz = r.dx;
      grads.set(`${b.name}.norm.weight`, r.dgamma);
      grads.set(`${b.name}.norm.bias`, r.dbeta);
    } else if (b.act) {
      dz = o.leakyBackward(sv.z, dOut);
    }
    grads.set(`${b.name}.weight`, o.convWeightGrad(sv.input, dz, b.ci, b.co, b.k));
    if (b.bias) {
      grads.set(`${b.name}.bias`, o.op("ReduceSum", [dz, spatial], { keepdims: 0 }));
    }
    return needInput ? o.convDataGrad(dz, `${b.name}.weight`, b.k) : undefined;
  };
  const dhead = backwardBlock(blocks[S + 2], saved[S + 2], dlogits, true)!;
  let grad = o.splitFirst(dhead, arch.channels[S], cin);
  for (let s = S; s >= 1; s--) {
    const dcat = backwardBlock(blocks[s + 1], saved[s + 1], grad, true)!;
    const dup = o.splitFirst(dcat, arch.channels[s - 1], cin);
    grad = o.resampleBackward(
      dup,
      o.op("Shape", [ups[s - 1]]),
      mapName("z", s),
      mapName("h", s),
      mapName("w", s),
    );
  }
  grad = backwardBlock(blocks[1], saved[1], grad, true)!;
  backwardBlock(blocks[0], saved[0], grad, false);
  for (const { name, shape } of parameterShapes(arch)) {
    const v = grads.get(name);
    if (!v) throw new TypeError(`Cannot build the decoder3d graph as "${name}" has no gradient`);
    g.op("Identity", [v], {}, gradName(name));
    g.output(gradName(name), shape);
  }
  return g;
}

/** The interpolation matrix `[out, in]` of one axis of a mapping. */
export function axisMatrix(
  mapping: ResampleMapping,
  axis: 0 | 1 | 2,
  inSize: number,
  outSize: number,
): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const [i0, i1, f] = axisTaps(o, mapping.scale[axis], mapping.offset[axis], inSize);
    m[o * inSize + i0] += 1 - f;
    m[o * inSize + i1] += f;
  }
  return m;
}

/** The decoder on onnxruntime's CPU kernels. Create it with {@linkcode Decoder3dCpuNet.create}. */
export class Decoder3dCpuNet implements Decoder3dNetwork {
  /** The architecture. */
  readonly arch: Decoder3dArch;
  readonly #params: Map<
    string,
    { shape: number[]; value: Float32Array; m: Float32Array; v: Float32Array }
  >;
  readonly #options: Decoder3dCpuNetOptions;
  #train: { key: string; session: OnnxSession } | undefined;
  #predict: OnnxSession | undefined;
  #grads: Record<string, Float32Array> = {};
  #step = 0;
  #disposed = false;
  /** Which onnxruntime runs the graphs, and why (once a session exists). */
  runtime = "";

  private constructor(
    arch: Decoder3dArch,
    values: Record<string, Float32Array>,
    options: Decoder3dCpuNetOptions,
  ) {
    this.arch = arch;
    this.#options = options;
    this.#params = new Map();
    for (const { name, shape } of parameterShapes(arch)) {
      const data = values[name];
      if (!data || data.length !== numel(shape)) {
        throw new TypeError(
          `Cannot build decoder3d as parameter "${name}" must have ${
            numel(shape)
          } values: current count is ${data?.length ?? 0}`,
        );
      }
      this.#params.set(name, {
        shape,
        value: Float32Array.from(data),
        m: new Float32Array(data.length),
        v: new Float32Array(data.length),
      });
    }
  }

  /** Copies `values` (from `initialParameters` or a saved head); the graphs are built on first use. */
  static create(
    arch: Decoder3dArch,
    values: Record<string, Float32Array>,
    options: Decoder3dCpuNetOptions = {},
  ): Decoder3dCpuNet {
    return new Decoder3dCpuNet(arch, values, options);
  }

  /** Optimiser steps taken. */
  get steps(): number {
    return this.#step;
  }

  /** Overwrites parameter values by name (e.g. for gradient checks); moments are kept. */
  assign(values: Readonly<Record<string, ArrayLike<number>>>): void {
    this.#alive();
    for (const [name, data] of Object.entries(values)) {
      const p = this.#params.get(name);
      if (!p || data.length !== p.value.length) {
        throw new TypeError(
          `Cannot assign decoder3d parameter "${name}" as it must be a parameter of ${
            p?.value.length ?? 0
          } values: current count is ${data.length}`,
        );
      }
      p.value.set(data);
    }
  }

  /** Always 0: the CPU path has no GPU buffer pool (onnxruntime plans its own arena). */
  get peakActivationBytes(): number {
    return 0;
  }

  async #session(mode: "train" | "predict", loss?: SegLossOptions): Promise<OnnxSession> {
    const build = async () => {
      const g = buildDecoder3dGraph(this.arch, mode, loss);
      const bytes = await encodePlan(planModel(g, { name: `decoder3d_${mode}` }));
      const s = await OnnxSession.create(bytes, {
        runtime: this.#options.runtime ?? "auto",
        threads: this.#options.threads,
      });
      this.runtime = `${s.runtime.backend}: ${s.runtime.reason}`;
      return s;
    };
    if (mode === "predict") return this.#predict ??= await build();
    const key = JSON.stringify(loss);
    if (this.#train?.key !== key) {
      await this.#train?.session.release();
      this.#train = { key, session: await build() };
    }
    return this.#train.session;
  }

  #feeds(crop: CropTensors): Record<string, { data: Float32Array; shape: number[] }> {
    const a = this.arch;
    const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, p] of this.#params) feeds[name] = { data: p.value, shape: p.shape };
    const g = crop.gridShapes;
    feeds[FEATURES] = { data: crop.features, shape: [1, a.featureChannels, ...crop.featureShape] };
    for (let s = 1; s < a.channels.length; s++) {
      const [d, h, w] = g[s];
      const [pd, ph, pw] = g[s - 1];
      if (d !== pd) {
        throw new RangeError(
          `Cannot run decoder3d on the CPU as stage grids must keep the depth: current depths are ${pd} and ${d}`,
        );
      }
      const m = crop.mappings[s - 1];
      feeds[skipName(s)] = { data: crop.skips[s - 1], shape: [1, a.imageChannels, d, h, w] };
      feeds[mapName("z", s)] = { data: axisMatrix(m, 0, pd, d), shape: [d, pd] };
      feeds[mapName("h", s)] = { data: axisMatrix(m, 1, ph, h), shape: [h, ph] };
      feeds[mapName("w", s)] = { data: axisMatrix(m, 2, pw, w), shape: [w, pw] };
    }
    return feeds;
  }

  async #run(crop: CropTensors, loss: SegLossOptions): Promise<SegLossValue> {
    this.#alive();
    if (!crop.labels) {
      throw new TypeError("Cannot train decoder3d on a crop as its labels must be given");
    }
    const last = crop.gridShapes.at(-1)!;
    const voxels = numel(last);
    const session = await this.#session("train", loss);
    const feeds = this.#feeds(crop);
    feeds[LABELS] = { data: crop.labels, shape: [1, 1, ...last] };
    feeds[CE_SCALE] = { data: new Float32Array([loss.ceWeight / voxels]), shape: [1] };
    const names = [...this.#params.keys()];
    const out = await session.run(feeds, [SUMS, ...names.map(gradName)]);
    this.#grads = Object.fromEntries(names.map((n) => [n, out[gradName(n)].data]));
    return segLossFromSums(out[SUMS].data, this.arch.numClasses, voxels, loss);
  }

  /** One training step on one crop: loss and gradients on onnxruntime, then AdamW on the host. */
  async trainStep(
    crop: CropTensors,
    lr: number,
    loss: SegLossOptions,
    weightDecay: number,
  ): Promise<SegLossValue> {
    const value = await this.#run(crop, loss);
    this.#step++;
    for (const [name, p] of this.#params) {
      adamwRef(p.value, this.#grads[name], p.m, p.v, { lr, step: this.#step, weightDecay });
    }
    return value;
  }

  /** The loss of one crop and every parameter gradient (read with `gradients()`), no update. */
  lossAndGradients(crop: CropTensors, loss: SegLossOptions): Promise<SegLossValue> {
    return this.#run(crop, loss);
  }

  /** The gradients of the last step, by name. */
  gradients(): Promise<Record<string, Float32Array>> {
    this.#alive();
    return Promise.resolve({ ...this.#grads });
  }

  /** Class probabilities `[K, d, H, W]` of one crop. */
  async predictCrop(crop: CropTensors): Promise<Float32Array> {
    this.#alive();
    const session = await this.#session("predict");
    return (await session.run(this.#feeds(crop), [PROBS]))[PROBS].data;
  }

  /** Copies of every parameter, by name. */
  parameters(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    this.#alive();
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, p] of this.#params) {
      out[name] = { shape: p.shape, data: Float32Array.from(p.value) };
    }
    return Promise.resolve(out);
  }

  #alive(): void {
    if (this.#disposed) throw new TypeError("Cannot use decoder3d as it was disposed");
  }

  /** Releases the onnxruntime sessions. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.#train?.session.release();
    void this.#predict?.release();
    this.#train = undefined;
    this.#predict = undefined;
  }
}

/**
 * ABMIL on the CPU at native speed: the forward pass, the bag-level
 * cross-entropy and the backward pass of one bag as one ONNX graph run by
 * onnxruntime's CPU kernels (MLAS GEMMs); the optimiser stays on the host.
 * Same formulas as {@linkcode abmilBackwardRef} (checked against it in the
 * tests), in float32:
 *
 * ```
 * h  = ReLU(X W1ᵀ + b1)              s = h VUᵀ + bVU = [sV | sU]
 * g  = tanh(sV) ⊙ σ(sU)              e = g w,  a = softmax_n(e)
 * z  = aᵀ h                           ŷ = z Cᵀ + c
 * dŷ = softmax(ŷ) − onehot(y)        dC = dŷᵀ z,  dz = dŷ C
 * da = h dzᵀ,  de = a ⊙ (da − aᵀda)   dh = a dz + ds VU
 * ds = [de wᵀ ⊙ σ(sU) ⊙ (1 − tanh²) | de wᵀ ⊙ tanh ⊙ σ(sU)(1 − σ(sU))]
 * dW1 = (dh ⊙ [h > 0])ᵀ X
 * ```
 *
 * @module
 */

import type { HostTensor } from "../../../core/tensor.ts";
import { encodePlan, GraphBuilder, planModel } from "../../encoders/onnx/proto.ts";
import { OnnxSession } from "../../encoders/onnx/session.ts";
import { ABMIL_TENSORS, type AbmilParams, abmilShapes } from "./abmil_ref.ts";

const BAG = "bag";
const ONEHOT = "onehot";
const LOSS = "loss";
const LOGITS = "logits";
const ATTENTION = "attention";
const gradName = (n: string) => `grad:${n}`;

/**
 * Builds the ABMIL graph for parameters of these sizes: inputs are the seven
 * parameters (by name), `bag [N, F]` and, for `"train"`, `onehot [1, K]`;
 * outputs `logits [1, K]`, `attention [N, 1]` and, for `"train"`, `loss
 * [1]` and `grad:<name>` of every parameter.
 */
export function buildAbmilGraph(
  p: Pick<AbmilParams, "f" | "l" | "d" | "k">,
  mode: "train" | "predict",
): GraphBuilder {
  const g = new GraphBuilder();
  const shapes = abmilShapes(p);
  for (const name of ABMIL_TENSORS) g.input(name, shapes[name]);
  g.input(BAG, ["n", p.f]);
  const op = (type: string, inputs: string[], attrs: Record<string, number | number[]> = {}) =>
    g.op(type, inputs, attrs);
  const i64 = (v: number[]) => g.constI64(v);
  const one = g.constF32([1], [1]);
  const h = op("Relu", [op("Gemm", [BAG, "w1", "b1"], { transB: 1 })]);
  const s = op("Gemm", [h, "vu", "bvu"], { transB: 1 });
  const [sv, su] = g.opN("Split", [s, i64([p.d, p.d])], 2, { axis: 1 });
  const v = op("Tanh", [sv]);
  const u = op("Sigmoid", [su]);
  const gate = op("Mul", [v, u]);
  const wCol = op("Reshape", ["w", i64([p.d, 1])]);
  const e = op("MatMul", [gate, wCol]);
  g.op("Softmax", [e], { axis: 0 }, ATTENTION);
  const a = ATTENTION;
  const z = op("MatMul", [op("Transpose", [a], { perm: [1, 0] }), h]);
  g.op("Gemm", [z, "c", "cb"], { transB: 1 }, LOGITS);
  g.output(LOGITS, [1, p.k]);
  g.output(ATTENTION, ["n", 1]);
  if (mode === "predict") return g;
  g.input(ONEHOT, [1, p.k]);
  const logp = op("LogSoftmax", [LOGITS], { axis: 1 });
  g.op("Neg", [op("ReduceSum", [op("Mul", [ONEHOT, logp]), i64([1])], { keepdims: 0 })], {}, LOSS);
  g.output(LOSS, [1]);
  const dlogits = op("Sub", [op("Softmax", [LOGITS], { axis: 1 }), ONEHOT]);
  const grads: Record<string, string> = {};
  grads.c = op("Gemm", [dlogits, z], { transA: 1 });
  grads.cb = op("Reshape", [dlogits, i64([p.k])]);
  const dz = op("MatMul", [dlogits, "c"]);
  const da = op("MatMul", [h, op("Transpose", [dz], { perm: [1, 0] })]);
  const ada = op("ReduceSum", [op("Mul", [a, da])], { keepdims: 1 });
  const de = op("Mul", [a, op("Sub", [da, ada])]);
  grads.w = op("Reshape", [op("Gemm", [de, gate], { transA: 1 }), i64([p.d])]);
  const dg = op("MatMul", [de, op("Reshape", ["w", i64([1, p.d])])]);
  const dsv = op("Mul", [op("Mul", [dg, u]), op("Sub", [one, op("Mul", [v, v])])]);
  const dsu = op("Mul", [op("Mul", [dg, gate]), op("Sub", [one, u])]);
  const ds = op("Concat", [dsv, dsu], { axis: 1 });
  grads.vu = op("Gemm", [ds, h], { transA: 1 });
  grads.bvu = op("ReduceSum", [ds, i64([0])], { keepdims: 0 });
  const dh = op("Add", [op("MatMul", [a, dz]), op("MatMul", [ds, "vu"])]);
  const zero = g.constF32([0], [1]);
  const dpre = op("Where", [op("Greater", [h, zero]), dh, zero]);
  grads.w1 = op("Gemm", [dpre, BAG], { transA: 1 });
  grads.b1 = op("ReduceSum", [dpre, i64([0])], { keepdims: 0 });
  for (const name of ABMIL_TENSORS) {
    g.op("Identity", [grads[name]], {}, gradName(name));
    g.output(gradName(name), shapes[name]);
  }
  return g;
}

/** Loss, gradients and forward values of one bag from {@linkcode AbmilCpu.step}. */
export interface AbmilCpuStep {
  /** Bag cross-entropy. */
  loss: number;
  /** Gradients by parameter name. */
  grads: Record<(typeof ABMIL_TENSORS)[number], Float32Array>;
}

/** ABMIL graphs on onnxruntime for one set of sizes (sessions are built on first use). */
export class AbmilCpu {
  readonly #sizes: Pick<AbmilParams, "f" | "l" | "d" | "k">;
  #train: OnnxSession | undefined;
  #predict: OnnxSession | undefined;
  /** `backend: reason` of the onnxruntime in use (once a session exists). */
  runtime = "";

  /** Sizes F, L, D, K of the parameters it will run. */
  constructor(sizes: Pick<AbmilParams, "f" | "l" | "d" | "k">) {
    this.#sizes = { f: sizes.f, l: sizes.l, d: sizes.d, k: sizes.k };
  }

  async #session(mode: "train" | "predict"): Promise<OnnxSession> {
    const existing = mode === "train" ? this.#train : this.#predict;
    if (existing) return existing;
    const bytes = await encodePlan(
      planModel(buildAbmilGraph(this.#sizes, mode), { name: `abmil_${mode}` }),
    );
    const s = await OnnxSession.create(bytes);
    this.runtime = `${s.runtime.backend}: ${s.runtime.reason}`;
    if (mode === "train") this.#train = s;
    else this.#predict = s;
    return s;
  }

  #feeds(p: AbmilParams, bag: HostTensor): Record<string, HostTensor> {
    const shapes = abmilShapes(p);
    const feeds: Record<string, HostTensor> = {};
    for (const name of ABMIL_TENSORS) feeds[name] = { data: p[name], shape: shapes[name] };
    feeds[BAG] = bag;
    return feeds;
  }

  /** Loss and gradients of one bag with class `y`. */
  async step(p: AbmilParams, bag: HostTensor, y: number): Promise<AbmilCpuStep> {
    const s = await this.#session("train");
    const onehot = new Float32Array(p.k);
    onehot[y] = 1;
    const feeds = this.#feeds(p, bag);
    feeds[ONEHOT] = { data: onehot, shape: [1, p.k] };
    const out = await s.run(feeds, [LOSS, ...ABMIL_TENSORS.map(gradName)]);
    const grads = Object.fromEntries(
      ABMIL_TENSORS.map((n) => [n, out[gradName(n)].data]),
    ) as AbmilCpuStep["grads"];
    return { loss: out[LOSS].data[0], grads };
  }

  /** Class logits `[K]` and attention weights `[N]` of one bag. */
  async forward(
    p: AbmilParams,
    bag: HostTensor,
  ): Promise<{ logits: Float32Array; attention: Float32Array }> {
    const s = await this.#session("predict");
    const out = await s.run(this.#feeds(p, bag), [LOGITS, ATTENTION]);
    return { logits: out[LOGITS].data, attention: out[ATTENTION].data };
  }

  /** Releases the sessions. */
  async release(): Promise<void> {
    await this.#train?.release();
    await this.#predict?.release();
    this.#train = undefined;
    this.#predict = undefined;
  }
}

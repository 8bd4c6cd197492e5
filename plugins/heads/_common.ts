/**
 * Private helpers shared by the heads: device choice (WebGPU or the CPU
 * references), seeded shuffling, option validation, target encoding and the
 * safetensors container of saved heads.
 *
 * @module
 */

import { type GpuContext, requestGpu } from "../../core/gpu.ts";
import { GpuUnavailableError } from "../../core/errors.ts";
import { shuffle } from "../../core/random.ts";
import { formatShape, type HostTensor } from "../../core/tensor.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  type SafetensorsDType,
  type TensorData,
  type TensorToWrite,
} from "../../core/safetensors.ts";
import { FormatError } from "../../core/errors.ts";

/** Where a head runs. */
export type HeadDevice = "webgpu" | "cpu";

/** What the caller asks for: `"auto"` uses WebGPU when an adapter exists, else the CPU. */
export type HeadDeviceRequest = "auto" | HeadDevice;

/** The device a head ended up on, and why. */
export interface ResolvedDevice {
  /** The device in use. */
  device: HeadDevice;
  /** The context when on WebGPU. */
  gpu?: GpuContext;
  /** True when the head requested the context itself (and destroys it on dispose). */
  owned: boolean;
  /** Why this device (recorded in the hyperparameters). */
  reason: string;
}

/**
 * Resolves the device of a head: an explicit context wins; `"cpu"` never
 * touches WebGPU; `"webgpu"` throws `GpuUnavailableError` without an
 * adapter; `"auto"` falls back to the CPU references and says why. With
 * `cpuOnSoftware` (heads whose CPU path runs at native speed), `"auto"`
 * also takes the CPU on a software adapter, supplied or found
 * ({@linkcode chooseTrainingBackend}).
 */
export async function resolveDevice(
  request: HeadDeviceRequest,
  gpu: GpuContext | undefined,
  cpuOnSoftware = false,
): Promise<ResolvedDevice> {
  if (request === "cpu") return { device: "cpu", owned: false, reason: "requested" };
  if (cpuOnSoftware && request === "auto") {
    const r = await resolveTrainingBackend("auto", gpu);
    return r.backend === "cpu"
      ? { device: "cpu", owned: false, reason: r.reason }
      : { device: "webgpu", gpu: r.gpu, owned: r.owned, reason: r.reason };
  }
  if (gpu) return { device: "webgpu", gpu, owned: false, reason: "context supplied" };
  try {
    const ctx = await requestGpu();
    return { device: "webgpu", gpu: ctx, owned: true, reason: ctx.info.description || "adapter" };
  } catch (e) {
    if (request === "webgpu" || !(e instanceof GpuUnavailableError)) throw e;
    return {
      device: "cpu",
      owned: false,
      reason: `no WebGPU adapter, CPU references used: ${e.message.split(".")[0]}`,
    };
  }
}

/**
 * The device of a head: resolved on first use ({@linkcode resolveDevice}
 * with the head's request and pinned context), reported in its
 * hyperparameters, and released on dispose when the head requested the
 * context itself; a later use resolves it again.
 */
export class LazyDevice {
  readonly #request: HeadDeviceRequest;
  readonly #gpu: GpuContext | undefined;
  readonly #cpuOnSoftware: boolean;
  #resolved: ResolvedDevice | undefined;

  /**
   * `gpu` pins the WebGPU context (it is never destroyed here);
   * `cpuOnSoftware` as in {@linkcode resolveDevice}.
   */
  constructor(request: HeadDeviceRequest, gpu?: GpuContext, cpuOnSoftware = false) {
    this.#request = request;
    this.#gpu = gpu;
    this.#cpuOnSoftware = cpuOnSoftware;
  }

  /** The device in use, once resolved. */
  get device(): HeadDevice | undefined {
    return this.#resolved?.device;
  }

  /** `device` and `deviceReason` for the hyperparameters, once resolved (else none). */
  get fields(): { device?: HeadDevice; deviceReason?: string } {
    return this.#resolved
      ? { device: this.#resolved.device, deviceReason: this.#resolved.reason }
      : {};
  }

  /** The resolved device, resolving it on first use. */
  async resolve(): Promise<ResolvedDevice> {
    this.#resolved ??= await resolveDevice(this.#request, this.#gpu, this.#cpuOnSoftware);
    return this.#resolved;
  }

  /** Destroys the context when it was requested here, and forgets the device. */
  dispose(): void {
    if (this.#resolved?.owned) this.#resolved.gpu?.destroy();
    this.#resolved = undefined;
  }
}

/** A Fisher–Yates permutation of `0..n-1` drawn from `rng`. */
export function permutation(n: number, rng: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffle(p, rng);
}

/** PyTorch `nn.Linear` initialisation: weight and bias uniform in ±1/√fanIn. */
export function initLinear(
  k: number,
  f: number,
  rng: () => number,
): { weight: Float32Array; bias: Float32Array } {
  const bound = 1 / Math.sqrt(f);
  const weight = new Float32Array(k * f);
  const bias = new Float32Array(k);
  for (let i = 0; i < weight.length; i++) weight[i] = (rng() * 2 - 1) * bound;
  for (let i = 0; i < k; i++) bias[i] = (rng() * 2 - 1) * bound;
  return { weight, bias };
}

/**
 * Upper bounds of count-like head options: larger values can only be
 * mistakes (`--head-options '{"epochs":1e9}'` would train until killed).
 */
export const HEAD_OPTION_MAXIMA: Readonly<Record<string, number>> = {
  epochs: 100_000,
  minSteps: 10_000_000,
  maxSteps: 10_000_000,
  steps: 10_000_000,
  patience: 100_000,
  cropsPerEpoch: 1_000_000,
  batchSize: 1_048_576,
  hiddenDim: 65_536,
  attentionDim: 65_536,
  k: 1_000_000,
};

/** Option checks shared by the heads' factories (with {@linkcode HEAD_OPTION_MAXIMA}). */
export function checkNumber(
  head: string,
  name: string,
  value: unknown,
  ok: (v: number) => boolean,
  what: string,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new RangeError(
      `Cannot create the ${head} head as ${name} must be ${what}: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  const max = HEAD_OPTION_MAXIMA[name];
  if (max !== undefined && value > max) {
    throw new RangeError(
      `Cannot create the ${head} head as ${name} must be at most ${max} (a larger value can only be a mistake): current value is ${value}`,
    );
  }
  return value;
}

/** Checks that a string option is one of `choices`. */
export function checkChoice<T extends string>(
  head: string,
  name: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (typeof value !== "string" || !choices.includes(value as T)) {
    throw new TypeError(
      `Cannot create the ${head} head as ${name} must be one of ${
        choices.map((c) => `"${c}"`).join(", ")
      }: current value is ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Rejects option names a head does not know (typos would silently do nothing). */
export function checkKnownOptions(
  head: string,
  options: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot create the ${head} head as option "${key}" is unknown: known options are ${
          known.join(", ")
        }`,
      );
    }
  }
}

/** Checks a feature matrix `[N, F]` (finite values) and returns `[N, F]`. */
export function checkFeatures(
  op: string,
  x: HostTensor,
  features?: number,
): [number, number] {
  if (!x || !(x.data instanceof Float32Array) || x.shape.length !== 2) {
    throw new TypeError(
      `Cannot run ${op} as features must be a [N, F] float32 tensor: current shape is ${
        x?.shape ? formatShape(x.shape) : String(x)
      }`,
    );
  }
  const [n, f] = x.shape;
  if (n < 1 || f < 1 || x.data.length !== n * f) {
    throw new RangeError(
      `Cannot run ${op} as features must be a non-empty [N, F] tensor with N·F values: current shape is ${
        formatShape(x.shape)
      } with ${x.data.length} values`,
    );
  }
  if (features !== undefined && f !== features) {
    throw new TypeError(
      `Cannot run ${op} as features must have shape [*, ${features}]: current shape is ${
        formatShape(x.shape)
      }`,
    );
  }
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      throw new RangeError(
        `Cannot run ${op} as features must be finite: value ${x.data[i]} at row ${
          Math.floor(i / f)
        }, column ${i % f}`,
      );
    }
  }
  return [n, f];
}

/** The learning problem of a classification head. */
export type ClassificationTask = "binary" | "multilabel" | "multiclass";

/**
 * Encodes targets as an `[N, K]` float32 matrix: 0/1 labels for binary and
 * multi-label (`[N]` or `[N, K]` given), one-hot rows for multi-class
 * (class indices `[N]` or `[N, 1]` given). Returns the matrix and K.
 */
export function encodeTargets(
  op: string,
  task: ClassificationTask,
  y: HostTensor,
  n: number,
  numClasses?: number,
): { targets: Float32Array; k: number } {
  if (!y || !(y.data instanceof Float32Array)) {
    throw new TypeError(`Cannot run ${op} as targets must be a float32 tensor`);
  }
  const flat = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
  if (y.shape[0] !== n || y.shape.length > 2 || y.data.length % n !== 0) {
    throw new TypeError(
      `Cannot run ${op} as targets must have ${n} rows like the features: current shape is ${
        formatShape(y.shape)
      }`,
    );
  }
  if (task === "multiclass") {
    if (!flat) {
      throw new TypeError(
        `Cannot run ${op} as multiclass targets must be class indices [N]: current shape is ${
          formatShape(y.shape)
        }`,
      );
    }
    let max = -1;
    for (const v of y.data) {
      if (!Number.isInteger(v) || v < 0) {
        throw new RangeError(
          `Cannot run ${op} as class indices must be non-negative integers: current value is ${v}`,
        );
      }
      max = Math.max(max, v);
    }
    const k = numClasses ?? Math.max(2, max + 1);
    if (max >= k) {
      throw new RangeError(
        `Cannot run ${op} as class indices must be below numClasses (${k}): current maximum is ${max}`,
      );
    }
    const targets = new Float32Array(n * k);
    for (let r = 0; r < n; r++) targets[r * k + y.data[r]] = 1;
    return { targets, k };
  }
  const k = y.data.length / n;
  if (task === "binary" && k !== 1) {
    throw new TypeError(
      `Cannot run ${op} as binary targets must have shape [N] or [N, 1]: current shape is ${
        formatShape(y.shape)
      }`,
    );
  }
  for (const v of y.data) {
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(
        `Cannot run ${op} as ${task} targets must lie in [0, 1]: current value is ${v}`,
      );
    }
  }
  return { targets: new Float32Array(y.data), k };
}

/** The `__metadata__` key naming the head in a saved file. */
export const HEAD_METADATA_KEY = "medprobe.head";

/** Encodes a head's tensors with its name, format version and JSON state. */
export function encodeHead(
  name: string,
  tensors: Record<string, TensorToWrite>,
  state: Record<string, unknown>,
): Uint8Array {
  return encodeSafetensors(tensors, {
    [HEAD_METADATA_KEY]: name,
    "format_version": "1",
    "state": JSON.stringify(state),
  });
}

/** A decoded head file. */
export interface DecodedHead {
  /** Tensors by name. */
  tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; data: TensorData }>;
  /** The JSON state written by {@linkcode encodeHead}. */
  state: Record<string, unknown>;
}

/** Decodes a head file, checking that it holds the named head. */
export function decodeHead(
  name: string,
  bytes: Uint8Array,
  required: readonly string[],
): DecodedHead {
  const { tensors, metadata } = parseSafetensors(bytes, `<${name} head>`);
  if (metadata[HEAD_METADATA_KEY] !== name) {
    throw new FormatError(
      `Cannot load the ${name} head as the file must hold a "${name}" head: current value of ${HEAD_METADATA_KEY} is ${
        JSON.stringify(metadata[HEAD_METADATA_KEY])
      }`,
      { path: `<${name} head>` },
    );
  }
  for (const t of required) {
    if (!tensors[t] || tensors[t].dtype !== "F32") {
      throw new FormatError(
        `Cannot load the ${name} head as tensor "${t}" (F32) is missing`,
        { path: `<${name} head>` },
      );
    }
  }
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(metadata.state ?? "{}");
  } catch (cause) {
    throw new FormatError(`Cannot load the ${name} head as its state is not valid JSON`, {
      path: `<${name} head>`,
      cause,
    });
  }
  return { tensors, state };
}

/** A fresh copy of an F32 tensor's data from a decoded file. */
export function f32Copy(t: { data: TensorData }): Float32Array {
  return new Float32Array(t.data as Float32Array);
}

/** Throws the abort reason when a signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason ?? new DOMException("The fit was aborted", "AbortError");
  }
}

/** Where a trainable head runs its training: `"auto"` picks the fast one for the machine. */
export type TrainingBackendRequest = "auto" | "webgpu" | "cpu";

/** The training backend a head uses, and why (recorded in its hyperparameters). */
export interface TrainingBackendChoice {
  /** `"webgpu"` (WGSL kernels) or `"cpu"` (onnxruntime's native CPU kernels). */
  backend: "webgpu" | "cpu";
  /** One sentence for result records. */
  reason: string;
}

/**
 * Chooses a head's training backend like the encoder backend: `"auto"`
 * takes WebGPU on a hardware adapter and the native CPU path on a software
 * adapter (llvmpipe runs the WGSL kernels 20–60× slower than onnxruntime's
 * CPU kernels) or without one (`adapter` undefined).
 *
 * @example
 * ```ts
 * import { chooseTrainingBackend } from "./_common.ts";
 * import assert from "node:assert/strict";
 * const sw = { description: "llvmpipe (LLVM 15.0.6, 256 bits)", isSoftware: true };
 * assert.equal(chooseTrainingBackend("auto", sw).backend, "cpu");
 * assert.equal(chooseTrainingBackend("auto", undefined).backend, "cpu");
 * assert.equal(chooseTrainingBackend("auto", { description: "NVIDIA H100", isSoftware: false }).backend, "webgpu");
 * assert.equal(chooseTrainingBackend("webgpu", sw).backend, "webgpu");
 * ```
 */
export function chooseTrainingBackend(
  request: TrainingBackendRequest,
  adapter: { description: string; isSoftware: boolean } | undefined,
): TrainingBackendChoice {
  const name = adapter ? `"${adapter.description || "unnamed adapter"}"` : "";
  if (request === "cpu") {
    return { backend: "cpu", reason: "requested backend cpu (onnxruntime's CPU kernels)" };
  }
  if (request === "webgpu") {
    return {
      backend: "webgpu",
      reason: adapter?.isSoftware
        ? `requested backend webgpu on software adapter ${name} (slow: the cpu backend is faster here)`
        : `requested backend webgpu${adapter ? ` on ${name}` : ""}`,
    };
  }
  if (request !== "auto") {
    throw new TypeError(
      `Cannot choose the training backend as it must be "auto", "webgpu" or "cpu": current value is "${request}"`,
    );
  }
  if (!adapter) {
    return { backend: "cpu", reason: "auto: no WebGPU adapter, so onnxruntime's CPU kernels" };
  }
  if (adapter.isSoftware) {
    return {
      backend: "cpu",
      reason:
        `auto: ${name} is a software adapter, so onnxruntime's native CPU kernels (far faster than WGSL on it)`,
    };
  }
  return { backend: "webgpu", reason: `auto: hardware adapter ${name}` };
}

/**
 * Resolves a training backend: uses `gpu` when given, else requests an
 * adapter when the request may need one; a context requested here and not
 * used is destroyed. `"webgpu"` without an adapter throws
 * `GpuUnavailableError`.
 */
export async function resolveTrainingBackend(
  request: TrainingBackendRequest,
  gpu: GpuContext | undefined,
): Promise<TrainingBackendChoice & { gpu?: GpuContext; owned: boolean }> {
  if (request === "cpu") return { ...chooseTrainingBackend("cpu", gpu?.info), owned: false };
  let ctx = gpu;
  let owned = false;
  if (!ctx) {
    try {
      ctx = await requestGpu();
      owned = true;
    } catch (e) {
      if (request === "webgpu" || !(e instanceof GpuUnavailableError)) throw e;
    }
  }
  const choice = chooseTrainingBackend(request, ctx?.info);
  if (choice.backend === "cpu") {
    if (owned) ctx?.destroy();
    return { ...choice, owned: false };
  }
  return { ...choice, gpu: ctx, owned };
}

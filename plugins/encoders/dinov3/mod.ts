/**
 * The DINOv3 ViT encoder plugins: `dinov3` (any Hugging Face `config.json`)
 * and the presets `dinov3-vits16`, `dinov3-vitb16`, `dinov3-vitl16` (the
 * LVD-1689M models; their `config.json` must match). Weights come from a
 * Hugging Face folder (`config.json` + `model.safetensors`, or shards with
 * an index; F32, F16 or BF16), every tensor name and shape checked on load.
 *
 * Backends (`backend` option, chosen and explained by `chooseBackend`):
 * `"webgpu"` runs medprobe's WGSL kernels ({@linkcode dinov3Forward});
 * `"onnx"` delegates to the ONNX backend (`plugins/encoders/onnx`, imported
 * only when chosen); `"auto"` picks WebGPU on hardware adapters and ONNX on
 * software ones or without an adapter. {@linkcode createDinov3ReferenceEncoder}
 * runs the plain-TypeScript reference forward on the CPU (slow, exact).
 *
 * Preprocessing is ImageNet mean/std on [0, 1] RGB, NCHW, sides multiples
 * of 16 (`core/image.ts` does it: antialiased bilinear resize, grey → RGB).
 * Outputs: normalised CLS `[B, C]`, registers `[B, 4, C]`, patch tokens
 * `[B, h, w, C]`, their mean `[B, C]`, and optionally chosen blocks'
 * outputs before the final norm `[B, N, C]`. `encode` reads them back;
 * the WebGPU encoder's `encodeToGpu` leaves them on the GPU. Batches of any
 * size are split to respect `maxStorageBufferBindingSize`.
 *
 * Precision: f32. `precision: "f16"` is refused: with a clear error when
 * the adapter lacks `shader-f16`, and otherwise because the f16 activation
 * path is not implemented yet.
 *
 * Reading weights uses `Deno.*` (needs `--allow-read`).
 *
 * @example Encoding a batch on WebGPU
 * ```ts ignore
 * import { createDinov3Encoder } from "./mod.ts";
 * const encoder = await createDinov3Encoder({ weights: "weights/dinov3-vits16", backend: "webgpu" });
 * const px = { data: new Float32Array(2 * 3 * 224 * 224), shape: [2, 3, 224, 224] };
 * const { cls, patches, patchMean } = await encoder.encode(px); // [2, 384], [2, 14, 14, 384], [2, 384]
 * encoder.dispose();
 * ```
 *
 * @module
 */

import { GpuUnavailableError } from "../../../core/errors.ts";
import { type GpuContext, type GpuTensor, requestGpu } from "../../../core/gpu.ts";
import { IMAGENET_PREPROCESS } from "../../../core/image.ts";
import type {
  EncodeOptions,
  Encoder,
  EncoderCreateOptions,
  EncoderInfo,
  EncoderOutput,
  EncoderPlugin,
  PreprocessSpec,
} from "../../../core/plugin.ts";
import { formatShape, type HostTensor, numel } from "../../../core/tensor.ts";
import { BufferPool } from "../../../kernels/_runtime.ts";
import { type BackendRequest, chooseBackend } from "../backend.ts";
import {
  DINOV3_HF_REPOS,
  DINOV3_PRESETS,
  type Dinov3Config,
  matchPreset,
  parseDinov3Config,
} from "./config.ts";
import {
  dinov3Forward,
  type Dinov3GpuOutput,
  type Dinov3GpuWeights,
  dinov3MaxBatch,
  uploadDinov3Weights,
} from "./forward.ts";
import { dinov3ForwardRef, splitTokens } from "./forward_ref.ts";
import {
  type Dinov3Weights,
  loadDinov3Weights,
  openDinov3Checkpoint,
  streamDinov3Tensors,
} from "./weights.ts";

export {
  DINOV3_HF_REPOS,
  DINOV3_PRESETS,
  type Dinov3Config,
  matchPreset,
  parseDinov3Config,
} from "./config.ts";
export {
  BufferPool,
  dinov3ActivationBytesPerImage,
  dinov3Flops,
  dinov3Forward,
  type Dinov3ForwardOptions,
  type Dinov3GpuLayer,
  type Dinov3GpuOutput,
  type Dinov3GpuWeights,
  dinov3MaxBatch,
  type Dinov3MemoryEstimate,
  dinov3MemoryEstimate,
  dinov3WeightBytes,
  uploadDinov3Weights,
} from "./forward.ts";
export {
  dinov3BlockRef,
  dinov3ForwardRef,
  type Dinov3RefOutputs,
  fuseQkv,
  splitTokens,
} from "./forward_ref.ts";
export {
  assembleWeights,
  type Dinov3BlockWeights,
  type Dinov3Checkpoint,
  type Dinov3Weights,
  expectedTensors,
  loadDinov3Weights,
  openDinov3Checkpoint,
  randomDinov3Tensors,
  streamDinov3Tensors,
  writeRandomDinov3,
} from "./weights.ts";

/** The plugin's own version, recorded in result records. */
export const DINOV3_PLUGIN_VERSION = "0.1.0";

/** Options of {@linkcode createDinov3Encoder}. */
export interface Dinov3EncoderOptions extends EncoderCreateOptions {
  /** A Hugging Face weights folder (`config.json` + `model.safetensors` or shards). */
  weights?: string;
  /** Which backend runs the model. @default {"auto"} */
  backend?: BackendRequest;
  /** Activation precision; only `"f32"` is implemented. @default {"f32"} */
  precision?: "f32" | "f16";
  /** A preset the config must match (`"dinov3-vits16"`, ...). */
  preset?: string;
  /** Encoder id in result records. @default {the matching preset, else "dinov3"} */
  name?: string;
  /** A WebGPU context to use (it stays open on dispose); requested when absent. */
  gpu?: GpuContext;
  /** Largest batch of one forward pass (the device limit applies anyway). */
  maxBatch?: number;
  /** ONNX backend only: blocks whose outputs `encode` may return (fixed when the graph is built). */
  intermediateLayers?: readonly number[];
}

/** A DINOv3 encoder on WebGPU, with results that can stay on the GPU. */
export interface Dinov3WebGpuEncoder extends Encoder {
  /** The model config. */
  readonly config: Dinov3Config;
  /** The device. */
  readonly gpu: GpuContext;
  /** The uploaded weights. */
  readonly weights: Dinov3GpuWeights;
  /** The activation pool (its `peakBytes` is the activation high-water mark). */
  readonly pool: BufferPool;
  /** The most images one forward pass takes at a size on this device. */
  maxBatch(height: number, width: number): number;
  /**
   * Runs one forward pass and leaves the outputs on the GPU; the batch must
   * fit {@linkcode Dinov3WebGpuEncoder.maxBatch}. Call `release()` on the
   * result when done.
   */
  encodeToGpu(
    pixelValues: HostTensor | GpuTensor,
    options?: EncodeOptions & { keepEmbeddings?: boolean },
  ): Promise<Dinov3GpuOutput>;
}

function preprocessFor(config: Dinov3Config): PreprocessSpec {
  return {
    ...IMAGENET_PREPROCESS,
    sizeMultiple: config.patchSize,
    defaultSize: config.imageSize,
  };
}

function checkPixels(config: Dinov3Config, px: { shape: readonly number[] }): number[] {
  const [B, CH, H, W] = px.shape;
  if (px.shape.length !== 4 || CH !== config.channels || B < 1) {
    throw new TypeError(
      `Cannot encode as pixel values must have shape [B, ${config.channels}, H, W]: current shape is ${
        formatShape(px.shape)
      }`,
    );
  }
  if (H < config.patchSize || W < config.patchSize) {
    throw new RangeError(
      `Cannot encode as images must be at least ${config.patchSize}×${config.patchSize} pixels: current size is ${H}×${W}`,
    );
  }
  return [B, CH, H, W];
}

function sliceBatch(px: HostTensor, start: number, count: number): HostTensor {
  const per = numel(px.shape.slice(1));
  return {
    data: px.data.subarray(start * per, (start + count) * per),
    shape: [count, ...px.shape.slice(1)],
  };
}

/** Concatenates host tensors along axis 0. */
function concat(parts: HostTensor[]): HostTensor {
  if (parts.length === 1) return parts[0];
  const data = new Float32Array(parts.reduce((s, p) => s + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [parts.reduce((s, p) => s + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}

/** Splits B images into balanced chunks of at most `max`. */
export function planChunks(batch: number, max: number): number[] {
  if (!(max >= 1)) {
    throw new RangeError(
      `Cannot split the batch as at least one image must fit the device: current limit is ${max}`,
    );
  }
  const chunks = Math.ceil(batch / max);
  const size = Math.ceil(batch / chunks);
  const out: number[] = [];
  for (let done = 0; done < batch; done += size) out.push(Math.min(size, batch - done));
  return out;
}

/** Runs `encodeChunk` over balanced chunks and concatenates the outputs. */
async function encodeInChunks(
  px: HostTensor,
  max: number,
  encodeChunk: (chunk: HostTensor) => Promise<EncoderOutput>,
): Promise<EncoderOutput> {
  const outs: EncoderOutput[] = [];
  let start = 0;
  for (const n of planChunks(px.shape[0], max)) {
    outs.push(await encodeChunk(sliceBatch(px, start, n)));
    start += n;
  }
  const layers = outs[0].intermediates?.length ?? 0;
  return {
    cls: concat(outs.map((o) => o.cls)),
    registers: concat(outs.map((o) => o.registers)),
    patches: concat(outs.map((o) => o.patches)),
    patchMean: concat(outs.map((o) => o.patchMean)),
    ...(outs[0].intermediates
      ? {
        intermediates: Array.from(
          { length: layers },
          (_, i) => concat(outs.map((o) => o.intermediates![i])),
        ),
      }
      : {}),
  };
}

class WebGpuDinov3Encoder implements Dinov3WebGpuEncoder {
  readonly info: EncoderInfo;
  readonly preprocess: PreprocessSpec;
  readonly config: Dinov3Config;
  readonly gpu: GpuContext;
  readonly weights: Dinov3GpuWeights;
  readonly pool: BufferPool;
  #ownsGpu: boolean;
  #maxBatch: number | undefined;
  #disposed = false;

  constructor(
    gpu: GpuContext,
    weights: Dinov3GpuWeights,
    info: EncoderInfo,
    ownsGpu: boolean,
    maxBatch: number | undefined,
  ) {
    this.gpu = gpu;
    this.weights = weights;
    this.config = weights.config;
    this.info = info;
    this.preprocess = preprocessFor(weights.config);
    this.pool = new BufferPool(gpu);
    this.#ownsGpu = ownsGpu;
    this.#maxBatch = maxBatch;
  }

  maxBatch(height: number, width: number): number {
    const device = dinov3MaxBatch(this.config, height, width, this.gpu.limits);
    return Math.min(device, this.#maxBatch ?? device);
  }

  #live(action: string): void {
    if (this.#disposed) throw new TypeError(`Cannot ${action} as the encoder was disposed`);
  }

  async encodeToGpu(
    pixelValues: HostTensor | GpuTensor,
    options: EncodeOptions & { keepEmbeddings?: boolean } = {},
  ): Promise<Dinov3GpuOutput> {
    this.#live("encode");
    const [B, , H, W] = checkPixels(this.config, pixelValues);
    const max = this.maxBatch(H, W);
    if (B > max) {
      throw new RangeError(
        `Cannot encode on the GPU in one pass as the batch must be at most ${max} images at ${H}×${W}: current batch is ${B}; use encode(), which splits`,
      );
    }
    let pixels: GpuTensor;
    let staged: GPUBuffer | undefined;
    if ("buffer" in pixelValues) {
      pixels = pixelValues;
    } else {
      staged = this.pool.acquire(pixelValues.data.byteLength, "dinov3:pixels");
      this.gpu.write(staged, pixelValues.data);
      pixels = { buffer: staged, shape: [...pixelValues.shape], dtype: "f32" };
    }
    try {
      return await dinov3Forward(this.gpu, this.weights, pixels, {
        pool: this.pool,
        intermediateLayers: options.intermediateLayers,
        keepEmbeddings: options.keepEmbeddings,
      });
    } finally {
      if (staged) this.pool.release(staged);
    }
  }

  async encode(pixelValues: HostTensor, options: EncodeOptions = {}): Promise<EncoderOutput> {
    this.#live("encode");
    const [, , H, W] = checkPixels(this.config, pixelValues);
    return await encodeInChunks(pixelValues, this.maxBatch(H, W), async (chunk) => {
      const out = await this.encodeToGpu(chunk, options);
      try {
        const tokens = await this.gpu.readTensor(out.lastHiddenState);
        const split = splitTokens(tokens, this.config.numRegisters, out.grid);
        const patchMean = await this.gpu.readTensor(out.patchMean);
        const intermediates = [];
        for (const t of out.intermediates) intermediates.push(await this.gpu.readTensor(t));
        return {
          cls: split.cls,
          registers: split.registers,
          patches: split.patchTokens,
          patchMean,
          ...(options.intermediateLayers ? { intermediates } : {}),
        };
      } finally {
        out.release();
      }
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.weights.destroy();
    this.pool.trim();
    if (this.#ownsGpu) this.gpu.destroy();
  }
}

async function readConfig(dir: string): Promise<Dinov3Config> {
  const root = dir.replace(/\/+$/, "");
  let text: string;
  try {
    text = await Deno.readTextFile(`${root}/config.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot open DINOv3 weights as ${root}/config.json is missing: a weights folder holds config.json and model.safetensors, as downloaded from Hugging Face (e.g. ${
          DINOV3_HF_REPOS["dinov3-vits16"]
        })`,
        { cause: e },
      );
    }
    throw e;
  }
  return parseDinov3Config(JSON.parse(text));
}

function checkPreset(config: Dinov3Config, preset: string | undefined, dir: string): void {
  if (preset === undefined) return;
  if (!(preset in DINOV3_PRESETS)) {
    throw new TypeError(
      `Cannot create DINOv3 encoder as preset must be one of ${
        Object.keys(DINOV3_PRESETS).map((p) => `"${p}"`).join(", ")
      }: current value is "${preset}"`,
    );
  }
  const found = matchPreset(config);
  if (found !== preset) {
    throw new TypeError(
      `Cannot create ${preset} encoder as ${dir}/config.json describes ${
        found ?? `another model (dim ${config.dim}, depth ${config.depth}, heads ${config.heads})`
      }: use the "dinov3" plugin for any config, or the weights of ${DINOV3_HF_REPOS[preset]}`,
    );
  }
}

function checkOptions(options: Dinov3EncoderOptions): string {
  if (typeof options.weights !== "string" || options.weights === "") {
    throw new TypeError(
      `Cannot create DINOv3 encoder as options.weights must name a folder with config.json and model.safetensors (e.g. from ${
        DINOV3_HF_REPOS["dinov3-vits16"]
      }): current value is ${JSON.stringify(options.weights)}`,
    );
  }
  const precision = options.precision ?? "f32";
  if (precision !== "f32" && precision !== "f16") {
    throw new TypeError(
      `Cannot create DINOv3 encoder as precision must be "f32" or "f16": current value is ${
        JSON.stringify(precision)
      }`,
    );
  }
  if (
    options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch > 0)
  ) {
    throw new RangeError(
      `Cannot create DINOv3 encoder as maxBatch must be a positive integer: current value is ${options.maxBatch}`,
    );
  }
  return options.weights;
}

/** Refuses f16 with a clear reason (missing feature, or the path is not implemented). */
export function checkPrecision(
  precision: "f32" | "f16",
  gpu: { hasF16: boolean } | undefined,
): void {
  if (precision === "f32") return;
  if (!gpu?.hasF16) {
    throw new GpuUnavailableError(
      'Cannot use precision "f16" as the WebGPU adapter lacks the "shader-f16" feature (software adapters such as llvmpipe never have it): use precision "f32"',
    );
  }
  throw new RangeError(
    'Cannot use precision "f16" as the f16 activation path is not implemented yet (the adapter has "shader-f16"): use precision "f32"',
  );
}

/**
 * Creates a DINOv3 encoder from a Hugging Face weights folder on the chosen
 * backend. On `"onnx"` (chosen, or picked by `"auto"`) it imports the ONNX
 * backend on demand and delegates to its `createDinov3OnnxEncoder`.
 *
 * @throws {GpuUnavailableError} for `backend: "webgpu"` without an adapter, or f16 without `shader-f16`.
 */
export async function createDinov3Encoder(options: Dinov3EncoderOptions): Promise<Encoder> {
  const dir = checkOptions(options);
  const config = await readConfig(dir);
  checkPreset(config, options.preset, dir);
  const request = options.backend ?? "auto";
  let gpu = options.gpu;
  const ownsGpu = gpu === undefined;
  if (!gpu && request !== "onnx") {
    try {
      gpu = await requestGpu();
    } catch (e) {
      if (!(e instanceof GpuUnavailableError) || request === "webgpu") throw e;
    }
  }
  const choice = chooseBackend(request, gpu?.info);
  if (choice.backend === "onnx") {
    if (ownsGpu) gpu?.destroy();
    if ((options.precision ?? "f32") !== "f32") {
      throw new RangeError(
        'Cannot use precision "f16" on the ONNX backend: it runs in f32; use precision "f32"',
      );
    }
    const onnx = await import("./onnx.ts");
    return await onnx.createDinov3OnnxEncoder(dir, {
      backendReason: choice.reason,
      name: options.name ?? options.preset,
      intermediateLayers: options.intermediateLayers,
      maxBatch: options.maxBatch,
    });
  }
  if (!gpu) {
    throw new GpuUnavailableError("Cannot run DINOv3 on WebGPU as no adapter was found");
  }
  try {
    checkPrecision(options.precision ?? "f32", gpu);
    return await createDinov3WebGpuEncoder(gpu, dir, {
      name: options.name ?? options.preset,
      backendReason: choice.reason,
      maxBatch: options.maxBatch,
      ownsGpu,
    });
  } catch (e) {
    if (ownsGpu) gpu.destroy();
    throw e;
  }
}

/**
 * Creates the WebGPU encoder on a given device: opens and checks the
 * checkpoint and uploads it one tensor at a time (the host never holds the
 * whole model).
 */
export async function createDinov3WebGpuEncoder(
  gpu: GpuContext,
  weightsDir: string,
  options: { name?: string; backendReason?: string; maxBatch?: number; ownsGpu?: boolean } = {},
): Promise<Dinov3WebGpuEncoder> {
  const opened = await openDinov3Checkpoint(weightsDir);
  let weights: Dinov3GpuWeights;
  try {
    weights = await uploadDinov3Weights(
      gpu,
      opened.config,
      (use) => streamDinov3Tensors(opened.checkpoint, opened.config, use),
    );
  } finally {
    opened.checkpoint.close();
  }
  const config = opened.config;
  return new WebGpuDinov3Encoder(
    gpu,
    weights,
    {
      id: options.name ?? matchPreset(config) ?? "dinov3",
      backend: "webgpu",
      backendReason: options.backendReason ?? `WebGPU on "${gpu.info.description}"`,
      dim: config.dim,
      patchSize: config.patchSize,
      numRegisters: config.numRegisters,
      weightsSha256: opened.sha256,
      precision: "f32",
    },
    options.ownsGpu ?? false,
    options.maxBatch,
  );
}

/**
 * An encoder running the plain-TypeScript reference forward on the CPU
 * (`backend: "cpu-reference"`): exact (f64 accumulation) and slow
 * (seconds per ViT-S image); for checks and machines without WebGPU or
 * onnxruntime.
 */
export async function createDinov3ReferenceEncoder(
  weightsDir: string,
  options: { name?: string } = {},
): Promise<Encoder> {
  const opened = await openDinov3Checkpoint(weightsDir);
  let weights: Dinov3Weights;
  try {
    weights = await loadDinov3Weights(opened.checkpoint, opened.config);
  } finally {
    opened.checkpoint.close();
  }
  const config = opened.config;
  return {
    info: {
      id: options.name ?? matchPreset(config) ?? "dinov3",
      backend: "cpu-reference",
      backendReason: "plain TypeScript reference forward on the CPU",
      dim: config.dim,
      patchSize: config.patchSize,
      numRegisters: config.numRegisters,
      weightsSha256: opened.sha256,
      precision: "f32",
    },
    preprocess: preprocessFor(config),
    // deno-lint-ignore require-await
    async encode(pixelValues: HostTensor, encodeOptions: EncodeOptions = {}) {
      checkPixels(config, pixelValues);
      const layers = encodeOptions.intermediateLayers;
      for (const i of layers ?? []) {
        if (!Number.isInteger(i) || i < 0 || i >= config.depth) {
          throw new RangeError(
            `Cannot encode as intermediate layers must lie in [0, ${config.depth}): current value is ${i}`,
          );
        }
      }
      const out = dinov3ForwardRef(weights, pixelValues);
      return {
        cls: out.cls,
        registers: out.registers,
        patches: out.patchTokens,
        patchMean: out.patchMean,
        ...(layers ? { intermediates: layers.map((i) => out.blocks[i]) } : {}),
      };
    },
    dispose() {},
  };
}

/**
 * Creates a DINOv3 encoder plugin: generic (any `config.json`) without a
 * preset, or bound to a preset whose geometry the weights must match.
 *
 * @example
 * ```ts
 * import { createDinov3Plugin } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const p = createDinov3Plugin("dinov3-vitb16");
 * assert.equal(p.name, "dinov3-vitb16");
 * assert.equal(p.kind, "encoder");
 * assert.throws(() => createDinov3Plugin("dinov3-vitg14"), TypeError);
 * ```
 */
export function createDinov3Plugin(preset?: string): EncoderPlugin {
  if (preset !== undefined && !(preset in DINOV3_PRESETS)) {
    throw new TypeError(
      `Cannot create DINOv3 plugin as preset must be one of ${
        Object.keys(DINOV3_PRESETS).map((p) => `"${p}"`).join(", ")
      }: current value is "${preset}"`,
    );
  }
  const c = preset ? DINOV3_PRESETS[preset] : undefined;
  return {
    kind: "encoder",
    name: preset ?? "dinov3",
    description: c
      ? `DINOv3 ViT (dim ${c.dim}, ${c.depth} blocks, ${c.heads} heads) from ${
        DINOV3_HF_REPOS[preset!]
      } on WebGPU (or ONNX)`
      : "DINOv3 ViT of any size from a Hugging Face config.json + safetensors, on WebGPU (or ONNX)",
    version: DINOV3_PLUGIN_VERSION,
    create(options: EncoderCreateOptions): Promise<Encoder> {
      return createDinov3Encoder({ ...options, preset } as Dinov3EncoderOptions);
    },
  };
}

/** DINOv3 of any size (reads `config.json`). */
export const dinov3Encoder: EncoderPlugin = createDinov3Plugin();
/** DINOv3 ViT-S/16 (facebook/dinov3-vits16-pretrain-lvd1689m). */
export const dinov3Vits16Encoder: EncoderPlugin = createDinov3Plugin("dinov3-vits16");
/** DINOv3 ViT-B/16 (facebook/dinov3-vitb16-pretrain-lvd1689m). */
export const dinov3Vitb16Encoder: EncoderPlugin = createDinov3Plugin("dinov3-vitb16");
/** DINOv3 ViT-L/16 (facebook/dinov3-vitl16-pretrain-lvd1689m). */
export const dinov3Vitl16Encoder: EncoderPlugin = createDinov3Plugin("dinov3-vitl16");

/** The four DINOv3 encoder plugins, for registries. */
export const DINOV3_ENCODERS: readonly EncoderPlugin[] = [
  dinov3Encoder,
  dinov3Vits16Encoder,
  dinov3Vitb16Encoder,
  dinov3Vitl16Encoder,
];

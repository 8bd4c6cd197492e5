/**
 * DINOv3 on onnxruntime: builds the ONNX graph of {@linkcode buildDinov3Graph}
 * from a Hugging Face weights folder (`config.json` + `model.safetensors`),
 * in memory unless an export is asked for, and runs it with
 * `onnxruntime-node` (when `--allow-ffi` is granted) or `onnxruntime-web`'s
 * wasm provider. Outputs are those of the WebGPU encoder.
 *
 * Memory: the model is streamed into one buffer of its exact size (or to
 * the export file), one weight at a time, so the builder never holds two
 * copies of the weights; the buffer is dropped once the session exists.
 * (onnxruntime makes its own copy while it creates the session.)
 *
 * Needs `--allow-read` (weights), `--allow-ffi` for the native runtime,
 * `--allow-env` for onnxruntime-web, `--allow-write` for exports.
 *
 * @example Encoding with random weights
 * ```ts ignore
 * import { createDinov3OnnxEncoder } from "./onnx.ts";
 * const encoder = await createDinov3OnnxEncoder("weights/dinov3-vits16");
 * const px = { data: new Float32Array(2 * 3 * 224 * 224), shape: [2, 3, 224, 224] };
 * const { cls, patches } = await encoder.encode(px); // [2, 384], [2, 14, 14, 384]
 * encoder.dispose();
 * ```
 *
 * @module
 */

import type {
  EncodeOptions,
  Encoder,
  EncoderInfo,
  EncoderOutput,
  PreprocessSpec,
} from "../../../core/plugin.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import type { Dinov3Config } from "./config.ts";
import { matchPreset } from "./config.ts";
import { type Dinov3Checkpoint, openDinov3Checkpoint } from "./weights.ts";
import {
  blockOutputName,
  buildDinov3Graph,
  checkIntermediateLayers,
  DINOV3_ONNX_INPUT,
  DINOV3_ONNX_OUTPUTS,
} from "./onnx_graph.ts";
import { encodePlan, type ModelPlan, planModel, writePlan } from "../onnx/proto.ts";
import type { OnnxRuntimeRequest } from "../onnx/runtime.ts";
import { checkPixelValues, OnnxSession } from "../onnx/session.ts";

/** Options of {@linkcode createDinov3OnnxEncoder}. */
export interface Dinov3OnnxEncoderOptions {
  /** `"node"` (native, needs `--allow-ffi`), `"wasm"`, or `"auto"`. @default {"auto"} */
  runtime?: OnnxRuntimeRequest;
  /** Why the ONNX backend was chosen (e.g. from `chooseBackend`); prefixed to the runtime's reason. */
  backendReason?: string;
  /** Encoder id for result records. @default {the matching preset name, else "dinov3"} */
  name?: string;
  /** Blocks whose outputs `encode` may return (they become graph outputs). @default {[]} */
  intermediateLayers?: readonly number[];
  /** onnxruntime threads (native intra-op threads; wasm threads process-wide). */
  threads?: number;
  /**
   * Largest batch per session run; larger batches are split. @default {as
   * many images as keep the attention scores under 512 MiB}
   */
  maxBatch?: number;
}

/** A DINOv3 encoder on onnxruntime, with access to every graph output. */
export interface Dinov3OnnxEncoder extends Encoder {
  /** The model config. */
  readonly config: Dinov3Config;
  /** The session (inputs, outputs, runtime). */
  readonly session: OnnxSession;
  /**
   * Runs the graph and returns the named outputs (default: `cls`,
   * `registers`, `patch_tokens`, `patch_mean`, `last_hidden_state` and the
   * built `block_<i>`), e.g. for golden tests.
   */
  run(pixelValues: HostTensor, outputs?: readonly string[]): Promise<Record<string, HostTensor>>;
}

/** Options of {@linkcode buildDinov3Onnx} and {@linkcode exportDinov3Onnx}. */
export interface Dinov3OnnxBuildOptions {
  /** Blocks whose outputs become graph outputs `block_<i>`. @default {[]} */
  intermediateLayers?: readonly number[];
}

function planFor(opened: Dinov3Checkpoint, options: Dinov3OnnxBuildOptions): ModelPlan {
  const g = buildDinov3Graph(
    opened.config,
    (name) => opened.checkpoint.readF32(name),
    { intermediateLayers: options.intermediateLayers },
  );
  const c = opened.config;
  return planModel(g, {
    name: "dinov3",
    docString:
      `DINOv3 ViT (dim ${c.dim}, depth ${c.depth}, heads ${c.heads}, patch ${c.patchSize}, ${c.numRegisters} registers) built by medprobe from ${opened.path}. Input pixel_values [batch, 3, height, width], ImageNet-normalised RGB, sides multiples of ${c.patchSize}.`,
    metadata: {
      "medprobe.model": "dinov3",
      "medprobe.weights_sha256": opened.sha256,
      "medprobe.config": JSON.stringify(c),
    },
  });
}

/** A DINOv3 model built as ONNX bytes, with what it was built from. */
export interface Dinov3OnnxModel {
  /** The serialised ModelProto. */
  bytes: Uint8Array;
  /** The config. */
  config: Dinov3Config;
  /** SHA-256 of the weight files. */
  sha256: string;
}

/**
 * Builds the DINOv3 ONNX model in memory from a weights folder, streaming
 * the weights into one buffer of the model's exact size.
 */
export async function buildDinov3Onnx(
  weightsDir: string,
  options: Dinov3OnnxBuildOptions = {},
): Promise<Dinov3OnnxModel> {
  const opened = await openDinov3Checkpoint(weightsDir);
  try {
    const bytes = await encodePlan(planFor(opened, options));
    return { bytes, config: opened.config, sha256: opened.sha256 };
  } finally {
    opened.checkpoint.close();
  }
}

/** What {@linkcode exportDinov3Onnx} wrote. */
export interface Dinov3OnnxExport {
  /** The file written. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** The config of the model. */
  config: Dinov3Config;
}

/**
 * Writes the DINOv3 ONNX model to `file` (`--export-onnx FILE`), streaming
 * one weight at a time: the whole model is never in memory. Writes to a
 * temporary file beside it and renames it into place.
 */
export async function exportDinov3Onnx(
  weightsDir: string,
  file: string,
  options: Dinov3OnnxBuildOptions = {},
): Promise<Dinov3OnnxExport> {
  const opened = await openDinov3Checkpoint(weightsDir);
  const tmp = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const plan = planFor(opened, options);
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await writePlan(plan, async (chunk) => {
        let o = 0;
        while (o < chunk.byteLength) o += await out.write(chunk.subarray(o));
      });
    } finally {
      out.close();
    }
    await Deno.rename(tmp, file);
    return { path: file, bytes: plan.totalBytes, config: opened.config };
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    opened.checkpoint.close();
  }
}

const DINOV3_PREPROCESS_MEAN = [0.485, 0.456, 0.406] as const;
const DINOV3_PREPROCESS_STD = [0.229, 0.224, 0.225] as const;

/** Builds the model bytes, closes the checkpoint, and creates the session (the bytes die here). */
async function sessionFor(
  opened: Dinov3Checkpoint,
  layers: readonly number[],
  options: Dinov3OnnxEncoderOptions,
): Promise<OnnxSession> {
  let bytes: Uint8Array;
  try {
    bytes = await encodePlan(planFor(opened, { intermediateLayers: layers }));
  } finally {
    opened.checkpoint.close();
  }
  return await OnnxSession.create(bytes, { runtime: options.runtime, threads: options.threads });
}

/**
 * Creates a DINOv3 encoder running on onnxruntime: opens and checks the
 * weights, builds the graph in memory, and creates the session. This is
 * the entry point the DINOv3 plugin imports for `--backend onnx`.
 */
export async function createDinov3OnnxEncoder(
  weightsDir: string,
  options: Dinov3OnnxEncoderOptions = {},
): Promise<Dinov3OnnxEncoder> {
  if (
    options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch > 0)
  ) {
    throw new RangeError(
      `Cannot create DINOv3 ONNX encoder as maxBatch must be a positive integer: current value is ${options.maxBatch}`,
    );
  }
  const opened = await openDinov3Checkpoint(weightsDir);
  const config = opened.config;
  let built: number[];
  try {
    built = checkIntermediateLayers(options.intermediateLayers ?? [], config.depth);
  } catch (e) {
    opened.checkpoint.close();
    throw e;
  }
  const session = await sessionFor(opened, built, options);
  const info: EncoderInfo = {
    id: options.name ?? matchPreset(config) ?? "dinov3",
    backend: session.runtime.backend,
    backendReason: options.backendReason
      ? `${options.backendReason}; ${session.runtime.reason}`
      : session.runtime.reason,
    dim: config.dim,
    patchSize: config.patchSize,
    numRegisters: config.numRegisters,
    weightsSha256: opened.sha256,
    precision: "f32",
  };
  const preprocess: PreprocessSpec = {
    mean: DINOV3_PREPROCESS_MEAN,
    std: DINOV3_PREPROCESS_STD,
    sizeMultiple: config.patchSize,
    defaultSize: config.imageSize,
  };
  const available = new Set(built);
  const allOutputs = [...DINOV3_ONNX_OUTPUTS, ...built.map(blockOutputName)];
  const batchLimit = (h: number, w: number) => {
    if (options.maxBatch !== undefined) return options.maxBatch;
    const n = 1 + config.numRegisters + (h / config.patchSize) * (w / config.patchSize);
    return Math.max(1, Math.floor(512 * 2 ** 20 / (config.heads * n * n * 4)));
  };
  let disposed = false;
  const live = (action: string) => {
    if (disposed) throw new TypeError(`Cannot ${action} as the encoder was disposed`);
  };

  const run = async (px: HostTensor, outputs: readonly string[] = allOutputs) => {
    live("run DINOv3 ONNX encoder");
    const [, h, w] = checkPixelValues(
      "run DINOv3 ONNX encoder",
      px,
      config.channels,
      config.patchSize,
    );
    for (const o of outputs) {
      if (!allOutputs.includes(o)) {
        throw new TypeError(
          `Cannot run DINOv3 ONNX encoder as output "${o}" is not in the graph: available outputs are ${
            allOutputs.join(", ")
          }`,
        );
      }
    }
    return await session.runBatched({ [DINOV3_ONNX_INPUT]: px }, outputs, batchLimit(h, w));
  };

  return {
    info,
    preprocess,
    config,
    session,
    run,
    async encode(px: HostTensor, encodeOptions: EncodeOptions = {}): Promise<EncoderOutput> {
      const layers = encodeOptions.intermediateLayers ?? [];
      for (const l of layers) {
        if (!available.has(l)) {
          throw new RangeError(
            `Cannot return intermediate layer ${l} as the ONNX graph was built with layers [${
              built.join(", ")
            }]: pass intermediateLayers to createDinov3OnnxEncoder`,
          );
        }
      }
      const r = await run(px, [
        "cls",
        "registers",
        "patch_tokens",
        "patch_mean",
        ...layers.map(blockOutputName),
      ]);
      const out: EncoderOutput = {
        cls: r.cls,
        registers: r.registers,
        patches: r.patch_tokens,
        // The graph's ReduceMean rounds differently at batch 1; this mean
        // is the same whatever batch a sample is encoded in (issue 17).
        patchMean: meanOverPatches(r.patch_tokens) ?? r.patch_mean,
      };
      if (layers.length > 0) out.intermediates = layers.map((l) => r[blockOutputName(l)]);
      return out;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      void session.release();
    },
  };
}

/**
 * The mean of the patch tokens `[B, ..., C]` → `[B, C]`, summed in float64
 * in a fixed order, so it never depends on the other samples of the batch.
 */
function meanOverPatches(t: HostTensor | undefined): HostTensor | undefined {
  if (!t || t.shape.length < 3 || !(t.data instanceof Float32Array)) return undefined;
  const b = t.shape[0];
  const c = t.shape[t.shape.length - 1];
  const p = t.data.length / (b * c);
  if (p < 1) return undefined;
  const out = new Float32Array(b * c);
  const sum = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    sum.fill(0);
    for (let j = 0; j < p; j++) {
      const row = (i * p + j) * c;
      for (let k = 0; k < c; k++) sum[k] += t.data[row + k];
    }
    for (let k = 0; k < c; k++) out[i * c + k] = sum[k] / p;
  }
  return { data: out, shape: [b, c] };
}

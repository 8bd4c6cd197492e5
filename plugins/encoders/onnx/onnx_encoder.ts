/**
 * The generic ONNX encoder plugin `onnx`: a user-supplied `.onnx` file plus
 * a JSON descriptor ({@linkcode OnnxDescriptor}) becomes an encoder usable by
 * every protocol (BiomedCLIP, UNI, CONCH, ResNet50, CT-CLIP... exported to
 * ONNX). The descriptor is validated against the model's declared inputs
 * and outputs when the encoder is created, and every run's output shapes
 * are checked again.
 *
 * How outputs map to {@linkcode EncoderOutput}:
 * - `cls`: the `cls` output, else the CLS token of `tokens`, else `pooled`,
 *   else the mean of the patch tokens.
 * - `registers`: the register tokens of `tokens`, else `[B, 0, C]`.
 * - `patches`: `patches` (converted to `[B, h, w, C]`) or the patch part of
 *   `tokens`, else `[B, 0, 0, C]`.
 * - `patchMean`: the mean of the patches, else `pooled`, else `cls`.
 *
 * Needs `--allow-read`; `--allow-ffi` for the native runtime.
 *
 * @example Creating the encoder from a descriptor file
 * ```ts ignore
 * import { onnxEncoderPlugin } from "./onnx_encoder.ts";
 * const encoder = await onnxEncoderPlugin.create({ weights: "models/resnet50.json" });
 * const out = await encoder.encode({ data: new Float32Array(3 * 224 * 224), shape: [1, 3, 224, 224] });
 * out.cls.shape; // [1, 2048]
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { FormatError } from "../../../core/errors.ts";
import type {
  EncodeOptions,
  Encoder,
  EncoderCreateOptions,
  EncoderInfo,
  EncoderOutput,
  EncoderPlugin,
  PreprocessSpec,
} from "../../../core/plugin.ts";
import { sha256File } from "../../../core/safetensors.ts";
import { formatShape, type HostTensor } from "../../../core/tensor.ts";
import {
  type OnnxDescriptor,
  parseOnnxDescriptor,
  validateDescriptorAgainstModel,
} from "./descriptor.ts";
import type { OnnxRuntimeRequest } from "./runtime.ts";
import { checkPixelValues, OnnxSession } from "./session.ts";

/** Options of {@linkcode createOnnxEncoder}. */
export interface OnnxEncoderOptions {
  /** `"node"`, `"wasm"` or `"auto"`. @default {"auto"} */
  runtime?: OnnxRuntimeRequest;
  /** Why the ONNX backend runs (prefixed to the runtime's reason). */
  backendReason?: string;
  /** onnxruntime threads. */
  threads?: number;
  /** Largest batch per run; larger batches are split. @default {32} */
  maxBatch?: number;
}

/** A generic ONNX encoder, with its descriptor and session. */
export interface OnnxEncoder extends Encoder {
  /** The checked descriptor. */
  readonly descriptor: OnnxDescriptor;
  /** The session (declared inputs and outputs, runtime). */
  readonly session: OnnxSession;
}

async function sha256Bytes(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function sliceTokens(t: HostTensor, start: number, end: number): HostTensor {
  const [b, n, c] = t.shape;
  const out = new Float32Array(b * (end - start) * c);
  for (let i = 0; i < b; i++) {
    out.set(t.data.subarray((i * n + start) * c, (i * n + end) * c), i * (end - start) * c);
  }
  return { data: out, shape: [b, end - start, c] };
}

function meanOverGrid(p: HostTensor): HostTensor {
  const [b, h, w, c] = p.shape;
  const out = new Float32Array(b * c);
  const n = h * w;
  for (let i = 0; i < b; i++) {
    const acc = new Float64Array(c);
    for (let t = 0; t < n; t++) {
      const o = (i * n + t) * c;
      for (let k = 0; k < c; k++) acc[k] += p.data[o + k];
    }
    for (let k = 0; k < c; k++) out[i * c + k] = acc[k] / n;
  }
  return { data: out, shape: [b, c] };
}

function bchwToBhwc(t: HostTensor): HostTensor {
  const [b, c, h, w] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < c; k++) {
      const src = (i * c + k) * h * w;
      for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + k] = t.data[src + p];
    }
  }
  return { data: out, shape: [b, h, w, c] };
}

/**
 * Maps raw model outputs to an {@linkcode EncoderOutput} by the descriptor,
 * checking every shape against the batch, the grid and each other.
 */
export function mapOnnxOutputs(
  d: OnnxDescriptor,
  raw: Readonly<Record<string, HostTensor>>,
  batch: number,
  height: number,
  width: number,
): EncoderOutput {
  const where = `ONNX encoder "${d.name}"`;
  const o = d.outputs;
  const widths: [string, number][] = [];
  const expectRank = (name: string, t: HostTensor, rank: number, layout: string) => {
    if (t.shape.length !== rank || t.shape[0] !== batch) {
      throw new TypeError(
        `Cannot read output "${name}" of ${where} as it must have layout ${layout} with B = ${batch}: current shape is ${
          formatShape(t.shape)
        }`,
      );
    }
  };
  const grid = () => {
    const ps = d.patchSize!;
    return [Math.floor(height / ps), Math.floor(width / ps)];
  };
  let cls: HostTensor | undefined;
  let registers: HostTensor | undefined;
  let patches: HostTensor | undefined;
  let pooled: HostTensor | undefined;
  if (o.tokens) {
    const t = raw[o.tokens.name];
    expectRank(o.tokens.name, t, 3, "[B, N, C]");
    const [gh, gw] = grid();
    const prefix = (o.tokens.cls ? 1 : 0) + o.tokens.registers;
    if (t.shape[1] !== prefix + gh * gw) {
      throw new TypeError(
        `Cannot read output "${o.tokens.name}" of ${where} as it must hold ${
          prefix + gh * gw
        } tokens (${prefix} prefix + a ${gh}x${gw} grid for a ${height}x${width} input): current shape is ${
          formatShape(t.shape)
        }`,
      );
    }
    const c = t.shape[2];
    widths.push([o.tokens.name, c]);
    if (o.tokens.cls) {
      const first = sliceTokens(t, 0, 1);
      cls = { data: first.data, shape: [batch, c] };
    }
    registers = sliceTokens(t, o.tokens.cls ? 1 : 0, prefix);
    const rest = sliceTokens(t, prefix, t.shape[1]);
    patches = { data: rest.data, shape: [batch, gh, gw, c] };
  }
  if (o.patches) {
    const t = raw[o.patches.name];
    const l = o.patches.layout;
    expectRank(o.patches.name, t, l === "BNC" ? 3 : 4, l);
    if (l === "BNC") {
      const [gh, gw] = grid();
      if (t.shape[1] !== gh * gw) {
        throw new TypeError(
          `Cannot read output "${o.patches.name}" of ${where} as it must hold ${
            gh * gw
          } patch tokens (a ${gh}x${gw} grid): current shape is ${formatShape(t.shape)}`,
        );
      }
      patches = { data: t.data, shape: [batch, gh, gw, t.shape[2]] };
    } else {
      patches = l === "BHWC" ? t : bchwToBhwc(t);
    }
    widths.push([o.patches.name, patches.shape[3]]);
  }
  if (o.cls) {
    const t = raw[o.cls.name];
    expectRank(o.cls.name, t, 2, "[B, C]");
    widths.push([o.cls.name, t.shape[1]]);
    cls = t;
  }
  if (o.pooled) {
    const t = raw[o.pooled.name];
    if (o.pooled.layout === "BC") {
      expectRank(o.pooled.name, t, 2, "BC");
      pooled = t;
    } else {
      expectRank(o.pooled.name, t, 4, "BC11");
      if (t.shape[2] !== 1 || t.shape[3] !== 1) {
        throw new TypeError(
          `Cannot read output "${o.pooled.name}" of ${where} as layout BC11 needs shape [B, C, 1, 1]: current shape is ${
            formatShape(t.shape)
          }`,
        );
      }
      pooled = { data: t.data, shape: [batch, t.shape[1]] };
    }
    widths.push([o.pooled.name, pooled.shape[1]]);
  }
  const [firstName, c] = widths[0];
  for (const [name, w] of widths) {
    if (w !== c) {
      throw new TypeError(
        `Cannot read outputs of ${where} as every output must have the same embedding width: "${firstName}" has ${c}, "${name}" has ${w}`,
      );
    }
  }
  const patchMean = patches && patches.shape[1] * patches.shape[2] > 0
    ? meanOverGrid(patches)
    : undefined;
  cls ??= pooled ?? patchMean;
  return {
    cls: cls!,
    registers: registers ?? { data: new Float32Array(0), shape: [batch, 0, c] },
    patches: patches ?? { data: new Float32Array(0), shape: [batch, 0, 0, c] },
    patchMean: patchMean ?? pooled ?? cls!,
  };
}

/**
 * Creates an encoder from an ONNX model (a path or the bytes) and its
 * descriptor (parsed or raw JSON). Validates the descriptor against the
 * model's declared inputs and outputs; when the model does not declare the
 * embedding width, one zero image at `input.size` is run to learn it.
 */
export async function createOnnxEncoder(
  model: string | Uint8Array,
  descriptor: OnnxDescriptor | unknown,
  options: OnnxEncoderOptions = {},
): Promise<OnnxEncoder> {
  const d = parseOnnxDescriptor(descriptor);
  const maxBatch = options.maxBatch ?? 32;
  if (!Number.isInteger(maxBatch) || maxBatch <= 0) {
    throw new RangeError(
      `Cannot create ONNX encoder as maxBatch must be a positive integer: current value is ${maxBatch}`,
    );
  }
  const bytes = typeof model === "string" ? await Deno.readFile(model) : model;
  const sha256 = typeof model === "string" ? await sha256File(model) : await sha256Bytes(bytes);
  let session: OnnxSession;
  try {
    session = await OnnxSession.create(bytes, {
      runtime: options.runtime,
      threads: options.threads,
    });
  } catch (cause) {
    throw new FormatError(
      `Cannot load ONNX model for descriptor "${d.name}": ${(cause as Error).message}`,
      { path: typeof model === "string" ? model : "<memory>", cause },
    );
  }
  let check;
  try {
    check = validateDescriptorAgainstModel(d, session.inputs, session.outputs);
  } catch (e) {
    await session.release();
    throw e;
  }
  const fetch = [
    ...new Set(
      [d.outputs.cls, d.outputs.pooled, d.outputs.tokens, d.outputs.patches]
        .filter((x) => x !== undefined).map((x) => x.name),
    ),
  ];
  let disposed = false;
  const encode = async (px: HostTensor, opts: EncodeOptions = {}): Promise<EncoderOutput> => {
    if (disposed) throw new TypeError(`Cannot encode as ONNX encoder "${d.name}" was disposed`);
    if (opts.intermediateLayers && opts.intermediateLayers.length > 0) {
      throw new RangeError(
        `Cannot return intermediate layers from ONNX encoder "${d.name}" as it exposes only the outputs named in its descriptor`,
      );
    }
    const [b, h, w] = checkPixelValues(`run ONNX encoder "${d.name}"`, px, 3, d.input.sizeMultiple);
    if (check.fixedSize && (h !== d.input.size[0] || w !== d.input.size[1])) {
      throw new RangeError(
        `Cannot run ONNX encoder "${d.name}" as the model's input size is fixed at ${
          d.input.size.join("x")
        }: current size is ${h}x${w}`,
      );
    }
    const raw = await session.runBatched({ [d.input.name]: px }, fetch, maxBatch);
    return mapOnnxOutputs(d, raw, b, h, w);
  };
  let dim = check.dim;
  if (dim === undefined) {
    const [h, w] = d.input.size;
    const probe = await encode({ data: new Float32Array(3 * h * w), shape: [1, 3, h, w] });
    dim = probe.cls.shape[1];
  }
  const info: EncoderInfo = {
    id: d.name,
    backend: session.runtime.backend,
    backendReason: options.backendReason
      ? `${options.backendReason}; ${session.runtime.reason}`
      : session.runtime.reason,
    dim,
    patchSize: d.patchSize ?? 0,
    numRegisters: d.outputs.tokens?.registers ?? 0,
    weightsSha256: sha256,
    precision: "f32",
  };
  const preprocess: PreprocessSpec = {
    mean: d.input.mean,
    std: d.input.std,
    sizeMultiple: d.input.sizeMultiple,
    defaultSize: d.input.size[0],
  };
  return {
    info,
    preprocess,
    descriptor: d,
    session,
    encode,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      void session.release();
    },
  };
}

async function readDescriptor(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot open ONNX descriptor as ${path} is missing: pass "descriptor", or put MODEL.json beside MODEL.onnx (see plugins/encoders/onnx/README.md)`,
        { cause: e },
      );
    }
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FormatError(
      `Cannot read ONNX descriptor as it is not valid JSON: ${(cause as Error).message}`,
      {
        path,
        cause,
      },
    );
  }
}

/**
 * Resolves the plugin's options to a model path and descriptor: `weights`
 * is either the `.onnx` file (descriptor from `descriptor`, else the `.json`
 * beside it) or the descriptor `.json` (model from its `"model"` field,
 * relative to the descriptor).
 */
export async function resolveOnnxSources(
  weights: string,
  descriptor?: string | Record<string, unknown>,
): Promise<{ model: string; descriptor: OnnxDescriptor }> {
  if (/\.json$/i.test(weights)) {
    const d = parseOnnxDescriptor(await readDescriptor(weights));
    if (!d.model) {
      throw new TypeError(
        `Cannot find the ONNX model of descriptor ${weights} as it has no "model" field: add "model": "FILE.onnx" or pass the .onnx file as weights`,
      );
    }
    return {
      model: isAbsolute(d.model) ? d.model : join(dirname(weights), d.model),
      descriptor: d,
    };
  }
  const raw = typeof descriptor === "object"
    ? descriptor
    : await readDescriptor(descriptor ?? weights.replace(/\.onnx$/i, "") + ".json");
  return { model: weights, descriptor: parseOnnxDescriptor(raw) };
}

/**
 * The `onnx` encoder plugin. `create` options: `weights` (the `.onnx` file
 * or its descriptor `.json`), `descriptor` (path or object), `runtime`
 * (`"node"`/`"wasm"`/`"auto"`), `threads`, `maxBatch`, `backendReason`.
 * `backend: "webgpu"` is refused: this plugin runs on onnxruntime only.
 */
export const onnxEncoderPlugin: EncoderPlugin = {
  kind: "encoder",
  name: "onnx",
  description:
    "Any ONNX image encoder: a .onnx file plus a JSON descriptor (input, normalisation, which outputs are CLS / pooled / tokens)",
  version: "0.1.0",
  async create(options: EncoderCreateOptions): Promise<Encoder> {
    if (typeof options.weights !== "string") {
      throw new TypeError(
        `Cannot create the onnx encoder as "weights" must be the path of a .onnx model or its descriptor .json: current value is ${
          JSON.stringify(options.weights)
        }`,
      );
    }
    if (options.precision === "f16") {
      throw new TypeError(
        'Cannot create the onnx encoder with precision "f16": it runs the model as given, in float32',
      );
    }
    if (options.backend === "webgpu") {
      throw new TypeError(
        'Cannot create the onnx encoder with backend "webgpu": it runs on onnxruntime (use --backend onnx or auto)',
      );
    }
    const descriptor = options.descriptor as string | Record<string, unknown> | undefined;
    const src = await resolveOnnxSources(options.weights, descriptor);
    return await createOnnxEncoder(src.model, src.descriptor, {
      runtime: options.runtime as OnnxRuntimeRequest | undefined,
      threads: options.threads as number | undefined,
      maxBatch: options.maxBatch as number | undefined,
      backendReason: (options.backendReason as string | undefined) ??
        (options.backend === "onnx" ? "requested --backend onnx" : "onnx plugin: onnxruntime"),
    });
  },
};

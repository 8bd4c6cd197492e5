/**
 * A thin wrapper over an onnxruntime session that takes and returns
 * {@linkcode HostTensor}s, splits large batches, and reports the model's
 * declared inputs and outputs. Used by the DINOv3 ONNX encoder and the
 * generic ONNX encoder plugin.
 *
 * @module
 */

import type { InferenceSession } from "onnxruntime-node";
import { formatShape, type HostTensor, numel } from "../../../core/tensor.ts";
import {
  defaultSessionOptions,
  loadOnnxRuntime,
  type OnnxRuntime,
  type OnnxRuntimeInfo,
  type OnnxRuntimeRequest,
  type OrtApi,
} from "./runtime.ts";

/** A declared model input or output (from the session's metadata). */
export interface ValueSpec {
  /** Name. */
  readonly name: string;
  /** Element type (`"float32"`...), or `"non-tensor"`. */
  readonly type: string;
  /** Declared shape: numbers for fixed extents, strings for symbolic ones, `[]` when unknown. */
  readonly shape: readonly (number | string)[];
}

/** Options of {@linkcode OnnxSession.create}. */
export interface OnnxSessionOptions {
  /** Which onnxruntime package runs the model. @default {"auto"} */
  runtime?: OnnxRuntimeRequest;
  /** Threads (native: intra-op threads; wasm: `env.wasm.numThreads`, process-wide). */
  threads?: number;
}

function specs(
  names: readonly string[],
  meta: readonly InferenceSession.ValueMetadata[] | undefined,
): ValueSpec[] {
  return names.map((name, i) => {
    const m = meta?.[i];
    if (!m || !m.isTensor) return { name, type: m ? "non-tensor" : "unknown", shape: [] };
    return { name, type: m.type, shape: [...m.shape] };
  });
}

/** An onnxruntime session over host tensors. */
export class OnnxSession {
  /** The runtime running it. */
  readonly runtime: OnnxRuntimeInfo;
  #ort: OrtApi;
  #session: InferenceSession;
  /** Declared inputs, in model order. */
  readonly inputs: readonly ValueSpec[];
  /** Declared outputs, in model order. */
  readonly outputs: readonly ValueSpec[];

  private constructor(runtime: OnnxRuntime, session: InferenceSession) {
    this.runtime = { kind: runtime.kind, backend: runtime.backend, reason: runtime.reason };
    this.#ort = runtime.ort;
    this.#session = session;
    this.inputs = specs(session.inputNames, session.inputMetadata);
    this.outputs = specs(session.outputNames, session.outputMetadata);
  }

  /** Loads the runtime and creates a session from model bytes. */
  static async create(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const rt = await loadOnnxRuntime(options.runtime ?? "auto", { wasmThreads: options.threads });
    const session = await rt.ort.InferenceSession.create(
      model,
      defaultSessionOptions(rt, options.threads),
    );
    return new OnnxSession(rt, session);
  }

  /**
   * Runs the model on float32 inputs and returns the requested float32
   * outputs. Throws `TypeError` for a non-float32 output.
   */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, InstanceType<OrtApi["Tensor"]>> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new this.#ort.Tensor("float32", t.data, t.shape);
    }
    const result = await this.#session.run(ortFeeds, outputs);
    const out: Record<string, HostTensor> = {};
    for (const name of outputs) {
      const t = result[name] as { type?: string; data?: unknown; dims?: readonly number[] };
      if (!t || t.type !== "float32" || !(t.data instanceof Float32Array)) {
        throw new TypeError(
          `Cannot read ONNX output "${name}" as it must be a float32 tensor: current type is ${
            t?.type ?? "missing"
          }`,
        );
      }
      out[name] = { data: t.data, shape: [...(t.dims ?? [])] };
    }
    return out;
  }

  /**
   * Runs in chunks of at most `maxBatch` along axis 0 of every feed and
   * concatenates the outputs along axis 0.
   */
  async runBatched(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs: readonly string[],
    maxBatch: number,
  ): Promise<Record<string, HostTensor>> {
    const names = Object.keys(feeds);
    const batch = feeds[names[0]].shape[0];
    if (batch <= maxBatch) return await this.run(feeds, outputs);
    const parts: Record<string, HostTensor>[] = [];
    for (let b0 = 0; b0 < batch; b0 += maxBatch) {
      const b1 = Math.min(batch, b0 + maxBatch);
      const chunk: Record<string, HostTensor> = {};
      for (const n of names) {
        const t = feeds[n];
        const per = numel(t.shape) / t.shape[0];
        chunk[n] = {
          data: t.data.subarray(b0 * per, b1 * per),
          shape: [b1 - b0, ...t.shape.slice(1)],
        };
      }
      parts.push(await this.run(chunk, outputs));
    }
    const out: Record<string, HostTensor> = {};
    for (const name of outputs) {
      const pieces = parts.map((p) => p[name]);
      const rest = pieces[0].shape.slice(1);
      for (const p of pieces) {
        if (formatShape(p.shape.slice(1)) !== formatShape(rest)) {
          throw new TypeError(
            `Cannot concatenate ONNX output "${name}" as chunk shapes must agree after axis 0: current shapes are ${
              formatShape(pieces[0].shape)
            } and ${formatShape(p.shape)}`,
          );
        }
      }
      const data = new Float32Array(pieces.reduce((s, p) => s + p.data.length, 0));
      let o = 0;
      for (const p of pieces) {
        data.set(p.data, o);
        o += p.data.length;
      }
      out[name] = { data, shape: [pieces.reduce((s, p) => s + p.shape[0], 0), ...rest] };
    }
    return out;
  }

  /** Releases the session (errors on release are ignored: nothing is left to free). */
  release(): Promise<void> {
    return this.#session.release().catch(() => {});
  }
}

/** Checks an NCHW batch for a patch model; returns `[B, H, W]`. */
export function checkPixelValues(
  action: string,
  px: HostTensor,
  channels: number,
  multiple: number,
): [number, number, number] {
  const s = px.shape;
  if (s.length !== 4 || s[1] !== channels || s[0] < 1) {
    throw new TypeError(
      `Cannot ${action} as pixel values must have shape [B, ${channels}, H, W] with B >= 1: current shape is ${
        formatShape(s)
      }`,
    );
  }
  if (px.data.length !== numel(s)) {
    throw new TypeError(
      `Cannot ${action} as pixel values must hold ${numel(s)} values for shape ${
        formatShape(s)
      }: current length is ${px.data.length}`,
    );
  }
  for (const side of [s[2], s[3]]) {
    if (side < multiple || side % multiple !== 0) {
      throw new RangeError(
        `Cannot ${action} as image sides must be positive multiples of ${multiple}: current shape is ${
          formatShape(s)
        }`,
      );
    }
  }
  return [s[0], s[2], s[3]];
}

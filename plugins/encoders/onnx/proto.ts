/**
 * ONNX protobuf writing for medprobe: a small graph builder over the
 * generated `onnx-proto` messages, and a streaming model writer.
 *
 * Every message is encoded by protobufjs (`onnx-proto`'s generated
 * `encode`); large weights are not put into one `GraphProto` object.
 * Instead the model is laid out as
 *
 *     ModelProto fields (no graph)  +  field 7 (graph) framing
 *       GraphProto fields (no initializers)
 *       for each large initializer: field 5 framing + TensorProto header + field 9 (raw_data) framing + raw bytes
 *
 * which protobuf defines as the same message as a single encode (fields may
 * come in any order; repeated fields concatenate). Tags and lengths are
 * written with protobufjs' `Writer`. Because every size is known before any
 * weight is read, the whole model can be streamed to a preallocated buffer
 * or a file one tensor at a time: building ViT-L never holds the weights
 * twice.
 *
 * @example Building and decoding a one-node model
 * ```ts
 * import { GraphBuilder, decodeModel, encodePlan, planModel } from "./proto.ts";
 * import assert from "node:assert/strict";
 * const g = new GraphBuilder();
 * g.input("x", ["batch", 2]);
 * const c = g.constF32([1, 2], [2]);
 * g.op("Add", ["x", c], {}, "y");
 * g.output("y", ["batch", 2]);
 * const plan = planModel(g, { name: "add" });
 * const bytes = await encodePlan(plan);
 * assert.equal(bytes.byteLength, plan.totalBytes);
 * assert.equal(decodeModel(bytes).graph?.node?.[0].opType, "Add");
 * ```
 *
 * @module
 */

import onnxProto from "onnx-proto";
import type { onnx as P } from "onnx-proto";
import protobuf from "protobufjs";

/** The generated ONNX message namespace (onnx.proto of ONNX 1.10, IR version 8). */
export const onnx: typeof onnxProto.onnx = onnxProto.onnx;

/** ONNX opset the builders target (LayerNormalization needs 17). */
export const OPSET = 17;

/** IR version written into models (ONNX 1.12 pairs IR 8 with opset 17). */
export const IR_VERSION = 8;

/** ONNX `TensorProto.DataType` values used here. */
export const DataType = {
  FLOAT: 1,
  INT64: 7,
  DOUBLE: 11,
} as const;

/** Protobuf field numbers used by the streaming layout (onnx.proto). */
const MODEL_GRAPH_FIELD = 7;
const GRAPH_INITIALIZER_FIELD = 5;
const TENSOR_RAW_DATA_FIELD = 9;
const LENGTH_DELIMITED = 2;

/** One dimension of a value's shape: a fixed extent or a symbolic name. */
export type Dim = number | string;

/** An attribute value of a node. */
export type AttrValue = number | string | readonly number[] | { float: number };

/** A large initializer whose data is produced only while the model is written. */
export interface StreamedInitializer {
  /** Tensor name. */
  readonly name: string;
  /** Shape. */
  readonly dims: readonly number[];
  /**
   * Produces the float32 values (row-major). Called once, in order, while
   * the model is written; the returned array may be dropped right after.
   */
  produce(): Promise<Float32Array> | Float32Array;
}

function toValueInfo(name: string, dims: readonly Dim[], elemType: number): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d }),
        },
      },
    },
  };
}

function rawBytes(values: Float32Array | Float64Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Accumulates nodes, small inline constants, graph inputs/outputs and
 * streamed (large) initializers. Value names are generated unless given.
 */
export class GraphBuilder {
  /** Nodes in topological order. */
  readonly nodes: P.INodeProto[] = [];
  /** Small initializers, stored inline in the graph message. */
  readonly constants: P.ITensorProto[] = [];
  /** Large initializers, streamed when the model is written. */
  readonly streamed: StreamedInitializer[] = [];
  /** Graph inputs. */
  readonly inputs: P.IValueInfoProto[] = [];
  /** Graph outputs. */
  readonly outputs: P.IValueInfoProto[] = [];
  #counter = 0;
  #names = new Set<string>();

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.#counter++}`; while (this.#names.has(name));
    this.#names.add(name);
    return name;
  }

  #claim(name: string): string {
    if (this.#names.has(name)) {
      throw new TypeError(`Cannot add value "${name}" to the ONNX graph as the name is taken`);
    }
    this.#names.add(name);
    return name;
  }

  /** Declares a float32 graph input. */
  input(name: string, dims: readonly Dim[]): string {
    this.inputs.push(toValueInfo(this.#claim(name), dims, DataType.FLOAT));
    return name;
  }

  /** Declares a float32 graph output (an existing value). */
  output(name: string, dims: readonly Dim[]): void {
    this.outputs.push(toValueInfo(name, dims, DataType.FLOAT));
  }

  /**
   * Adds a node with one output and returns the output's name (`out`, or a
   * generated one). Attributes: integers as `INT`, `{float}` as `FLOAT`,
   * strings as `STRING`, number arrays as `INTS`.
   */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    out?: string,
  ): string {
    return this.opN(opType, inputs, 1, attrs, out ? [out] : undefined)[0];
  }

  /** Adds a node with `n` outputs and returns their names. */
  opN(
    opType: string,
    inputs: readonly string[],
    n: number,
    attrs: Record<string, AttrValue> = {},
    outs?: readonly string[],
  ): string[] {
    const output = outs
      ? outs.map((o) => this.#claim(o))
      : Array.from({ length: n }, () => this.fresh(opType.toLowerCase()));
    const attribute: P.IAttributeProto[] = [];
    for (const [name, v] of Object.entries(attrs)) {
      const A = onnx.AttributeProto.AttributeType;
      if (typeof v === "number") {
        if (!Number.isInteger(v)) {
          throw new TypeError(
            `Cannot add attribute "${name}" as an integer: current value is ${v}`,
          );
        }
        attribute.push({ name, type: A.INT, i: v });
      } else if (typeof v === "string") {
        attribute.push({ name, type: A.STRING, s: new TextEncoder().encode(v) });
      } else if (Array.isArray(v)) {
        attribute.push({ name, type: A.INTS, ints: [...v] });
      } else {
        attribute.push({ name, type: A.FLOAT, f: (v as { float: number }).float });
      }
    }
    this.nodes.push({
      opType,
      input: [...inputs],
      output,
      name: `${opType}_${this.nodes.length}`,
      attribute,
    });
    return output;
  }

  /** An inline float32 constant. */
  constF32(values: ArrayLike<number>, dims: readonly number[], name?: string): string {
    const n = name === undefined ? this.fresh("const") : this.#claim(name);
    this.constants.push({
      name: n,
      dims: [...dims],
      dataType: DataType.FLOAT,
      rawData: rawBytes(Float32Array.from(values)),
    });
    return n;
  }

  /** An inline float64 constant. */
  constF64(values: ArrayLike<number>, dims: readonly number[], name?: string): string {
    const n = name === undefined ? this.fresh("const") : this.#claim(name);
    this.constants.push({
      name: n,
      dims: [...dims],
      dataType: DataType.DOUBLE,
      rawData: rawBytes(Float64Array.from(values)),
    });
    return n;
  }

  /** An inline int64 constant (e.g. a shape or axes vector). */
  constI64(
    values: readonly number[],
    dims: readonly number[] = [values.length],
    name?: string,
  ): string {
    const n = name === undefined ? this.fresh("const") : this.#claim(name);
    this.constants.push({
      name: n,
      dims: [...dims],
      dataType: DataType.INT64,
      rawData: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))),
    });
    return n;
  }

  /** A large float32 initializer produced while the model is written. */
  weight(name: string, dims: readonly number[], produce: StreamedInitializer["produce"]): string {
    this.streamed.push({ name: this.#claim(name), dims: [...dims], produce });
    return name;
  }
}

/** Model-level fields. */
export interface ModelMeta {
  /** Graph name. */
  name: string;
  /** Free text stored as the model's doc string. */
  docString?: string;
  /** Key/value metadata (`metadata_props`). */
  metadata?: Readonly<Record<string, string>>;
}

/** One streamed initializer with its precomputed framing. */
export interface PlannedInitializer {
  /** The initializer. */
  readonly init: StreamedInitializer;
  /** Bytes before the raw data: field-5 framing, TensorProto header, field-9 framing. */
  readonly head: Uint8Array;
  /** Raw data length in bytes (`4 × numel`). */
  readonly rawBytes: number;
}

/** A fully sized model, ready to be streamed. */
export interface ModelPlan {
  /** ModelProto fields, graph framing, and the graph without streamed initializers. */
  readonly prefix: Uint8Array;
  /** Streamed initializers in write order. */
  readonly initializers: readonly PlannedInitializer[];
  /** Exact size of the encoded model in bytes. */
  readonly totalBytes: number;
}

function framing(field: number, length: number): Uint8Array {
  return protobuf.Writer.create().uint32((field << 3) | LENGTH_DELIMITED).uint32(length).finish();
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Sizes every part of the model without reading any streamed weight.
 * Throws `RangeError` past protobuf's 2 GiB message limit.
 */
export function planModel(g: GraphBuilder, meta: ModelMeta): ModelPlan {
  const initializers: PlannedInitializer[] = g.streamed.map((init) => {
    const numel = init.dims.reduce((a, b) => a * b, 1);
    const rawLen = numel * 4;
    const header = onnx.TensorProto.encode({
      name: init.name,
      dims: [...init.dims],
      dataType: DataType.FLOAT,
    }).finish();
    const rawFrame = framing(TENSOR_RAW_DATA_FIELD, rawLen);
    const tensorLen = header.byteLength + rawFrame.byteLength + rawLen;
    return {
      init,
      head: concat([framing(GRAPH_INITIALIZER_FIELD, tensorLen), header, rawFrame]),
      rawBytes: rawLen,
    };
  });
  const graphBody = onnx.GraphProto.encode({
    name: meta.name,
    node: g.nodes,
    initializer: g.constants,
    input: g.inputs,
    output: g.outputs,
  }).finish();
  const graphLen = graphBody.byteLength +
    initializers.reduce((s, i) => s + i.head.byteLength + i.rawBytes, 0);
  if (graphLen >= 2 ** 31) {
    throw new RangeError(
      `Cannot build ONNX model as protobuf messages must be under 2 GiB: current graph is ${graphLen} bytes`,
    );
  }
  const modelFields = onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: "medprobe",
    producerVersion: "0.1.0",
    docString: meta.docString,
    opsetImport: [{ domain: "", version: OPSET }],
    metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
  }).finish();
  const prefix = concat([modelFields, framing(MODEL_GRAPH_FIELD, graphLen), graphBody]);
  return {
    prefix,
    initializers,
    totalBytes: prefix.byteLength + graphLen - graphBody.byteLength,
  };
}

/** Receives the model's bytes in order. */
export type ByteSink = (chunk: Uint8Array) => void | Promise<void>;

/**
 * Streams a planned model to `sink`: the prefix, then each initializer's
 * framing and raw float32 data, producing one tensor at a time. Throws
 * `TypeError` when a producer returns the wrong number of values.
 */
export async function writePlan(plan: ModelPlan, sink: ByteSink): Promise<void> {
  await sink(plan.prefix);
  for (const p of plan.initializers) {
    await sink(p.head);
    const data = await p.init.produce();
    if (data.byteLength !== p.rawBytes) {
      throw new TypeError(
        `Cannot write initializer "${p.init.name}" as it must have ${
          p.rawBytes / 4
        } values: current count is ${data.length}`,
      );
    }
    await sink(rawBytes(data));
  }
}

/** Streams a planned model into one preallocated buffer of exactly `totalBytes`. */
export async function encodePlan(plan: ModelPlan): Promise<Uint8Array> {
  const out = new Uint8Array(plan.totalBytes);
  let offset = 0;
  await writePlan(plan, (chunk) => {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  });
  if (offset !== plan.totalBytes) {
    throw new RangeError(
      `Cannot encode ONNX model as ${plan.totalBytes} bytes were planned: current count is ${offset}`,
    );
  }
  return out;
}

/** Decodes model bytes with `onnx-proto` (for tests and inspection). */
export function decodeModel(bytes: Uint8Array): P.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

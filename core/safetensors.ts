/**
 * safetensors I/O: full validation of the header, lazy per-tensor reads from
 * a file handle (a 1.2 GB ViT-L checkpoint is never loaded whole), F16/BF16
 * → F32 conversion, sharded checkpoints through `model.safetensors.index.json`,
 * and a deterministic writer with atomic saves.
 *
 * The file format: 8-byte little-endian header length `n`, `n` bytes of UTF-8
 * JSON mapping tensor names to `{dtype, shape, data_offsets: [begin, end]}`
 * (offsets relative to the data section, which starts at `8 + n`) plus an
 * optional `__metadata__` string map, then the data.
 *
 * File access uses `Deno.open` (needs `--allow-read`; saving needs
 * `--allow-write`); {@linkcode parseSafetensors} works on bytes anywhere.
 *
 * @example Reading a tensor lazily
 * ```ts ignore
 * import { SafetensorsFile } from "./safetensors.ts";
 * const file = await SafetensorsFile.open("model.safetensors");
 * const w = await file.readF32("norm.weight");
 * file.close();
 * ```
 *
 * @module
 */

import { FormatError } from "./errors.ts";
import { bf16ToF32, f16ToF32, formatShape, numel } from "./tensor.ts";
import { writeFileAtomic } from "./_fs.ts";

/** The dtypes medprobe reads and writes. */
export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Largest header accepted (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in the header. */
export interface TensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** Element type. */
  readonly dtype: SafetensorsDType;
  /** Shape. */
  readonly shape: readonly number[];
  /** Absolute byte offset of the first byte in the file. */
  readonly start: number;
  /** Byte length. */
  readonly byteLength: number;
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  /** Tensors by name, in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data section (`8 + n`). */
  readonly dataStart: number;
}

/** Typed array of a dtype's natural JS representation. */
export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * Reads the 8-byte header length and validates it against the file size.
 * Throws `FormatError` naming the file.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, path: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new FormatError(
      `Cannot read safetensors header as the file must be at least 8 bytes: current size is ${fileSize} bytes`,
      { path, offset: 0 },
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(
      `Cannot read safetensors header as its length must be at most ${MAX_HEADER_BYTES} bytes: current length is ${n}`,
      { path, offset: 0 },
    );
  }
  if (8n + n > BigInt(fileSize)) {
    throw new FormatError(
      `Cannot read safetensors header as its length ${n} runs past the end of the file (${fileSize} bytes)`,
      { path, offset: 0 },
    );
  }
  return Number(n);
}

/**
 * Parses and validates a header: UTF-8 and JSON validity, known dtypes,
 * integer shapes, offsets inside the data section, shape × dtype size equal
 * to the byte span, no overlapping tensors. Every failure is a `FormatError`
 * naming the file and the tensor.
 *
 * @param headerBytes The `n` JSON bytes (after the 8-byte length).
 * @param fileSize Total file size in bytes.
 * @param path File name for messages.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  path: string,
): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new FormatError("Cannot read safetensors header as it is not valid UTF-8", {
      path,
      offset: 8,
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new FormatError(
      `Cannot read safetensors header as it is not valid JSON: ${(cause as Error).message}`,
      { path, offset: 8, cause },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FormatError("Cannot read safetensors header as it must be a JSON object", {
      path,
      offset: 8,
    });
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new FormatError(
          'Cannot read safetensors header as "__metadata__" must be an object of strings',
          { path, offset: 8 },
        );
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") {
          throw new FormatError(
            `Cannot read safetensors header as metadata "${k}" must be a string: current type is ${typeof v}`,
            { path, offset: 8 },
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    const entry = raw as Record<string, unknown>;
    if (typeof entry !== "object" || entry === null) {
      throw new FormatError(`Cannot read ${where} as its header entry must be an object`, {
        path,
        offset: 8,
      });
    }
    const dtype = entry.dtype as SafetensorsDType;
    if (typeof dtype !== "string" || !(dtype in DTYPE_SIZE)) {
      throw new FormatError(
        `Cannot read ${where} as its dtype must be one of ${
          Object.keys(DTYPE_SIZE).join(", ")
        }: current dtype is ${JSON.stringify(entry.dtype)}`,
        { path, offset: 8 },
      );
    }
    const shape = entry.shape;
    if (
      !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      throw new FormatError(
        `Cannot read ${where} as its shape must be a list of non-negative integers: current shape is ${
          JSON.stringify(shape)
        }`,
        { path, offset: 8 },
      );
    }
    const offsets = entry.data_offsets;
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      throw new FormatError(
        `Cannot read ${where} as data_offsets must be [begin, end] with 0 <= begin <= end: current value is ${
          JSON.stringify(offsets)
        }`,
        { path, offset: 8 },
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) {
      throw new FormatError(
        `Cannot read ${where} as its data [${begin}, ${end}) must lie inside the data section of ${dataSize} bytes`,
        { path, offset: dataStart + begin },
      );
    }
    const expected = numel(shape) * DTYPE_SIZE[dtype];
    if (end - begin !== expected) {
      throw new FormatError(
        `Cannot read ${where} as shape ${
          formatShape(shape)
        } × ${dtype} needs ${expected} bytes: current byte span is ${end - begin}`,
        { path, offset: dataStart + begin },
      );
    }
    tensors.set(name, { name, dtype, shape, start: dataStart + begin, byteLength: end - begin });
  }
  const spans = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) =>
    a.start - b.start
  );
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1];
    if (spans[i].start < prev.start + prev.byteLength) {
      throw new FormatError(
        `Cannot read tensor "${spans[i].name}" as its data overlaps tensor "${prev.name}"`,
        { path, offset: spans[i].start },
      );
    }
  }
  return { tensors, metadata, dataStart };
}

/** Random access to bytes: a file handle or an in-memory buffer. */
interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): void;
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
    close() {},
  };
}

async function fileSource(path: string): Promise<ByteSource> {
  const file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < length) {
        const n = await file.read(out.subarray(done));
        if (n === null) {
          throw new FormatError(
            `Cannot read ${length} bytes as the file ended after ${done}`,
            { path, offset: offset + done },
          );
        }
        done += n;
      }
      return out;
    },
    close() {
      file.close();
    },
  };
}

function view(dtype: SafetensorsDType, bytes: Uint8Array): TensorData {
  const size = DTYPE_SIZE[dtype];
  // A view needs an aligned offset; copy otherwise (other writers need not align).
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / size;
  const { buffer, byteOffset } = aligned;
  switch (dtype) {
    case "F64":
      return new Float64Array(buffer, byteOffset, n);
    case "F32":
      return new Float32Array(buffer, byteOffset, n);
    case "F16":
    case "BF16":
      return new Uint16Array(buffer, byteOffset, n);
    case "I64":
      return new BigInt64Array(buffer, byteOffset, n);
    case "I32":
      return new Int32Array(buffer, byteOffset, n);
    case "I16":
      return new Int16Array(buffer, byteOffset, n);
    case "I8":
      return new Int8Array(buffer, byteOffset, n);
    case "U8":
    case "BOOL":
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/**
 * Converts tensor data of any dtype to float32 (F16/BF16 exactly, F64 and
 * integers by rounding to nearest).
 */
export function toFloat32(dtype: SafetensorsDType, data: TensorData): Float32Array {
  if (dtype === "F32") return data as Float32Array;
  if (dtype === "F16") return f16ToF32(data as Uint16Array);
  if (dtype === "BF16") return bf16ToF32(data as Uint16Array);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

/** An open safetensors file; tensors are read on demand. */
export class SafetensorsFile {
  /** File name (for messages). */
  readonly path: string;
  /** The validated header. */
  readonly header: SafetensorsHeader;
  #source: ByteSource;

  private constructor(path: string, header: SafetensorsHeader, source: ByteSource) {
    this.path = path;
    this.header = header;
    this.#source = source;
  }

  /** Opens a file and validates its header; tensor data stays on disk. */
  static async open(path: string): Promise<SafetensorsFile> {
    const source = await fileSource(path);
    try {
      return await SafetensorsFile.#fromSource(path, source);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /** Wraps bytes already in memory. */
  static fromBytes(bytes: Uint8Array, path = "<memory>"): Promise<SafetensorsFile> {
    return SafetensorsFile.#fromSource(path, memorySource(bytes));
  }

  static async #fromSource(path: string, source: ByteSource): Promise<SafetensorsFile> {
    const prefix = await source.read(0, Math.min(8, source.size));
    const n = readHeaderLength(prefix, source.size, path);
    const header = parseSafetensorsHeader(await source.read(8, n), source.size, path);
    return new SafetensorsFile(path, header, source);
  }

  /** Tensor names in header order. */
  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  /** The header entry of a tensor; throws `FormatError` naming it when absent. */
  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) {
      throw new FormatError(`Cannot find tensor "${name}" as the file does not contain it`, {
        path: this.path,
      });
    }
    return t;
  }

  /** Reads a tensor's raw bytes. */
  readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return this.#source.read(t.start, t.byteLength);
  }

  /** Reads a tensor as its natural typed array (F16/BF16 as raw `Uint16Array` bits). */
  async read(name: string): Promise<TensorData> {
    const t = this.info(name);
    return view(t.dtype, await this.readBytes(name));
  }

  /** Reads a tensor converted to float32. */
  async readF32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    return toFloat32(t.dtype, await this.read(name));
  }

  /** Closes the file handle. */
  close(): void {
    this.#source.close();
  }
}

/**
 * Parses a whole safetensors buffer and returns every tensor (for small files).
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * const { tensors } = parseSafetensors(bytes);
 * assert.deepEqual([...tensors.w.data as Float32Array], [1, 2]);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, path = "<memory>"): {
  tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; data: TensorData }>;
  metadata: Record<string, string>;
} {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, path);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.byteLength, path);
  const tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; data: TensorData }> =
    {};
  for (const t of header.tensors.values()) {
    tensors[t.name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data: view(t.dtype, bytes.subarray(t.start, t.start + t.byteLength)),
    };
  }
  return { tensors, metadata: { ...header.metadata } };
}

/** A tensor to write. */
export interface TensorToWrite {
  /** Element type. */
  dtype: SafetensorsDType;
  /** Shape. */
  shape: readonly number[];
  /** Values; its byte length must equal numel(shape) × dtype size. */
  data: ArrayBufferView;
}

/**
 * Encodes tensors as safetensors bytes, deterministically: tensors ordered by
 * element size (largest first, so every tensor is aligned) then name, header
 * keys sorted, header padded with spaces to a multiple of 8 bytes.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const d = DTYPE_SIZE[tensors[b].dtype] - DTYPE_SIZE[tensors[a].dtype];
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    header.__metadata__ = Object.fromEntries(
      Object.keys(metadata).sort().map((k) => [
        k,
        metadata[k],
      ]),
    );
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!(t.dtype in DTYPE_SIZE)) {
      throw new TypeError(`Cannot write tensor "${name}" as dtype "${t.dtype}" is unknown`);
    }
    const bytes = numel(t.shape) * DTYPE_SIZE[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new TypeError(
        `Cannot write tensor "${name}" as shape ${
          formatShape(t.shape)
        } × ${t.dtype} needs ${bytes} bytes: current data has ${t.data.byteLength} bytes`,
      );
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const sorted = Object.fromEntries(Object.keys(header).sort().map((k) => [k, header[k]]));
  let json = new TextEncoder().encode(JSON.stringify(sorted));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** Encodes and atomically saves tensors to a safetensors file. */
export function saveSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  return writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** A model checkpoint: one `model.safetensors` or shards listed in an index. */
export class Checkpoint {
  /** The files backing it. */
  readonly files: readonly SafetensorsFile[];
  #byName = new Map<string, SafetensorsFile>();

  private constructor(files: SafetensorsFile[], map: Map<string, SafetensorsFile>) {
    this.files = files;
    this.#byName = map;
  }

  /**
   * Opens a checkpoint folder (`model.safetensors`, or
   * `model.safetensors.index.json` with its shards) or a single file.
   */
  static async open(pathOrDir: string): Promise<Checkpoint> {
    const stat = await Deno.stat(pathOrDir);
    if (stat.isFile) {
      const f = await SafetensorsFile.open(pathOrDir);
      return new Checkpoint([f], new Map(f.names.map((n) => [n, f])));
    }
    const dir = pathOrDir.replace(/\/+$/, "");
    const indexPath = `${dir}/model.safetensors.index.json`;
    let index: { weight_map?: Record<string, string> } | undefined;
    try {
      index = JSON.parse(await Deno.readTextFile(indexPath));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new FormatError(`Cannot read checkpoint index: ${(e as Error).message}`, {
          path: indexPath,
          cause: e,
        });
      }
    }
    if (!index) {
      const single = `${dir}/model.safetensors`;
      try {
        await Deno.stat(single);
      } catch (cause) {
        throw new Deno.errors.NotFound(
          `Cannot open checkpoint as ${dir} must contain model.safetensors or model.safetensors.index.json`,
          { cause },
        );
      }
      return Checkpoint.open(single);
    }
    const weightMap = index.weight_map;
    if (typeof weightMap !== "object" || weightMap === null) {
      throw new FormatError('Cannot read checkpoint index as "weight_map" must be an object', {
        path: indexPath,
      });
    }
    const shards = new Map<string, SafetensorsFile>();
    const map = new Map<string, SafetensorsFile>();
    try {
      for (const [name, shard] of Object.entries(weightMap)) {
        if (typeof shard !== "string" || shard.includes("..") || shard.startsWith("/")) {
          throw new FormatError(
            `Cannot read checkpoint index as the shard of "${name}" must be a file name in the folder: current value is ${
              JSON.stringify(shard)
            }`,
            { path: indexPath },
          );
        }
        let file = shards.get(shard);
        if (!file) {
          file = await SafetensorsFile.open(`${dir}/${shard}`);
          shards.set(shard, file);
        }
        if (!file.header.tensors.has(name)) {
          throw new FormatError(
            `Cannot find tensor "${name}" in shard ${shard} although the index lists it there`,
            { path: `${dir}/${shard}` },
          );
        }
        map.set(name, file);
      }
    } catch (e) {
      for (const f of shards.values()) f.close();
      throw e;
    }
    return new Checkpoint([...shards.values()], map);
  }

  /** All tensor names. */
  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /** True when the checkpoint holds a tensor. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Header entry of a tensor. */
  info(name: string): TensorInfo {
    const f = this.#byName.get(name);
    if (!f) {
      throw new FormatError(`Cannot find tensor "${name}" as the checkpoint does not contain it`, {
        path: this.files.map((x) => x.path).join(", "),
      });
    }
    return f.info(name);
  }

  /** Reads a tensor as float32. */
  readF32(name: string): Promise<Float32Array> {
    this.info(name);
    return this.#byName.get(name)!.readF32(name);
  }

  /** Closes every file. */
  close(): void {
    for (const f of this.files) f.close();
  }
}

/** SHA-256 (hex) of a file, streamed so large checkpoints are never held whole. */
export async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 22);
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

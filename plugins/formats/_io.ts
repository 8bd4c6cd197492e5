/**
 * Shared byte-level helpers of the format readers: whole-file reads, random
 * access sources (a file handle or an in-memory buffer), checked gunzip, and
 * small typed-array utilities. Private to `plugins/formats`.
 *
 * The file-based helpers use `Deno.open`/`Deno.stat` (read permission).
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
import { FormatError } from "../../core/errors.ts";
import { getReadLimits } from "./limits.ts";

/** Random access to the bytes of one file, read on demand. */
export interface ByteSource {
  /** The file path (or source name) used in error messages. */
  readonly path: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Throws {@linkcode FormatError} when the
   * range runs past the end of the source.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying file handle (a no-op for buffers). */
  close(): void;
}

/** Throws a `FormatError` unless `[offset, offset + length)` lies inside `size` bytes. */
export function checkRange(
  path: string,
  size: number,
  offset: number,
  length: number,
  what: string,
): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(
      `Cannot read ${what} as its offset or length is invalid: current offset is ${offset}, length ${length}`,
      { path, offset: Number.isFinite(offset) ? offset : undefined },
    );
  }
  if (offset + length > size) {
    throw new FormatError(
      `Cannot read ${what} as it runs past the end of the file: ${length} bytes at offset ${offset}, file size is ${size}`,
      { path, offset },
    );
  }
}

/** A {@linkcode ByteSource} over bytes already in memory (no copy on read). */
export function createBytesSource(bytes: Uint8Array, path: string): ByteSource {
  return {
    path,
    size: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      checkRange(path, bytes.length, offset, length, "bytes");
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
    close(): void {},
  };
}

/**
 * Opens a file as a {@linkcode ByteSource}; reads are serialised on one
 * handle. Uses `Deno.open` (read permission). Throws `Deno.errors.NotFound`
 * when the file does not exist.
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  const file = await Deno.open(path, { read: true });
  let size: number;
  try {
    size = (await file.stat()).size;
  } catch (error) {
    file.close();
    throw error;
  }
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  async function readAt(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const n = await file.read(out.subarray(filled));
      if (n === null) {
        throw new FormatError(
          `Cannot read ${length} bytes at offset ${offset} as the file ended after ${filled}`,
          { path, offset: offset + filled },
        );
      }
      filled += n;
    }
    return out;
  }
  return {
    path,
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      if (closed) return Promise.reject(new TypeError(`Cannot read "${path}" as it is closed`));
      checkRange(path, size, offset, length, "bytes");
      const result = queue.then(() => readAt(offset, length));
      queue = result.catch(() => undefined);
      return result;
    },
    close(): void {
      if (!closed) {
        closed = true;
        file.close();
      }
    },
  };
}

/**
 * Reads a whole file into one exactly sized buffer (no growth copies). Uses
 * `Deno.open` (read permission); `Deno.errors.NotFound` propagates.
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const n = await file.read(out.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled !== size) {
      throw new FormatError(
        `Cannot read file as it shrank while reading: ${filled} of ${size} bytes`,
        {
          path,
        },
      );
    }
    return out;
  } finally {
    file.close();
  }
}

/** True when the bytes start with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Options of {@linkcode gunzipChecked}. */
export interface GunzipOptions {
  /**
   * Most bytes the output may have: what the header of the compressed file
   * declares (a NIfTI's `vox_offset` + voxels × bytes), else the read budget
   * `maxBytes`. Inflation stops as soon as it is passed.
   */
  maxOutput?: number;
  /** The header field that declared `maxOutput`, for the message. */
  field?: string;
}

/**
 * Decompresses gzip data with `node:zlib`, turning every failure (truncated
 * stream, bad CRC, corrupt deflate data, more output than declared or than
 * the read budget) into a {@linkcode FormatError}.
 */
export function gunzipChecked(
  bytes: Uint8Array,
  path: string,
  options: GunzipOptions = {},
): Uint8Array {
  if (!isGzip(bytes)) {
    throw new FormatError(
      `Cannot decompress gzip data as the magic bytes must be 1f 8b: current bytes are ${
        formatHexBytes(bytes.subarray(0, 2))
      }`,
      { path, offset: 0 },
    );
  }
  if (bytes.length < 18) {
    throw new FormatError(
      `Cannot decompress gzip data as it is truncated: ${bytes.length} bytes, a gzip member needs at least 18`,
      { path },
    );
  }
  const budget = getReadLimits().maxBytes;
  const maxOutput = Math.min(options.maxOutput ?? budget, budget);
  const field = options.maxOutput !== undefined && options.maxOutput <= budget
    ? options.field ?? "the header"
    : "the read limit maxBytes (MEDPROBE_MAX_DECODE_MB)";
  // The trailer's ISIZE (output size mod 2^32) sizes zlib's output buffer so
  // the result is one allocation instead of chunks joined into a second
  // copy. It is only a hint: bounded by deflate's maximum ratio (1032:1),
  // the allowed output and 1 GiB, a wrong or multi-member value just costs
  // extra chunks.
  const isize = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(
    0,
    true,
  );
  const chunkSize = Math.max(
    64 * 1024,
    Math.min(isize + 64, bytes.length * 1032, maxOutput + 64, 2 ** 30),
  );
  try {
    const out = gunzipSync(bytes, { chunkSize, maxOutputLength: Math.max(1, maxOutput) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (cause) {
    if ((cause as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") {
      throw new FormatError(
        `Cannot decompress gzip data as its output must be at most ${maxOutput} bytes as declared by ${field}: the stream inflates to more`,
        { path, cause },
      );
    }
    throw new FormatError(
      `Cannot decompress gzip data as it is truncated or corrupt: ${getErrorText(cause)}`,
      { path, cause },
    );
  }
}

/** The bytes of `parts`, one after the other, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Formats bytes as space-separated hex for messages (`1f 8b`). */
export function formatHexBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ") || "(none)";
}

/**
 * The message of an unknown thrown value, as one line for a `FormatError`'s
 * cause: libraries throw strings (dicom-parser), objects with an
 * `exception` field, or multi-line dumps (HDF5-DIAG); the first non-empty
 * line is kept, at most 300 characters.
 */
export function getErrorText(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = error.message || error.name;
  else if (typeof error === "object" && error !== null && "exception" in error) {
    text = String((error as { exception: unknown }).exception);
  } else text = String(error);
  const line = text.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "unknown error";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** Returns a copy of `bytes` in a fresh, 0-offset `ArrayBuffer` (for aligned typed views). */
export function copyToArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}

/** True on little-endian hosts (every platform Deno supports today). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Swaps the byte order of each `size`-byte element of `bytes` in place. */
export function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const n = bytes.length - (bytes.length % size);
  for (let i = 0; i < n; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

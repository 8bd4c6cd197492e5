/**
 * Bounded strip/tile decoders for geotiff: LZW, Deflate and PackBits whose output can
 * never pass the block's expected size (tile width × tile height × bytes
 * per pixel), registered in place of geotiff's own (whose LZW grows a
 * JavaScript array without limit: a PackBits file relabelled as LZW reached
 * 3.8 GB before failing). Private to `plugins/formats`.
 *
 * @module
 */

import * as GeoTIFF from "geotiff";
import { inflateSync } from "node:zlib";
import { getErrorText } from "../_io.ts";

/** The block parameters geotiff hands a decoder, plus what the bound needs. */
interface BlockParameters {
  tileWidth: number;
  tileHeight: number;
  planarConfiguration: number;
  bitsPerSample: number | ArrayLike<number>;
  predictor: number;
  samplesPerPixel?: number;
}

/** The most bytes one decoded block may hold. */
export function getBlockLimit(p: BlockParameters): number {
  const bits = typeof p.bitsPerSample === "number"
    ? [p.bitsPerSample]
    : Array.from(p.bitsPerSample);
  const perPixel = p.planarConfiguration === 2
    ? Math.ceil((bits[0] ?? 8) / 8)
    : Math.ceil(bits.reduce((a, b) => a + b, 0) / 8);
  return Math.max(1, p.tileWidth * p.tileHeight * Math.max(1, perPixel));
}

/**
 * Decodes TIFF LZW (MSB-first codes, 9 to 12 bits, early change, as libtiff
 * writes) into at most `limit` bytes; throws an `Error` naming the limit as
 * soon as the output would pass it, or on a code that is not in the table.
 */
export function decodeLzw(input: Uint8Array, limit: number): Uint8Array {
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const lengths = new Uint16Array(4096);
  const first = new Uint8Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    lengths[i] = 1;
    first[i] = i;
  }
  const out = new Uint8Array(limit);
  const totalBits = input.length * 8;
  let pos = 0;
  let bit = 0;
  let width = 9;
  let next = 258;
  let old = -1;
  const emit = (code: number) => {
    const len = lengths[code];
    if (pos + len > limit) {
      throw new Error(
        `LZW output must be at most ${limit} bytes (the block's tile width × height × bytes per pixel): the data decodes to more`,
      );
    }
    let c = code;
    for (let k = pos + len - 1; k >= pos; k--) {
      out[k] = suffix[c];
      c = prefix[c];
    }
    pos += len;
  };
  const add = (p: number, ch: number) => {
    if (next >= 4096) return;
    prefix[next] = p;
    suffix[next] = ch;
    lengths[next] = lengths[p] + 1;
    first[next] = first[p];
    next++;
  };
  while (bit + width <= totalBits) {
    const at = bit >> 3;
    const word = (input[at] << 16) | ((input[at + 1] ?? 0) << 8) | (input[at + 2] ?? 0);
    const code = (word >> (24 - (bit & 7) - width)) & ((1 << width) - 1);
    bit += width;
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new Error(`corrupt LZW data: code ${code} right after a clear code`);
      emit(code);
    } else if (code < next) {
      emit(code);
      add(old, first[code]);
    } else if (code === next) {
      add(old, first[old]);
      emit(code);
    } else {
      throw new Error(`corrupt LZW data: code ${code} is not in the table (${next} entries)`);
    }
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return pos === limit ? out : out.slice(0, pos);
}

/**
 * Decodes PackBits into at most `limit` bytes; throws an `Error` naming the
 * limit as soon as the output would pass it, or when a run reads past the
 * end of the data.
 */
export function decodePackBits(input: Uint8Array, limit: number): Uint8Array {
  const out = new Uint8Array(limit);
  let pos = 0;
  const overflow = () =>
    new Error(
      `PackBits output must be at most ${limit} bytes (the block's tile width × height × bytes per pixel): the data decodes to more`,
    );
  for (let i = 0; i < input.length;) {
    const header = (input[i] << 24) >> 24; // int8
    i++;
    if (header >= 0) {
      const n = header + 1;
      if (i + n > input.length) {
        throw new Error("corrupt PackBits data: a literal run passes the end");
      }
      if (pos + n > limit) throw overflow();
      out.set(input.subarray(i, i + n), pos);
      pos += n;
      i += n;
    } else if (header !== -128) {
      const n = 1 - header;
      if (i >= input.length) throw new Error("corrupt PackBits data: a repeat run passes the end");
      if (pos + n > limit) throw overflow();
      out.fill(input[i], pos, pos + n);
      pos += n;
      i++;
    }
  }
  return pos === limit ? out : out.slice(0, pos);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer;
}

class BoundedLzwDecoder extends GeoTIFF.BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const limit = getBlockLimit(this.parameters as unknown as BlockParameters);
    return toArrayBuffer(decodeLzw(new Uint8Array(buffer), limit));
  }
}

class BoundedPackBitsDecoder extends GeoTIFF.BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const limit = getBlockLimit(this.parameters as unknown as BlockParameters);
    return toArrayBuffer(decodePackBits(new Uint8Array(buffer), limit));
  }
}

class BoundedDeflateDecoder extends GeoTIFF.BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    const limit = getBlockLimit(this.parameters as unknown as BlockParameters);
    try {
      return toArrayBuffer(
        new Uint8Array(inflateSync(new Uint8Array(buffer), { maxOutputLength: limit })),
      );
    } catch (cause) {
      if ((cause as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") {
        throw new Error(
          `Deflate output must be at most ${limit} bytes (the block's tile width × height × bytes per pixel): the data inflates to more`,
        );
      }
      throw new Error(`corrupt Deflate data: ${getErrorText(cause)}`);
    }
  }
}

let registered = false;

/**
 * Registers the bounded LZW (5), Deflate (8, 32946) and PackBits (32773) decoders with
 * geotiff, once per process, and routes geotiff's console warnings
 * ("ran off the end of the buffer") to nowhere: the readers report
 * failures themselves.
 */
export function registerBoundedTiffDecoders(): void {
  if (registered) return;
  registered = true;
  const api = GeoTIFF as unknown as {
    addDecoder(
      cases: number | number[],
      importFn: () => Promise<unknown>,
      parameterFn?: undefined,
      preferWorker?: boolean,
    ): void;
    setLogger?(logger: unknown): void;
  };
  api.addDecoder(5, () => Promise.resolve(BoundedLzwDecoder), undefined, false);
  api.addDecoder([8, 32946], () => Promise.resolve(BoundedDeflateDecoder), undefined, false);
  api.addDecoder(32773, () => Promise.resolve(BoundedPackBitsDecoder), undefined, false);
  const quiet = () => {};
  api.setLogger?.({
    log: quiet,
    info: quiet,
    warn: quiet,
    error: quiet,
    debug: quiet,
    time: quiet,
    timeEnd: quiet,
  });
}

/**
 * A streaming baseline JPEG decoder: reads the file in 1 MiB pieces and
 * yields the image one MCU row (a band of 8 or 16 rows) at a time, so a
 * 50,000 × 40,000 slide (BCNB ships single JPEG files that size) never needs
 * more than a few MiB of pixels. Samples match libjpeg-turbo: the accurate
 * integer IDCT (`jpeg_idct_islow`), libjpeg's "fancy" chroma upsampling and
 * rounded YCbCr → RGB (`plugins/formats/_jpeg_color.ts`).
 *
 * Supported: baseline and extended sequential Huffman JPEG (SOF0/SOF1),
 * 8-bit, 1 or 3 components, any integer sampling factors, restart markers,
 * one interleaved scan. Progressive, arithmetic-coded, lossless and
 * multi-scan sequential files throw a {@linkcode FormatError} naming the file.
 *
 * Two shortcuts for whole-slide work: `scale: 8` yields the image at 1/8
 * from the DC coefficients alone (no IDCT, as libjpeg's `scale_denom = 8`
 * does approximately), for tissue detection; `rows`/`columns` masks skip the
 * IDCT of MCU rows and columns nobody reads (the entropy decoding still runs
 * over every block, as it must). Skipped samples are left at 0.
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { checkDecodeBudget } from "../limits.ts";
import { convertYcbcrRow, upsampleRow } from "../_jpeg_color.ts";
import { ZIGZAG } from "./_tables.ts";

/** A band of decoded rows. */
export interface JpegBand {
  /** First image row of the band (in output rows, so divided by the scale). */
  y: number;
  /** Rows in the band. */
  height: number;
  /** Samples, `height * width * channels`, row-major, interleaved. */
  data: Uint8Array;
  /** 1 (grey) or 3 (RGB). */
  channels: number;
  /** Width of the band (the image width divided by the scale, rounded up). */
  width: number;
}

/** Options of {@linkcode JpegStream.bands}. */
export interface JpegBandOptions {
  /** 1 (full resolution) or 8 (DC only, 1/8 scale). @default {1} */
  scale?: 1 | 8;
  /** Per MCU row: decode pixels (1) or only entropy-decode (0). Default all. */
  rows?: Uint8Array;
  /** Per MCU column: decode pixels (1) or skip the IDCT (0). Default all. */
  columns?: Uint8Array;
}

/** An open streaming JPEG. */
export interface JpegStream {
  /** The file path. */
  readonly path: string;
  /** Image width. */
  readonly width: number;
  /** Image height. */
  readonly height: number;
  /** 1 or 3. */
  readonly channels: number;
  /**
   * µm per pixel from the JFIF density, when it is microscope-scale (at
   * least 1,000 px/cm, or 2,540 dpi); ordinary 72–300 dpi values say nothing
   * about a slide's resolution and give undefined.
   */
  readonly mpp: number | undefined;
  /** Image rows per MCU row (8 × the largest vertical sampling factor). */
  readonly mcuHeight: number;
  /** Image columns per MCU (8 × the largest horizontal sampling factor). */
  readonly mcuWidth: number;
  /** MCU rows. */
  readonly mcuRows: number;
  /** MCU columns. */
  readonly mcuColumns: number;
  /** Decodes the image top to bottom, one MCU row per band. Restarts from the top on every call. */
  bands(options?: JpegBandOptions): AsyncGenerator<JpegBand>;
  /** {@linkcode JpegStream.bands} as a synchronous generator. */
  bandsSync(options?: JpegBandOptions): Generator<JpegBand>;
  /** Closes the file. */
  close(): void;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  td: number;
  ta: number;
  blocksPerRow: number; // in the MCU grid (padded)
  width: number; // real width in samples
  height: number;
  rows: Uint8Array[]; // this MCU row's 8*v rows of blocksPerRow*8 samples
  prevLast: Uint8Array; // last row of the previous MCU row
  pred: number;
}

interface Huffman {
  lookup: Int32Array; // 9-bit lookahead: (length << 8) | value, 0 = slow path
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const lookup = new Int32Array(512);
  let code = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < counts[len - 1]; i++) {
      if (len <= 9) {
        const shift = 9 - len;
        for (let f = 0; f < 1 << shift; f++) lookup[(code << shift) | f] = (len << 8) | values[k];
      }
      code++;
      k++;
    }
    maxcode[len] = counts[len - 1] ? code - 1 : -1;
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { lookup, maxcode, valptr, mincode, values };
}

/** Reads a file forward in pieces with synchronous refills (the decoder's inner loop is synchronous). */
/** Where the reader's bytes come from: a file, or bytes in memory. */
interface SyncSource {
  readSync(buf: Uint8Array): number | null;
  seekSync(offset: number, whence: Deno.SeekMode): number;
}

function bytesSource(bytes: Uint8Array): SyncSource {
  let at = 0;
  return {
    readSync(buf: Uint8Array): number | null {
      if (at >= bytes.length) return null;
      const n = Math.min(buf.length, bytes.length - at);
      buf.set(bytes.subarray(at, at + n));
      at += n;
      return n;
    },
    seekSync(offset: number): number {
      at = offset;
      return at;
    },
  };
}

class Reader {
  readonly #file: SyncSource;
  readonly #buf: Uint8Array;
  #start = 0; // file offset of #buf[0]
  #pos = 0;
  #end = 0;
  #eof = false;
  constructor(file: SyncSource, bufferSize = 1 << 20) {
    this.#file = file;
    this.#buf = new Uint8Array(bufferSize);
  }
  get offset(): number {
    return this.#start + this.#pos;
  }
  rewind(): void {
    this.#file.seekSync(0, Deno.SeekMode.Start);
    this.#start = 0;
    this.#pos = 0;
    this.#end = 0;
    this.#eof = false;
  }
  #fill(): boolean {
    if (this.#eof) return false;
    this.#start += this.#end;
    this.#pos = 0;
    this.#end = 0;
    while (this.#end < this.#buf.length) {
      const n = this.#file.readSync(this.#buf.subarray(this.#end));
      if (n === null || n === 0) {
        this.#eof = true;
        break;
      }
      this.#end += n;
    }
    return this.#end > 0;
  }
  /** The next byte, or -1 at the end of the file. */
  byte(): number {
    if (this.#pos >= this.#end && !this.#fill()) return -1;
    return this.#buf[this.#pos++];
  }
  /** The next byte without consuming it, or -1. */
  peek(): number {
    if (this.#pos >= this.#end && !this.#fill()) return -1;
    return this.#buf[this.#pos];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.byte();
      if (b < 0) throw new RangeError("end of file");
      out[i] = b;
    }
    return out;
  }
  skip(n: number): void {
    for (let i = 0; i < n; i++) if (this.byte() < 0) throw new RangeError("end of file");
  }
}

interface Header {
  width: number;
  height: number;
  components: Component[];
  quant: Int32Array[];
  dc: Huffman[];
  ac: Huffman[];
  restart: number;
  adobeTransform: number | undefined;
  jfifDensity: { units: number; x: number; y: number } | undefined;
  scanOffset: number;
}

function fail(path: string, message: string, offset?: number): never {
  throw new FormatError(`Cannot decode JPEG as ${message}`, { path, offset });
}

function readHeader(r: Reader, path: string): Header {
  if (r.byte() !== 0xff || r.byte() !== 0xd8) {
    fail(path, "it must start with the SOI marker FFD8", 0);
  }
  const quant: Int32Array[] = [];
  const dc: Huffman[] = [], ac: Huffman[] = [];
  let restart = 0;
  let adobe: number | undefined;
  let jfif: { units: number; x: number; y: number } | undefined;
  let frame: { width: number; height: number; components: Component[] } | undefined;
  const u16 = () => (r.byte() << 8) | r.byte();
  for (;;) {
    let b = r.byte();
    if (b < 0) fail(path, "the file ended before the first scan", r.offset);
    if (b !== 0xff) fail(path, `a marker was expected: current byte is ${b}`, r.offset - 1);
    do b = r.byte(); while (b === 0xff);
    const at = r.offset - 2;
    if (b === 0xd8 || (b >= 0xd0 && b <= 0xd7) || b === 0x01) continue;
    if (b === 0xd9) fail(path, "the file ended (EOI) before the first scan", at);
    let length: number;
    try {
      length = u16() - 2;
      if (length < 0) fail(path, `segment FF${b.toString(16).toUpperCase()} has a bad length`, at);
      const seg = r.bytes(length);
      if (b === 0xdb) {
        for (let i = 0; i < seg.length;) {
          const pq = seg[i] >> 4, tq = seg[i] & 15;
          const t = new Int32Array(64);
          for (let k = 0; k < 64; k++) {
            t[ZIGZAG[k]] = pq ? (seg[i + 1 + 2 * k] << 8) | seg[i + 2 + 2 * k] : seg[i + 1 + k];
          }
          quant[tq] = t;
          i += 1 + (pq ? 128 : 64);
        }
      } else if (b === 0xc4) {
        for (let i = 0; i < seg.length;) {
          const tc = seg[i] >> 4, th = seg[i] & 15;
          const counts = seg.subarray(i + 1, i + 17);
          const total = counts.reduce((a, c) => a + c, 0);
          const table = buildHuffman(counts, seg.slice(i + 17, i + 17 + total));
          (tc === 0 ? dc : ac)[th] = table;
          i += 17 + total;
        }
      } else if (b === 0xdd) {
        restart = (seg[0] << 8) | seg[1];
      } else if (
        b === 0xe0 && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "JFIF\0"
      ) {
        jfif = { units: seg[7], x: (seg[8] << 8) | seg[9], y: (seg[10] << 8) | seg[11] };
      } else if (
        b === 0xee && seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === "Adobe"
      ) {
        adobe = seg[11];
      } else if (b === 0xc0 || b === 0xc1) {
        if (seg[0] !== 8) {
          fail(path, `the sample precision must be 8 bits: current value is ${seg[0]}`, at);
        }
        const height = (seg[1] << 8) | seg[2], width = (seg[3] << 8) | seg[4];
        const n = seg[5];
        if (n !== 1 && n !== 3) {
          fail(path, `it must have 1 or 3 components: current count is ${n}`, at);
        }
        if (width < 1 || height < 1) {
          fail(path, `the frame must be at least 1x1: current size is ${width}x${height}`, at);
        }
        const components: Component[] = [];
        for (let c = 0; c < n; c++) {
          const h = seg[7 + c * 3] >> 4, v = seg[7 + c * 3] & 15;
          if (h < 1 || v < 1 || h > 4 || v > 4) {
            fail(path, `sampling factors must be 1-4: current are ${h}x${v}`, at);
          }
          components.push({
            id: seg[6 + c * 3],
            h,
            v,
            tq: seg[8 + c * 3],
            td: 0,
            ta: 0,
            blocksPerRow: 0,
            width: 0,
            height: 0,
            rows: [],
            prevLast: new Uint8Array(0),
            pred: 0,
          });
        }
        frame = { width, height, components };
      } else if (b >= 0xc2 && b <= 0xcf && b !== 0xc4 && b !== 0xc8 && b !== 0xcc) {
        fail(
          path,
          `only baseline and extended sequential Huffman JPEG is supported: marker FF${
            b.toString(16).toUpperCase()
          } (${
            b === 0xc2 ? "progressive" : b === 0xc3 ? "lossless" : "arithmetic or hierarchical"
          })`,
          at,
        );
      } else if (b === 0xda) {
        if (!frame) fail(path, "the scan comes before the frame header (SOF)", at);
        const ns = seg[0];
        if (ns !== frame.components.length) {
          fail(
            path,
            `the scan must hold every component (one interleaved scan): current scan has ${ns} of ${frame.components.length}`,
            at,
          );
        }
        for (let i = 0; i < ns; i++) {
          const comp = frame.components.find((c) => c.id === seg[1 + i * 2]);
          if (!comp) fail(path, `the scan names an unknown component ${seg[1 + i * 2]}`, at);
          comp.td = seg[2 + i * 2] >> 4;
          comp.ta = seg[2 + i * 2] & 15;
          if (!dc[comp.td] || !ac[comp.ta] || !quant[comp.tq]) {
            fail(
              path,
              `component ${comp.id} refers to a missing Huffman or quantisation table`,
              at,
            );
          }
        }
        return {
          ...frame,
          quant,
          dc,
          ac,
          restart,
          adobeTransform: adobe,
          jfifDensity: jfif,
          scanOffset: r.offset,
        };
      }
    } catch (e) {
      if (e instanceof RangeError) fail(path, "the file ended inside a header segment", at);
      throw e;
    }
  }
}

function densityMpp(d: { units: number; x: number } | undefined): number | undefined {
  if (!d || d.x <= 0) return undefined;
  if (d.units === 2 && d.x >= 1000) return 10000 / d.x;
  if (d.units === 1 && d.x >= 2540) return 25400 / d.x;
  return undefined;
}

function rangeLimit(x: number): number {
  const m = x & 1023;
  return m < 128 ? m + 128 : m < 512 ? 255 : m < 896 ? 0 : m - 896;
}

/** libjpeg's `jpeg_idct_islow` of one dequantised block (natural order) into `out` at `stride`. */
function idctIslow(
  coef: Int32Array,
  qt: Int32Array,
  ws: Int32Array,
  out: Uint8Array[],
  x0: number,
  row0: number,
): void {
  let z1, z2, z3, z4, z5, t0, t1, t2, t3, t10, t11, t12, t13;
  for (let c = 0; c < 8; c++) {
    if (
      coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 &&
      coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0
    ) {
      const d = (coef[c] * qt[c]) << 2;
      for (let i = 0; i < 64; i += 8) ws[i + c] = d;
      continue;
    }
    z2 = coef[16 + c] * qt[16 + c];
    z3 = coef[48 + c] * qt[48 + c];
    z1 = (z2 + z3) * 4433;
    t2 = z1 + z3 * -15137;
    t3 = z1 + z2 * 6270;
    z2 = coef[c] * qt[c];
    z3 = coef[32 + c] * qt[32 + c];
    t0 = (z2 + z3) * 8192;
    t1 = (z2 - z3) * 8192;
    t10 = t0 + t3;
    t13 = t0 - t3;
    t11 = t1 + t2;
    t12 = t1 - t2;
    t0 = coef[56 + c] * qt[56 + c];
    t1 = coef[40 + c] * qt[40 + c];
    t2 = coef[24 + c] * qt[24 + c];
    t3 = coef[8 + c] * qt[8 + c];
    z1 = t0 + t3;
    z2 = t1 + t2;
    z3 = t0 + t2;
    z4 = t1 + t3;
    z5 = (z3 + z4) * 9633;
    t0 *= 2446;
    t1 *= 16819;
    t2 *= 25172;
    t3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    t0 += z1 + z3;
    t1 += z2 + z4;
    t2 += z2 + z3;
    t3 += z1 + z4;
    ws[c] = (t10 + t3 + 1024) >> 11;
    ws[56 + c] = (t10 - t3 + 1024) >> 11;
    ws[8 + c] = (t11 + t2 + 1024) >> 11;
    ws[48 + c] = (t11 - t2 + 1024) >> 11;
    ws[16 + c] = (t12 + t1 + 1024) >> 11;
    ws[40 + c] = (t12 - t1 + 1024) >> 11;
    ws[24 + c] = (t13 + t0 + 1024) >> 11;
    ws[32 + c] = (t13 - t0 + 1024) >> 11;
  }
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = out[row0 + r];
    if (
      ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 &&
      ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0
    ) {
      o.fill(rangeLimit((ws[w] + 16) >> 5), x0, x0 + 8);
      continue;
    }
    z2 = ws[w + 2];
    z3 = ws[w + 6];
    z1 = (z2 + z3) * 4433;
    t2 = z1 + z3 * -15137;
    t3 = z1 + z2 * 6270;
    t0 = (ws[w] + ws[w + 4]) * 8192;
    t1 = (ws[w] - ws[w + 4]) * 8192;
    t10 = t0 + t3;
    t13 = t0 - t3;
    t11 = t1 + t2;
    t12 = t1 - t2;
    t0 = ws[w + 7];
    t1 = ws[w + 5];
    t2 = ws[w + 3];
    t3 = ws[w + 1];
    z1 = t0 + t3;
    z2 = t1 + t2;
    z3 = t0 + t2;
    z4 = t1 + t3;
    z5 = (z3 + z4) * 9633;
    t0 *= 2446;
    t1 *= 16819;
    t2 *= 25172;
    t3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    t0 += z1 + z3;
    t1 += z2 + z4;
    t2 += z2 + z3;
    t3 += z1 + z4;
    o[x0] = rangeLimit((t10 + t3 + 131072) >> 18);
    o[x0 + 7] = rangeLimit((t10 - t3 + 131072) >> 18);
    o[x0 + 1] = rangeLimit((t11 + t2 + 131072) >> 18);
    o[x0 + 6] = rangeLimit((t11 - t2 + 131072) >> 18);
    o[x0 + 2] = rangeLimit((t12 + t1 + 131072) >> 18);
    o[x0 + 5] = rangeLimit((t12 - t1 + 131072) >> 18);
    o[x0 + 3] = rangeLimit((t13 + t0 + 131072) >> 18);
    o[x0 + 4] = rangeLimit((t13 - t0 + 131072) >> 18);
  }
}

/**
 * Opens a baseline JPEG file for streaming: reads the headers up to the
 * first scan (throws {@linkcode FormatError} for unsupported or broken
 * headers). Uses `Deno.open` (read permission); call `close()`.
 *
 * @example
 * ```ts ignore
 * import { openJpegStream } from "./decoder.ts";
 * const jpeg = await openJpegStream("BCNB/WSIs/1.jpg");
 * for await (const band of jpeg.bands()) console.log(band.y, band.height);
 * jpeg.close();
 * ```
 */
export async function openJpegStream(path: string): Promise<JpegStream> {
  const file = await Deno.open(path, { read: true });
  try {
    const reader = new Reader(file);
    const header = readHeader(reader, path);
    return createStream(path, file, reader, header);
  } catch (e) {
    file.close();
    throw e;
  }
}

function createStream(
  path: string,
  file: { close(): void },
  reader: Reader,
  h: Header,
  colorTransform?: boolean,
): JpegStream {
  const comps = h.components;
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const mcuWidth = 8 * hmax, mcuHeight = 8 * vmax;
  const mcuColumns = Math.ceil(h.width / mcuWidth);
  const mcuRows = Math.ceil(h.height / mcuHeight);
  for (const c of comps) {
    c.blocksPerRow = mcuColumns * c.h;
    c.width = Math.ceil((h.width * c.h) / hmax);
    c.height = Math.ceil((h.height * c.v) / vmax);
  }
  const channels = comps.length === 1 ? 1 : 3;
  const ycc = channels === 3 && (colorTransform ?? h.adobeTransform !== 0);

  function* bandsSync(options: JpegBandOptions = {}): Generator<JpegBand> {
    const scale = options.scale ?? 1;
    reader.rewind();
    readHeader(reader, path);
    // Bit reader over the entropy-coded segment.
    let bits = 0, nbits = 0, marker = -1;
    // Zero bits fed after a marker or the end of the file; consuming any of
    // them means the entropy-coded data ended early.
    let stuffed = 0;
    const fill = () => {
      while (nbits <= 24) {
        let b = 0;
        if (marker >= 0) stuffed += 8;
        if (marker < 0) {
          b = reader.byte();
          if (b < 0) {
            marker = 0xd9;
            b = 0;
            stuffed += 8;
          } else if (b === 0xff) {
            const n = reader.peek();
            if (n === 0) reader.byte();
            else if (n >= 0) {
              marker = n;
              reader.byte();
              b = 0;
              stuffed += 8;
            }
          }
        }
        bits = (bits << 8) | b;
        nbits += 8;
      }
    };
    const getBits = (n: number) => {
      if (nbits < n) fill();
      nbits -= n;
      return (bits >>> nbits) & ((1 << n) - 1);
    };
    const decodeHuff = (t: Huffman) => {
      if (nbits < 16) fill();
      const look = t.lookup[(bits >>> (nbits - 9)) & 511];
      if (look !== 0) {
        nbits -= look >> 8;
        return look & 255;
      }
      let code = getBits(1), len = 1;
      while (code > t.maxcode[len]) {
        code = (code << 1) | getBits(1);
        if (++len > 16) fail(path, "a Huffman code is invalid (corrupt data)", reader.offset);
      }
      return t.values[t.valptr[len] + code - t.mincode[len]];
    };
    const extend = (v: number, n: number) => (v < 1 << (n - 1) ? v - (1 << n) + 1 : v);
    const coef = new Int32Array(64);
    const ws = new Int32Array(64);
    let truncated = false;
    const decodeBlock = (c: Component) => {
      coef.fill(0);
      const t = decodeHuff(h.dc[c.td]);
      const diff = t === 0 ? 0 : extend(getBits(t), t);
      c.pred += diff;
      coef[0] = c.pred;
      const act = h.ac[c.ta];
      for (let k = 1; k < 64;) {
        const rs = decodeHuff(act);
        const s = rs & 15, rr = rs >> 4;
        if (s === 0) {
          if (rr !== 15) break;
          k += 16;
          continue;
        }
        k += rr;
        if (k > 63) {
          fail(path, "a block has more than 64 coefficients (corrupt data)", reader.offset);
        }
        coef[ZIGZAG[k]] = extend(getBits(s), s);
        k++;
      }
      if (stuffed > nbits) truncated = true;
    };
    for (const c of comps) {
      c.pred = 0;
      c.rows = Array.from({ length: 8 * c.v }, () => new Uint8Array(c.blocksPerRow * 8));
      c.prevLast = new Uint8Array(c.blocksPerRow * 8);
    }
    const width = scale === 8 ? Math.ceil(h.width / 8) : h.width;
    // Full-scale output waits one MCU row for the chroma rows below it.
    let pending: { y: number; rows: Uint8Array[][]; prevLast: Uint8Array[] } | undefined;
    const emit = (
      y0: number,
      rows: Uint8Array[][],
      prevLast: Uint8Array[],
      next: Uint8Array[] | undefined,
    ): JpegBand => {
      const height = Math.min(mcuHeight, h.height - y0);
      const data = new Uint8Array(height * h.width * channels);
      const planes = comps.map(() => new Uint8Array(h.width));
      for (let yy = 0; yy < height; yy++) {
        comps.forEach((c, ci) => {
          const vs = vmax / c.v, hs = hmax / c.h;
          const gy = y0 + yy; // global output row
          const r = Math.floor(gy / vs); // global component row
          const phase = gy - r * vs;
          const base = Math.floor(y0 / vs); // first component row of this MCU row
          const rowAt = (g: number) => {
            const cl = Math.min(c.height - 1, Math.max(0, g));
            if (cl < base) return prevLast[ci];
            if (cl >= base + 8 * c.v) return next ? next[ci] : rows[ci][8 * c.v - 1];
            return rows[ci][cl - base];
          };
          const fancyV = vs === 2 && (hs === 1 || (hs === 2 && c.width > 2));
          const far = fancyV ? rowAt(phase === 0 ? r - 1 : r + 1) : rowAt(r);
          upsampleRow(rowAt(r), far, phase, c.width, hs, fancyV ? 2 : 1, planes[ci], h.width);
        });
        const o = yy * h.width * channels;
        if (channels === 1) data.set(planes[0], o);
        else if (ycc) convertYcbcrRow(planes[0], planes[1], planes[2], h.width, data, o);
        else {
          for (let x = 0; x < h.width; x++) {
            data[o + 3 * x] = planes[0][x];
            data[o + 3 * x + 1] = planes[1][x];
            data[o + 3 * x + 2] = planes[2][x];
          }
        }
      }
      return { y: y0, height, data, channels, width: h.width };
    };
    let restartsLeft = h.restart;
    let expectRst = 0;
    for (let my = 0; my < mcuRows; my++) {
      const wantRow = !options.rows || options.rows[my] !== 0;
      const dcBand = scale === 8
        ? new Uint8Array(Math.min(vmax, Math.ceil(h.height / 8) - my * vmax) * width * channels)
        : undefined;
      const dcPlanes = scale === 8
        ? comps.map((c) => new Uint8Array(c.blocksPerRow * c.v))
        : undefined;
      for (let mx = 0; mx < mcuColumns; mx++) {
        if (h.restart > 0) {
          if (restartsLeft === 0) {
            // Align to the byte and consume the RSTn marker.
            nbits = 0;
            bits = 0;
            if (marker < 0) fill();
            if (marker !== 0xd0 + expectRst) {
              fail(
                path,
                `restart marker RST${expectRst} was expected: current marker is ${
                  marker < 0 ? "none" : "FF" + marker.toString(16).toUpperCase()
                }`,
                reader.offset,
              );
            }
            marker = -1;
            nbits = 0;
            bits = 0;
            stuffed = 0;
            expectRst = (expectRst + 1) & 7;
            restartsLeft = h.restart;
            for (const c of comps) c.pred = 0;
          }
          restartsLeft--;
        }
        const wantCol = wantRow && (!options.columns || options.columns[mx] !== 0);
        for (let ci = 0; ci < comps.length; ci++) {
          const c = comps[ci];
          const qt = h.quant[c.tq];
          for (let by = 0; by < c.v; by++) {
            for (let bx = 0; bx < c.h; bx++) {
              decodeBlock(c);
              const col = mx * c.h + bx;
              if (dcPlanes) {
                // Block mean = DC × q / 8 + 128 (libjpeg's 1/8 scaling).
                const v = Math.round((coef[0] * qt[0]) / 8) + 128;
                dcPlanes[ci][by * c.blocksPerRow + col] = v < 0 ? 0 : v > 255 ? 255 : v;
              } else if (wantCol) {
                idctIslow(coef, qt, ws, c.rows, col * 8, by * 8);
              }
            }
          }
        }
      }
      if (truncated) {
        fail(
          path,
          `the data ended early: MCU row ${my} of ${mcuRows} could not be decoded (truncated file)`,
          reader.offset,
        );
      }
      if (dcPlanes && dcBand) {
        const rowsOut = dcBand.length / (width * channels);
        const tmp = comps.map(() => new Uint8Array(width));
        for (let yy = 0; yy < rowsOut; yy++) {
          comps.forEach((c, ci) => {
            const vs = vmax / c.v, hs = hmax / c.h;
            const src = dcPlanes[ci].subarray(
              Math.min(c.v - 1, Math.floor(yy / vs)) * c.blocksPerRow,
              (Math.min(c.v - 1, Math.floor(yy / vs)) + 1) * c.blocksPerRow,
            );
            for (let x = 0; x < width; x++) {
              tmp[ci][x] = src[Math.min(c.blocksPerRow - 1, Math.floor(x / hs))];
            }
          });
          const o = yy * width * channels;
          if (channels === 1) dcBand.set(tmp[0], o);
          else if (ycc) convertYcbcrRow(tmp[0], tmp[1], tmp[2], width, dcBand, o);
          else {for (let x = 0; x < width; x++) {
              for (let k = 0; k < 3; k++) dcBand[o + 3 * x + k] = tmp[k][x];
            }}
        }
        yield { y: my * vmax, height: rowsOut, data: dcBand, channels, width };
        continue;
      }
      // Full scale: emit the previous MCU row now that the rows below it are known.
      const current = comps.map((c) => c.rows.map((r) => r.slice()));
      if (pending) {
        const p = pending;
        yield emit(p.y, p.rows, p.prevLast, current.map((rows) => rows[0]));
      }
      pending = {
        y: my * mcuHeight,
        rows: current,
        prevLast: comps.map((c) => c.prevLast),
      };
      comps.forEach((c, ci) => (c.prevLast = current[ci][8 * c.v - 1]));
      if (!wantRow) pending.rows = current; // decoded rows are stale zeros; readers skip them
    }
    if (pending) yield emit(pending.y, pending.rows, pending.prevLast, undefined);
  }

  async function* bands(options: JpegBandOptions = {}): AsyncGenerator<JpegBand> {
    for (const band of bandsSync(options)) yield band;
  }

  return {
    path,
    width: h.width,
    height: h.height,
    channels,
    bandsSync,
    mpp: densityMpp(h.jfifDensity),
    mcuWidth,
    mcuHeight,
    mcuRows,
    mcuColumns,
    bands,
    close: () => file.close(),
  };
}

/** A whole decoded image. */
export interface DecodedImage {
  /** Width. */
  width: number;
  /** Height. */
  height: number;
  /** 1 or 3. */
  channels: number;
  /** Samples, row-major, interleaved. */
  data: Uint8Array;
}

/**
 * Decodes a JPEG held in memory (e.g. a whole-slide TIFF tile, its tables
 * spliced in) with the streaming decoder's arithmetic. `colorTransform`
 * forces YCbCr → RGB on (`true`) or off (`false`, TIFF Photometric RGB);
 * by default the Adobe marker decides (YCbCr without one).
 */
export function decodeJpegBytes(
  bytes: Uint8Array,
  path: string,
  options: { colorTransform?: boolean } = {},
): DecodedImage {
  const reader = new Reader(bytesSource(bytes), Math.min(1 << 20, Math.max(64, bytes.length)));
  const header = readHeader(reader, path);
  const stream = createStream(path, { close() {} }, reader, header, options.colorTransform);
  checkDecodeBudget(path, {
    what: "JPEG",
    field: `the frame header (SOF ${stream.width}x${stream.height})`,
    pixels: stream.width * stream.height,
    bytes: stream.width * stream.height * stream.channels,
  });
  const data = new Uint8Array(stream.width * stream.height * stream.channels);
  for (const band of stream.bandsSync()) {
    data.set(band.data, band.y * stream.width * stream.channels);
  }
  return { width: stream.width, height: stream.height, channels: stream.channels, data };
}

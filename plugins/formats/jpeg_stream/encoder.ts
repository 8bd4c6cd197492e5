/**
 * A streaming baseline JPEG encoder for synthetic whole-slide images too
 * large to hold (a 50,000 × 40,000 RGB image is 6 GB): pixels are asked for
 * one MCU row at a time from a callback and the file is written as it goes.
 * JFIF, YCbCr 4:4:4 or 4:2:0 (box-averaged chroma), the Annex K tables
 * scaled by quality as libjpeg does, standard Huffman tables, optional
 * restart intervals. Flat blocks (every sample equal, e.g. glass background)
 * skip the DCT.
 *
 * @module
 */

import { ZIGZAG } from "./_tables.ts";

/** Options of {@linkcode writeJpegStream}. */
export interface WriteJpegStreamOptions {
  /** Image width. */
  width: number;
  /** Image height. */
  height: number;
  /** Quality 1-100 (libjpeg scaling of the Annex K tables). @default {90} */
  quality?: number;
  /** Chroma subsampling. @default {"4:2:0"} */
  subsampling?: "4:4:4" | "4:2:0";
  /** MCUs per restart interval (0: none). @default {0} */
  restartInterval?: number;
  /** Pixels per cm written as the JFIF density (e.g. 2,500 for 4 µm/px). @default {none: 1:1 aspect only} */
  pixelsPerCm?: number;
  /** RGB rows `y0 .. y0 + count - 1` (`count * width * 3` samples). */
  rows(y0: number, count: number): Uint8Array;
}

const LUMA_Q = [
  16,
  11,
  10,
  16,
  24,
  40,
  51,
  61,
  12,
  12,
  14,
  19,
  26,
  58,
  60,
  55,
  14,
  13,
  16,
  24,
  40,
  57,
  69,
  56,
  14,
  17,
  22,
  29,
  51,
  87,
  80,
  62,
  18,
  22,
  37,
  56,
  68,
  109,
  103,
  77,
  24,
  35,
  55,
  64,
  81,
  104,
  113,
  92,
  49,
  64,
  78,
  87,
  103,
  121,
  120,
  101,
  72,
  92,
  95,
  98,
  112,
  100,
  103,
  99,
];
const CHROMA_Q = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array(32).fill(99),
];

// Annex K.3 tables: counts per code length 1..16, then values.
const DC_LUMA = [[0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
]];
const DC_CHROMA = [[0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
]];
const AC_LUMA = [[0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d], [
  0x01,
  0x02,
  0x03,
  0x00,
  0x04,
  0x11,
  0x05,
  0x12,
  0x21,
  0x31,
  0x41,
  0x06,
  0x13,
  0x51,
  0x61,
  0x07,
  0x22,
  0x71,
  0x14,
  0x32,
  0x81,
  0x91,
  0xa1,
  0x08,
  0x23,
  0x42,
  0xb1,
  0xc1,
  0x15,
  0x52,
  0xd1,
  0xf0,
  0x24,
  0x33,
  0x62,
  0x72,
  0x82,
  0x09,
  0x0a,
  0x16,
  0x17,
  0x18,
  0x19,
  0x1a,
  0x25,
  0x26,
  0x27,
  0x28,
  0x29,
  0x2a,
  0x34,
  0x35,
  0x36,
  0x37,
  0x38,
  0x39,
  0x3a,
  0x43,
  0x44,
  0x45,
  0x46,
  0x47,
  0x48,
  0x49,
  0x4a,
  0x53,
  0x54,
  0x55,
  0x56,
  0x57,
  0x58,
  0x59,
  0x5a,
  0x63,
  0x64,
  0x65,
  0x66,
  0x67,
  0x68,
  0x69,
  0x6a,
  0x73,
  0x74,
  0x75,
  0x76,
  0x77,
  0x78,
  0x79,
  0x7a,
  0x83,
  0x84,
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x92,
  0x93,
  0x94,
  0x95,
  0x96,
  0x97,
  0x98,
  0x99,
  0x9a,
  0xa2,
  0xa3,
  0xa4,
  0xa5,
  0xa6,
  0xa7,
  0xa8,
  0xa9,
  0xaa,
  0xb2,
  0xb3,
  0xb4,
  0xb5,
  0xb6,
  0xb7,
  0xb8,
  0xb9,
  0xba,
  0xc2,
  0xc3,
  0xc4,
  0xc5,
  0xc6,
  0xc7,
  0xc8,
  0xc9,
  0xca,
  0xd2,
  0xd3,
  0xd4,
  0xd5,
  0xd6,
  0xd7,
  0xd8,
  0xd9,
  0xda,
  0xe1,
  0xe2,
  0xe3,
  0xe4,
  0xe5,
  0xe6,
  0xe7,
  0xe8,
  0xe9,
  0xea,
  0xf1,
  0xf2,
  0xf3,
  0xf4,
  0xf5,
  0xf6,
  0xf7,
  0xf8,
  0xf9,
  0xfa,
]];
const AC_CHROMA = [[0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77], [
  0x00,
  0x01,
  0x02,
  0x03,
  0x11,
  0x04,
  0x05,
  0x21,
  0x31,
  0x06,
  0x12,
  0x41,
  0x51,
  0x07,
  0x61,
  0x71,
  0x13,
  0x22,
  0x32,
  0x81,
  0x08,
  0x14,
  0x42,
  0x91,
  0xa1,
  0xb1,
  0xc1,
  0x09,
  0x23,
  0x33,
  0x52,
  0xf0,
  0x15,
  0x62,
  0x72,
  0xd1,
  0x0a,
  0x16,
  0x24,
  0x34,
  0xe1,
  0x25,
  0xf1,
  0x17,
  0x18,
  0x19,
  0x1a,
  0x26,
  0x27,
  0x28,
  0x29,
  0x2a,
  0x35,
  0x36,
  0x37,
  0x38,
  0x39,
  0x3a,
  0x43,
  0x44,
  0x45,
  0x46,
  0x47,
  0x48,
  0x49,
  0x4a,
  0x53,
  0x54,
  0x55,
  0x56,
  0x57,
  0x58,
  0x59,
  0x5a,
  0x63,
  0x64,
  0x65,
  0x66,
  0x67,
  0x68,
  0x69,
  0x6a,
  0x73,
  0x74,
  0x75,
  0x76,
  0x77,
  0x78,
  0x79,
  0x7a,
  0x82,
  0x83,
  0x84,
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x92,
  0x93,
  0x94,
  0x95,
  0x96,
  0x97,
  0x98,
  0x99,
  0x9a,
  0xa2,
  0xa3,
  0xa4,
  0xa5,
  0xa6,
  0xa7,
  0xa8,
  0xa9,
  0xaa,
  0xb2,
  0xb3,
  0xb4,
  0xb5,
  0xb6,
  0xb7,
  0xb8,
  0xb9,
  0xba,
  0xc2,
  0xc3,
  0xc4,
  0xc5,
  0xc6,
  0xc7,
  0xc8,
  0xc9,
  0xca,
  0xd2,
  0xd3,
  0xd4,
  0xd5,
  0xd6,
  0xd7,
  0xd8,
  0xd9,
  0xda,
  0xe2,
  0xe3,
  0xe4,
  0xe5,
  0xe6,
  0xe7,
  0xe8,
  0xe9,
  0xea,
  0xf2,
  0xf3,
  0xf4,
  0xf5,
  0xf6,
  0xf7,
  0xf8,
  0xf9,
  0xfa,
]];

function codes(table: number[][]): { code: Int32Array; size: Int32Array } {
  const code = new Int32Array(256), size = new Int32Array(256);
  let c = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < table[0][len - 1]; i++) {
      code[table[1][k]] = c++;
      size[table[1][k]] = len;
      k++;
    }
    c <<= 1;
  }
  return { code, size };
}

function scaledTable(base: number[], quality: number): Int32Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const s = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  return Int32Array.from(base, (v) => Math.min(255, Math.max(1, Math.floor((v * s + 50) / 100))));
}

const COS = new Float64Array(64);
for (let x = 0; x < 8; x++) {
  for (let u = 0; u < 8; u++) COS[x * 8 + u] = Math.cos(((2 * x + 1) * u * Math.PI) / 16);
}

class BitWriter {
  readonly #file: Deno.FsFile;
  readonly #buf = new Uint8Array(1 << 20);
  #len = 0;
  #acc = 0;
  #n = 0;
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }
  byte(b: number): void {
    if (this.#len === this.#buf.length) this.flush();
    this.#buf[this.#len++] = b;
  }
  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
  }
  bits(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) {
        this.byte(this.#acc);
        if (this.#acc === 0xff) this.byte(0);
        this.#acc = 0;
        this.#n = 0;
      }
    }
  }
  align(): void {
    if (this.#n > 0) this.bits(0x7f, 8 - this.#n);
  }
  flush(): void {
    let off = 0;
    while (off < this.#len) off += this.#file.writeSync(this.#buf.subarray(off, this.#len));
    this.#len = 0;
  }
}

/**
 * Writes a baseline JPEG file MCU row by MCU row (see the module
 * documentation). Uses `Deno.open` (write permission).
 *
 * @example
 * ```ts ignore
 * await writeJpegStream("big.jpg", { width: 50000, height: 40000, rows: (y, n) => renderRows(y, n) });
 * ```
 */
export async function writeJpegStream(
  path: string,
  options: WriteJpegStreamOptions,
): Promise<void> {
  const { width, height } = options;
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
    width > 65535 || height > 65535
  ) {
    throw new RangeError(
      `Cannot write JPEG as the size must be 1-65535 pixels a side: current size is ${width}x${height}`,
    );
  }
  const sub = options.subsampling ?? "4:2:0";
  const hs = sub === "4:2:0" ? 2 : 1;
  const mcu = 8 * hs;
  const qy = scaledTable(LUMA_Q, options.quality ?? 90);
  const qc = scaledTable(CHROMA_Q, options.quality ?? 90);
  const dcl = codes(DC_LUMA), dcc = codes(DC_CHROMA), acl = codes(AC_LUMA), acc = codes(AC_CHROMA);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = new BitWriter(file);
  try {
    const seg = (marker: number, body: number[]) => {
      w.bytes([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255]);
      w.bytes(body);
    };
    w.bytes([0xff, 0xd8]);
    const ppc = Math.min(65535, Math.max(0, Math.round(options.pixelsPerCm ?? 0)));
    seg(
      0xe0,
      ppc > 0
        ? [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 2, ppc >> 8, ppc & 255, ppc >> 8, ppc & 255, 0, 0]
        : [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    );
    seg(0xdb, [0, ...Array.from(ZIGZAG, (z) => qy[z]), 1, ...Array.from(ZIGZAG, (z) => qc[z])]);
    seg(0xc0, [
      8,
      height >> 8,
      height & 255,
      width >> 8,
      width & 255,
      3,
      1,
      (hs << 4) | hs,
      0,
      2,
      0x11,
      1,
      3,
      0x11,
      1,
    ]);
    seg(0xc4, [
      0x00,
      ...DC_LUMA[0],
      ...DC_LUMA[1],
      0x10,
      ...AC_LUMA[0],
      ...AC_LUMA[1],
      0x01,
      ...DC_CHROMA[0],
      ...DC_CHROMA[1],
      0x11,
      ...AC_CHROMA[0],
      ...AC_CHROMA[1],
    ]);
    const ri = options.restartInterval ?? 0;
    if (ri > 0) seg(0xdd, [ri >> 8, ri & 255]);
    seg(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    const preds = [0, 0, 0];
    const block = new Float64Array(64);
    const tmp = new Float64Array(64);
    const encodeBlock = (
      plane: Float64Array,
      stride: number,
      x0: number,
      y0: number,
      q: Int32Array,
      ci: number,
      dc: { code: Int32Array; size: Int32Array },
      ac: { code: Int32Array; size: Int32Array },
    ) => {
      let flat = true;
      const first = plane[y0 * stride + x0];
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          const v = plane[(y0 + y) * stride + x0 + x];
          block[y * 8 + x] = v - 128;
          if (v !== first) flat = false;
        }
      }
      const coefs = new Int32Array(64);
      if (flat) {
        coefs[0] = Math.round(((first - 128) * 8) / q[0]);
      } else {
        // Separable float DCT-II with the JPEG normalisation.
        for (let y = 0; y < 8; y++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let x = 0; x < 8; x++) s += block[y * 8 + x] * COS[x * 8 + u];
            tmp[y * 8 + u] = s * (u === 0 ? Math.SQRT1_2 : 1) / 2;
          }
        }
        for (let u = 0; u < 8; u++) {
          for (let v = 0; v < 8; v++) {
            let s = 0;
            for (let y = 0; y < 8; y++) s += tmp[y * 8 + u] * COS[y * 8 + v];
            const c = s * (v === 0 ? Math.SQRT1_2 : 1) / 2;
            coefs[v * 8 + u] = Math.round(c / q[v * 8 + u]);
          }
        }
      }
      const diff = coefs[0] - preds[ci];
      preds[ci] = coefs[0];
      const mag = (v: number) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));
      const put = (v: number, n: number) => w.bits(v < 0 ? v + (1 << n) - 1 : v, n);
      const s0 = mag(diff);
      w.bits(dc.code[s0], dc.size[s0]);
      if (s0) put(diff, s0);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const v = coefs[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          w.bits(ac.code[0xf0], ac.size[0xf0]);
          run -= 16;
        }
        const s = mag(v);
        w.bits(ac.code[(run << 4) | s], ac.size[(run << 4) | s]);
        put(v, s);
        run = 0;
      }
      if (run > 0) w.bits(ac.code[0], ac.size[0]);
    };
    const mcusAcross = Math.ceil(width / mcu);
    const pw = mcusAcross * mcu;
    const yP = new Float64Array(pw * mcu),
      cbP = new Float64Array(pw * mcu),
      crP = new Float64Array(pw * mcu);
    const cw = pw / hs;
    const cbS = new Float64Array(cw * 8), crS = new Float64Array(cw * 8);
    let sinceRestart = 0, rst = 0;
    for (let y0 = 0; y0 < height; y0 += mcu) {
      const count = Math.min(mcu, height - y0);
      const rgb = options.rows(y0, count);
      for (let y = 0; y < mcu; y++) {
        const sy = Math.min(count - 1, y);
        for (let x = 0; x < pw; x++) {
          const o = (sy * width + Math.min(width - 1, x)) * 3;
          const r = rgb[o], g = rgb[o + 1], b = rgb[o + 2];
          const i = y * pw + x;
          yP[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
          cbP[i] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
          crP[i] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
        }
      }
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < cw; x++) {
          let sb = 0, sr = 0;
          for (let dy = 0; dy < hs; dy++) {
            for (let dx = 0; dx < hs; dx++) {
              sb += cbP[(y * hs + dy) * pw + x * hs + dx];
              sr += crP[(y * hs + dy) * pw + x * hs + dx];
            }
          }
          cbS[y * cw + x] = Math.round(sb / (hs * hs));
          crS[y * cw + x] = Math.round(sr / (hs * hs));
        }
      }
      for (let mx = 0; mx < mcusAcross; mx++) {
        if (ri > 0 && sinceRestart === ri) {
          w.align();
          w.bytes([0xff, 0xd0 + rst]);
          rst = (rst + 1) & 7;
          preds.fill(0);
          sinceRestart = 0;
        }
        for (let by = 0; by < hs; by++) {
          for (let bx = 0; bx < hs; bx++) {
            encodeBlock(yP, pw, mx * mcu + bx * 8, by * 8, qy, 0, dcl, acl);
          }
        }
        encodeBlock(cbS, cw, mx * 8, 0, qc, 1, dcc, acc);
        encodeBlock(crS, cw, mx * 8, 0, qc, 2, dcc, acc);
        sinceRestart++;
      }
    }
    w.align();
    w.bytes([0xff, 0xd9]);
    w.flush();
  } finally {
    file.close();
  }
}

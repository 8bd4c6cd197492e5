/**
 * Synthetic pyramidal TIFF slides of any size (50,000 × 50,000 and more)
 * without holding them: level-0 tiles come from a small palette of
 * pre-encoded JPEG tiles (glass, tissue variants, tumour variants) chosen
 * per tile from the procedural layout of `createSlideRowRenderer`, and
 * every tile with the same content points at the same bytes (TIFF allows
 * shared tile data), so the file stays small; the coarser levels (the
 * ones tissue detection reads) are rendered from the layout pixel by
 * pixel. Classic TIFF, JPEG tiles (YCbCr, 4:4:4, standalone streams),
 * Aperio-style `MPP = ...` description.
 *
 * @module
 */

import * as jpeg from "jpeg-js";
import { createSlideRowRenderer } from "./_synth.ts";

/** Settings of {@linkcode writeLargeSyntheticSlide}. */
export interface LargeSlideOptions {
  /** Level-0 width. */
  width: number;
  /** Level-0 height. */
  height: number;
  /** Seed of the layout. */
  seed: number;
  /** Draw a tumour region. */
  tumour: boolean;
  /** Level-0 µm/px. @default {0.25} */
  mpp?: number;
  /** Level downsamples (each level but 0 is rendered pixel by pixel). @default {[1, 16, 64]} */
  downsamples?: readonly number[];
}

const TILE = 256;

function encodeTile(rgb: Uint8Array): Uint8Array {
  const rgba = new Uint8Array(TILE * TILE * 4);
  for (let i = 0; i < TILE * TILE; i++) {
    rgba[i * 4] = rgb[i * 3];
    rgba[i * 4 + 1] = rgb[i * 3 + 1];
    rgba[i * 4 + 2] = rgb[i * 3 + 2];
    rgba[i * 4 + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ data: rgba, width: TILE, height: TILE }, 80).data);
}

/**
 * Writes a synthetic pyramidal slide of any size (see the module
 * documentation). Returns the file size in bytes. Uses `Deno.open`.
 */
export async function writeLargeSyntheticSlide(
  path: string,
  options: LargeSlideOptions,
): Promise<number> {
  const { width, height } = options;
  const mpp = options.mpp ?? 0.25;
  const downsamples = options.downsamples ?? [1, 16, 64];
  const rows = createSlideRowRenderer({
    width,
    height,
    seed: options.seed,
    tumour: options.tumour,
  });
  // Palette for level 0: classify each tile by its centre pixel's colour.
  const palette = new Map<string, Uint8Array>();
  // Level-0 tiles are classified by the layout pixel at their centre.
  const kindOf = (r: number, g: number, b: number): string => {
    if (r >= 240 && g >= 238) return "glass";
    return r < 190 && b > 100 && g < 120 ? "tumour" : "tissue";
  };
  const sample = (kind: string, variant: number): Uint8Array => {
    const key = `${kind}${variant}`;
    let bytes = palette.get(key);
    if (!bytes) {
      const rgb = new Uint8Array(TILE * TILE * 3);
      for (let i = 0; i < TILE * TILE; i++) {
        const t = ((i * 2654435761 + variant * 97) >>> 0) / 4294967296;
        const x = i % TILE, y = Math.floor(i / TILE);
        const nucleus = kind !== "glass" &&
          ((x * 7 + y * 13 + variant * 31) % 53) < (kind === "tumour" ? 12 : 3);
        const c = kind === "glass"
          ? [242, 240, 244]
          : nucleus
          ? (kind === "tumour" ? [60, 20, 100] : [110, 60, 150])
          : (kind === "tumour" ? [150, 70, 160] : [232, 160, 200]).map((v) => v + (t - 0.5) * 20);
        rgb.set(c, i * 3);
      }
      bytes = encodeTile(rgb);
      palette.set(key, bytes);
    }
    return bytes;
  };
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let offset = 0;
  const write = (bytes: Uint8Array) => {
    let o = 0;
    while (o < bytes.length) o += file.writeSync(bytes.subarray(o));
    offset += bytes.length;
  };
  try {
    write(Uint8Array.of(0x49, 0x49, 42, 0, 0, 0, 0, 0)); // II*\0, first IFD patched below
    const written = new Map<Uint8Array, number>();
    const levels: { width: number; height: number; offsets: number[]; counts: number[] }[] = [];
    for (const d of downsamples) {
      const lw = Math.ceil(width / d), lh = Math.ceil(height / d);
      const across = Math.ceil(lw / TILE), down = Math.ceil(lh / TILE);
      const offsets: number[] = [], counts: number[] = [];
      for (let ty = 0; ty < down; ty++) {
        let band: Uint8Array | undefined;
        if (d === 1) {
          // One layout row through the tile centres, every 16th column.
          band = rows(Math.min(height - 1, ty * TILE + TILE / 2), 1, 16);
        } else {
          band = new Uint8Array(TILE * lw * 3).fill(242);
          for (let r = 0; r < TILE && ty * TILE + r < lh; r++) {
            band.set(rows((ty * TILE + r) * d, 1, d), r * lw * 3);
          }
        }
        for (let tx = 0; tx < across; tx++) {
          let bytes: Uint8Array;
          if (d === 1) {
            const c = Math.min(Math.ceil(width / 16) - 1, tx * 16 + 8) * 3;
            const kind = kindOf(band[c], band[c + 1], band[c + 2]);
            bytes = sample(kind, kind === "glass" ? 0 : (tx * 7 + ty * 3) % 4);
          } else {
            const rgb = new Uint8Array(TILE * TILE * 3).fill(242);
            for (let y = 0; y < TILE; y++) {
              const x0 = tx * TILE, x1 = Math.min(lw, x0 + TILE);
              rgb.set(band.subarray((y * lw + x0) * 3, (y * lw + x1) * 3), y * TILE * 3);
            }
            bytes = encodeTile(rgb);
          }
          let at = written.get(bytes);
          if (at === undefined) {
            at = offset;
            write(bytes);
            if (d === 1) written.set(bytes, at);
          }
          offsets.push(at);
          counts.push(bytes.length);
        }
      }
      levels.push({ width: lw, height: lh, offsets, counts });
    }
    // IFDs, each followed by its out-of-line values.
    const ifdOffsets: number[] = [];
    const enc = new TextEncoder();
    for (let li = 0; li < levels.length; li++) {
      if (offset % 2) write(Uint8Array.of(0));
      const l = levels[li];
      const desc = enc.encode(`medprobe large synthetic slide ${width}x${height}|MPP = ${mpp}\0`);
      const res = 10000 / (mpp * downsamples[li]); // px per cm
      type Entry = { tag: number; type: number; values: number[] | Uint8Array };
      const entries: Entry[] = [
        { tag: 254, type: 4, values: [li === 0 ? 0 : 1] },
        { tag: 256, type: 4, values: [l.width] },
        { tag: 257, type: 4, values: [l.height] },
        { tag: 258, type: 3, values: [8, 8, 8] },
        { tag: 259, type: 3, values: [7] },
        { tag: 262, type: 3, values: [6] },
        { tag: 270, type: 2, values: desc },
        { tag: 277, type: 3, values: [3] },
        { tag: 282, type: 5, values: [Math.round(res * 1000), 1000] },
        { tag: 283, type: 5, values: [Math.round(res * 1000), 1000] },
        { tag: 284, type: 3, values: [1] },
        { tag: 296, type: 3, values: [3] },
        { tag: 322, type: 3, values: [TILE] },
        { tag: 323, type: 3, values: [TILE] },
        { tag: 324, type: 4, values: l.offsets },
        { tag: 325, type: 4, values: l.counts },
        { tag: 530, type: 3, values: [1, 1] },
      ];
      const size = (e: Entry) =>
        e.values.length * ({ 2: 1, 3: 2, 4: 4, 5: 4 } as Record<number, number>)[e.type];
      const ifdAt = offset;
      ifdOffsets.push(ifdAt);
      const ifdSize = 2 + entries.length * 12 + 4;
      let extra = ifdAt + ifdSize;
      const head = new DataView(new ArrayBuffer(ifdSize));
      head.setUint16(0, entries.length, true);
      const tails: Uint8Array[] = [];
      entries.forEach((e, i) => {
        const p = 2 + i * 12;
        head.setUint16(p, e.tag, true);
        head.setUint16(p + 2, e.type, true);
        head.setUint32(p + 4, e.type === 5 ? e.values.length / 2 : e.values.length, true);
        const bytes = new Uint8Array(size(e));
        const dv = new DataView(bytes.buffer);
        for (let k = 0; k < e.values.length; k++) {
          const v = e.values[k];
          if (e.type === 2) bytes[k] = v;
          else if (e.type === 3) dv.setUint16(k * 2, v, true);
          else dv.setUint32(k * 4, v, true);
        }
        if (bytes.length <= 4) {
          new Uint8Array(head.buffer).set(bytes, p + 8);
        } else {
          head.setUint32(p + 8, extra, true);
          tails.push(bytes);
          extra += bytes.length + (bytes.length % 2);
        }
      });
      head.setUint32(ifdSize - 4, 0, true); // next IFD: patched below
      write(new Uint8Array(head.buffer));
      for (const t of tails) {
        write(t);
        if (t.length % 2) write(Uint8Array.of(0));
      }
    }
    // Chain the IFDs.
    const patch = (at: number, value: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, value, true);
      file.seekSync(at, Deno.SeekMode.Start);
      file.writeSync(b);
    };
    patch(4, ifdOffsets[0]);
    for (let i = 0; i + 1 < ifdOffsets.length; i++) {
      const count = 17;
      patch(ifdOffsets[i] + 2 + count * 12, ifdOffsets[i + 1]);
    }
    return offset;
  } finally {
    file.close();
  }
}

import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { encodePng, parsePng, readPng, writePng } from "./png.ts";
import { parseImage, readImage } from "./mod.ts";
import { assertFormatError, fixture, sha256Hex, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

// A PNG encoder written from the spec (filter type 0, optional Adam7), so
// the decoder is checked against something other than fast-png's encoder.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set([...type].map((c) => c.charCodeAt(0)), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

interface SpecPng {
  width: number;
  height: number;
  colorType: number;
  depth: number;
  samples: number[]; // per pixel, channel-interleaved (palette: indices)
  palette?: number[][];
  trns?: number[];
  interlace?: boolean;
}

const CH: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [
    0,
    1,
    1,
    2,
  ],
];

function packRow(values: number[], depth: number): number[] {
  if (depth === 8) return values;
  if (depth === 16) return values.flatMap((v) => [v >> 8, v & 255]);
  const out: number[] = [];
  let byte = 0;
  let bits = 0;
  for (const v of values) {
    byte = (byte << depth) | v;
    bits += depth;
    if (bits === 8) {
      out.push(byte);
      byte = 0;
      bits = 0;
    }
  }
  if (bits) out.push(byte << (8 - bits));
  return out;
}

function specPng(p: SpecPng): Uint8Array {
  const ch = CH[p.colorType];
  const raw: number[] = [];
  const passes = p.interlace ? PASSES : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < p.height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < p.width; x += dx) {
        for (let c = 0; c < ch; c++) row.push(p.samples[(y * p.width + x) * ch + c]);
      }
      if (row.length === 0) continue;
      raw.push(0, ...packRow(row, p.depth));
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, p.width);
  v.setUint32(4, p.height);
  ihdr.set([p.depth, p.colorType, 0, 0, p.interlace ? 1 : 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
  ];
  if (p.palette) parts.push(chunk("PLTE", new Uint8Array(p.palette.flat())));
  if (p.trns) parts.push(chunk("tRNS", new Uint8Array(p.trns)));
  parts.push(chunk("IDAT", new Uint8Array(deflateSync(new Uint8Array(raw)))));
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function pattern(n: number, max: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push((s >>> 8) % (max + 1));
  }
  return out;
}

Deno.test("parsePng() decodes 8/16-bit grey, RGB and RGBA, plain and interlaced", () => {
  const W = 13;
  const H = 11; // not multiples of 8: every Adam7 pass has a ragged edge
  for (const interlace of [false, true]) {
    for (const [colorType, depth] of [[0, 8], [0, 16], [2, 8], [2, 16], [6, 8], [6, 16]]) {
      const ch = CH[colorType];
      const samples = pattern(W * H * ch, depth === 16 ? 65535 : 255, colorType * 31 + depth);
      const image = parsePng(
        specPng({ width: W, height: H, colorType, depth, samples, interlace }),
        "t.png",
      );
      const what = `type ${colorType} depth ${depth} interlace ${interlace}`;
      assert.equal(image.channels, ch, what);
      assert.equal(image.interlaced, interlace);
      assert.ok(
        depth === 16 ? image.data instanceof Uint16Array : image.data instanceof Uint8Array,
        what,
      );
      assert.deepEqual([...image.data], samples, what);
    }
  }
});

Deno.test("parsePng() expands palettes (1/2/4/8-bit, with tRNS alpha) and low-bit grey", () => {
  const W = 9;
  const H = 5;
  const palette = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]];
  for (const depth of [4, 8]) {
    for (const interlace of [false, true]) {
      const idx = pattern(W * H, 4, depth);
      const rgb = parsePng(
        specPng({ width: W, height: H, colorType: 3, depth, samples: idx, palette, interlace }),
        "p.png",
      );
      assert.equal(rgb.channels, 3);
      assert.deepEqual([...rgb.data], idx.flatMap((i) => palette[i]), `palette depth ${depth}`);
    }
  }
  const idx2 = pattern(W * H, 3, 7);
  const rgba = parsePng(
    specPng({
      width: W,
      height: H,
      colorType: 3,
      depth: 2,
      samples: idx2,
      palette: palette.slice(0, 4),
      trns: [0, 128],
    }),
    "trns.png",
  );
  assert.equal(rgba.channels, 4);
  const alpha = [0, 128, 255, 255];
  assert.deepEqual([...rgba.data], idx2.flatMap((i) => [...palette[i], alpha[i]]));
  for (const depth of [1, 2, 4]) {
    for (const interlace of [false, true]) {
      const max = (1 << depth) - 1;
      const g = pattern(W * H, max, depth + 100);
      const grey = parsePng(
        specPng({ width: W, height: H, colorType: 0, depth, samples: g, interlace }),
        "g.png",
      );
      assert.deepEqual(
        [...grey.data],
        g.map((v) => Math.round((v * 255) / max)),
        `grey depth ${depth}`,
      );
    }
  }
  const la = pattern(W * H * 2, 255, 5);
  const greyAlpha = parsePng(
    specPng({ width: W, height: H, colorType: 4, depth: 8, samples: la }),
    "la.png",
  );
  assert.equal(greyAlpha.channels, 4);
  assert.deepEqual(
    [...greyAlpha.data.subarray(0, 8)],
    [la[0], la[0], la[0], la[1], la[2], la[2], la[2], la[3]],
  );
});

Deno.test("readPng() reads the NIH-style 8-bit and PadChest-style 16-bit fixtures", async () => {
  const nih = await readPng(fixture("raster/00000013_005.png"));
  assert.deepEqual([nih.height, nih.width, nih.channels], [256, 256, 1]);
  assert.equal(
    await sha256Hex(nih.data),
    "75f332fb95d5a5131cc437c648d539dfd5a52b3cd56055d945b9e63082f2d1c4",
  );
  const pad = await readImage(fixture("raster/cxr_16bit.png"));
  assert.ok(pad.data instanceof Uint16Array);
  assert.equal(pad.data[150 * 244 + 122], 48119);
});

Deno.test("encodePng()/writePng() round-trip 8/16-bit grey and RGB", async () => {
  await withTempDir(async (dir) => {
    const cases = [
      { data: new Uint8Array(pattern(20 * 7, 255, 1)), width: 20, height: 7, channels: 1 },
      { data: new Uint16Array(pattern(20 * 7, 65535, 2)), width: 20, height: 7, channels: 1 },
      { data: new Uint8Array(pattern(20 * 7 * 3, 255, 3)), width: 20, height: 7, channels: 3 },
      { data: new Uint16Array(pattern(20 * 7 * 3, 65535, 4)), width: 20, height: 7, channels: 3 },
    ];
    for (const [i, c] of cases.entries()) {
      const path = `${dir}/${i}.png`;
      await writePng(path, c, { interlace: i % 2 === 1 });
      const back = await readPng(path);
      assert.equal(back.bitDepth, c.data instanceof Uint16Array ? 16 : 8);
      assert.equal(back.channels, c.channels);
      assert.deepEqual([...back.data], [...c.data]);
    }
  });
  assert.throws(
    () => encodePng({ data: new Uint8Array(5), width: 2, height: 2, channels: 1 }),
    TypeError,
  );
  assert.throws(
    () =>
      encodePng({
        data: new Float32Array(4) as unknown as Uint8Array,
        width: 2,
        height: 2,
        channels: 1,
      }),
    TypeError,
  );
});

// ------------------------------------------------------------ bad input --

const NIH = fixture("raster/00000013_005.png");

Deno.test("readPng() rejects a wrong magic with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(NIH);
    bytes[1] = 0x51;
    const path = `${dir}/magic.png`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(() => readPng(path), path, /signature must be 89 50 4e 47/);
    await assertFormatError(() => readImage(path), path, /neither PNG .* nor JPEG/);
  });
});

Deno.test("readPng() rejects a truncated file with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(NIH);
    for (const cut of [20, bytes.length >> 1, bytes.length - 4]) {
      const path = `${dir}/cut${cut}.png`;
      await Deno.writeFile(path, bytes.slice(0, cut));
      await assertFormatError(() => readPng(path), path, /truncated/);
    }
  });
});

Deno.test("readPng() rejects corrupt compressed data and a bad CRC with FormatError", async () => {
  await withTempDir(async (dir) => {
    const good = specPng({
      width: 8,
      height: 8,
      colorType: 0,
      depth: 8,
      samples: pattern(64, 255, 9),
    });
    // IDAT payload starts after signature (8) + IHDR (25) + IDAT length/type (8)
    const bad = good.slice();
    for (let i = 8 + 25 + 8 + 2; i < 8 + 25 + 8 + 12; i++) bad[i] ^= 0xa5;
    const path = `${dir}/corrupt.png`;
    await Deno.writeFile(path, bad);
    await assertFormatError(() => readPng(path), path, /Cannot decode PNG/);
    // only the IDAT CRC changed: the data is intact but the file is damaged
    const crc = good.slice();
    crc[good.length - 12 - 1] ^= 0x01;
    const crcPath = `${dir}/crc.png`;
    await Deno.writeFile(crcPath, crc);
    await assertFormatError(() => readPng(crcPath), crcPath, /Cannot decode PNG: .*CRC/i);
  });
});

Deno.test("parsePng() rejects an invalid IHDR and an out-of-range palette index", async () => {
  const bad = specPng({
    width: 4,
    height: 1,
    colorType: 2,
    depth: 4,
    samples: new Array(12).fill(0),
  });
  await assertFormatError(
    () => parsePng(bad, "bad.png"),
    "bad.png",
    /colour type 2 with bit depth 4/,
  );
  const idx = specPng({
    width: 4,
    height: 1,
    colorType: 3,
    depth: 8,
    samples: [0, 1, 5, 0],
    palette: [[0, 0, 0], [1, 1, 1]],
  });
  await assertFormatError(() => parseImage(idx, "idx.png"), "idx.png", /palette index 5/);
});

import assert from "node:assert/strict";
import { openSlide, openSlideBytes } from "./slide.ts";
import { encodePyramidTiff, writePyramidTiff } from "./writer.ts";
import { assertFormatError, fixture, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

const WSI = fixture("wsi/wsi_pyramid_jpeg.tif");

Deno.test("openSlide() lists the levels of a YCbCr JPEG pyramid with shared JPEGTables", async () => {
  const slide = await openSlide(WSI);
  try {
    assert.deepEqual(
      slide.levels.map((
        l,
      ) => [l.width, l.height, l.downsample, l.mppX, l.tilesAcross, l.tilesDown]),
      [[3040, 2016, 1, 0.5, 12, 8], [760, 504, 4, 2, 3, 2], [190, 126, 16, 8, 1, 1]],
    );
    assert.equal(slide.associated.length, 0);
    assert.equal(slide.mppX, 0.5);
    assert.equal(slide.tilesDecoded, 0, "opening decodes nothing");
    // tissue and background samples (manifest: reference libjpeg decode, tolerance 4)
    for (
      const [level, x, y, rgb] of [
        [0, 2436, 682, [230, 158, 195]],
        [0, 2809, 1059, [243, 243, 245]],
        [1, 121, 282, [234, 162, 199]],
        [2, 18, 4, [243, 243, 245]],
      ] as const
    ) {
      const r = await slide.readRegion({ level, x, y, width: 1, height: 1 });
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(r.data[c] - rgb[c]) <= 4, `level ${level} (${x}, ${y})`);
      }
    }
  } finally {
    slide.close();
  }
});

Deno.test("Slide.readRegion() decodes only the tiles the region overlaps", async () => {
  const slide = await openSlide(WSI);
  try {
    await slide.readRegion({ level: 0, x: 10, y: 10, width: 5, height: 5 });
    assert.equal(slide.tilesDecoded, 1);
    await slide.readRegion({ level: 0, x: 250, y: 250, width: 10, height: 10 });
    assert.equal(slide.tilesDecoded, 1 + 4);
    // partial edge tile: the last column holds 3040 - 11 * 256 = 224 pixels
    const edge = await slide.readRegion({ level: 0, x: 2816, y: 1792, width: 224, height: 224 });
    assert.equal(edge.data.length, 224 * 224 * 3);
    assert.equal(slide.tilesDecoded, 6);
    await assert.rejects(
      () => slide.readRegion({ level: 0, x: 3000, y: 0, width: 41, height: 1 }),
      RangeError,
    );
    await assert.rejects(
      () => slide.readRegion({ level: 3, x: 0, y: 0, width: 1, height: 1 }),
      RangeError,
    );
  } finally {
    slide.close();
  }
});

function entryValueOffset(bytes: Uint8Array, ifdIndex: number, tag: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  let ifd = v.getUint32(4, true);
  for (let k = 0; k < ifdIndex; k++) ifd = v.getUint32(ifd + 2 + v.getUint16(ifd, true) * 12, true);
  const n = v.getUint16(ifd, true);
  for (let e = 0; e < n; e++) {
    const at = ifd + 2 + e * 12;
    if (v.getUint16(at, true) === tag) return at + 8;
  }
  throw new Error(`tag ${tag} not in IFD ${ifdIndex}`);
}

Deno.test("Slide.readRegion() never touches a corrupt tile outside the region", async () => {
  const bytes = await readFileBytes(WSI);
  const v = new DataView(bytes.buffer);
  const offsets = v.getUint32(entryValueOffset(bytes, 0, 324), true);
  const counts = v.getUint32(entryValueOffset(bytes, 0, 325), true);
  const tile = 5 * 12 + 3; // level 0, column 3, row 5
  const at = v.getUint32(offsets + tile * 4, true);
  const n = v.getUint32(counts + tile * 4, true);
  bytes.fill(0, at + 600, at + n); // scan data and EOI gone
  const slide = await openSlideBytes(bytes, "corrupt.tif");
  const fine = await slide.readRegion({ level: 0, x: 0, y: 0, width: 768, height: 1280 });
  assert.equal(fine.width, 768);
  await assertFormatError(
    () => slide.readRegion({ level: 0, x: 700, y: 1200, width: 300, height: 300 }),
    "corrupt.tif",
    /tile 63 of slide level 0/,
  );
});

function smoothImage(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const tissue =
        (x - width / 2) ** 2 / (width * width) + (y - height / 2) ** 2 / (height * height) < 0.08;
      data[o] = tissue ? 225 : 243;
      data[o + 1] = tissue ? 150 + Math.round((20 * x) / width) : 243;
      data[o + 2] = tissue ? 195 : 245;
    }
  }
  return data;
}

Deno.test("encodePyramidTiff() writes a pyramid the reader reads back, skipping thumbnail/label/macro", async () => {
  const width = 600;
  const height = 420;
  const data = smoothImage(width, height);
  const small = (w: number, h: number, v: number) => ({
    data: new Uint8Array(w * h * 3).fill(v),
    width: w,
    height: h,
  });
  await withTempDir(async (dir) => {
    const path = `${dir}/slide.svs`;
    await writePyramidTiff(path, { data, width, height }, {
      tileSize: 128,
      downsamples: [1, 2, 8],
      quality: 95,
      mpp: 0.25,
      associated: [
        { kind: "thumbnail", image: small(150, 105, 10) },
        { kind: "label", image: small(300, 300, 20) },
        { kind: "macro", image: small(640, 200, 30) },
      ],
    });
    const slide = await openSlide(path);
    try {
      assert.deepEqual(slide.levels.map((l) => [l.width, l.height, l.ifd]), [[600, 420, 0], [
        300,
        210,
        2,
      ], [75, 53, 3]]);
      assert.deepEqual(slide.associated.map((a) => [a.name, a.ifd, a.width]), [
        ["thumbnail", 1, 150],
        ["label", 4, 300],
        ["macro", 5, 640],
      ]);
      assert.equal(slide.mppX, 0.25);
      assert.equal(slide.levels[1].mppX, 0.5);
      assert.ok(Math.abs(slide.levels[2].downsample - (600 / 75 + 420 / 53) / 2) < 1e-12);
      const region = await slide.readRegion({ level: 0, x: 0, y: 0, width, height });
      let sum = 0;
      let max = 0;
      for (let i = 0; i < data.length; i++) {
        const d = Math.abs(region.data[i] - data[i]);
        sum += d;
        max = Math.max(max, d);
      }
      assert.ok(sum / data.length < 1.5, `mean abs error ${sum / data.length}`);
      assert.ok(max < 40, `max abs error ${max} (edges of the tissue blob)`);
      const centre = await slide.readRegion({ level: 1, x: 150, y: 105, width: 1, height: 1 });
      assert.ok(Math.abs(centre.data[0] - 225) <= 3 && Math.abs(centre.data[2] - 195) <= 3);
    } finally {
      slide.close();
    }
  });
  assert.throws(
    () => encodePyramidTiff({ data, width, height }, { downsamples: [2, 4] }),
    RangeError,
  );
  assert.throws(() => encodePyramidTiff({ data, width: width + 1, height }), TypeError);
});

// ------------------------------------------------------------ bad input --

Deno.test("openSlide() rejects a wrong magic with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(WSI);
    bytes[0] = 0x50;
    const path = `${dir}/magic.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(() => openSlide(path), path, /byte-order mark/);
  });
});

Deno.test("openSlide() rejects a tile offset past the end of the file", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(WSI);
    const v = new DataView(bytes.buffer);
    const offsets = v.getUint32(entryValueOffset(bytes, 1, 324), true);
    v.setUint32(offsets + 4 * 4, bytes.length + 10, true); // level 1, tile 4
    const path = `${dir}/offset.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => openSlide(path),
      path,
      /slide level 1 \(TIFF page 1\) as tile 4 .* lies past the end of the file/,
    );
    const cut = `${dir}/cut.tif`;
    await Deno.writeFile(cut, (await readFileBytes(WSI)).slice(0, 300_000));
    await assertFormatError(() => openSlide(cut), cut, /past the end of the file/);
  });
});

Deno.test("openSlide() rejects an unsupported tile compression (Aperio JPEG 2000)", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(WSI);
    new DataView(bytes.buffer).setUint16(entryValueOffset(bytes, 0, 259), 33005, true);
    const path = `${dir}/j2k.svs`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => openSlide(path),
      path,
      /tile compression 33005 \(Aperio JPEG 2000 RGB\) is unsupported/,
    );
  });
});

Deno.test("Slide.readRegion() rejects JPEG tiles whose shared tables are missing", async () => {
  const bytes = await readFileBytes(WSI);
  // retag JPEGTables (347) as an unknown private tag: tiles lose their tables
  const at = entryValueOffset(bytes, 2, 347) - 8;
  new DataView(bytes.buffer).setUint16(at, 65000, true);
  const slide = await openSlideBytes(bytes, "tables.tif");
  await assertFormatError(
    () => slide.readRegion({ level: 2, x: 0, y: 0, width: 4, height: 4 }),
    "tables.tif",
    /JPEG tile 0 of slide level 2/,
  );
});

// A 16×16 RGB JPEG written by Pillow with keep_rgb=True (Adobe APP14,
// transform 0, components "R", "G", "B"), quadrants (200|40, 60|180, 90):
//   im.save(b, "JPEG", quality=95, keep_rgb=True, subsampling=0)
const PILLOW_RGB_JPEG =
  "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAEQgAEAAQA1IRAEcRAEIRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAAwDUgBHAEIAAD8A/SCvzvr5nr+X+iiv6gK/eCiv5f6KK//Z";

/** A one-tile, one-level tiled TIFF around a given JPEG tile stream (little-endian). */
function oneTileTiff(tile: Uint8Array, photometric: number, tables?: Uint8Array): Uint8Array {
  const entries: [number, number, number[] | Uint8Array][] = [
    [256, 3, [16]],
    [257, 3, [16]],
    [258, 3, [8, 8, 8]],
    [259, 3, [7]],
    [262, 3, [photometric]],
    [277, 3, [3]],
    [284, 3, [1]],
    [322, 3, [16]],
    [323, 3, [16]],
    [324, 4, [0]], // patched below
    [325, 4, [tile.length]],
  ];
  if (tables) entries.push([347, 7, tables]);
  const ifdAt = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  let extra = ifdAt + ifdSize;
  const extras: [number, Uint8Array][] = [];
  const out = new Uint8Array(extra + 6 + (tables?.length ?? 0) + tile.length + 8);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0, ifdAt, 0, 0, 0]);
  v.setUint16(ifdAt, entries.length, true);
  const tileAt = out.length - tile.length - 2;
  entries.forEach(([tag, type, values], e) => {
    const at = ifdAt + 2 + e * 12;
    v.setUint16(at, tag, true);
    v.setUint16(at + 2, type, true);
    v.setUint32(at + 4, values.length, true);
    const size = (type === 3 ? 2 : type === 4 ? 4 : 1) * values.length;
    const target = size > 4 ? extra : at + 8;
    if (size > 4) {
      v.setUint32(at + 8, extra, true);
      extra += size + (size & 1);
    }
    if (tag === 324) v.setUint32(target, tileAt, true);
    else if (values instanceof Uint8Array) extras.push([target, values]);
    else {values.forEach((x, i) => (type === 3
        ? v.setUint16(target + i * 2, x, true)
        : v.setUint32(target + i * 4, x, true))
      );}
  });
  for (const [at, bytes] of extras) out.set(bytes, at);
  out.set(tile, tileAt);
  return out;
}

function splitTables(
  stream: Uint8Array,
  dropAdobe: boolean,
): { tables: Uint8Array; body: Uint8Array } {
  const tables: number[] = [0xff, 0xd8];
  const body: number[] = [0xff, 0xd8];
  for (let at = 2; at < stream.length;) {
    const marker = stream[at + 1];
    if (marker === 0xda) {
      body.push(...stream.subarray(at));
      break;
    }
    const segment = stream.subarray(at, at + 2 + ((stream[at + 2] << 8) | stream[at + 3]));
    if (marker === 0xdb || marker === 0xc4) tables.push(...segment);
    else if (!(dropAdobe && marker === 0xee)) body.push(...segment);
    at += segment.length;
  }
  tables.push(0xff, 0xd9);
  return { tables: new Uint8Array(tables), body: new Uint8Array(body) };
}

Deno.test("Slide.readRegion() decodes RGB-photometric JPEG tiles (Aperio style) without a YCbCr transform", async () => {
  const jpeg = Uint8Array.from(atob(PILLOW_RGB_JPEG), (c) => c.charCodeAt(0));
  const quadrants = [[[200, 60, 90], [40, 60, 90]], [[200, 180, 90], [40, 180, 90]]];
  const variants = [
    ["whole stream", oneTileTiff(jpeg, 2)],
    [
      "shared JPEGTables",
      (() => {
        const { tables, body } = splitTables(jpeg, false);
        return oneTileTiff(body, 2, tables);
      })(),
    ],
    [
      "shared JPEGTables, no Adobe marker",
      (() => {
        const { tables, body } = splitTables(jpeg, true);
        return oneTileTiff(body, 2, tables);
      })(),
    ],
  ] as const;
  for (const [what, bytes] of variants) {
    const slide = await openSlideBytes(bytes, `${what}.tif`);
    assert.equal(slide.levels[0].compression, 7);
    const r = await slide.readRegion({ level: 0, x: 0, y: 0, width: 16, height: 16 });
    for (const [qy, qx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      const o = ((qy * 8 + 4) * 16 + qx * 8 + 4) * 3;
      for (let c = 0; c < 3; c++) {
        assert.ok(
          Math.abs(r.data[o + c] - quadrants[qy][qx][c]) <= 3,
          `${what}: quadrant ${qy},${qx} channel ${c} = ${r.data[o + c]}`,
        );
      }
    }
  }
});

Deno.test("openSlide() takes the Aperio MPP from ImageDescription", async () => {
  const data = new Uint8Array(64 * 64 * 3).fill(230);
  const bytes = encodePyramidTiff({ data, width: 64, height: 64 }, {
    tileSize: 32,
    downsamples: [1, 4],
    mpp: 0.5,
    description:
      "Aperio Image Library v12.0.5\r\n64x64 [0,0 64x64] (32x32) JPEG/RGB Q=70|AppMag = 40|MPP = 0.2520",
  });
  const slide = await openSlideBytes(bytes, "aperio.svs");
  assert.equal(slide.mppX, 0.252);
  assert.ok(Math.abs(slide.levels[1].mppX! - 1.008) < 1e-12);
  assert.match(slide.description, /AppMag = 40/);
});

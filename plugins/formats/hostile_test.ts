// Crafted inputs from issue 19: tiny files that declare huge sizes, values
// that would pass as data, and third-party failures. Every case must end in a
// FormatError that names the file and the field, without the allocation the
// header asks for: each test checks the growth of the resident set size.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { FormatError } from "../../core/errors.ts";
import { decodeJpeg } from "./_jpeg.ts";
import { decodeJpegBytes } from "./jpeg_stream/decoder.ts";
import { encodePng, parsePng } from "./image/png.ts";
import { convertNiftiToVolume, parseNifti } from "./nifti/reader.ts";
import { encodeNifti } from "./nifti/writer.ts";
import { decodeLzw } from "./tiff/_codecs.ts";
import { openSlideBytes } from "./tiff/slide.ts";
import { parseTiffStack } from "./tiff/stack.ts";
import { encodeTiffStack } from "./tiff/writer.ts";
import { setReadLimits } from "./limits.ts";

const DATA = new URL("./testdata/", import.meta.url);
const FIXTURES = new URL("../../fixtures/formats/", import.meta.url);
const MB = 2 ** 20;

/** Runs `fn`, expects a FormatError matching `pattern` and naming `path`, returns the RSS growth in MB. */
async function expectRefused(
  fn: () => unknown,
  path: string,
  pattern: RegExp,
): Promise<number> {
  const before = Deno.memoryUsage().rss;
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  const grown = (Deno.memoryUsage().rss - before) / MB;
  assert.ok(error instanceof FormatError, `expected a FormatError, got ${error}`);
  assert.equal(error.path, path);
  assert.match(error.message, pattern);
  assert.ok(error.message.includes(path), "the message names the file");
  return grown;
}

/** Finds the value field of a tag in the first IFD of a little-endian classic TIFF. */
function findTag(bytes: Uint8Array, tag: number): { type: number; at: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  assert.equal(view.getUint16(0, true), 0x4949);
  const ifd = view.getUint32(4, true);
  const count = view.getUint16(ifd, true);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (view.getUint16(e, true) === tag) return { type: view.getUint16(e + 2, true), at: e + 8 };
  }
  throw new Error(`tag ${tag} not found`);
}

function setTag(bytes: Uint8Array, tag: number, value: number): void {
  const { type, at } = findTag(bytes, tag);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (type === 3) view.setUint16(at, value, true);
  else view.setUint32(at, value, true);
}

Deno.test("decodeJpeg() refuses a 15 KB-class JPEG declaring 65535x65535 before allocating", async () => {
  const bytes = await Deno.readFile(new URL("jpeg_color/edges_444.jpg", DATA));
  const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
  bytes[sof + 5] =
    bytes[sof + 6] =
    bytes[sof + 7] =
    bytes[sof + 8] =
      0xff;
  const grown = await expectRefused(() => decodeJpeg(bytes, "big.jpg"), "big.jpg", /maxPixels/);
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MB`);
  // The streaming decoder (tile bags) checks the same budget.
  const grownStream = await expectRefused(
    () => decodeJpegBytes(bytes, "big.jpg"),
    "big.jpg",
    /maxPixels/,
  );
  assert.ok(grownStream < 64, `RSS grew ${grownStream.toFixed(1)} MB`);
  // With the budget lifted, the scan data is still too short for the blocks.
  const previous = setReadLimits({ maxPixels: 2 ** 33, maxBytes: 2 ** 50 });
  try {
    const grown2 = await expectRefused(
      () => decodeJpeg(bytes, "big.jpg"),
      "big.jpg",
      /declares \d+ blocks, which need at least \d+ bytes of scan data/,
    );
    assert.ok(grown2 < 64, `RSS grew ${grown2.toFixed(1)} MB`);
  } finally {
    setReadLimits(previous);
  }
});

Deno.test("parseNifti() stops a .nii.gz at what its header declares (2x2x2 voxels, 64 MB payload)", async () => {
  const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const small = encodeNifti(new Int16Array(8), { shape: [2, 2, 2], affine });
  const padded = new Uint8Array(small.length + 64 * MB);
  padded.set(small);
  const bomb = new Uint8Array(gzipSync(padded));
  assert.ok(bomb.length < 200_000);
  const grown = await expectRefused(
    () => parseNifti(bomb, "bomb.nii.gz"),
    "bomb.nii.gz",
    /must be at most \d+ bytes as declared by dim \[2, 2, 2\]/,
  );
  assert.ok(grown < 48, `RSS grew ${grown.toFixed(1)} MB`);
  // The same file without the payload reads.
  assert.deepEqual(parseNifti(new Uint8Array(gzipSync(small)), "ok.nii.gz").shape, [2, 2, 2]);
});

Deno.test("parsePng() refuses an IHDR of 50000x50000 over a few bytes of IDAT", async () => {
  const bytes = encodePng({ data: new Uint8Array(16), width: 4, height: 4, channels: 1 });
  const view = new DataView(bytes.buffer);
  view.setUint32(16, 50_000);
  view.setUint32(20, 50_000);
  const grown = await expectRefused(() => parsePng(bytes, "huge.png"), "huge.png", /IHDR/);
  assert.ok(grown < 32, `RSS grew ${grown.toFixed(1)} MB`);
  const previous = setReadLimits({ maxPixels: 2 ** 33, maxBytes: 2 ** 50 });
  try {
    await expectRefused(
      () => parsePng(bytes, "huge.png"),
      "huge.png",
      /more than deflate can expand/,
    );
  } finally {
    setReadLimits(previous);
  }
});

Deno.test("openSlideBytes() refuses a tile size of 65535 on a small level", async () => {
  const bytes = await Deno.readFile(new URL("wsi/wsi_pyramid_jpeg.tif", FIXTURES));
  setTag(bytes, 322, 65535);
  setTag(bytes, 323, 65535);
  const grown = await expectRefused(
    () => openSlideBytes(bytes, "tile.tif"),
    "tile.tif",
    /TileWidth x TileLength must fit its \d+x\d+ level/,
  );
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MB`);
});

Deno.test("decodeLzw() matches libtiff's LZW (Pillow fixture) and stops at the block size", async () => {
  const tif = await Deno.readFile(new URL("tiff_lzw/pillow_lzw_53x37.tif", DATA));
  const raw = await Deno.readFile(new URL("tiff_lzw/pillow_lzw_53x37.raw", DATA));
  const stack = await parseTiffStack(tif, "lzw.tif");
  assert.deepEqual(stack.shape, [1, 37, 53]);
  assert.deepEqual([...stack.data], [...raw]);
  // The strip relabelled as 2 rows: its LZW data decodes to far more.
  setTag(tif, 257, 2);
  setTag(tif, 278, 2);
  await expectRefused(
    () => parseTiffStack(tif, "short.tif"),
    "short.tif",
    /LZW output must be at most 106 bytes/,
  );
  assert.throws(() => decodeLzw(new Uint8Array([0x80, 0x7f, 0xff, 0xff]), 10), /corrupt LZW/);
});

Deno.test("parseTiffStack() refuses PackBits data relabelled as LZW with bounded memory", async () => {
  const data = new Uint8Array(512 * 512);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 7 === 0 ? 200 : 10;
  const bytes = encodeTiffStack(data, { shape: [1, 512, 512], compression: "packbits" });
  setTag(bytes, 259, 5);
  const grown = await expectRefused(
    () => parseTiffStack(bytes, "relabelled.tif"),
    "relabelled.tif",
    /LZW|decode/,
  );
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MB`);
});

/** A one-page little-endian TIFF (4x4 uint8, uncompressed) whose NewSubfileType is `subfile`. */
function buildTiff(subfile: number): Uint8Array {
  const entries: [number, number, number][] = [
    [254, 4, subfile],
    [256, 3, 4],
    [257, 3, 4],
    [258, 3, 8],
    [259, 3, 1],
    [262, 3, 1],
    [273, 4, 0], // patched below
    [277, 3, 1],
    [278, 3, 4],
    [279, 4, 16],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const bytes = new Uint8Array(8 + ifdSize + 16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0x4949, true);
  view.setUint16(2, 42, true);
  view.setUint32(4, 8, true);
  view.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, value], i) => {
    const e = 10 + i * 12;
    view.setUint16(e, tag, true);
    view.setUint16(e + 2, type, true);
    view.setUint32(e + 4, 1, true);
    const v = tag === 273 ? 8 + ifdSize : value;
    if (type === 3) view.setUint16(e + 8, v, true);
    else view.setUint32(e + 8, v, true);
  });
  bytes.fill(7, 8 + ifdSize);
  return bytes;
}

Deno.test("parseTiffStack() refuses a stack with no full-resolution page with a FormatError", async () => {
  const ok = await parseTiffStack(buildTiff(0), "full.tif");
  assert.deepEqual([...ok.data], new Array(16).fill(7));
  await expectRefused(
    () => parseTiffStack(buildTiff(1), "reduced.tif"),
    "reduced.tif",
    /at least one full-resolution page/,
  );
});

Deno.test("parseNifti() falls back from a NaN sform to the qform with a warning, refuses scl_slope 1e38", () => {
  const affine = [[2, 0, 0, -10], [0, 2, 0, -20], [0, 0, 3, -30], [0, 0, 0, 1]];
  const bytes = encodeNifti(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]), {
    shape: [2, 2, 2],
    affine,
    sformCode: 1,
    qformCode: 1,
  });
  const nan = bytes.slice();
  new DataView(nan.buffer).setFloat32(280, NaN, true); // srow_x[0]
  const image = parseNifti(nan, "nan_sform.nii");
  assert.equal(image.affineSource, "qform");
  assert.ok(image.affine.flat().every(Number.isFinite));
  assert.deepEqual(image.affine[0], [2, 0, 0, -10]);
  assert.equal(image.warnings?.length, 1);
  assert.match(
    image.warnings![0],
    /nan_sform\.nii: sform_code is 1 but srow_x\/y\/z .* the qform is used/,
  );
  // The warning travels with the volume, for the run record.
  assert.deepEqual(convertNiftiToVolume(image).warnings, image.warnings);
  const scaled = encodeNifti(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]), {
    shape: [2, 2, 2],
    affine,
    sclSlope: 1e38,
  });
  assert.throws(
    () => parseNifti(scaled, "slope.nii"),
    (e: unknown) =>
      e instanceof FormatError &&
      /scl_slope \S+e\+37 .* must be finite in float32/.test(e.message) &&
      e.path === "slope.nii",
  );
});

/** Byte offset of the value of an explicit-VR LE element `(group,element)` with VR `vr`. */
function findExplicit(bytes: Uint8Array, group: number, element: number, vr: string): number {
  const pattern = [
    group & 255,
    group >> 8,
    element & 255,
    element >> 8,
    vr.charCodeAt(0),
    vr.charCodeAt(1),
  ];
  for (let i = 132; i < bytes.length - 8; i++) {
    if (pattern.every((b, k) => bytes[i + k] === b)) return i + 8;
  }
  throw new Error(`element ${group.toString(16)},${element.toString(16)} not found`);
}

const DICOM_MONO2 = new URL("dicom/cxr_mono2_explicit_le.dcm", FIXTURES);
const DICOM_MONO1 = new URL("dicom/cxr_mono1_implicit_le.dcm", FIXTURES);

Deno.test("parseDicom() reads a data set without preamble and File Meta group as implicit VR LE", async () => {
  const { parseDicom } = await import("./dicom/reader.ts");
  const full = await Deno.readFile(DICOM_MONO1);
  const reference = parseDicom(full, "mono1.dcm");
  // Skip the preamble, "DICM" and the (explicit VR) group 0002 elements.
  const view = new DataView(full.buffer);
  let at = 132;
  while (view.getUint16(at, true) === 0x0002) {
    const vr = String.fromCharCode(full[at + 4], full[at + 5]);
    at += ["OB", "OW", "SQ", "UN", "UT"].includes(vr)
      ? 12 + view.getUint32(at + 8, true)
      : 8 + view.getUint16(at + 6, true);
  }
  const bare = full.slice(at);
  assert.notEqual(String.fromCharCode(...bare.subarray(128, 132)), "DICM");
  const image = parseDicom(bare, "bare.dcm");
  assert.equal(image.transferSyntax, "1.2.840.10008.1.2");
  assert.deepEqual([image.rows, image.columns, image.photometric], [
    reference.rows,
    reference.columns,
    "MONOCHROME1",
  ]);
  assert.deepEqual(image.pixels, reference.pixels);
  // Text is still refused.
  await expectRefused(
    () =>
      parseDicom(
        new TextEncoder().encode("PatientName,Age\nDoe^John,42\n".repeat(10)),
        "notes.txt",
      ),
    "notes.txt",
    /not a Part-10 file/,
  );
});

Deno.test("parseDicom() refuses non-numeric Rescale Slope and Number of Frames, and wraps dicom-parser's bare strings", async () => {
  const { parseDicom } = await import("./dicom/reader.ts");
  const bytes = await Deno.readFile(DICOM_MONO2);
  const slope = bytes.slice();
  const at = findExplicit(slope, 0x0028, 0x1053, "DS");
  slope.set(new TextEncoder().encode("abc"), at);
  await expectRefused(
    () => parseDicom(slope, "slope.dcm"),
    "slope.dcm",
    /Rescale Slope .* must be a finite decimal number/,
  );
  const frames = bytes.slice();
  const inst = findExplicit(frames, 0x0020, 0x0013, "IS");
  frames.set([0x28, 0x00, 0x08, 0x00], inst - 8);
  frames[inst] = 0x78; // "x"
  await expectRefused(
    () => parseDicom(frames, "frames.dcm"),
    "frames.dcm",
    /Number of Frames .* positive integer/,
  );
  // Truncated inside the data set (implicit VR): dicom-parser throws a string.
  const implicit = await Deno.readFile(DICOM_MONO1);
  for (const cut of [140, 300, 700, 1200]) {
    await expectRefused(() => parseDicom(implicit.slice(0, cut), "cut.dcm"), "cut.dcm", /\S/);
  }
});

Deno.test("parsePng() refuses a 4x4 image whose IDAT inflates to 64 MB before fast-png inflates it", async () => {
  const { deflateSync } = await import("node:zlib");
  const idat = new Uint8Array(deflateSync(new Uint8Array(64 * MB)));
  const ihdr = encodePng({ data: new Uint8Array(16), width: 4, height: 4, channels: 1 }).subarray(
    0,
    33,
  );
  const png = new Uint8Array(ihdr.length + 12 + idat.length + 12);
  png.set(ihdr);
  const view = new DataView(png.buffer);
  view.setUint32(33, idat.length);
  png.set([0x49, 0x44, 0x41, 0x54], 37); // "IDAT" (CRC left 0: refused before it is checked)
  png.set(idat, 41);
  const end = 41 + idat.length + 4;
  png.set([0x49, 0x45, 0x4e, 0x44], end + 4); // IEND, length 0
  const grown = await expectRefused(
    () => parsePng(png, "inflating.png"),
    "inflating.png",
    /IDAT data must inflate to at most \d+ bytes as declared by IHDR \(4x4/,
  );
  assert.ok(grown < 32, `RSS grew ${grown.toFixed(1)} MB`);
});

Deno.test("decodePackBits() matches the TIFF PackBits stacks and stops at the block size", async () => {
  const { decodePackBits } = await import("./tiff/_codecs.ts");
  // -3 → repeat next byte 4 times; 1 → 2 literal bytes; -128 is a no-op.
  assert.deepEqual([...decodePackBits(new Uint8Array([0xfd, 7, 1, 5, 6, 0x80]), 6)], [
    7,
    7,
    7,
    7,
    5,
    6,
  ]);
  assert.throws(() => decodePackBits(new Uint8Array([0x81, 9]), 100), /at most 100 bytes/);
  assert.throws(() => decodePackBits(new Uint8Array([5, 1]), 100), /passes the end/);
  const data = Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 97 < 50 ? 3 : i % 251));
  const stack = await parseTiffStack(
    encodeTiffStack(data, { shape: [1, 64, 64], compression: "packbits" }),
    "packbits.tif",
  );
  assert.deepEqual([...stack.data], [...data]);
});

Deno.test("parseNifti() refuses an infinite voxel size and records a NaN one as a 1 mm fallback", () => {
  const affine = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]];
  const bytes = encodeNifti(new Int16Array(8), { shape: [2, 2, 2], affine, qformCode: 1 });
  const inf = bytes.slice();
  new DataView(inf.buffer).setFloat32(80, Infinity, true); // pixdim[1]
  assert.throws(
    () => parseNifti(inf, "inf.nii"),
    (e: unknown) =>
      e instanceof FormatError && /pixdim\[1\] \(voxel size\) must be finite/.test(e.message),
  );
  const nan = bytes.slice();
  new DataView(nan.buffer).setFloat32(84, NaN, true); // pixdim[2]
  const image = parseNifti(nan, "nan.nii");
  assert.equal(image.spacing[1], 1);
  assert.ok(image.warnings?.some((w) => /pixdim\[2\] is NaN/.test(w)));
});

import assert from "node:assert/strict";
import dicomParser from "dicom-parser";
import {
  applyDicomWindow,
  convertDicomToImage,
  parseDicom,
  readDicom,
  rescaleDicom,
} from "./reader.ts";
import { encodeDicom } from "./writer.ts";
import { assertFormatError, fixture, sha256Hex, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

const MONO2 = fixture("dicom/cxr_mono2_explicit_le.dcm");
const MONO1 = fixture("dicom/cxr_mono1_implicit_le.dcm");
const JPEG = fixture("dicom/cxr_jpeg_baseline_8bit.dcm");
const CT = fixture("dicom/thirdparty/pydicom_CT_small.dcm");

Deno.test("readDicom() reads explicit VR LE with rescale and a single window", async () => {
  const dx = await readDicom(MONO2);
  assert.equal(dx.transferSyntax, "1.2.840.10008.1.2.1");
  assert.deepEqual([dx.rows, dx.columns, dx.bitsStored, dx.photometric], [
    320,
    256,
    12,
    "MONOCHROME2",
  ]);
  assert.deepEqual([dx.rescaleSlope, dx.rescaleIntercept], [1.5, -512]);
  assert.deepEqual(dx.pixelSpacing, [0.139, 0.139]);
  assert.equal(
    await sha256Hex(dx.pixels!),
    "eef0a83832cbcc3bead6dec0db54af78a4d9f4683e9335cb2ff9591ea67cdb4a",
  );
  assert.equal(rescaleDicom(dx)[160 * 256 + 128], 4078);
  assert.ok(Math.abs(applyDicomWindow(dx)[160 * 256 + 128] - 204.959) < 1e-3);
});

Deno.test("readDicom() reads implicit VR LE MONOCHROME1 and windows with the first center/width", async () => {
  const cr = await readDicom(MONO1);
  assert.equal(cr.transferSyntax, "1.2.840.10008.1.2");
  assert.deepEqual(cr.windowCenter, [2047, 1800]);
  assert.deepEqual(cr.windowWidth, [4096, 2400]);
  const display = applyDicomWindow(cr);
  // stored 3956 → (3956 - 2046.5) / 4095 + 0.5 → 246.41 → inverted 8.59
  assert.ok(Math.abs(display[0] - 8.59341) < 1e-3, String(display[0]));
  assert.ok(Math.abs(display[160 * 256 + 128] - 188.744) < 1e-3);
  const image = convertDicomToImage(cr);
  assert.equal(image.intensity, "unit");
  assert.ok(Math.abs(image.data[0] - 8.59341 / 255) < 1e-5);
  const second = applyDicomWindow(cr, { center: 1800, width: 2400 });
  assert.notEqual(second[0], display[0]);
});

Deno.test("readDicom() decodes encapsulated JPEG baseline pixel data (RSNA style)", async () => {
  const cr = await readDicom(JPEG);
  assert.equal(cr.transferSyntax, "1.2.840.10008.1.2.4.50");
  assert.ok(cr.pixels instanceof Uint8Array);
  assert.equal(cr.pixels.length, 256 * 256);
  for (const [r, c, v] of [[0, 0, 12], [128, 128, 191], [255, 255, 9]]) {
    assert.ok(
      Math.abs(cr.pixels[r * 256 + c] - v) <= 3,
      `[${r}, ${c}] = ${cr.pixels[r * 256 + c]}`,
    );
  }
});

Deno.test("readDicom() keeps signed CT values and Hounsfield rescale", async () => {
  const ct = await readDicom(CT);
  assert.ok(ct.pixels instanceof Int16Array);
  assert.equal(rescaleDicom(ct)[64 * 128 + 64], 904);
  const headerOnly = await readDicom(CT, { pixels: false });
  assert.equal(headerOnly.pixels, undefined);
  assert.equal(headerOnly.rows, 128);
  assert.throws(() => rescaleDicom(headerOnly), TypeError);
});

Deno.test("parseDicom() sign-extends signed values narrower than 16 bits", () => {
  // 12-bit signed -5 stored with garbage in the top nibble must read as -5
  const bytes = encodeDicom({
    pixels: new Int16Array([-5, 7]),
    rows: 1,
    columns: 2,
    pixelSpacing: [1, 1],
    bitsStored: 12,
  });
  const ds = dicomParser.parseDicom(bytes);
  const at = ds.elements.x7fe00010.dataOffset;
  bytes[at + 1] = (bytes[at + 1] & 0x0f) | 0x50; // 0x5ffb: top bits not part of the value
  assert.deepEqual([...parseDicom(bytes, "s12.dcm").pixels!], [-5, 7]);
});

// ------------------------------------------------------------ bad input --

async function corrupt(
  dir: string,
  source: string,
  name: string,
  edit: (b: Uint8Array) => Uint8Array,
) {
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, edit((await readFileBytes(source)).slice()));
  return path;
}

Deno.test("readDicom() rejects a file without the DICM magic", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MONO2, "magic.dcm", (b) => {
      b.set([0x44, 0x49, 0x43, 0x58], 128);
      return b;
    });
    await assertFormatError(
      () => readDicom(path),
      path,
      /not a Part-10 file: "DICM" expected at byte 128/,
    );
  });
});

Deno.test("readDicom() rejects a file truncated inside the header or the pixel data", async () => {
  await withTempDir(async (dir) => {
    const header = await corrupt(dir, MONO2, "head.dcm", (b) => b.slice(0, 400));
    await assertFormatError(
      () => readDicom(header),
      header,
      /Cannot (parse DICOM data set|decode DICOM pixels)/,
    );
    const pixels = await corrupt(dir, MONO2, "pixels.dcm", (b) => b.slice(0, b.length - 1000));
    await assertFormatError(
      () => readDicom(pixels),
      pixels,
      /Cannot (parse DICOM data set|decode DICOM pixels)/,
    );
  });
});

Deno.test("readDicom() rejects Rows x Columns that disagree with the Pixel Data length", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MONO2, "rows.dcm", (b) => {
      const at = dicomParser.parseDicom(b).elements.x00280010.dataOffset;
      new DataView(b.buffer).setUint16(at, 321, true);
      return b;
    });
    await assertFormatError(
      () => readDicom(path),
      path,
      /321x256x1 frames x 1 samples of 16 bits need 164352 bytes of Pixel Data: the file holds 163840/,
    );
  });
});

Deno.test("readDicom() rejects an unsupported compression (RLE transfer syntax)", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MONO2, "rle.dcm", (b) => {
      const at = dicomParser.parseDicom(b).elements.x00020010.dataOffset;
      b.set(new TextEncoder().encode("1.2.840.10008.1.2.5\0"), at);
      return b;
    });
    await assertFormatError(
      () => readDicom(path),
      path,
      /transfer syntax 1\.2\.840\.10008\.1\.2\.5 \(RLE Lossless\) is an unsupported compression/,
    );
  });
});

Deno.test("readDicom() rejects a JPEG fragment cut short", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(JPEG);
    const fragment = dicomParser.parseDicom(bytes).elements.x7fe00010.fragments![0];
    // keep the item structure but zero the last 2 kB of the JPEG stream (EOI gone)
    const path = `${dir}/jpeg.dcm`;
    const cut = bytes.slice();
    cut.fill(0, fragment.position + fragment.length - 2048, fragment.position + fragment.length);
    await Deno.writeFile(path, cut);
    await assertFormatError(() => readDicom(path), path, /DICOM JPEG frame 0/);
  });
});

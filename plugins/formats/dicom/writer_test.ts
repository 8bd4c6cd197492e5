import assert from "node:assert/strict";
import dicomParser from "dicom-parser";
import { createDicomUid, encodeDicom, writeDicom } from "./writer.ts";
import { applyDicomWindow, parseDicom, readDicom, rescaleDicom } from "./reader.ts";
import { readDicomSeries } from "./series.ts";
import { withTempDir } from "../_testing.ts";

Deno.test("encodeDicom() writes a synthetic RSNA-style chest radiograph that dicom-parser reads", async () => {
  const rows = 64;
  const columns = 48;
  const pixels = new Uint16Array(rows * columns).map((_, i) => (i * 37) % 4096);
  await withTempDir(async (dir) => {
    const path = `${dir}/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm`;
    await writeDicom(path, {
      pixels,
      rows,
      columns,
      bitsStored: 12,
      pixelSpacing: [0.168, 0.168],
      rescaleSlope: 1,
      rescaleIntercept: 0,
      windowCenter: 2048,
      windowWidth: 4096,
      modality: "CR",
      viewPosition: "PA",
      patientId: "0004cfab-14fd-4e49-80ba-63a80b6bddd6",
      patientSex: "F",
      patientAge: "51",
      bodyPartExamined: "CHEST",
      seed: "rsna/0004cfab",
    });
    const bytes = await Deno.readFile(path);
    assert.equal(String.fromCharCode(...bytes.subarray(128, 132)), "DICM");
    const ds = dicomParser.parseDicom(bytes);
    assert.equal(ds.string("x00080016"), "1.2.840.10008.5.1.4.1.1.1");
    assert.equal(ds.string("x00185101"), "PA");
    assert.equal(ds.uint16("x00280010"), rows);
    assert.equal(ds.uint16("x00280101"), 12);
    assert.equal(ds.string("x00100020"), "0004cfab-14fd-4e49-80ba-63a80b6bddd6");
    // group length matches the meta group
    const metaEnd = ds.elements.x00020000.dataOffset + 4 + ds.uint32("x00020000")!;
    assert.equal(ds.elements.x00080016.dataOffset - 8, metaEnd);
    const pe = ds.elements.x7fe00010;
    const stored = new Uint16Array(bytes.slice(pe.dataOffset, pe.dataOffset + pe.length).buffer);
    assert.deepEqual([...stored], [...pixels]);
    const image = await readDicom(path);
    assert.deepEqual([...image.pixels!], [...pixels]);
    assert.equal(image.modality, "CR");
    const x = (100 * 37) % 4096;
    const expected = ((x - 2047.5) / 4095 + 0.5) * 255;
    assert.ok(Math.abs(applyDicomWindow(image)[100] - expected) < 1e-3);
  });
});

Deno.test("encodeDicom() writes a CT series whose slices sort back by position", async () => {
  const study = createDicomUid("ct/study");
  const series = createDicomUid("ct/series");
  assert.notEqual(study, series);
  await withTempDir(async (dir) => {
    const zs = [-10, -7.5, -5, -2.5, 0];
    const order = [3, 0, 4, 1, 2]; // file names unrelated to position
    for (const [n, k] of order.entries()) {
      const hu = new Int16Array(16 * 16).map((_, i) => (i % 16) * 10 + k - 1000);
      await writeDicom(`${dir}/IM${String(n + 1).padStart(4, "0")}.dcm`, {
        pixels: new Int16Array(hu.map((v) => v + 1024)),
        rows: 16,
        columns: 16,
        pixelSpacing: [0.7, 0.7],
        sliceThickness: 2.5,
        imagePositionPatient: [-5.6, -5.6, zs[k]],
        imageOrientationPatient: [1, 0, 0, 0, 1, 0],
        rescaleIntercept: -1024,
        rescaleType: "HU",
        modality: "CT",
        studyInstanceUid: study,
        seriesInstanceUid: series,
        instanceNumber: 5 - k,
        pixelPaddingValue: -2000,
      });
    }
    const s = await readDicomSeries(dir);
    assert.deepEqual(s.positions, zs);
    assert.deepEqual(s.instanceNumbers, [5, 4, 3, 2, 1]);
    assert.equal(s.sliceSpacing, 2.5);
    for (let k = 0; k < 5; k++) assert.equal(s.volume.data[k * 256 + 3], 30 + k - 1000);
    const one = parseDicom(await Deno.readFile(`${dir}/IM0001.dcm`), "IM0001.dcm");
    assert.equal(one.pixelPaddingValue, -2000);
    assert.equal(one.studyInstanceUid, study);
    assert.equal(rescaleDicom(one).length, 256);
  });
});

Deno.test("encodeDicom() checks its inputs", () => {
  assert.throws(
    () => encodeDicom({ pixels: new Uint16Array(3), rows: 2, columns: 2, pixelSpacing: [1, 1] }),
    TypeError,
  );
  assert.throws(
    () =>
      encodeDicom({
        pixels: new Uint16Array([4096]),
        rows: 1,
        columns: 1,
        pixelSpacing: [1, 1],
        bitsStored: 12,
      }),
    /12 stored bits hold \[0, 4095\]: value at index 0 is 4096/,
  );
  const odd = encodeDicom({
    pixels: new Uint8Array([1, 2, 3]),
    rows: 1,
    columns: 3,
    pixelSpacing: [1, 1],
  });
  assert.equal(odd.length % 2, 0, "odd 8-bit pixel data is padded");
  assert.deepEqual([...parseDicom(odd, "odd.dcm").pixels!], [1, 2, 3]);
});

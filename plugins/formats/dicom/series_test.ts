import assert from "node:assert/strict";
import { parseDicomSeries, readDicomSeries } from "./series.ts";
import { encodeDicom } from "./writer.ts";
import { assertFormatError, fixture, withTempDir } from "../_testing.ts";

Deno.test("readDicomSeries() sorts by position along the normal, not by name or InstanceNumber", async () => {
  const series = await readDicomSeries(fixture("dicom/ct_series"));
  assert.deepEqual(series.files.map((f) => f.split("/").pop()), [
    "IM0004.dcm",
    "IM0001.dcm",
    "IM0005.dcm",
    "IM0002.dcm",
    "IM0003.dcm",
  ]);
  assert.deepEqual(series.instanceNumbers, [5, 4, 3, 2, 1]);
  assert.deepEqual(series.positions, [-152.5, -150, -147.5, -145, -142.5]);
  assert.equal(series.sliceSpacing, 2.5);
  assert.equal(series.uniformSpacing, true);
  assert.deepEqual(series.volume.shape, [5, 64, 64]);
  assert.deepEqual(series.volume.spacingMm, [2.5, 0.7, 0.7]);
  const v = series.volume.data;
  assert.equal(v[0], -3024, "padding corner");
  assert.equal(v[2 * 4096 + 32 * 64 + 32], 48);
  assert.equal(v[4 * 4096 + 39 * 64 + 10], 44);
});

function slice(z: number, options: { iop?: number[]; series?: string; instance?: number } = {}) {
  return {
    path: `z${z}.dcm`,
    bytes: encodeDicom({
      pixels: new Int16Array(6).fill(Math.round(z * 10)),
      rows: 2,
      columns: 3,
      pixelSpacing: [0.5, 0.8],
      imagePositionPatient: [0, 0, z],
      imageOrientationPatient: options.iop ?? [1, 0, 0, 0, 1, 0],
      seriesInstanceUid: options.series ?? "1.2.3",
      instanceNumber: options.instance ?? 1,
      rescaleIntercept: -1024,
    }),
  };
}

Deno.test("parseDicomSeries() measures spacing, flags gaps and builds a RAS affine", () => {
  const s = parseDicomSeries([slice(3), slice(0), slice(1), slice(2)]);
  assert.deepEqual(s.files, ["z0.dcm", "z1.dcm", "z2.dcm", "z3.dcm"]);
  assert.equal(s.volume.data[6 * 3], 30 - 1024);
  // LPS (x, y) → RAS (-x, -y); column step 0.8 along x, row step 0.5 along y
  assert.deepEqual(s.volume.affine?.slice(0, 4).map((x) => x + 0), [-0.8, 0, 0, 0]);
  assert.deepEqual(s.volume.affine?.slice(4, 8).map((x) => x + 0), [0, -0.5, 0, 0]);
  assert.deepEqual(s.volume.affine?.slice(8, 12), [0, 0, 1, 0]);
  const gap = parseDicomSeries([slice(0), slice(1), slice(3)]);
  assert.equal(gap.uniformSpacing, false);
  assert.equal(gap.sliceSpacing, 1.5);
  // a series whose normal points down (feet first): sorted along the normal
  const flipped = parseDicomSeries(
    [0, 1, 2].map((z) => slice(z, { iop: [1, 0, 0, 0, -1, 0] })),
  );
  assert.deepEqual(flipped.files, ["z2.dcm", "z1.dcm", "z0.dcm"]);
});

Deno.test("parseDicomSeries() rejects mixed orientations, duplicate positions and mixed series", async () => {
  await assertFormatError(
    () => parseDicomSeries([slice(0), slice(1, { iop: [0, 1, 0, 0, 0, -1] })]),
    "z1.dcm",
    /Image Orientation \(Patient\) must be the same/,
  );
  await assertFormatError(
    () => parseDicomSeries([slice(1), { ...slice(1), path: "copy.dcm" }]),
    "copy.dcm",
    /share the position/,
  );
  await assertFormatError(
    () => parseDicomSeries([slice(0), slice(1, { series: "9.9" })]),
    "z1.dcm",
    /different series/,
  );
});

Deno.test("readDicomSeries() refuses a non-DICOM file in the folder instead of skipping it", async () => {
  await withTempDir(async (dir) => {
    for (const s of [slice(0), slice(1)]) await Deno.writeFile(`${dir}/${s.path}`, s.bytes);
    await Deno.writeFile(`${dir}/notes.txt`, new TextEncoder().encode("not dicom"));
    await assertFormatError(() => readDicomSeries(dir), `${dir}/notes.txt`, /not a Part-10 file/);
    const ok = await readDicomSeries(dir, { filter: (name) => name.endsWith(".dcm") });
    assert.equal(ok.files.length, 2);
  });
});

import assert from "node:assert/strict";
import {
  CT_RATE_ABNORMALITIES,
  NIH_CHEST_XRAY14_CLASSES,
  parseCsv,
  parseCtRateLabels,
  parseCtRateMetadata,
  parseNihDataEntry,
  readCsv,
  readCtRateLabels,
  readCtRateMetadata,
  readNihDataEntry,
} from "./csv.ts";
import { assertFormatError, fixture, withTempDir } from "../_testing.ts";

const NIH = fixture("csv/Data_Entry_2017_sample.csv");
const LABELS = fixture("csv/train_predicted_labels.csv");
const META = fixture("csv/train_metadata.csv");

Deno.test("readNihDataEntry() handles the split header, trailing commas and '|' labels", async () => {
  const table = await readCsv(NIH);
  assert.equal(table.columns.length, 12);
  assert.deepEqual(table.columns.slice(7), [
    "OriginalImage[Width",
    "Height]",
    "OriginalImagePixelSpacing[x",
    "y]",
    "",
  ]);
  const rows = await readNihDataEntry(NIH);
  assert.equal(rows.length, 13);
  assert.deepEqual(rows[1].findingLabels, ["No Finding"]);
  assert.equal(rows[1].target.reduce((a, b) => a + b, 0), 0, "No Finding is no class");
  assert.deepEqual(
    [
      rows[3].imageIndex,
      rows[3].patientId,
      rows[3].patientAge,
      rows[3].followUp,
      rows[3].viewPosition,
    ],
    ["00000002_000.png", 2, 70, 0, "AP"],
  );
  const counts = NIH_CHEST_XRAY14_CLASSES.map((_, k) => rows.reduce((n, r) => n + r.target[k], 0));
  assert.deepEqual(counts, [1, 3, 2, 3, 1, 0, 2, 0, 0, 0, 0, 3, 2, 1]);
  assert.equal(rows.filter((r) => r.findingLabels.length > 1).length, 7);
  // the header-only trailing comma variant of other releases
  const text = await Deno.readTextFile(NIH);
  const headerOnly = text.split("\n").map((l, i) => (i === 0 ? l : l.replace(/,$/, ""))).join("\n");
  assert.deepEqual(
    parseNihDataEntry(headerOnly, "h.csv").map((r) => r.pixelSpacingY),
    rows.map((r) => r.pixelSpacingY),
  );
  // and an older release's "058Y" age
  const aged = text.replace(
    "00000001_000.png,Fibrosis,0,1,40,",
    "00000001_000.png,Fibrosis,0,1,058Y,",
  );
  assert.equal(parseNihDataEntry(aged, "aged.csv")[0].patientAge, 58);
});

Deno.test("readCtRateLabels() returns the 18 columns and parsed volume names", async () => {
  const rows = await readCtRateLabels(LABELS);
  assert.equal(rows.length, 12);
  assert.equal(CT_RATE_ABNORMALITIES.length, 18);
  assert.deepEqual(
    [rows[8].volumeName, rows[8].split, rows[8].patient, rows[8].scan, rows[8].reconstruction],
    ["train_10_a_1.nii.gz", "train", "10", "a", 1],
  );
  const positives = CT_RATE_ABNORMALITIES.map((_, k) => rows.reduce((n, r) => n + r.target[k], 0));
  assert.deepEqual(positives, [0, 5, 2, 1, 1, 2, 4, 3, 4, 9, 2, 3, 5, 1, 7, 7, 4, 1]);
});

Deno.test("readCtRateMetadata() parses list fields stored as strings and empty fields", async () => {
  const rows = await readCtRateMetadata(META);
  assert.equal(rows.length, 12);
  const first = rows[0];
  assert.equal(first.volumeName, "train_1_a_1.nii.gz");
  assert.deepEqual(first.xySpacing, [0.75, 0.75]);
  assert.equal(first.zSpacing, 1.5);
  assert.deepEqual([first.rescaleSlope, first.rescaleIntercept], [1, -1024]);
  assert.deepEqual(first.imagePositionPatient, [-18, -8, -12]);
  assert.deepEqual(first.imageOrientationPatient, [1, 0, 0, 0, 1, 0]);
  assert.equal(first.rows, 48);
  assert.equal(first.patientAge, 48);
  assert.equal(first.fields["DistanceSourceToDetector"], "");
  assert.equal(rows[1].fields["RescaleType"], "");
  assert.equal(rows[10].zSpacing, 2);
});

// ------------------------------------------------------------ bad input --

Deno.test("parseCsv() rejects an unterminated quote and rows with too many fields", async () => {
  await assertFormatError(() => parseCsv('a,b\n"x,1\n', "q.csv"), "q.csv", /quote/i);
  await assertFormatError(
    () => parseCsv("a,b\n1,2,3\n", "n.csv"),
    "n.csv",
    /line 2 as it has 3 fields: the header has 2/,
  );
  await assertFormatError(
    () => parseCsv("a,b\n1\n", "m.csv"),
    "m.csv",
    /line 2 as it has 1 fields/,
  );
});

Deno.test("readNihDataEntry() rejects a foreign header and an unknown label", async () => {
  await withTempDir(async (dir) => {
    const text = await Deno.readTextFile(NIH);
    const header = `${dir}/header.csv`;
    await Deno.writeTextFile(header, text.replace("Finding Labels", "Labels"));
    await assertFormatError(
      () => readNihDataEntry(header),
      header,
      /column 2 must be "Finding Labels"/,
    );
    const label = `${dir}/label.csv`;
    await Deno.writeTextFile(label, text.replace("Fibrosis,0,1,40", "Fibrosys,0,1,40"));
    await assertFormatError(
      () => readNihDataEntry(label),
      label,
      /line 2 as "Fibrosys" is not a ChestX-ray14 class/,
    );
    const age = `${dir}/age.csv`;
    await Deno.writeTextFile(age, text.replace("Fibrosis,0,1,40", "Fibrosis,0,1,forty"));
    await assertFormatError(
      () => readNihDataEntry(age),
      age,
      /"Patient Age" on line 2 as it must be an integer/,
    );
  });
});

Deno.test("CT-RATE readers reject bad labels, names and spacing", async () => {
  const labels = await Deno.readTextFile(LABELS);
  await assertFormatError(
    () =>
      parseCtRateLabels(labels.replace("train_1_a_1.nii.gz,0", "train_1_a_1.nii.gz,2"), "l.csv"),
    "l.csv",
    /"Medical material" on line 2 as it must be 0 or 1/,
  );
  await assertFormatError(
    () => parseCtRateLabels(labels.replace("train_1_a_1.nii.gz", "train_1_a.nii.gz"), "n.csv"),
    "n.csv",
    /<split>_<patient>_<scan>_<reconstruction>/,
  );
  const meta = await Deno.readTextFile(META);
  await assertFormatError(
    () => parseCtRateMetadata(meta.replace('"[0.75, 0.75]"', '"[0.75]"'), "m.csv"),
    "m.csv",
    /"XYSpacing" on line 2 as it must hold 2 positive numbers/,
  );
  await assertFormatError(
    () => parseCtRateMetadata(meta.replace("ZSpacing", "Z"), "z.csv"),
    "z.csv",
    /column "ZSpacing" is missing/,
  );
});

/**
 * CSV label tables of the public datasets, parsed with papaparse into
 * typed rows: NIH ChestX-ray14 `Data_Entry_2017.csv` (its header splits
 * `OriginalImage[Width,Height]` and `OriginalImagePixelSpacing[x,y]` into
 * two fields each and ends with a trailing comma; `|`-separated labels;
 * `No Finding` is not a class), CT-RATE `*_predicted_labels.csv` (18
 * abnormality columns) and CT-RATE `*_metadata.csv` (DICOM-derived columns
 * with list fields such as `"[0.75, 0.75]"` stored as strings).
 *
 * `read*` functions use `Deno.readTextFile` (read permission); `parse*`
 * functions take the text.
 *
 * @module
 */

// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { FormatError } from "../../../core/errors.ts";

/** A CSV table: header names and the raw text of every field. */
export interface CsvTable {
  /** The file path or source name. */
  readonly path: string;
  /** Header fields as parsed (a trailing comma gives a last empty name). */
  readonly columns: readonly string[];
  /** Data rows, each with exactly `columns.length` fields (see {@linkcode parseCsv}). */
  readonly rows: readonly (readonly string[])[];
}

/**
 * Parses CSV text with a header line. Empty lines are skipped; a byte-order
 * mark is dropped. Rows must have as many fields as the header, with two
 * tolerated quirks of real dataset tables: trailing empty fields beyond the
 * header (a trailing comma on data rows only) and missing fields where the
 * header itself ends in empty names (a trailing comma on the header only).
 * Throws {@linkcode FormatError} naming the line otherwise, or for an
 * unterminated quote.
 *
 * @example The trailing-comma quirk of NIH's Data_Entry_2017.csv
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import assert from "node:assert/strict";
 * const table = parseCsv("a,b,\n1,2\n3,4,\n", "t.csv");
 * assert.deepEqual(table.columns, ["a", "b", ""]);
 * assert.deepEqual(table.rows, [["1", "2", ""], ["3", "4", ""]]);
 * ```
 */
export function parseCsv(text: string, path: string): CsvTable {
  const result = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), {
    header: false,
    skipEmptyLines: "greedy",
    dynamicTyping: false,
  });
  const fatal = result.errors.find((e) => e.type === "Quotes" || e.code === "InvalidQuotes");
  if (fatal) {
    throw new FormatError(
      `Cannot parse CSV as ${fatal.message.toLowerCase()} (row ${(fatal.row ?? 0) + 1})`,
      { path },
    );
  }
  const [header, ...data] = result.data;
  if (!header || header.length === 0) {
    throw new FormatError("Cannot parse CSV as it has no header line", { path, offset: 0 });
  }
  const columns = header.map((h) => h.trim());
  let emptyTail = 0;
  while (emptyTail < columns.length && columns[columns.length - 1 - emptyTail] === "") emptyTail++;
  const rows = data.map((row, i) => {
    const line = i + 2;
    if (row.length > columns.length) {
      if (row.slice(columns.length).some((f) => f.trim() !== "")) {
        throw new FormatError(
          `Cannot parse CSV line ${line} as it has ${row.length} fields: the header has ${columns.length}`,
          { path },
        );
      }
      return row.slice(0, columns.length);
    }
    if (row.length < columns.length) {
      if (columns.length - row.length > emptyTail) {
        throw new FormatError(
          `Cannot parse CSV line ${line} as it has ${row.length} fields: the header has ${columns.length}`,
          { path },
        );
      }
      return [...row, ...new Array<string>(columns.length - row.length).fill("")];
    }
    return row;
  });
  return { path, columns, rows };
}

/** Reads and parses a CSV file (see {@linkcode parseCsv}). Uses `Deno.readTextFile`. */
export async function readCsv(path: string): Promise<CsvTable> {
  return parseCsv(await Deno.readTextFile(path), path);
}

function requireColumns(table: CsvTable, expected: readonly string[], what: string): void {
  const got = table.columns.slice(0, expected.length);
  const bad = expected.findIndex((c, i) => got[i] !== c);
  if (bad >= 0) {
    throw new FormatError(
      `Cannot read ${what} as column ${bad + 1} must be "${expected[bad]}": current header is ${
        JSON.stringify(table.columns)
      }`,
      { path: table.path, offset: 0 },
    );
  }
}

function toInteger(value: string, column: string, line: number, path: string): number {
  const v = value.trim();
  if (!/^-?\d+$/.test(v)) {
    throw new FormatError(
      `Cannot read "${column}" on line ${line} as it must be an integer: current value is "${value}"`,
      {
        path,
      },
    );
  }
  return Number(v);
}

function toNumber(value: string, column: string, line: number, path: string): number {
  const v = value.trim();
  const n = v === "" ? NaN : Number(v);
  if (!Number.isFinite(n)) {
    throw new FormatError(
      `Cannot read "${column}" on line ${line} as it must be a number: current value is "${value}"`,
      {
        path,
      },
    );
  }
  return n;
}

// ------------------------------------------------------------- NIH CXR14 --

/** The 14 ChestX-ray14 classes, in the order of the NIH paper (`No Finding` is none of them). */
export const NIH_CHEST_XRAY14_CLASSES: readonly string[] = [
  "Atelectasis",
  "Cardiomegaly",
  "Effusion",
  "Infiltration",
  "Mass",
  "Nodule",
  "Pneumonia",
  "Pneumothorax",
  "Consolidation",
  "Edema",
  "Emphysema",
  "Fibrosis",
  "Pleural_Thickening",
  "Hernia",
];

const NIH_COLUMNS = [
  "Image Index",
  "Finding Labels",
  "Follow-up #",
  "Patient ID",
  "Patient Age",
  "Patient Gender",
  "View Position",
  "OriginalImage[Width",
  "Height]",
  "OriginalImagePixelSpacing[x",
  "y]",
];

/** One row of NIH `Data_Entry_2017.csv`. */
export interface NihDataEntryRow {
  /** `Image Index`, the PNG file name, e.g. `"00000013_005.png"`. */
  readonly imageIndex: string;
  /** `Finding Labels` split on `|`, as written (`["No Finding"]` for normal images). */
  readonly findingLabels: readonly string[];
  /** Multi-hot target over {@linkcode NIH_CHEST_XRAY14_CLASSES} (all zero for `No Finding`). */
  readonly target: Float32Array;
  /** `Follow-up #`. */
  readonly followUp: number;
  /** `Patient ID`. */
  readonly patientId: number;
  /** `Patient Age` in years (`"058Y"` in older releases is read as 58). */
  readonly patientAge: number;
  /** `Patient Gender` (`"M"` or `"F"`). */
  readonly patientGender: string;
  /** `View Position` (`"PA"` or `"AP"`). */
  readonly viewPosition: string;
  /** Original image width in pixels. */
  readonly originalWidth: number;
  /** Original image height in pixels. */
  readonly originalHeight: number;
  /** Original pixel spacing along x (mm). */
  readonly pixelSpacingX: number;
  /** Original pixel spacing along y (mm). */
  readonly pixelSpacingY: number;
}

/**
 * Parses NIH ChestX-ray14 `Data_Entry_2017.csv` text into typed rows.
 * Accepts the header with and without its trailing comma and data rows
 * with or without one. Throws {@linkcode FormatError} for a header that is
 * not this table, an unknown finding label or a non-numeric field.
 *
 * @example
 * ```ts
 * import { parseNihDataEntry } from "./csv.ts";
 * import assert from "node:assert/strict";
 * const text = "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n" +
 *   "00000002_000.png,Infiltration|Pleural_Thickening,0,2,70,M,AP,2992,2991,0.139,0.139,\n";
 * const [row] = parseNihDataEntry(text, "Data_Entry_2017.csv");
 * assert.deepEqual(row.findingLabels, ["Infiltration", "Pleural_Thickening"]);
 * assert.equal(row.target[3] + row.target[12], 2);
 * assert.equal(row.originalHeight, 2991);
 * ```
 */
export function parseNihDataEntry(text: string, path: string): NihDataEntryRow[] {
  const table = parseCsv(text, path);
  requireColumns(table, NIH_COLUMNS, "NIH Data_Entry_2017");
  return table.rows.map((r, i) => {
    const line = i + 2;
    const findingLabels = r[1].split("|").map((s) => s.trim()).filter((s) => s !== "");
    const target = new Float32Array(NIH_CHEST_XRAY14_CLASSES.length);
    for (const label of findingLabels) {
      if (label === "No Finding") continue;
      const k = NIH_CHEST_XRAY14_CLASSES.indexOf(label);
      if (k < 0) {
        throw new FormatError(
          `Cannot read "Finding Labels" on line ${line} as "${label}" is not a ChestX-ray14 class`,
          {
            path,
          },
        );
      }
      target[k] = 1;
    }
    if (findingLabels.length === 0) {
      throw new FormatError(`Cannot read "Finding Labels" on line ${line} as it is empty`, {
        path,
      });
    }
    if (findingLabels.includes("No Finding") && findingLabels.length > 1) {
      throw new FormatError(
        `Cannot read "Finding Labels" on line ${line} as "No Finding" is combined with findings`,
        {
          path,
        },
      );
    }
    const age = r[4].trim().replace(/Y$/i, "");
    return {
      imageIndex: r[0].trim(),
      findingLabels,
      target,
      followUp: toInteger(r[2], NIH_COLUMNS[2], line, path),
      patientId: toInteger(r[3], NIH_COLUMNS[3], line, path),
      patientAge: toInteger(age, NIH_COLUMNS[4], line, path),
      patientGender: r[5].trim(),
      viewPosition: r[6].trim(),
      originalWidth: toInteger(r[7], "OriginalImage[Width", line, path),
      originalHeight: toInteger(r[8], "Height]", line, path),
      pixelSpacingX: toNumber(r[9], "OriginalImagePixelSpacing[x", line, path),
      pixelSpacingY: toNumber(r[10], "y]", line, path),
    };
  });
}

/** Reads NIH `Data_Entry_2017.csv` (see {@linkcode parseNihDataEntry}). Uses `Deno.readTextFile`. */
export async function readNihDataEntry(path: string): Promise<NihDataEntryRow[]> {
  return parseNihDataEntry(await Deno.readTextFile(path), path);
}

// -------------------------------------------------------------- CT-RATE --

/** The 18 CT-RATE abnormality columns, exactly as in the released label tables. */
export const CT_RATE_ABNORMALITIES: readonly string[] = [
  "Medical material",
  "Arterial wall calcification",
  "Cardiomegaly",
  "Pericardial effusion",
  "Coronary artery wall calcification",
  "Hiatal hernia",
  "Lymphadenopathy",
  "Emphysema",
  "Atelectasis",
  "Lung nodule",
  "Lung opacity",
  "Pulmonary fibrotic sequela",
  "Pleural effusion",
  "Mosaic attenuation pattern",
  "Peribronchial thickening",
  "Consolidation",
  "Bronchiectasis",
  "Interlobular septal thickening",
];

/** The parts of a CT-RATE volume name `<split>_<patient>_<scan>_<reconstruction>.nii.gz`. */
export interface CtRateVolumeName {
  /** The name as written, e.g. `"train_1_a_1.nii.gz"`. */
  readonly volumeName: string;
  /** `"train"` or `"valid"`. */
  readonly split: string;
  /** Patient number as written (`"1"`). */
  readonly patient: string;
  /** Scan letter (`"a"`). */
  readonly scan: string;
  /** Reconstruction number. */
  readonly reconstruction: number;
}

function parseVolumeName(name: string, line: number, path: string): CtRateVolumeName {
  const m = /^([a-z]+)_(\d+)_([a-z]+)_(\d+)\.nii\.gz$/.exec(name.trim());
  if (!m) {
    throw new FormatError(
      `Cannot read "VolumeName" on line ${line} as it must look like <split>_<patient>_<scan>_<reconstruction>.nii.gz: current value is "${name}"`,
      { path },
    );
  }
  return {
    volumeName: name.trim(),
    split: m[1],
    patient: m[2],
    scan: m[3],
    reconstruction: Number(m[4]),
  };
}

/** One row of a CT-RATE label table. */
export interface CtRateLabelRow extends CtRateVolumeName {
  /** 0/1 per {@linkcode CT_RATE_ABNORMALITIES} entry. */
  readonly target: Float32Array;
}

/**
 * Parses a CT-RATE label table (`VolumeName` + the 18 abnormality
 * columns, 0 or 1). Throws {@linkcode FormatError} for other columns, a
 * value other than 0/1, or a malformed volume name.
 */
export function parseCtRateLabels(text: string, path: string): CtRateLabelRow[] {
  const table = parseCsv(text, path);
  requireColumns(table, ["VolumeName", ...CT_RATE_ABNORMALITIES], "CT-RATE labels");
  return table.rows.map((r, i) => {
    const line = i + 2;
    const target = new Float32Array(CT_RATE_ABNORMALITIES.length);
    for (let k = 0; k < target.length; k++) {
      const v = r[k + 1].trim();
      if (v !== "0" && v !== "1") {
        throw new FormatError(
          `Cannot read "${
            CT_RATE_ABNORMALITIES[k]
          }" on line ${line} as it must be 0 or 1: current value is "${r[k + 1]}"`,
          { path },
        );
      }
      target[k] = Number(v);
    }
    return { ...parseVolumeName(r[0], line, path), target };
  });
}

/** Reads a CT-RATE label table (see {@linkcode parseCtRateLabels}). Uses `Deno.readTextFile`. */
export async function readCtRateLabels(path: string): Promise<CtRateLabelRow[]> {
  return parseCtRateLabels(await Deno.readTextFile(path), path);
}

/**
 * Parses a list stored as a string, `"[0.75, 0.75]"` or Python-style
 * `"['1', '0', '0']"`, into numbers; `null` for an empty field.
 *
 * @example
 * ```ts
 * import { parseListField } from "./csv.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseListField("[-18.0, -8.0, -12.0]", "IPP", 2, "m.csv"), [-18, -8, -12]);
 * assert.deepEqual(parseListField("['0.75', '0.75']", "XYSpacing", 2, "m.csv"), [0.75, 0.75]);
 * assert.equal(parseListField("", "XYSpacing", 2, "m.csv"), null);
 * ```
 */
export function parseListField(
  value: string,
  column: string,
  line: number,
  path: string,
): number[] | null {
  const v = value.trim();
  if (v === "") return null;
  const m = /^\[(.*)\]$/s.exec(v);
  if (!m) {
    throw new FormatError(
      `Cannot read "${column}" on line ${line} as it must be a list like [a, b]: current value is "${value}"`,
      {
        path,
      },
    );
  }
  if (m[1].trim() === "") return [];
  return m[1].split(",").map((part) =>
    toNumber(part.trim().replace(/^['"]|['"]$/g, ""), column, line, path)
  );
}

/** One row of a CT-RATE metadata table, with the fields medprobe needs typed. */
export interface CtRateMetadataRow extends CtRateVolumeName {
  /** `RescaleSlope`: HU = stored × slope + intercept (CT-RATE NIfTIs carry no scaling). */
  readonly rescaleSlope: number;
  /** `RescaleIntercept`. */
  readonly rescaleIntercept: number;
  /** `XYSpacing` in mm, `[x, y]`. */
  readonly xySpacing: readonly [number, number];
  /** `ZSpacing` in mm. */
  readonly zSpacing: number;
  /** `Rows`, when given. */
  readonly rows: number | null;
  /** `Columns`, when given. */
  readonly columns: number | null;
  /** `NumberofSlices`, when given. */
  readonly numberOfSlices: number | null;
  /** `ImagePositionPatient`, when given. */
  readonly imagePositionPatient: readonly number[] | null;
  /** `ImageOrientationPatient`, when given. */
  readonly imageOrientationPatient: readonly number[] | null;
  /** `PatientSex`, when given. */
  readonly patientSex: string | null;
  /** `PatientAge` in years (`"048Y"` → 48), when given. */
  readonly patientAge: number | null;
  /** Every column's raw text. */
  readonly fields: Readonly<Record<string, string>>;
}

const CT_RATE_METADATA_REQUIRED = [
  "VolumeName",
  "XYSpacing",
  "ZSpacing",
  "RescaleIntercept",
  "RescaleSlope",
];

/**
 * Parses a CT-RATE metadata table: list fields (`XYSpacing`,
 * `ImagePositionPatient`, `ImageOrientationPatient`) are parsed from their
 * strings, empty fields become `null`, and every raw field is kept. Throws
 * {@linkcode FormatError} when a required column (VolumeName, XYSpacing,
 * ZSpacing, RescaleIntercept, RescaleSlope) is missing or malformed.
 */
export function parseCtRateMetadata(text: string, path: string): CtRateMetadataRow[] {
  const table = parseCsv(text, path);
  const index = new Map(table.columns.map((c, i) => [c, i]));
  for (const c of CT_RATE_METADATA_REQUIRED) {
    if (!index.has(c)) {
      throw new FormatError(`Cannot read CT-RATE metadata as column "${c}" is missing`, {
        path,
        offset: 0,
      });
    }
  }
  return table.rows.map((r, i) => {
    const line = i + 2;
    const get = (c: string) => (index.has(c) ? r[index.get(c)!].trim() : "");
    const optInt = (c: string) => (get(c) === "" ? null : toInteger(get(c), c, line, path));
    const xy = parseListField(get("XYSpacing"), "XYSpacing", line, path);
    if (!xy || xy.length !== 2 || xy.some((s) => !(s > 0))) {
      throw new FormatError(
        `Cannot read "XYSpacing" on line ${line} as it must hold 2 positive numbers: current value is "${
          get("XYSpacing")
        }"`,
        { path },
      );
    }
    const z = toNumber(get("ZSpacing"), "ZSpacing", line, path);
    if (!(z > 0)) {
      throw new FormatError(
        `Cannot read "ZSpacing" on line ${line} as it must be positive: current value is ${z}`,
        {
          path,
        },
      );
    }
    const age = get("PatientAge").replace(/Y$/i, "");
    return {
      ...parseVolumeName(get("VolumeName"), line, path),
      rescaleSlope: toNumber(get("RescaleSlope"), "RescaleSlope", line, path),
      rescaleIntercept: toNumber(get("RescaleIntercept"), "RescaleIntercept", line, path),
      xySpacing: [xy[0], xy[1]],
      zSpacing: z,
      rows: optInt("Rows"),
      columns: optInt("Columns"),
      numberOfSlices: optInt("NumberofSlices"),
      imagePositionPatient: parseListField(
        get("ImagePositionPatient"),
        "ImagePositionPatient",
        line,
        path,
      ),
      imageOrientationPatient: parseListField(
        get("ImageOrientationPatient"),
        "ImageOrientationPatient",
        line,
        path,
      ),
      patientSex: get("PatientSex") || null,
      patientAge: age === "" ? null : toInteger(age, "PatientAge", line, path),
      fields: Object.fromEntries(table.columns.map((c, k) => [c, r[k]])),
    };
  });
}

/** Reads a CT-RATE metadata table (see {@linkcode parseCtRateMetadata}). Uses `Deno.readTextFile`. */
export async function readCtRateMetadata(path: string): Promise<CtRateMetadataRow[]> {
  return parseCtRateMetadata(await Deno.readTextFile(path), path);
}

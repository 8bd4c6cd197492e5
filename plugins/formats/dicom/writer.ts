/**
 * A minimal DICOM Part-10 writer for synthetic datasets in real layouts:
 * Explicit VR Little Endian, uncompressed 8/16-bit grey (MONOCHROME2 or
 * MONOCHROME1) with rescale slope/intercept, window, pixel spacing, patient
 * geometry and patient/study/series/instance UIDs — enough for an
 * RSNA-style chest radiograph or a CT series that dicom-parser, pydicom
 * and {@linkcode parseDicom} read back.
 *
 * {@linkcode writeDicom} uses `Deno.writeFile`; {@linkcode encodeDicom}
 * returns bytes.
 *
 * @module
 */

import { concatBytes } from "../_io.ts";

const EXPLICIT_VR_LE = "1.2.840.10008.1.2.1";
const IMPLEMENTATION_CLASS_UID = "2.25.172553426771915209716939526212546329425";
const IMPLEMENTATION_VERSION = "MEDPROBE_010";

/** SOP Class UIDs the writer picks from the modality (else Secondary Capture). */
export const SOP_CLASS_BY_MODALITY: Readonly<Record<string, string>> = {
  CT: "1.2.840.10008.5.1.4.1.1.2",
  MR: "1.2.840.10008.5.1.4.1.1.4",
  CR: "1.2.840.10008.5.1.4.1.1.1",
  DX: "1.2.840.10008.5.1.4.1.1.1.1",
  PT: "1.2.840.10008.5.1.4.1.1.128",
};
const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";

/** What {@linkcode encodeDicom} writes. UIDs default to ones derived from `seed`. */
export interface EncodeDicomOptions {
  /** Stored values, row-major: `Uint16Array`/`Int16Array` (16-bit) or `Uint8Array` (8-bit). */
  pixels: Uint16Array | Int16Array | Uint8Array;
  /** Rows (image height). */
  rows: number;
  /** Columns (image width). */
  columns: number;
  /** `[row spacing, column spacing]` in mm (Pixel Spacing). */
  pixelSpacing: readonly [number, number];
  /** Bits Stored (≤ bits allocated). @default {16} (8 for `Uint8Array`) */
  bitsStored?: number;
  /** Rescale Slope. @default {1} */
  rescaleSlope?: number;
  /** Rescale Intercept. @default {0} */
  rescaleIntercept?: number;
  /** Rescale Type, e.g. `"HU"`. @default none */
  rescaleType?: string;
  /** Window Center (one value or several). @default none */
  windowCenter?: number | readonly number[];
  /** Window Width (one value or several). @default none */
  windowWidth?: number | readonly number[];
  /** Photometric Interpretation. @default {"MONOCHROME2"} */
  photometric?: "MONOCHROME2" | "MONOCHROME1";
  /** Modality, e.g. `"CT"`, `"DX"`, `"CR"`. @default {"OT"} */
  modality?: string;
  /** SOP Class UID. @default from the modality ({@linkcode SOP_CLASS_BY_MODALITY}) */
  sopClassUid?: string;
  /** Image Position (Patient), LPS mm. @default none */
  imagePositionPatient?: readonly [number, number, number];
  /** Image Orientation (Patient), 6 direction cosines. @default none */
  imageOrientationPatient?: readonly number[];
  /** Slice Thickness in mm. @default none */
  sliceThickness?: number;
  /** Pixel Padding Value (stored units). @default none */
  pixelPaddingValue?: number;
  /** Patient ID. @default {"ANON"} */
  patientId?: string;
  /** Patient's Name. @default the patient ID */
  patientName?: string;
  /** Patient's Sex (`"M"`, `"F"`, `"O"`). @default none */
  patientSex?: string;
  /** Patient's Age, e.g. `"058Y"`. @default none */
  patientAge?: string;
  /** View Position (`"PA"`, `"AP"`), for radiographs. @default none */
  viewPosition?: string;
  /** Body Part Examined, e.g. `"CHEST"`. @default none */
  bodyPartExamined?: string;
  /** Study Date `YYYYMMDD`. @default {"20240101"} */
  studyDate?: string;
  /** Study Instance UID. @default derived from `seed` */
  studyInstanceUid?: string;
  /** Series Instance UID. @default derived from `seed` */
  seriesInstanceUid?: string;
  /** SOP Instance UID. @default derived from `seed` and the instance number */
  sopInstanceUid?: string;
  /** Series Number. @default {1} */
  seriesNumber?: number;
  /** Instance Number. @default {1} */
  instanceNumber?: number;
  /** Seed of the default UIDs. @default {"medprobe"} */
  seed?: string;
}

/**
 * A deterministic DICOM UID under the `2.25` root (a 128-bit number written
 * in decimal, PS3.5 B.2) derived from a string.
 *
 * @example
 * ```ts
 * import { createDicomUid } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const uid = createDicomUid("patient-1/study");
 * assert.match(uid, /^2\.25\.[1-9][0-9]*$/);
 * assert.ok(uid.length <= 64);
 * assert.equal(uid, createDicomUid("patient-1/study"));
 * ```
 */
export function createDicomUid(seed: string): string {
  const mask = (1n << 64n) - 1n;
  const prime = 0x100000001b3n;
  let a = 0xcbf29ce484222325n;
  let b = 0x84222325cbf29ce4n;
  const bytes = new TextEncoder().encode(seed);
  for (const byte of bytes) {
    a = ((a ^ BigInt(byte)) * prime) & mask;
    b = ((b ^ BigInt(byte ^ 0x5a)) * prime) & mask;
  }
  const value = ((a << 64n) | b) || 1n;
  return `2.25.${value}`;
}

function formatDecimal(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `Cannot write a DICOM decimal string as the value must be finite: current value is ${value}`,
    );
  }
  let s = String(value);
  for (let digits = 15; s.length > 16 && digits > 0; digits--) {
    s = String(Number(value.toPrecision(digits)));
  }
  if (s.length > 16) s = value.toExponential(8);
  return s;
}

class ElementWriter {
  parts: Uint8Array[] = [];
  #push(bytes: Uint8Array): void {
    this.parts.push(bytes);
  }
  element(group: number, element: number, vr: string, value: Uint8Array): void {
    const long = ["OB", "OW", "OF", "SQ", "UT", "UN"].includes(vr);
    const header = new Uint8Array(long ? 12 : 8);
    const v = new DataView(header.buffer);
    v.setUint16(0, group, true);
    v.setUint16(2, element, true);
    header[4] = vr.charCodeAt(0);
    header[5] = vr.charCodeAt(1);
    if (long) v.setUint32(8, value.length, true);
    else v.setUint16(6, value.length, true);
    this.#push(header);
    this.#push(value);
  }
  text(group: number, element: number, vr: string, value: string): void {
    let bytes = new TextEncoder().encode(value);
    if (bytes.length % 2) {
      const padded = new Uint8Array(bytes.length + 1);
      padded.set(bytes);
      padded[bytes.length] = vr === "UI" ? 0 : 0x20;
      bytes = padded;
    }
    this.element(group, element, vr, bytes);
  }
  us(group: number, element: number, value: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value, true);
    this.element(group, element, "US", b);
  }
  concat(): Uint8Array {
    return concatBytes(this.parts);
  }
}

/**
 * Encodes one grey DICOM instance as a Part-10 file (128-byte preamble,
 * `DICM`, file meta group, then the data set in tag order, Explicit VR
 * Little Endian). Throws `TypeError`/`RangeError` for inconsistent options.
 *
 * @example A 2×2 CT slice read back by dicom-parser
 * ```ts
 * import { encodeDicom } from "./writer.ts";
 * import dicomParser from "dicom-parser";
 * import assert from "node:assert/strict";
 * const bytes = encodeDicom({ pixels: new Int16Array([0, 10, 20, 30]), rows: 2, columns: 2, pixelSpacing: [0.7, 0.7], modality: "CT", rescaleIntercept: -1024 });
 * const ds = dicomParser.parseDicom(bytes);
 * assert.equal(ds.string("x00020010"), "1.2.840.10008.1.2.1");
 * assert.equal(ds.floatString("x00281052"), -1024);
 * ```
 */
export function encodeDicom(options: EncodeDicomOptions): Uint8Array {
  const { pixels, rows, columns } = options;
  if (
    !Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1 ||
    rows > 65535 || columns > 65535
  ) {
    throw new RangeError(
      `Cannot encode DICOM as rows and columns must be 1..65535: current size is ${rows}x${columns}`,
    );
  }
  if (pixels.length !== rows * columns) {
    throw new TypeError(
      `Cannot encode DICOM as pixels must hold rows x columns = ${
        rows * columns
      } values: current length is ${pixels.length}`,
    );
  }
  const bitsAllocated = pixels instanceof Uint8Array ? 8 : 16;
  const signed = pixels instanceof Int16Array;
  const bitsStored = options.bitsStored ?? bitsAllocated;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new RangeError(
      `Cannot encode DICOM as bits stored must be 1..${bitsAllocated}: current value is ${bitsStored}`,
    );
  }
  if (bitsStored < bitsAllocated) {
    const lo = signed ? -(2 ** (bitsStored - 1)) : 0;
    const hi = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
    for (let i = 0; i < pixels.length; i++) {
      if (pixels[i] < lo || pixels[i] > hi) {
        throw new RangeError(
          `Cannot encode DICOM as ${bitsStored} stored bits hold [${lo}, ${hi}]: value at index ${i} is ${
            pixels[i]
          }`,
        );
      }
    }
  }
  if (options.imageOrientationPatient && options.imageOrientationPatient.length !== 6) {
    throw new TypeError("Cannot encode DICOM as Image Orientation (Patient) must have 6 values");
  }
  const seed = options.seed ?? "medprobe";
  const instanceNumber = options.instanceNumber ?? 1;
  const modality = options.modality ?? "OT";
  const sopClassUid = options.sopClassUid ?? SOP_CLASS_BY_MODALITY[modality] ?? SECONDARY_CAPTURE;
  const studyUid = options.studyInstanceUid ?? createDicomUid(`${seed}/study`);
  const seriesUid = options.seriesInstanceUid ?? createDicomUid(`${seed}/series`);
  const sopUid = options.sopInstanceUid ?? createDicomUid(`${seed}/${seriesUid}/${instanceNumber}`);
  const patientId = options.patientId ?? "ANON";
  const ds = (values: number | readonly number[]) =>
    (typeof values === "number" ? [values] : values).map(formatDecimal).join("\\");

  // Data set, in ascending tag order.
  const body = new ElementWriter();
  body.text(0x0008, 0x0016, "UI", sopClassUid);
  body.text(0x0008, 0x0018, "UI", sopUid);
  body.text(0x0008, 0x0020, "DA", options.studyDate ?? "20240101");
  body.text(0x0008, 0x0060, "CS", modality);
  body.text(0x0010, 0x0010, "PN", options.patientName ?? patientId);
  body.text(0x0010, 0x0020, "LO", patientId);
  if (options.patientSex) body.text(0x0010, 0x0040, "CS", options.patientSex);
  if (options.patientAge) body.text(0x0010, 0x1010, "AS", options.patientAge);
  if (options.bodyPartExamined) body.text(0x0018, 0x0015, "CS", options.bodyPartExamined);
  if (options.sliceThickness !== undefined) {
    body.text(0x0018, 0x0050, "DS", ds(options.sliceThickness));
  }
  if (options.viewPosition) body.text(0x0018, 0x5101, "CS", options.viewPosition);
  body.text(0x0020, 0x000d, "UI", studyUid);
  body.text(0x0020, 0x000e, "UI", seriesUid);
  body.text(0x0020, 0x0011, "IS", String(options.seriesNumber ?? 1));
  body.text(0x0020, 0x0013, "IS", String(instanceNumber));
  if (options.imagePositionPatient) {
    body.text(0x0020, 0x0032, "DS", ds(options.imagePositionPatient));
  }
  if (options.imageOrientationPatient) {
    body.text(0x0020, 0x0037, "DS", ds(options.imageOrientationPatient));
  }
  body.us(0x0028, 0x0002, 1);
  body.text(0x0028, 0x0004, "CS", options.photometric ?? "MONOCHROME2");
  body.us(0x0028, 0x0010, rows);
  body.us(0x0028, 0x0011, columns);
  body.text(0x0028, 0x0030, "DS", ds(options.pixelSpacing));
  body.us(0x0028, 0x0100, bitsAllocated);
  body.us(0x0028, 0x0101, bitsStored);
  body.us(0x0028, 0x0102, bitsStored - 1);
  body.us(0x0028, 0x0103, signed ? 1 : 0);
  if (options.pixelPaddingValue !== undefined) {
    const b = new Uint8Array(2);
    const v = new DataView(b.buffer);
    if (signed) v.setInt16(0, options.pixelPaddingValue, true);
    else v.setUint16(0, options.pixelPaddingValue, true);
    body.element(0x0028, 0x0120, signed ? "SS" : "US", b);
  }
  if (options.windowCenter !== undefined) body.text(0x0028, 0x1050, "DS", ds(options.windowCenter));
  if (options.windowWidth !== undefined) body.text(0x0028, 0x1051, "DS", ds(options.windowWidth));
  body.text(0x0028, 0x1052, "DS", ds(options.rescaleIntercept ?? 0));
  body.text(0x0028, 0x1053, "DS", ds(options.rescaleSlope ?? 1));
  if (options.rescaleType) body.text(0x0028, 0x1054, "LO", options.rescaleType);
  let pixelBytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  if (bitsAllocated === 16) {
    const le = new Uint8Array(pixels.length * 2);
    const v = new DataView(le.buffer);
    for (let i = 0; i < pixels.length; i++) v.setUint16(i * 2, pixels[i] & 0xffff, true);
    pixelBytes = le;
  } else if (pixelBytes.length % 2) {
    const padded = new Uint8Array(pixelBytes.length + 1);
    padded.set(pixelBytes);
    pixelBytes = padded;
  }
  body.element(0x7fe0, 0x0010, bitsAllocated === 16 ? "OW" : "OB", pixelBytes);

  // File meta information (group 0002), preceded by its group length.
  const meta = new ElementWriter();
  meta.element(0x0002, 0x0001, "OB", new Uint8Array([0, 1]));
  meta.text(0x0002, 0x0002, "UI", sopClassUid);
  meta.text(0x0002, 0x0003, "UI", sopUid);
  meta.text(0x0002, 0x0010, "UI", EXPLICIT_VR_LE);
  meta.text(0x0002, 0x0012, "UI", IMPLEMENTATION_CLASS_UID);
  meta.text(0x0002, 0x0013, "SH", IMPLEMENTATION_VERSION);
  const metaBytes = meta.concat();
  const groupLength = new ElementWriter();
  const gl = new Uint8Array(4);
  new DataView(gl.buffer).setUint32(0, metaBytes.length, true);
  groupLength.element(0x0002, 0x0000, "UL", gl);
  const head = new Uint8Array(132);
  head.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  return concatBytes([head, groupLength.concat(), metaBytes, body.concat()]);
}

/**
 * Writes one DICOM instance (see {@linkcode encodeDicom}). Uses
 * `Deno.writeFile` (write permission).
 *
 * @example
 * ```ts ignore
 * import { writeDicom } from "./writer.ts";
 * await writeDicom("patient0001.dcm", { pixels, rows: 1024, columns: 1024, pixelSpacing: [0.168, 0.168], modality: "CR", viewPosition: "PA" });
 * ```
 */
export async function writeDicom(path: string, options: EncodeDicomOptions): Promise<void> {
  await Deno.writeFile(path, encodeDicom(options));
}

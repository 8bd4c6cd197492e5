/**
 * DICOM Part-10 reader built on dicom-parser: explicit and implicit VR
 * little endian (plus explicit big endian and deflated), 8/16/32-bit
 * grey or RGB pixels, MONOCHROME1/2, rescale slope/intercept, window
 * center/width (the first value when there are several), pixel spacing and
 * patient geometry, and encapsulated JPEG baseline pixel data (as RSNA
 * ships it) decoded with jpeg-js.
 *
 * {@linkcode readDicom} uses `Deno.open` (read permission);
 * {@linkcode parseDicom} works on bytes anywhere.
 *
 * @module
 */

import dicomParser from "dicom-parser";
import { inflateRawSync } from "node:zlib";
import { FormatError } from "../../../core/errors.ts";
import type { Image2D } from "../../../core/plugin.ts";
import {
  formatHexBytes,
  getErrorText,
  HOST_LITTLE_ENDIAN,
  readFileBytes,
  swapBytesInPlace,
} from "../_io.ts";
import { checkDecodeBudget, getReadLimits } from "../limits.ts";
import { decodeJpeg } from "../_jpeg.ts";

/** Transfer syntaxes whose pixel data this reader decodes. */
export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2": "Implicit VR Little Endian",
  "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
  "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4), 8-bit only",
};

const UNSUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.4.57": "JPEG Lossless",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless SV1",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
  "1.2.840.10008.1.2.4.203": "HTJ2K",
  "1.2.840.10008.1.2.5": "RLE Lossless",
};

const JPEG_SYNTAXES = new Set(["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"]);

/** The typed arrays DICOM stored pixel values come in. */
export type DicomPixelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array;

/** A decoded DICOM instance: the attributes medprobe uses and the stored pixel values. */
export interface DicomImage {
  /** The file path or source name. */
  readonly path: string;
  /** Transfer Syntax UID (0002,0010). */
  readonly transferSyntax: string;
  /** SOP Class UID (0008,0016). */
  readonly sopClassUid: string;
  /** SOP Instance UID (0008,0018). */
  readonly sopInstanceUid: string;
  /** Study Instance UID (0020,000D). */
  readonly studyInstanceUid: string;
  /** Series Instance UID (0020,000E). */
  readonly seriesInstanceUid: string;
  /** Patient ID (0010,0020). */
  readonly patientId: string;
  /** Modality (0008,0060), e.g. `"CT"`, `"DX"`. */
  readonly modality: string;
  /** Instance Number (0020,0013), when present. */
  readonly instanceNumber: number | undefined;
  /** Rows (0028,0010). */
  readonly rows: number;
  /** Columns (0028,0011). */
  readonly columns: number;
  /** Number of Frames (0028,0008); 1 when absent. */
  readonly frames: number;
  /** Samples per Pixel (0028,0002): 1 grey, 3 colour. */
  readonly samplesPerPixel: number;
  /** Photometric Interpretation (0028,0004) as stored, e.g. `"MONOCHROME1"`. */
  readonly photometric: string;
  /** Bits Allocated (0028,0100). */
  readonly bitsAllocated: number;
  /** Bits Stored (0028,0101). */
  readonly bitsStored: number;
  /** High Bit (0028,0102). */
  readonly highBit: number;
  /** Pixel Representation (0028,0103): 0 unsigned, 1 signed. */
  readonly pixelRepresentation: number;
  /** Rescale Slope (0028,1053); 1 when absent. */
  readonly rescaleSlope: number;
  /** Rescale Intercept (0028,1052); 0 when absent. */
  readonly rescaleIntercept: number;
  /** Window Center (0028,1050), all values (may be empty). */
  readonly windowCenter: readonly number[];
  /** Window Width (0028,1051), all values (may be empty). */
  readonly windowWidth: readonly number[];
  /**
   * `[row spacing, column spacing]` in mm: Pixel Spacing (0028,0030), else
   * Imager Pixel Spacing (0018,1164); undefined when neither is present.
   */
  readonly pixelSpacing: readonly [number, number] | undefined;
  /** Image Position (Patient) (0020,0032), LPS mm. */
  readonly imagePositionPatient: readonly [number, number, number] | undefined;
  /** Image Orientation (Patient) (0020,0037): row then column direction cosines. */
  readonly imageOrientationPatient: readonly number[] | undefined;
  /** Slice Thickness (0018,0050) in mm. */
  readonly sliceThickness: number | undefined;
  /** Spacing Between Slices (0018,0088) in mm. */
  readonly spacingBetweenSlices: number | undefined;
  /** Pixel Padding Value (0028,0120), as stored. */
  readonly pixelPaddingValue: number | undefined;
  /**
   * Stored values, `[frames, rows, columns, samples]` row-major, samples
   * interleaved; `undefined` when read with `pixels: false`. JPEG-coded
   * colour data is returned as RGB.
   */
  readonly pixels: DicomPixelArray | undefined;
}

/** Options of {@linkcode parseDicom}. */
export interface ParseDicomOptions {
  /** Decode the pixel data (false: attributes only, faster). @default {true} */
  pixels?: boolean;
}

// The parts of dicom-parser's DataSet this module uses.
interface DataSet {
  byteArray: Uint8Array;
  elements: Record<string, Element | undefined>;
  string(tag: string, index?: number): string | undefined;
  uint16(tag: string, index?: number): number | undefined;
  int16(tag: string, index?: number): number | undefined;
  floatString(tag: string, index?: number): number | undefined;
  intString(tag: string, index?: number): number | undefined;
  numStringValues(tag: string): number | undefined;
}
interface Fragment {
  offset: number;
  position: number;
  length: number;
}
interface Element {
  tag: string;
  vr?: string;
  length: number;
  dataOffset: number;
  encapsulatedPixelData?: boolean;
  basicOffsetTable?: number[];
  fragments?: Fragment[];
}
interface DicomParserLib {
  parseDicom(bytes: Uint8Array, options?: unknown): DataSet;
  readEncapsulatedImageFrame(
    ds: DataSet,
    element: Element,
    frame: number,
    bot?: number[],
    fragments?: Fragment[],
  ): Uint8Array;
  readEncapsulatedPixelDataFromFragments(
    ds: DataSet,
    element: Element,
    start: number,
    count?: number,
  ): Uint8Array;
  createJPEGBasicOffsetTable(ds: DataSet, element: Element): number[];
}
const lib = dicomParser as unknown as DicomParserLib;

function numbers(ds: DataSet, tag: string): number[] {
  const n = ds.numStringValues(tag) ?? 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = ds.floatString(tag, i);
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out;
}

function text(ds: DataSet, tag: string): string {
  return (ds.string(tag) ?? "").replace(/\0/g, "").trim();
}

function required(ds: DataSet, tag: string, name: string, path: string): number {
  const v = ds.uint16(tag);
  if (v === undefined || !ds.elements[tag] || ds.elements[tag]!.length < 2) {
    throw new FormatError(`Cannot decode DICOM pixels as ${name} ${tag} is missing`, { path });
  }
  return v;
}

/** The two-letter VRs of DICOM PS3.5, to tell explicit from implicit VR at byte 4. */
const VRS = new Set(
  "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
    .split(" "),
);

/** Transfer syntax UID for a data set read without a File Meta group. */
const IMPLICIT_LE = "1.2.840.10008.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";

/**
 * How a file without the 128-byte preamble and "DICM" starts: a File Meta
 * group at byte 0 (`"meta"`), a data element in explicit VR (`"explicit"`)
 * or in implicit VR little endian (`"implicit"`, what pydicom's
 * `force=True` and dcmtk assume), or not DICOM at all (`undefined`: a text
 * file starts with two printable bytes, which make an odd or large group).
 */
function detectRawDataSet(bytes: Uint8Array): "meta" | "explicit" | "implicit" | undefined {
  if (bytes.length < 8) return undefined;
  const group = bytes[0] | (bytes[1] << 8);
  const vr = String.fromCharCode(bytes[4], bytes[5]);
  if (group === 0x0002) return VRS.has(vr) ? "meta" : undefined;
  if (group % 2 !== 0 || group < 0x0008 || group > 0x0010) return undefined;
  if (VRS.has(vr)) return "explicit";
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  if (length !== 0xffffffff && 8 + length > bytes.length) return undefined;
  return "implicit";
}

/** A parsed data set and, for a file without File Meta group, the transfer syntax assumed. */
interface ParsedDataSet {
  ds: DataSet;
  assumedSyntax?: string;
}

function parseDataSet(bytes: Uint8Array, path: string, untilPixels: boolean): ParsedDataSet {
  const part10 = bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === "DICM";
  let input = bytes;
  let assumedSyntax: string | undefined;
  if (!part10) {
    const raw = detectRawDataSet(bytes);
    if (raw === undefined) {
      throw new FormatError(
        `Cannot read DICOM as it is not a Part-10 file: "DICM" expected at byte 128, or a data element at byte 0 (a data set without File Meta group): current first bytes are ${
          formatHexBytes(bytes.subarray(0, 8))
        }${bytes.length < 132 ? `, file has ${bytes.length} bytes` : ""}`,
        { path, offset: 0 },
      );
    }
    if (raw === "meta") {
      // A File Meta group without the preamble: put the preamble back.
      input = new Uint8Array(132 + bytes.length);
      input.set([0x44, 0x49, 0x43, 0x4d], 128);
      input.set(bytes, 132);
    } else {
      assumedSyntax = raw === "explicit" ? EXPLICIT_LE : IMPLICIT_LE;
    }
  }
  try {
    const ds = lib.parseDicom(input, {
      untilTag: untilPixels ? "x7fe00010" : undefined,
      TransferSyntaxUID: assumedSyntax,
      inflater(array: Uint8Array, position: number): Uint8Array {
        let inflated: Uint8Array;
        try {
          inflated = new Uint8Array(
            inflateRawSync(array.subarray(position), {
              maxOutputLength: Math.max(1, getReadLimits().maxBytes),
            }),
          );
        } catch (cause) {
          throw new FormatError(`Cannot inflate deflated DICOM data set: ${getErrorText(cause)}`, {
            path,
            offset: position,
            cause,
          });
        }
        const full = new Uint8Array(position + inflated.length);
        full.set(array.subarray(0, position));
        full.set(inflated, position);
        return full;
      },
    });
    return { ds, assumedSyntax };
  } catch (cause) {
    if (cause instanceof FormatError) throw cause;
    throw new FormatError(`Cannot parse DICOM data set: ${getErrorText(cause)}`, { path, cause });
  }
}

/**
 * A decimal-string attribute that, when present with a value, must be a
 * finite number: a non-numeric RescaleSlope would otherwise make every pixel
 * NaN.
 */
function finiteNumber(ds: DataSet, tag: string, name: string, path: string): number | undefined {
  const element = ds.elements[tag];
  if (!element || element.length === 0) return undefined;
  const textValue = text(ds, tag);
  if (textValue === "") return undefined;
  const value = ds.floatString(tag);
  if (value === undefined || !Number.isFinite(value) || !/^[\s+\-0-9.eE\\]+$/.test(textValue)) {
    throw new FormatError(
      `Cannot read DICOM ${name} ${tag} as it must be a finite decimal number: current value is ${
        JSON.stringify(textValue.slice(0, 40))
      }`,
      { path, offset: element.dataOffset },
    );
  }
  return value;
}

/** A multi-valued decimal attribute whose present values must all be finite numbers. */
function finiteNumbers(ds: DataSet, tag: string, name: string, path: string): number[] {
  const element = ds.elements[tag];
  if (!element || element.length === 0 || text(ds, tag) === "") return [];
  const n = ds.numStringValues(tag) ?? 0;
  const values = numbers(ds, tag);
  if (values.length !== n) {
    throw new FormatError(
      `Cannot read DICOM ${name} ${tag} as its ${n} values must be finite decimal numbers: current value is ${
        JSON.stringify(text(ds, tag).slice(0, 60))
      }`,
      { path, offset: element.dataOffset },
    );
  }
  return values;
}

/** Number of Frames: absent means 1; present, it must be a positive integer. */
function frameCount(ds: DataSet, path: string): number {
  const element = ds.elements["x00280008"];
  if (!element || element.length === 0 || text(ds, "x00280008") === "") return 1;
  const raw = text(ds, "x00280008");
  const value = Number(raw);
  if (!/^\s*\+?\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new FormatError(
      `Cannot read DICOM Number of Frames (0028,0008) as it must be a positive integer: current value is ${
        JSON.stringify(raw.slice(0, 40))
      }`,
      { path, offset: element.dataOffset },
    );
  }
  return value;
}

/**
 * Decodes a DICOM Part-10 file from bytes: attributes plus stored pixel
 * values (see {@linkcode DicomImage}). Throws {@linkcode FormatError} when
 * the file is not Part-10 (no `DICM`), is truncated, its pixel data is
 * shorter than rows × columns × frames says, or its transfer syntax is a
 * compression this reader does not decode (JPEG-LS, JPEG 2000, RLE, ...).
 *
 * @example A file that is not DICOM
 * ```ts
 * import { parseDicom } from "./reader.ts";
 * import { FormatError } from "../../../core/errors.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseDicom(new Uint8Array(200), "x.dcm"), FormatError);
 * ```
 */
export function parseDicom(
  bytes: Uint8Array,
  path: string,
  options: ParseDicomOptions = {},
): DicomImage {
  try {
    return parseDicomUnchecked(bytes, path, options);
  } catch (cause) {
    // dicom-parser throws bare strings when an element runs past the end.
    if (cause instanceof FormatError) throw cause;
    throw new FormatError(`Cannot read DICOM data set: ${getErrorText(cause)}`, { path, cause });
  }
}

function parseDicomUnchecked(
  bytes: Uint8Array,
  path: string,
  options: ParseDicomOptions,
): DicomImage {
  const wantPixels = options.pixels !== false;
  const { ds, assumedSyntax } = parseDataSet(bytes, path, !wantPixels);
  const transferSyntax = assumedSyntax ?? text(ds, "x00020010");
  const photometric = text(ds, "x00280004") || "MONOCHROME2";
  const pixelRepresentation = ds.uint16("x00280103") ?? 0;
  const paddingElement = ds.elements["x00280120"];
  const pixelSpacing = finiteNumbers(ds, "x00280030", "Pixel Spacing", path);
  const imagerSpacing = finiteNumbers(ds, "x00181164", "Imager Pixel Spacing", path);
  const spacing = pixelSpacing.length >= 2 ? pixelSpacing : imagerSpacing;
  const ipp = finiteNumbers(ds, "x00200032", "Image Position (Patient)", path);
  const iop = finiteNumbers(ds, "x00200037", "Image Orientation (Patient)", path);
  const rows = ds.uint16("x00280010") ?? 0;
  const columns = ds.uint16("x00280011") ?? 0;
  const bitsAllocated = ds.uint16("x00280100") ?? 0;
  const image: Omit<DicomImage, "pixels"> = {
    path,
    transferSyntax,
    sopClassUid: text(ds, "x00080016"),
    sopInstanceUid: text(ds, "x00080018"),
    studyInstanceUid: text(ds, "x0020000d"),
    seriesInstanceUid: text(ds, "x0020000e"),
    patientId: text(ds, "x00100020"),
    modality: text(ds, "x00080060"),
    instanceNumber: ds.intString("x00200013"),
    rows,
    columns,
    frames: frameCount(ds, path),
    samplesPerPixel: ds.uint16("x00280002") ?? 1,
    photometric,
    bitsAllocated,
    bitsStored: ds.uint16("x00280101") ?? bitsAllocated,
    highBit: ds.uint16("x00280102") ?? (ds.uint16("x00280101") ?? bitsAllocated) - 1,
    pixelRepresentation,
    rescaleSlope: finiteNumber(ds, "x00281053", "Rescale Slope", path) ?? 1,
    rescaleIntercept: finiteNumber(ds, "x00281052", "Rescale Intercept", path) ?? 0,
    windowCenter: numbers(ds, "x00281050"),
    windowWidth: numbers(ds, "x00281051"),
    pixelSpacing: spacing.length >= 2 ? [spacing[0], spacing[1]] : undefined,
    imagePositionPatient: ipp.length === 3 ? [ipp[0], ipp[1], ipp[2]] : undefined,
    imageOrientationPatient: iop.length === 6 ? iop : undefined,
    sliceThickness: finiteNumber(ds, "x00180050", "Slice Thickness", path),
    spacingBetweenSlices: finiteNumber(ds, "x00180088", "Spacing Between Slices", path),
    pixelPaddingValue: paddingElement && paddingElement.length >= 2
      ? (pixelRepresentation === 1 ? ds.int16("x00280120") : ds.uint16("x00280120"))
      : undefined,
  };
  if (!wantPixels) return { ...image, pixels: undefined };
  return { ...image, pixels: decodePixels(ds, image, path) };
}

function decodePixels(
  ds: DataSet,
  image: Omit<DicomImage, "pixels">,
  path: string,
): DicomPixelArray {
  const ts = image.transferSyntax;
  if (!(ts in SUPPORTED_TRANSFER_SYNTAXES)) {
    const name = UNSUPPORTED_TRANSFER_SYNTAXES[ts];
    throw new FormatError(
      `Cannot decode DICOM pixels as transfer syntax ${ts || "(missing)"}${
        name ? ` (${name})` : ""
      } is an unsupported compression: supported are ${
        Object.values(SUPPORTED_TRANSFER_SYNTAXES).join(", ")
      }`,
      { path },
    );
  }
  const rows = required(ds, "x00280010", "Rows", path);
  const columns = required(ds, "x00280011", "Columns", path);
  const bitsAllocated = required(ds, "x00280100", "Bits Allocated", path);
  const { frames, samplesPerPixel: spp, pixelRepresentation } = image;
  if (rows === 0 || columns === 0 || frames < 1 || (spp !== 1 && spp !== 3)) {
    throw new FormatError(
      `Cannot decode DICOM pixels as rows, columns, frames and samples per pixel must be positive (samples 1 or 3): current values are ${rows}, ${columns}, ${frames}, ${spp}`,
      { path },
    );
  }
  if (![8, 16, 32].includes(bitsAllocated)) {
    throw new FormatError(
      `Cannot decode DICOM pixels as Bits Allocated must be 8, 16 or 32: current value is ${bitsAllocated}`,
      { path },
    );
  }
  const element = ds.elements["x7fe00010"];
  if (!element) {
    throw new FormatError("Cannot decode DICOM pixels as the file has no Pixel Data (7FE0,0010)", {
      path,
    });
  }
  const count = rows * columns * frames * spp;
  const field =
    `Rows x Columns x Number of Frames x Samples per Pixel (${rows}x${columns}x${frames}x${spp})`;
  checkDecodeBudget(path, { what: "DICOM frame", field, pixels: rows * columns });
  checkDecodeBudget(path, {
    what: "DICOM pixels",
    field,
    bytes: count * Math.max(1, bitsAllocated / 8),
  });
  if (JPEG_SYNTAXES.has(ts)) return decodeJpegFrames(ds, element, image, rows, columns, path);
  const bytesPer = bitsAllocated / 8;
  const needed = count * bytesPer;
  const available = Math.min(element.length, ds.byteArray.length - element.dataOffset);
  if (element.encapsulatedPixelData || available < needed) {
    throw new FormatError(
      `Cannot decode DICOM pixels as ${rows}x${columns}x${frames} frames x ${spp} samples of ${bitsAllocated} bits need ${needed} bytes of Pixel Data: the file holds ${
        Math.max(0, available)
      }`,
      { path, offset: element.dataOffset },
    );
  }
  const region = ds.byteArray.slice(element.dataOffset, element.dataOffset + needed);
  const bigEndian = ts === "1.2.840.10008.1.2.2";
  if (bigEndian === HOST_LITTLE_ENDIAN) swapBytesInPlace(region, bytesPer);
  const signed = pixelRepresentation === 1;
  let out: DicomPixelArray;
  if (bytesPer === 1) {
    out = signed ? new Int8Array(region.buffer) : region;
  } else if (bytesPer === 2) {
    out = signed ? new Int16Array(region.buffer) : new Uint16Array(region.buffer);
  } else {
    out = signed ? new Int32Array(region.buffer) : new Uint32Array(region.buffer);
  }
  fixStoredBits(out, image.bitsStored, bitsAllocated, signed);
  if (spp === 3 && (ds.uint16("x00280006") ?? 0) === 1) {
    out = interleavePlanes(out, rows * columns, frames);
  }
  return out;
}

/** Sign-extends signed values from Bits Stored; masks unsigned values to Bits Stored. */
function fixStoredBits(
  data: DicomPixelArray,
  bitsStored: number,
  bitsAllocated: number,
  signed: boolean,
): void {
  if (bitsStored <= 0 || bitsStored >= bitsAllocated) return;
  if (signed) {
    const shift = 32 - bitsStored;
    for (let i = 0; i < data.length; i++) data[i] = (data[i] << shift) >> shift;
  } else {
    const mask = 2 ** bitsStored - 1;
    for (let i = 0; i < data.length; i++) data[i] = data[i] & mask;
  }
}

function interleavePlanes(data: DicomPixelArray, pixels: number, frames: number): DicomPixelArray {
  // deno-lint-ignore no-explicit-any
  const out: any = new (data.constructor as any)(data.length);
  for (let f = 0; f < frames; f++) {
    const base = f * pixels * 3;
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < 3; c++) out[base + p * 3 + c] = data[base + c * pixels + p];
    }
  }
  return out;
}

function decodeJpegFrames(
  ds: DataSet,
  element: Element,
  image: Omit<DicomImage, "pixels">,
  rows: number,
  columns: number,
  path: string,
): Uint8Array {
  const { frames, samplesPerPixel: spp } = image;
  if (image.bitsAllocated !== 8) {
    throw new FormatError(
      `Cannot decode DICOM JPEG pixels as only 8-bit JPEG is supported: Bits Allocated is ${image.bitsAllocated}`,
      { path },
    );
  }
  if (!element.encapsulatedPixelData || !element.fragments || element.fragments.length === 0) {
    throw new FormatError(
      `Cannot decode DICOM JPEG pixels as Pixel Data must be encapsulated (undefined length with fragments) for transfer syntax ${image.transferSyntax}`,
      { path, offset: element.dataOffset },
    );
  }
  const fragments = element.fragments;
  for (const f of fragments) {
    if (f.position + f.length > ds.byteArray.length) {
      throw new FormatError(
        `Cannot decode DICOM JPEG pixels as a fragment of ${f.length} bytes at ${f.position} runs past the end of the file (${ds.byteArray.length} bytes)`,
        { path, offset: f.position },
      );
    }
  }
  const out = new Uint8Array(rows * columns * frames * spp);
  for (let frame = 0; frame < frames; frame++) {
    let stream: Uint8Array;
    try {
      if (frames === 1) {
        stream = lib.readEncapsulatedPixelDataFromFragments(ds, element, 0, fragments.length);
      } else if (fragments.length === frames) {
        stream = lib.readEncapsulatedPixelDataFromFragments(ds, element, frame, 1);
      } else {
        const bot = element.basicOffsetTable && element.basicOffsetTable.length === frames
          ? element.basicOffsetTable
          : lib.createJPEGBasicOffsetTable(ds, element);
        stream = lib.readEncapsulatedImageFrame(ds, element, frame, bot);
      }
    } catch (cause) {
      throw new FormatError(`Cannot read DICOM JPEG frame ${frame}: ${getErrorText(cause)}`, {
        path,
        cause,
      });
    }
    const decoded = decodeJpeg(stream, path, {
      what: `DICOM JPEG frame ${frame}`,
      colorTransform: image.photometric === "RGB" ? false : undefined,
    });
    if (
      decoded.info.width !== columns || decoded.info.height !== rows || decoded.channels !== spp
    ) {
      throw new FormatError(
        `Cannot decode DICOM JPEG frame ${frame} as it is ${decoded.info.width}x${decoded.info.height}x${decoded.channels}: the header says ${columns}x${rows}x${spp}`,
        { path },
      );
    }
    out.set(decoded.data, frame * rows * columns * spp);
  }
  return out;
}

/**
 * Reads a DICOM file. Uses `Deno.open` (read permission);
 * `Deno.errors.NotFound` propagates. See {@linkcode parseDicom}.
 *
 * @example
 * ```ts ignore
 * import { readDicom, rescaleDicom } from "./reader.ts";
 * const ct = await readDicom("CT_small.dcm");
 * const hu = rescaleDicom(ct); // stored * RescaleSlope + RescaleIntercept
 * ```
 */
export async function readDicom(
  path: string,
  options: ParseDicomOptions = {},
): Promise<DicomImage> {
  return parseDicom(await readFileBytes(path), path, options);
}

function pixelsOf(image: DicomImage): DicomPixelArray {
  if (!image.pixels) {
    throw new TypeError(
      `Cannot use the pixels of "${image.path}" as it was read with pixels: false`,
    );
  }
  return image.pixels;
}

/**
 * The modality values `stored * RescaleSlope + RescaleIntercept` (Hounsfield
 * units for CT) as float32, in the layout of `image.pixels`.
 *
 * @example
 * ```ts
 * import { encodeDicom } from "./writer.ts";
 * import { parseDicom, rescaleDicom } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeDicom({ pixels: new Int16Array([0, 1024, 2048, -2000]), rows: 2, columns: 2, pixelSpacing: [0.5, 0.5], rescaleIntercept: -1024 });
 * assert.deepEqual([...rescaleDicom(parseDicom(bytes, "ct.dcm"))], [-1024, 0, 1024, -3024]);
 * ```
 */
export function rescaleDicom(image: DicomImage): Float32Array {
  const src = pixelsOf(image);
  const out = new Float32Array(src.length);
  const slope = image.rescaleSlope;
  const inter = image.rescaleIntercept;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * slope + inter;
  return out;
}

/** Options of {@linkcode applyDicomWindow}. */
export interface DicomWindowOptions {
  /** Window center; defaults to the file's first Window Center. */
  center?: number;
  /** Window width; defaults to the file's first Window Width. */
  width?: number;
}

/**
 * Display values 0..255: rescale, then the DICOM linear VOI window (PS3.3
 * C.11.2.1.2.1) with the first Window Center/Width of the file (or the
 * given ones), then `255 - y` for MONOCHROME1. Without any window the
 * rescaled range of the image is used (min → 0, max → 255).
 *
 * @example MONOCHROME1 is inverted after windowing
 * ```ts
 * import { encodeDicom } from "./writer.ts";
 * import { applyDicomWindow, parseDicom } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeDicom({ pixels: new Uint16Array([0, 4095]), rows: 1, columns: 2, pixelSpacing: [1, 1], bitsStored: 12, photometric: "MONOCHROME1", windowCenter: 2048, windowWidth: 4096 });
 * assert.deepEqual([...applyDicomWindow(parseDicom(bytes, "cr.dcm"))].map(Math.round), [255, 0]);
 * ```
 */
export function applyDicomWindow(
  image: DicomImage,
  options: DicomWindowOptions = {},
): Float32Array {
  const values = rescaleDicom(image);
  let center = options.center ?? image.windowCenter[0];
  let width = options.width ?? image.windowWidth[0];
  if (center === undefined || width === undefined || !(width >= 1)) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    // A window whose linear ramp maps min to 0 and max to 255 exactly.
    width = Math.max(1, max - min + 1);
    center = min + 0.5 + (width - 1) / 2;
  }
  const invert = image.photometric === "MONOCHROME1";
  const lo = center - 0.5 - (width - 1) / 2;
  const hi = center - 0.5 + (width - 1) / 2;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    let y: number;
    if (x <= lo) y = 0;
    else if (x > hi) y = 255;
    else y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255;
    values[i] = invert ? 255 - y : y;
  }
  return values;
}

/** Options of {@linkcode convertDicomToImage}. */
export interface ConvertDicomToImageOptions {
  /**
   * `"display"`: windowed, MONOCHROME1 inverted, scaled to [0, 1]
   * (intensity `"unit"`); `"rescaled"`: modality values (intensity
   * `"minmax"`). @default {"display"}
   */
  mode?: "display" | "rescaled";
  /** Which frame of a multi-frame instance. @default {0} */
  frame?: number;
}

/**
 * One frame of a DICOM image as the {@linkcode Image2D} sample type
 * (float32 values, 1 or 3 channels).
 */
export function convertDicomToImage(
  image: DicomImage,
  options: ConvertDicomToImageOptions = {},
): Image2D {
  const frame = options.frame ?? 0;
  if (!Number.isInteger(frame) || frame < 0 || frame >= image.frames) {
    throw new RangeError(
      `Cannot select frame ${frame} of "${image.path}" as it has ${image.frames}`,
    );
  }
  const size = image.rows * image.columns * image.samplesPerPixel;
  const mode = options.mode ?? "display";
  let values = mode === "display" ? applyDicomWindow(image) : rescaleDicom(image);
  if (image.frames > 1) values = values.slice(frame * size, (frame + 1) * size);
  if (mode === "display") { for (let i = 0; i < values.length; i++) values[i] /= 255; }
  return {
    kind: "image",
    data: values,
    width: image.columns,
    height: image.rows,
    channels: image.samplesPerPixel,
    intensity: mode === "display" ? "unit" : "minmax",
  };
}

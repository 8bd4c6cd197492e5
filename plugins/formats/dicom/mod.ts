/**
 * DICOM: single files ({@linkcode readDicom}), series stacked into volumes
 * by slice position ({@linkcode readDicomSeries}), display windowing, and a
 * minimal Part-10 writer ({@linkcode writeDicom}) for synthetic datasets.
 *
 * Path-based functions use `Deno.*` file APIs; `parse*`/`encode*` work on bytes.
 *
 * @example Write a CT slice and read its Hounsfield units
 * ```ts
 * import { encodeDicom, parseDicom, rescaleDicom } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeDicom({ pixels: new Int16Array([24, 1064]), rows: 1, columns: 2, pixelSpacing: [0.7, 0.7], modality: "CT", rescaleIntercept: -1024 });
 * assert.deepEqual([...rescaleDicom(parseDicom(bytes, "slice.dcm"))], [-1000, 40]);
 * ```
 *
 * @module
 */

export {
  applyDicomWindow,
  convertDicomToImage,
  type ConvertDicomToImageOptions,
  type DicomImage,
  type DicomPixelArray,
  type DicomWindowOptions,
  parseDicom,
  type ParseDicomOptions,
  readDicom,
  rescaleDicom,
  SUPPORTED_TRANSFER_SYNTAXES,
} from "./reader.ts";
export {
  type DicomSeries,
  type DicomSeriesFile,
  parseDicomSeries,
  readDicomSeries,
  type ReadDicomSeriesOptions,
} from "./series.ts";
export {
  createDicomUid,
  encodeDicom,
  type EncodeDicomOptions,
  SOP_CLASS_BY_MODALITY,
  writeDicom,
} from "./writer.ts";

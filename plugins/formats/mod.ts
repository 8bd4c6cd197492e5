/**
 * Readers and writers for the on-disk formats of the public medical-imaging
 * datasets medprobe evaluates on: NIfTI (`.nii`, `.nii.gz`), DICOM (files
 * and series), PNG/JPEG, TIFF stacks and tiled whole-slide pyramids, HDF5
 * (CREMI) and CSV label tables. Readers validate before decoding and throw
 * `FormatError` (with the file path) on bad input; none returns a partial
 * array.
 *
 * Path-based functions (`read*`, `open*`, `write*`) use `Deno.*` file APIs;
 * each has a bytes-based twin (`parse*`, `encode*`) usable anywhere.
 *
 * @example Write a NIfTI volume to memory and read it back
 * ```ts
 * import { encodeNifti, parseNifti } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const affine = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]];
 * const bytes = encodeNifti(new Int16Array(24), { shape: [4, 3, 2], affine, gzip: true });
 * const image = parseNifti(bytes, "memory.nii.gz");
 * assert.equal(image.orientation, "LPS");
 * assert.deepEqual(image.spacing, [1, 1, 2.5]);
 * ```
 *
 * @module
 */

export {
  type AxisOrientation,
  type CanonicalTransform,
  convertAffineToQuatern,
  convertNiftiToVolume,
  convertQuaternToAffine,
  encodeNifti,
  encodeNiftiLike,
  type EncodeNiftiOptions,
  getAffineOrientation,
  getCanonicalTransform,
  getNiftiAffine,
  getNiftiDataTypeBytes,
  getNiftiDataTypeCode,
  getNiftiQformAffine,
  getOrientationCode,
  type Mat4,
  NIFTI_DATATYPES,
  type NiftiAffineSource,
  type NiftiDataType,
  type NiftiExtension,
  type NiftiHeader,
  type NiftiImage,
  type NiftiTypedArray,
  type NiftiWritableArray,
  parseNifti,
  parseNiftiHeader,
  type Quaternion,
  readNifti,
  type ReadNiftiOptions,
  reorientNiftiToCanonical,
  scaleNiftiData,
  writeNifti,
  writeNiftiLike,
  type WriteNiftiLikeOptions,
} from "./nifti/mod.ts";
export {
  applyDicomWindow,
  convertDicomToImage,
  type ConvertDicomToImageOptions,
  createDicomUid,
  type DicomImage,
  type DicomPixelArray,
  type DicomSeries,
  type DicomSeriesFile,
  type DicomWindowOptions,
  encodeDicom,
  type EncodeDicomOptions,
  parseDicom,
  type ParseDicomOptions,
  parseDicomSeries,
  readDicom,
  readDicomSeries,
  type ReadDicomSeriesOptions,
  rescaleDicom,
  SOP_CLASS_BY_MODALITY,
  SUPPORTED_TRANSFER_SYNTAXES,
  writeDicom,
} from "./dicom/mod.ts";
export {
  encodePng,
  parseImage,
  parseJpeg,
  parsePng,
  parsePngHeader,
  type PngHeader,
  type PngPixels,
  type RasterImage,
  readImage,
  readJpeg,
  readPng,
  writePng,
} from "./image/mod.ts";
export {
  type AssociatedImage,
  COMPRESSION_NAMES,
  convertTiffStackToVolume,
  type EncodePyramidOptions,
  encodePyramidTiff,
  encodeTiffStack,
  type EncodeTiffStackOptions,
  openSlide,
  openSlideBytes,
  parseTiffStack,
  readTiffStack,
  type ReadTiffStackOptions,
  type RgbPixels,
  type Slide,
  SLIDE_COMPRESSIONS,
  type SlideAssociatedImage,
  type SlideJpegDecoder,
  type SlideLevel,
  type SlideOptions,
  type SlideRegion,
  STACK_COMPRESSIONS,
  type TiffSampleType,
  type TiffStack,
  type TiffStackArray,
  type TiffStackInput,
  writePyramidTiff,
  writeTiffStack,
} from "./tiff/mod.ts";
export {
  CREMI_BACKGROUND_ID,
  type CremiVolume,
  type Hdf5Array,
  type Hdf5Attribute,
  type Hdf5AttributeValue,
  type Hdf5DatasetInfo,
  type Hdf5ElementType,
  type Hdf5File,
  type Hdf5TypedArray,
  openHdf5,
  openHdf5Bytes,
  readCremi,
} from "./hdf5/mod.ts";
export {
  type CsvTable,
  CT_RATE_ABNORMALITIES,
  type CtRateLabelRow,
  type CtRateMetadataRow,
  type CtRateVolumeName,
  NIH_CHEST_XRAY14_CLASSES,
  type NihDataEntryRow,
  parseCsv,
  parseCtRateLabels,
  parseCtRateMetadata,
  parseListField,
  parseNihDataEntry,
  readCsv,
  readCtRateLabels,
  readCtRateMetadata,
  readNihDataEntry,
} from "./csv/mod.ts";
export {
  checkDecodeBudget,
  type DecodeRequest,
  DEFAULT_READ_LIMITS,
  getReadLimits,
  type ReadLimits,
  setReadLimits,
} from "./limits.ts";
export { decodeJpegBytes, openJpegStream, writeJpegStream } from "./jpeg_stream/mod.ts";
export type { Image2D, Volume } from "../../core/plugin.ts";

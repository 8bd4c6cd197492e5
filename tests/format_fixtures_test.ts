/**
 * The format fixtures suite: every entry of `manifest.json` in the format
 * fixtures folder is read with medprobe's readers and compared with what
 * the manifest says a correct reader returns (shape, dtype, geometry,
 * checksums, statistics, samples), within the manifest's tolerances.
 *
 * The folder is `MEDPROBE_FORMAT_FIXTURES` when set, else
 * `fixtures/formats` relative to the repository root. Entries are
 * enumerated, not named: a new entry is picked up, an entry of an unknown
 * format fails, and a manifest key that no check reads fails too. Every key
 * that `fixtures/formats/README.md` documents ("Keys a manifest may carry
 * beyond the ones used here": optional DICOM attributes left out, a
 * transfer syntax given as a description, `affine_source: "base"` with
 * `affine_nifti_method1`, byte-order-prefixed HDF5 dtypes, stripped and
 * non-JPEG whole-slide pages, per-channel samples, palette images, a
 * validation metadata table) is read and checked; only a wrong value fails.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  applyDicomWindow,
  type DicomImage,
  openHdf5,
  openSlide,
  parseCsv,
  parseCtRateLabels,
  parseCtRateMetadata,
  parseNihDataEntry,
  readDicom,
  readDicomSeries,
  readImage,
  readNifti,
  readTiffStack,
  scaleNiftiData,
} from "../plugins/formats/mod.ts";
import {
  getTagNumber,
  getTagNumbers,
  getTagString,
  readTiffStructure,
  TAG,
} from "../plugins/formats/tiff/ifd.ts";
import { openFileSource } from "../plugins/formats/_io.ts";

const DIR = (() => {
  const env = Deno.env.get("MEDPROBE_FORMAT_FIXTURES");
  if (env) return env.endsWith("/") ? env : env + "/";
  return new URL("../fixtures/formats/", import.meta.url).pathname;
})();

// deno-lint-ignore no-explicit-any
type Json = any;

const manifest: Json = JSON.parse(await Deno.readTextFile(DIR + "manifest.json"));

/** Keys that describe an entry for people and need no check. */
const INFORMATIONAL = new Set([
  "path",
  "format",
  "mimics",
  "tests",
  "description",
  "provenance",
  "display_rule",
  "sort_rule",
  "original_before_jpeg",
]);

// ------------------------------------------------------------------ helpers --

/** Wraps an entry so that every key a check reads is recorded. */
function tracked(entry: Json): { e: Json; unread: () => string[] } {
  const read = new Set<string>();
  const e = new Proxy(entry, {
    get(target, key) {
      if (typeof key === "string") read.add(key);
      return target[key];
    },
  });
  return {
    e,
    unread: () => Object.keys(entry).filter((k) => !read.has(k) && !INFORMATIONAL.has(k)),
  };
}

function close(actual: number, expected: number, what: string, rtol = 1e-6, atol = 0): void {
  const ok = Math.abs(actual - expected) <= atol + rtol * Math.abs(expected) ||
    (Number.isNaN(actual) && Number.isNaN(expected));
  assert.ok(ok, `${what}: ${actual} vs expected ${expected} (rtol ${rtol}, atol ${atol})`);
}

function closeAll(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-6,
  atol = 1e-7,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    close(actual[i], expected[i], `${what}[${i}]`, rtol, atol);
  }
}

function num(v: number | string): number {
  return typeof v === "string" ? Number(v) : v; // "NaN" is written as a string
}

async function sha256(data: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function checkFile(e: Json): Promise<void> {
  const bytes = await Deno.readFile(DIR + e.path);
  assert.equal(bytes.length, e.file_size, "file_size");
  assert.equal(await sha256(bytes), e.file_sha256, "file_sha256: the fixture was altered");
}

interface Stats {
  sum: number;
  min: number;
  max: number;
  mean: number;
  n: number;
}

function stats(values: ArrayLike<number | bigint>, keep?: (i: number) => boolean): Stats {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (keep && !keep(i)) continue;
    const v = Number(values[i]);
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
    n++;
  }
  return { sum, min, max, mean: sum / n, n };
}

/** Compares stats with a manifest block `{ sum, min, max, mean, sum_exact? }`. */
function checkStats(s: Stats, expected: Json, what: string, integer: boolean): void {
  if (integer) {
    assert.equal(s.min, expected.min, `${what} min`);
    assert.equal(s.max, expected.max, `${what} max`);
    assert.equal(s.sum, expected.sum_exact ?? expected.sum, `${what} sum (exact)`);
    close(s.sum, expected.sum, `${what} sum (float64)`, 1e-12);
    close(s.mean, expected.mean, `${what} mean`, 1e-9);
  } else {
    close(s.min, expected.min, `${what} min`, 1e-6, 1e-9);
    close(s.max, expected.max, `${what} max`, 1e-6, 1e-9);
    close(s.sum, expected.sum, `${what} sum`, 1e-6, 1e-6);
    close(s.mean, expected.mean, `${what} mean`, 1e-6, 1e-9);
  }
}

function isIntegerArray(a: unknown): boolean {
  return !(a instanceof Float32Array || a instanceof Float64Array);
}

// ------------------------------------------------------------------- NIfTI --

async function checkNifti(e: Json): Promise<void> {
  await checkFile(e);
  const raw = await Deno.readFile(DIR + e.path);
  assert.equal(raw[0] === 0x1f && raw[1] === 0x8b, e.gzip, "gzip");
  const img = await readNifti(DIR + e.path);
  const h = img.header;
  const eh = e.header;
  assert.equal(`nifti${h.version}`, e.format, "format");
  assert.equal(h.sizeofHdr, eh.sizeof_hdr, "sizeof_hdr");
  assert.equal(h.littleEndian ? "little" : "big", eh.byte_order, "byte_order");
  if (eh.sizeof_hdr_read_little_endian !== undefined) {
    const head = e.gzip ? new Uint8Array(gunzipSync(raw)) : raw;
    assert.equal(
      new DataView(head.buffer, head.byteOffset).getInt32(0, true),
      eh.sizeof_hdr_read_little_endian,
    );
  }
  assert.deepEqual(h.dim, eh.dim, "dim");
  assert.equal(h.datatypeCode, eh.datatype_code, "datatype_code");
  assert.equal(h.bitpix, eh.bitpix, "bitpix");
  assert.equal(h.datatype, eh.dtype_on_disk, "dtype_on_disk");
  assert.equal(img.datatype, eh.dtype_on_disk);
  assert.equal(h.voxOffset, eh.vox_offset, "vox_offset");
  close(h.sclSlope, num(eh.scl_slope_field), "scl_slope");
  close(h.sclInter, num(eh.scl_inter_field), "scl_inter");
  assert.equal(img.scaling !== null, eh.scaling_applies, "scaling_applies");
  close(img.scaling?.slope ?? 1, eh.effective_slope, "effective_slope");
  close(img.scaling?.inter ?? 0, eh.effective_inter, "effective_inter");
  closeAll(h.pixdim, eh.pixdim, "pixdim");
  assert.equal(h.pixdim[0] < 0 ? -1 : 1, eh.qfac, "qfac");
  assert.equal(h.xyztUnits, eh.xyzt_units, "xyzt_units");
  assert.equal(h.qformCode, eh.qform_code, "qform_code");
  assert.equal(h.sformCode, eh.sform_code, "sform_code");
  assert.equal(h.description.replaceAll("\0", ""), eh.descrip.replaceAll("\0", ""), "descrip");
  assert.equal(h.extensions.length, eh.n_extensions, "n_extensions");
  assert.deepEqual(h.extensions.map((x) => x.code), eh.extension_codes, "extension_codes");
  assert.deepEqual(img.shape, e.shape, "shape");
  closeAll(img.spacing, e.voxel_spacing, "voxel_spacing");
  closeAll(h.pixdim.slice(1, 1 + e.zooms.length).map(Math.abs), e.zooms, "zooms");
  for (
    const [key, matrix] of [["qform_affine", img.qformAffine], [
      "sform_affine",
      img.sformAffine,
    ]] as const
  ) {
    for (let r = 0; r < 4; r++) closeAll(matrix[r], e[key][r], `${key} row ${r}`, 1e-6, 1e-6);
  }
  // With qform_code and sform_code both 0 ("base"), the standard's method 1
  // (voxel sizes only) and nibabel's centred default are both acceptable.
  const base = e.affine_source === "base";
  const candidates: Json[] = [e.affine];
  if (e.affine_nifti_method1) candidates.push(e.affine_nifti_method1);
  if (base) assert.equal(typeof (e.affine_note ?? ""), "string", "affine_note");
  const matches = (m: Json) =>
    m.every((row: number[], r: number) =>
      row.every((v, c) => Math.abs(img.affine[r][c] - v) <= 1e-6 + 1e-6 * Math.abs(v))
    );
  assert.ok(
    candidates.some(matches),
    `affine ${JSON.stringify(img.affine)} is none of ${JSON.stringify(candidates)}`,
  );
  assert.equal(img.affineSource, base ? "pixdim" : e.affine_source, "affine_source");
  if (!base || matches(e.affine)) assert.equal(img.orientation, e.orientation, "orientation");
  else void e.orientation; // the orientation of the other acceptable affine

  const integer = isIntegerArray(img.data);
  assert.equal(
    await sha256(img.data),
    e.stored.sha256_le_disk_order,
    "stored sha256 (LE, disk order)",
  );
  checkStats(stats(img.data), e.stored, "stored", integer);
  const slope = img.scaling?.slope ?? 1;
  const inter = img.scaling?.inter ?? 0;
  let sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < img.data.length; i++) {
    const v = Number(img.data[i]) * slope + inter;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  checkStats(
    { sum, min, max, mean: sum / img.data.length, n: img.data.length },
    e.scaled,
    "scaled",
    false,
  );
  const f32 = scaleNiftiData(img);
  const strides = [1];
  for (let a = 1; a < img.shape.length; a++) strides.push(strides[a - 1] * img.shape[a - 1]);
  const at = (index: number[]) => index.reduce((s, v, a) => s + v * strides[a], 0);
  for (const s of e.samples) {
    const i = at(s.index);
    close(Number(img.data[i]), s.stored, `stored[${s.index}]`, 0, 0);
    close(f32[i], s.scaled, `scaled[${s.index}]`, 1e-6, 1e-6);
  }
  if (e.label_counts) {
    const counts: Record<string, number> = {};
    for (const v of img.data) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
    assert.deepEqual(counts, e.label_counts, "label_counts");
  }
  if (e.per_channel_scaled) {
    const block = img.shape.slice(0, 3).reduce((a: number, b: number) => a * b, 1);
    if (e.channel_names !== undefined) {
      assert.equal(e.channel_names.length, img.shape[3], "channel_names");
    }
    e.per_channel_scaled.forEach((expected: Json, c: number) => {
      checkStats(stats(f32.subarray(c * block, (c + 1) * block)), expected, `channel ${c}`, false);
    });
  }
  if (e.dataset_adapter_expect) {
    // CT-RATE: HU and spacing come from the metadata CSV row, not the NIfTI
    const x = e.dataset_adapter_expect;
    // The row lives in a train or a validation metadata table: the one the
    // entry names, else any metadata table of the manifest.
    const tables: string[] = [x.metadata_csv, x.metadata_file, x.metadata_table]
      .filter((t) => typeof t === "string");
    for (const f of manifest.files as Json[]) {
      if (f.format === "csv" && f.parsed) tables.push(f.path);
    }
    if (tables.length === 0) tables.push("csv/train_metadata.csv");
    let row: ReturnType<typeof parseCtRateMetadata>[number] | undefined;
    for (const table of tables) {
      const metaPath = DIR + table;
      const rows = parseCtRateMetadata(await Deno.readTextFile(metaPath), metaPath);
      row = rows.find((r) => r.volumeName === x.metadata_row);
      if (row) break;
    }
    assert.ok(row, `metadata row ${x.metadata_row} in ${tables.join(", ")}`);
    const hu = Float64Array.from(
      img.data as ArrayLike<number>,
      (v) => v * row.rescaleSlope + row.rescaleIntercept,
    );
    checkStats(stats(hu), x.hu_after_csv_rescale, "HU after CSV rescale", false);
    closeAll(
      [row.xySpacing[0], row.xySpacing[1], row.zSpacing],
      x.spacing_from_csv_xyz,
      "spacing from CSV",
    );
    for (const s of x.samples_hu) close(hu[at(s.index)], s.value, `HU[${s.index}]`, 0, 1e-9);
  }
}

// ------------------------------------------------------------------- DICOM --

/**
 * The transfer syntax UID a manifest value means: a UID as is, or a
 * description such as "implicit VR little endian, no meta group" (data sets
 * without a File Meta group).
 */
function transferSyntaxUid(value: string): string {
  if (/^[0-9.]+$/.test(value)) return value;
  const v = value.toLowerCase();
  if (v.includes("big")) return "1.2.840.10008.1.2.2";
  if (v.includes("explicit")) return "1.2.840.10008.1.2.1";
  if (v.includes("implicit")) return "1.2.840.10008.1.2";
  throw new Error(`transfer_syntax "${value}" is neither a UID nor a known description`);
}

function checkDicomAttributes(d: DicomImage, e: Json): void {
  assert.equal(d.transferSyntax, transferSyntaxUid(e.transfer_syntax), "transfer_syntax");
  // Optional keys are left out when the data set has no such attribute.
  if (e.sop_class_uid !== undefined) assert.equal(d.sopClassUid, e.sop_class_uid, "sop_class_uid");
  if (e.modality !== undefined) assert.equal(d.modality, e.modality, "modality");
  assert.equal(d.rows, e.rows, "rows");
  assert.equal(d.columns, e.columns, "columns");
  assert.equal(d.photometric, e.photometric, "photometric");
  assert.equal(d.samplesPerPixel, e.samples_per_pixel ?? 1, "samples_per_pixel");
  assert.equal(d.bitsAllocated, e.bits_allocated, "bits_allocated");
  assert.equal(d.bitsStored, e.bits_stored, "bits_stored");
  assert.equal(d.highBit, e.high_bit ?? d.bitsStored - 1, "high_bit");
  assert.equal(d.pixelRepresentation, e.pixel_representation, "pixel_representation");
  close(d.rescaleSlope, e.rescale_slope, "rescale_slope");
  close(d.rescaleIntercept, e.rescale_intercept, "rescale_intercept");
  if (e.pixel_spacing === undefined) assert.equal(d.pixelSpacing, undefined, "pixel_spacing");
  else closeAll(d.pixelSpacing ?? [], e.pixel_spacing, "pixel_spacing");
  if (e.window_center) closeAll(d.windowCenter, e.window_center, "window_center");
  if (e.window_width) closeAll(d.windowWidth, e.window_width, "window_width");
}

async function checkDicom(e: Json): Promise<void> {
  await checkFile(e);
  const bytes = await Deno.readFile(DIR + e.path);
  assert.equal(
    String.fromCharCode(...bytes.subarray(128, 132)) === "DICM",
    e.has_preamble_and_DICM,
  );
  const d = await readDicom(DIR + e.path);
  checkDicomAttributes(d, e);
  const px = d.pixels!;
  const spp = e.samples_per_pixel ?? 1;
  const n = e.rows * e.columns * spp;
  assert.equal(px.length, n, "pixel count");
  const rescaled = Float64Array.from(px, (v) => v * d.rescaleSlope + d.rescaleIntercept);
  const tol = e.jpeg_decoder_tolerance;
  if (!tol) {
    assert.equal(await sha256(px), e.stored.sha256_le_row_major, "stored sha256");
    checkStats(stats(px), e.stored, "stored", true);
    checkStats(stats(rescaled), e.rescaled, "rescaled", false);
  } else {
    // lossy: decoders differ by a few grey levels (manifest tolerance)
    const s = stats(px);
    close(s.mean, e.stored.mean, "stored mean (JPEG)", 0, tol.mean_abs);
    close(s.min, e.stored.min, "stored min (JPEG)", 0, tol.max_abs);
    close(s.max, e.stored.max, "stored max (JPEG)", 0, tol.max_abs);
    const r = stats(rescaled);
    close(
      r.mean,
      e.rescaled.mean,
      "rescaled mean (JPEG)",
      0,
      tol.mean_abs * Math.abs(d.rescaleSlope),
    );
    close(r.min, e.rescaled.min, "rescaled min (JPEG)", 0, tol.max_abs * Math.abs(d.rescaleSlope));
    close(r.max, e.rescaled.max, "rescaled max (JPEG)", 0, tol.max_abs * Math.abs(d.rescaleSlope));
  }
  const display = e.display ? applyDicomWindow(d) : undefined;
  if (display) checkStats(stats(display), e.display, "display", false);
  for (const s of e.samples) {
    const i = (s.index[0] * e.columns + s.index[1]) * spp;
    const atol = tol ? tol.max_abs : 0;
    const stored: number[] = Array.isArray(s.stored) ? s.stored : [s.stored];
    const rescaledValues: number[] = Array.isArray(s.rescaled) ? s.rescaled : [s.rescaled];
    stored.forEach((v, c) => close(px[i + c], v, `stored[${s.index}][${c}]`, 0, atol));
    rescaledValues.forEach((v, c) =>
      close(rescaled[i + c], v, `rescaled[${s.index}][${c}]`, 0, atol * Math.abs(d.rescaleSlope))
    );
    if (display && s.display !== undefined) {
      close(display[i], s.display, `display[${s.index}]`, 1e-5, 1e-3);
    }
  }
}

async function checkDicomSeries(e: Json): Promise<void> {
  const dir = DIR + e.path + "/";
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  assert.deepEqual(
    names.sort(),
    [...e.files_in_directory_listing_order].sort(),
    "files in the folder",
  );
  for (const [name, info] of Object.entries(e.files as Record<string, Json>)) {
    const bytes = await Deno.readFile(dir + name);
    assert.equal(bytes.length, info.size, `${name} size`);
    assert.equal(await sha256(bytes), info.sha256, `${name} sha256: the fixture was altered`);
  }
  const s = await readDicomSeries(dir);
  assert.deepEqual(s.files.map((f) => f.split("/").pop()), e.sorted_files, "sorted_files");
  assert.deepEqual(s.instanceNumbers, e.instance_numbers_in_sorted_order, "instance numbers");
  s.imagePositionPatient.forEach((p, i) =>
    closeAll(p, e.image_position_patient_sorted[i], `IPP ${i}`)
  );
  closeAll(s.imageOrientationPatient, e.image_orientation_patient, "IOP");
  closeAll(s.normal, e.slice_normal, "slice_normal", 1e-9, 1e-9);
  closeAll(s.positions, e.positions_along_normal, "positions_along_normal");
  close(s.sliceSpacing, e.slice_spacing, "slice_spacing");
  assert.equal(s.uniformSpacing, e.slice_spacing_uniform, "slice_spacing_uniform");
  assert.deepEqual(s.volume.shape, e.volume_shape_slices_rows_cols, "volume shape");
  assert.equal(s.first.rows, e.rows);
  assert.equal(s.first.columns, e.columns);
  if (e.pixel_spacing === undefined) {
    assert.equal(s.first.pixelSpacing, undefined, "pixel_spacing");
  } else {
    closeAll(s.first.pixelSpacing ?? [], e.pixel_spacing, "pixel_spacing");
    closeAll(s.volume.spacingMm, [e.slice_spacing, ...e.pixel_spacing], "spacingMm");
  }
  // null means the attribute is absent (not a padding value of 0).
  assert.equal(s.first.pixelPaddingValue ?? null, e.pixel_padding_value, "pixel_padding_value");
  assert.equal(s.first.pixelRepresentation, e.pixel_representation, "pixel_representation");
  assert.equal(s.first.bitsStored, e.bits_stored, "bits_stored");
  assert.equal(s.first.transferSyntax, transferSyntaxUid(e.transfer_syntax), "transfer_syntax");
  const v = s.volume.data;
  checkStats(stats(v), e.hu, "HU", true);
  const padHu = e.pixel_padding_value === null
    ? NaN
    : e.pixel_padding_value * s.first.rescaleSlope + s.first.rescaleIntercept;
  checkStats(stats(v, (i) => v[i] !== padHu), e.hu_excluding_padding, "HU excluding padding", true);
  const size = e.rows * e.columns;
  e.per_slice_hu_sum.forEach((expected: number, k: number) => {
    assert.equal(stats(v.subarray(k * size, (k + 1) * size)).sum, expected, `slice ${k} HU sum`);
  });
  for (const smp of e.samples_hu) {
    const [k, r, c] = smp.index;
    assert.equal(v[k * size + r * e.columns + c], smp.value, `HU[${smp.index}]`);
  }
}

// -------------------------------------------------------------------- HDF5 --

const HDF5_DTYPES: Record<string, (d: string) => boolean> = {
  float64: (d) => /^[<>=]?d$/.test(d),
  float32: (d) => /^[<>=]?f$/.test(d),
  int8: (d) => /^[<>=|]?b$/.test(d),
  uint8: (d) => /^[<>=|]?B$/.test(d),
  int16: (d) => /^[<>=]?h$/.test(d),
  uint16: (d) => /^[<>=]?H$/.test(d),
  int32: (d) => /^[<>=]?[il]$/.test(d),
  uint32: (d) => /^[<>=]?[IL]$/.test(d),
  int64: (d) => /^[<>=]?q$/.test(d),
  uint64: (d) => /^[<>=]?Q$/.test(d),
  str: (d) => /^[SA]/.test(d),
};

/** numpy's short dtype codes (`"<f4"`, `">u8"`) as names; a name stays a name. */
const NUMPY_CODES: Record<string, string> = {
  i1: "int8",
  u1: "uint8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  u8: "uint64",
  f4: "float32",
  f8: "float64",
};

/** A manifest dtype without its byte-order prefix (`">uint64"` → `"uint64"`, `"<f4"` → `"float32"`). */
function dtypeName(dtype: string): string {
  const bare = dtype.replace(/^[<>=|]/, "");
  return NUMPY_CODES[bare] ?? bare;
}

async function checkHdf5(e: Json): Promise<void> {
  await checkFile(e);
  const file = await openHdf5(DIR + e.path);
  try {
    const paths = file.list();
    assert.deepEqual(
      paths.filter((p) => !file.isDataset(p)).sort(),
      [...e.groups].sort(),
      "groups",
    );
    for (const [key, value] of Object.entries(e.root_attrs as Record<string, Json>)) {
      assert.equal(file.attributes("/")[key]?.value, value, `root attribute ${key}`);
    }
    assert.deepEqual(
      paths.filter((p) => file.isDataset(p)).sort(),
      Object.keys(e.datasets).sort(),
      "datasets",
    );
    const bigints = e.uint64_values_are_decimal_strings === true;
    for (const [name, x] of Object.entries(e.datasets as Record<string, Json>)) {
      const info = file.info(name);
      assert.deepEqual(info.shape, x.shape, `${name} shape`);
      assert.equal(info.dtype, dtypeName(x.dtype), `${name} dtype`);
      // h5wasm returns host order and hashes are over values, so a
      // big-endian dataset reads and hashes like its little-endian twin.
      assert.ok(
        x.byte_order === undefined || x.byte_order === "little" || x.byte_order === "big",
        `${name} byte_order`,
      );
      assert.deepEqual(info.chunks, x.chunks, `${name} chunks`);
      assert.equal(
        info.filters.includes("deflate"),
        x.compression === "gzip",
        `${name} compression`,
      );
      if (x.compression !== null) assert.equal(x.compression, "gzip");
      void x.compression_opts; // the gzip level is not observable after decoding
      assert.equal(info.filters.includes("shuffle"), x.shuffle, `${name} shuffle`);
      assert.equal(info.filters.includes("fletcher32"), x.fletcher32, `${name} fletcher32`);
      const attrs = file.attributes(name);
      assert.deepEqual(
        Object.keys(attrs).sort(),
        Object.keys(x.attrs).sort(),
        `${name} attribute names`,
      );
      for (const [key, a] of Object.entries(x.attrs as Record<string, Json>)) {
        assert.ok(
          HDF5_DTYPES[dtypeName(a.dtype)]?.(attrs[key].dtype),
          `${name}@${key} dtype ${attrs[key].dtype} vs ${a.dtype}`,
        );
        const got = attrs[key].value;
        if (typeof a.value === "string") assert.equal(got, a.value, `${name}@${key}`);
        else {assert.deepEqual(
            Array.from(got as ArrayLike<number>, Number),
            a.value,
            `${name}@${key}`,
          );}
      }
      const array = file.read(name);
      const data = array.data;
      assert.equal(await sha256(data), x.sha256_le_c_order, `${name} sha256`);
      const strides = [1];
      for (let a = x.shape.length - 2; a >= 0; a--) strides.unshift(strides[0] * x.shape[a + 1]);
      const at = (index: number[]) => index.reduce((s, v, a) => s + v * strides[a], 0);
      if (dtypeName(x.dtype) === "uint64") {
        assert.ok(data instanceof BigUint64Array, `${name} is BigUint64Array`);
        assert.ok(bigints);
        const counts = new Map<bigint, number>();
        for (const v of data as BigUint64Array) counts.set(v, (counts.get(v) ?? 0) + 1);
        const ids = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.deepEqual(ids.map(String), x.unique_ids, `${name} unique ids`);
        assert.deepEqual(ids.map((id) => counts.get(id)), x.unique_counts, `${name} unique counts`);
        assert.equal(
          counts.get(18446744073709551615n) ?? 0,
          x.count_background_18446744073709551615,
        );
        for (const s of x.samples) {
          assert.equal(String(data[at(s.index)]), s.value, `${name}[${s.index}]`);
        }
      } else {
        checkStats(stats(data as ArrayLike<number>), x, name, isIntegerArray(data));
        for (const s of x.samples) {
          close(Number(data[at(s.index)]), s.value, `${name}[${s.index}]`, 0, 0);
        }
      }
    }
  } finally {
    file.close();
  }
}

// -------------------------------------------------------------------- TIFF --

async function checkTiffStack(e: Json): Promise<void> {
  await checkFile(e);
  const source = await openFileSource(DIR + e.path);
  const structure = await readTiffStructure(source).finally(() => source.close());
  assert.equal(structure.littleEndian ? "little" : "big", e.byte_order, "byte_order");
  assert.equal(structure.bigTiff, e.bigtiff, "bigtiff");
  const first = structure.ifds[0];
  assert.deepEqual(getTagNumbers(first, TAG.BitsPerSample), [e.bits_per_sample], "bits_per_sample");
  assert.equal(getTagNumber(first, TAG.SampleFormat, 1), e.sample_format, "sample_format");
  assert.equal(getTagNumber(first, TAG.Predictor, 1), e.predictor, "predictor");
  assert.equal(getTagNumber(first, TAG.Photometric), e.photometric, "photometric");
  assert.equal(first.tags.has(TAG.TileWidth), e.tiled, "tiled");
  assert.equal(getTagNumber(first, TAG.RowsPerStrip) ?? null, e.rows_per_strip, "rows_per_strip");
  assert.deepEqual(
    first.tags.has(TAG.TileWidth)
      ? [getTagNumber(first, TAG.TileLength), getTagNumber(first, TAG.TileWidth)]
      : null,
    e.tile_shape,
    "tile_shape",
  );
  const stack = await readTiffStack(DIR + e.path);
  assert.equal(stack.shape[0], e.n_pages, "n_pages");
  assert.deepEqual(stack.shape.slice(1), e.page_shape, "page_shape");
  assert.deepEqual(stack.shape, e.stack_shape_pages_rows_cols, "stack shape");
  assert.equal(stack.dtype, e.dtype, "dtype");
  assert.equal(stack.compression, e.compression, "compression");
  assert.equal(stack.description.startsWith("ImageJ="), e.imagej, "imagej");
  assert.equal(await sha256(stack.data), e.sha256_le_page_row_col, "sha256");
  const integer = isIntegerArray(stack.data);
  checkStats(stats(stack.data), e, "stack", integer);
  const page = e.page_shape[0] * e.page_shape[1];
  e.per_page_sum.forEach((expected: number, p: number) => {
    assert.equal(
      stats(stack.data.subarray(p * page, (p + 1) * page)).sum,
      expected,
      `page ${p} sum`,
    );
  });
  for (const s of e.samples) {
    const [p, r, c] = s.index;
    assert.equal(stack.data[p * page + r * e.page_shape[1] + c], s.value, `[${s.index}]`);
  }
  if (e.n_unique !== undefined) assert.equal(new Set(stack.data).size, e.n_unique, "n_unique");
}

function jpegMarkers(
  stream: Uint8Array,
): { markers: string[]; components: Json[]; adobe: boolean; jfif: boolean } {
  const markers = ["FFD8"];
  const components: Json[] = [];
  let adobe = false;
  let jfif = false;
  for (let at = 2; at + 4 <= stream.length;) {
    const m = stream[at + 1];
    markers.push("FF" + m.toString(16).toUpperCase().padStart(2, "0"));
    if (m === 0xda) break;
    const length = (stream[at + 2] << 8) | stream[at + 3];
    if (m === 0xc0) {
      for (let c = 0; c < stream[at + 9]; c++) {
        const o = at + 10 + c * 3;
        components.push({ id: stream[o], h: stream[o + 1] >> 4, v: stream[o + 1] & 15 });
      }
    }
    if (m === 0xee) adobe = true;
    if (m === 0xe0) jfif = true;
    at += 2 + length;
  }
  return { markers, components, adobe, jfif };
}

async function checkWsi(e: Json): Promise<void> {
  await checkFile(e);
  const path = DIR + e.path;
  const source = await openFileSource(path);
  try {
    const structure = await readTiffStructure(source);
    assert.equal(structure.littleEndian ? "little" : "big", e.byte_order, "byte_order");
    assert.equal(structure.bigTiff, e.bigtiff, "bigtiff");
    assert.equal(structure.ifds.length, e.ifds.length, "IFD count");
    for (const x of e.ifds) {
      const ifd = structure.ifds[x.ifd];
      const what = `IFD ${x.ifd}`;
      assert.equal(getTagNumber(ifd, TAG.ImageWidth), x.width, `${what} width`);
      assert.equal(getTagNumber(ifd, TAG.ImageLength), x.height, `${what} height`);
      assert.equal(ifd.tags.has(TAG.TileWidth), x.tiled, `${what} tiled`);
      if (x.tile) {
        assert.deepEqual(
          [getTagNumber(ifd, TAG.TileWidth), getTagNumber(ifd, TAG.TileLength)],
          x.tile,
        );
      }
      assert.equal(
        getTagNumber(ifd, TAG.RowsPerStrip) ?? null,
        x.rows_per_strip,
        `${what} rows_per_strip`,
      );
      assert.equal(getTagNumber(ifd, TAG.Compression), x.compression, `${what} compression`);
      assert.equal(getTagNumber(ifd, TAG.Photometric), x.photometric, `${what} photometric`);
      assert.equal(
        getTagNumber(ifd, TAG.NewSubfileType, 0),
        x.new_subfile_type,
        `${what} NewSubfileType`,
      );
      assert.equal(ifd.tags.has(TAG.JPEGTables), x.jpeg_tables_present, `${what} JPEGTables`);
      const sub = getTagNumbers(ifd, TAG.YCbCrSubsampling);
      assert.deepEqual(
        sub.length ? sub : null,
        x.ycbcr_subsampling_tag,
        `${what} YCbCrSubsampling tag`,
      );
      assert.equal(
        getTagString(ifd, TAG.ImageDescription) || null,
        x.image_description,
        `${what} description`,
      );
      if (x.x_resolution === null || x.x_resolution === undefined) {
        assert.equal(getTagNumber(ifd, TAG.XResolution) ?? null, null, `${what} XResolution`);
      } else {
        close(getTagNumber(ifd, TAG.XResolution)!, x.x_resolution, `${what} XResolution`);
      }
      assert.equal(
        getTagNumber(ifd, TAG.ResolutionUnit, 2),
        x.resolution_unit,
        `${what} ResolutionUnit`,
      );
      // Stripped pages (thumbnail, label, macro) keep their data in strips.
      const tiled = ifd.tags.has(TAG.TileWidth);
      const offset = getTagNumbers(ifd, tiled ? TAG.TileOffsets : TAG.StripOffsets)[0];
      const count = getTagNumbers(ifd, tiled ? TAG.TileByteCounts : TAG.StripByteCounts)[0];
      const jpeg = getTagNumber(ifd, TAG.Compression) === 7;
      const expectedEffective = x.ycbcr_subsampling_effective !== undefined
        ? x.ycbcr_subsampling_effective
        : x.effective_subsampling;
      if (x.first_tile_jpeg === null || !jpeg) {
        // first_tile_jpeg is null for a non-JPEG page.
        assert.equal(x.first_tile_jpeg ?? null, jpeg ? "a first tile" : null, `${what} first tile`);
        assert.equal(expectedEffective ?? null, null, `${what} effective subsampling`);
      } else {
        const tile = jpegMarkers(await source.read(offset, count));
        assert.deepEqual(tile.markers, x.first_tile_jpeg.markers, `${what} first tile markers`);
        assert.deepEqual(
          tile.components,
          x.first_tile_jpeg.components,
          `${what} first tile sampling`,
        );
        assert.equal(tile.adobe, x.first_tile_jpeg.adobe_app14, `${what} Adobe APP14`);
        assert.equal(tile.jfif, x.first_tile_jpeg.jfif_app0, `${what} JFIF APP0`);
        const effective = tile.components[0] ? [tile.components[0].h, tile.components[0].v] : null;
        // null unless the tiles are YCbCr (photometric 6).
        if (expectedEffective === null) {
          assert.notEqual(x.photometric, 6, `${what} effective subsampling of YCbCr tiles`);
        } else {
          assert.deepEqual(effective, expectedEffective, `${what} effective subsampling`);
        }
      }
    }
  } finally {
    source.close();
  }
  const tol = e.jpeg_decoder_tolerance;
  const slide = await openSlide(path);
  try {
    assert.equal(slide.levels.length, e.levels.length, "level count");
    if (e.associated_images !== undefined) {
      const names = (e.associated_images as Json[]).map((a) => typeof a === "string" ? a : a.name);
      assert.deepEqual(
        slide.associated.map((a) => a.name).sort(),
        [...names].sort(),
        "associated_images",
      );
    }
    for (const x of e.levels) {
      const lv = slide.levels[x.level];
      const what = `level ${x.level}`;
      assert.deepEqual([lv.ifd, lv.width, lv.height, lv.tilesAcross, lv.tilesDown], [
        x.ifd,
        x.width,
        x.height,
        x.tiles_across,
        x.tiles_down,
      ], what);
      close(lv.downsample, x.downsample, `${what} downsample`);
      const sums = [0, 0, 0];
      for (let row = 0; row < lv.tilesDown; row++) {
        for (let col = 0; col < lv.tilesAcross; col++) {
          const x0 = col * lv.tileWidth;
          const y0 = row * lv.tileHeight;
          const w = Math.min(lv.tileWidth, lv.width - x0);
          const h = Math.min(lv.tileHeight, lv.height - y0);
          const region = await slide.readRegion({
            level: x.level,
            x: x0,
            y: y0,
            width: w,
            height: h,
          });
          const t = [0, 0, 0];
          for (let i = 0; i < w * h; i++) {
            for (let c = 0; c < 3; c++) t[c] += region.data[i * 3 + c];
          }
          for (let c = 0; c < 3; c++) {
            sums[c] += t[c];
            close(
              t[c] / (w * h),
              x.tile_mean_rgb[row][col][c],
              `${what} tile [${col}, ${row}] mean`,
              0,
              tol.tile_mean_rgb_max_abs,
            );
          }
          // the tissue fraction comes from the painting mask; check its sign only
          const tissue = x.tissue_fraction_per_tile[row][col];
          const meanG = t[1] / (w * h);
          if (tissue === 0) assert.ok(meanG > 240, `${what} tile [${col}, ${row}] is background`);
          if (tissue >= 0.9) assert.ok(meanG < 200, `${what} tile [${col}, ${row}] is tissue`);
        }
      }
      for (let c = 0; c < 3; c++) {
        close(
          sums[c] / (lv.width * lv.height),
          x.mean_rgb[c],
          `${what} mean rgb`,
          0,
          tol.tile_mean_rgb_max_abs,
        );
      }
      for (const s of x.samples) {
        const r = await slide.readRegion({ level: x.level, x: s.x, y: s.y, width: 1, height: 1 });
        closeAll(
          r.data,
          s.rgb,
          `${what} ${s.kind} sample (${s.x}, ${s.y})`,
          0,
          tol.sample_rgb_max_abs,
        );
      }
    }
    const roi = e.roi;
    assert.equal(
      slide.levels[0].tilesAcross * slide.levels[0].tilesDown,
      roi.n_tiles_total,
      "n_tiles_total",
    );
    // Tile sizes need not be 256.
    const tw = slide.levels[0].tileWidth;
    const th = slide.levels[0].tileHeight;
    const tileMean = async (col: number, row: number) => {
      const lv = slide.levels[0];
      const w = Math.min(tw, lv.width - col * tw);
      const h = Math.min(th, lv.height - row * th);
      const r = await slide.readRegion({
        level: 0,
        x: col * tw,
        y: row * th,
        width: w,
        height: h,
      });
      return stats(r.data.filter((_, i) => i % 3 === 1)).mean;
    };
    for (const [col, row] of roi["tissue_tiles_fraction_ge_0.9"]) {
      assert.ok(await tileMean(col, row) < 200, `ROI tissue tile [${col}, ${row}]`);
    }
    for (const [col, row] of roi.background_tiles_fraction_0) {
      assert.ok(await tileMean(col, row) > 240, `ROI background tile [${col}, ${row}]`);
    }
    const fractions = e.levels[0].tissue_fraction_per_tile.flat();
    assert.equal(
      fractions.filter((f: number) => f > 0).length,
      roi.n_tiles_with_tissue_gt_0,
      "n_tiles_with_tissue_gt_0",
    );
    const w0 = slide.levels[0];
    let weighted = 0;
    e.levels[0].tissue_fraction_per_tile.forEach((r: number[], row: number) =>
      r.forEach((f, col) => {
        weighted += f * Math.min(tw, w0.width - col * tw) * Math.min(th, w0.height - row * th);
      })
    );
    close(
      weighted / (w0.width * w0.height),
      roi.tissue_fraction_level0_total,
      "tissue_fraction_level0_total",
      0,
      1e-3,
    );
    assert.equal(roi.coordinate_convention.startsWith("tile [col, row]"), true);
    assert.equal(typeof roi.tissue_definition, "string");
  } finally {
    slide.close();
  }
}

// ----------------------------------------------------------------- PNG/JPEG --

async function checkRaster(e: Json): Promise<void> {
  await checkFile(e);
  const image = await readImage(DIR + e.path);
  assert.equal(image.format, e.format, "format");
  assert.deepEqual([image.width, image.height], e.size_wh, "size_wh");
  const channels = image.channels;
  /** The decoded channels of pixel `[row, col]` (pixel offset `(row * width + col) * channels`). */
  const pixel = (index: number[]) => {
    const at = (index[0] * image.width + index[1]) * channels;
    return Array.from(image.data.subarray(at, at + channels));
  };
  /** A sample value: a number for grey, a list per channel for colour. */
  const expectPixel = (index: number[], value: number | number[], atol: number, what: string) => {
    const got = pixel(index);
    const want = Array.isArray(value) ? value : [value];
    assert.equal(got.length, want.length, `${what} channels`);
    want.forEach((v, c) => close(got[c], v, `${what}[${c}]`, 0, atol));
  };
  if (e.mode === "P") {
    // The manifest describes the raw palette-index array; medprobe returns
    // what the palette maps to: check that against after_palette_lookup_*.
    assert.deepEqual(e.array_shape, [image.height, image.width], "array_shape (indices)");
    assert.equal(e.array_dtype, "uint8", "array_dtype (indices)");
    assert.equal(image.format, "png");
    assert.equal(image.sourceColor, e.png_color_type ?? 3, "png_color_type");
    if (e.png_bit_depth !== undefined) {
      assert.equal(image.bitDepth, e.png_bit_depth, "png_bit_depth");
    }
    void e.sha256_le_row_major, e.sum, e.sum_exact, e.min, e.max, e.mean, e.samples; // of the indices
    void e.png_interlace;
    const gray = e.after_palette_lookup_gray;
    for (const s of (e.after_palette_lookup_samples ?? []) as Json[]) {
      const got = pixel(s.index);
      const want: number[] = Array.isArray(s.value) ? s.value : [s.value];
      if (gray === true && want.length === 1) {
        assert.ok(got.slice(0, 3).every((v) => v === want[0]), `palette [${s.index}] grey ${got}`);
      } else {
        want.forEach((v, c) => assert.equal(got[c], v, `palette [${s.index}][${c}]`));
      }
    }
    if (typeof gray === "boolean" && channels >= 3) {
      let grey = true;
      for (let i = 0; i < image.data.length && grey; i += channels) {
        grey = image.data[i] === image.data[i + 1] && image.data[i] === image.data[i + 2];
      }
      assert.equal(grey, gray, "after_palette_lookup_gray");
    }
    return;
  }
  assert.deepEqual(
    channels === 1 ? [image.height, image.width] : [image.height, image.width, channels],
    e.array_shape,
    "array_shape",
  );
  assert.equal(
    image.data instanceof Uint16Array ? "uint16" : "uint8",
    e.array_dtype,
    "array_dtype",
  );
  assert.equal(
    ({ L: 1, I: 1, "I;16": 1, LA: 2, RGB: 3, RGBA: 4 } as Record<string, number>)[e.mode],
    channels,
    "mode",
  );
  if (e.format === "png") {
    assert.equal(image.bitDepth, e.png_bit_depth, "png_bit_depth");
    assert.equal(image.sourceColor, e.png_color_type, "png_color_type");
    assert.equal(image.interlaced ? 1 : 0, e.png_interlace, "png_interlace");
    assert.equal(await sha256(image.data), e.sha256_le_row_major, "sha256");
    checkStats(stats(image.data), e, "pixels", true);
    for (const s of e.samples) expectPixel(s.index, s.value, 0, `[${s.index}]`);
  } else {
    assert.equal(image.interlaced, e.jpeg_progressive, "jpeg_progressive");
    assert.equal(image.sourceColor, e.jpeg_components, "jpeg_components");
    const tol = e.jpeg_decoder_tolerance;
    const s = stats(image.data);
    close(s.mean, e.mean, "mean (JPEG)", 0, tol.mean_abs);
    close(s.sum / image.data.length, e.sum / image.data.length, "sum (JPEG)", 0, tol.mean_abs);
    void e.sum_exact; // exact only for the reference decoder
    close(s.min, e.min, "min (JPEG)", 0, tol.max_abs);
    close(s.max, e.max, "max (JPEG)", 0, tol.max_abs);
    for (const smp of e.samples) expectPixel(smp.index, smp.value, tol.max_abs, `[${smp.index}]`);
  }
}

// --------------------------------------------------------------------- CSV --

async function checkCsv(e: Json): Promise<void> {
  await checkFile(e);
  const path = DIR + e.path;
  const text = await Deno.readTextFile(path);
  if (e.line_ending) {
    assert.equal(text.includes("\r\n") ? "CRLF" : "LF", e.line_ending, "line_ending");
  }
  const table = parseCsv(text, path);
  assert.equal(table.rows.length, e.n_rows, "n_rows");
  if (e.header_fields_as_parsed) {
    assert.deepEqual(table.columns, e.header_fields_as_parsed, "header fields");
    assert.equal(table.columns.length, e.n_header_fields, "n_header_fields");
    const rows = parseNihDataEntry(text, path);
    const classes = e.label_classes as string[];
    const counts: Record<string, number> = Object.fromEntries(
      [...classes, "No Finding"].map((c) => [c, 0]),
    );
    for (const r of rows) for (const l of r.findingLabels) counts[l]++;
    assert.deepEqual(counts, e.label_counts, "label_counts");
    assert.equal(
      rows.filter((r) => r.findingLabels.length > 1).length,
      e.rows_with_multiple_labels,
    );
    e.first_rows_parsed.forEach((x: Json, i: number) => {
      const r = rows[i];
      assert.deepEqual(
        [r.imageIndex, r.findingLabels, r.patientId, r.patientAge, r.followUp, r.viewPosition],
        [
          x["Image Index"],
          x.labels,
          x["Patient ID"],
          x["Patient Age"],
          x["Follow-up #"],
          x["View Position"],
        ],
        `row ${i}`,
      );
      const target = classes.map((c) => (x.labels.includes(c) ? 1 : 0));
      assert.deepEqual([...r.target], target, `row ${i} target`);
    });
  } else if (e.volume_names) {
    assert.deepEqual(table.columns, e.columns, "columns");
    const rows = parseCtRateLabels(text, path);
    assert.deepEqual(rows.map((r) => r.volumeName), e.volume_names, "volume_names");
    const positives = Object.fromEntries(
      (e.columns as string[]).slice(1).map((
        c,
        k,
      ) => [c, rows.reduce((n, r) => n + r.target[k], 0)]),
    );
    assert.deepEqual(positives, e.positives_per_label, "positives_per_label");
  } else if (e.parsed) {
    assert.deepEqual(table.columns, e.columns, "columns");
    const rows = parseCtRateMetadata(text, path);
    for (const [name, x] of Object.entries(e.parsed as Record<string, Json>)) {
      const r = rows.find((row) => row.volumeName === name);
      assert.ok(r, `row ${name}`);
      assert.deepEqual(
        {
          Rows: r.rows,
          XYSpacing: r.xySpacing,
          ZSpacing: r.zSpacing,
          RescaleIntercept: r.rescaleIntercept,
          RescaleSlope: r.rescaleSlope,
        },
        x,
        `row ${name}`,
      );
    }
  } else {
    throw new Error(
      `csv entry ${e.path} is none of the known tables (NIH Data_Entry, CT-RATE labels, CT-RATE metadata)`,
    );
  }
}

// ------------------------------------------------------------------ the suite --

const CHECKERS: Record<string, (e: Json) => Promise<void>> = {
  nifti1: checkNifti,
  nifti2: checkNifti,
  dicom: checkDicom,
  "dicom-series": checkDicomSeries,
  hdf5: checkHdf5,
  tiff: checkTiffStack,
  "tiff-wsi": checkWsi,
  png: checkRaster,
  jpeg: checkRaster,
  csv: checkCsv,
};

Deno.test("format manifest is version 1 and lists files", () => {
  assert.equal(manifest.manifest_version, 1);
  assert.ok(Array.isArray(manifest.files) && manifest.files.length > 0);
  assert.equal(typeof manifest.conventions, "object");
});

for (const entry of manifest.files as Json[]) {
  Deno.test(`format fixture ${entry.path} (${entry.format}) reads as the manifest says`, async () => {
    const check = CHECKERS[entry.format];
    if (!check) {
      throw new Error(
        `Cannot check ${entry.path} as its format "${entry.format}" has no checker: known formats are ${
          Object.keys(CHECKERS).join(", ")
        }`,
      );
    }
    const { e, unread } = tracked(entry);
    await check(e);
    assert.deepEqual(unread(), [], `manifest keys of ${entry.path} that no check read`);
  });
}

Deno.test({
  name: "format fixtures suite fails loudly on an entry of an unknown format",
  ignore: Deno.env.get("MEDPROBE_FORMAT_FIXTURES_SELFTEST") === "1",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe_manifest_" });
    try {
      await Deno.writeTextFile(
        `${dir}/manifest.json`,
        JSON.stringify({
          manifest_version: 1,
          conventions: {},
          files: [{ path: "x.bin", format: "mystery" }],
        }),
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["test", "-A", "--no-check", new URL(import.meta.url).pathname],
        env: {
          MEDPROBE_FORMAT_FIXTURES: dir,
          MEDPROBE_FORMAT_FIXTURES_SELFTEST: "1",
          NO_COLOR: "1",
        },
        stdout: "piped",
        stderr: "piped",
      });
      const { code, stdout, stderr } = await child.output();
      const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.notEqual(code, 0, "the suite must fail");
      assert.match(text, /format "mystery" has no checker/);
      assert.match(text, /1 passed \| 1 failed/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

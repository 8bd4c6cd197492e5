/**
 * The format-fixture harness (`format_fixtures_test.ts`) against a fixture
 * set that uses the manifest keys `fixtures/formats/README.md` documents
 * beyond the ones the shipped set uses: a DICOM data set without preamble
 * and File Meta group (transfer syntax given as a description, optional
 * attributes left out), a NIfTI with qform_code and sform_code 0
 * (`affine_source: "base"`, `affine_nifti_method1`, `affine_note`), a
 * numpy-style HDF5 dtype, and an RGB PNG whose samples are lists per
 * channel. Expected values come from the shipped manifest (pydicom, nibabel,
 * h5py) or from the pixels written; the harness must accept the set, and
 * must fail once one value is wrong.
 */
import assert from "node:assert/strict";
import { encodePng } from "../plugins/formats/mod.ts";

const SHIPPED = new URL("../fixtures/formats/", import.meta.url).pathname;
const HARNESS = new URL("./format_fixtures_test.ts", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type Json = any;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The implicit-VR data set of a Part-10 file, without preamble, File Meta group and `drop` tags. */
function bareDataSet(file: Uint8Array, drop: readonly number[]): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  let at = 132;
  while (view.getUint16(at, true) === 0x0002) {
    const vr = String.fromCharCode(file[at + 4], file[at + 5]);
    at += ["OB", "OW", "SQ", "UN", "UT"].includes(vr)
      ? 12 + view.getUint32(at + 8, true)
      : 8 + view.getUint16(at + 6, true);
  }
  const parts: Uint8Array[] = [];
  while (at + 8 <= file.length) {
    const tag = (view.getUint16(at, true) << 16) | view.getUint16(at + 2, true);
    const length = view.getUint32(at + 4, true);
    if (length === 0xffffffff) {
      parts.push(file.subarray(at));
      break;
    }
    if (!drop.includes(tag >>> 0)) parts.push(file.subarray(at, at + 8 + length));
    at += 8 + length;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function writeEntry(dir: string, entry: Json, bytes: Uint8Array): Promise<Json> {
  const path = `${dir}/${entry.path}`;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, bytes);
  return { ...entry, file_size: bytes.length, file_sha256: await sha256(bytes) };
}

async function buildVariantSet(dir: string): Promise<Json> {
  const shipped = JSON.parse(await Deno.readTextFile(`${SHIPPED}manifest.json`));
  const byPath = (p: string) => structuredClone(shipped.files.find((f: Json) => f.path === p));
  const files: Json[] = [];

  // DICOM without preamble / File Meta group, SOP Class, Modality,
  // Samples per Pixel and High Bit removed from the data set.
  const cr = byPath("dicom/cxr_mono1_implicit_le.dcm");
  const bare = bareDataSet(
    await Deno.readFile(`${SHIPPED}${cr.path}`),
    [0x00080016, 0x00080060, 0x00280002, 0x00280102],
  );
  for (const key of ["sop_class_uid", "modality", "samples_per_pixel", "high_bit"]) delete cr[key];
  files.push(
    await writeEntry(dir, {
      ...cr,
      path: "dicom/cr_no_meta_group.dcm",
      has_preamble_and_DICM: false,
      transfer_syntax: "implicit VR little endian, no meta group",
    }, bare),
  );

  // NIfTI with qform_code 0 (sform_code is already 0): "base" geometry.
  const mr = byPath("nifti/mr_oblique_qform_only.nii");
  const nii = (await Deno.readFile(`${SHIPPED}${mr.path}`)).slice();
  new DataView(nii.buffer).setInt16(252, 0, true);
  const [nx, ny, nz] = mr.shape;
  const [px, py, pz] = mr.zooms;
  files.push(
    await writeEntry(dir, {
      ...mr,
      path: "nifti/mr_no_geometry.nii",
      header: { ...mr.header, qform_code: 0 },
      affine_source: "base",
      // nibabel's default: centred, x flipped.
      affine: [
        [-px, 0, 0, ((nx - 1) / 2) * px],
        [0, py, 0, -((ny - 1) / 2) * py],
        [0, 0, pz, -((nz - 1) / 2) * pz],
        [0, 0, 0, 1],
      ],
      orientation: "LAS",
      affine_nifti_method1: [[px, 0, 0, 0], [0, py, 0, 0], [0, 0, pz, 0], [0, 0, 0, 1]],
      affine_note: "no qform or sform: method 1 (voxel sizes only) or nibabel's centred default",
    }, nii),
  );

  // HDF5 with numpy-style dtypes.
  const h5 = byPath("hdf5/cremi_sample.hdf");
  h5.datasets["volumes/affinities"].dtype = "<f4";
  h5.datasets["volumes/raw"].dtype = "|u1";
  files.push(await writeEntry(dir, h5, await Deno.readFile(`${SHIPPED}${h5.path}`)));

  // RGB PNG, samples as a list per channel.
  const width = 5;
  const height = 3;
  const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256);
  let sum = 0;
  for (const v of rgb) sum += v;
  files.push(
    await writeEntry(dir, {
      path: "raster/rgb.png",
      format: "png",
      size_wh: [width, height],
      array_shape: [height, width, 3],
      array_dtype: "uint8",
      mode: "RGB",
      png_bit_depth: 8,
      png_color_type: 2,
      png_interlace: 0,
      sha256_le_row_major: await sha256(rgb),
      sum,
      sum_exact: sum,
      min: Math.min(...rgb),
      max: Math.max(...rgb),
      mean: sum / rgb.length,
      samples: [{
        index: [1, 2],
        value: [...rgb.subarray((1 * width + 2) * 3, (1 * width + 3) * 3)],
      }],
    }, encodePng({ data: rgb, width, height, channels: 3 })),
  );
  return { manifest_version: 1, conventions: shipped.conventions, files };
}

async function runHarness(dir: string): Promise<{ success: boolean; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", HARNESS],
    env: { MEDPROBE_FORMAT_FIXTURES: dir, MEDPROBE_FORMAT_FIXTURES_SELFTEST: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { success: out.success, text };
}

Deno.test("the format-fixture harness accepts every documented manifest key and fails only on a wrong value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_fixture_variants_" });
  try {
    const manifest = await buildVariantSet(dir);
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
    const good = await runHarness(dir);
    assert.ok(good.success, good.text.slice(-4000));
    assert.match(good.text, /ok \| 5 passed \| 0 failed/);

    const wrong = structuredClone(manifest);
    wrong.files[0].rows += 1; // the DICOM
    wrong.files[3].samples[0].value[2] += 1; // one channel of one PNG pixel
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(wrong));
    const bad = await runHarness(dir);
    assert.equal(bad.success, false);
    assert.match(bad.text, /rows/);
    assert.match(bad.text, /\[1,2\]\[2\]/);
    assert.match(bad.text, /3 passed \| 2 failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

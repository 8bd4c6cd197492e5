import assert from "node:assert/strict";
import type { Volume } from "../../../core/plugin.ts";
import {
  countSlices,
  extractSlice,
  invertAffine,
  parseSliceAxis,
  readPcaInput,
  readPetBeside,
  resliceOnto,
  windowToUnit,
} from "./pca_input.ts";
import { readTiffStack, writeNifti } from "../../formats/mod.ts";

const FORMATS = new URL("../../../fixtures/formats/", import.meta.url).pathname;

/** A [D, H, W] volume whose voxel value encodes its index: 100 z + 10 y + x. */
function indexVolume(D: number, H: number, W: number, spacing: [number, number, number]): Volume {
  const data = new Float32Array(D * H * W);
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) data[(z * H + y) * W + x] = 100 * z + 10 * y + x;
    }
  }
  return { kind: "volume", data, shape: [D, H, W], spacingMm: spacing };
}

Deno.test("extractSlice() takes z, y and x slices, the end of z at the top", () => {
  const v = indexVolume(3, 2, 4, [2, 1, 0.5]);
  const z = extractSlice(v, "z", 1);
  assert.deepEqual([z.rows, z.cols, z.spacing], [2, 4, [1, 0.5]]);
  assert.deepEqual([...z.data], [100, 101, 102, 103, 110, 111, 112, 113]);
  const y = extractSlice(v, "y", 1);
  assert.deepEqual([y.rows, y.cols, y.spacing], [3, 4, [2, 0.5]]);
  assert.deepEqual([...y.data.slice(0, 4)], [210, 211, 212, 213]); // top row = last z
  assert.deepEqual([...y.data.slice(8)], [10, 11, 12, 13]);
  const x = extractSlice(v, "x", 2);
  assert.deepEqual([x.rows, x.cols, x.spacing], [3, 2, [2, 1]]);
  assert.deepEqual([...x.data], [202, 212, 102, 112, 2, 12]);
  assert.equal(countSlices(v, "x"), 4);
  assert.throws(() => extractSlice(v, "z", 3), /slice must be an integer in \[0, 2\] along z/);
  assert.throws(() => extractSlice(v, "z", 0, 1), /channel must be|must be an integer in \[0, 0\]/);
  assert.equal(parseSliceAxis("sagittal"), "x");
});

Deno.test("windowToUnit() maps a window or the 0.5–99.5th percentiles to [0, 1]", () => {
  assert.deepEqual([...windowToUnit(new Float32Array([-200, -160, 40, 240, 999]), [-160, 240])], [
    0,
    0,
    0.5,
    1,
    1,
  ]);
  const ramp = Float32Array.from({ length: 1001 }, (_, i) => i);
  const unit = windowToUnit(ramp);
  assert.equal(unit[0], 0);
  assert.equal(unit[1000], 1);
  assert.ok(Math.abs(unit[500] - 0.5) < 1e-6);
  assert.throws(() => windowToUnit(ramp, [1, 1]), RangeError);
});

Deno.test("resliceOnto() samples a PET on the CT's plane through both affines", () => {
  // CT: 1 mm voxels, 8×8×8 from world (0, 0, 0). PET: 2 mm voxels, 6×6×6 from world (-2, -2, -2),
  // values linear in world coordinates (trilinear interpolation reproduces them exactly).
  const ct: Volume = {
    kind: "volume",
    data: new Float32Array(512),
    shape: [8, 8, 8],
    spacingMm: [1, 1, 1],
    affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
  };
  const world = (x: number, y: number, z: number) => 3 * x + 5 * y + 7 * z + 1;
  const pet: Volume = {
    kind: "volume",
    data: new Float32Array(216),
    shape: [6, 6, 6],
    spacingMm: [2, 2, 2],
    affine: [2, 0, 0, -2, 0, 2, 0, -2, 0, 0, 2, -2, 0, 0, 0, 1],
  };
  for (let k = 0; k < 6; k++) {
    for (let j = 0; j < 6; j++) {
      for (let i = 0; i < 6; i++) {
        pet.data[(k * 6 + j) * 6 + i] = world(2 * i - 2, 2 * j - 2, 2 * k - 2);
      }
    }
  }
  const z = resliceOnto(pet, ct, "z", 3);
  assert.equal(z.inside, 64);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(z.data[r * 8 + c] - world(c, r, 3)) < 1e-4);
  }
  const y = resliceOnto(pet, ct, "y", 5);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(y.data[r * 8 + c] - world(c, 5, 7 - r)) < 1e-4);
  }
  // Far away: nothing inside.
  const far = { ...pet, affine: [2, 0, 0, 500, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1] };
  assert.equal(resliceOnto(far, ct, "z", 3).inside, 0);
  const inv = invertAffine(pet.affine!);
  assert.deepEqual(inv.map((x) => Math.round(x * 1000) / 1000), [
    0.5,
    0,
    0,
    1,
    0,
    0.5,
    0,
    1,
    0,
    0,
    0.5,
    1,
    0,
    0,
    0,
    1,
  ]);
});

Deno.test("readPcaInput() reads NIfTI, DICOM series, TIFF stacks and HDF5 at a chosen slice and axis", async () => {
  // NIfTI CT (20 slices of 56×64 at 0.8 mm, 3 mm apart): the middle axial slice by default.
  const nii = await readPcaInput(`${FORMATS}nifti/ct_int16_scl_lps.nii.gz`, {
    window: [-160, 240],
  });
  assert.equal(nii.description, "NIfTI, z slice 10 of 20");
  assert.deepEqual([nii.image.height, nii.image.width], [56, 64]);
  assert.ok((nii.image.data as Float32Array).every((v) => v >= 0 && v <= 1));
  // Coronal: rows along z, resampled to the physical aspect (20 slices × 3 mm / 0.8 mm = 75 rows).
  const cor = await readPcaInput(`${FORMATS}nifti/ct_int16_scl_lps.nii.gz`, {
    axis: "y",
    slice: 28,
  });
  assert.equal(cor.description, "NIfTI, y slice 28 of 56");
  assert.deepEqual([cor.image.height, cor.image.width], [75, 64]);
  await assert.rejects(
    readPcaInput(`${FORMATS}nifti/ct_int16_scl_lps.nii.gz`, { slice: 20 }),
    /slice must be an integer in \[0, 19\] along z/,
  );
  // DICOM series: a folder.
  const dcm = await readPcaInput(`${FORMATS}dicom/ct_series`, { slice: 1 });
  assert.equal(dcm.description, "DICOM series, z slice 1 of 5");
  assert.deepEqual([dcm.image.height, dcm.image.width], [64, 64]);
  // TIFF stack: slice 3 is page 3, percentile-scaled.
  const tif = await readPcaInput(`${FORMATS}tiff/em_stack_uint8.tif`, { slice: 3 });
  assert.equal(tif.description, "TIFF stack, z slice 3 of 16");
  const stack = await readTiffStack(`${FORMATS}tiff/em_stack_uint8.tif`);
  const page = Float32Array.from(stack.data.slice(3 * 128 * 128, 4 * 128 * 128) as Uint8Array);
  assert.deepEqual([...tif.image.data as Float32Array], [...windowToUnit(page)]);
  // HDF5 (CREMI): volumes/raw by default; an x slice keeps the 40 nm : 4 nm aspect (10 → 100 rows).
  const h5 = await readPcaInput(`${FORMATS}hdf5/cremi_sample.hdf`, { axis: "x" });
  assert.equal(h5.description, "HDF5, x slice 32 of 64");
  assert.deepEqual([h5.image.height, h5.image.width], [100, 64]);
  await assert.rejects(
    readPcaInput(`${FORMATS}hdf5/cremi_sample.hdf`, { dataset: "volumes/none" }),
    /HDF5 dataset "volumes\/none" as it does not exist/,
  );
  // 2D files pass through.
  const png = await readPcaInput(`${FORMATS}dicom/cxr_mono2_explicit_le.dcm`);
  assert.equal(png.description, "DICOM image");
  assert.equal(png.volume, undefined);
});

Deno.test("readPetBeside() puts a PET of the same case on the CT's slice, and refuses one elsewhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_petct_" });
  try {
    // CT 32×32×8 at 1 mm; PET 16×16×4 at 2 mm over the same extent, with a hot cube.
    const ctData = new Float32Array(8 * 32 * 32).fill(40);
    await writeNifti(`${dir}/ct.nii.gz`, ctData, {
      shape: [32, 32, 8],
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    });
    const petData = new Float32Array(4 * 16 * 16).fill(1);
    for (let k = 1; k < 3; k++) {
      for (let j = 4; j < 8; j++) for (let i = 10; i < 14; i++) petData[(k * 16 + j) * 16 + i] = 12;
    }
    await writeNifti(`${dir}/pet.nii.gz`, petData, {
      shape: [16, 16, 4],
      affine: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1],
    });
    const ct = await readPcaInput(`${dir}/ct.nii.gz`, { slice: 3 });
    const pet = await readPetBeside(`${dir}/pet.nii.gz`, ct, { window: [0, 12] });
    assert.equal(pet.description, "PET resliced onto z slice 3 of the CT");
    assert.deepEqual([pet.image.height, pet.image.width], [32, 32]);
    const px = (r: number, c: number) => (pet.image.data as Float32Array)[r * 32 + c];
    assert.ok(px(12, 24) > 0.99, `hot cube at CT pixel (12, 24): ${px(12, 24)}`);
    assert.ok(px(28, 4) < 0.1, `background: ${px(28, 4)}`);
    // A PET elsewhere in the world is refused, not shown black.
    await writeNifti(`${dir}/far.nii.gz`, petData, {
      shape: [16, 16, 4],
      affine: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 400, 0, 0, 0, 1],
    });
    await assert.rejects(readPetBeside(`${dir}/far.nii.gz`, ct), /must overlap the CT's z slice 3/);
    const flat = await readPcaInput(`${FORMATS}dicom/cxr_mono2_explicit_le.dcm`);
    await assert.rejects(readPetBeside(`${dir}/pet.nii.gz`, flat), /first input must be a volume/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

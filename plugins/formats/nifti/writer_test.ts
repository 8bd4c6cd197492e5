import assert from "node:assert/strict";
import { encodeNifti, encodeNiftiLike, writeNifti, writeNiftiLike } from "./writer.ts";
import { parseNifti, readNifti, reorientNiftiToCanonical } from "./reader.ts";
import { fixture, withTempDir } from "../_testing.ts";
import type { Mat4 } from "./affine.ts";

const f32 = (x: number) => Math.fround(x);

function maxAbsDiff(a: Mat4, b: Mat4): number {
  let d = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) d = Math.max(d, Math.abs(a[i][j] - b[i][j]));
  }
  return d;
}

Deno.test("writeNiftiLike() writes a uint8 label map aligned with its LPS CT (.nii.gz round trip)", async () => {
  const ct = await readNifti(fixture("nifti/ct_int16_scl_lps.nii.gz"));
  const labels = new Uint8Array(ct.data.length);
  for (let i = 0; i < labels.length; i++) {
    labels[i] = ct.data[i] > 1100 ? 2 : ct.data[i] > 500 ? 1 : 0;
  }
  await withTempDir(async (dir) => {
    const path = `${dir}/mask.nii.gz`;
    await writeNiftiLike(path, labels, ct, { description: "predicted mask" });
    const back = await readNifti(path);
    assert.deepEqual(back.shape, ct.shape);
    assert.equal(back.datatype, "uint8");
    assert.deepEqual([...back.data], [...labels]);
    assert.equal(back.scaling, null);
    assert.equal(back.orientation, "LPS");
    assert.equal(back.header.description, "predicted mask");
    assert.ok(maxAbsDiff(back.affine, ct.affine) === 0, "sform is the source affine (float32)");
    assert.ok(maxAbsDiff(back.qformAffine, ct.affine) < 1e-5, "qform agrees with the sform");
    assert.deepEqual(back.spacing, ct.spacing);
    const bytes = await Deno.readFile(path);
    assert.equal(bytes[0], 0x1f, "gzipped");
  });
});

Deno.test("writeNiftiLike() keeps an oblique qfac -1 geometry in both sform and qform", async () => {
  const mr = await readNifti(fixture("nifti/mr_oblique_qform_only.nii"));
  const prob = new Float32Array(mr.data.length).map((_, i) => (i % 97) / 97);
  const bytes = encodeNiftiLike(prob, mr);
  const back = parseNifti(bytes, "prob.nii");
  assert.equal(back.datatype, "float32");
  assert.deepEqual([...back.data], [...prob]);
  assert.equal(back.header.pixdim[0], -1, "qfac");
  assert.equal(back.orientation, "RAI");
  assert.ok(maxAbsDiff(back.affine, mr.affine) < 1e-6);
  assert.ok(maxAbsDiff(back.qformAffine, mr.affine) < 1e-5);
});

Deno.test("writeNiftiLike() on a reoriented source writes the canonical grid", async () => {
  const ct = reorientNiftiToCanonical(await readNifti(fixture("nifti/ct_int16_scl_lps.nii.gz")));
  const back = parseNifti(
    encodeNiftiLike(ct.data, ct, { scaling: { slope: 1, inter: -1024 } }),
    "ras.nii",
  );
  assert.equal(back.orientation, "RAS");
  assert.deepEqual(back.scaling, { slope: 1, inter: -1024 });
  assert.ok(maxAbsDiff(back.affine, ct.affine) < 1e-4);
  assert.deepEqual([...back.data.subarray(0, 1000)], [...ct.data.subarray(0, 1000)]);
});

Deno.test("encodeNifti() converts to the requested datatype, 4D included", () => {
  const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const values = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]);
  for (const datatype of ["uint8", "int16", "uint16", "int32", "float64", "int64"] as const) {
    const img = parseNifti(encodeNifti(values, { shape: [2, 2, 1, 2], affine, datatype }), "t.nii");
    assert.equal(img.datatype, datatype);
    assert.deepEqual(img.shape, [2, 2, 1, 2]);
    assert.deepEqual([...img.data].map(Number), [...values]);
  }
  const big = new BigUint64Array([18446744073709551615n, 2n ** 53n + 1n]);
  const back = parseNifti(encodeNifti(big, { shape: [2], affine }), "u64.nii");
  assert.deepEqual([...back.data], [...big], "uint64 exact");
});

Deno.test("encodeNifti() refuses values its integer type cannot hold and mismatched shapes", () => {
  const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  assert.throws(
    () => encodeNifti(new Float32Array([0, 256]), { shape: [2], affine, datatype: "uint8" }),
    /uint8 needs integers in \[0, 255\]: value at index 1 is 256/,
  );
  assert.throws(
    () => encodeNifti(new Float32Array([0.5]), { shape: [1], affine, datatype: "int16" }),
    RangeError,
  );
  assert.throws(() => encodeNifti(new Uint8Array(3), { shape: [2, 2], affine }), TypeError);
  assert.throws(() => encodeNifti(new Uint8Array(1), { shape: [1], affine: [1, 2, 3] }), TypeError);
});

Deno.test("writeNifti() gzips by extension and stores scl fields", async () => {
  await withTempDir(async (dir) => {
    const affine = [2, 0, 0, -5, 0, 2, 0, -5, 0, 0, 2, -5, 0, 0, 0, 1];
    await writeNifti(`${dir}/a.nii`, new Int16Array([24, 1048]), {
      shape: [2, 1, 1],
      affine,
      sclSlope: 1,
      sclInter: -1024,
    });
    await writeNifti(`${dir}/a.nii.gz`, new Int16Array([24, 1048]), { shape: [2, 1, 1], affine });
    const plain = await Deno.readFile(`${dir}/a.nii`);
    assert.equal(plain.length, 352 + 4);
    const img = await readNifti(`${dir}/a.nii`);
    assert.deepEqual(img.scaling, { slope: 1, inter: -1024 });
    assert.equal((await Deno.readFile(`${dir}/a.nii.gz`))[0], 0x1f);
    assert.equal((await readNifti(`${dir}/a.nii.gz`)).scaling, null);
    assert.equal(f32(img.affine[0][3]), -5);
  });
});

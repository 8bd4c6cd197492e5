import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  convertNiftiToVolume,
  parseNifti,
  readNifti,
  reorientNiftiToCanonical,
  scaleNiftiData,
} from "./reader.ts";
import { assertFormatError, fixture, sha256Hex, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";
import type { Mat4 } from "./affine.ts";

const CT = fixture("nifti/ct_int16_scl_lps.nii.gz");
const MR = fixture("nifti/mr_oblique_qform_only.nii");
const BIG = fixture("nifti/thirdparty/nibabel_anatomical.nii");
const PET = fixture("nifti/pet_suv_float32_sform.nii.gz");
const BRAIN = fixture("nifti/brain_4ch_float32.nii.gz");
const NII2 = fixture("nifti/ct_nifti2_int16.nii");

function apply(m: Mat4, p: readonly number[]): number[] {
  return [0, 1, 2].map((r) => m[r][0] * p[0] + m[r][1] * p[1] + m[r][2] * p[2] + m[r][3]);
}

function assertClose(
  actual: readonly number[],
  expected: readonly number[],
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("readNifti() reads an int16 LPS CT with scl_slope/scl_inter", async () => {
  const ct = await readNifti(CT);
  assert.deepEqual(ct.shape, [64, 56, 20]);
  assert.equal(ct.datatype, "int16");
  assert.ok(ct.data instanceof Int16Array);
  assert.deepEqual(ct.scaling, { slope: 1, inter: -1024 });
  assert.equal(ct.orientation, "LPS");
  assert.equal(ct.affineSource, "sform");
  assertClose(ct.spacing, [0.8, 0.8, 3], 1e-6, "spacing");
  // index [32, 40, 16] = i + 64 * (j + 56 * k)
  assert.equal(ct.data[32 + 64 * (40 + 56 * 16)], 1756);
  const scaled = scaleNiftiData(ct);
  assert.equal(scaled[32 + 64 * (40 + 56 * 16)], 732);
  assert.equal(
    await sha256Hex(ct.data),
    "fc47acd820bc611688d10b7d7c74e0549cc65de5aa3cd4aa8b5a2cd4cd561a86",
  );
});

Deno.test("readNifti() byte-swaps a big-endian NIfTI-1 and parseNifti() leaves its input intact", async () => {
  const bytes = await readFileBytes(BIG);
  const before = await sha256Hex(bytes);
  const image = parseNifti(bytes, BIG);
  assert.equal(image.header.littleEndian, false);
  assert.equal(image.orientation, "LAS");
  assert.equal(image.data[0], 10712);
  assert.equal(image.data[16 + 33 * (20 + 41 * 12)], 11881);
  assert.equal(await sha256Hex(bytes), before, "input bytes unchanged");
  const fromDisk = await readNifti(BIG);
  assert.equal(await sha256Hex(fromDisk.data), await sha256Hex(image.data));
});

Deno.test("readNifti() decodes a qform-only oblique affine with qfac -1", async () => {
  const mr = await readNifti(MR);
  assert.equal(mr.affineSource, "qform");
  assert.equal(mr.header.sformCode, 0);
  assert.equal(mr.orientation, "RAI");
  const expected = [
    [0.891241239, 0.125255782, -4.92582124e-09, -15.8000002],
    [-0.120987794, 0.860872929, 1.0352762, -22.1000004],
    [-0.0324185833, 0.23067021, -3.8637033, 30.0],
    [0, 0, 0, 1],
  ];
  for (let r = 0; r < 4; r++) assertClose(mr.affine[r], expected[r], 1e-6, `affine row ${r}`);
  assert.equal(mr.scaling, null, "NaN slope means no scaling");
});

Deno.test("readNifti() reads data from vox_offset after a header extension", async () => {
  const pet = await readNifti(PET);
  assert.equal(pet.header.voxOffset, 432);
  assert.deepEqual(pet.header.extensions.map((e) => e.code), [6]);
  assert.equal(pet.header.qformCode, 0);
  assert.equal(pet.affineSource, "sform");
  assert.equal(pet.data[32 + 48 * (21 + 40 * 17)], 11.413174629211426);
});

Deno.test("readNifti() reads NIfTI-2 headers (64-bit dims, float64 fields)", async () => {
  const ct = await readNifti(NII2);
  assert.equal(ct.header.version, 2);
  assert.equal(ct.header.voxOffset, 544);
  assert.deepEqual(ct.shape, [40, 36, 10]);
  assert.deepEqual(ct.scaling, { slope: 1, inter: -1024 });
  assertClose(ct.affine[0], [0.7, 0, 0, -13.65], 1e-12, "affine row 0");
});

Deno.test("parseNifti() follows sform > qform > pixdim precedence and the scaling rules", async () => {
  const bytes = await readFileBytes(
    NII2.replace("ct_nifti2_int16.nii", "mr_oblique_qform_only.nii"),
  );
  const v = new DataView(bytes.buffer);
  // sform_code 0 and qform_code 0: pixdim fallback
  const none = bytes.slice();
  new DataView(none.buffer).setInt16(252, 0, true);
  const p = parseNifti(none, "none.nii");
  assert.equal(p.affineSource, "pixdim");
  assertClose(p.affine[0], [0.9, 0, 0, 0], 1e-6, "pixdim affine");
  // sform_code 2 with an explicit srow beats the qform
  const both = bytes.slice();
  const bv = new DataView(both.buffer);
  bv.setInt16(254, 2, true);
  const srow = [[-2, 0, 0, 10], [0, 2, 0, 20], [0, 0, 3, 30]];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) bv.setFloat32(280 + (r * 4 + c) * 4, srow[r][c], true);
  }
  const s = parseNifti(both, "both.nii");
  assert.equal(s.affineSource, "sform");
  assert.equal(s.orientation, "LAS");
  assert.equal(s.qformAffine[2][3], 30, "qform still decoded");
  // slope 0: no scaling; slope 2, inter NaN: inter counts as 0
  const zero = bytes.slice();
  new DataView(zero.buffer).setFloat32(112, 0, true);
  assert.equal(parseNifti(zero, "zero.nii").scaling, null);
  const two = bytes.slice();
  new DataView(two.buffer).setFloat32(112, 2, true);
  const scaled = parseNifti(two, "two.nii");
  assert.deepEqual(scaled.scaling, { slope: 2, inter: 0 });
  assert.equal(scaleNiftiData(scaled)[18 + 36 * (22 + 44 * 6)], 2 * 541);
  assert.equal(v.getInt16(254, true), 0, "fixture bytes untouched");
});

Deno.test("reorientNiftiToCanonical() keeps every voxel at its world position", async () => {
  for (const path of [CT, MR, BIG]) {
    const image = await readNifti(path);
    const ras = reorientNiftiToCanonical(image);
    assert.equal(ras.orientation, "RAS", path);
    const [ni, nj, nk] = ras.shape;
    const [oi, oj] = image.shape;
    const inv = invert(image.affine);
    for (
      const [i, j, k] of [[0, 0, 0], [ni - 1, 0, 0], [3, nj - 2, nk - 1], [ni - 1, nj - 1, nk - 1]]
    ) {
      const world = apply(ras.affine, [i, j, k]);
      const old = apply(inv, world).map((x) => Math.round(x));
      assert.equal(
        ras.data[i + ni * (j + nj * k)],
        image.data[old[0] + oi * (old[1] + oj * old[2])],
        `${path} voxel ${[i, j, k]}`,
      );
    }
    assert.deepEqual([...ras.spacing].sort(), [...image.spacing].sort());
  }
  const brain = await readNifti(BRAIN);
  assert.equal(reorientNiftiToCanonical(brain), brain, "RAS input is returned unchanged");
});

Deno.test("readNifti({ canonical: true }) flips an LPS CT to RAS", async () => {
  const ct = await readNifti(CT, { canonical: true });
  assert.equal(ct.orientation, "RAS");
  // old [32, 40, 16] → new [63 - 32, 55 - 40, 16]
  assert.equal(ct.data[31 + 64 * (15 + 56 * 16)], 1756);
  assert.ok(ct.affine[0][0] > 0 && ct.affine[1][1] > 0);
});

Deno.test("convertNiftiToVolume() gives [D, H, W], [z, y, x] spacing and channel-major 4D data", async () => {
  const brain = convertNiftiToVolume(await readNifti(BRAIN));
  assert.deepEqual(brain.shape, [30, 48, 40]);
  assert.equal(brain.channels, 4);
  const block = 30 * 48 * 40;
  const sums = [0, 0, 0, 0];
  for (let c = 0; c < 4; c++) for (let i = 0; i < block; i++) sums[c] += brain.data[c * block + i];
  const expected = [7183080.891716, 8947931.32516479, 9369471.10446167, 11772334.3417969];
  for (let c = 0; c < 4; c++) assert.ok(Math.abs(sums[c] / expected[c] - 1) < 1e-6, `channel ${c}`);
  const ct = convertNiftiToVolume(await readNifti(CT));
  assert.deepEqual(ct.spacingMm.map((x) => Math.round(x * 1e6) / 1e6), [3, 0.8, 0.8]);
  assert.equal(ct.affine?.length, 16);
});

function invert(m: Mat4): Mat4 {
  // 4x4 affine inverse: [R t; 0 1]^-1 = [R^-1, -R^-1 t]
  const r = [0, 1, 2].map((i) => [m[i][0], m[i][1], m[i][2]]);
  const d = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
    r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
    r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
  const c = (a: number, b: number) => {
    const rows = [0, 1, 2].filter((x) => x !== a);
    const cols = [0, 1, 2].filter((x) => x !== b);
    const minor = r[rows[0]][cols[0]] * r[rows[1]][cols[1]] -
      r[rows[0]][cols[1]] * r[rows[1]][cols[0]];
    return ((a + b) % 2 ? -1 : 1) * minor;
  };
  const inv = [0, 1, 2].map((i) => [0, 1, 2].map((j) => c(j, i) / d));
  const t = [0, 1, 2].map((i) =>
    -(inv[i][0] * m[0][3] + inv[i][1] * m[1][3] + inv[i][2] * m[2][3])
  );
  return [[...inv[0], t[0]], [...inv[1], t[1]], [...inv[2], t[2]], [0, 0, 0, 1]];
}

// ------------------------------------------------------------ bad input --

async function corrupt(
  dir: string,
  source: string,
  name: string,
  edit: (bytes: Uint8Array) => Uint8Array,
): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, edit((await readFileBytes(source)).slice()));
  return path;
}

Deno.test("readNifti() rejects a truncated .nii.gz with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, CT, "truncated.nii.gz", (b) => b.slice(0, b.length >> 1));
    await assertFormatError(() => readNifti(path), path, /gzip data as it is truncated or corrupt/);
  });
});

Deno.test("readNifti() rejects a corrupt gzip stream (bad CRC) with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, CT, "badcrc.nii.gz", (b) => {
      b[b.length - 6] ^= 0xff;
      return b;
    });
    await assertFormatError(() => readNifti(path), path, /gzip/);
  });
});

Deno.test("readNifti() rejects a wrong magic with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MR, "magic.nii", (b) => {
      b.set([0x6e, 0x2b, 0x39, 0], 344); // "n+9"
      return b;
    });
    await assertFormatError(() => readNifti(path), path, /magic must be "n\+1\\0"/);
  });
});

Deno.test("readNifti() rejects a wrong sizeof_hdr with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MR, "sizeof.nii", (b) => {
      new DataView(b.buffer).setInt32(0, 349, true);
      return b;
    });
    await assertFormatError(() => readNifti(path), path, /sizeof_hdr must be 348 or 540/);
  });
});

Deno.test("readNifti() rejects header dims that disagree with the data length", async () => {
  await withTempDir(async (dir) => {
    // dim[3] 12 → 13 in the uncompressed file
    const bigger = await corrupt(dir, MR, "dims.nii", (b) => {
      new DataView(b.buffer).setInt16(46, 13, true);
      return b;
    });
    await assertFormatError(
      () => readNifti(bigger),
      bigger,
      /dims \[36, 44, 13\] of int16 need 41184 bytes after vox_offset 352: the file holds 38016/,
    );
    // the same inside a valid gzip stream
    const raw = await readFileBytes(MR);
    new DataView(raw.buffer).setInt16(44, 45, true);
    const gz = `${dir}/dims.nii.gz`;
    await Deno.writeFile(gz, gzipSync(raw));
    await assertFormatError(() => readNifti(gz), gz, /dims \[36, 45, 12\]/);
    // and a .nii cut short
    const short = await corrupt(dir, MR, "short.nii", (b) => b.slice(0, b.length - 100));
    await assertFormatError(() => readNifti(short), short, /the file holds 37916/);
  });
});

Deno.test("readNifti() rejects an unsupported datatype with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = await corrupt(dir, MR, "complex.nii", (b) => {
      const v = new DataView(b.buffer);
      v.setInt16(70, 32, true);
      v.setInt16(72, 64, true);
      return b;
    });
    await assertFormatError(
      () => readNifti(path),
      path,
      /datatype 32 \(complex64\) is not supported/,
    );
  });
});

Deno.test("readNifti() rejects vox_offset past the end and a malformed extension", async () => {
  await withTempDir(async (dir) => {
    const far = await corrupt(dir, MR, "voxoffset.nii", (b) => {
      new DataView(b.buffer).setFloat32(108, 1e6, true);
      return b;
    });
    await assertFormatError(() => readNifti(far), far, /vox_offset 1000000 lies past the end/);
    const raw = await readFileBytes(PET.replace(".nii.gz", ".nii.gz"));
    const { gunzipSync } = await import("node:zlib");
    const pet = new Uint8Array(gunzipSync(raw));
    new DataView(pet.buffer).setInt32(352, 24, true); // esize not a multiple of 16
    const ext = `${dir}/extension.nii`;
    await Deno.writeFile(ext, pet);
    await assertFormatError(
      () => readNifti(ext),
      ext,
      /extension as its size must be a positive multiple of 16/,
    );
  });
});

Deno.test("readNifti() rejects a header/image pair header and an empty file", async () => {
  await withTempDir(async (dir) => {
    const pair = await corrupt(dir, MR, "pair.nii", (b) => {
      b.set([0x6e, 0x69, 0x31, 0], 344); // "ni1"
      return b;
    });
    await assertFormatError(() => readNifti(pair), pair, /header\/image pair/);
    const empty = await corrupt(dir, MR, "empty.nii", () => new Uint8Array(0));
    await assertFormatError(() => readNifti(empty), empty, /truncated/);
  });
});

Deno.test("readNifti() lets NotFound through", async () => {
  await assert.rejects(() => readNifti("/nonexistent/x.nii"), Deno.errors.NotFound);
});

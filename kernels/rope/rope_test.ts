import assert from "node:assert/strict";
import { checkRopeArgs, rope, ropeTables, uploadRopeTables } from "./rope.ts";
import { ropeAnglesRef, ropeRef, ropeTablesRef } from "./rope_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";

Deno.test("ropeAnglesRef() follows the spec's coordinates, periods and channel layout", () => {
  const D = 64;
  const a = ropeAnglesRef(14, 14, D, 100);
  // Row coordinates for h = 14: -0.928571, -0.785714, ... (step 1/7).
  const y0 = -13 / 14;
  const periods = [1, 1.333521, 1.778279, 2.371374, 3.162278];
  for (let f = 0; f < periods.length; f++) {
    assert.ok(Math.abs(a[f] - (2 * Math.PI * y0) / periods[f]) < 1e-5, `y freq ${f}`);
  }
  assert.ok(Math.abs((2 * Math.PI * y0) / a[15] - 74.989421) < 1e-5);
  // Token (0, 1): same row, x = -11/14, so channels 16.. change and 0..15 do not.
  const t1 = 1 * D;
  assert.equal(a[t1 + 3], a[3]);
  assert.ok(Math.abs(a[t1 + 16] - 2 * Math.PI * (-11 / 14)) < 1e-12);
  // Second half repeats the first, not interleaved.
  for (let c = 0; c < 32; c++) assert.equal(a[t1 + 32 + c], a[t1 + c]);
  // Non-square grids normalise each axis by its own count ("separate").
  const b = ropeAnglesRef(3, 5, 16, 100);
  assert.ok(Math.abs(b[0] - 2 * Math.PI * (-2 / 3)) < 1e-12);
  assert.ok(Math.abs(b[(2 * 5 + 4) * 16 + 4] - 2 * Math.PI * 0.8) < 1e-12);
  assert.throws(() => ropeAnglesRef(3, 5, 18, 100), RangeError);
});

Deno.test("ropeRef() rotates pairs (c, c + Dh/2) of patch tokens only", () => {
  const tables = ropeTablesRef(1, 2, 4, 100);
  const x = randomTensor([1, 3, 8], 1); // prefix 1, 2 patches, 2 heads of 4
  const y = ropeRef(x, { tables, heads: 2, prefix: 1 });
  assert.deepEqual([...y.data.subarray(0, 8)], [...x.data.subarray(0, 8)]);
  for (let p = 0; p < 2; p++) {
    for (let h = 0; h < 2; h++) {
      const o = (1 + p) * 8 + h * 4;
      for (let c = 0; c < 2; c++) {
        const s = tables.sin.data[p * 4 + c];
        const co = tables.cos.data[p * 4 + c];
        const u = x.data[o + c];
        const v = x.data[o + c + 2];
        assert.ok(Math.abs(y.data[o + c] - (u * co - v * s)) < 1e-6);
        assert.ok(Math.abs(y.data[o + c + 2] - (v * co + u * s)) < 1e-6);
      }
    }
  }
});

Deno.test("checkRopeArgs() rejects wrong shapes", () => {
  assert.throws(
    () => checkRopeArgs({ x: [1, 20, 64], table: [15, 16], heads: 4, prefix: 4 }),
    /x must have shape \[B, 19, >= 1·4·16\]: current shape is \[1, 20, 64\]/,
  );
  assert.throws(
    () => checkRopeArgs({ x: [1, 20, 64], table: [15, 16], heads: 0, prefix: 5 }),
    RangeError,
  );
  assert.throws(
    () => checkRopeArgs({ x: [1, 20, 64], table: [15, 16], heads: 4, prefix: 5, blocks: 2 }),
    TypeError,
  );
});

const CASES: [number, number, number, number, number][] = [
  // batch, h, w, heads, Dh
  [2, 14, 14, 6, 64], // ViT-S at 224 px: [2, 201, 384]
  [1, 32, 32, 16, 64], // ViT-L at 512 px: [1, 1029, 1024]
  [1, 3, 5, 4, 16], // the fixture's non-square group
];

for (const [B, h, w, H, D] of CASES) {
  gpuTest(`rope() matches ropeRef() on [${B}, ${5 + h * w}, ${H * D}]`, async (gpu) => {
    const tables = ropeTablesRef(h, w, D, 100);
    const x = randomTensor([B, 5 + h * w, H * D], h * w);
    const gx = gpu.uploadTensor(x);
    await rope(gpu, { x: gx, tables: uploadRopeTables(gpu, tables, [h, w]), heads: H, prefix: 5 });
    assertAllClose(await gpu.readTensor(gx), ropeRef(x, { tables, heads: H, prefix: 5 }), {
      atol: 1e-6,
      rtol: 1e-6,
    });
  });
}

gpuTest(
  "rope() with 2 blocks rotates q and k of a packed qkv in place and leaves v",
  async (gpu) => {
    const tables = ropeTablesRef(3, 5, 16, 100);
    const x = randomTensor([2, 20, 3 * 64], 7); // 4 heads of 16: q | k | v
    const gx = gpu.uploadTensor(x);
    await rope(gpu, {
      x: gx,
      tables: uploadRopeTables(gpu, tables, [3, 5]),
      heads: 4,
      prefix: 5,
      blocks: 2,
    });
    const got = await gpu.readTensor(gx);
    const expected = ropeRef(x, { tables, heads: 4, prefix: 5, blocks: 2 });
    assertAllClose(got, expected, { atol: 1e-6, rtol: 1e-6 });
    for (let t = 0; t < 40; t++) {
      for (let c = 128; c < 192; c++) assert.equal(got.data[t * 192 + c], x.data[t * 192 + c]);
    }
  },
);

gpuTest("ropeTables() uploads once per grid and device", async (gpu) => {
  const a = ropeTables(gpu, 3, 5, 16, 100);
  assert.equal(ropeTables(gpu, 3, 5, 16, 100), a);
  assert.notEqual(ropeTables(gpu, 5, 3, 16, 100), a);
  const host = ropeTablesRef(3, 5, 16, 100);
  assertAllClose(await gpu.readTensor(a.sin), host.sin, { atol: 0, rtol: 0 });
  assertAllClose(await gpu.readTensor(a.cos), host.cos, { atol: 0, rtol: 0 });
});

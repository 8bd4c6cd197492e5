import assert from "node:assert/strict";
import { decodeJpeg } from "./_jpeg.ts";
import { convertYcbcrRow, upsamplePlane, upsampleRow } from "./_jpeg_color.ts";

const DIR = new URL("./testdata/jpeg_color/", import.meta.url);

interface Entry {
  jpeg: string;
  rgb: string;
  width: number;
  height: number;
  subsampling: string;
}

const manifest: { images: Entry[] } = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", DIR)),
);

function compare(
  actual: Uint8Array,
  expected: Uint8Array,
): { max: number; mean: number; biasG: number } {
  let max = 0;
  let sum = 0;
  let biasG = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    max = Math.max(max, Math.abs(d));
    sum += Math.abs(d);
    if (i % 3 === 1) biasG += d;
  }
  return { max, mean: sum / expected.length, biasG: biasG / (expected.length / 3) };
}

for (const entry of manifest.images) {
  Deno.test(`decodeJpeg() matches libjpeg-turbo (Pillow) within 1 grey level on ${entry.jpeg} (${entry.subsampling})`, async () => {
    const bytes = await Deno.readFile(new URL(entry.jpeg, DIR));
    const expected = await Deno.readFile(new URL(entry.rgb, DIR));
    const { data, channels, info } = decodeJpeg(bytes, entry.jpeg);
    assert.equal(channels, 3);
    assert.deepEqual([info.width, info.height], [entry.width, entry.height]);
    const stats = compare(data, expected);
    assert.ok(stats.max <= 1, `max |difference| ${stats.max} (mean ${stats.mean.toFixed(4)})`);
    assert.ok(Math.abs(stats.biasG) < 0.1, `G bias ${stats.biasG}`);
  });
}

Deno.test("convertYcbcrRow() rounds to nearest like libjpeg's ycc_rgb_convert", () => {
  const out = new Uint8Array(6);
  // Y=100, Cb=Cr=128 is grey; Cr=255: R = 100 + round(1.402*127) = 278 → 255.
  convertYcbcrRow(
    new Uint8Array([100, 100]),
    new Uint8Array([128, 128]),
    new Uint8Array([128, 200]),
    2,
    out,
  );
  assert.deepEqual([...out.subarray(0, 3)], [100, 100, 100]);
  // Cr=200: R = 100 + round(1.402*72 = 100.944) = 201; G = 100 - round(0.71414*72 = 51.418) = 49 (truncation gives 48 or 50)
  assert.deepEqual([...out.subarray(3)], [201, 49, 100]);
});

Deno.test("upsampleRow() h2v1 fancy upsampling weights 3/4 nearer + 1/4 further sample", () => {
  const out = new Uint8Array(6);
  upsampleRow(new Uint8Array([0, 100, 200]), new Uint8Array(3), 0, 3, 2, 1, out, 6);
  // first = in0; (3*0+100+2)>>2 = 25; (300+0+1)>>2 = 75; (300+200+2)>>2 = 125; (600+100+1)>>2 = 175; last = 200
  assert.deepEqual([...out], [0, 25, 75, 125, 175, 200]);
});

Deno.test("upsamplePlane() h2v2 repeats edge rows and replicates narrow planes", () => {
  const flat = upsamplePlane(new Uint8Array(9).fill(77), 3, 3, 2, 2, 5, 5);
  assert.ok(flat.every((v) => v === 77));
  const narrow = upsamplePlane(new Uint8Array([10, 20]), 2, 1, 2, 2, 4, 2);
  assert.deepEqual([...narrow], [10, 10, 20, 20, 10, 10, 20, 20]);
});

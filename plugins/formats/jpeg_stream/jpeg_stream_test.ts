import assert from "node:assert/strict";
import { openJpegStream, writeJpegStream } from "./mod.ts";
import { decodeJpeg } from "../_jpeg.ts";

function texture(width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      out[o] = (x * 7 + y * 3 + seed) & 255;
      out[o + 1] = 128 + 100 * Math.sin((x + seed) / 5) * Math.cos(y / 7);
      out[o + 2] = x < width / 2 ? 240 : (x * y + seed) & 255;
    }
  }
  return out;
}

async function streamAll(
  path: string,
): Promise<{ data: Uint8Array; width: number; height: number; bands: number }> {
  const jpeg = await openJpegStream(path);
  const data = new Uint8Array(jpeg.width * jpeg.height * jpeg.channels);
  let bands = 0;
  for await (const band of jpeg.bands()) {
    data.set(band.data, band.y * jpeg.width * jpeg.channels);
    bands++;
  }
  jpeg.close();
  return { data, width: jpeg.width, height: jpeg.height, bands };
}

for (const subsampling of ["4:2:0", "4:4:4"] as const) {
  for (const restartInterval of [0, 3]) {
    Deno.test(`openJpegStream() bands equal the whole-image libjpeg-exact decoder (${subsampling}, restart ${restartInterval})`, async () => {
      const width = 61, height = 45;
      const rgb = texture(width, height, 9);
      const path = await Deno.makeTempFile({ suffix: ".jpg" });
      try {
        await writeJpegStream(path, {
          width,
          height,
          quality: 85,
          subsampling,
          restartInterval,
          rows: (y0, n) => rgb.subarray(y0 * width * 3, (y0 + n) * width * 3),
        });
        const bytes = await Deno.readFile(path);
        const whole = decodeJpeg(bytes, path);
        const streamed = await streamAll(path);
        assert.deepEqual([streamed.width, streamed.height], [width, height]);
        assert.equal(streamed.bands, Math.ceil(height / (subsampling === "4:2:0" ? 16 : 8)));
        assert.deepEqual(streamed.data, whole.data);
        // The encoder is a real encoder: close to the source.
        let err = 0;
        for (let i = 0; i < rgb.length; i++) err += Math.abs(rgb[i] - streamed.data[i]);
        assert.ok(err / rgb.length < 12, `mean abs error ${err / rgb.length}`);
      } finally {
        await Deno.remove(path);
      }
    });
  }
}

Deno.test("openJpegStream() scale 8 gives block means; a truncated file is a FormatError naming it", async () => {
  const width = 64, height = 32;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb.set(i % width < 32 ? [200, 100, 150] : [240, 240, 240], i * 3);
  }
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await writeJpegStream(path, {
      width,
      height,
      rows: (y0, n) => rgb.subarray(y0 * width * 3, (y0 + n) * width * 3),
    });
    const jpeg = await openJpegStream(path);
    const small: number[] = [];
    for await (const band of jpeg.bands({ scale: 8 })) {
      assert.equal(band.width, 8);
      small.push(...band.data);
    }
    jpeg.close();
    assert.equal(small.length, 8 * 4 * 3);
    assert.ok(
      Math.abs(small[0] - 200) <= 3 && Math.abs(small[1] - 100) <= 3,
      `${small.slice(0, 3)}`,
    );
    assert.ok(Math.abs(small[7 * 3] - 240) <= 3);
    const tw = 61, th = 45, tex = texture(tw, th, 2);
    await writeJpegStream(path, {
      width: tw,
      height: th,
      rows: (y0, n) => tex.subarray(y0 * tw * 3, (y0 + n) * tw * 3),
    });
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const cut = await openJpegStream(path);
    await assert.rejects(
      async () => {
        for await (const _ of cut.bands()) { /* decode */ }
      },
      (e: Error) =>
        e.name === "FormatError" && /truncated|ended/.test(e.message) && e.message.includes(path),
    );
    cut.close();
    await Deno.writeFile(
      path,
      Uint8Array.of(0xff, 0xd8, 0xff, 0xc2, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0),
    );
    await assert.rejects(() => openJpegStream(path), /progressive/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("decodeJpegBytes() equals the whole-image decoder; colorTransform false keeps the samples", async () => {
  const { decodeJpegBytes } = await import("./mod.ts");
  const width = 40, height = 24;
  const rgb = texture(width, height, 4);
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await writeJpegStream(path, {
      width,
      height,
      rows: (y0, n) => rgb.subarray(y0 * width * 3, (y0 + n) * width * 3),
    });
    const bytes = await Deno.readFile(path);
    const mine = decodeJpegBytes(bytes, path);
    assert.deepEqual([mine.width, mine.height, mine.channels], [width, height, 3]);
    assert.deepEqual(mine.data, decodeJpeg(bytes, path).data);
    const raw = decodeJpegBytes(bytes, path, { colorTransform: false });
    assert.deepEqual(raw.data, decodeJpeg(bytes, path, { colorTransform: false }).data);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("the JFIF density gives µm/px only when it is microscope-scale", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    const rows = (_y: number, n: number) => new Uint8Array(n * 16 * 3).fill(128);
    await writeJpegStream(path, { width: 16, height: 16, pixelsPerCm: 2500, rows });
    let jpeg = await openJpegStream(path);
    assert.equal(jpeg.mpp, 4);
    jpeg.close();
    await writeJpegStream(path, { width: 16, height: 16, pixelsPerCm: 38, rows }); // ~96 dpi
    jpeg = await openJpegStream(path);
    assert.equal(jpeg.mpp, undefined);
    jpeg.close();
  } finally {
    await Deno.remove(path);
  }
});

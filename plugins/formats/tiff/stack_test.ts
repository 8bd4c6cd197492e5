import assert from "node:assert/strict";
import { convertTiffStackToVolume, parseTiffStack, readTiffStack } from "./stack.ts";
import { encodeTiffStack, writeTiffStack } from "./writer.ts";
import { assertFormatError, fixture, sha256Hex, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

// 3-page 7×5 stacks written by Pillow (libtiff), e.g.
//   pages[0].save(b, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
// value(p, x, y) = (p * 20000 + x * 1000 + y * 37) % 65536
const PILLOW_U16_LZW =
  "SUkqAFoAAACAAAAOgBtADrgFqAHogJnALiUAA0CPUDt0FsUHq0JpULkoADICBoEAIGOoHtIJroLm8AFcCD8ECcGA8IPcJt8LpQAHwCGQEEwGDQIBwKAQMQEACQAAAQMAAQAAAAcAAAABAQMAAQAAAAUAAAACAQMAAQAAABAAAAADAQMAAQAAAAUAAAAGAQMAAQAAAAEAAAARAQQAAQAAAAgAAAAWAQMAAQAAAAUAAAAXAQQAAQAAAFEAAAAcAQMAAQAAAAEAAAAqAQAAAAAAAElJKgBaAAAAgAgJwIKTwKrYLLALqoMKQMpFJwtKQVKz9LLlLrNMK1MpqJxSKQ6KwiLQKLzyMLaMqPJx3KRfKxHLQvLwXMT/Mq0JycKSEKxsLRULw8MQkM0BAAkAAAEDAAEAAAAHAAAAAQEDAAEAAAAFAAAAAgEDAAEAAAAQAAAAAwEDAAEAAAAFAAAABgEDAAEAAAABAAAAEQEEAAEAAADYAAAAFgEDAAEAAAAFAAAAFwEEAAEAAABRAAAAHAEDAAEAAAABAAAA+gEAAAAAAABJSSoAWgAAAIAQE4KFAEFI+FO4FWyFesFmZU4TVANVIHVQBVY7Ve1Vmik4clAWlIQlQKlYElg+lmr04l1Af1IZ1QT1YN1gH1o1E4vFApFIjFQdFYXFgRFpAQAJAAABAwABAAAABwAAAAEBAwABAAAABQAAAAIBAwABAAAAEAAAAAMBAwABAAAABQAAAAYBAwABAAAAAQAAABEBBAABAAAAqAEAABYBAwABAAAABQAAABcBBAABAAAAUQAAABwBAwABAAAAAQAAAAAAAAAAAAAA";
// value(p, x, y) = p * 1.5 + x * 0.25 - y * 0.125
const PILLOW_F32_DEFLATE =
  "SUkqAEQAAAB4nGNgAIEGOyBhz8DgAMQNQLwAiA8AMcM+IAbKHQBiBSA/AYgnAPEGkLp9DLj17sOtl2E/Lr0ACUYWpQAKAAABAwABAAAABwAAAAEBAwABAAAABQAAAAIBAwABAAAAIAAAAAMBAwABAAAACAAAAAYBAwABAAAAAQAAABEBBAABAAAACAAAABYBAwABAAAABQAAABcBBAABAAAAOwAAABwBAwABAAAAAQAAAFMBAwABAAAAAwAAABgBAAAAAAAAAAAAAAAAAAAAAElJKgBIAAAAeJxjYDhgz8DwAIgZHBgYBIBYAYgNgNgBiDcAxS8A8Qcg5gDyJYBYA4gtgHgBUAyX3gn2uPU22OPSCwA9/ha5AAoAAAEDAAEAAAAHAAAAAQEDAAEAAAAFAAAAAgEDAAEAAAAgAAAAAwEDAAEAAAAIAAAABgEDAAEAAAABAAAAEQEEAAEAAADYAAAAFgEDAAEAAAAFAAAAFwEEAAEAAAA/AAAAHAEDAAEAAAABAAAAUwEDAAEAAAADAAAA4gEAAAAAAAAAAAAAAABJSSoAQgAAAHicY2BwcGBgCADiBCAuAOIGIO4A4glAbAHEHkAcAcQZQFwBxC1A3APEBkCMS68GHr0KOPUCAPsPFa0KAAABAwABAAAABwAAAAEBAwABAAAABQAAAAIBAwABAAAAIAAAAAMBAwABAAAACAAAAAYBAwABAAAAAQAAABEBBAABAAAAqAEAABYBAwABAAAABQAAABcBBAABAAAAOgAAABwBAwABAAAAAQAAAFMBAwABAAAAAwAAAAAAAAA=";
// value(p, x, y) = (p * 50 + x * 3 + Math.floor(y / 2) * 7) % 256
const PILLOW_U8_PACKBITS =
  "SUkqADAAAAAGAAMGCQwPEgYAAwYJDA8SBgcKDRATFhkGBwoNEBMWGQYOERQXGh0gCQAAAQMAAQAAAAcAAAABAQMAAQAAAAUAAAACAQMAAQAAAAgAAAADAQMAAQAAAAWAAAAGAQMAAQAAAAEAAAARAQQAAQAAAAgAAAAWAQMAAQAAAAUAAAAXAQQAAQAAACgAAAAcAQMAAQAAAAEAAADgAAAAAAAAAAAAAAAAAAAAAABJSSoAMAAAAAYyNTg7PkFEBjI1ODs+QUQGOTw/QkVISwY5PD9CRUhLBkBDRklMT1IJAAABAwABAAAABwAAAAEBAwABAAAABQAAAAIBAwABAAAACAAAAAMBAwABAAAABYAAAAYBAwABAAAAAQAAABEBBAABAAAAuAAAABYBAwABAAAABQAAABcBBAABAAAAKAAAABwBAwABAAAAAQAAAJABAAAAAAAAAAAAAAAAAAAAAElJKgAwAAAABmRnam1wc3YGZGdqbXBzdgZrbnF0d3p9BmtucXR3en0GcnV4e36BhAkAAAEDAAEAAAAHAAAAAQEDAAEAAAAFAAAAAgEDAAEAAAAIAAAAAwEDAAEAAAAFgAAABgEDAAEAAAABAAAAEQEEAAEAAABoAQAAFgEDAAEAAAAFAAAAFwEEAAEAAAAoAAAAHAEDAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function b64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function expected(f: (p: number, x: number, y: number) => number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 3; p++) {
    for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) out.push(f(p, x, y));
  }
  return out;
}

Deno.test("parseTiffStack() decodes libtiff LZW uint16, Deflate float32 and PackBits uint8 stacks", async () => {
  const lzw = await parseTiffStack(b64(PILLOW_U16_LZW), "lzw.tif");
  assert.deepEqual(lzw.shape, [3, 5, 7]);
  assert.equal(lzw.dtype, "uint16");
  assert.equal(lzw.compression, 5);
  assert.deepEqual([...lzw.data], expected((p, x, y) => (p * 20000 + x * 1000 + y * 37) % 65536));
  const f32 = await parseTiffStack(b64(PILLOW_F32_DEFLATE), "f32.tif");
  assert.equal(f32.dtype, "float32");
  assert.deepEqual([...f32.data], expected((p, x, y) => p * 1.5 + x * 0.25 - y * 0.125));
  const pb = await parseTiffStack(b64(PILLOW_U8_PACKBITS), "pb.tif");
  assert.equal(pb.compression, 32773);
  assert.deepEqual(
    [...pb.data],
    expected((p, x, y) => (p * 50 + x * 3 + Math.floor(y / 2) * 7) % 256),
  );
});

Deno.test("readTiffStack() reads the EM fixtures (uncompressed uint8, Deflate uint32)", async () => {
  const em = await readTiffStack(fixture("tiff/em_stack_uint8.tif"));
  assert.deepEqual(em.shape, [16, 128, 128]);
  assert.equal(
    await sha256Hex(em.data),
    "eca4c4fdc5a18c1a2b67f493c0f05dca90bf3f84456725bc02e4a24356a8f787",
  );
  const labels = await readTiffStack(fixture("tiff/em_labels_uint32.tif"), { pages: [13, 14] });
  assert.deepEqual(labels.shape, [1, 128, 128]);
  assert.ok(labels.data instanceof Uint32Array);
  assert.equal(labels.data[20 * 128 + 73], 402599);
  assert.deepEqual(labels.ifdIndices, [13]);
  await assert.rejects(
    () => readTiffStack(fixture("tiff/em_labels_uint32.tif"), { pages: [15, 17] }),
    RangeError,
  );
});

Deno.test("encodeTiffStack() round-trips every sample type, compression and byte order", async () => {
  const shape: [number, number, number] = [3, 9, 11];
  const n = 3 * 9 * 11;
  const arrays = [
    new Uint8Array(n).map((_, i) => (i * 7) % 256),
    new Int8Array(n).map((_, i) => ((i * 7) % 256) - 128),
    new Uint16Array(n).map((_, i) => (i * 977) % 65536),
    new Int16Array(n).map((_, i) => ((i * 977) % 65536) - 32768),
    new Uint32Array(n).map((_, i) => i * 100003 + 70001),
    new Int32Array(n).map((_, i) => i * -100003),
    new Float32Array(n).map((_, i) => i / 7 - 3),
    new Float64Array(n).map((_, i) => i / 7 - 3),
  ];
  for (const data of arrays) {
    for (const compression of ["none", "deflate", "packbits"] as const) {
      for (const byteOrder of ["little", "big"] as const) {
        const bytes = encodeTiffStack(data, { shape, compression, byteOrder, rowsPerStrip: 4 });
        const stack = await parseTiffStack(bytes, "t.tif");
        const what = `${data.constructor.name} ${compression} ${byteOrder}`;
        assert.equal(stack.bigEndian, byteOrder === "big", what);
        assert.deepEqual(stack.shape, shape, what);
        assert.deepEqual([...stack.data], [...data], what);
      }
    }
  }
  await withTempDir(async (dir) => {
    await writeTiffStack(`${dir}/s.tif`, arrays[0], {
      shape,
      description: "ImageJ=1.53\nspacing=0.04\n",
    });
    const s = await readTiffStack(`${dir}/s.tif`);
    assert.match(s.description, /spacing=0\.04/);
    const volume = convertTiffStackToVolume(s, [0.04, 0.004, 0.004]);
    assert.deepEqual(volume.shape, shape);
    assert.equal(volume.data[5], 35);
    assert.throws(() => convertTiffStackToVolume(s, [0, 1, 1]), RangeError);
  });
});

// ------------------------------------------------------------ bad input --

const EM = fixture("tiff/em_stack_uint8.tif");
const LABELS = fixture("tiff/em_labels_uint32.tif");

/** Offset of the value (or inline value) of `tag` in the first IFD of a little-endian TIFF. */
function entryOffset(bytes: Uint8Array, tag: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const ifd = v.getUint32(4, true);
  const n = v.getUint16(ifd, true);
  for (let e = 0; e < n; e++) {
    const at = ifd + 2 + e * 12;
    if (v.getUint16(at, true) === tag) return at + 8;
  }
  throw new Error(`tag ${tag} not found`);
}

Deno.test("readTiffStack() rejects a wrong magic with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(EM);
    bytes.set([0x49, 0x4d], 0);
    await Deno.writeFile(`${dir}/magic.tif`, bytes);
    await assertFormatError(
      () => readTiffStack(`${dir}/magic.tif`),
      `${dir}/magic.tif`,
      /byte-order mark must be "II" or "MM"/,
    );
    const version = await readFileBytes(EM);
    version[2] = 41;
    await Deno.writeFile(`${dir}/version.tif`, version);
    await assertFormatError(
      () => readTiffStack(`${dir}/version.tif`),
      `${dir}/version.tif`,
      /version must be 42/,
    );
  });
});

Deno.test("readTiffStack() rejects a strip offset past the end of the file", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(EM);
    new DataView(bytes.buffer).setUint32(entryOffset(bytes, 273), bytes.length - 100, true);
    const path = `${dir}/offset.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => readTiffStack(path),
      path,
      /strip 0 \(16384 bytes at offset \d+\) lies past the end of the file/,
    );
    const cut = `${dir}/cut.tif`;
    await Deno.writeFile(cut, (await readFileBytes(EM)).slice(0, 100_000));
    await assertFormatError(() => readTiffStack(cut), cut, /past the end of the file/);
  });
});

Deno.test("readTiffStack() rejects an unsupported compression", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(EM);
    new DataView(bytes.buffer).setUint16(entryOffset(bytes, 259), 34712, true);
    const path = `${dir}/jp2.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => readTiffStack(path),
      path,
      /compression 34712 \(JPEG 2000\) is unsupported/,
    );
  });
});

Deno.test("readTiffStack() rejects dims that disagree with the strip length", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(EM);
    const v = new DataView(bytes.buffer);
    v.setUint16(entryOffset(bytes, 256), 200, true); // ImageWidth 128 → 200
    const path = `${dir}/width.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => readTiffStack(path),
      path,
      /strip 0 holds 16384 bytes: 200x128 uint8 x 1 needs 25600/,
    );
  });
});

Deno.test("readTiffStack() rejects corrupt Deflate data and a looping IFD chain", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(LABELS);
    const stripAt = new DataView(bytes.buffer).getUint32(entryOffset(bytes, 273), true);
    bytes.fill(0x55, stripAt + 2, stripAt + 200);
    const path = `${dir}/deflate.tif`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(() => readTiffStack(path), path, /Cannot decode TIFF page 0/);
    const loop = encodeTiffStack(new Uint8Array(8), { shape: [2, 2, 2] });
    const v = new DataView(loop.buffer);
    const first = v.getUint32(4, true);
    const n = v.getUint16(first, true);
    const second = v.getUint32(first + 2 + n * 12, true);
    const n2 = v.getUint16(second, true);
    v.setUint32(second + 2 + n2 * 12, first, true); // page 2 points back to page 1
    await assertFormatError(() => parseTiffStack(loop, "loop.tif"), "loop.tif", /IFD chain loops/);
  });
});

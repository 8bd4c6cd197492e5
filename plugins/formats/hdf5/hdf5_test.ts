import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { CREMI_BACKGROUND_ID, openHdf5, openHdf5Bytes, readCremi } from "./hdf5.ts";
import { assertFormatError, fixture, sha256Hex, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

const CREMI = fixture("hdf5/cremi_sample.hdf");

Deno.test("openHdf5() lists groups, datasets, chunking, filters and attributes", async () => {
  const file = await openHdf5(CREMI);
  try {
    assert.deepEqual(file.list().sort(), [
      "volumes",
      "volumes/affinities",
      "volumes/labels",
      "volumes/labels/clefts",
      "volumes/labels/neuron_ids",
      "volumes/raw",
    ]);
    assert.equal(file.isDataset("volumes/labels"), false);
    assert.deepEqual(file.info("volumes/raw"), {
      name: "volumes/raw",
      shape: [10, 64, 64],
      dtype: "uint8",
      chunks: null,
      filters: [],
    });
    assert.deepEqual(file.info("volumes/affinities").filters, ["shuffle", "deflate"]);
    assert.equal(file.attributes("/").file_format.value, "0.2");
    const n = file.attributes("volumes/affinities").neighborhood;
    assert.deepEqual([...(n.value as Int32Array)], [-1, 0, 0, 0, -1, 0, 0, 0, -1]);
    assert.deepEqual(n.shape, [3, 3]);
  } finally {
    file.close();
  }
});

Deno.test("readCremi() keeps uint64 ids above 2^53 exact", async () => {
  const cremi = await readCremi(CREMI);
  assert.deepEqual(cremi.resolutionNm, [40, 4, 4]);
  assert.deepEqual(cremi.offsetNm, [80, 16, 16]);
  const ids = cremi.neuronIds!.data as BigUint64Array;
  assert.ok(ids instanceof BigUint64Array);
  assert.equal(ids[0], CREMI_BACKGROUND_ID);
  assert.equal(ids[0 * 4096 + 44 * 64 + 0], 4294968419n);
  assert.equal(
    await sha256Hex(ids),
    "03ffdb291991c21a861f5e91a0ee955286d642e8f1a788454352cf88d6b9c072",
  );
  let background = 0;
  for (const v of ids) if (v === CREMI_BACKGROUND_ID) background++;
  assert.equal(background, 11986);
  const file = await openHdf5(CREMI);
  const affinities = file.read("volumes/affinities");
  file.close();
  assert.equal(affinities.data[1 * 40960 + 5 * 4096 + 32 * 64 + 32], 0.7734375);
});

Deno.test("openHdf5Bytes() reads the same data from memory", async () => {
  const file = await openHdf5Bytes(await readFileBytes(CREMI), "memory.hdf");
  try {
    assert.equal(
      await sha256Hex(file.read("volumes/raw").data),
      "217e5ed09875573148e734f52a13d5c9a29e03c68ad4ec027606a72e20bbe065",
    );
  } finally {
    file.close();
  }
});

/** Finds the gzip (zlib) streams of the neuron_ids chunks and which z-chunk each holds. */
function findIdChunks(
  bytes: Uint8Array,
  ids: BigUint64Array,
): { offset: number; zChunk: number }[] {
  const found: { offset: number; zChunk: number }[] = [];
  for (let at = 0; at + 2 < bytes.length; at++) {
    if (bytes[at] !== 0x78 || ((bytes[at] << 8) | bytes[at + 1]) % 31 !== 0) continue;
    let out: Uint8Array;
    try {
      out = new Uint8Array(inflateSync(bytes.subarray(at)));
    } catch {
      continue;
    }
    if (out.length !== 5 * 32 * 32 * 8) continue;
    const chunk = new BigUint64Array(out.buffer, out.byteOffset, 5 * 32 * 32);
    for (let cz = 0; cz < 2; cz++) {
      for (let cy = 0; cy < 2; cy++) {
        for (let cx = 0; cx < 2; cx++) {
          let same = true;
          for (let i = 0; i < chunk.length && same; i++) {
            const z = Math.floor(i / 1024);
            const y = Math.floor(i / 32) % 32;
            const x = i % 32;
            same = chunk[i] === ids[(cz * 5 + z) * 4096 + (cy * 32 + y) * 64 + cx * 32 + x];
          }
          if (same) found.push({ offset: at, zChunk: cz });
        }
      }
    }
  }
  return found;
}

Deno.test("Hdf5File.read({ range }) reads a z-range without touching the other chunks", async () => {
  const bytes = await readFileBytes(CREMI);
  const ids = (await readCremi(CREMI)).neuronIds!.data as BigUint64Array;
  const chunks = findIdChunks(bytes, ids);
  assert.equal(chunks.length, 8, "2 x 2 x 2 chunks of [5, 32, 32]");
  // Corrupt the compressed data of every chunk holding z 5..9.
  for (const c of chunks.filter((c) => c.zChunk === 1)) {
    bytes.fill(0xa5, c.offset + 2, c.offset + 40);
  }
  await withTempDir(async (dir) => {
    const path = `${dir}/corrupt_upper.hdf`;
    await Deno.writeFile(path, bytes);
    const file = await openHdf5(path);
    try {
      const lower = file.read("volumes/labels/neuron_ids", { range: [0, 5] });
      assert.deepEqual(lower.shape, [5, 64, 64]);
      assert.deepEqual([...lower.data], [...ids.subarray(0, 5 * 4096)]);
      await assertFormatError(
        () => file.read("volumes/labels/neuron_ids", { range: [4, 6] }),
        path,
        /Cannot read HDF5 dataset "volumes\/labels\/neuron_ids"/,
      );
      await assertFormatError(() => file.read("volumes/labels/neuron_ids"), path, /neuron_ids/);
      assert.throws(() => file.read("volumes/raw", { range: [9, 11] }), RangeError);
    } finally {
      file.close();
    }
  });
});

// ------------------------------------------------------------ bad input --

Deno.test("openHdf5() rejects a wrong signature with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(CREMI);
    bytes[1] = 0x47;
    const path = `${dir}/magic.hdf`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => openHdf5(path),
      path,
      /signature 89 48 44 46 0d 0a 1a 0a must be at byte 0/,
    );
  });
});

Deno.test("openHdf5() rejects a truncated file with FormatError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/truncated.hdf`;
    await Deno.writeFile(path, (await readFileBytes(CREMI)).slice(0, 100_000));
    await assertFormatError(() => openHdf5(path), path, /truncated file: eof = 100000/);
    await assertFormatError(
      () => openHdf5Bytes(new Uint8Array(0), "empty.hdf"),
      "empty.hdf",
      /signature/,
    );
    // the library stays usable after an error
    const ok = await openHdf5(CREMI);
    assert.equal(ok.info("volumes/raw").dtype, "uint8");
    ok.close();
  });
});

Deno.test("Hdf5File rejects missing and non-numeric datasets", async () => {
  const file = await openHdf5(CREMI);
  try {
    await assertFormatError(() => file.read("volumes/nothing"), CREMI, /does not exist/);
    await assertFormatError(() => file.read("volumes/labels"), CREMI, /is not a dataset/);
  } finally {
    file.close();
  }
  await assert.rejects(() => openHdf5("/nonexistent.hdf"), Deno.errors.NotFound);
});

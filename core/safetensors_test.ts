import assert from "node:assert/strict";
import {
  Checkpoint,
  encodeSafetensors,
  parseSafetensors,
  SafetensorsFile,
  saveSafetensors,
  sha256File,
} from "./safetensors.ts";
import { FormatError } from "./errors.ts";
import { numberToF16Bits } from "./tensor.ts";

const FIXTURE = new URL("../fixtures/dinov3/tiny-public/", import.meta.url);

function craft(header: unknown, data = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

async function expectFormatError(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bad.safetensors`;
  await Deno.writeFile(path, bytes);
  await assert.rejects(() => SafetensorsFile.open(path), (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${e}`);
    assert.match(e.message, pattern);
    assert.equal(e.path, path);
    assert.ok(e.message.includes(path), "message names the file");
    return true;
  });
  await Deno.remove(dir, { recursive: true });
}

Deno.test("SafetensorsFile rejects each malformed file with a FormatError naming file and tensor", async () => {
  const f32 = (name: string, shape: number[], offsets: number[]) => ({
    [name]: { dtype: "F32", shape, data_offsets: offsets },
  });
  // truncated: fewer than 8 bytes
  await expectFormatError(new Uint8Array(5), /at least 8 bytes/);
  // header length past the end
  await expectFormatError(craft(f32("w", [1], [0, 4]), new Uint8Array(4), 1000n), /past the end/);
  // absurd header length
  await expectFormatError(craft({}, new Uint8Array(0), 1n << 40n), /at most 100000000/);
  // invalid UTF-8
  const badUtf8 = craft("{}");
  badUtf8[8] = 0xff;
  await expectFormatError(badUtf8, /not valid UTF-8/);
  // invalid JSON
  await expectFormatError(craft('{"w": '), /not valid JSON/);
  // unknown dtype
  await expectFormatError(
    craft({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
    /tensor "w" as its dtype must be one of/,
  );
  // shape × dtype size != span
  await expectFormatError(
    craft(f32("w", [3], [0, 8]), new Uint8Array(8)),
    /tensor "w" as shape \[3\] × F32 needs 12 bytes: current byte span is 8/,
  );
  // offsets past the data section
  await expectFormatError(
    craft(f32("w", [4], [0, 16]), new Uint8Array(8)),
    /tensor "w" as its data \[0, 16\) must lie inside the data section of 8 bytes/,
  );
  // overlapping
  await expectFormatError(
    craft({ ...f32("a", [2], [0, 8]), ...f32("b", [2], [4, 12]) }, new Uint8Array(12)),
    /tensor "b" as its data overlaps tensor "a"/,
  );
  // malformed shape
  await expectFormatError(
    craft(f32("w", [-1], [0, 4]), new Uint8Array(4)),
    /tensor "w" as its shape must be a list of non-negative integers/,
  );
});

Deno.test("encodeSafetensors() is deterministic, aligned and round-trips every dtype", async () => {
  const tensors = {
    "b.f16": {
      dtype: "F16" as const,
      shape: [3],
      data: new Uint16Array([1, 2, -0.5].map(numberToF16Bits)),
    },
    "a.f64": { dtype: "F64" as const, shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    "c.u8": { dtype: "U8" as const, shape: [2, 2], data: new Uint8Array([1, 2, 3, 4]) },
    "d.f32": { dtype: "F32" as const, shape: [1, 2], data: new Float32Array([0.25, 7]) },
    "e.bf16": { dtype: "BF16" as const, shape: [1], data: new Uint16Array([0x3fc0]) },
  };
  const bytes = encodeSafetensors(tensors, { format: "pt" });
  assert.deepEqual(encodeSafetensors(tensors, { format: "pt" }), bytes);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const parsed = parseSafetensors(bytes);
  assert.deepEqual(parsed.metadata, { format: "pt" });
  assert.deepEqual([...parsed.tensors["a.f64"].data as Float64Array], [Math.PI, -1e300]);
  const file = await SafetensorsFile.fromBytes(bytes);
  for (const name of file.names) {
    const t = file.info(name);
    assert.equal((t.start) % 8 === 0 || t.dtype !== "F64", true, `${name} aligned`);
  }
  assert.deepEqual([...await file.readF32("b.f16")], [1, 2, -0.5]);
  assert.deepEqual([...await file.readF32("e.bf16")], [1.5]);
  assert.deepEqual([...await file.readF32("c.u8")], [1, 2, 3, 4]);
  assert.throws(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
    TypeError,
  );
});

Deno.test("SafetensorsFile copies unaligned tensors instead of failing", async () => {
  // A header whose length is not a multiple of 4 leaves the F32 data unaligned.
  const header = JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }) + " ";
  const data = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  let bytes = craft(header, data);
  if ((8 + new TextEncoder().encode(header).byteLength) % 4 === 0) {
    bytes = craft(header + " ", data);
  }
  const file = await SafetensorsFile.fromBytes(bytes);
  assert.notEqual(file.info("w").start % 4, 0);
  assert.deepEqual([...await file.readF32("w")], [1.5, -2]);
});

Deno.test("the tiny-public fixture lists the names, dtypes and shapes of its README", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", FIXTURE));
  const rows = [...readme.matchAll(/^\| `([^`]+)` \| (\w+) \| \(([\d, ]*)\) \|/gm)];
  assert.ok(rows.length >= 30, `README rows parsed: ${rows.length}`);
  const file = await SafetensorsFile.open(new URL("expected.safetensors", FIXTURE).pathname);
  try {
    const dtypes: Record<string, string> = { float32: "F32", float64: "F64", uint8: "U8" };
    assert.equal(file.names.length, rows.length);
    for (const [, name, dtype, shape] of rows) {
      const t = file.info(name);
      assert.equal(t.dtype, dtypes[dtype], name);
      assert.deepEqual(t.shape, shape.split(",").map((s) => s.trim()).filter(Boolean).map(Number));
    }
    const pixels = await file.readF32("g0.pixel_values");
    assert.equal(pixels.length, 2 * 3 * 64 * 64);
  } finally {
    file.close();
  }
  const model = await Checkpoint.open(new URL(".", FIXTURE).pathname);
  try {
    assert.equal(model.names.length, 41); // README: "41 tensors"
    assert.ok(!model.has("layer.0.attention.k_proj.bias"));
    assert.deepEqual(model.info("embeddings.patch_embeddings.weight").shape, [64, 3, 16, 16]);
    assert.deepEqual(model.info("layer.1.mlp.up_proj.weight").shape, [256, 64]);
    assert.equal(model.info("norm.weight").dtype, "F32");
  } finally {
    model.close();
  }
});

Deno.test("Checkpoint.open() follows a sharded index and names missing shards and tensors", async () => {
  const dir = await Deno.makeTempDir();
  await saveSafetensors(`${dir}/model-00001-of-00002.safetensors`, {
    a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
  });
  await saveSafetensors(`${dir}/model-00002-of-00002.safetensors`, {
    b: { dtype: "F16", shape: [1], data: new Uint16Array([numberToF16Bits(3)]) },
  });
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({
      metadata: {},
      weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
    }),
  );
  const ckpt = await Checkpoint.open(dir);
  assert.deepEqual(ckpt.names.sort(), ["a", "b"]);
  assert.deepEqual([...await ckpt.readF32("b")], [3]);
  assert.throws(() => ckpt.info("c"), /tensor "c"/);
  ckpt.close();
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({
      weight_map: { a: "model-00001-of-00002.safetensors", z: "model-00002-of-00002.safetensors" },
    }),
  );
  await assert.rejects(() => Checkpoint.open(dir), /tensor "z" in shard model-00002/);
  const empty = await Deno.makeTempDir();
  await assert.rejects(() => Checkpoint.open(empty), Deno.errors.NotFound);
  assert.match(await sha256File(`${dir}/model-00001-of-00002.safetensors`), /^[0-9a-f]{64}$/);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(empty, { recursive: true });
});

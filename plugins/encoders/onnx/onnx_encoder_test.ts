import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { seeded, toyCnn, toyCnnRef, toyVit } from "./_testing.ts";
import { parseOnnxDescriptor } from "./descriptor.ts";
import { createOnnxEncoder, onnxEncoderPlugin } from "./onnx_encoder.ts";

const EXAMPLES = fileURLToPath(new URL("./examples/", import.meta.url));

async function example(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${EXAMPLES}${name}`));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("every example descriptor parses", async () => {
  for (const f of Deno.readDirSync(EXAMPLES)) {
    if (!f.name.endsWith(".json")) continue;
    const d = parseOnnxDescriptor(await example(f.name));
    assert.ok(d.model?.endsWith(".onnx"), f.name);
  }
});

Deno.test("createOnnxEncoder() runs a CNN with the resnet50 example descriptor", async () => {
  const cnn = await toyCnn();
  for (const runtime of ["node", "wasm"] as const) {
    const enc = await createOnnxEncoder(cnn.bytes, await example("resnet50.json"), { runtime });
    try {
      assert.equal(enc.info.id, "resnet50-imagenet");
      assert.equal(enc.info.dim, 8);
      assert.equal(enc.info.backend, `onnx-${runtime}`);
      assert.equal(enc.preprocess.sizeMultiple, 32);
      const px = seeded(2 * 3 * 224 * 224, 9);
      const out = await enc.encode({ data: px, shape: [2, 3, 224, 224] });
      const ref = toyCnnRef(cnn, px, 2, 224);
      assert.deepEqual(out.cls.shape, [2, 8]);
      assert.ok(maxDiff(out.cls.data, ref.pooled) < 1e-4, `${runtime} pooled`);
      assert.deepEqual(out.patchMean.data, out.cls.data);
      assert.deepEqual(out.patches.shape, [2, 0, 0, 8]);
      assert.deepEqual(out.registers.shape, [2, 0, 8]);
      await assert.rejects(
        enc.encode({ data: new Float32Array(3 * 256 * 256), shape: [1, 3, 256, 256] }),
        /input size is fixed at 224x224: current size is 256x256/,
      );
    } finally {
      enc.dispose();
    }
  }
});

Deno.test("a BCHW feature map becomes [B, h, w, C] patches whose mean is the pooled vector", async () => {
  const cnn = await toyCnn({ featureMap: true, size: 96 });
  const d = {
    ...await example("resnet50.json"),
    input: { name: "input", size: 96, mean: [0, 0, 0], std: [1, 1, 1], sizeMultiple: 32 },
    outputs: { pooled: { name: "pooled" }, patches: { name: "features", layout: "BCHW" } },
  };
  const enc = await createOnnxEncoder(cnn.bytes, d, { runtime: "node", maxBatch: 2 });
  try {
    const px = seeded(3 * 3 * 96 * 96, 7);
    const out = await enc.encode({ data: px, shape: [3, 3, 96, 96] }); // split 2 + 1
    const ref = toyCnnRef(cnn, px, 3, 96);
    assert.deepEqual(out.patches.shape, [3, 3, 3, 8]);
    // [B, C, h, w] -> [B, h, w, C]
    const k = 5, i = 1, j = 2, b = 2;
    assert.ok(
      Math.abs(
        out.patches.data[((b * 3 + i) * 3 + j) * 8 + k] -
          ref.features[((b * 8 + k) * 3 + i) * 3 + j],
      ) < 1e-4,
    );
    assert.ok(maxDiff(out.patchMean.data, ref.pooled) < 1e-4);
    assert.ok(maxDiff(out.cls.data, ref.pooled) < 1e-4);
  } finally {
    enc.dispose();
  }
});

Deno.test("the vit_b16 example maps last_hidden_state to CLS and a patch grid at any size", async () => {
  const vit = await toyVit();
  const enc = await createOnnxEncoder(vit.bytes, await example("vit_b16.json"), {
    runtime: "node",
  });
  try {
    assert.equal(enc.info.dim, 8);
    assert.equal(enc.info.patchSize, 16);
    const out = await enc.encode({ data: seeded(2 * 3 * 32 * 48, 1), shape: [2, 3, 32, 48] });
    assert.deepEqual(out.cls.shape, [2, 8]);
    assert.deepEqual([...out.cls.data.subarray(8)], [...vit.cls]);
    assert.deepEqual(out.patches.shape, [2, 2, 3, 8]);
    assert.deepEqual(out.registers.shape, [2, 0, 8]);
    assert.deepEqual(out.patchMean.shape, [2, 8]);
    let mean0 = 0;
    for (let t = 0; t < 6; t++) mean0 += out.patches.data[t * 8] / 6;
    assert.ok(Math.abs(out.patchMean.data[0] - mean0) < 1e-6);
    await assert.rejects(
      enc.encode({ data: new Float32Array(3 * 40 * 48), shape: [1, 3, 40, 48] }),
      /multiples of 16/,
    );
    await assert.rejects(
      enc.encode({ data: new Float32Array(3 * 32 * 32), shape: [1, 3, 32, 32] }, {
        intermediateLayers: [0],
      }),
      /intermediate layers/,
    );
  } finally {
    enc.dispose();
  }
});

Deno.test("descriptors are validated against the model's inputs and outputs", async () => {
  const cnn = await toyCnn({ featureMap: true });
  const base = await example("resnet50.json");
  const bad = async (patch: Record<string, unknown>, pattern: RegExp) => {
    await assert.rejects(
      createOnnxEncoder(cnn.bytes, { ...base, ...patch }, { runtime: "node" }),
      pattern,
    );
  };
  const input = base.input as Record<string, unknown>;
  await bad(
    { input: { ...input, name: "pixels" } },
    /input "pixels" is not in the model: model inputs are "input" float32 \[batch, 3, 224, 224\]/,
  );
  await bad(
    { outputs: { pooled: { name: "feat" } } },
    /output "feat" \(outputs.pooled\) is not in the model: model outputs are "pooled"/,
  );
  await bad({ input: { ...input, size: 256 } }, /"input.size" must match the model's fixed input/);
  await bad(
    { outputs: { pooled: { name: "pooled", layout: "BC11" } } },
    /must have rank 4 for layout BC11/,
  );
  await bad({ outputs: { cls: { name: "features" } } }, /must have rank 2/);
  await bad(
    { patchSize: 32, outputs: { tokens: { name: "pooled" } } },
    /"pooled" \(outputs.tokens\) must have rank 3/,
  );
  await assert.rejects(
    createOnnxEncoder(cnn.bytes, {
      ...base,
      outputs: { pooled: { name: "pooled" }, patches: { name: "features", layout: "BHWC" } },
    }, {
      runtime: "node",
    }),
    /same embedding width: "pooled" \(outputs.pooled\) has 8, "features" \(outputs.patches\) has 7/,
  );
});

Deno.test("parseOnnxDescriptor() names the field and value it refuses", () => {
  const ok = {
    name: "m",
    input: { name: "x", size: 224, mean: [0, 0, 0], std: [1, 1, 1] },
    outputs: { cls: { name: "y" } },
  };
  assert.equal(parseOnnxDescriptor(ok).input.sizeMultiple, 1);
  assert.throws(() => parseOnnxDescriptor({ ...ok, extra: 1 }), /unknown field "extra"/);
  assert.throws(() => parseOnnxDescriptor({ ...ok, name: "My Model" }), /"name" must be lowercase/);
  assert.throws(
    () => parseOnnxDescriptor({ ...ok, input: { ...ok.input, std: [1, 0, 1] } }),
    /"input.std" must be an array of 3 positive numbers/,
  );
  assert.throws(
    () => parseOnnxDescriptor({ ...ok, outputs: { tokens: { name: "t" } } }),
    /"patchSize" is required/,
  );
  assert.throws(
    () =>
      parseOnnxDescriptor({
        ...ok,
        patchSize: 16,
        outputs: { tokens: { name: "t" }, patches: { name: "p", layout: "BNC" } },
      }),
    /exclude each other/,
  );
  assert.throws(
    () => parseOnnxDescriptor({ ...ok, outputs: { patches: { name: "p", layout: "NCHW" } } }),
    /"outputs.patches.layout" must be "BNC" or "BHWC" or "BCHW"/,
  );
  assert.throws(
    () => parseOnnxDescriptor({ ...ok, patchSize: 16, input: { ...ok.input, size: 200 } }),
    /a multiple of/,
  );
});

Deno.test("onnxEncoderPlugin.create() finds the model from a descriptor file and refuses webgpu", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_onnx_" });
  try {
    const cnn = await toyCnn();
    await Deno.writeFile(`${dir}/resnet50.onnx`, cnn.bytes);
    await Deno.writeTextFile(
      `${dir}/resnet50.json`,
      JSON.stringify(await example("resnet50.json")),
    );
    const a = await onnxEncoderPlugin.create({ weights: `${dir}/resnet50.json`, runtime: "node" });
    const b = await onnxEncoderPlugin.create({ weights: `${dir}/resnet50.onnx`, backend: "onnx" });
    assert.equal(a.info.weightsSha256, b.info.weightsSha256);
    assert.match(b.info.backendReason, /^requested --backend onnx; /);
    a.dispose();
    b.dispose();
    await assert.rejects(
      onnxEncoderPlugin.create({ weights: `${dir}/resnet50.onnx`, backend: "webgpu" }),
      /runs on onnxruntime/,
    );
    await assert.rejects(onnxEncoderPlugin.create({}), /"weights" must be the path/);
    await assert.rejects(
      onnxEncoderPlugin.create({ weights: `${dir}/resnet50.onnx`, precision: "f16" }),
      /float32/,
    );
    await Deno.remove(`${dir}/resnet50.json`);
    await assert.rejects(
      onnxEncoderPlugin.create({ weights: `${dir}/resnet50.onnx` }),
      Deno.errors.NotFound,
    );
    await Deno.writeFile(`${dir}/junk.onnx`, new Uint8Array([1, 2, 3]));
    await assert.rejects(
      onnxEncoderPlugin.create({
        weights: `${dir}/junk.onnx`,
        descriptor: await example("resnet50.json"),
      }),
      /Cannot load ONNX model for descriptor "resnet50-imagenet"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

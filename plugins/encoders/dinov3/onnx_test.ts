import assert from "node:assert/strict";
import { parseDinov3Config } from "./config.ts";
import { expectedTensors, writeRandomDinov3 } from "./weights.ts";
import { seeded } from "../onnx/_testing.ts";
import { buildDinov3Onnx, createDinov3OnnxEncoder, exportDinov3Onnx } from "./onnx.ts";
import { decodeModel } from "../onnx/proto.ts";

const TINY = parseDinov3Config({
  hidden_size: 32,
  num_hidden_layers: 3,
  num_attention_heads: 2,
  intermediate_size: 64,
  patch_size: 8,
});

async function withModel(
  config: typeof TINY,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_dinov3_onnx_" });
  try {
    await writeRandomDinov3(dir, config, 7);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("exportDinov3Onnx() streams the same bytes buildDinov3Onnx() builds in memory", async () => {
  await withModel(TINY, async (dir) => {
    const built = await buildDinov3Onnx(dir, { intermediateLayers: [1] });
    const written = await exportDinov3Onnx(dir, `${dir}/m.onnx`, { intermediateLayers: [1] });
    const file = await Deno.readFile(`${dir}/m.onnx`);
    assert.equal(written.bytes, file.byteLength);
    assert.deepEqual(file, built.bytes);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "config.json",
      "m.onnx",
      "model.safetensors",
    ]);
    const m = decodeModel(file);
    const graph = m.graph!;
    const initializers = graph.initializer ?? [];
    assert.equal(Number(m.opsetImport[0].version), 17);
    assert.deepEqual((graph.input ?? []).map((v) => v.name), ["pixel_values"]);
    assert.deepEqual((graph.output ?? []).map((v) => v.name), [
      "cls",
      "registers",
      "patch_tokens",
      "patch_mean",
      "last_hidden_state",
      "block_1",
    ]);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    assert.equal(meta["medprobe.weights_sha256"], built.sha256);
    // Large weights: 4 embedding-side tensors + 10 per block + 2 final norm.
    const weights = initializers.filter((t) => (t.rawData?.byteLength ?? 0) >= 4 * 32);
    const names = new Set(weights.map((t) => t.name));
    assert.ok(names.has("layer.2.attention.qkv.weight_t"));
    assert.ok(!names.has("layer.0.attention.k_proj.bias"));
    // Every checkpoint value lands somewhere: count floats of the streamed initializers.
    const streamed = initializers.filter((t) => /^(embeddings|layer|norm)\./.test(t.name ?? ""));
    const floats = streamed.reduce((s, t) => s + (t.rawData?.byteLength ?? 0) / 4, 0);
    const ckpt = expectedTensors(TINY).reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
    // + the zero k bias, - the LayerScale vectors folded into the projections.
    assert.equal(floats, ckpt + TINY.depth * TINY.dim - 2 * TINY.depth * TINY.dim);
  });
});

Deno.test("the DINOv3 ONNX encoder splits batches, takes any multiple of the patch size, and checks inputs", async () => {
  await withModel(TINY, async (dir) => {
    const whole = await createDinov3OnnxEncoder(dir, {
      runtime: "node",
      intermediateLayers: [0, 2],
    });
    const split = await createDinov3OnnxEncoder(dir, {
      runtime: "node",
      maxBatch: 2,
      name: "tiny",
    });
    try {
      assert.equal(whole.info.id, "dinov3");
      assert.equal(split.info.id, "tiny");
      assert.equal(whole.info.backend, "onnx-node");
      assert.equal(whole.info.dim, 32);
      assert.equal(whole.preprocess.sizeMultiple, 8);
      const px = { data: seeded(5 * 3 * 16 * 24, 3), shape: [5, 3, 16, 24] };
      const a = await whole.encode(px, { intermediateLayers: [2, 0] });
      const b = await split.encode(px);
      assert.deepEqual(a.patches.shape, [5, 2, 3, 32]);
      assert.deepEqual(a.registers.shape, [5, 4, 32]);
      assert.deepEqual(a.intermediates?.map((t) => t.shape), [[5, 11, 32], [5, 11, 32]]);
      for (const k of ["cls", "registers", "patches", "patchMean"] as const) {
        assert.deepEqual(b[k].shape, a[k].shape);
        let m = 0;
        for (let i = 0; i < a[k].data.length; i++) {
          m = Math.max(m, Math.abs(a[k].data[i] - b[k].data[i]));
        }
        assert.ok(m < 1e-5, `${k} differs by ${m} when split`);
      }
      // One image alone gives the same features as inside a batch.
      const one = await whole.encode({
        data: px.data.subarray(3 * 16 * 24 * 4),
        shape: [1, 3, 16, 24],
      });
      for (let i = 0; i < 32; i++) {
        assert.ok(Math.abs(one.cls.data[i] - a.cls.data[4 * 32 + i]) < 1e-5);
      }

      await assert.rejects(
        whole.encode({ data: new Float32Array(3 * 20 * 16), shape: [1, 3, 20, 16] }),
        RangeError,
      );
      await assert.rejects(
        whole.encode({ data: new Float32Array(16 * 16), shape: [1, 1, 16, 16] }),
        TypeError,
      );
      await assert.rejects(
        whole.encode({ data: new Float32Array(5), shape: [1, 3, 16, 16] }),
        /must hold 768 values/,
      );
      await assert.rejects(split.encode(px, { intermediateLayers: [1] }), /built with layers \[\]/);
    } finally {
      whole.dispose();
      split.dispose();
    }
    await assert.rejects(createDinov3OnnxEncoder(dir, { intermediateLayers: [3] }), /in \[0, 2\]/);
    await assert.rejects(createDinov3OnnxEncoder(dir, { maxBatch: 0 }), /maxBatch/);
    await assert.rejects(
      whole.encode({ data: new Float32Array(3 * 64), shape: [1, 3, 8, 8] }),
      /disposed/,
    );
  });
});

Deno.test("DINOv3 ONNX without registers, with a key bias, on the wasm runtime", async () => {
  const config = parseDinov3Config({
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: 32,
    patch_size: 8,
    num_register_tokens: 0,
    key_bias: true,
  });
  await withModel(config, async (dir) => {
    const enc = await createDinov3OnnxEncoder(dir, {
      runtime: "wasm",
      backendReason: "requested --backend onnx",
    });
    try {
      assert.equal(enc.info.backend, "onnx-wasm");
      assert.match(enc.info.backendReason, /^requested --backend onnx; onnxruntime-web wasm/);
      const out = await enc.encode({ data: seeded(3 * 16 * 8, 1), shape: [1, 3, 16, 8] });
      assert.deepEqual(out.registers.shape, [1, 0, 16]);
      assert.deepEqual(out.patches.shape, [1, 2, 1, 16]);
      assert.ok(out.cls.data.every(Number.isFinite));
    } finally {
      enc.dispose();
    }
  });
});

import assert from "node:assert/strict";
import { DINOV3_PRESETS, matchPreset, parseDinov3Config } from "./config.ts";
import {
  expectedTensors,
  loadDinov3Weights,
  openDinov3Checkpoint,
  writeRandomDinov3,
} from "./weights.ts";
import { encodeSafetensors, parseSafetensors } from "../../../core/safetensors.ts";
import { FormatError } from "../../../core/errors.ts";

const FIXTURE = new URL("../../../fixtures/dinov3/tiny-public", import.meta.url).pathname;

Deno.test("expectedTensors() gives the spec's 211 tensors for ViT-S/B and 415 for ViT-L", () => {
  // The spec's counts include embeddings.mask_token, which is unused at inference.
  assert.equal(expectedTensors(DINOV3_PRESETS["dinov3-vits16"]).length + 1, 211);
  assert.equal(expectedTensors(DINOV3_PRESETS["dinov3-vitb16"]).length + 1, 211);
  assert.equal(expectedTensors(DINOV3_PRESETS["dinov3-vitl16"]).length + 1, 415);
  const params = expectedTensors(DINOV3_PRESETS["dinov3-vits16"])
    .reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
  // HF safetensors of ViT-S hold 21,596,544 parameters; the mask_token (384) is not expected.
  assert.equal(params + 384, 21_596_544);
});

Deno.test("parseDinov3Config() reads the fixture config and refuses unsupported variants", async () => {
  const json = JSON.parse(await Deno.readTextFile(`${FIXTURE}/config.json`));
  const c = parseDinov3Config(json);
  assert.equal(c.dim, 64);
  assert.equal(c.headDim, 16);
  assert.equal(c.layerNormEps, 1e-5);
  assert.equal(c.keyBias, false);
  assert.equal(matchPreset(c), undefined);
  assert.equal(matchPreset(DINOV3_PRESETS["dinov3-vitb16"]), "dinov3-vitb16");
  assert.throws(() => parseDinov3Config({ ...json, use_gated_mlp: true }), /SwiGLU/);
  assert.throws(() => parseDinov3Config({ ...json, hidden_act: "silu" }), /hidden_act/);
  assert.throws(() => parseDinov3Config({ ...json, num_attention_heads: 5 }), /divisible/);
  assert.throws(() => parseDinov3Config({ ...json, model_type: "vit" }), /model_type/);
});

Deno.test("openDinov3Checkpoint() checks every tensor of the fixture", async () => {
  const ckpt = await openDinov3Checkpoint(FIXTURE);
  assert.match(ckpt.sha256, /^[0-9a-f]{64}$/);
  const w = await loadDinov3Weights(ckpt.checkpoint, ckpt.config);
  assert.equal(w.layers.length, 2);
  assert.equal(w.registers.length, 4 * 64);
  assert.equal(w.layers[0].kBias.every((v) => v === 0), true);
  ckpt.checkpoint.close();
});

Deno.test("openDinov3Checkpoint() names a missing and a mismatched tensor, and reads F16/BF16", async () => {
  const dir = await Deno.makeTempDir();
  const config = parseDinov3Config(JSON.parse(await Deno.readTextFile(`${FIXTURE}/config.json`)));
  await writeRandomDinov3(dir, config, 3);
  const { tensors } = parseSafetensors(await Deno.readFile(`${dir}/model.safetensors`));
  const ok = await openDinov3Checkpoint(dir);
  const ref = await ok.checkpoint.readF32("layer.1.mlp.up_proj.weight");
  ok.checkpoint.close();

  const missing = { ...tensors } as Record<
    string,
    { dtype: "F32"; shape: number[]; data: Float32Array }
  >;
  delete missing["layer.1.attention.o_proj.weight"];
  missing["layer.0.norm2.bias"] = { dtype: "F32", shape: [65], data: new Float32Array(65) };
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(missing));
  await assert.rejects(() => openDinov3Checkpoint(dir), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.match(e.message, /missing tensor "layer\.1\.attention\.o_proj\.weight" \[64, 64\]/);
    assert.match(
      e.message,
      /tensor "layer\.0\.norm2\.bias" must have shape \[64\]: current shape is \[65\]/,
    );
    return true;
  });

  // BF16 on disk: the upper halves of the F32 bits; the loader widens them back exactly.
  const bf16: Record<string, { dtype: "BF16"; shape: number[]; data: Uint16Array }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const f = t.data as Float32Array;
    const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
    bf16[name] = { dtype: "BF16", shape: t.shape, data: Uint16Array.from(u, (x) => x >>> 16) };
  }
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(bf16));
  const b = await openDinov3Checkpoint(dir);
  const got = await b.checkpoint.readF32("layer.1.mlp.up_proj.weight");
  b.checkpoint.close();
  for (let i = 0; i < got.length; i += 97) {
    assert.ok(Math.abs(got[i] - ref[i]) <= Math.abs(ref[i]) * 2 ** -7, `bf16 element ${i}`);
  }
  await Deno.remove(dir, { recursive: true });
});

import assert from "node:assert/strict";
import type { Image2D, Volume } from "../../core/plugin.ts";
import { parseSafetensors } from "../../core/safetensors.ts";
import { createDinov3OnnxEncoder } from "../encoders/dinov3/onnx.ts";
import { createSliceMeanAdapter } from "./slice_mean/mod.ts";
import {
  createImage2dAdapter,
  featureKindsFor,
  intermediateLayersFor,
  parseFeatureKind,
} from "./image2d/mod.ts";

const TINY = new URL("../../fixtures/dinov3/tiny-public", import.meta.url).pathname;

function image(seed: number, size = 64): Image2D {
  const data = new Uint8Array(size * size);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s >>> 24) ^ ((i % size) * 3);
  }
  return { kind: "image", data, width: size, height: size, channels: 1 };
}

/** The final LayerNorm of the tiny checkpoint applied to one token (float64). */
async function finalNorm(): Promise<(x: Float32Array) => Float64Array> {
  const { tensors } = parseSafetensors(await Deno.readFile(`${TINY}/model.safetensors`));
  const w = tensors["norm.weight"].data as Float32Array;
  const b = tensors["norm.bias"].data as Float32Array;
  return (x) => {
    const c = x.length;
    const mean = x.reduce((a, v) => a + v, 0) / c;
    const v = x.reduce((a, t) => a + (t - mean) ** 2, 0) / c;
    const inv = 1 / Math.sqrt(v + 1e-5);
    return Float64Array.from(x, (t, j) => (t - mean) * inv * w[j] + b[j]);
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("feature kinds: parsing, kinds per request and the blocks each needs", () => {
  assert.deepEqual(parseFeatureKind("cls"), { kind: "base", name: "cls" });
  assert.deepEqual(parseFeatureKind("last4"), { kind: "last4", withMean: false });
  assert.deepEqual(parseFeatureKind("layer:0"), { kind: "layer", index: 0 });
  assert.throws(() => parseFeatureKind("last3"), /must be cls, mean, cls\+mean, last4/);
  assert.deepEqual(featureKindsFor(), ["cls", "mean", "cls+mean"]);
  assert.deepEqual(featureKindsFor("mean"), ["cls", "mean", "cls+mean"]);
  assert.deepEqual(featureKindsFor("layer:5"), ["cls", "mean", "cls+mean", "layer:5"]);
  assert.deepEqual(intermediateLayersFor("last4+mean", 24), [20, 21, 22, 23]);
  assert.deepEqual(intermediateLayersFor("last4", 2), [0, 1]);
  assert.deepEqual(intermediateLayersFor("layer:-1", 12), [11]);
  assert.deepEqual(intermediateLayersFor("layer:-12", 12), [0, 11]);
  assert.deepEqual(intermediateLayersFor("cls", 12), []);
  assert.throws(() => intermediateLayersFor("layer:12", 12), RangeError);
  assert.throws(() => intermediateLayersFor("layer:-13", 12), RangeError);
  // the base kinds keep the adapter's settings (and so the cache entries) as they were
  assert.deepEqual(
    createImage2dAdapter().settings,
    createImage2dAdapter({ feature: "cls+mean" }).settings,
  );
  assert.equal(createImage2dAdapter({ feature: "last4" }).settings.feature, "last4");
  assert.throws(() => createImage2dAdapter({ feature: "layer:x" }), TypeError);
});

Deno.test("image2d last4 / last4+mean / layer:N are the blocks' CLS through the final LayerNorm (tiny DINOv3, ONNX)", async () => {
  const encoder = await createDinov3OnnxEncoder(TINY, {
    runtime: "node",
    intermediateLayers: [0, 1],
  });
  try {
    const ctx = { encoder, resolution: 64, batchSize: 4 };
    const images = [image(1), image(2), image(3)];
    const norm = await finalNorm();
    const raw = await encoder.encode(
      (await import("../../core/image.ts")).imagesToBatch(images, 64, encoder.preprocess),
      { intermediateLayers: [0, 1] },
    );
    const c = encoder.info.dim;
    const n = raw.intermediates![0].shape[1];
    const blockCls = (block: number, i: number) =>
      raw.intermediates![block].data.slice(i * n * c, i * n * c + c);
    const last4 = await createImage2dAdapter({ feature: "last4+mean" }).extractBatch!(images, ctx);
    const layer0 = await createImage2dAdapter({ feature: "layer:0" }).extractBatch!(images, ctx);
    const layerLast = await createImage2dAdapter({ feature: "layer:-1" }).extractBatch!(
      images,
      ctx,
    );
    for (let i = 0; i < images.length; i++) {
      const f = last4[i]["last4+mean"];
      assert.deepEqual(f.shape, [3 * c]); // 2 blocks (the tiny model has 2) + mean
      // block 0's CLS through the checkpoint's own final norm
      assert.ok(maxDiff(f.data.subarray(0, c), norm(blockCls(0, i))) < 1e-4);
      assert.ok(maxDiff(layer0[i]["layer:0"].data, norm(blockCls(0, i))) < 1e-4);
      // the last block's normalised CLS is the encoder's cls
      assert.ok(maxDiff(f.data.subarray(c, 2 * c), last4[i].cls.data) < 1e-4);
      assert.ok(maxDiff(layerLast[i]["layer:-1"].data, last4[i].cls.data) < 1e-4);
      assert.deepEqual(f.data.subarray(2 * c), last4[i].mean.data);
      // the base kinds are unchanged
      assert.deepEqual(layer0[i].cls.data, last4[i].cls.data);
    }
    // block 0 differs from the last block: the feature is not the final CLS again
    assert.ok(maxDiff(layer0[0]["layer:0"].data, last4[0].cls.data) > 1e-2);
    // slice-mean averages the per-slice feature over the slices
    const vol: Volume = {
      kind: "volume",
      shape: [2, 64, 64],
      spacingMm: [1, 1, 1],
      data: Float32Array.from(
        [...images[0].data, ...images[1].data],
        (v) => v / 255 * 2000 - 1000,
      ),
    };
    const sm = await createSliceMeanAdapter({ feature: "layer:0" }).extract(vol, ctx);
    const per = await createImage2dAdapter({ feature: "layer:0" }).extractBatch!(
      [0, 1].map((z) => ({
        ...images[z],
        data: Float32Array.from(images[z].data, (v) => v / 255),
        intensity: "unit" as const,
      })),
      ctx,
    );
    const mean = per[0]["layer:0"].data.map((v, j) => (v + per[1]["layer:0"].data[j]) / 2);
    assert.ok(maxDiff(sm["layer:0"].data, mean) < 1e-4);
  } finally {
    encoder.dispose();
  }
});

Deno.test("an encoder of unknown depth needs the depth option; one without the blocks says which it lacks", async () => {
  const encoder = await createDinov3OnnxEncoder(TINY, { runtime: "node" });
  try {
    // wrapped as the CLI relabels encoders: no config
    const wrapped = {
      info: encoder.info,
      preprocess: encoder.preprocess,
      encode: encoder.encode.bind(encoder),
      dispose() {},
    };
    const ctx = { encoder: wrapped, resolution: 64, batchSize: 2 };
    // a wrapped encoder (no config) without the depth option
    await assert.rejects(
      () => createImage2dAdapter({ feature: "last4" }).extractBatch!([image(1)], ctx),
      /depth must be known/,
    );
    // the graph was built without intermediate blocks
    await assert.rejects(
      () => createImage2dAdapter({ feature: "last4", depth: 2 }).extractBatch!([image(1)], ctx),
      /intermediateLayers/,
    );
  } finally {
    encoder.dispose();
  }
});

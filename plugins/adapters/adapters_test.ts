import assert from "node:assert/strict";
import type { Encoder, EncoderOutput, Image2D, Volume } from "../../core/plugin.ts";
import type { HostTensor } from "../../core/tensor.ts";
import { IMAGENET_PREPROCESS } from "../../core/image.ts";
import { createImage2dAdapter, image2dAdapter } from "./image2d/mod.ts";
import { createSliceMeanAdapter, sliceMeanAdapter } from "./slice_mean/mod.ts";

/**
 * A transparent encoder for testing adapters: CLS = per-channel mean of the
 * pixel values it receives, patch mean = per-channel max; it records every
 * batch shape.
 */
function probeEncoder(): Encoder & { batches: number[][] } {
  const batches: number[][] = [];
  return {
    batches,
    info: {
      id: "probe",
      backend: "cpu-reference",
      backendReason: "test",
      dim: 3,
      patchSize: 16,
      numRegisters: 0,
      weightsSha256: "0".repeat(64),
      precision: "f32",
    },
    preprocess: IMAGENET_PREPROCESS,
    encode(px: HostTensor): Promise<EncoderOutput> {
      const [b, c, h, w] = px.shape;
      batches.push([...px.shape]);
      const cls = new Float32Array(b * 3);
      const mx = new Float32Array(b * 3).fill(-Infinity);
      for (let i = 0; i < b; i++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0; k < h * w; k++) {
            const v = px.data[((i * c + ch) * h * w) + k];
            s += v;
            mx[i * 3 + ch] = Math.max(mx[i * 3 + ch], v);
          }
          cls[i * 3 + ch] = s / (h * w);
        }
      }
      return Promise.resolve({
        cls: { data: cls, shape: [b, 3] },
        registers: { data: new Float32Array(0), shape: [b, 0, 3] },
        patches: { data: new Float32Array(0), shape: [b, 0, 0, 3] },
        patchMean: { data: mx, shape: [b, 3] },
      });
    },
    dispose() {},
  };
}

const norm = (v: number, c: number) =>
  (v - IMAGENET_PREPROCESS.mean[c]) / IMAGENET_PREPROCESS.std[c];

Deno.test("image2d batches images, replicates grey and returns cls, mean and cls+mean", async () => {
  const enc = probeEncoder();
  const grey = (v: number): Image2D => ({
    kind: "image",
    data: new Uint8Array(20 * 20).fill(v),
    width: 20,
    height: 20,
    channels: 1,
  });
  const adapter = createImage2dAdapter();
  const out = await adapter.extractBatch!([grey(0), grey(255), grey(51)], {
    encoder: enc,
    resolution: 32,
    batchSize: 2,
  });
  assert.deepEqual(enc.batches, [[2, 3, 32, 32], [1, 3, 32, 32]]);
  assert.equal(out.length, 3);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(out[1].cls.data[c] - norm(1, c)) < 1e-5);
    assert.ok(Math.abs(out[2].cls.data[c] - norm(0.2, c)) < 1e-5);
  }
  assert.deepEqual(out[0]["cls+mean"].shape, [6]);
  assert.deepEqual([...out[0]["cls+mean"].data.slice(0, 3)], [...out[0].cls.data]);
  assert.deepEqual([...out[0]["cls+mean"].data.slice(3)], [...out[0].mean.data]);
  const single = await adapter.extract(grey(51), { encoder: enc, resolution: 32, batchSize: 2 });
  assert.deepEqual([...single.cls.data], [...out[2].cls.data]);
  await assert.rejects(
    () =>
      adapter.extract({
        kind: "volume",
        data: new Float32Array(1),
        shape: [1, 1, 1],
        spacingMm: [1, 1, 1],
      }, {
        encoder: enc,
        resolution: 32,
        batchSize: 1,
      }),
    /must be an image: current kind is "volume"/,
  );
  assert.equal(image2dAdapter.create().featureKinds.includes("cls+mean"), true);
});

Deno.test("slice-mean windows every slice, batches slices and averages over them", async () => {
  const enc = probeEncoder();
  // 5 slices of 16×16 at constant HU: -1000, -500, 0, 500, 1000 → window [0, .25, .5, .75, 1]
  const d = 5, h = 16, w = 16;
  const data = new Float32Array(d * h * w);
  for (let z = 0; z < d; z++) data.fill(-1000 + 500 * z, z * h * w, (z + 1) * h * w);
  const volume: Volume = { kind: "volume", data, shape: [d, h, w], spacingMm: [2, 0.7, 0.7] };
  const adapter = createSliceMeanAdapter();
  const f = await adapter.extract(volume, { encoder: enc, resolution: 16, batchSize: 2 });
  assert.deepEqual(enc.batches.map((b) => b[0]), [2, 2, 1]);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(f.cls.data[c] - norm(0.5, c)) < 1e-5);
  const stepped = createSliceMeanAdapter({ sliceStep: 2, windowMin: -1000, windowMax: 0 });
  const g = await stepped.extract(volume, { encoder: enc, resolution: 16, batchSize: 8 });
  // slices 0, 2, 4 → window [-1000, 0] → 0, 1, 1 → mean 2/3
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(g.cls.data[c] - norm(2 / 3, c)) < 1e-5);
  assert.throws(() => createSliceMeanAdapter({ windowMin: 5, windowMax: 5 }), RangeError);
  assert.throws(() => sliceMeanAdapter.create({ sliceStep: 0 }), RangeError);
  await assert.rejects(
    () =>
      adapter.extract({ ...volume, data: new Float32Array(0), shape: [0, h, w] }, {
        encoder: enc,
        resolution: 16,
        batchSize: 2,
      }),
    /no slices/,
  );
});

import assert from "node:assert/strict";
import {
  IMAGENET_PREPROCESS,
  imagesToBatch,
  imageToPixelValues,
  resizeBilinear,
  targetSize,
  toUnitRange,
} from "./image.ts";
import { parseSafetensors } from "./safetensors.ts";

const FIXTURE = new URL("../fixtures/dinov3/tiny-public/", import.meta.url);

Deno.test("imageToPixelValues() reproduces the fixture's pixel_values from image_u8", async () => {
  const { tensors } = parseSafetensors(
    await Deno.readFile(new URL("expected.safetensors", FIXTURE)),
  );
  for (const g of ["g0", "g1"]) {
    const u8 = tensors[`${g}.image_u8`];
    const [b, h, w] = u8.shape;
    const expected = tensors[`${g}.pixel_values`].data as Float32Array;
    for (let i = 0; i < b; i++) {
      const data = (u8.data as Uint8Array).subarray(i * h * w * 3, (i + 1) * h * w * 3);
      const px = imageToPixelValues(
        { kind: "image", data, width: w, height: h, channels: 3 },
        [h, w],
        IMAGENET_PREPROCESS,
      );
      const ref = expected.subarray(i * 3 * h * w, (i + 1) * 3 * h * w);
      let max = 0;
      for (let k = 0; k < px.length; k++) max = Math.max(max, Math.abs(px[k] - ref[k]));
      assert.ok(max < 1e-6, `${g}[${i}] max diff ${max}`);
    }
  }
});

Deno.test("resizeBilinear() averages when shrinking by an integer factor (antialias)", () => {
  // 4 → 2 with triangle support 2: weights over 4 taps (1/8, 3/8, 3/8, 1/8) renormalised at borders.
  const out = resizeBilinear(new Float32Array([0, 0, 4, 4]), 1, 4, 1, 1, 2);
  // centre 1.0, radius 2: taps 0,1,2 at distances .25,.25,.75 → weights .75,.75,.25 (sum 1.75),
  // so out[0] = 4 × .25 / 1.75 (Pillow's BILINEAR reduce); out[1] mirrors it.
  assert.ok(Math.abs(out[0] - 1 / 1.75) < 1e-6, `${out[0]}`);
  assert.ok(Math.abs(out[1] - (4 - 1 / 1.75)) < 1e-6, `${out[1]}`);
  // a constant image stays constant at any size
  const c = resizeBilinear(new Float32Array(7 * 5 * 3).fill(0.3), 7, 5, 3, 16, 3);
  assert.ok(c.every((v) => Math.abs(v - 0.3) < 1e-6));
  assert.throws(() => resizeBilinear(new Float32Array(3), 2, 2, 1, 4, 4), TypeError);
});

Deno.test("grayscale is replicated to 3 channels and RGBA drops alpha", () => {
  const grey = {
    kind: "image" as const,
    data: new Uint16Array([0, 65535]),
    width: 2,
    height: 1,
    channels: 1,
  };
  const px = imageToPixelValues(grey, [1, 2], IMAGENET_PREPROCESS);
  for (let c = 0; c < 3; c++) {
    assert.ok(
      Math.abs(px[c * 2] - (0 - IMAGENET_PREPROCESS.mean[c]) / IMAGENET_PREPROCESS.std[c]) < 1e-6,
    );
    assert.ok(
      Math.abs(px[c * 2 + 1] - (1 - IMAGENET_PREPROCESS.mean[c]) / IMAGENET_PREPROCESS.std[c]) <
        1e-6,
    );
  }
  const rgba = {
    kind: "image" as const,
    data: new Uint8Array([255, 0, 0, 7]),
    width: 1,
    height: 1,
    channels: 4,
  };
  const p2 = imageToPixelValues(rgba, [1, 1], IMAGENET_PREPROCESS);
  assert.ok(Math.abs(p2[0] - (1 - 0.485) / 0.229) < 1e-6);
  assert.ok(Math.abs(p2[1] - (0 - 0.456) / 0.224) < 1e-6);
  assert.deepEqual(
    [...toUnitRange({
      kind: "image",
      data: new Int16Array([-5, 5, 15]),
      width: 3,
      height: 1,
      channels: 1,
      intensity: "minmax",
    })],
    [0, 0.5, 1],
  );
});

Deno.test("targetSize() validates multiples and rounds native sizes", () => {
  assert.deepEqual(targetSize(224, 1000, 800, 16), [224, 224]);
  assert.deepEqual(targetSize([48, 80], 1, 1, 16), [48, 80]);
  assert.deepEqual(targetSize("native", 1000, 5, 16), [1008, 16]);
  assert.throws(() => targetSize(100, 1, 1, 16), /positive multiple of 16: current value is 100/);
  const batch = imagesToBatch(
    [{ kind: "image", data: new Uint8Array(9), width: 3, height: 3, channels: 1 }],
    32,
    IMAGENET_PREPROCESS,
  );
  assert.deepEqual(batch.shape, [1, 3, 32, 32]);
  assert.throws(() => imagesToBatch([], 32, IMAGENET_PREPROCESS), RangeError);
});

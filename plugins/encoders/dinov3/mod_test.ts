import assert from "node:assert/strict";
import { GpuUnavailableError } from "../../../core/errors.ts";
import { parseSafetensors } from "../../../core/safetensors.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import { gpuTest, maxAbsDiff } from "../../../kernels/_testing.ts";
import { DINOV3_PRESETS, parseDinov3Config } from "./config.ts";
import {
  checkPrecision,
  createDinov3Encoder,
  createDinov3Plugin,
  createDinov3ReferenceEncoder,
  createDinov3WebGpuEncoder,
  DINOV3_ENCODERS,
  dinov3ActivationBytesPerImage,
  dinov3MaxBatch,
  dinov3MemoryEstimate,
  dinov3WeightBytes,
  planChunks,
} from "./mod.ts";

const FIXTURE = new URL("../../../fixtures/dinov3/tiny-public", import.meta.url).pathname;
const expected = parseSafetensors(await Deno.readFile(`${FIXTURE}/expected.safetensors`)).tensors;
const G0: HostTensor = {
  data: expected["g0.pixel_values"].data as Float32Array,
  shape: expected["g0.pixel_values"].shape,
};

Deno.test("the four DINOv3 plugins have stable names and refuse unknown presets", () => {
  assert.deepEqual(DINOV3_ENCODERS.map((p) => p.name), [
    "dinov3",
    "dinov3-vits16",
    "dinov3-vitb16",
    "dinov3-vitl16",
  ]);
  for (const p of DINOV3_ENCODERS) assert.equal(p.kind, "encoder");
  assert.throws(() => createDinov3Plugin("dinov3-vits14"), /preset must be one of/);
});

Deno.test("createDinov3Encoder() names what is wrong before touching a GPU", async () => {
  await assert.rejects(() => createDinov3Encoder({}), /options.weights must name a folder/);
  await assert.rejects(
    () => createDinov3Encoder({ weights: "/nonexistent/dinov3" }),
    (e: unknown) => e instanceof Deno.errors.NotFound && /config.json is missing/.test(String(e)),
  );
  // The fixture is a 64-wide model: the ViT-S preset plugin refuses it by name.
  await assert.rejects(
    () => DINOV3_ENCODERS[1].create({ weights: FIXTURE }),
    /Cannot create dinov3-vits16 encoder as .*config.json describes another model \(dim 64, depth 2, heads 4\)/,
  );
  await assert.rejects(
    () => createDinov3Encoder({ weights: FIXTURE, precision: "f64" as "f32" }),
    /precision must be "f32" or "f16"/,
  );
});

Deno.test("checkPrecision() refuses f16 without shader-f16, and says f16 is not implemented otherwise", () => {
  checkPrecision("f32", undefined);
  assert.throws(
    () => checkPrecision("f16", { hasF16: false }),
    (e: unknown) =>
      e instanceof GpuUnavailableError && /lacks the "shader-f16" feature/.test(String(e)),
  );
  assert.throws(() => checkPrecision("f16", { hasF16: true }), /not implemented yet/);
});

Deno.test("planChunks() balances chunks under the limit", () => {
  assert.deepEqual(planChunks(8, 7), [4, 4]);
  assert.deepEqual(planChunks(8, 8), [8]);
  assert.deepEqual(planChunks(5, 2), [2, 2, 1]);
  assert.throws(() => planChunks(1, 0), RangeError);
});

Deno.test("dinov3MaxBatch() keeps the largest activation under the binding limit", () => {
  const vitl = DINOV3_PRESETS["dinov3-vitl16"];
  // ViT-L at 512 px: N = 1029 tokens, MLP hidden 4096 → 16.9 MB per image.
  assert.equal(dinov3ActivationBytesPerImage(vitl, 512, 512), 1029 * 4096 * 4);
  const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 ** 31 };
  assert.equal(dinov3MaxBatch(vitl, 512, 512, limits), 7);
  assert.equal(dinov3MaxBatch(DINOV3_PRESETS["dinov3-vits16"], 224, 224, limits), 108);
  // Parameters of the HF ViT-S checkpoint (21,596,544), without the unused mask token (384),
  // plus the zero k bias of each of the 12 fused q|k|v biases.
  assert.equal(
    dinov3WeightBytes(DINOV3_PRESETS["dinov3-vits16"]),
    (21_596_544 - 384 + 12 * 384) * 4,
  );
});

gpuTest(
  "the WebGPU encoder splits batches, reuses its pool and validates its inputs",
  async (gpu) => {
    const encoder = await createDinov3WebGpuEncoder(gpu, FIXTURE);
    try {
      const config = parseDinov3Config(
        JSON.parse(await Deno.readTextFile(`${FIXTURE}/config.json`)),
      );
      assert.equal(encoder.weights.bytes, dinov3WeightBytes(config));
      assert.equal(encoder.info.backend, "webgpu");
      assert.match(encoder.info.weightsSha256, /^[0-9a-f]{64}$/);
      const whole = await encoder.encode(G0, { intermediateLayers: [1, 0] });
      const allocated = encoder.pool.allocatedBytes;
      const again = await encoder.encode(G0);
      assert.equal(encoder.pool.allocatedBytes, allocated, "the second batch reuses the pool");
      assert.deepEqual([...again.cls.data], [...whole.cls.data]);
      assert.equal(again.intermediates, undefined);
      assert.deepEqual(whole.intermediates!.map((t) => t.shape), [[2, 21, 64], [2, 21, 64]]);

      const split = await createDinov3WebGpuEncoder(gpu, FIXTURE, { maxBatch: 1 });
      try {
        const parts = await split.encode(G0, { intermediateLayers: [1, 0] });
        for (const k of ["cls", "registers", "patches", "patchMean"] as const) {
          assert.deepEqual(parts[k].shape, whole[k].shape);
          assert.ok(maxAbsDiff(parts[k].data, whole[k].data) < 1e-6, k);
        }
        assert.ok(maxAbsDiff(parts.intermediates![0].data, whole.intermediates![0].data) < 1e-6);
        await assert.rejects(() => split.encodeToGpu(G0), /at most 1 images/);
      } finally {
        split.dispose();
      }

      await assert.rejects(
        () => encoder.encode({ data: new Float32Array(48), shape: [1, 1, 4, 12] }),
        /pixel values must have shape \[B, 3, H, W\]/,
      );
      await assert.rejects(
        () => encoder.encode({ data: new Float32Array(3 * 8 * 32), shape: [1, 3, 8, 32] }),
        RangeError,
      );
      await assert.rejects(() => encoder.encode(G0, { intermediateLayers: [2] }), RangeError);
    } finally {
      encoder.dispose();
    }
    await assert.rejects(() => encoder.encode(G0), /disposed/);
  },
);

gpuTest("dinov3MemoryEstimate() of ViT-L/16 at 512 px, batch 8, stays under 4 GB", (gpu) => {
  const m = dinov3MemoryEstimate(gpu, DINOV3_PRESETS["dinov3-vitl16"], 8, 512, 512);
  // 128 MiB bindings: 7 images fit, so 8 go as 4 + 4.
  if (gpu.limits.maxStorageBufferBindingSize === 128 * 2 ** 20) assert.deepEqual(m.chunks, [4, 4]);
  assert.equal(m.weightsBytes, dinov3WeightBytes(DINOV3_PRESETS["dinov3-vitl16"]));
  assert.ok(m.activationBytes >= 4 * 1029 * 4096 * 4, "holds at least the MLP hidden of a chunk");
  assert.ok(m.weightsBytes + m.activationBytes < 4e9);
});

gpuTest("the reference (CPU) encoder agrees with the WebGPU encoder", async (gpu) => {
  const ref = await createDinov3ReferenceEncoder(FIXTURE);
  const webgpu = await createDinov3WebGpuEncoder(gpu, FIXTURE);
  try {
    assert.equal(ref.info.backend, "cpu-reference");
    const a = await ref.encode(G0, { intermediateLayers: [0] });
    const b = await webgpu.encode(G0, { intermediateLayers: [0] });
    assert.ok(maxAbsDiff(a.patches.data, b.patches.data) < 2e-5);
    assert.ok(maxAbsDiff(a.intermediates![0].data, b.intermediates![0].data) < 2e-5);
  } finally {
    webgpu.dispose();
    ref.dispose();
  }
});

gpuTest("createDinov3Encoder() refuses f16 on an adapter without shader-f16", async (gpu) => {
  if (gpu.hasF16) return; // only meaningful where the feature is missing (llvmpipe)
  await assert.rejects(
    () => createDinov3Encoder({ weights: FIXTURE, backend: "webgpu", precision: "f16", gpu }),
    (e: unknown) => e instanceof GpuUnavailableError && /shader-f16/.test(String(e)),
  );
});

gpuTest("createDinov3Encoder() runs WebGPU on request and records why", async (gpu) => {
  const encoder = await createDinov3Encoder({ weights: FIXTURE, backend: "webgpu", gpu });
  try {
    assert.equal(encoder.info.backend, "webgpu");
    assert.match(encoder.info.backendReason, /requested --backend webgpu/);
    assert.equal(encoder.info.id, "dinov3");
  } finally {
    encoder.dispose();
  }
});

Deno.test("createDinov3Encoder() delegates --backend onnx to the ONNX backend", async () => {
  const encoder = await createDinov3Encoder({ weights: FIXTURE, backend: "onnx" });
  try {
    assert.match(encoder.info.backend, /^onnx/);
    assert.match(encoder.info.backendReason, /requested --backend onnx/);
    const out = await encoder.encode(G0);
    const cls = expected["g0.f64.cls"].data as Float64Array;
    assert.ok(maxAbsDiff(out.cls.data, cls) < 5e-5);
  } finally {
    encoder.dispose();
  }
});

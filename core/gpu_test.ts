import assert from "node:assert/strict";
import { isSoftwareAdapter, requestGpu } from "./gpu.ts";
import { DeviceLostError, GpuUnavailableError } from "./errors.ts";
import { gpuTest } from "../kernels/_testing.ts";
import { ELEMENTWISE_SCALE_SPEC } from "./testdata/gpu_specs.ts";

Deno.test("isSoftwareAdapter() recognises CPU rasterisers and fallback adapters", () => {
  assert.equal(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }), true);
  assert.equal(isSoftwareAdapter({ device: "SwiftShader Device (Subzero)" }), true);
  assert.equal(isSoftwareAdapter({ description: "Microsoft Basic Render Driver" }), true);
  assert.equal(isSoftwareAdapter({ description: "NVIDIA H200", vendor: "nvidia" }), false);
  assert.equal(isSoftwareAdapter({ description: "AMD Radeon" }, true), true);
});

Deno.test("without WebGPU or an adapter, requestGpu() throws GpuUnavailableError saying how to get one", async () => {
  // A child process where navigator.gpu is absent, then where it finds no adapter.
  const script = `
    const { requestGpu } = await import(${
    JSON.stringify(new URL("./gpu.ts", import.meta.url).href)
  });
    const report = async () => {
      try { await requestGpu(); console.log("no error"); }
      catch (e) { console.log(e.name + ": " + e.message); }
    };
    Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
    await report();
    Object.defineProperty(navigator, "gpu", { value: { requestAdapter: async () => null }, configurable: true });
    await report();`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [missing, none] = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.match(missing, /^GpuUnavailableError: Cannot use WebGPU as navigator\.gpu is missing/);
  assert.match(none, /^GpuUnavailableError: Cannot use WebGPU as no adapter was found/);
  for (const line of [missing, none]) {
    assert.match(line, /mesa-vulkan-drivers/);
    assert.match(line, /--backend onnx/);
  }
});

gpuTest("buffers over the device limits are refused with a RangeError naming the limit", (gpu) => {
  const max = gpu.limits.maxStorageBufferBindingSize;
  assert.throws(
    () => gpu.createStorageBuffer(max + 4, "too_big"),
    (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(
        e.message,
        /buffer "too_big".*maxStorageBufferBindingSize \(\d+ bytes\): current size is \d+ bytes/,
      );
      return true;
    },
  );
  assert.throws(
    () => gpu.checkBufferSize(gpu.limits.maxBufferSize + 1, "huge", false),
    /maxBufferSize/,
  );
  gpu.checkBufferSize(max, "fits");
});

gpuTest("the pipeline cache compiles once per label and constants", async (gpu) => {
  const before = gpu.pipelineCount;
  const a = await gpu.pipeline({ ...ELEMENTWISE_SCALE_SPEC, constants: { WORKGROUP_SIZE: 64 } });
  const b = await gpu.pipeline({ ...ELEMENTWISE_SCALE_SPEC, constants: { WORKGROUP_SIZE: 64 } });
  const c = await gpu.pipeline({ ...ELEMENTWISE_SCALE_SPEC, constants: { WORKGROUP_SIZE: 128 } });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(gpu.pipelineCount, before + 2);
});

Deno.test({
  name: "a lost device rejects pending and later readbacks with DeviceLostError",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let gpu;
    try {
      gpu = await requestGpu();
    } catch (e) {
      if (e instanceof GpuUnavailableError && Deno.env.get("REQUIRE_GPU") !== "1") return;
      throw e;
    }
    const buffer = gpu.upload(new Float32Array([1, 2, 3, 4]), "lost_test");
    assert.deepEqual([...new Float32Array(await gpu.readback(buffer))], [1, 2, 3, 4]);
    const pending = gpu.readback(buffer);
    gpu.destroy();
    await assert.rejects(
      () => pending.then(() => gpu.lost).then((e) => Promise.reject(e)),
      DeviceLostError,
    );
    const lost = await gpu.lost;
    assert.equal(lost.reason, "destroyed");
    assert.equal(gpu.isLost, true);
    await assert.rejects(() => gpu.readback(buffer), DeviceLostError);
    assert.throws(() => gpu.upload(new Float32Array(1), "after"), DeviceLostError);
  },
});

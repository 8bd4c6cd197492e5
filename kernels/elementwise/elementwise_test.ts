import assert from "node:assert/strict";
import { binary, checkBinaryArgs, packBinaryParams, scale } from "./elementwise.ts";
import { binaryRef, broadcastShapes, scaleRef } from "./elementwise_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { ShaderCompilationError } from "../../core/errors.ts";
import { BINARY_WGSL } from "./elementwise.wgsl.ts";

Deno.test("binaryRef() matches hand numbers with broadcasting", () => {
  const a = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  const row = { data: new Float32Array([10, 20, 30]), shape: [3] };
  const col = { data: new Float32Array([100, 200]), shape: [2, 1] };
  assert.deepEqual([...binaryRef("add", a, row).data], [11, 22, 33, 14, 25, 36]);
  assert.deepEqual([...binaryRef("mul", a, col).data], [100, 200, 300, 800, 1000, 1200]);
  assert.deepEqual([...binaryRef("sub", row, col).data], [-90, -80, -70, -190, -180, -170]);
  assert.deepEqual(binaryRef("sub", row, col).shape, [2, 3]);
  assert.deepEqual([...scaleRef(a, 2, 1).data], [3, 5, 7, 9, 11, 13]);
});

Deno.test("checkBinaryArgs() rejects bad shapes, dtypes and ranks without a GPU", () => {
  assert.throws(
    () => checkBinaryArgs("add", { shape: [2, 3], dtype: "f32" }, { shape: [4], dtype: "f32" }),
    /Cannot broadcast shapes as axis 1 must be equal or 1: current shapes are \[2, 3\] and \[4\]/,
  );
  assert.throws(
    () => checkBinaryArgs("add", { shape: [2], dtype: "f16" }, { shape: [2], dtype: "f32" }),
    TypeError,
  );
  assert.throws(
    () => checkBinaryArgs("div", { shape: [2], dtype: "f32" }, { shape: [2], dtype: "f32" }),
    TypeError,
  );
  assert.throws(
    () =>
      checkBinaryArgs("add", { shape: new Array(9).fill(1), dtype: "f32" }, {
        shape: [1],
        dtype: "f32",
      }),
    RangeError,
  );
  assert.deepEqual(broadcastShapes([1], [3, 1, 2]), [3, 1, 2]);
});

Deno.test("packBinaryParams() lays out n, rank and three stride tables", () => {
  const u = new Uint32Array(packBinaryParams([2, 3], [2, 3], [3]));
  assert.equal(u.byteLength, 112);
  assert.deepEqual([...u.slice(0, 2)], [6, 2]);
  assert.deepEqual([...u.slice(4, 6)], [2, 3]);
  assert.deepEqual([...u.slice(12, 14)], [3, 1]);
  assert.deepEqual([...u.slice(20, 22)], [0, 1]);
});

const SHAPES: [number[], number[]][] = [
  [[201, 384], [384]], // DINOv3 ViT-S tokens + bias
  [[201, 768], [201, 768]],
  [[1029, 1024], [1029, 1]],
  [[3, 1, 5], [1, 7, 1]],
  [[1], [1]],
  [[257, 263], [263]], // not a multiple of the workgroup size
];

for (const [sa, sb] of SHAPES) {
  for (const op of ["add", "mul", "sub"] as const) {
    gpuTest(`binary() matches binaryRef() for ${op} on [${sa}] and [${sb}]`, async (gpu) => {
      const a = randomTensor(sa, 1);
      const b = randomTensor(sb, 2);
      const out = await binary(gpu, { op, a: gpu.uploadTensor(a), b: gpu.uploadTensor(b) });
      assertAllClose(await gpu.readTensor(out), binaryRef(op, a, b), { atol: 1e-6, rtol: 1e-6 });
    });
  }
}

gpuTest("binary() folds dispatches beyond 65535 workgroups", async (gpu) => {
  const rows = 65536 + 17;
  const a = randomTensor([rows, 257], 3);
  const b = randomTensor([257], 4);
  const out = await binary(gpu, { op: "add", a: gpu.uploadTensor(a), b: gpu.uploadTensor(b) });
  assertAllClose(await gpu.readTensor(out), binaryRef("add", a, b), { atol: 1e-6, rtol: 1e-6 });
});

gpuTest("scale() matches scaleRef()", async (gpu) => {
  const x = randomTensor([513, 7], 5);
  const out = await scale(gpu, { x: gpu.uploadTensor(x), alpha: -1.5, beta: 0.25 });
  assertAllClose(await gpu.readTensor(out), scaleRef(x, -1.5, 0.25), { atol: 1e-6, rtol: 1e-6 });
});

gpuTest("a WGSL error surfaces as ShaderCompilationError with the label", async (gpu) => {
  const broken = BINARY_WGSL.replace("out[i] = r;", "out[i] = r + 1u;");
  await assert.rejects(
    () => gpu.pipeline({ label: "binary_broken", code: broken }),
    (e: unknown) => {
      assert.ok(e instanceof ShaderCompilationError);
      assert.equal(e.label, "binary_broken");
      assert.ok(e.messages.length > 0 && e.messages[0].type === "error");
      return true;
    },
  );
});

import assert from "node:assert/strict";
import { attention, type AttentionShape, checkAttentionArgs } from "./attention.ts";
import { defaultAttentionShape } from "./attention.wgsl.ts";
import { attentionRef } from "./attention_ref.ts";
import { uploadRopeTables } from "../rope/rope.ts";
import { ropeTablesRef } from "../rope/rope_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import type { GpuContext } from "../../core/gpu.ts";
import type { HostTensor } from "../../core/tensor.ts";

Deno.test("attentionRef() matches a hand-computed softmax", () => {
  // One head of 2 channels, 2 tokens, no RoPE. Scale 1.
  // q0 = [1, 0], q1 = [0, 1]; k0 = [ln 3, 0], k1 = [0, 0]; v0 = [1, 0], v1 = [0, 1]
  const ln3 = Math.log(3);
  const qkv = { data: new Float32Array([1, 0, ln3, 0, 1, 0, 0, 1, 0, 0, 0, 1]), shape: [1, 2, 6] };
  const o = attentionRef(qkv, { heads: 1, scale: 1 });
  // Query 0: scores [ln 3, 0] -> weights [3/4, 1/4]; query 1: scores [0, 0] -> [1/2, 1/2].
  assertAllClose(o.data, [0.75, 0.25, 0.5, 0.5], { atol: 1e-7, rtol: 0 });
});

Deno.test("attentionRef() rotates q and k of patch tokens only", () => {
  // With prefix = N no token is rotated: tables are ignored.
  const qkv = randomTensor([1, 3, 24], 1);
  const t = ropeTablesRef(1, 3, 8, 100);
  const plain = attentionRef(qkv, { heads: 1 });
  assert.deepEqual(
    attentionRef(qkv, { heads: 1, sin: t.sin, cos: t.cos, prefix: 0 }).data.length,
    plain.data.length,
  );
  // Rotating every token by the same angle leaves q·k unchanged (a rotation is orthogonal).
  const same = ropeTablesRef(1, 1, 8, 100);
  const rep = (a: HostTensor) => ({
    data: new Float32Array([...a.data, ...a.data, ...a.data]),
    shape: [3, 8],
  });
  assertAllClose(
    attentionRef(qkv, { heads: 1, sin: rep(same.sin), cos: rep(same.cos), prefix: 0 }),
    plain,
    { atol: 1e-6 },
  );
});

Deno.test("checkAttentionArgs() rejects wrong shapes", () => {
  assert.throws(
    () => checkAttentionArgs({ qkv: [1, 20, 192], heads: 4, table: [16, 16], prefix: 5 }),
    /RoPE tables must have shape \[15, 16\]: current shape is \[16, 16\]/,
  );
  assert.throws(() => checkAttentionArgs({ qkv: [1, 20, 30], heads: 1 }), /multiple of 4/);
  assert.throws(() => checkAttentionArgs({ qkv: [1, 20, 192], heads: 4, prefix: 21 }), RangeError);
  assert.throws(
    () => checkAttentionArgs({ qkv: [1, 20, 192], heads: 4, out: [1, 20, 192] }),
    TypeError,
  );
});

async function check(
  gpu: GpuContext,
  B: number,
  h: number,
  w: number,
  heads: number,
  D: number,
  prefix: number,
  scale = 1,
  atol = 2e-6,
  shape?: AttentionShape,
) {
  const N = prefix + h * w;
  const qkv = randomTensor([B, N, 3 * heads * D], N * heads + D, scale);
  const tables = ropeTablesRef(h, w, D, 100);
  const o = await attention(gpu, {
    qkv: gpu.uploadTensor(qkv),
    heads,
    rope: uploadRopeTables(gpu, tables, [h, w]),
    prefix,
    shape,
  });
  const expected = attentionRef(qkv, { heads, sin: tables.sin, cos: tables.cos, prefix });
  const got = await gpu.readTensor(o);
  assert.ok(got.data.every(Number.isFinite));
  assertAllClose(got, expected, { atol, rtol: 1e-5 });
}

gpuTest(
  "attention() matches attentionRef() at N = 201 (ViT-S at 224 px)",
  (gpu) => check(gpu, 2, 14, 14, 6, 64, 5),
);

gpuTest(
  "attention() matches attentionRef() at N = 1029 (ViT-L at 512 px, 2 of 16 heads)",
  (gpu) => check(gpu, 1, 32, 32, 2, 64, 5),
);

gpuTest(
  "attention() matches attentionRef() on the fixture's 3×5 grid (Dh 16)",
  (gpu) => check(gpu, 2, 3, 5, 4, 16, 5),
);

gpuTest("attention() handles N below, at and just past a workgroup of queries", async (gpu) => {
  await check(gpu, 1, 1, 2, 1, 8, 5); // N = 7
  await check(gpu, 1, 3, 9, 2, 32, 5); // N = 32
  await check(gpu, 1, 4, 7, 3, 12, 5); // N = 33, Dh 12 (Dh/2 not a multiple of 4)
});

gpuTest(
  "attention() stays finite with scores in the hundreds (max-subtracted softmax)",
  // Scores near 300 carry f32 rounding of ~1e-4 in the exponent, hence atol 5e-4.
  (gpu) => check(gpu, 1, 4, 4, 2, 64, 5, 6, 5e-4),
);

gpuTest(
  "attention() matches attentionRef() with the hardware tile and 2 queries per thread",
  async (gpu) => {
    await check(gpu, 2, 5, 5, 3, 64, 5, 1, 2e-6, defaultAttentionShape(64, false));
    await check(gpu, 1, 6, 7, 2, 16, 5, 1, 2e-6, {
      headDim: 16,
      threads: 4,
      queriesPerThread: 2,
    });
  },
);

gpuTest("attention() without RoPE matches attentionRef() without tables", async (gpu) => {
  const qkv = randomTensor([2, 19, 3 * 2 * 16], 3);
  const o = await attention(gpu, { qkv: gpu.uploadTensor(qkv), heads: 2 });
  assertAllClose(await gpu.readTensor(o), attentionRef(qkv, { heads: 2 }), {
    atol: 2e-6,
    rtol: 1e-5,
  });
});

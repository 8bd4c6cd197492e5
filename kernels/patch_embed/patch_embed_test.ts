import assert from "node:assert/strict";
import { checkPatchEmbedArgs, patchEmbed } from "./patch_embed.ts";
import { patchEmbedRef } from "./patch_embed_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";

Deno.test("patchEmbedRef() flattens channel-major, orders patches row-major and ignores the remainder", () => {
  // 2 channels, 3×5 pixels, P = 2: grid 1×2, the last row and column are ignored.
  const pixels = { data: new Float32Array(30).map((_, i) => i), shape: [1, 2, 3, 5] };
  // C = 1 selecting pixel (c=1, ky=1, kx=0) of each patch.
  const weight = { data: new Float32Array(8), shape: [1, 2, 2, 2] };
  weight.data[1 * 4 + 1 * 2 + 0] = 1;
  const y = patchEmbedRef(pixels, {
    weight,
    bias: { data: new Float32Array([0]), shape: [1] },
    cls: { data: new Float32Array([7]), shape: [1] },
    registers: { data: new Float32Array(0), shape: [0, 1] },
  });
  // patch (0,0): pixel (1, 1, 0) = 15 + 5; patch (0,1): pixel (1, 1, 2) = 15 + 7.
  assert.deepEqual([...y.data], [7, 20, 22]);
});

Deno.test("checkPatchEmbedArgs() rejects wrong shapes", () => {
  const ok = {
    pixels: [1, 3, 48, 80],
    weight: [64, 3, 16, 16],
    bias: [64],
    cls: [1, 1, 64],
    registers: [1, 4, 64],
  };
  assert.equal(checkPatchEmbedArgs(ok).tokens, 20);
  assert.throws(
    () => checkPatchEmbedArgs({ ...ok, pixels: [1, 1, 48, 80] }),
    /pixels must have shape \[B, 3, H, W\]: current shape is \[1, 1, 48, 80\]/,
  );
  assert.throws(() => checkPatchEmbedArgs({ ...ok, bias: [63] }), TypeError);
  assert.throws(() => checkPatchEmbedArgs({ ...ok, registers: [4, 63] }), TypeError);
  assert.throws(() => checkPatchEmbedArgs({ ...ok, out: [1, 21, 64] }), TypeError);
  assert.throws(() => checkPatchEmbedArgs({ ...ok, weight: [64, 3, 16, 8] }), TypeError);
});

const CASES: [number[], number, number, number][] = [
  // pixels, C, P, R
  [[2, 3, 224, 224], 384, 16, 4], // ViT-S at 224 px
  [[1, 3, 48, 80], 64, 16, 4], // the fixture's non-square group
  [[2, 3, 50, 83], 24, 16, 4], // not multiples of 16: remainder ignored
  [[3, 1, 9, 7], 5, 3, 0], // one channel, no registers, odd sizes
];

for (const [shape, C, P, R] of CASES) {
  gpuTest(
    `patchEmbed() matches patchEmbedRef() on [${shape}] (C ${C}, P ${P}, R ${R})`,
    async (gpu) => {
      const pixels = randomTensor(shape, C, 2);
      const weight = randomTensor([C, shape[1], P, P], C + 1, 1 / P);
      const bias = randomTensor([C], 3);
      const cls = randomTensor([1, 1, C], 4);
      const registers = randomTensor([1, R, C], 5);
      const y = await patchEmbed(gpu, {
        pixels: gpu.uploadTensor(pixels),
        weight: gpu.uploadTensor(weight),
        bias: gpu.uploadTensor(bias),
        cls: gpu.uploadTensor(cls),
        registers: R > 0
          ? gpu.uploadTensor(registers)
          : { ...gpu.uploadTensor(cls), shape: [0, C] },
      });
      assertAllClose(
        await gpu.readTensor(y),
        patchEmbedRef(pixels, { weight, bias, cls, registers }),
        { atol: 2e-5, rtol: 1e-5 },
      );
    },
  );
}

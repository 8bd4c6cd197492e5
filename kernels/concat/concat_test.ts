import assert from "node:assert/strict";
import { checkConcatArgs, concat, splitChannels } from "./concat.ts";
import { concatRef, splitChannelsRef } from "./concat_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { assertGradientMatches, dot } from "../conv3d/_gradcheck.ts";

Deno.test("concatRef() and splitChannelsRef() match hand numbers", () => {
  const a = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [1, 3, 2] };
  const b = { data: new Float32Array([7, 8]), shape: [1, 1, 2] };
  const c = concatRef([a, b]);
  assert.deepEqual(c.shape, [1, 4, 2]);
  assert.deepEqual([...c.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  const [a2, b2] = splitChannelsRef(c, [3, 1]);
  assert.deepEqual([...a2.data], [...a.data]);
  assert.deepEqual([...b2.data], [...b.data]);
  assert.throws(() => splitChannelsRef(c, [2, 1]), TypeError);
});

Deno.test("splitChannelsRef() is the gradient of concatRef() (finite differences)", () => {
  const a = randomTensor([2, 3, 2, 3], 1);
  const b = randomTensor([2, 2, 2, 3], 2);
  const r = randomTensor([2, 5, 2, 3], 3);
  const [da, db] = splitChannelsRef(r, [3, 2]);
  const loss = () => dot(r.data, concatRef([a, b]).data);
  assertGradientMatches("concat da", loss, a.data, da.data);
  assertGradientMatches("concat db", loss, b.data, db.data);
});

Deno.test("checkConcatArgs() rejects mismatched parts without a GPU", () => {
  assert.throws(() => checkConcatArgs([]), TypeError);
  assert.throws(() => checkConcatArgs([{ shape: [4], dtype: "f32" }]), /rank >= 2/);
  assert.throws(
    () => checkConcatArgs([{ shape: [2, 3, 4], dtype: "f32" }, { shape: [1, 3, 4], dtype: "f32" }]),
    /must have shape \[2, \*, 4\]: current shape is \[1, 3, 4\]/,
  );
  assert.throws(
    () => checkConcatArgs([{ shape: [2, 3, 4], dtype: "f32" }, { shape: [2, 3, 4], dtype: "f16" }]),
    TypeError,
  );
});

for (const [ca, cb, spatial] of [[1, 1, [1]], [16, 1, [5, 9, 7]], [3, 8, [33, 65]]] as const) {
  gpuTest(
    `concat() and splitChannels() match the references for C ${ca}+${cb} on [${spatial}]`,
    async (gpu) => {
      const a = randomTensor([2, ca, ...spatial], 1);
      const b = randomTensor([2, cb, ...spatial], 2);
      const out = await concat(gpu, { parts: [gpu.uploadTensor(a), gpu.uploadTensor(b)] });
      const expected = concatRef([a, b]);
      assertAllClose(await gpu.readTensor(out), expected, { atol: 0, rtol: 0 });
      const parts = await splitChannels(gpu, { x: out, sizes: [ca, cb] });
      assertAllClose(await gpu.readTensor(parts[0]), a, { atol: 0, rtol: 0 });
      assertAllClose(await gpu.readTensor(parts[1]), b, { atol: 0, rtol: 0 });
    },
  );
}

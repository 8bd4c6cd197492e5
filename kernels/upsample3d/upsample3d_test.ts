import assert from "node:assert/strict";
import {
  checkUpsample3dArgs,
  packUpsample3dParams,
  upsample3d,
  upsample3dBackward,
} from "./upsample3d.ts";
import {
  type ResampleMapping,
  resizeMapping,
  upsample3dBackwardRef,
  upsample3dRef,
} from "./upsample3d_ref.ts";
import { assertAllClose, gpuTest, randomTensor } from "../_testing.ts";
import { assertGradientMatches, dot } from "../conv3d/_gradcheck.ts";

Deno.test("upsample3dRef() matches PyTorch align_corners=False numbers", () => {
  // torch.nn.functional.interpolate(torch.tensor([[[[[1., 2., 4.]]]]]), size=(1, 1, 6), mode="trilinear")
  // → [1.0, 1.25, 1.75, 2.5, 3.5, 4.0]
  const x = { data: new Float32Array([1, 2, 4]), shape: [1, 1, 1, 1, 3] };
  const y = upsample3dRef(x, [1, 1, 6], resizeMapping([1, 1, 3], [1, 1, 6]));
  assertAllClose(y.data, [1, 1.25, 1.75, 2.5, 3.5, 4], { atol: 1e-6 });
  // a 2×2 plane doubled in both axes: corners keep their values
  const p = { data: new Float32Array([0, 1, 2, 3]), shape: [1, 1, 1, 2, 2] };
  const q = upsample3dRef(p, [1, 4, 4], resizeMapping([1, 2, 2], [1, 4, 4]));
  assert.equal(q.data[0], 0);
  assert.equal(q.data[15], 3);
  assertAllClose([q.data[5]], [0.75], { atol: 1e-6 }); // (0.25, 0.25) → 0.25·1 + 0.25·2
});

Deno.test("resizeMapping() of a crop equals the crop of the whole-grid resize", () => {
  const x = randomTensor([1, 2, 3, 4, 6], 1);
  const whole = upsample3dRef(x, [3, 16, 24], resizeMapping([3, 4, 6], [3, 16, 24]));
  // output crop rows 4..11, columns 8..19 of the whole grid, reading all of x
  const m = resizeMapping([3, 4, 6], [3, 8, 12], {
    outputGrid: [3, 16, 24],
    outputStart: [0, 4, 8],
  });
  const crop = upsample3dRef(x, [3, 8, 12], m);
  for (let c = 0; c < 2; c++) {
    for (let z = 0; z < 3; z++) {
      for (let y = 0; y < 8; y++) {
        for (let xx = 0; xx < 12; xx++) {
          const a = crop.data[((c * 3 + z) * 8 + y) * 12 + xx];
          const b = whole.data[((c * 3 + z) * 16 + y + 4) * 24 + xx + 8];
          assert.ok(Math.abs(a - b) < 1e-6, `(${c},${z},${y},${xx}) ${a} vs ${b}`);
        }
      }
    }
  }
});

const CASES: [string, number[], [number, number, number], ResampleMapping | undefined][] = [
  ["in-plane ×2", [2, 3, 4, 5, 6], [4, 10, 12], undefined],
  ["trilinear ×2", [1, 2, 3, 3, 4], [6, 6, 8], undefined],
  ["non-integer ×2.29 (224 → 512 style)", [1, 1, 2, 7, 7], [2, 16, 16], undefined],
  ["downsampling", [1, 2, 3, 9, 10], [3, 4, 3], undefined],
  ["crop with offsets", [1, 2, 3, 4, 4], [3, 6, 5], {
    scale: [1, 0.5, 0.5],
    offset: [0, 0.75, -0.25],
  }],
];

for (const [name, xs, out, mapping] of CASES) {
  Deno.test(`upsample3dBackwardRef() matches finite differences: ${name}`, () => {
    const x = randomTensor(xs, 2);
    const m = mapping ?? resizeMapping(xs.slice(2), out);
    const r = randomTensor([xs[0], xs[1], ...out], 3);
    const dx = upsample3dBackwardRef(r, xs, m);
    assertGradientMatches(
      "upsample3d dx",
      () => dot(r.data, upsample3dRef(x, out, m).data),
      x.data,
      dx.data,
    );
  });

  gpuTest(`upsample3d() and upsample3dBackward() match the references: ${name}`, async (gpu) => {
    const x = randomTensor(xs, 4);
    const m = mapping ?? resizeMapping(xs.slice(2), out);
    const y = await upsample3d(gpu, { x: gpu.uploadTensor(x), outSize: out, mapping });
    assertAllClose(await gpu.readTensor(y), upsample3dRef(x, out, m), { atol: 1e-5, rtol: 1e-5 });
    const dy = randomTensor([xs[0], xs[1], ...out], 5);
    const dx = await upsample3dBackward(gpu, { dy: gpu.uploadTensor(dy), inputShape: xs, mapping });
    assertAllClose(await gpu.readTensor(dx), upsample3dBackwardRef(dy, xs, m), {
      atol: 1e-5,
      rtol: 1e-4,
    });
  });
}

Deno.test("checkUpsample3dArgs() and packUpsample3dParams() without a GPU", () => {
  assert.throws(
    () =>
      checkUpsample3dArgs({ shape: [1, 1, 2, 2, 2], dtype: "f32" }, [2, 2, 2], {
        scale: [1, 0, 1],
        offset: [0, 0, 0],
      }),
    RangeError,
  );
  assert.throws(
    () => checkUpsample3dArgs({ shape: [1, 1, 2, 2, 2], dtype: "f16" }, [2, 2, 2]),
    TypeError,
  );
  const buf = packUpsample3dParams(
    [2, 3, 4, 5, 6],
    [4, 10, 12],
    resizeMapping([4, 5, 6], [4, 10, 12]),
    99,
  );
  assert.equal(buf.byteLength, 80);
  assert.deepEqual([...new Uint32Array(buf, 0, 12)], [6, 99, 0, 0, 4, 5, 6, 0, 4, 10, 12, 0]);
  assert.deepEqual([...new Float32Array(buf, 48, 3)], [1, 0.5, 0.5]);
  assert.deepEqual([...new Float32Array(buf, 64, 3)], [0, -0.25, -0.25]);
});

import assert from "node:assert/strict";
import {
  createSliceStackAdapter,
  extractSliceStack,
  type FeatureSlab,
  normalizeVolume,
  resolveSliceStackOptions,
  sliceStackAdapter,
  sliceStackShape,
} from "./mod.ts";
import type { AdapterContext, Encoder, Volume } from "../../../core/plugin.ts";
import type { HostTensor } from "../../../core/tensor.ts";

/** A toy encoder: per 16×16 patch, token = [patch mean of channel 0, batch-independent constant 1, calls]. */
function toyEncoder(): Encoder & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    info: {
      id: "toy",
      backend: "cpu-reference",
      backendReason: "test",
      dim: 3,
      patchSize: 16,
      numRegisters: 0,
      weightsSha256: "0",
      precision: "f32",
    },
    preprocess: { mean: [0, 0, 0], std: [1, 1, 1], sizeMultiple: 16, defaultSize: 32 },
    encode(px: HostTensor) {
      const [b, , hh, ww] = px.shape;
      calls.push(b);
      const h = hh / 16;
      const w = ww / 16;
      const patches = new Float32Array(b * h * w * 3);
      for (let i = 0; i < b; i++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            let s = 0;
            for (let yy = 0; yy < 16; yy++) {
              for (let xx = 0; xx < 16; xx++) {
                s += px.data[(i * 3 * hh + y * 16 + yy) * ww + x * 16 + xx];
              }
            }
            patches.set([s / 256, 1, y * w + x], ((i * h + y) * w + x) * 3);
          }
        }
      }
      const empty = { data: new Float32Array(0), shape: [b, 0] };
      return Promise.resolve({
        cls: empty,
        registers: empty,
        patchMean: empty,
        patches: { data: patches, shape: [b, h, w, 3] },
      });
    },
    dispose() {},
  };
}

/** Two channels, 5 slices of 32×48: channel 0 slice z is constant 10·z, channel 1 is constant 7. */
function volume(): Volume {
  const d = 5, h = 32, w = 48;
  const data = new Float32Array(2 * d * h * w);
  for (let z = 0; z < d; z++) data.fill(10 * z, z * h * w, (z + 1) * h * w);
  data.fill(7, d * h * w);
  return { kind: "volume", data, shape: [d, h, w], channels: 2, spacingMm: [3, 1, 1] };
}

Deno.test("extract() stacks per-slice patch maps channel-major, image channel slowest", async () => {
  const encoder = toyEncoder();
  const ctx: AdapterContext = { encoder, resolution: "native", batchSize: 2 };
  const adapter = createSliceStackAdapter({ window: [[0, 40], [0, 14]] });
  const { volume: f } = await adapter.extract(volume(), ctx);
  assert.deepEqual(f.shape, [6, 5, 2, 3]);
  assert.deepEqual(sliceStackShape(volume(), ctx), [6, 5, 2, 3]);
  const at = (c: number, z: number, y: number, x: number) => f.data[((c * 5 + z) * 2 + y) * 3 + x];
  for (let z = 0; z < 5; z++) {
    assert.equal(at(0, z, 1, 2), Math.min(1, (10 * z) / 40)); // channel 0, token 0: the window
    assert.equal(at(1, z, 0, 0), 1);
    assert.equal(at(2, z, 1, 2), 5); // token index y·w + x
    assert.equal(at(3, z, 0, 1), 0.5); // channel 1: 7 / 14
  }
  // 5 slices × 2 channels in batches of at most 2
  assert.deepEqual(encoder.calls, [2, 2, 1, 2, 2, 1]);
});

Deno.test("extractSliceStack() gives the same features in small slabs and any batch size", async () => {
  const whole = await createSliceStackAdapter({ window: [0, 40] }).extract(volume(), {
    encoder: toyEncoder(),
    resolution: 32,
    batchSize: 5,
  });
  const slabs: FeatureSlab[] = [];
  const shape = await extractSliceStack(
    volume(),
    { encoder: toyEncoder(), resolution: 32, batchSize: 1 },
    { window: [0, 40], slabBytes: 2 * 6 * 2 * 2 * 4 },
    (s) => void slabs.push(s),
  );
  assert.deepEqual(shape, [6, 5, 2, 2]);
  assert.deepEqual(slabs.map((s) => [s.z0, s.features.shape[1]]), [[0, 2], [2, 2], [4, 1]]);
  const f = whole.volume;
  for (const s of slabs) {
    const [c, depth, h, w] = s.features.shape;
    for (let ch = 0; ch < c; ch++) {
      for (let z = 0; z < depth; z++) {
        for (let i = 0; i < h * w; i++) {
          assert.equal(
            s.features.data[(ch * depth + z) * h * w + i],
            f.data[(ch * 5 + s.z0 + z) * h * w + i],
          );
        }
      }
    }
  }
});

Deno.test("normalizeVolume() windows, min-max and percentile ranges", () => {
  const data = Float32Array.from({ length: 1000 }, (_, i) => i);
  const v: Volume = { kind: "volume", data, shape: [10, 10, 10], spacingMm: [1, 1, 1] };
  const mm = normalizeVolume(v, ["minmax"]);
  assert.equal(mm[0], 0);
  assert.equal(mm[999], 1);
  const p = normalizeVolume(v, ["percentile"], [10, 90]);
  assert.equal(p[50], 0);
  assert.ok(Math.abs(p[500] - 0.5) < 0.01);
  assert.equal(p[950], 1);
  const flat: Volume = {
    kind: "volume",
    data: new Float32Array(8).fill(3),
    shape: [2, 2, 2],
    spacingMm: [1, 1, 1],
  };
  assert.deepEqual([...normalizeVolume(flat, ["minmax"])], new Array(8).fill(0));
  assert.throws(() => normalizeVolume(v, ["minmax", "minmax"]), /1 or 1 windows/);
});

Deno.test("options and inputs are validated", async () => {
  assert.throws(() => resolveSliceStackOptions({ windows: [0, 1] }), /option "windows" is unknown/);
  assert.throws(() => resolveSliceStackOptions({ percentiles: [90, 10] }), RangeError);
  assert.throws(() => resolveSliceStackOptions({ slabBytes: 0 }), RangeError);
  const adapter = sliceStackAdapter.create({});
  assert.deepEqual(adapter.featureKinds, ["volume"]);
  await assert.rejects(
    () =>
      adapter.extract({ kind: "image" }, { encoder: toyEncoder(), resolution: 32, batchSize: 1 }),
    /needs a volume/,
  );
  await assert.rejects(
    () => adapter.extract(volume(), { encoder: toyEncoder(), resolution: 32, batchSize: 0 }),
    RangeError,
  );
  const abort = new AbortController();
  abort.abort(new Error("stop"));
  await assert.rejects(
    () =>
      adapter.extract(volume(), {
        encoder: toyEncoder(),
        resolution: 32,
        batchSize: 1,
        signal: abort.signal,
      }),
    /stop/,
  );
});

// Cross-module: synthetic files → modality datasets → the adapters their protocols name
// (image2d, slice-mean) → features, with a stub encoder (no GPU, no weights).
import assert from "node:assert/strict";
import type { Encoder } from "../core/plugin.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import type { HostTensor } from "../core/tensor.ts";
import { createRegistry } from "../core/registry.ts";
import { createImage2dAdapter } from "../plugins/adapters/image2d/mod.ts";
import { createSliceMeanAdapter } from "../plugins/adapters/slice_mean/mod.ts";
import { xrayPlugin } from "../plugins/modalities/xray/mod.ts";
import { ctrateDataset } from "../plugins/modalities/ct/ctrate.ts";

/** Features = per-channel mean and spread of the normalised pixels, 4 values per image. */
function createStubEncoder(calls: number[]): Encoder {
  return {
    info: {
      id: "stub",
      backend: "cpu-reference",
      backendReason: "test",
      dim: 4,
      patchSize: 16,
      numRegisters: 0,
      weightsSha256: "",
      precision: "f32",
    },
    preprocess: {
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      sizeMultiple: 16,
      defaultSize: 32,
    },
    encode(x: HostTensor) {
      const [b, c, h, w] = x.shape;
      calls.push(b);
      const cls = new Float32Array(b * 4);
      const plane = h * w;
      for (let i = 0; i < b; i++) {
        let sum = 0;
        let sq = 0;
        for (let k = 0; k < c * plane; k++) {
          const v = x.data[i * c * plane + k];
          sum += v;
          sq += v * v;
        }
        const mean = sum / (c * plane);
        cls.set([mean, Math.sqrt(sq / (c * plane) - mean * mean), 1, 0], i * 4);
      }
      return Promise.resolve({
        cls: { data: cls, shape: [b, 4] },
        patchMean: { data: cls.slice(), shape: [b, 4] },
        registers: { data: new Float32Array(0), shape: [b, 0, 4] },
        patches: { data: new Float32Array(0), shape: [b, 0, 0, 4] },
      });
    },
    dispose() {},
  };
}

Deno.test("xray datasets' samples go through the image2d adapter of their protocol", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_modalities_" });
  try {
    const registry = createRegistry([
      ...builtinPlugins().filter((p) => p.kind !== "modality"),
      xrayPlugin,
    ]);
    for (const spec of registry.get("modality", "xray").datasets) {
      assert.equal(spec.protocol.adapter, "image2d");
      await spec.synthesize(`${dir}/${spec.name}`, { count: 6, seed: 0 });
      const ds = await spec.open(`${dir}/${spec.name}`);
      const samples = ds.samples(spec.protocol.trainSplit).slice(0, 3);
      const data = await Promise.all(samples.map((s) => s.load()));
      const calls: number[] = [];
      const features = await createImage2dAdapter().extractBatch!(data, {
        encoder: createStubEncoder(calls),
        resolution: 32,
        batchSize: 8,
      });
      assert.equal(features.length, samples.length);
      assert.deepEqual(calls, [samples.length], `${spec.name}: one batch`);
      for (const f of features) {
        assert.deepEqual(f[spec.protocol.feature].shape, [4]);
        assert.ok([...f.cls.data].every(Number.isFinite));
        assert.ok(f.cls.data[1] > 0.1, `${spec.name}: the image is not flat`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CT-RATE volumes go through the slice-mean adapter with the protocol's window", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_modalities_" });
  try {
    await ctrateDataset.synthesize(dir, { count: 4, seed: 0 });
    const ds = await ctrateDataset.open(dir);
    const protocol = ctrateDataset.protocol;
    assert.equal(protocol.adapter, "slice-mean");
    const sample = ds.samples(protocol.trainSplit)[0];
    const calls: number[] = [];
    const adapter = createSliceMeanAdapter(protocol.adapterOptions);
    const f = await adapter.extract(await sample.load(), {
      encoder: createStubEncoder(calls),
      resolution: 32,
      batchSize: 8,
    });
    assert.deepEqual(calls, [8, 8], "16 axial slices in batches of 8");
    assert.deepEqual(f[protocol.feature].shape, [4]);
    assert.ok(f.cls.data[1] > 0.1, "the windowed slices are not flat");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

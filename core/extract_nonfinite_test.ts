import assert from "node:assert/strict";
import { FeatureCache } from "./cache.ts";
import { FormatError } from "./errors.ts";
import { extractFeatures } from "./extract.ts";
import type { Sample, SampleData } from "./plugin.ts";
import {
  createToyAdapter,
  createToyEncoder,
  TOY_KEY,
  toySamples,
} from "./testdata/toy_extractor.ts";

/** Sample 2 decodes to NaN pixels, as a DICOM with a non-numeric RescaleSlope did. */
function samplesWithPoison(): Sample[] {
  const samples = toySamples(5);
  samples[2] = {
    id: samples[2].id,
    path: "/data/bad_slope.dcm",
    load(): Promise<SampleData> {
      return Promise.resolve({
        kind: "image",
        data: new Float32Array(16 * 16).fill(NaN),
        width: 16,
        height: 16,
        channels: 1,
      } as SampleData);
    },
  };
  return samples;
}

Deno.test("extractFeatures() records a sample with non-finite features as failed with its file and never caches it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, TOY_KEY);
    const failed: { id: string; error: unknown }[] = [];
    const report = await extractFeatures({
      cache,
      samples: samplesWithPoison(),
      adapter: createToyAdapter(),
      context: { encoder: createToyEncoder(), resolution: 16, batchSize: 1 },
      fingerprint: false,
      onSampleError: (sample, error) => {
        failed.push({ id: sample.id, error });
        return true;
      },
    });
    assert.deepEqual(report.computed, ["s000", "s001", "s003", "s004"]);
    assert.equal(failed.length, 1);
    assert.equal(failed[0].id, "s002");
    assert.ok(failed[0].error instanceof FormatError);
    assert.equal(failed[0].error.path, "/data/bad_slope.dcm");
    assert.match(failed[0].error.message, /must be finite: feature "cls" holds NaN/);
    assert.equal(cache.has("s002", ["cls"]), false);
    assert.deepEqual(cache.ids(), ["s000", "s001", "s003", "s004"]);
    // Without a skip handler the run fails naming the file, and a rerun is not poisoned.
    const again = await FeatureCache.open(root, TOY_KEY);
    await assert.rejects(
      () =>
        extractFeatures({
          cache: again,
          samples: samplesWithPoison(),
          adapter: createToyAdapter(),
          context: { encoder: createToyEncoder(), resolution: 16, batchSize: 1 },
          fingerprint: false,
        }),
      (e: unknown) => e instanceof FormatError && e.message.includes("/data/bad_slope.dcm"),
    );
    assert.equal(again.has("s002", ["cls"]), false);
    cache.close();
    again.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FeatureCache.put() refuses NaN/Infinity features and writes nothing (chunked adapters included)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, TOY_KEY);
    const cls = { data: Float32Array.of(1, Infinity, 3), shape: [3] };
    await assert.rejects(
      () => cache.put([{ id: "vol#0", features: { cls } }]),
      /Cannot cache the features of "vol#0" as they must be finite: kind "cls" holds Infinity at index 1/,
    );
    await cache.refresh();
    assert.deepEqual(cache.ids(), []);
    assert.deepEqual([...Deno.readDirSync(`${cache.dir}/shards`)], []);
    await cache.put([{
      id: "vol#0",
      features: { cls: { data: Float32Array.of(1, 2, 3), shape: [3] } },
    }]);
    assert.deepEqual(cache.ids(), ["vol#0"]);
    cache.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

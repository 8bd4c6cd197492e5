import assert from "node:assert/strict";
import { FeatureCache } from "./cache.ts";
import { extractFeatures } from "./extract.ts";
import type { FeatureRecord, Sample, SampleData } from "./plugin.ts";
import { FormatError } from "./errors.ts";
import {
  createToyAdapter,
  createToyEncoder,
  TOY_KEY,
  toySamples,
} from "./testdata/toy_extractor.ts";

const context = { encoder: createToyEncoder(), resolution: 16, batchSize: 1 } as const;

Deno.test("extractFeatures() skips failing samples when asked, records them, and caches the rest", async () => {
  const root = await Deno.makeTempDir();
  const cache = await FeatureCache.open(root, TOY_KEY);
  const samples: Sample[] = toySamples(6).map((s, i) =>
    i === 2
      ? { ...s, load: () => Promise.reject(new FormatError("Cannot read PNG", { path: "x.png" })) }
      : s
  );
  const failures: [string, string][] = [];
  const report = await extractFeatures({
    cache,
    samples,
    adapter: createToyAdapter(),
    context,
    onSampleError: (s, e, stage) => {
      failures.push([s.id, `${stage}: ${(e as Error).message}`]);
      return true;
    },
  });
  assert.deepEqual(failures, [["s002", "load: Cannot read PNG (x.png)"]]);
  assert.deepEqual(report.computed, ["s000", "s001", "s003", "s004", "s005"]);
  assert.equal(cache.has("s002"), false);
  // Without a handler the error propagates; features computed before it are kept.
  const root2 = await Deno.makeTempDir();
  const cache2 = await FeatureCache.open(root2, TOY_KEY);
  await assert.rejects(
    () => extractFeatures({ cache: cache2, samples, adapter: createToyAdapter(), context }),
    FormatError,
  );
  await cache2.refresh();
  assert.deepEqual(cache2.ids(), ["s000", "s001"]);
  cache.close();
  cache2.close();
  await Deno.remove(root, { recursive: true });
  await Deno.remove(root2, { recursive: true });
});

Deno.test("extractFeatures() batches through extractBatch and isolates a failing sample", async () => {
  const base = createToyAdapter();
  const batches: number[] = [];
  const adapter = {
    ...base,
    async extractBatch(data: readonly SampleData[], ctx: typeof context): Promise<FeatureRecord[]> {
      batches.push(data.length);
      if (data.some((d) => (d as { width: number }).width !== 16)) throw new Error("bad size");
      const out: FeatureRecord[] = [];
      for (const d of data) out.push(await base.extract(d, ctx));
      return out;
    },
    extract(data: SampleData, ctx: typeof context): Promise<FeatureRecord> {
      if ((data as { width: number }).width !== 16) throw new RangeError("image too small");
      return base.extract(data, ctx);
    },
  };
  const samples: Sample[] = toySamples(7).map((s, i) =>
    i === 4
      ? {
        ...s,
        load: () =>
          Promise.resolve({
            kind: "image",
            data: new Uint8Array(4),
            width: 2,
            height: 2,
            channels: 1,
          } as SampleData),
      }
      : s
  );
  const root = await Deno.makeTempDir();
  const cache = await FeatureCache.open(root, TOY_KEY);
  const loaded: string[] = [];
  const errors: string[] = [];
  const report = await extractFeatures({
    cache,
    samples,
    adapter,
    context,
    batchSamples: 3,
    prefetch: 3,
    load: (s) => {
      loaded.push(s.id);
      return s.load();
    },
    onSampleError: (s, e, stage) => {
      errors.push(`${s.id} ${stage} ${(e as Error).name}`);
      return true;
    },
  });
  assert.deepEqual(batches, [3, 3]); // the second batch failed and was retried one by one
  assert.deepEqual(errors, ["s004 extract RangeError"]);
  assert.equal(loaded.length, 7);
  assert.deepEqual(report.computed, ["s000", "s001", "s002", "s003", "s005", "s006"]);
  // Same features as the unbatched path.
  const ref = await FeatureCache.open(await Deno.makeTempDir(), TOY_KEY);
  await extractFeatures({ cache: ref, samples: toySamples(7), adapter: base, context });
  for (const id of report.computed) {
    assert.deepEqual((await cache.readRaw(id, "cls")).bytes, (await ref.readRaw(id, "cls")).bytes);
  }
  cache.close();
  ref.close();
  await Deno.remove(root, { recursive: true });
  await Deno.remove(ref.root, { recursive: true });
});

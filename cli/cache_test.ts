import assert from "node:assert/strict";
import { FeatureCache, type FeatureCacheKey, sampleShardFile } from "../core/cache.ts";
import { writeJobRecord } from "./jobs.ts";
import { cacheStatus, mergeCaches } from "./cache.ts";

const KEY: FeatureCacheKey = {
  dataset: "xray/demo",
  encoder: "toy",
  weightsSha256: "ab".repeat(32),
  preprocessing: { mean: [0.5], std: [0.25] },
  resolution: 64,
};

const entry = (id: string, scale = 1) => ({
  id,
  features: {
    cls: {
      data: new Float32Array(4).map((_, i) => Math.sin(id.length * 3 + i) * scale),
      shape: [4],
    },
  },
});

function job(shard: string, samples: string[], failed: string[] = []) {
  return {
    shard,
    state: "done" as const,
    attempts: 1,
    samples,
    failed: failed.map((id) => ({ id, reason: "unreadable" })),
    computed: samples.length,
    skipped: 0,
    writer: { host: `node${shard[0]}`, pid: 7 },
    started: "2026-01-01T00:00:00Z",
    updated: "2026-01-01T00:00:00Z",
  };
}

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const sub of ["", "/shards"]) {
    for await (const e of Deno.readDir(dir + sub)) {
      if (e.isFile) out.set(sub + "/" + e.name, await Deno.readTextFile(`${dir}${sub}/${e.name}`));
    }
  }
  return out;
}

Deno.test("cache merge copies what A lacks, so two shard caches merge into the one-process cache", async () => {
  const [a, b, whole] = await Promise.all([0, 1, 2].map(() => Deno.makeTempDir()));
  try {
    const ca = await FeatureCache.open(a, KEY);
    await ca.put(["x1", "x2", "shared"].map((id) => entry(id)));
    await writeJobRecord(ca.dir, job("0/2", ["x1", "x2", "shared"]));
    const cb = await FeatureCache.open(b, KEY);
    await cb.put(["y1", "shared"].map((id) => entry(id)));
    await writeJobRecord(cb.dir, job("1/2", ["y1", "shared", "y2"]));
    const cw = await FeatureCache.open(whole, KEY);
    await cw.put(["y1", "x2", "shared", "x1"].map((id) => entry(id)));
    await cw.syncManifest();
    const [report] = await mergeCaches(a, b);
    assert.deepEqual(report, { namespace: ca.namespace, copied: 1, identical: 1, conflicts: [] });
    const merged = await files(ca.dir);
    const expected = await files(cw.dir);
    assert.deepEqual([...merged.keys()].sort(), [...expected.keys()].sort());
    for (const [k, v] of expected) assert.equal(merged.get(k), v, k);
    // Status: y2 was assigned to shard 1/2 and is in neither cache.
    const [status] = await cacheStatus(a);
    assert.equal(status.present, 4);
    assert.deepEqual(status.missing, ["y2"]);
    assert.deepEqual(status.shards.map((s) => [s.shard, s.present, s.samples]), [["0/2", 3, 3], [
      "1/2",
      2,
      3,
    ]]);
    assert.deepEqual(status.writers, ["node0:7", "node1:7"]);
    assert.equal(status.files, 4);
    assert.ok(status.bytes > 4 * 16);
    for (const c of [ca, cb, cw]) c.close();
  } finally {
    for (const d of [a, b, whole]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("cache merge keeps A's file and reports a conflict when B's bytes differ; status counts failures apart", async () => {
  const [a, b] = await Promise.all([0, 1].map(() => Deno.makeTempDir()));
  try {
    const ca = await FeatureCache.open(a, KEY);
    await ca.put([entry("s")]);
    await writeJobRecord(ca.dir, job("0/1", ["s", "broken"], ["broken"]));
    const cb = await FeatureCache.open(b, KEY);
    await cb.put([entry("s", 2)]);
    const before = await Deno.readFile(`${ca.dir}/${sampleShardFile("s")}`);
    const [report] = await mergeCaches(a, b);
    assert.deepEqual(report.conflicts, [sampleShardFile("s")]);
    assert.deepEqual(await Deno.readFile(`${ca.dir}/${sampleShardFile("s")}`), before);
    const [status] = await cacheStatus(a);
    assert.deepEqual(status.missing, []);
    assert.deepEqual(status.failed.map((f) => f.id), ["broken"]);
    assert.deepEqual(await cacheStatus(a, "xray/other"), []);
    ca.close();
    cb.close();
  } finally {
    for (const d of [a, b]) await Deno.remove(d, { recursive: true });
  }
});

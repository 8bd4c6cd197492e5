import assert from "node:assert/strict";
import { FeatureCache } from "../core/cache.ts";
import { createDefaultRegistry } from "../plugins/builtin.ts";
import { synthesizeNih14 } from "../plugins/modalities/xray/nih14.ts";
import { extractShard, openCachedEncoder } from "./extract.ts";

const WEIGHTS = new URL("../fixtures/dinov3_demo", import.meta.url).pathname;

async function shardFiles(root: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const ns of Deno.readDir(root)) {
    if (!ns.isDirectory || ns.name === "fingerprints") continue;
    for await (const f of Deno.readDir(`${root}/${ns.name}/shards`)) {
      out.set(`${ns.name}/${f.name}`, await Deno.readFile(`${root}/${ns.name}/shards/${f.name}`));
    }
  }
  return out;
}

Deno.test("extract: 3 shards fill the cache byte for byte as one process; --from-cache refuses until complete", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const registry = createDefaultRegistry();
    await synthesizeNih14(`${tmp}/nih`, { count: 12, seed: 2, size: 64 });
    const base = {
      data: `${tmp}/nih`,
      weights: WEIGHTS,
      backend: "auto" as const,
      resolution: 64,
      batch: 4,
      flushEvery: 2,
      workers: 0,
      plugin: [],
      quiet: true,
    };
    const whole = await extractShard(registry, "xray/nih14", { ...base, cache: `${tmp}/one` });
    assert.equal(whole.shard, "0/1");
    assert.equal(whole.computed, 12);
    const from = { data: `${tmp}/nih`, cache: `${tmp}/three`, out: tmp, resolution: 64 };
    const records = [];
    for (const k of [0, 1, 2]) {
      if (k === 2) {
        // Two shards done: the third's samples are missing and listed.
        await assert.rejects(
          () => openCachedEncoder(registry, "xray/nih14", from),
          /Cannot fit from the cache as every sample must be cached[^:]*: 4 missing/,
        );
      }
      records.push(
        await extractShard(registry, "xray/nih14", {
          ...base,
          cache: `${tmp}/three`,
          shard: { index: k, count: 3 },
        }),
      );
    }
    assert.deepEqual(records.map((r) => r.samples.length), [4, 4, 4]);
    assert.equal(new Set(records.flatMap((r) => r.samples)).size, 12);
    // A rerun of a finished shard computes nothing and counts its attempt.
    const again = await extractShard(registry, "xray/nih14", {
      ...base,
      cache: `${tmp}/three`,
      shard: { index: 1, count: 3 },
    });
    assert.deepEqual([again.computed, again.skipped, again.attempts], [0, 4, 2]);
    const a = await shardFiles(`${tmp}/one`);
    const b = await shardFiles(`${tmp}/three`);
    assert.equal(a.size, 12);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, k);
    // Complete now: the stand-in encoder carries the namespace's identity and never encodes.
    const { encoder } = await openCachedEncoder(registry, "xray/nih14", from);
    const [ns] = [...a.keys()][0].split("/");
    const key = JSON.parse(await Deno.readTextFile(`${tmp}/three/${ns}/key.json`)).key;
    assert.equal(encoder.info.weightsSha256, key.weightsSha256);
    assert.equal(encoder.info.backend, "cache");
    const cache = await FeatureCache.open(`${tmp}/three`, key, { create: false });
    assert.equal(encoder.info.dim, (await cache.read(cache.ids()[0], "cls")).shape[0]);
    cache.close();
    await assert.rejects(
      () => encoder.encode({ data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, 64] }),
      /without an encoder/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

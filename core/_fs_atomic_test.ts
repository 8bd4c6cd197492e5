import assert from "node:assert/strict";
import { writeFileAtomic, writeTextFileAtomic } from "./_fs.ts";
import { FeatureCache, type FeatureCacheKey } from "./cache.ts";

Deno.test("writeFileAtomic() replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTextFileAtomic(`${dir}/result.json`, '{"a":1}\n');
    await writeTextFileAtomic(`${dir}/result.json`, '{"a":2}\n');
    assert.equal(await Deno.readTextFile(`${dir}/result.json`), '{"a":2}\n');
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["result.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() leaves the old file and no temporary when the rename fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The target is a non-empty folder: the temporary is written, the rename fails.
    await Deno.mkdir(`${dir}/out/x`, { recursive: true });
    await assert.rejects(() => writeFileAtomic(`${dir}/out`, new Uint8Array(1000)));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out"]);
    assert.ok(Deno.statSync(`${dir}/out`).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FeatureCache.open() removes a killed run's stale *.tmp files", async () => {
  const root = await Deno.makeTempDir();
  try {
    const key: FeatureCacheKey = {
      dataset: "xray/demo",
      encoder: "toy",
      weightsSha256: "ab".repeat(32),
      preprocessing: { mean: [0.5], std: [0.5] },
      resolution: 64,
    };
    const first = await FeatureCache.open(root, key);
    const stale = `${first.dir}/shards/x.bin.0123abcd.tmp`;
    first.close();
    await Deno.writeTextFile(stale, "partial");
    const old = new Date(Date.now() - 3_600_000);
    await Deno.utime(stale, old, old);
    const second = await FeatureCache.open(root, key);
    second.close();
    await assert.rejects(() => Deno.stat(stale), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

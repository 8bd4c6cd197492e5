import assert from "node:assert/strict";
import { FeatureCache } from "./cache.ts";
import { cacheKeyFor, extractFeatures } from "./extract.ts";
import {
  createToyAdapter,
  createToyEncoder,
  TOY_KEY,
  toySamples,
  toyStats,
} from "./testdata/toy_extractor.ts";

const CHILD = new URL("./testdata/extract_child.ts", import.meta.url).pathname;
const COUNT = 40;

/** An uninterrupted in-process extraction: the reference every cache is compared with. */
async function referenceCache(): Promise<{ cache: FeatureCache; root: string }> {
  const root = await Deno.makeTempDir();
  const cache = await FeatureCache.open(root, TOY_KEY);
  await extractFeatures({
    cache,
    samples: toySamples(COUNT),
    adapter: createToyAdapter(),
    context: { encoder: createToyEncoder(), resolution: 16, batchSize: 1 },
    shardSize: 7,
  });
  return { cache, root };
}

/** Asserts that two caches hold the same samples with byte-identical tensors. */
async function assertSameBytes(actual: FeatureCache, expected: FeatureCache): Promise<void> {
  assert.deepEqual(actual.ids(), expected.ids());
  for (const id of expected.ids()) {
    for (const kind of ["cls", "patches"]) {
      const a = await actual.readRaw(id, kind);
      const e = await expected.readRaw(id, kind);
      assert.equal(a.dtype, e.dtype);
      assert.deepEqual(a.shape, e.shape);
      assert.deepEqual(a.bytes, e.bytes, `${id}/${kind} differs`);
    }
  }
}

/** Every shard in the folder is listed by the manifest, and every sample is stored once. */
async function assertConsistent(cache: FeatureCache, unique: boolean): Promise<void> {
  const files: string[] = [];
  for await (const e of Deno.readDir(`${cache.dir}/shards`)) files.push(`shards/${e.name}`);
  assert.ok(files.every((f) => f.endsWith(".safetensors")), `leftovers: ${files}`);
  const manifest = JSON.parse(await Deno.readTextFile(`${cache.dir}/manifest.json`));
  assert.deepEqual(manifest.shards.map((s: { file: string }) => s.file).sort(), files.sort());
  const all = manifest.shards.flatMap((s: { samples: string[] }) => s.samples);
  if (unique) assert.equal(all.length, new Set(all).size, "a sample was stored twice");
  assert.equal(cache.problems.length, 0);
}

interface ChildRun {
  lines: string[];
  status: Deno.CommandStatus;
}

/**
 * Runs the child extraction; with `killAfter`, SIGKILLs it once that many
 * "computed" lines have appeared after its first shard.
 */
async function runChild(
  root: string,
  delayMs: number,
  killAfter?: number,
  first = 0,
): Promise<ChildRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, root, String(COUNT), "4", String(delayMs), String(first)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  let pending = "";
  let afterShard = -1;
  let killed = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith("shard") && afterShard < 0) afterShard = 0;
      else if (line.startsWith("computed") && afterShard >= 0) afterShard++;
      if (!killed && killAfter !== undefined && afterShard >= killAfter) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
  }
  return { lines, status: await child.status };
}

function computedIds(run: ChildRun): string[] {
  return run.lines.filter((l) => l.startsWith("computed ")).map((l) => l.slice(9));
}

Deno.test("extractFeatures() skips cached samples and writes shards of shardSize", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, TOY_KEY);
    const context = { encoder: createToyEncoder(), resolution: 16 as const, batchSize: 1 };
    const first = await extractFeatures({
      cache,
      samples: toySamples(10),
      adapter: createToyAdapter(),
      context,
      shardSize: 4,
    });
    assert.equal(first.computed.length, 10);
    assert.equal(first.shards.length, 3);
    const before = toyStats.encodedImages;
    const second = await extractFeatures({
      cache,
      samples: toySamples(13),
      adapter: createToyAdapter(),
      context,
      shardSize: 4,
    });
    assert.deepEqual(second.computed, ["s010", "s011", "s012"]);
    assert.equal(second.skipped, 10);
    assert.equal(toyStats.encodedImages - before, 3);
    assert.equal((await cache.readRaw("s003", "patches")).dtype, "F16");
    assert.deepEqual((await cache.read("s003", "patches")).shape, [4, 4, 12]);
    await assertConsistent(cache, true);
    const dup = toySamples(2);
    await assert.rejects(
      () =>
        extractFeatures({ cache, samples: [dup[0], dup[0]], adapter: createToyAdapter(), context }),
      /sample ids must be unique/,
    );
    const key = cacheKeyFor({ dataset: TOY_KEY.dataset, encoder: context.encoder, resolution: 16 });
    assert.equal(key.weightsSha256, TOY_KEY.weightsSha256);
    cache.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an extraction SIGKILLed twice resumes, recomputes only missing samples, and matches an uninterrupted run bit for bit", async () => {
  const ref = await referenceCache();
  const root = await Deno.makeTempDir();
  try {
    let cachedBefore: string[] = [];
    // Killed mid-buffer (after 6 samples past the first shard), then right after 2.
    for (const killAfter of [6, 2]) {
      const run = await runChild(root, 25, killAfter);
      assert.equal(run.status.signal, "SIGKILL", `child was not killed: ${run.lines.join(" | ")}`);
      const after = await FeatureCache.open(root, TOY_KEY);
      const cached = after.ids();
      after.close();
      assert.ok(cached.length > cachedBefore.length, "no progress between kills");
      assert.ok(cached.length < COUNT, "the kill came too late to test anything");
      // Only samples missing before this run were computed by it.
      assert.ok(computedIds(run).every((id) => !cachedBefore.includes(id)));
      cachedBefore = cached;
    }
    const last = await runChild(root, 0);
    assert.equal(last.status.code, 0);
    const expected = toySamples(COUNT).map((s) => s.id).filter((id) => !cachedBefore.includes(id));
    assert.deepEqual(computedIds(last), expected);
    assert.match(
      last.lines.at(-1)!,
      new RegExp(
        `^done computed=${expected.length} skipped=${
          COUNT - expected.length
        } encoded=${expected.length}$`,
      ),
    );
    const resumed = await FeatureCache.open(root, TOY_KEY);
    await assertSameBytes(resumed, ref.cache);
    await assertConsistent(resumed, true);
    resumed.close();
  } finally {
    ref.cache.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(ref.root, { recursive: true });
  }
});

Deno.test("two processes extracting into one cache at once leave it complete and uncorrupted", async () => {
  const ref = await referenceCache();
  const root = await Deno.makeTempDir();
  try {
    // Shards of 4 from both ends of the list, with a small delay so that they interleave.
    const [a, b] = await Promise.all([
      runChild(root, 3, undefined, 0),
      runChild(root, 3, undefined, 20),
    ]);
    assert.equal(a.status.code, 0, a.lines.join("\n"));
    assert.equal(b.status.code, 0, b.lines.join("\n"));
    const cache = await FeatureCache.open(root, TOY_KEY);
    await assertSameBytes(cache, ref.cache);
    await assertConsistent(cache, false);
    // Between them they computed every sample, and they skipped what the other had written
    // (a sample both were computing at the same moment is stored twice, identically).
    const union = new Set([...computedIds(a), ...computedIds(b)]);
    assert.equal(union.size, COUNT);
    assert.ok(computedIds(a).length + computedIds(b).length < 2 * COUNT);
    const again = await runChild(root, 0);
    assert.match(again.lines.at(-1)!, /^done computed=0 skipped=40 encoded=0$/);
    cache.close();
  } finally {
    ref.cache.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(ref.root, { recursive: true });
  }
});

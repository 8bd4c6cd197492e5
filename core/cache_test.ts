import assert from "node:assert/strict";
import {
  canonicalJson,
  FeatureCache,
  type FeatureCacheKey,
  namespaceOf,
  sampleShardFile,
} from "./cache.ts";
import { FormatError } from "./errors.ts";
import { f16ToF32, f32ToF16 } from "./tensor.ts";

const KEY: FeatureCacheKey = {
  dataset: "xray/demo",
  encoder: "dinov3-vits16",
  weightsSha256: "ab".repeat(32),
  preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  resolution: 224,
};

function features(
  seed: number,
): { cls: { data: Float32Array; shape: number[] }; map: { data: Float32Array; shape: number[] } } {
  const cls = new Float32Array(5).map((_, i) => Math.sin(seed * 7 + i) * 3.3);
  const map = new Float32Array(2 * 3 * 4).map((_, i) => Math.cos(seed + i * 0.37) * 1.7);
  return { cls: { data: cls, shape: [5] }, map: { data: map, shape: [2, 3, 4] } };
}

Deno.test("FeatureCache stores cls as F32 and dense maps as F16, and reads them back", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, KEY);
    await cache.put([{ id: "a", features: features(1) }, {
      id: "b/with:odd chars",
      features: features(2),
    }]);
    await cache.put([{ id: "c", features: features(3) }]);
    assert.deepEqual(cache.ids(), ["a", "b/with:odd chars", "c"]);
    assert.ok(cache.has("a", ["cls", "map"]) && !cache.has("a", ["patches"]) && !cache.has("z"));
    const raw = await cache.readRaw("a", "map");
    assert.equal(raw.dtype, "F16");
    assert.equal((await cache.readRaw("a", "cls")).dtype, "F32");
    const f = features(2);
    assert.deepEqual((await cache.read("b/with:odd chars", "cls")).data, f.cls.data);
    assert.deepEqual(
      (await cache.read("b/with:odd chars", "map")).data,
      f16ToF32(f32ToF16(f.map.data)),
    );
    const stacked = await cache.stack(["c", "a"], "cls");
    assert.deepEqual(stacked.shape, [2, 5]);
    assert.deepEqual(stacked.data.subarray(5), features(1).cls.data);
    await assert.rejects(() => cache.read("zz", "cls"), Deno.errors.NotFound);
    // A second instance (another process) sees everything through the manifest and shards.
    const again = await FeatureCache.open(root, KEY);
    assert.deepEqual(again.ids(), cache.ids());
    await cache.syncManifest();
    const manifest = JSON.parse(await Deno.readTextFile(`${cache.dir}/manifest.json`));
    assert.equal(manifest.format, "medprobe-feature-cache");
    assert.equal(manifest.shards.length, 3, "one shard per sample");
    assert.deepEqual(manifest.shards[0].kinds, ["cls", "map"]);
    assert.deepEqual(manifest.key, JSON.parse(JSON.stringify(KEY)));
    cache.close();
    again.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FeatureCache namespaces differ by every key field and reject a foreign key.json", async () => {
  const base = await namespaceOf(KEY);
  for (
    const change of [
      { dataset: "xray/other" },
      { encoder: "dinov3-vitb16" },
      { weightsSha256: "cd".repeat(32) },
      { preprocessing: { mean: [0, 0, 0], std: [1, 1, 1] } },
      { resolution: 512 },
      { adapter: { name: "image2d" } },
    ]
  ) {
    assert.notEqual(
      await namespaceOf({ ...KEY, ...change } as FeatureCacheKey),
      base,
      JSON.stringify(change),
    );
  }
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  await assert.rejects(() => FeatureCache.open("/tmp", { ...KEY, resolution: 0 }), TypeError);
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, KEY);
    await Deno.writeTextFile(
      `${cache.dir}/key.json`,
      '{"format":"medprobe-feature-cache","format_version":1,"key":{}}',
    );
    await assert.rejects(() => FeatureCache.open(root, KEY), FormatError);
    await assert.rejects(
      () => FeatureCache.open(root, { ...KEY, resolution: 8 }, { create: false }),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FeatureCache indexes shards missing from a stale manifest and skips unreadable ones", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, KEY);
    await cache.put([{ id: "a", features: features(1) }]);
    const stale = await Deno.readTextFile(`${cache.dir}/manifest.json`);
    await cache.put([{ id: "b", features: features(2) }]);
    // As if the writer died after renaming its shard, before its manifest write.
    await Deno.writeTextFile(`${cache.dir}/manifest.json`, stale);
    // Debris of killed writers: a temporary file and a torn shard.
    await Deno.writeFile(`${cache.dir}/shards/x-000001.safetensors.1234.tmp`, new Uint8Array(10));
    await Deno.writeFile(`${cache.dir}/shards/torn-000001.safetensors`, new Uint8Array([1, 2, 3]));
    const reader = await FeatureCache.open(root, KEY);
    assert.deepEqual(reader.ids(), ["a", "b"]);
    assert.equal(reader.problems.length, 1);
    assert.match(reader.problems[0].file, /torn/);
    await reader.syncManifest();
    const manifest = JSON.parse(await Deno.readTextFile(`${cache.dir}/manifest.json`));
    assert.deepEqual(manifest.shards.flatMap((s: { samples: string[] }) => s.samples).sort(), [
      "a",
      "b",
    ]);
    assert.equal(await reader.removeStaleTemporaries(0), 1);
    await assert.rejects(
      () =>
        cache.put([{ id: "c", features: { cls: features(1).cls } }, {
          id: "d",
          features: features(2),
        }]),
      /every sample must have kinds \["cls"\]/,
    );
    cache.close();
    reader.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const hasNumpy = await new Deno.Command("python3", {
  args: ["-c", "import numpy"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success).catch(() => false);

Deno.test({
  name: "the documented numpy reader reads the cache (F32 and F16) as TypeScript does",
  ignore: !hasNumpy,
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      const cache = await FeatureCache.open(root, KEY);
      await cache.put([{ id: "a", features: features(1) }, { id: "b", features: features(2) }]);
      await cache.put([{ id: "c", features: features(3) }]);
      await cache.syncManifest();
      const doc = await Deno.readTextFile(new URL("../docs/feature_cache.md", import.meta.url));
      const snippets = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
      const reader = snippets.find((s) => s.includes("def read_shard"));
      assert.ok(reader, "docs/feature_cache.md must hold the numpy reader");
      const script = `${reader}
import sys
ns = sys.argv[1]
manifest = json.load(open(f"{ns}/manifest.json"))
out = {}
for shard in sorted(manifest["shards"], key=lambda s: s["file"]):
    t = read_shard(f"{ns}/{shard['file']}")
    for i, sid in enumerate(shard["samples"]):
        out.setdefault(sid, {k: t[f"{i}/{k}"].astype(np.float32).ravel().tolist() for k in shard["kinds"]})
print(json.dumps(out))
`;
      const o = await new Deno.Command("python3", { args: ["-c", script, cache.dir] }).output();
      assert.ok(o.success, new TextDecoder().decode(o.stderr));
      const py = JSON.parse(new TextDecoder().decode(o.stdout));
      assert.deepEqual(Object.keys(py).sort(), ["a", "b", "c"]);
      for (const id of ["a", "b", "c"]) {
        for (const kind of ["cls", "map"]) {
          assert.deepEqual(py[id][kind], [...(await cache.read(id, kind)).data]);
        }
      }
      cache.close();
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** Every file under `dir` (relative path → bytes). */
async function tree(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [k, v] of await tree(dir, rel)) out.set(k, v); }
    else out.set(rel, await Deno.readFile(`${dir}/${rel}`));
  }
  return out;
}

Deno.test("two caches of the same features are byte-identical whatever the batches, writers and interruptions", async () => {
  const one = await Deno.makeTempDir();
  const many = await Deno.makeTempDir();
  try {
    const ids = ["s0", "s1", "s2", "s3", "s4", "s5", "s6"];
    const entry = (id: string) => ({ id, features: features(ids.indexOf(id)) });
    const single = await FeatureCache.open(one, { ...KEY, preprocessing: { std: [1], mean: [0] } });
    await single.put(ids.map(entry));
    await single.syncManifest();
    // Three "shards" (other key order), one killed after its first batch
    // (its temporary file left behind) and rerun by a new writer, one
    // sample written twice.
    const sharded = { ...KEY, preprocessing: { mean: [0], std: [1] } };
    const a = await FeatureCache.open(many, sharded);
    await a.put(["s6", "s3"].map(entry));
    await Deno.writeFile(
      `${a.dir}/shards/${"f".repeat(32)}.safetensors.dead.tmp`,
      new Uint8Array(9),
    );
    const b = await FeatureCache.open(many, sharded);
    await b.put(["s1"].map(entry));
    await b.put(["s4", "s0"].map(entry));
    const c = await FeatureCache.open(many, sharded);
    await c.put(["s5", "s2", "s3"].map(entry));
    await c.syncManifest();
    assert.equal(await c.removeStaleTemporaries(0), 1);
    assert.deepEqual(c.missing(["s0", "x", "s6", "y"], ["cls"]), ["x", "y"]);
    assert.deepEqual(c.missing(["s0"], ["patches"]), ["s0"]);
    const x = await tree(one);
    const y = await tree(many);
    assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
    assert.equal(x.size, 2 + ids.length, "key.json, manifest.json and one shard per sample");
    for (const [file, bytes] of x) assert.deepEqual(y.get(file), bytes, file);
    for (const cache of [single, a, b, c]) cache.close();
  } finally {
    await Deno.remove(one, { recursive: true });
    await Deno.remove(many, { recursive: true });
  }
});

Deno.test("features stored with different source fingerprints get different shard files", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cache = await FeatureCache.open(root, KEY);
    const f1 = await cache.put([{ id: "a", features: features(1), fingerprint: "v1" }]);
    const f2 = await cache.put([{ id: "a", features: features(2), fingerprint: "v2" }]);
    assert.notEqual(f1, f2);
    assert.equal(f1, sampleShardFile("a", "v1"));
    assert.notEqual(sampleShardFile("a"), sampleShardFile("a", "v1"));
    const reader = await FeatureCache.open(root, KEY);
    assert.deepEqual(reader.storedFingerprints("a").sort(), ["v1", "v2"]);
    assert.deepEqual((await reader.read("a", "cls")).data, features(1).cls.data);
    cache.close();
    reader.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

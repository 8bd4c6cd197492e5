// Issue 18, "a cache that knows its data": two NIH-14 copies with the same
// file names and other pixels must not share features through one --cache;
// a copy with 3 corrupt and 1 deleted PNG must report those 4 as failed; an
// identical copy in another folder must still hit the cache.
import assert from "node:assert/strict";
import { FeatureCache } from "../core/cache.ts";
import { extractFeatures, type ExtractReport } from "../core/extract.ts";
import type { Sample } from "../core/plugin.ts";
import {
  createToyAdapter,
  createToyEncoder,
  TOY_KEY,
  toyStats,
} from "../core/testdata/toy_extractor.ts";
import { openNih14, synthesizeNih14 } from "../plugins/modalities/xray/nih14.ts";

const COUNT = 16;
const KEY = { ...TOY_KEY, dataset: "xray/nih14" };

async function pngs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of ["images_001/images", "images_002/images"]) {
    for await (const e of Deno.readDir(`${root}/${folder}`)) out.push(`${folder}/${e.name}`);
  }
  return out.sort();
}

async function samplesOf(root: string): Promise<Sample[]> {
  const ds = await openNih14(root);
  return ds.splits.flatMap((s) => [...ds.samples(s)]);
}

interface Run {
  report: ExtractReport;
  failed: { id: string; stage: string; message: string }[];
  features: Map<string, Float32Array>;
}

/** Extracts `root` into the cache at `cacheRoot` and reads every usable sample's cls back. */
async function run(cacheRoot: string, root: string, fingerprint = true): Promise<Run> {
  const cache = await FeatureCache.open(cacheRoot, KEY);
  const failed: Run["failed"] = [];
  const samples = await samplesOf(root);
  try {
    const report = await extractFeatures({
      cache,
      samples,
      adapter: createToyAdapter(),
      context: { encoder: createToyEncoder(), resolution: 16, batchSize: 1 },
      fingerprint,
      onSampleError: (s, e, stage) => {
        failed.push({ id: s.id, stage, message: (e as Error).message });
        return true;
      },
    });
    const features = new Map<string, Float32Array>();
    for (const s of samples) {
      if (!failed.some((f) => f.id === s.id)) {
        features.set(s.id, (await cache.read(s.id, "cls")).data);
      }
    }
    return { report, failed, features };
  } finally {
    cache.close();
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("one cache, two NIH-14 copies with the same names and other pixels: each gets its own features", async () => {
  const tmp = await Deno.makeTempDir();
  const a = `${tmp}/nih-a`;
  const b = `${tmp}/nih-b`;
  await synthesizeNih14(a, { count: COUNT, seed: 1, size: 16 });
  // B: A's layout and names, the pixels of another synthetic draw.
  await synthesizeNih14(`${tmp}/other`, { count: COUNT, seed: 2, size: 16 });
  await copyTree(a, b);
  const names = await pngs(a);
  const others = await pngs(`${tmp}/other`);
  for (let i = 0; i < names.length; i++) {
    await Deno.copyFile(`${tmp}/other/${others[i]}`, `${b}/${names[i]}`);
  }

  // The bug as reported: without fingerprints, B is served A's features.
  const legacy = await run(`${tmp}/legacy-cache`, a, false);
  const legacyB = await run(`${tmp}/legacy-cache`, b, false);
  assert.equal(legacyB.report.skipped, COUNT, "the old behaviour: every B sample hit A's features");
  assert.deepEqual(legacyB.features, legacy.features);
  // Features cached before fingerprints are never trusted: they count as stale and are recomputed.
  const upgraded = await run(`${tmp}/legacy-cache`, b);
  assert.equal(upgraded.report.stale.length, COUNT);
  assert.equal(upgraded.report.skipped, 0);

  const fresh = await run(`${tmp}/fresh-cache`, b); // B alone: the reference.
  const shared = `${tmp}/cache`;
  const first = await run(shared, a);
  assert.equal(first.report.computed.length, COUNT);
  toyStats.encodedImages = 0;
  const second = await run(shared, b);
  assert.equal(second.report.skipped, 0, "no B sample may hit A's features");
  assert.equal(second.report.computed.length, COUNT);
  assert.equal(second.report.stale.length, COUNT);
  assert.equal(toyStats.encodedImages, COUNT);
  assert.deepEqual(second.features, fresh.features, "B's features equal those of a fresh cache");
  for (const [id, f] of first.features) assert.notDeepEqual(second.features.get(id), f);

  // Both versions stay: rerunning A hits, and so does an identical copy of A elsewhere.
  toyStats.encodedImages = 0;
  const again = await run(shared, a);
  assert.equal(again.report.skipped, COUNT);
  assert.deepEqual(again.features, first.features);
  await copyTree(a, `${tmp}/elsewhere/nih-a-copy`);
  const copy = await run(shared, `${tmp}/elsewhere/nih-a-copy`);
  assert.equal(copy.report.skipped, COUNT, "an identical copy in another folder hits");
  assert.equal(copy.report.computed.length, 0);
  assert.deepEqual(copy.features, first.features);
  assert.equal(toyStats.encodedImages, 0);
});

Deno.test("a copy with 3 corrupt PNGs and 1 deleted PNG reports those 4 as failed, the rest hit", async () => {
  const tmp = await Deno.makeTempDir();
  const a = `${tmp}/nih`;
  await synthesizeNih14(a, { count: COUNT, seed: 3, size: 16 });
  const cacheRoot = `${tmp}/cache`;
  const clean = await run(cacheRoot, a);
  assert.equal(clean.failed.length, 0);

  const bad = `${tmp}/nih-bad`;
  await copyTree(a, bad);
  const names = await pngs(bad);
  const [truncated, zeroed, garbage, deleted] = [names[1], names[4], names[9], names[12]];
  const png = await Deno.readFile(`${bad}/${truncated}`);
  await Deno.writeFile(`${bad}/${truncated}`, png.subarray(0, Math.floor(png.length / 2)));
  await Deno.writeFile(`${bad}/${zeroed}`, new Uint8Array(png.length));
  await Deno.writeFile(`${bad}/${garbage}`, Uint8Array.from(png, (_, i) => (i * 97 + 13) & 255));
  await Deno.remove(`${bad}/${deleted}`);

  const result = await run(cacheRoot, bad);
  const id = (path: string) => path.split("/").pop()!;
  assert.deepEqual(
    result.failed.map((f) => f.id).sort(),
    [truncated, zeroed, garbage, deleted].map(id).sort(),
  );
  const missing = result.failed.find((f) => f.id === id(deleted))!;
  assert.equal(missing.stage, "load");
  assert.match(missing.message, /missing/);
  assert.ok(missing.message.includes(id(deleted)));
  assert.equal(result.report.skipped, COUNT - 4, "the 12 unchanged files still hit");
  assert.equal(result.report.stale.length, 3, "the 3 corrupt files were not served from the cache");
  for (const [sid, f] of result.features) assert.deepEqual(f, clean.features.get(sid));
});

Deno.test("chunks <id>#… follow the fingerprint expected for <id>", async () => {
  const root = await Deno.makeTempDir();
  const cls = { data: Float32Array.of(1, 2), shape: [2] };
  const writer = await FeatureCache.open(root, KEY);
  writer.expect("case1", "mpfp1:sha256:1:aa");
  await writer.put([{ id: "case1#c000000", features: { cls } }]);
  writer.close();
  for (const [fp, held] of [["mpfp1:sha256:1:aa", true], ["mpfp1:sha256:1:bb", false]] as const) {
    const reader = await FeatureCache.open(root, KEY);
    reader.expect("case1", fp);
    assert.equal(reader.has("case1#c000000", ["cls"]), held);
    assert.deepEqual(reader.storedFingerprints("case1#c000000"), ["mpfp1:sha256:1:aa"]);
    if (!held) {
      await assert.rejects(() => reader.read("case1#c000000", "cls"), /current content/);
    }
    reader.close();
  }
  // An id holding "#" itself: the longest expected prefix wins.
  const hashed = await FeatureCache.open(root, KEY);
  hashed.expect("slide#1", "mpfp1:sha256:1:cc");
  hashed.expect("slide", "mpfp1:sha256:1:dd");
  await hashed.put([{ id: "slide#1#c000000", features: { cls } }]);
  assert.deepEqual(hashed.storedFingerprints("slide#1#c000000"), ["mpfp1:sha256:1:cc"]);
  hashed.close();
});

Deno.test("eval --from-cache counts the features of a changed file as missing", async () => {
  const { createDefaultRegistry } = await import("../plugins/builtin.ts");
  const { extractShard, openCachedEncoder } = await import("../cli/extract.ts");
  const tmp = await Deno.makeTempDir();
  const registry = createDefaultRegistry();
  await synthesizeNih14(`${tmp}/nih`, { count: 8, seed: 4, size: 64 });
  await extractShard(registry, "xray/nih14", {
    data: `${tmp}/nih`,
    weights: new URL("../fixtures/dinov3/tiny-public", import.meta.url).pathname,
    backend: "auto",
    resolution: 32,
    batch: 4,
    flushEvery: 4,
    workers: 0,
    plugin: [],
    quiet: true,
    cache: `${tmp}/cache`,
  });
  const from = { data: `${tmp}/nih`, cache: `${tmp}/cache`, out: tmp, resolution: 32 };
  await openCachedEncoder(registry, "xray/nih14", from); // complete: no error
  const [a, b] = await pngs(`${tmp}/nih`);
  await Deno.copyFile(`${tmp}/nih/${b}`, `${tmp}/nih/${a}`);
  const name = a.split("/").pop()!;
  await assert.rejects(
    () => openCachedEncoder(registry, "xray/nih14", from),
    new RegExp(`every sample must be cached: 1 missing .*\\(${name}; features of files changed`),
  );
});

Deno.test("a PET/CT case read as CT+PET is fingerprinted from both files", async () => {
  const { petCtSample } = await import("../plugins/modalities/pet/_common.ts");
  const { fingerprintSample } = await import("../core/fingerprint.ts");
  const dir = await Deno.makeTempDir();
  for (const f of ["ct", "pet", "seg"]) await Deno.writeTextFile(`${dir}/${f}.nii`, f);
  const files = {
    id: "c1",
    subject: "p1",
    ct: `${dir}/ct.nii`,
    pet: `${dir}/pet.nii`,
    seg: `${dir}/seg.nii`,
  };
  const both = petCtSample(files, "ct+pet", 2);
  const ctOnly = petCtSample(files, "ct", 2);
  const before = await fingerprintSample(both);
  assert.match(before!, /:set:2:/);
  const ctBefore = await fingerprintSample(ctOnly);
  await Deno.writeTextFile(`${dir}/pet.nii`, "other PET");
  assert.notEqual(
    await fingerprintSample(both),
    before,
    "a changed PET changes the CT+PET features",
  );
  assert.equal(await fingerprintSample(ctOnly), ctBefore, "CT-only features do not depend on PET");
});

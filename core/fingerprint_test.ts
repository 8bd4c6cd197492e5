import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  expectSource,
  FINGERPRINT_SCHEME,
  fingerprintFile,
  FingerprintMemo,
  fingerprintSample,
} from "./fingerprint.ts";

async function write(path: string, bytes: Uint8Array): Promise<string> {
  await Deno.writeFile(path, bytes);
  return path;
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255);
}

Deno.test("a file's fingerprint is its size and the SHA-256 of its content, not its path", async () => {
  const dir = await Deno.makeTempDir();
  const data = bytes(5000, 1);
  const a = await write(`${dir}/a.png`, data);
  await Deno.mkdir(`${dir}/copy`);
  const b = await write(`${dir}/copy/a.png`, data);
  const expected = `${FINGERPRINT_SCHEME}:sha256:5000:${
    createHash("sha256").update(data).digest("hex")
  }`;
  assert.equal(await fingerprintFile(a), expected);
  assert.equal(await fingerprintFile(b), expected);
  const changed = data.slice();
  changed[2500] ^= 1;
  await write(b, changed);
  assert.notEqual(await fingerprintFile(b), expected);
  await Deno.remove(b);
  await assert.rejects(() => fingerprintFile(b), Deno.errors.NotFound);
});

Deno.test("whole slides and files over the limit are fingerprinted from header, tail and sampled blocks", async () => {
  const dir = await Deno.makeTempDir();
  const size = 3 * 1024 * 1024;
  const data = bytes(size, 2);
  const slide = await write(`${dir}/s.svs`, data);
  const fp = await fingerprintFile(slide);
  assert.match(fp, new RegExp(`^${FINGERPRINT_SCHEME}:sampled:${size}:[0-9a-f]{64}$`));
  // A byte in the middle of sampled block 32 (offset floor(32 * (size - 64 KiB) / 63)) changes it.
  const block = Math.floor((32 * (size - 65536)) / 63);
  const edited = data.slice();
  edited[block + 100] ^= 0xff;
  await write(slide, edited);
  assert.notEqual(await fingerprintFile(slide), fp);
  // Any large file with fullHashMaxBytes below its size is sampled too; above, hashed whole.
  const big = await write(`${dir}/v.nii`, data);
  assert.match(await fingerprintFile(big, { fullHashMaxBytes: 1024 }), /:sampled:/);
  assert.match(await fingerprintFile(big), /:sha256:/);
  // A small TIFF is an image, hashed whole; pyramid TIFFs over 64 MiB are sampled.
  assert.match(await fingerprintFile(await write(`${dir}/small.tif`, data)), /:sha256:/);
});

Deno.test("folders and multi-source samples combine their files' fingerprints by relative path", async () => {
  const root = await Deno.makeTempDir();
  for (const copy of ["x", "y"]) {
    await Deno.mkdir(`${root}/${copy}/series/sub`, { recursive: true });
    await write(`${root}/${copy}/series/1.dcm`, bytes(100, 1));
    await write(`${root}/${copy}/series/sub/2.dcm`, bytes(100, 2));
  }
  const x = await fingerprintFile(`${root}/x/series`);
  assert.match(x, /:dir:2:/);
  assert.equal(await fingerprintFile(`${root}/y/series`), x);
  await Deno.rename(`${root}/y/series/sub/2.dcm`, `${root}/y/series/sub/3.dcm`);
  assert.notEqual(await fingerprintFile(`${root}/y/series`), x, "a renamed file changes it");
  const pair = { sources: [`${root}/x/series/1.dcm`, `${root}/x/series/sub/2.dcm`] };
  assert.match((await fingerprintSample(pair))!, /:set:2:/);
  assert.notEqual(
    await fingerprintSample(pair),
    await fingerprintSample({ sources: [...pair.sources].reverse() }),
  );
  assert.equal(await fingerprintSample({}), undefined);
});

Deno.test("the memo skips reading unchanged files and rehashes a file whose stat changed", async () => {
  const dir = await Deno.makeTempDir();
  const file = await write(`${dir}/a.png`, bytes(1000, 3));
  const memo = await FingerprintMemo.open(`${dir}/memo`);
  const fp = await fingerprintFile(file, { memo });
  await memo.flush();
  const reopened = await FingerprintMemo.open(`${dir}/memo`);
  assert.equal(reopened.lookup(file, await Deno.stat(file)), fp);
  // A remembered (wrong) value is served while the stat matches: proof the file is not read.
  reopened.remember(file, await Deno.stat(file), "mpfp1:sha256:1000:remembered");
  assert.equal(await fingerprintFile(file, { memo: reopened }), "mpfp1:sha256:1000:remembered");
  // Same size, new content: mtime/ctime change, so it is hashed again.
  await new Promise((r) => setTimeout(r, 20));
  await write(file, bytes(1000, 4));
  const fresh = await fingerprintFile(file, { memo: reopened });
  assert.notEqual(fresh, fp);
  assert.equal(fresh, await fingerprintFile(file));
  // A torn last line from a killed writer is ignored.
  await Deno.writeTextFile(`${dir}/memo/torn.jsonl`, '{"path": "/x", "fp');
  await FingerprintMemo.open(`${dir}/memo`);
});

Deno.test("expectSource tells the cache the sample's fingerprint, and reports a missing file", async () => {
  const dir = await Deno.makeTempDir();
  const file = await write(`${dir}/case.nii`, bytes(300, 5));
  const expected: [string, string][] = [];
  const cache = {
    root: `${dir}/cache`,
    expect: (id: string, fp: string) => expected.push([id, fp]),
  };
  const fp = await expectSource(cache, { id: "case", path: file });
  assert.deepEqual(expected, [["case", await fingerprintFile(file)]]);
  assert.equal(fp, expected[0][1]);
  const memo = await FingerprintMemo.open(`${dir}/cache/fingerprints`);
  assert.equal(memo.lookup(file, await Deno.stat(file)), fp, "remembered in <cache>/fingerprints");
  assert.equal(await expectSource(cache, { id: "nothing" }), undefined);
  await Deno.remove(file);
  await assert.rejects(
    () => expectSource(cache, { id: "case", path: file }),
    (e) =>
      e instanceof Deno.errors.NotFound &&
      /sample "case" .* missing: expected ".*case\.nii"/.test(e.message),
  );
  assert.equal(expected.length, 1);
});

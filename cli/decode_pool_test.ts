import assert from "node:assert/strict";
import { FormatError } from "../core/errors.ts";
import { openNih14, synthesizeNih14 } from "../plugins/modalities/xray/nih14.ts";
import { createDecodePool, rebuildError, serializeError } from "./decode_pool.ts";

const CHILD = new URL("./testdata/pool_child.ts", import.meta.url).pathname;
const PLUGIN = new URL("./testdata/dying_plugin.ts", import.meta.url).href;

Deno.test("serializeError()/rebuildError() keep FormatError's class, path and message, and Deno's error classes", () => {
  const f = rebuildError(
    serializeError(new FormatError("Cannot read x", { path: "a.png", offset: 7 })),
  );
  assert.ok(f instanceof FormatError);
  assert.deepEqual([f.path, f.offset, f.message], ["a.png", 7, "Cannot read x (a.png at byte 7)"]);
  assert.ok(
    rebuildError(serializeError(new Deno.errors.NotFound("gone"))) instanceof Deno.errors.NotFound,
  );
  const s = rebuildError(serializeError("dicomParser: bare string"));
  assert.equal(s.message, "dicomParser: bare string");
});

Deno.test("createDecodePool() hands a reader's FormatError back as a FormatError naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await synthesizeNih14(dir, { count: 8, seed: 1, size: 32 });
    const dataset = await openNih14(dir);
    const sample = dataset.samples("train")[0];
    await Deno.writeFile(sample.path!, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]));
    const pool = await createDecodePool({ dataset: "xray/nih14", root: dir, workers: 1 });
    try {
      await assert.rejects(
        () => pool.load("train", 0),
        (e: unknown) => e instanceof FormatError && e.path === sample.path,
      );
      const ok = await pool.load("train", 1);
      assert.equal(ok.kind, "image");
    } finally {
      pool.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a decode worker that dies (missing --allow-ffi) fails its requests at once, naming the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await synthesizeNih14(dir, { count: 8, seed: 1, size: 32 });
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", "--quiet", CHILD, dir, PLUGIN],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const seconds = (performance.now() - started) / 1000;
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const outcome: string[] = JSON.parse(text.split("\n").at(-1)!);
    assert.equal(outcome.length, 3);
    // The request that killed the worker is rejected (as failed, or by the death).
    assert.doesNotMatch(outcome[0], /^ok/);
    for (const later of outcome.slice(1)) {
      assert.match(later, /died: .*--allow-ffi/);
    }
    assert.ok(seconds < 60, `took ${seconds} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

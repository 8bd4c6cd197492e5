// The public API is a snapshot: every name `mod.ts` and `core/mod.ts` export,
// with its kind (function, class, interface, typeAlias, variable, namespace),
// as `deno doc --json` reports it, must equal tests/testdata/public_api.json.
// Adding, removing or changing the kind of a public name fails this test
// until the snapshot is updated on purpose:
//
//   UPDATE_SNAPSHOT=1 deno test -A tests/public_api_test.ts
import assert from "node:assert/strict";
import * as medprobe from "../mod.ts";

const ROOT = new URL("../", import.meta.url);
const SNAPSHOT = new URL("testdata/public_api.json", import.meta.url);

/** `name kind` lines of a module's exports, sorted. */
async function surface(module: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", module],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: { name: string; declarations: { kind: string }[] }[] }>;
  };
  const entry = doc.nodes[new URL(module, ROOT).href];
  assert.ok(entry, `deno doc has no node for ${module}`);
  return [...new Set(entry.symbols.map((s) => `${s.name} ${s.declarations[0].kind}`))].sort();
}

Deno.test("mod.ts and core/mod.ts export exactly the snapshot's names and kinds", async () => {
  const actual = { "mod.ts": await surface("mod.ts"), "core/mod.ts": await surface("core/mod.ts") };
  if (Deno.env.get("UPDATE_SNAPSHOT") === "1") {
    await Deno.writeTextFile(SNAPSHOT, JSON.stringify(actual, null, 2) + "\n");
  }
  const expected = JSON.parse(await Deno.readTextFile(SNAPSHOT));
  for (const file of ["mod.ts", "core/mod.ts"] as const) {
    const added = actual[file].filter((n) => !expected[file].includes(n));
    const removed = expected[file].filter((n: string) => !actual[file].includes(n));
    assert.deepEqual(
      { added, removed },
      { added: [], removed: [] },
      `${file}: the public API changed; review it, then UPDATE_SNAPSHOT=1`,
    );
  }
  // Internals stay private.
  for (const name of ["writeFileDurable", "writeFileAtomic", "writeTextAtomic", "canonicalJson"]) {
    assert.ok(!actual["core/mod.ts"].some((n) => n.startsWith(`${name} `)), `${name} is private`);
  }
});

Deno.test("the plugin-family namespaces expose their plugin objects", () => {
  assert.equal(medprobe.metrics.METRIC_PLUGINS.length >= 20, true);
  assert.equal(medprobe.heads.linearHead.name, "linear");
  assert.equal(medprobe.adapters.image2dAdapter.name, "image2d");
  assert.equal(medprobe.modalities.xrayPlugin.name, "xray");
  assert.equal(medprobe.tasks.classificationTask.name, "classification");
  assert.equal(medprobe.encoders.chooseBackend("auto", undefined).backend, "onnx");
  assert.equal(typeof medprobe.formats.readNifti, "function");
  assert.equal(typeof medprobe.report.writeReport, "function");
  // Every built-in plugin kind is reachable and valid, and no default export (house style).
  const registry = medprobe.createDefaultRegistry();
  for (const kind of medprobe.PLUGIN_KINDS) assert.ok(registry.list(kind).length > 0, kind);
  assert.equal("default" in medprobe, false);
});

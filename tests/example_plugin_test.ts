// The example third-party plugin (examples/ultrasound/mod.ts) loaded by
// path, as docs/plugins.md tells a plugin author to: `medprobe list` shows
// its modality and dataset with task, protocol and layout; `medprobe synth`
// writes BUSI's layout; the plugin opens it with the hash split it documents
// and decodes its images. `eval` on it runs in example_plugin_slow_test.ts.
import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";
import { BUSI_CLASSES, openBusi, ultrasoundModality } from "../examples/ultrasound/mod.ts";
import { loadPluginModule } from "../core/registry.ts";
import { createDefaultRegistry } from "../plugins/builtin.ts";

const PLUGIN = `${ROOT}examples/ultrasound/mod.ts`;

Deno.test("the example plugin registers beside the built-in plugins", async () => {
  const plugins = await loadPluginModule(PLUGIN);
  assert.deepEqual(plugins.map((p) => `${p.kind}:${p.name}`), ["modality:us"]);
  const registry = createDefaultRegistry(plugins);
  assert.equal(registry.get("modality", "us"), ultrasoundModality);
});

Deno.test("medprobe list and synth work on the example plugin loaded by path", async () => {
  const list = await medprobe("list", "--json", "--plugin", PLUGIN);
  assert.equal(list.code, 0, list.stderr);
  const json = JSON.parse(list.stdout);
  assert.ok(json.modality.some((m: { name: string }) => m.name === "us"));
  const busi = json.datasets.find((d: { id: string }) => d.id === "us/busi");
  assert.ok(busi, "us/busi is listed");
  assert.equal(busi.task, "classification");
  assert.equal(busi.problem, "multiclass");
  assert.deepEqual(busi.protocol.heads, ["linear", "knn"]);
  assert.match(busi.layout[0], /^Dataset_BUSI_with_GT\/benign\//);
  // The built-in datasets are all listed too, with their layouts.
  const ids = json.datasets.map((d: { id: string }) => d.id);
  for (const id of ["xray/nih14", "xray/rsna", "ct/ctrate", "ct/msd-task09", "pet/hecktor"]) {
    assert.ok(ids.includes(id), `${id} in ${ids.join(", ")}`);
  }
  assert.ok(json.datasets.every((d: { layout: string[] }) => d.layout.length > 0));

  const text = await medprobe("list", "--plugin", PLUGIN);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}us\/busi +BUSI breast ultrasound/m);
  assert.match(text.stdout, /task classification \(multiclass\)/);
  assert.match(text.stdout, /layout: +Dataset_BUSI_with_GT\/benign/);

  const dir = await Deno.makeTempDir({ prefix: "medprobe_busi_" });
  try {
    const synth = await medprobe(
      "synth",
      "us/busi",
      "--plugin",
      PLUGIN,
      "--out",
      dir,
      "--count",
      "30",
      "--seed",
      "3",
    );
    assert.equal(synth.code, 0, synth.stderr);
    const ds = await openBusi(dir);
    const train = ds.samples("train");
    const test = ds.samples("test");
    assert.equal(train.length + test.length, 30);
    assert.ok(train.length > test.length && test.length > 0);
    // The split is a function of the file name only: reopening gives the same split.
    const again = await openBusi(`${dir}/Dataset_BUSI_with_GT`);
    assert.deepEqual(again.samples("test").map((s) => s.id), test.map((s) => s.id));
    // Targets are class indices; every class is present; images decode.
    const classes = new Set([...train, ...test].map((s) => BUSI_CLASSES[s.target![0]]));
    assert.deepEqual([...classes].sort(), [...BUSI_CLASSES]);
    const image = await test[0].load();
    assert.equal(image.kind, "image");
    assert.equal((image as { width: number }).width, 64);
    await assert.rejects(openBusi(`${dir}/nothing`), /expected Dataset_BUSI_with_GT/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The `medprobe` command as a user sees it: help, version, list (with a
// third-party plugin module), gpu, and errors for bad usage.
import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";
import { VERSION } from "../cli/common.ts";

Deno.test("VERSION in cli/common.ts equals deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(VERSION, config.version);
});

Deno.test("medprobe --help lists every command and --version prints the version", async () => {
  const help = await medprobe("--help");
  assert.equal(help.code, 0);
  for (
    const cmd of [
      "demo",
      "synth",
      "eval",
      "sweep",
      "report",
      "list",
      "gpu",
      "encode",
      "pca",
      "export-onnx",
    ]
  ) {
    assert.match(help.stdout, new RegExp(`^  ${cmd}\\b`, "m"), `help lists ${cmd}`);
  }
  const version = await medprobe("--version");
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), VERSION);
});

Deno.test("medprobe list shows built-in plugins by kind and loads --plugin modules", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/us.ts`,
    `export const ultrasound = { kind: "modality", name: "us", description: "Breast ultrasound (BUSI)",
      datasets: [{ name: "busi", description: "BUSI", task: "classification", problem: "multiclass",
        layout: ["Dataset_BUSI/"],
        protocol: { adapter: "image2d", heads: ["linear", "knn"], metrics: ["accuracy"],
          resolution: 224, feature: "cls", trainSplit: "train", testSplit: "test" },
        open: () => { throw new Error("x"); }, synthesize: async () => {} }] };`,
  );
  const r = await medprobe("list", "--json", "--plugin", `${dir}/us.ts`);
  assert.equal(r.code, 0, r.stderr);
  const byKind = JSON.parse(r.stdout);
  const names = (k: string) => byKind[k].map((p: { name: string }) => p.name);
  assert.ok(names("encoder").includes("onnx"));
  assert.ok(names("adapter").includes("image2d") && names("adapter").includes("slice-mean"));
  assert.ok(["linear", "knn", "abmil", "decoder3d"].every((h) => names("head").includes(h)));
  assert.ok(["auc", "dice", "hd95", "arand"].every((m) => names("metric").includes(m)));
  assert.ok(["xray", "ct", "us"].every((m) => names("modality").includes(m)));

  await Deno.writeTextFile(
    `${dir}/bad.ts`,
    `export const broken = { kind: "metric", name: "x", description: "d" };`,
  );
  const bad = await medprobe("list", "--plugin", `${dir}/bad.ts`);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /metric plugin "x" from ".*bad\.ts" as field "higherIsBetter" must be a boolean/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("medprobe gpu reports the adapter kind and the backend auto picks, with its reason", async () => {
  const r = await medprobe("gpu", "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(["webgpu", "onnx"].includes(report.backend.backend));
  assert.ok(report.backend.reason.length > 10);
  if (report.adapter) {
    assert.equal(typeof report.adapter.isSoftware, "boolean");
    assert.equal(report.backend.backend, report.adapter.isSoftware ? "onnx" : "webgpu");
    assert.ok(report.limits.maxStorageBufferBindingSize > 0);
  } else {
    assert.equal(report.backend.backend, "onnx");
    assert.match(report.error, /mesa-vulkan-drivers/);
  }
});

Deno.test("medprobe reports unknown commands, unknown datasets and bad option values", async () => {
  const unknown = await medprobe("frobnicate");
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const dataset = await medprobe("eval", "xray/nope", "--data", ".");
  assert.notEqual(dataset.code, 0);
  assert.equal(dataset.code, 2);
  assert.match(
    dataset.stderr,
    /Cannot find dataset "xray\/nope" as .*: datasets are .*xray\/nih14/,
  );
  const batch = await medprobe("eval", "xray/nih14", "--data", ".", "--batch", "0");
  assert.equal(batch.code, 2);
  assert.match(
    batch.stderr,
    /--batch <n>' argument '0' is invalid. must be an integer in \[1, 4096\]/,
  );
  // A head that does not fit the task fails before any extraction, exit 2, listing what fits.
  const head = await medprobe("eval", "xray/nih14", "--data", ".", "--head", "abmil");
  assert.equal(head.code, 2);
  assert.match(
    head.stderr,
    /head "abmil" does not fit task "classification".*heads that fit are "linear", "knn"/,
  );
  const metric = await medprobe("eval", "ct/msd-task09", "--data", ".", "--metrics", "auc");
  assert.equal(metric.code, 2);
  assert.match(metric.stderr, /metric "auc" does not fit task "segmentation3d".*"dice"/);
  const feature = await medprobe("eval", "xray/nih14", "--data", ".", "--feature", "volume");
  assert.equal(feature.code, 2);
  assert.match(feature.stderr, /Cannot use feature "volume" as adapter "image2d" produces "cls"/);
  // Bad JSON in --head-options is a usage error with a message.
  const json = await medprobe("segment", "ct/msd-task09", "--data", ".", "--head-options", "{lr:");
  assert.equal(json.code, 2);
  assert.match(
    json.stderr,
    /--head-options <json>' argument '\{lr:' is invalid. must be a JSON object/,
  );
  // The same --seed rule everywhere, demo included.
  const seed = await medprobe("demo", "--seed", "-1");
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /--seed <n>' argument '-1' is invalid/);
  // A resolution that is not a multiple of the patch size is refused before any sample is read.
  const res = await medprobe(
    "eval",
    "xray/nih14",
    "--data",
    ".",
    "--weights",
    `${ROOT}fixtures/dinov3_demo`,
    "--resolution",
    "225",
  );
  assert.equal(res.code, 2, res.stderr);
  assert.match(
    res.stderr,
    /resolution 225 as each side must be a positive multiple of the encoder's patch size 16: e.g. 224/,
  );
  // A finished run is never overwritten silently.
  const done = await Deno.makeTempDir();
  await Deno.writeTextFile(`${done}/result.json`, "{}");
  const again = await medprobe("eval", "xray/nih14", "--data", ".", "--out", done);
  assert.equal(again.code, 2);
  assert.match(
    again.stderr,
    /already holds a finished run \(result.json\): use another --out, or --force/,
  );
  assert.equal(await Deno.readTextFile(`${done}/result.json`), "{}");
  await Deno.remove(done, { recursive: true });
  const backend = await medprobe("demo", "--backend", "cuda");
  assert.equal(backend.code, 2);
  assert.match(backend.stderr, /--backend <name>' argument 'cuda' is invalid/);
});

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
      datasets: [{ name: "busi", description: "BUSI", task: "multiclass", layout: ["Dataset_BUSI/"],
        protocol: {}, open: () => { throw new Error("x"); }, synthesize: async () => {} }] };`,
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
  assert.match(dataset.stderr, /Cannot find dataset "xray\/nope": datasets are .*xray\/nih14/);
  const batch = await medprobe("eval", "xray/nih14", "--data", ".", "--batch", "0");
  assert.notEqual(batch.code, 0);
  assert.match(batch.stderr, /must be a positive integer/);
});

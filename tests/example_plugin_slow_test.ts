// `medprobe eval` on the example third-party plugin (examples/ultrasound/mod.ts)
// loaded by path: synthetic BUSI → tiny DINOv3 (dim 64, 64 px) → linear probe →
// a result record for us/busi with its classes, splits and metrics. Slow (two
// CLI processes and onnxruntime start-up): kept out of the fast tier.
import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";

const PLUGIN = `${ROOT}examples/ultrasound/mod.ts`;

Deno.test("medprobe eval runs the example plugin's dataset end to end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_busi_" });
  try {
    const synth = await medprobe(
      "synth",
      "us/busi",
      "--plugin",
      PLUGIN,
      "--out",
      `${dir}/data`,
      "--count",
      "36",
    );
    assert.equal(synth.code, 0, synth.stderr);
    const run = await medprobe(
      "eval",
      "us/busi",
      "--plugin",
      PLUGIN,
      "--data",
      `${dir}/data`,
      "--weights",
      `${ROOT}fixtures/dinov3/tiny-public`,
      "--resolution",
      "64",
      "--backend",
      "onnx",
      "--bootstrap",
      "50",
      "--quiet",
      "--out",
      `${dir}/run`,
    );
    assert.equal(run.code, 0, run.stderr);
    const record = JSON.parse(await Deno.readTextFile(`${dir}/run/result.json`));
    assert.equal(record.dataset, "us/busi");
    assert.deepEqual(record.labels, ["benign", "malignant", "normal"]);
    assert.equal(record.head.name, "linear");
    assert.equal(record.data.counts.train + record.data.counts.test, 36);
    assert.deepEqual(record.data.failed, []);
    const auc = record.metrics.macro.auc.value;
    assert.ok(typeof auc === "number" && auc >= 0 && auc <= 1, `auc ${auc}`);
    const predictions = (await Deno.readTextFile(`${dir}/run/predictions.csv`)).trim().split("\n");
    assert.equal(predictions.length - 1, record.data.counts.test);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

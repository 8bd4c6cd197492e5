// A third-party *task* runs end to end: a plugin module written outside the
// repository against medprobe's exported types only (a regression task with
// its own head, metric and modality, tests/testdata/third_party/) is loaded
// with --plugin; `synth`, `eval --help` and `eval` work on it, and its own
// option and usage checks go through the same paths as the built-in tasks.
// No file in core/ or cli/ knows it.

import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";

async function pluginCopy(dir: string): Promise<string> {
  const source = await Deno.readTextFile(`${ROOT}tests/testdata/third_party/regression.ts`);
  const path = `${dir}/regression_plugin.ts`;
  await Deno.writeTextFile(path, source.replace(`"../../../mod.ts"`, `"file://${ROOT}mod.ts"`));
  return path;
}

Deno.test({
  name: "a third-party task plugin (regression) loads with --plugin and runs eval end to end",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe_third_party_" });
    try {
      const plugin = await pluginCopy(dir);
      const synth = await medprobe(
        "synth",
        "toyreg/brightness",
        "--plugin",
        plugin,
        "--out",
        `${dir}/data`,
        "--count",
        "40",
      );
      assert.equal(synth.code, 0, synth.stderr);
      // The task's own option shows in eval's help, in its group.
      const help = await medprobe("eval", "--help", "--plugin", plugin);
      assert.match(help.stdout, /Options of task regression:\s+--rounds <value>/);
      // A built-in dataset rejects the third-party task's option (exit 2).
      const misuse = await medprobe(
        "eval",
        "xray/nih14",
        "--plugin",
        plugin,
        "--data",
        dir,
        "--rounds",
        "2",
      );
      assert.equal(misuse.code, 2, misuse.stderr);
      assert.match(misuse.stderr, /--rounds .* option of task regression/);
      // Out of the option's range: a usage error before any work.
      const range = await medprobe(
        "eval",
        "toyreg/brightness",
        "--plugin",
        plugin,
        "--data",
        `${dir}/data`,
        "--rounds",
        "9",
      );
      assert.equal(range.code, 2, range.stderr);
      assert.match(range.stderr, /--rounds of task "regression" as it must be <= 5/);
      const run = await medprobe(
        "eval",
        "toyreg/brightness",
        "--plugin",
        plugin,
        "--data",
        `${dir}/data`,
        "--weights",
        `${ROOT}fixtures/dinov3_demo`,
        "--backend",
        "onnx",
        "--workers",
        "0",
        "--rounds",
        "3",
        "--head-options",
        '{"lambda": 0.1}',
        "--out",
        `${dir}/out`,
        "--quiet",
      );
      assert.equal(run.code, 0, run.stderr);
      const record = JSON.parse(await Deno.readTextFile(`${dir}/out/result.json`));
      assert.equal(record.task, "regression");
      assert.equal(record.head.name, "ridge");
      assert.equal(record.head.hyperparameters.lambda, 0.1);
      assert.equal(record.protocol.rounds, 3);
      // The recorded MAE is the MAE of the written predictions, and beats
      // predicting the training mean (brightness is in the features).
      const rows = (await Deno.readTextFile(`${dir}/out/predictions.csv`)).trim().split("\n")
        .slice(1).map((l) => l.split(",").map(Number));
      const mae = rows.reduce((a, r) => a + Math.abs(r[1] - r[2]), 0) / rows.length;
      assert.ok(Math.abs(record.metrics.macro.mae.value - mae) < 1e-6);
      const targets = JSON.parse(await Deno.readTextFile(`${dir}/data/targets.json`)) as number[];
      const train = targets.slice(0, Math.floor(targets.length * 0.7));
      const mean = train.reduce((a, b) => a + b, 0) / train.length;
      const baseline = rows.reduce((a, r) => a + Math.abs(mean - r[2]), 0) / rows.length;
      assert.ok(mae < baseline * 0.5, `MAE ${mae} vs mean-predictor ${baseline}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// End to end through the CLI, as a user runs it: `medprobe synth` writes a
// synthetic NIH ChestX-ray14 in its real layout (PNGs, Data_Entry_2017.csv,
// split lists), `medprobe eval` runs the report's 2D protocol on it with the
// shipped small random DINOv3 and writes OUT/result.json.
import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";
import { validateResultRecord } from "../core/result.ts";

const WEIGHTS = `${ROOT}fixtures/dinov3_demo`;

const dir = await Deno.makeTempDir({ prefix: "medprobe-e2e-" });
let synthesized: Promise<void> | undefined;
function synth(): Promise<void> {
  synthesized ??= medprobe(
    "synth",
    "xray/nih14",
    "--out",
    `${dir}/nih`,
    "--count",
    "128",
    "--seed",
    "2",
  )
    .then((r) => assert.equal(r.code, 0, r.stderr));
  return synthesized;
}

Deno.test({
  name:
    "medprobe eval xray/nih14 on generated files writes a complete record with AUC well above chance",
  sanitizeResources: false,
  async fn() {
    await synth();
    const r = await medprobe(
      "eval",
      "xray/nih14",
      "--data",
      `${dir}/nih`,
      "--weights",
      WEIGHTS,
      "--resolution",
      "112",
      "--feature",
      "cls+mean",
      "--epochs",
      "300",
      "--out",
      `${dir}/out`,
      "--cache",
      `${dir}/cache`,
      "--bootstrap",
      "300",
      "--json",
      "--quiet",
    );
    assert.equal(r.code, 0, r.stderr);
    const printed = validateResultRecord(JSON.parse(r.stdout));
    const record = validateResultRecord(
      JSON.parse(await Deno.readTextFile(`${dir}/out/result.json`)),
    );
    assert.deepEqual(printed.metrics, record.metrics);
    assert.equal(record.dataset, "xray/nih14");
    assert.equal(record.task, "multilabel");
    assert.equal(record.labels.length, 14);
    assert.equal(record.encoder.pretrained, false);
    assert.match(record.encoder.weightsSha256, /^[0-9a-f]{64}$/);
    assert.ok(record.encoder.backend.length > 0 && record.encoder.backendReason.length > 0);
    assert.equal(record.head.name, "linear");
    assert.equal(record.head.hyperparameters.epochs, 300);
    assert.equal(record.protocol.seed, 0);
    assert.equal(record.protocol.feature, "cls+mean");
    assert.deepEqual(record.protocol.resolution, 112);
    assert.equal(record.data.counts.train + record.data.counts.test, 128);
    assert.deepEqual(record.data.failed, []);
    for (const stage of ["extract", "fit", "predict", "metrics"]) {
      assert.ok(record.timings[stage].seconds >= 0, stage);
    }
    assert.ok(record.timings.extract.perSecond! > 0);
    for (const m of ["auc", "accuracy", "precision", "recall"]) {
      const v = record.metrics.macro[m];
      assert.ok(v && v.value !== null, m);
      assert.ok(
        v.ci && v.ci.low! <= v.value! && v.value! <= v.ci.high!,
        `${m} CI brackets the value`,
      );
    }
    for (const label of record.labels) assert.ok(label in record.metrics.perLabel);
    const auc = record.metrics.macro.auc.value!;
    assert.ok(auc > 0.75, `macro AUC ${auc} should be well above chance`);
    const csv = (await Deno.readTextFile(`${dir}/out/predictions.csv`)).trim().split("\n");
    assert.equal(csv.length, record.data.counts.test + 1);
    // A second run with another head reuses the cached features.
    const knn = await medprobe(
      "eval",
      "xray/nih14",
      "--data",
      `${dir}/nih`,
      "--weights",
      WEIGHTS,
      "--resolution",
      "112",
      "--feature",
      "cls+mean",
      "--head",
      "knn",
      "--out",
      `${dir}/out-knn`,
      "--cache",
      `${dir}/cache`,
      "--bootstrap",
      "100",
      "--json",
      "--quiet",
    );
    assert.equal(knn.code, 0, knn.stderr);
    const k = validateResultRecord(JSON.parse(knn.stdout));
    assert.equal(k.data.cacheHits, 128);
    assert.equal(k.timings.extract.items, 0);
    assert.ok(k.metrics.macro.auc.value! > 0.6);
  },
});

Deno.test({
  name: "medprobe eval records a missing and a corrupt image and goes on; --strict stops",
  sanitizeResources: false,
  async fn() {
    await synth();
    const bad = `${dir}/nih-bad`;
    await Deno.mkdir(bad);
    await new Deno.Command("cp", { args: ["-r", `${dir}/nih/.`, bad] }).output();
    const pngs: string[] = [];
    for await (const d of Deno.readDir(`${bad}/images_001/images`)) pngs.push(d.name);
    pngs.sort();
    await Deno.remove(`${bad}/images_001/images/${pngs[0]}`);
    const bytes = await Deno.readFile(`${bad}/images_001/images/${pngs[1]}`);
    await Deno.writeFile(`${bad}/images_001/images/${pngs[1]}`, bytes.slice(0, bytes.length >> 1));
    // deno-fmt-ignore
    const base = ["eval", "xray/nih14", "--data", bad, "--weights", WEIGHTS, "--resolution", "64", "--head", "knn"];
    const r = await medprobe(
      ...base,
      "--out",
      `${dir}/out-bad`,
      "--bootstrap",
      "0",
      "--json",
      "--quiet",
    );
    assert.equal(r.code, 0, r.stderr);
    const record = validateResultRecord(JSON.parse(r.stdout));
    const failed = record.data.failed.map((f) => f.id).sort();
    assert.deepEqual(failed, [pngs[0], pngs[1]].sort());
    for (const f of record.data.failed) {
      assert.ok(f.reason.length > 10 && f.stage === "load", f.reason);
    }
    assert.equal(record.data.counts.train + record.data.counts.test, 126);
    const strict = await medprobe(
      ...base,
      "--out",
      `${dir}/out-strict`,
      "--cache",
      `${dir}/cache-strict`,
      "--strict",
      "--quiet",
    );
    assert.notEqual(strict.code, 0);
    assert.match(
      strict.stderr,
      new RegExp(pngs[0].replace(".", "\\.") + "|" + pngs[1].replace(".", "\\.")),
    );
  },
});

Deno.test({
  name: "medprobe eval on a wrong --data layout says what was expected and what was found",
  async fn() {
    const empty = await Deno.makeTempDir();
    await Deno.writeTextFile(`${empty}/notes.txt`, "not a dataset");
    const r = await medprobe(
      "eval",
      "xray/nih14",
      "--data",
      empty,
      "--weights",
      WEIGHTS,
      "--quiet",
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Data_Entry_2017/);
    assert.match(r.stderr, /notes\.txt/);
    await Deno.remove(empty, { recursive: true });
  },
});

import assert from "node:assert/strict";
import { FormatError } from "../../../core/errors.ts";
import { validatePlugin } from "../../../core/registry.ts";
import type { Image2D } from "../../../core/plugin.ts";
import { fixture } from "../../formats/_testing.ts";
import { readNihDataEntry } from "../../formats/csv/mod.ts";
import { xrayPlugin } from "./mod.ts";
import { NIH14_LABELS, nih14Dataset, openNih14, planNih14Synth, synthesizeNih14 } from "./nih14.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_nih14_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function targetOf(labels: readonly number[]): number[] {
  return NIH14_LABELS.map((_, k) => (labels.includes(k) ? 1 : 0));
}

Deno.test("xrayPlugin passes validatePlugin with datasets nih14 and rsna", () => {
  validatePlugin(xrayPlugin);
  assert.deepEqual(xrayPlugin.datasets.map((d) => d.name), ["nih14", "rsna"]);
  assert.equal(nih14Dataset.protocol.adapter, "image2d");
  assert.deepEqual(nih14Dataset.protocol.heads, ["linear", "knn"]);
  assert.deepEqual(nih14Dataset.protocol.metrics, ["auc", "accuracy", "precision", "recall"]);
  assert.equal(nih14Dataset.protocol.resolution, 224);
  assert.equal(nih14Dataset.protocol.feature, "cls");
});

Deno.test("openNih14() on generated data returns the generator's counts, labels, splits and targets", async () => {
  await withTemp(async (dir) => {
    const options = { count: 24, seed: 3, size: 64 };
    await synthesizeNih14(dir, options);
    const plan = planNih14Synth(options);
    const ds = await openNih14(dir);
    assert.equal(ds.id, "xray/nih14");
    assert.equal(ds.problem, "multilabel");
    assert.deepEqual(ds.labels, NIH14_LABELS);
    assert.deepEqual(ds.splits, ["train", "test"]);
    assert.equal(ds.splitInfo.method, "official");
    assert.deepEqual(ds.skipped, []);
    const train = ds.samples("train");
    const test = ds.samples("test");
    assert.equal(train.length + test.length, 24);
    assert.equal(train.length, plan.filter((p) => p.split === "train").length);
    assert.ok(test.length >= 1);
    const byName = new Map(plan.map((p) => [p.name, p]));
    for (const [split, samples] of [["train", train], ["test", test]] as const) {
      for (const s of samples) {
        const p = byName.get(s.id)!;
        assert.equal(p.split, split);
        assert.equal(s.subject, String(p.patientId));
        assert.deepEqual([...s.target!], targetOf(p.labels), s.id);
      }
    }
    // patient-wise: no patient on both sides
    const trainPatients = new Set(train.map((s) => s.subject));
    assert.ok(test.every((s) => !trainPatients.has(s.subject)));
    // every label positive and negative in each split
    for (const samples of [train, test]) {
      if (samples.length < 2) continue;
      for (let k = 0; k < 14; k++) {
        const pos = samples.filter((s) => s.target![k] === 1).length;
        assert.ok(pos > 0 && pos < samples.length, `label ${k}`);
      }
    }
    const image = await train[0].load() as Image2D;
    assert.equal(image.kind, "image");
    assert.equal(image.width, 64);
    assert.equal(image.height, 64);
    assert.equal(image.channels, 1);
    assert.ok(image.data instanceof Uint8Array);
    // images are spread over two images_NNN/images folders
    assert.ok(train.concat(test).some((s) => s.path!.includes("images_002/images/")));
  });
});

Deno.test("synthesizeNih14() is deterministic for a seed and differs across seeds", async () => {
  await withTemp(async (dir) => {
    await synthesizeNih14(`${dir}/a`, { count: 6, seed: 9, size: 32 });
    await synthesizeNih14(`${dir}/b`, { count: 6, seed: 9, size: 32 });
    await synthesizeNih14(`${dir}/c`, { count: 6, seed: 10, size: 32 });
    const csv = (d: string) => Deno.readTextFile(`${dir}/${d}/Data_Entry_2017.csv`);
    assert.equal(await csv("a"), await csv("b"));
    const png = (d: string) => Deno.readFile(`${dir}/${d}/images_001/images/00000001_000.png`);
    assert.deepEqual(await png("a"), await png("b"));
    assert.notDeepEqual(await png("a"), await png("c"));
  });
});

Deno.test("openNih14() on a wrong layout lists what was expected and what was found", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/Data_Entry_2017.csv`, "Image Index\n");
    await Deno.mkdir(`${dir}/scans`);
    await Deno.writeTextFile(`${dir}/notes.txt`, "");
    await assert.rejects(() => openNih14(dir), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /expected Data_Entry_2017\.csv/);
      assert.match(error.message, /train_val_list\.txt/);
      assert.match(
        error.message,
        /missing train_val_list\.txt, test_list\.txt, images_\*\/images\//,
      );
      assert.match(error.message, /found Data_Entry_2017\.csv, notes\.txt, scans\//);
      return true;
    });
    await assert.rejects(
      () => openNih14(`${dir}/absent`),
      /found nothing \(the folder does not exist\)/,
    );
  });
});

Deno.test("openNih14() points at the dataset folder one level down", async () => {
  await withTemp(async (dir) => {
    await synthesizeNih14(`${dir}/nih`, { count: 4, seed: 0, size: 32 });
    await assert.rejects(() => openNih14(dir), /"[^"]*\/nih" holds train_val_list\.txt/);
  });
});

Deno.test("a CSV row naming a missing image fails only that sample's load(), naming the path", async () => {
  await withTemp(async (dir) => {
    await synthesizeNih14(dir, { count: 8, seed: 1, size: 32 });
    await Deno.remove(`${dir}/images_001/images/00000001_000.png`);
    const ds = await openNih14(dir);
    const all = [...ds.samples("train"), ...ds.samples("test")];
    assert.equal(all.length, 8);
    const missing = all.find((s) => s.id === "00000001_000.png")!;
    await assert.rejects(() => missing.load(), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /00000001_000\.png/);
      assert.ok(error.message.includes(dir), "the message names the expected path");
      return true;
    });
    for (const s of all.filter((s) => s !== missing)) await s.load();
  });
});

Deno.test("a corrupt PNG fails its sample's load() with FormatError", async () => {
  await withTemp(async (dir) => {
    await synthesizeNih14(dir, { count: 4, seed: 2, size: 32 });
    const path = `${dir}/images_001/images/00000001_000.png`;
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, 60));
    const ds = await openNih14(dir);
    const sample = [...ds.samples("train"), ...ds.samples("test")].find((s) =>
      s.id === "00000001_000.png"
    )!;
    await assert.rejects(() => sample.load(), FormatError);
  });
});

Deno.test("the NIH fixture Data_Entry CSV parses into 13 rows with the right multi-labels", async () => {
  const path = fixture("csv/Data_Entry_2017_sample.csv");
  const rows = await readNihDataEntry(path);
  assert.equal(rows.length, 13);
  const targets = new Map(rows.map((r) => [r.imageIndex, r.target]));
  assert.deepEqual(rows[1].findingLabels, ["No Finding"]);
  const names = (image: string) => NIH14_LABELS.filter((_, k) => targets.get(image)![k] === 1);
  assert.deepEqual(names("00000002_000.png"), ["Infiltration", "Pleural_Thickening"]);
  assert.deepEqual(names("00000013_000.png"), ["Cardiomegaly", "Hernia"]);
  assert.deepEqual(names("00000013_005.png"), ["Effusion", "Infiltration"]);
  assert.deepEqual(names("00000001_001.png"), []); // No Finding
  assert.deepEqual(names("00000030_000.png"), ["Mass"]);
});

Deno.test("openNih14() reads the fixture table as downloaded; absent images fail at load()", async () => {
  await withTemp(async (dir) => {
    await Deno.copyFile(fixture("csv/Data_Entry_2017_sample.csv"), `${dir}/Data_Entry_2017.csv`);
    const names = (await Deno.readTextFile(`${dir}/Data_Entry_2017.csv`)).split("\n").slice(1)
      .filter((l) => l.trim()).map((l) => l.split(",")[0]);
    await Deno.writeTextFile(`${dir}/train_val_list.txt`, names.slice(0, 10).join("\n") + "\n");
    await Deno.writeTextFile(
      `${dir}/test_list.txt`,
      [...names.slice(10), "99999999_000.png"].join("\n") + "\n",
    );
    await Deno.mkdir(`${dir}/images_001/images`, { recursive: true });
    await Deno.copyFile(
      fixture("raster/00000013_005.png"),
      `${dir}/images_001/images/00000013_005.png`,
    );
    const ds = await openNih14(dir);
    assert.equal(ds.samples("train").length, 10);
    assert.equal(ds.samples("test").length, 3);
    assert.deepEqual(ds.skipped.map((s) => s.id), ["99999999_000.png"]);
    const sample = ds.samples("train").find((s) => s.id === "00000013_005.png")!;
    assert.equal(sample.subject, "13");
    const image = await sample.load() as Image2D;
    assert.equal(image.width, 256);
    assert.equal(image.height, 256);
    const absent = ds.samples("train").find((s) => s.id === "00000001_000.png")!;
    await assert.rejects(() => absent.load(), Deno.errors.NotFound);
  });
});

Deno.test("openNih14() rejects a label outside the 14 and No Finding with FormatError", async () => {
  await withTemp(async (dir) => {
    await synthesizeNih14(dir, { count: 4, seed: 0, size: 32 });
    const path = `${dir}/Data_Entry_2017.csv`;
    const lines = (await Deno.readTextFile(path)).split("\n");
    const cells = lines[1].split(",");
    cells[1] = "Fracture";
    lines[1] = cells.join(",");
    await Deno.writeTextFile(path, lines.join("\n"));
    await assert.rejects(() => openNih14(dir), (error: Error) => {
      assert.ok(error instanceof FormatError);
      assert.match(error.message, /"Fracture" is not a ChestX-ray14 class/);
      return true;
    });
  });
});

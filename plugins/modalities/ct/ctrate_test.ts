import assert from "node:assert/strict";
import { FormatError } from "../../../core/errors.ts";
import type { Volume } from "../../../core/plugin.ts";
import { validatePlugin } from "../../../core/registry.ts";
import { fixture } from "../../formats/_testing.ts";
import { encodeNifti, readNifti } from "../../formats/nifti/mod.ts";
import {
  CTRATE_LABELS,
  ctrateDataset,
  openCtrate,
  planCtrateSynth,
  synthesizeCtrate,
} from "./ctrate.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_ctrate_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function minMax(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

Deno.test("ctrateDataset passes validatePlugin inside a modality and has the PROTOCOLS.md defaults", () => {
  validatePlugin({ kind: "modality", name: "ct", description: "CT", datasets: [ctrateDataset] });
  assert.equal(ctrateDataset.name, "ctrate");
  assert.equal(ctrateDataset.protocol.adapter, "slice-mean");
  assert.deepEqual(ctrateDataset.protocol.heads, ["linear", "knn"]);
  assert.deepEqual(ctrateDataset.protocol.metrics, ["auc", "accuracy", "precision", "recall"]);
  assert.equal(ctrateDataset.protocol.trainSplit, "train");
  assert.equal(ctrateDataset.protocol.testSplit, "valid");
});

Deno.test("openCtrate() on generated data returns the generator's splits, labels and targets", async () => {
  await withTemp(async (dir) => {
    const options = { count: 10, seed: 1, size: 24, depth: 6 };
    await synthesizeCtrate(dir, options);
    const plan = planCtrateSynth(options);
    for (const root of [dir, `${dir}/dataset`]) {
      const ds = await openCtrate(root);
      assert.equal(ds.id, "ct/ctrate");
      assert.equal(ds.problem, "multilabel");
      assert.deepEqual(ds.labels, CTRATE_LABELS);
      assert.deepEqual(ds.splits, ["train", "valid"]);
      assert.equal(ds.splitInfo.method, "official");
      assert.deepEqual(ds.skipped, []);
      const byName = new Map(plan.map((p) => [p.name.replace(".nii.gz", ""), p]));
      let total = 0;
      for (const split of ds.splits) {
        const samples = ds.samples(split);
        total += samples.length;
        assert.equal(samples.length, plan.filter((p) => p.split === split).length);
        for (const s of samples) {
          const p = byName.get(s.id)!;
          assert.equal(p.split, split);
          assert.deepEqual(
            [...s.target!],
            CTRATE_LABELS.map((_, k) => (p.labels.includes(k) ? 1 : 0)),
          );
          const [, patient, scan] = s.id.split("_");
          assert.equal(s.subject, `${split}_${patient}`);
          assert.ok(
            s.path!.endsWith(
              `/${split}/${split}_${patient}/${split}_${patient}_${scan}/${s.id}.nii.gz`,
            ),
            String(s.path),
          );
        }
      }
      assert.equal(total, 10);
    }
  });
});

Deno.test("CT-RATE load() applies the metadata rescale (varied per volume) and spacing", async () => {
  await withTemp(async (dir) => {
    const options = { count: 6, seed: 4, size: 24, depth: 6 };
    await synthesizeCtrate(dir, options);
    const plan = planCtrateSynth(options);
    assert.ok(new Set(plan.map((p) => p.intercept + "/" + p.slope)).size >= 2);
    const ds = await openCtrate(dir);
    for (const s of [...ds.samples("train"), ...ds.samples("valid")]) {
      const volume = await s.load() as Volume;
      assert.equal(volume.kind, "volume");
      assert.deepEqual(volume.shape, [6, 24, 24]);
      assert.deepEqual(volume.spacingMm, [160 / 6, 320 / 24, 320 / 24]);
      // the corner voxel is air outside the body whatever the stored encoding
      assert.ok(Math.abs(volume.data[0] + 1000) < 60, `${s.id}: ${volume.data[0]}`);
      const [lo, hi] = minMax(volume.data);
      assert.ok(lo >= -1024 && hi > 500, `${s.id}: ${lo}..${hi}`);
      // the raw NIfTI alone does not give HU
      const raw = await readNifti(s.path!);
      assert.equal(raw.scaling, null);
      const p = plan.find((q) => q.name === `${s.id}.nii.gz`)!;
      assert.equal(Number(raw.data[0]) * p.slope + p.intercept, volume.data[0]);
    }
  });
});

async function writeFixtureDataset(dir: string): Promise<string> {
  const base = `${dir}/dataset`;
  const folder = `${base}/train/train_1/train_1_a`;
  await Deno.mkdir(folder, { recursive: true });
  await Deno.mkdir(`${base}/valid`, { recursive: true });
  await Deno.mkdir(`${base}/multi_abnormality_labels`, { recursive: true });
  await Deno.mkdir(`${base}/metadata`, { recursive: true });
  await Deno.copyFile(
    fixture("nifti/ctrate_like/train_1_a_1.nii.gz"),
    `${folder}/train_1_a_1.nii.gz`,
  );
  const labels = await Deno.readTextFile(fixture("csv/train_predicted_labels.csv"));
  const metadata = await Deno.readTextFile(fixture("csv/train_metadata.csv"));
  await Deno.writeTextFile(`${base}/multi_abnormality_labels/train_predicted_labels.csv`, labels);
  await Deno.writeTextFile(
    `${base}/multi_abnormality_labels/valid_predicted_labels.csv`,
    labels.split("\n")[0] + "\n",
  );
  await Deno.writeTextFile(`${base}/metadata/train_metadata.csv`, metadata);
  await Deno.writeTextFile(
    `${base}/metadata/validation_metadata.csv`,
    metadata.split("\n")[0] + "\n",
  );
  return base;
}

Deno.test("CT-RATE on the ctrate_like fixture: HU from the metadata CSV row, spacing, labels", async () => {
  await withTemp(async (dir) => {
    await writeFixtureDataset(dir);
    const ds = await openCtrate(dir);
    const train = ds.samples("train");
    assert.equal(train.length, 12);
    assert.equal(ds.samples("valid").length, 0);
    const sample = train.find((s) => s.id === "train_1_a_1")!;
    assert.deepEqual(
      [...sample.target!],
      [0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
    );
    const volume = await sample.load() as Volume;
    assert.deepEqual(volume.shape, [16, 48, 48]);
    assert.deepEqual(volume.spacingMm, [1.5, 0.75, 0.75]);
    assert.deepEqual(minMax(volume.data), [-1000, 730]);
    // the other 11 volumes are listed but not on disk: their load() rejects naming the path
    const absent = train.find((s) => s.id === "train_3_b_1")!;
    await assert.rejects(() => absent.load(), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.ok(e.message.includes("train/train_3/train_3_b/train_3_b_1.nii.gz"));
      return true;
    });
    const present = await openCtrate(dir, { presentOnly: true });
    assert.deepEqual(present.samples("train").map((s) => s.id), ["train_1_a_1"]);
    assert.equal(present.skipped.length, 11);
  });
});

Deno.test("openCtrate() on a wrong layout lists what was expected and what was found", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/train`);
    await Deno.mkdir(`${dir}/radiology_text_reports`);
    await assert.rejects(() => openCtrate(dir), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /expected train\/train_<patient>\//);
      assert.match(error.message, /multi_abnormality_labels\/train_predicted_labels\.csv/);
      assert.match(
        error.message,
        /missing valid\/, multi_abnormality_labels\/train_predicted_labels\.csv, multi_abnormality_labels\/valid_predicted_labels\.csv, metadata\/train_metadata\.csv/,
      );
      assert.match(error.message, /found radiology_text_reports\/, train\//);
      return true;
    });
  });
});

Deno.test("CT-RATE: a corrupt volume, a volume with no slices and a missing metadata row fail at load()", async () => {
  await withTemp(async (dir) => {
    const options = { count: 6, seed: 2, size: 16, depth: 4 };
    await synthesizeCtrate(dir, options);
    const ds = await openCtrate(dir);
    const [a, b, c] = ds.samples("train");
    // truncated gzip
    const bytes = await Deno.readFile(a.path!);
    await Deno.writeFile(a.path!, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(() => a.load(), FormatError);
    // a volume whose third axis is empty
    const empty = encodeNifti(new Int16Array(16 * 16), {
      shape: [16, 16, 1],
      affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    });
    new DataView(empty.buffer).setInt16(46, 0, true); // dim[3] = 0
    await Deno.writeFile(b.path!, empty.subarray(0, 352));
    await assert.rejects(() => b.load(), FormatError);
    // no metadata row
    const metaPath = `${dir}/dataset/metadata/train_metadata.csv`;
    const lines = (await Deno.readTextFile(metaPath)).split("\n");
    await Deno.writeTextFile(
      metaPath,
      lines.filter((l) => !l.startsWith(`${c.id}.nii.gz,`)).join("\n"),
    );
    const reopened = await openCtrate(dir);
    const c2 = reopened.samples("train").find((s) => s.id === c.id)!;
    await assert.rejects(() => c2.load(), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /has no row in metadata\/train_metadata\.csv/);
      return true;
    });
  });
});

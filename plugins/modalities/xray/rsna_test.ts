import assert from "node:assert/strict";
import { FormatError } from "../../../core/errors.ts";
import type { Image2D } from "../../../core/plugin.ts";
import { fixture } from "../../formats/_testing.ts";
import {
  openRsna,
  planRsnaSynth,
  RSNA_LABELS,
  rsnaDataset,
  rsnaFallbackSplit,
  synthesizeRsna,
} from "./rsna.ts";
import { mgcaRsnaSplit } from "./mgca_split.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_rsna_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rsnaDataset has the PROTOCOLS.md defaults", () => {
  assert.equal(rsnaDataset.problem, "binary");
  assert.equal(rsnaDataset.protocol.adapter, "image2d");
  assert.deepEqual(rsnaDataset.protocol.heads, ["linear", "knn"]);
  assert.equal(rsnaDataset.protocol.testSplit, "test");
});

Deno.test("openRsna() on generated data uses the MGCA split files and the generator's targets", async () => {
  await withTemp(async (dir) => {
    const options = { count: 20, seed: 2, size: 64 };
    await synthesizeRsna(dir, options);
    const plan = planRsnaSynth(options);
    const ds = await openRsna(dir);
    assert.equal(ds.id, "xray/rsna");
    assert.deepEqual(ds.labels, RSNA_LABELS);
    assert.deepEqual(ds.splits, ["train", "val", "test"]);
    assert.equal(ds.splitInfo.method, "mgca");
    assert.deepEqual(ds.splitInfo.files, ["train.csv", "val.csv", "test.csv"]);
    assert.match(ds.splitSource, /^mgca: MGCA split read from train\.csv, val\.csv, test\.csv/);
    assert.deepEqual(ds.skipped, []);
    const byId = new Map(plan.map((p) => [p.patientId, p]));
    let total = 0;
    for (const split of ds.splits) {
      const samples = ds.samples(split);
      total += samples.length;
      assert.equal(samples.length, plan.filter((p) => p.split === split).length, split);
      for (const s of samples) {
        const p = byId.get(s.id)!;
        assert.equal(p.split, split);
        assert.deepEqual([...s.target!], [p.target]);
        assert.equal(s.subject, s.id);
      }
      // stratified: both classes in every split
      assert.ok(samples.some((s) => s.target![0] === 1) && samples.some((s) => s.target![0] === 0));
    }
    assert.equal(total, 20);
    // several label rows for a patient with two boxes, and Target is their max
    const two = plan.find((p) => p.boxes.length === 2);
    assert.ok(two, "the plan has a patient with two opacities");
    const csv = await Deno.readTextFile(`${dir}/stage_2_train_labels.csv`);
    assert.equal(csv.split("\n").filter((l) => l.startsWith(two.patientId + ",")).length, 2);
  });
});

Deno.test("RSNA load() gives display pixels in [0, 1] with MONOCHROME1 inverted", async () => {
  await withTemp(async (dir) => {
    const options = { count: 8, seed: 5, size: 64 };
    await synthesizeRsna(dir, options);
    const plan = planRsnaSynth(options);
    const ds = await openRsna(dir);
    const all = ds.splits.flatMap((s) => [...ds.samples(s)]);
    for (const photometric of ["MONOCHROME1", "MONOCHROME2"]) {
      const p = plan.find((q) => q.photometric === photometric)!;
      const image = await all.find((s) => s.id === p.patientId)!.load() as Image2D;
      assert.equal(image.width, 64);
      assert.equal(image.height, 64);
      assert.equal(image.channels, 1);
      assert.equal(image.intensity, "unit");
      const d = image.data;
      const corner = (d[0] + d[63] + d[64 * 63]) / 3; // air outside the body: dark either way
      const centre = d[32 * 64 + 32]; // mediastinum: bright either way
      assert.ok(corner < 0.2 && centre > 0.5, `${photometric}: corner ${corner}, centre ${centre}`);
      assert.ok(Math.max(...d) <= 1 && Math.min(...d) >= 0);
    }
  });
});

Deno.test("openRsna() on a raw download recomputes MGCA's split from the labels CSV", async () => {
  await withTemp(async (dir) => {
    await synthesizeRsna(dir, { count: 30, seed: 1, size: 32, splitFiles: false });
    const ds = await openRsna(dir);
    assert.equal(ds.splitInfo.method, "mgca-recomputed");
    assert.deepEqual(ds.splitInfo.files, []);
    assert.match(
      ds.splitSource,
      /^mgca-recomputed: MGCA split recomputed from stage_2_train_labels\.csv/,
    );
    // 30 patients: n_test = ceil(0.3 * 30) = 9 -> train 21; 9 -> val ceil(4.5) = 5, test 4
    assert.deepEqual(ds.splits.map((s) => ds.samples(s).length), [21, 5, 4]);
    const expected = mgcaRsnaSplit(planRsnaSynth({ count: 30, seed: 1 }).map((p) => p.patientId));
    for (const split of ["train", "val", "test"] as const) {
      assert.deepEqual(ds.samples(split).map((s) => s.id), expected[split]);
    }
    // the MGCA files, when present, still win, and the record says how they compare
    await synthesizeRsna(dir, { count: 30, seed: 1, size: 32 });
    const withFiles = await openRsna(dir);
    assert.equal(withFiles.splitInfo.method, "mgca");
    assert.match(withFiles.splitInfo.description, /differ from MGCA's preprocess_rsna_data\(\)/);
    const forced = await openRsna(dir, { splitMethod: "mgca-recomputed" });
    assert.equal(forced.splitInfo.method, "mgca-recomputed");
    assert.deepEqual(forced.samples("val").map((s) => s.id), expected.val);
    // files written from the recomputed split are reported as identical
    for (const split of ["train", "val", "test"] as const) {
      await Deno.writeTextFile(
        `${dir}/${split}.csv`,
        ["patientId,bbox,Target", ...expected[split].map((id) => `${id},,0`)].join("\n") + "\n",
      );
    }
    assert.match((await openRsna(dir)).splitInfo.description, /identical to MGCA's/);
    await assert.rejects(() => openRsna(dir, { splitMethod: "random" as "auto" }), TypeError);
  });
});

Deno.test("openRsna() uses the documented hash fallback only when asked", async () => {
  await withTemp(async (dir) => {
    await synthesizeRsna(dir, { count: 30, seed: 1, size: 32, splitFiles: false });
    const ds = await openRsna(dir, { splitMethod: "hash-fallback" });
    assert.equal(ds.splitInfo.method, "hash-fallback");
    assert.deepEqual(ds.splitInfo.files, []);
    assert.match(ds.splitInfo.description, /FNV-1a/);
    assert.match(ds.splitSource, /^hash-fallback: deterministic patient-level fallback/);
    let total = 0;
    for (const split of ds.splits) {
      for (const s of ds.samples(split)) {
        assert.equal(rsnaFallbackSplit(s.id, 0), split);
        total++;
      }
    }
    assert.equal(total, 30);
    assert.ok(ds.samples("train").length > ds.samples("test").length);
    const reseeded = await openRsna(dir, { forceFallbackSplit: true, splitSeed: 7 });
    assert.notDeepEqual(
      reseeded.samples("train").map((s) => s.id),
      ds.samples("train").map((s) => s.id),
    );
  });
});

Deno.test("RSNA: a missing DICOM rejects naming the path; a truncated one is a FormatError", async () => {
  await withTemp(async (dir) => {
    const options = { count: 6, seed: 3, size: 32 };
    await synthesizeRsna(dir, options);
    const [a, b] = planRsnaSynth(options);
    await Deno.remove(`${dir}/stage_2_train_images/${a.patientId}.dcm`);
    const path = `${dir}/stage_2_train_images/${b.patientId}.dcm`;
    await Deno.writeFile(path, (await Deno.readFile(path)).subarray(0, 300));
    const ds = await openRsna(dir);
    const all = ds.splits.flatMap((s) => [...ds.samples(s)]);
    assert.equal(all.length, 6);
    await assert.rejects(() => all.find((s) => s.id === a.patientId)!.load(), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.ok(e.message.includes(`${dir}/stage_2_train_images/${a.patientId}.dcm`));
      return true;
    });
    await assert.rejects(() => all.find((s) => s.id === b.patientId)!.load(), FormatError);
  });
});

Deno.test("openRsna() on a wrong layout lists what was expected and what was found", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/stage_2_test_images`);
    await Deno.writeTextFile(
      `${dir}/stage_2_sample_submission.csv`,
      "patientId,PredictionString\n",
    );
    await assert.rejects(() => openRsna(dir), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /expected stage_2_train_images\/<patientId>\.dcm/);
      assert.match(error.message, /missing stage_2_train_labels\.csv, stage_2_train_images\//);
      assert.match(error.message, /found stage_2_sample_submission\.csv, stage_2_test_images\//);
      return true;
    });
  });
});

Deno.test("openRsna() reads an RSNA-style JPEG-compressed 8-bit DICOM (format fixture)", async () => {
  await withTemp(async (dir) => {
    const id = "00436515-870c-4b36-a041-de91049b9ab4";
    await Deno.mkdir(`${dir}/stage_2_train_images`);
    await Deno.copyFile(
      fixture("dicom/cxr_jpeg_baseline_8bit.dcm"),
      `${dir}/stage_2_train_images/${id}.dcm`,
    );
    await Deno.writeTextFile(
      `${dir}/stage_2_train_labels.csv`,
      `patientId,x,y,width,height,Target\n${id},264.0,152.0,213.0,379.0,1\n${id},562.0,152.0,256.0,453.0,1\n`,
    );
    const ds = await openRsna(dir);
    // one patient: too few for MGCA's train_test_split, so the hash split, said so
    assert.equal(ds.splitInfo.method, "hash-fallback");
    assert.match(ds.splitInfo.description, /too few for MGCA's train_test_split/);
    const sample = ds.splits.flatMap((s) => [...ds.samples(s)])[0];
    assert.equal(sample.id, id);
    assert.deepEqual([...sample.target!], [1]);
    assert.equal(sample.path, `${dir}/stage_2_train_images/${id}.dcm`);
    const image = await sample.load() as Image2D;
    assert.equal(image.width, 256);
    assert.equal(image.height, 256);
  });
});

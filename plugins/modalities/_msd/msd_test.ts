import assert from "node:assert/strict";
import {
  MSD_CT_DATASETS,
  MSD_DATASETS,
  MSD_TASKS,
  msdDataset,
  openMsd,
  synthesizeMsd,
} from "./msd.ts";
import { FormatError } from "../../../core/errors.ts";
import { readNifti } from "../../formats/nifti/mod.ts";
import type { Volume } from "../../../core/plugin.ts";
import { isSegmentationSample } from "../../tasks/segmentation3d/types.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_msd_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("synthetic Task09_Spleen: layout, geometry, labels on the image grid, a brighter organ", async () => {
  await withTemp(async (dir) => {
    await synthesizeMsd(dir, MSD_TASKS["Task09_Spleen"], {
      count: 4,
      seed: 3,
      size: 32,
      depth: 12,
    });
    const names: string[] = [];
    for await (const e of Deno.readDir(`${dir}/Task09_Spleen/imagesTr`)) names.push(e.name);
    assert.deepEqual(names.sort(), [
      "spleen_1.nii.gz",
      "spleen_2.nii.gz",
      "spleen_3.nii.gz",
      "spleen_4.nii.gz",
    ]);
    // macOS resource forks shipped in the MSD archives must be ignored
    await Deno.writeFile(`${dir}/Task09_Spleen/imagesTr/._spleen_1.nii.gz`, new Uint8Array(10));
    const ds = await msdDataset("Task09_Spleen").open(dir);
    assert.equal(ds.id, "ct/msd-task09");
    assert.equal(ds.samples("train").length, 4);
    assert.equal(ds.samples("test").length, 1);
    const s = ds.samples("train")[0];
    assert.ok(isSegmentationSample(s));
    assert.equal(s.subject, s.id);
    const v = await s.load() as Volume;
    assert.deepEqual(v.shape, [12, 32, 32]);
    assert.equal(v.channels, 1);
    assert.ok(v.spacingMm[0] >= 2.5 && v.spacingMm[1] < 1);
    const header = await readNifti(s.path!);
    assert.equal(header.orientation, "LPS");
    const labels = await s.loadLabels();
    let inside = 0, nIn = 0, body = 0, nBody = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === 1) {
        inside += v.data[i];
        nIn++;
      } else if (v.data[i] > -500 && v.data[i] < 400) {
        body += v.data[i];
        nBody++;
      }
    }
    assert.ok(nIn > 20, `organ voxels ${nIn}`);
    assert.ok(
      inside / nIn > body / nBody + 50,
      `organ ${inside / nIn} HU vs body ${body / nBody} HU`,
    );
    // same seed, same files
    await synthesizeMsd(`${dir}/again`, MSD_TASKS["Task09_Spleen"], {
      count: 4,
      seed: 3,
      size: 32,
      depth: 12,
    });
    assert.deepEqual(
      await Deno.readFile(`${dir}/again/Task09_Spleen/labelsTr/spleen_2.nii.gz`),
      await Deno.readFile(`${dir}/Task09_Spleen/labelsTr/spleen_2.nii.gz`),
    );
  });
});

Deno.test("synthetic Task01_BrainTumour: 4D images load as 4 channels with nested classes", async () => {
  await withTemp(async (dir) => {
    await synthesizeMsd(dir, MSD_TASKS["Task01_BrainTumour"], {
      count: 2,
      seed: 1,
      size: 24,
      depth: 10,
    });
    const ds = await openMsd(`${dir}/Task01_BrainTumour`, MSD_TASKS["Task01_BrainTumour"]);
    assert.deepEqual(ds.channels, ["FLAIR", "T1w", "t1gd", "T2w"]);
    assert.equal(ds.labels.length, 4);
    const s = ds.samples("train")[0];
    const v = await s.load() as Volume;
    assert.equal(v.channels, 4);
    assert.equal(v.data.length, 4 * 10 * 24 * 24);
    assert.ok(isSegmentationSample(s));
    const labels = await s.loadLabels();
    const present = new Set(labels);
    assert.ok(present.has(1) && present.has(2), `classes ${[...present]}`);
  });
});

Deno.test("openMsd() says what is wrong with a folder", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/readme.txt`, "x");
    await assert.rejects(() => msdDataset(9).open(dir), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.match(
        e.message,
        /must hold dataset\.json \(or Task09_Spleen\/dataset\.json\): found readme\.txt/,
      );
      return true;
    });
    await Deno.writeTextFile(`${dir}/dataset.json`, "{ not json");
    await assert.rejects(() => msdDataset(9).open(dir), FormatError);
    await Deno.writeTextFile(`${dir}/dataset.json`, JSON.stringify({ labels: { "0": "bg" } }));
    await assert.rejects(
      () => msdDataset(9).open(dir),
      /must hold "labels", "modality" and "training"/,
    );
    await Deno.writeTextFile(
      `${dir}/dataset.json`,
      JSON.stringify({
        labels: { "0": "background", "1": "spleen" },
        modality: { "0": "CT" },
        training: [{ image: "./imagesTr/a.nii.gz", label: "./labelsTr/a.nii.gz" }],
      }),
    );
    await assert.rejects(
      () => msdDataset(9).open(dir),
      /lists 2 missing file\(s\): .*imagesTr\/a\.nii\.gz/,
    );
  });
});

Deno.test("MSD specs: ten tasks named msd-taskNN, CT subset, protocol defaults", () => {
  assert.equal(MSD_DATASETS.length, 10);
  assert.deepEqual(MSD_CT_DATASETS.map((d) => d.name), [
    "msd-task03",
    "msd-task06",
    "msd-task07",
    "msd-task08",
    "msd-task09",
    "msd-task10",
  ]);
  const p = msdDataset("09").protocol as unknown as {
    folds: number;
    runFolds: number;
    adapterOptions: unknown;
  };
  assert.equal(p.folds, 5);
  assert.equal(p.runFolds, 5);
  assert.deepEqual(p.adapterOptions, { window: [-175, 250] });
  assert.deepEqual(msdDataset(1).protocol.adapterOptions, { window: "percentile" });
});

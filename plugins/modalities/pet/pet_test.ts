import assert from "node:assert/strict";
import {
  AUTOPET_SPLIT_SOURCE,
  autopetDataset,
  hecktorDataset,
  nnunetPatientFolds,
  openAutopet,
  openHecktor,
  PET_CHANNEL_LABELS,
  PET_WINDOW,
  petPlugin,
  synthesizeAutopet,
  synthesizeHecktor,
} from "./mod.ts";
import { invert4, resampleToGrid } from "./_resample.ts";
import { isSegmentationSample } from "../../tasks/segmentation3d/types.ts";
import { patientFolds } from "../../../core/experiment.ts";
import type { Volume } from "../../../core/plugin.ts";
import { readNifti } from "../../formats/nifti/mod.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_pet_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("invert4() and resampleToGrid() on rotated, shifted grids", () => {
  const a = [0, -2, 0, 5, 1.5, 0, 0, -3, 0, 0, 3, 7, 0, 0, 0, 1];
  const inv = invert4(a);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k] * inv[k * 4 + c];
      assert.ok(Math.abs(s - (r === c ? 1 : 0)) < 1e-12);
    }
  }
  assert.throws(() => invert4(new Array(16).fill(0)), RangeError);
  // a linear ramp in world x is reproduced exactly on any grid inside the source
  const src = {
    data: new Float32Array(4 * 4 * 4),
    shape: [4, 4, 4] as const,
    affine: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1],
  };
  for (let i = 0; i < src.data.length; i++) src.data[i] = 2 * (i % 4); // world x
  const out = resampleToGrid(src, [3, 3, 3], [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1], -1);
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - (1 + (i % 3))) < 1e-5);
  const outside = resampleToGrid(
    src,
    [1, 1, 1],
    [1, 0, 0, 100, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    -1,
  );
  assert.equal(outside[0], -1);
});

Deno.test("synthetic AutoPET: TCIA layout, studies grouped by patient, negatives, channel choice", async () => {
  await withTemp(async (dir) => {
    await synthesizeAutopet(dir, { count: 5, seed: 2, size: 24, depth: 8 });
    const ds = await openAutopet(dir);
    assert.equal(ds.layout, "tcia");
    const samples = ds.samples("train");
    assert.equal(samples.length, 5);
    const subjects = new Set(samples.map((s) => s.subject));
    assert.equal(subjects.size, 4); // 5 studies of 4 patients
    assert.ok(samples.every((s) => s.id.startsWith(`${s.subject}/`) && s.id.includes(" ")));
    for (const f of patientFolds(samples, 4, 1)) {
      for (const s of subjects) {
        const ids = samples.filter((x) => x.subject === s).map((x) => x.id);
        assert.ok(ids.every((id) => f.val.includes(id)) || ids.every((id) => f.train.includes(id)));
      }
    }
    let negatives = 0;
    for (const s of samples) {
      assert.ok(isSegmentationSample(s));
      const v = await s.load() as Volume;
      assert.equal(v.channels, 2);
      const labels = await s.loadLabels();
      const lesion = labels.reduce((n, l) => n + l, 0);
      if (lesion === 0) negatives++;
      else {
        // lesions are hot on the PET channel
        const block = labels.length;
        let hot = 0, cold = 0;
        for (let i = 0; i < block; i++) {
          labels[i] ? (hot += v.data[block + i]) : (cold += v.data[block + i]);
        }
        assert.ok(
          hot / lesion > 3 * (cold / (block - lesion)),
          `SUV ${hot / lesion} vs ${cold / (block - lesion)}`,
        );
      }
    }
    assert.equal(negatives, 1);
    assert.deepEqual(ds.adapterOptions, { window: [[-160, 240], [0, 15]] });
    const petOnly = await openAutopet(dir, { channels: "pet" });
    assert.equal(((await petOnly.samples("train")[0].load()) as Volume).channels, 1);
    assert.deepEqual(petOnly.adapterOptions, { window: [[0, 15]] });
    await assert.rejects(
      () => autopetDataset.open(dir, { channels: "mri" }),
      /channels must be "ct", "pet" or "ct\+pet"/,
    );
    const suv = await readNifti(samples[0].path!.replace("CTres", "SUV"));
    assert.equal(suv.affineSource, "sform");
    // a study without SEG is reported, not skipped
    const study = samples[0].path!.replace("/CTres.nii.gz", "");
    await Deno.remove(`${study}/SEG.nii.gz`);
    await assert.rejects(
      () => openAutopet(dir),
      /must hold CTres\.nii\.gz, SUV\.nii\.gz, SEG\.nii\.gz: missing SEG\.nii\.gz/,
    );
  });
});

Deno.test("AutoPET nnU-Net layout: _0000 (CT) / _0001 (SUV) / labelsTr", async () => {
  await withTemp(async (dir) => {
    await synthesizeAutopet(`${dir}/tcia`, { count: 2, seed: 3, size: 16, depth: 6 });
    const tcia = await openAutopet(`${dir}/tcia`);
    await Deno.mkdir(`${dir}/nn/imagesTr`, { recursive: true });
    await Deno.mkdir(`${dir}/nn/labelsTr`, { recursive: true });
    for (const [i, s] of tcia.samples("train").entries()) {
      const study = s.path!.replace("/CTres.nii.gz", "");
      const id = `${s.subject}_${i}`;
      await Deno.copyFile(`${study}/CTres.nii.gz`, `${dir}/nn/imagesTr/${id}_0000.nii.gz`);
      await Deno.copyFile(`${study}/SUV.nii.gz`, `${dir}/nn/imagesTr/${id}_0001.nii.gz`);
      await Deno.copyFile(`${study}/SEG.nii.gz`, `${dir}/nn/labelsTr/${id}.nii.gz`);
    }
    const nn = await openAutopet(`${dir}/nn`);
    assert.equal(nn.layout, "nnunet");
    assert.deepEqual(
      nn.samples("train").map((s) => s.subject),
      tcia.samples("train").map((s) => s.subject),
    );
    const a = await nn.samples("train")[1].load() as Volume;
    const b = await tcia.samples("train")[1].load() as Volume;
    assert.deepEqual(a.data, b.data);
    await assert.rejects(
      () => openAutopet(`${dir}/empty`),
      /must hold PETCT_<patient>\/<study>\/ folders/,
    );
  });
});

Deno.test("synthetic HECKTOR: PET on its own 4 mm grid is resampled onto the CT grid of the labels", async () => {
  await withTemp(async (dir) => {
    await synthesizeHecktor(dir, { count: 3, seed: 4, size: 32, depth: 12 });
    const ds = await hecktorDataset.open(dir);
    assert.equal(ds.id, "pet/hecktor");
    const [s] = ds.samples("train");
    assert.match(s.id, /^CHUM-001$/);
    const ct = await readNifti(s.path!);
    const pt = await readNifti(s.path!.replace("__CT", "__PT"));
    assert.deepEqual(ct.shape, [32, 32, 12]);
    assert.deepEqual(pt.shape, [8, 8, 6]);
    assert.equal(ct.orientation, "LPS");
    assert.ok(isSegmentationSample(s));
    const v = await s.load() as Volume;
    assert.deepEqual(v.shape, [12, 32, 32]);
    assert.equal(v.channels, 2);
    const labels = await s.loadLabels();
    const block = labels.length;
    for (const cls of [1, 2]) {
      let inside = 0, n = 0;
      for (let i = 0; i < block; i++) if (labels[i] === cls) (inside += v.data[block + i], n++);
      assert.ok(n > 0, `class ${cls} present`);
      assert.ok(inside / n > 2, `resampled SUV in class ${cls}: ${inside / n}`);
    }
    // PET only: the PET resampled onto the label (CT) grid, the same voxels as CT+PET's channel 2
    const petOnly = await openHecktor(dir, { channels: "pet" });
    assert.equal(petOnly.channels, "pet");
    assert.equal(petOnly.input, "PET");
    assert.equal((await openHecktor(dir)).input, "CT+PET");
    assert.match(petOnly.splitSource, /not stated in the report/);
    assert.equal(PET_CHANNEL_LABELS[petOnly.channels], "PET");
    assert.deepEqual(petOnly.adapterOptions, { window: [PET_WINDOW] });
    const p0 = petOnly.samples("train")[0];
    assert.ok(isSegmentationSample(p0));
    const pv = await p0.load() as Volume;
    assert.deepEqual(pv.shape, [12, 32, 32]);
    assert.equal(pv.channels, 1);
    assert.deepEqual(pv.spacingMm, v.spacingMm);
    assert.deepEqual(pv.affine, v.affine);
    assert.deepEqual(pv.data, v.data.subarray(block));
    assert.deepEqual(await p0.loadLabels(), labels);
    await Deno.remove(s.path!.replace("__CT", "__PT"));
    await assert.rejects(() => openHecktor(dir), /missing under .*: CHUM-001__PT\.nii\.gz/);
    await assert.rejects(
      () => openHecktor(`${dir}/nothing`),
      /must hold imagesTr\/<case>__CT\.nii\.gz/,
    );
  });
});

Deno.test("petPlugin lists both datasets with 80/20 protocols and warm-up", () => {
  assert.equal(petPlugin.kind, "modality");
  for (const d of petPlugin.datasets) {
    const p = d.protocol as unknown as {
      folds: number;
      runFolds: number;
      headOptions: { decoder3d: { warmupFraction: number } };
    };
    assert.equal(d.task, "segmentation3d");
    assert.equal(d.problem, "segmentation");
    assert.equal(p.folds, 5);
    assert.equal(p.runFolds, 1);
    assert.ok(p.headOptions.decoder3d.warmupFraction > 0);
  }
});

Deno.test("AutoPET folds are nnU-Net's autoPET-II split (sorted patients, fold f validates on patients[f::5])", async () => {
  // expected: nnU-Net's Dataset221_AutoPETII_2023.py logic run in Python on these ids
  // (patients = sorted(...); val = [i for i in ids if any(i.startswith(v) for v in patients[f::5])])
  const patients = [
    "PETCT_0af7ffe12a",
    "PETCT_0117d7f11f",
    "PETCT_a1b2",
    "PETCT_Z9",
    "PETCT_0b57b247b6",
    "PETCT_1285b86bea",
    "PETCT_ff01",
    "PETCT_B33",
  ];
  const samples = [...patients.map((p) => `${p}_s1`), "PETCT_0b57b247b6_s2"].map((id) => ({
    id,
    subject: id.slice(0, id.lastIndexOf("_")),
  }));
  const folds = nnunetPatientFolds(samples, 5);
  assert.deepEqual(folds.map((f) => f.val), [
    ["PETCT_0117d7f11f_s1", "PETCT_Z9_s1"],
    ["PETCT_0af7ffe12a_s1", "PETCT_a1b2_s1"],
    ["PETCT_0b57b247b6_s1", "PETCT_0b57b247b6_s2", "PETCT_ff01_s1"],
    ["PETCT_1285b86bea_s1"],
    ["PETCT_B33_s1"],
  ]);
  for (const f of folds) assert.equal(f.train.length + f.val.length, samples.length);
  assert.throws(() => nnunetPatientFolds(samples.slice(0, 3), 5), RangeError);
  // the opened dataset exposes them, with the source and the Table 10 input name
  await withTemp(async (dir) => {
    await synthesizeAutopet(dir, { count: 6, seed: 2, size: 24, depth: 8 });
    const ds = await openAutopet(dir, { channels: "pet" });
    assert.equal(ds.input, "PET");
    assert.equal(ds.splitSource, AUTOPET_SPLIT_SOURCE);
    assert.match(ds.splitSource, /Dataset221_AutoPETII_2023/);
    const f0 = ds.folds(5)[0];
    assert.deepEqual(f0, nnunetPatientFolds(ds.samples("train"), 5)[0]);
    assert.equal(f0.train.length + f0.val.length, 6);
  });
});

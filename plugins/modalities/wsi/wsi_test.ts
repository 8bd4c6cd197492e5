import assert from "node:assert/strict";
import {
  bcnbLabel,
  openBcnb,
  openCamelyon16,
  openCamelyon17,
  synthesizeBcnb,
  synthesizeCamelyon16,
  synthesizeCamelyon17,
  wsiPlugin,
} from "./mod.ts";
import { openJpegStream } from "../../formats/jpeg_stream/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "medprobe-wsi-" });
const small = { width: 256, height: 192 };

Deno.test("Camelyon16: official layout, reference.csv labels, duplicate test slide left out", async () => {
  await synthesizeCamelyon16(`${dir}/c16`, { count: 4, testCount: 3, seed: 1, ...small });
  // The real reference.csv: capitalised names, normal rows with fewer fields, and test_049.
  await Deno.writeTextFile(
    `${dir}/c16/testing/reference.csv`,
    "Test_001,Tumor,Macro,Annotated\nTest_002,Normal\nTest_003,Tumor,Micro,Annotated\ntest_049,Tumor,Macro,Annotated\n",
  );
  const ds = await openCamelyon16(`${dir}/c16`);
  assert.deepEqual(ds.splits, ["train", "test", "all"]);
  assert.deepEqual(ds.samples("train").map((s) => s.id), [
    "normal_001",
    "normal_002",
    "tumor_001",
    "tumor_002",
  ]);
  assert.deepEqual(ds.samples("test").map((s) => [s.id, s.target![0]]), [["test_001", 1], [
    "test_002",
    0,
  ], ["test_003", 1]]);
  assert.deepEqual(ds.excluded.map((e) => e.id), ["test_049"]);
  const kept = await openCamelyon16(`${dir}/c16`, { keepDuplicate: true });
  assert.equal(kept.samples("test").length, 4);
  assert.deepEqual(await ds.samples("train")[0].load(), {
    kind: "slide",
    path: `${dir}/c16/training/normal/normal_001.tif`,
  });
  await assert.rejects(
    () => openCamelyon16(`${dir}/nowhere`),
    (e: Error) => e.name === "FormatError" && /training\/normal/.test(e.message),
  );
});

Deno.test("Camelyon17: ITC slides removed, seen/unseen by centre with the definition recorded", async () => {
  await synthesizeCamelyon17(`${dir}/c17`, { count: 10, seed: 2, ...small });
  const ds = await openCamelyon17(`${dir}/c17`);
  const all = ds.samples("all");
  assert.ok(ds.excluded.length >= 1 && ds.excluded.every((e) => /ITC/.test(e.reason)));
  assert.equal(all.length + ds.excluded.length, 10);
  const center = (id: string) => Math.floor(Number(/patient_(\d+)/.exec(id)![1]) / 20);
  assert.ok(ds.samples("seen").every((s) => [0, 2].includes(center(s.id))));
  assert.ok(
    ds.samples("unseen").length > 0 &&
      ds.samples("unseen").every((s) => ![0, 2].includes(center(s.id))),
  );
  assert.deepEqual(ds.splitInfo.seenCenters, [0, 2]);
  assert.match(String(ds.splitInfo.definition), /Bandi/);
  const other = await openCamelyon17(`${dir}/c17`, { seenCenters: [1] });
  assert.ok(other.samples("seen").every((s) => center(s.id) === 1));
});

Deno.test("BCNB: large JPEGs streamed, clinical .xlsx read, one target per open", async () => {
  await synthesizeBcnb(`${dir}/bcnb`, { count: 6, seed: 3, ...small });
  const jpeg = await openJpegStream(`${dir}/bcnb/WSIs/1.jpg`);
  assert.deepEqual([jpeg.width, jpeg.height], [256, 192]);
  assert.equal(jpeg.mpp, 4, "the synthetic slides record 4 µm/px in their JFIF density");
  jpeg.close();
  const aln = await openBcnb(`${dir}/bcnb`);
  assert.deepEqual(aln.labels, ["ALN N+"]);
  assert.deepEqual(aln.samples("all").map((s) => s.target![0]), [0, 1, 0, 1, 0, 1]);
  assert.ok(aln.splits.includes("train") && aln.splits.includes("test"));
  const er = await openBcnb(`${dir}/bcnb`, { label: "ER", mpp: 0.5 });
  assert.deepEqual(er.labels, ["ER+"]);
  assert.deepEqual(await er.samples("all")[0].load(), {
    kind: "slide",
    path: `${dir}/bcnb/WSIs/1.jpg`,
    mpp: 0.5,
  });
  await assert.rejects(() => openBcnb(`${dir}/bcnb`, { label: "XX" }), TypeError);
  assert.equal(bcnbLabel("ALN", "N+(>2)"), 1);
  assert.equal(bcnbLabel("ALN", "N0"), 0);
  assert.equal(bcnbLabel("HER2", "Negative"), 0);
  assert.equal(bcnbLabel("HER2", ""), undefined);
  assert.deepEqual(wsiPlugin.datasets.map((d) => d.name), ["camelyon16", "camelyon17", "bcnb"]);
  assert.ok(wsiPlugin.datasets.every((d) => d.task === "mil" && d.problem === "binary"));
});

Deno.test({ name: "cleanup", fn: async () => await Deno.remove(dir, { recursive: true }) });

import assert from "node:assert/strict";
import { FormatError } from "../../../core/errors.ts";
import { writeHdf5 } from "../../segment/io.ts";
import { toDenseLabels } from "../../segment/labels.ts";
import { cremiDataset, cremiFileName, emPlugin, makeEmPhantom, synthesizeAc3Ac4 } from "./mod.ts";
import { isAffinitySample } from "../../tasks/affinity/types.ts";
import { CREMI_BACKGROUND_ID, readCremi } from "../../formats/hdf5/mod.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_em_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejectsFormat(fn: () => Promise<unknown>, path: string, pattern: RegExp) {
  const error = await fn().then(() => undefined, (e) => e);
  assert.ok(error instanceof FormatError, `expected FormatError, got ${error}`);
  assert.equal(error.path, path);
  assert.match(error.message, pattern);
}

Deno.test("makeEmPhantom(): tubes cross the sections, membranes are dark, ids are connected and uint64", () => {
  const p = makeEmPhantom({ shape: [6, 48, 48], seed: 2 });
  const plane = 48 * 48;
  // objects continue from section to section: most voxels keep their id along z
  let same = 0;
  for (let i = plane; i < p.dense.length; i++) if (p.dense[i] === p.dense[i - plane]) same++;
  assert.ok(same / (p.dense.length - plane) > 0.6, `z continuity ${same}`);
  // raw is darker at label changes (membranes) than inside objects
  let edge = 0, edgeN = 0, inside = 0, insideN = 0;
  for (let i = 0; i < p.dense.length; i++) {
    const x = i % 48;
    if (x + 1 < 48 && p.dense[i + 1] !== p.dense[i]) (edge += p.raw[i], edgeN++);
    else if (x > 1 && x < 46 && p.dense[i - 2] === p.dense[i] && p.dense[i + 2] === p.dense[i]) {
      (inside += p.raw[i], insideN++);
    }
  }
  assert.ok(
    edge / edgeN + 40 < inside / insideN,
    `membranes ${edge / edgeN} vs ${inside / insideN}`,
  );
  const dense = toDenseLabels({ data: p.neuronIds, shape: p.shape });
  assert.equal(dense.count, p.count);
  assert.ok([...dense.original].some((id) => id > 2n ** 53n));
});

Deno.test("em/cremi-a: synthesized in the CREMI layout, opened with the 100:25 split, ids exact", async () => {
  await withTemp(async (dir) => {
    const spec = cremiDataset("A");
    await spec.synthesize(dir, { count: 10, seed: 1, size: 32 } as never);
    const cremi = await readCremi(`${dir}/${cremiFileName("A")}`);
    assert.deepEqual(cremi.resolutionNm, [40, 4, 4]);
    const ds = await spec.open(dir);
    assert.equal(ds.id, "em/cremi-a");
    assert.equal(ds.problem, "affinity");
    const [train] = ds.samples("train");
    const [test] = ds.samples("test");
    assert.ok(isAffinitySample(train) && isAffinitySample(test));
    assert.deepEqual(train.zRange, [0, 8]);
    assert.deepEqual(test.zRange, [8, 10]);
    const volume = await test.load() as { kind: string; shape: number[]; spacingMm: number[] };
    assert.equal(volume.kind, "volume");
    assert.deepEqual(volume.shape, [2, 32, 32]);
    assert.ok(Math.abs(volume.spacingMm[0] - 4e-5) < 1e-12);
    const ids = await test.loadNeuronIds();
    assert.deepEqual(ids, (cremi.neuronIds!.data as BigUint64Array).subarray(8 * 1024));
  });
});

Deno.test("em/ac3ac4: the community layout (main datasets), AC4 train / AC3 test", async () => {
  await withTemp(async (dir) => {
    await synthesizeAc3Ac4(dir, { count: 10, size: 32, seed: 3 });
    const spec = emPlugin.datasets.find((d) => d.name === "ac3ac4")!;
    const ds = await spec.open(dir);
    const [train] = ds.samples("train");
    const [test] = ds.samples("test");
    assert.ok(isAffinitySample(train) && isAffinitySample(test));
    assert.equal(train.path, `${dir}/AC4_inputs.h5`);
    assert.deepEqual(train.zRange, [0, 8]);
    assert.equal(test.path, `${dir}/AC3_inputs.h5`);
    assert.deepEqual(test.zRange, [0, 13]);
    const ids = await train.loadNeuronIds();
    assert.ok(ids instanceof BigUint64Array);
    assert.equal(ids.length, 8 * 32 * 32);
  });
});

Deno.test("em datasets: missing files and datasets, shape mismatch and float labels name the file and dataset", async () => {
  await withTemp(async (dir) => {
    const spec = cremiDataset("B");
    await rejectsFormat(() => spec.open(dir), dir, /must hold sample_B_20160501\.hdf/);
    const path = `${dir}/${cremiFileName("B")}`;
    const raw = new Uint8Array(2 * 4 * 4);
    await writeHdf5(path, [{ name: "volumes/raw", data: raw, shape: [2, 4, 4] }]);
    await rejectsFormat(
      () => spec.open(dir),
      path,
      /dataset "volumes\/labels\/neuron_ids" must exist: current datasets are "volumes\/raw"/,
    );
    await writeHdf5(path, [
      { name: "volumes/raw", data: raw, shape: [2, 4, 4] },
      { name: "volumes/labels/neuron_ids", data: new BigUint64Array(3 * 4 * 4), shape: [3, 4, 4] },
    ]);
    await rejectsFormat(
      () => spec.open(dir),
      path,
      /shapes must match: current shapes are \(2, 4, 4\) and \(3, 4, 4\)/,
    );
    await writeHdf5(path, [
      { name: "volumes/raw", data: raw, shape: [2, 4, 4] },
      { name: "volumes/labels/neuron_ids", data: new Float32Array(2 * 4 * 4), shape: [2, 4, 4] },
    ]);
    await rejectsFormat(
      () => spec.open(dir),
      path,
      /neuron ids "volumes\/labels\/neuron_ids" as they must be integers: current type is float32/,
    );
    const ac = emPlugin.datasets.find((d) => d.name === "ac3ac4")!;
    await rejectsFormat(() => ac.open(dir), dir, /must hold AC3_inputs\.h5, AC3_labels\.h5/);
  });
});

Deno.test("CREMI's no-label id 2^64 − 1 is background for the pipeline", () => {
  const d = toDenseLabels({ data: BigUint64Array.of(CREMI_BACKGROUND_ID, 5n), shape: [1, 1, 2] });
  assert.deepEqual([...d.data], [0, 1]);
});

import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { runAgglomerate } from "./agglomerate.ts";
import { writeHdf5 } from "../plugins/segment/io.ts";
import { affinitiesFromLabels } from "../plugins/segment/affinities.ts";
import { makeEmPhantom } from "../plugins/modalities/em/_phantom.ts";
import { openHdf5 } from "../plugins/formats/hdf5/mod.ts";
import { FormatError } from "../core/errors.ts";

Deno.test("medprobe agglomerate: gt affinities in any file and dataset → neuron_ids recovering the gt", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_agglo_" });
  try {
    const p = makeEmPhantom({ shape: [4, 32, 32], seed: 6 });
    const affs = affinitiesFromLabels(p.dense, p.shape);
    await writeHdf5(`${dir}/pred.h5`, [{
      name: "pred/affs",
      data: affs,
      shape: [3, ...p.shape],
      attributes: { resolution: [40, 4, 4] },
    }]);
    await writeHdf5(`${dir}/gt.h5`, [{
      name: "volumes/labels/neuron_ids",
      data: p.neuronIds,
      shape: p.shape,
    }]);
    const code = await main([
      "agglomerate",
      `${dir}/pred.h5`,
      "--dataset",
      "pred/affs",
      "--out",
      `${dir}/seg.h5`,
      "--threshold",
      "0.5",
    ]);
    assert.equal(code, 0);
    const f = await openHdf5(`${dir}/seg.h5`);
    const ids = f.read("volumes/labels/neuron_ids");
    assert.deepEqual(
      f.attributes("volumes/labels/neuron_ids").resolution.value,
      Float64Array.of(40, 4, 4),
    );
    f.close();
    assert.equal(ids.dtype, "uint64");
    assert.equal(new Set(ids.data as BigUint64Array).size, p.count);
    const s = await runAgglomerate({
      input: `${dir}/pred.h5`,
      dataset: "pred/affs",
      out: `${dir}/seg2.h5`,
      threshold: 0.5,
      mergeFunction: "mean",
      gt: `${dir}/gt.h5`,
    });
    assert.ok(s.scores!.voiSum <= 0.01 && s.scores!.arand <= 0.01, JSON.stringify(s.scores));
    // with CREMI's border mask (resolution from the affinities: 4 nm in-plane) it stays perfect
    const masked = await runAgglomerate({
      input: `${dir}/pred.h5`,
      dataset: "pred/affs",
      out: `${dir}/seg3.h5`,
      threshold: 0.5,
      gt: `${dir}/gt.h5`,
      borderThreshold: 8,
    });
    assert.ok(masked.scores!.voiSum <= 0.01, JSON.stringify(masked.scores));
    // the caller's fragments (here: the gt split in two along x) are agglomerated back
    const halves = p.dense.map((l, i) => (l * 2 + ((i % 32) < 16 ? 0 : 1)));
    await writeHdf5(`${dir}/frag.h5`, [{
      name: "volumes/fragments",
      data: halves,
      shape: p.shape,
    }]);
    const fromFragments = await runAgglomerate({
      input: `${dir}/pred.h5`,
      dataset: "pred/affs",
      out: `${dir}/seg4.h5`,
      threshold: 0.5,
      fragments: `${dir}/frag.h5`,
      gt: `${dir}/gt.h5`,
    });
    assert.ok(fromFragments.scores!.voiSum <= 0.01, JSON.stringify(fromFragments.scores));
    const tooStrict = await runAgglomerate({
      input: `${dir}/pred.h5`,
      dataset: "pred/affs",
      out: `${dir}/seg5.h5`,
      threshold: 0,
      fragments: `${dir}/frag.h5`,
      gt: `${dir}/gt.h5`,
    });
    assert.ok(tooStrict.scores!.voiSplit > 0.5, JSON.stringify(tooStrict.scores)); // nothing merged: halves stay split
    // missing dataset: a FormatError naming the file and the dataset (exit 1)
    const error = await runAgglomerate({
      input: `${dir}/pred.h5`,
      out: `${dir}/x.h5`,
      threshold: 0.5,
    })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof FormatError);
    assert.equal(error.path, `${dir}/pred.h5`);
    assert.match(
      error.message,
      /"volumes\/affinities" must exist: current datasets are "pred\/affs"/,
    );
    assert.equal(
      await main(["agglomerate", `${dir}/pred.h5`, "--out", `${dir}/x.h5`, "--threshold", "0.5"]),
      1,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

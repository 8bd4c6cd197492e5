import assert from "node:assert/strict";
import { Command } from "commander";
import { createRegistry } from "../core/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import type { ModalityPlugin } from "../core/plugin.ts";
import { xrayPlugin } from "../plugins/modalities/xray/mod.ts";
import { openNih14 } from "../plugins/modalities/xray/nih14.ts";
import { ctrateDataset, openCtrate } from "../plugins/modalities/ct/ctrate.ts";
import { registerSynthCommand, resolveDataset, runSynth } from "./synth.ts";

const ct: ModalityPlugin = {
  kind: "modality",
  name: "ct",
  description: "CT (test registry)",
  datasets: [ctrateDataset],
};

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_synth_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every built-in plugin but the modalities (the tasks, heads... the datasets are checked against). */
function nonModalities() {
  return builtinPlugins().filter((p) => p.kind !== "modality");
}

Deno.test("resolveDataset() finds modality/dataset and lists the known ones otherwise", () => {
  const registry = createRegistry([...nonModalities(), xrayPlugin, ct]);
  assert.equal(resolveDataset(registry, "ct/ctrate").id, "ct/ctrate");
  // The one dataset lookup of core (findDataset): the same message everywhere.
  assert.throws(
    () => resolveDataset(registry, "xray"),
    /must be modality\/name of a registered dataset: datasets are xray\/nih14, xray\/rsna, ct\/ctrate/,
  );
  assert.throws(() => resolveDataset(registry, "mri/brats"), /Cannot find dataset "mri\/brats"/);
  assert.throws(() => resolveDataset(createRegistry(), "xray/nih14"), /datasets are $/);
});

Deno.test("runSynth() writes xray/nih14 and ct/ctrate that open; refuses a non-empty folder", async () => {
  await withTemp(async (dir) => {
    const registry = createRegistry([...nonModalities(), xrayPlugin, ct]);
    const nih = await runSynth(registry, "xray/nih14", { out: `${dir}/nih`, count: 6, seed: 1 });
    assert.equal(nih.dataset, "xray/nih14");
    assert.equal(nih.count, 6);
    assert.equal(nih.files, 6 + 3); // 6 PNGs, the CSV and two split lists
    assert.ok(nih.bytes > 0);
    const ds = await openNih14(`${dir}/nih`);
    assert.equal(ds.samples("train").length + ds.samples("test").length, 6);

    const ctSummary = await runSynth(registry, "ct/ctrate", { out: `${dir}/ct`, count: 4 });
    assert.equal(ctSummary.files, 4 + 4); // 4 volumes, 2 label and 2 metadata CSVs
    const cds = await openCtrate(`${dir}/ct`);
    assert.equal(cds.samples("train").length + cds.samples("valid").length, 4);

    await assert.rejects(
      () => runSynth(registry, "xray/rsna", { out: `${dir}/nih`, count: 4 }),
      /the folder is not empty/,
    );
    const forced = await runSynth(registry, "xray/rsna", {
      out: `${dir}/nih`,
      count: 4,
      force: true,
    });
    assert.equal(forced.files, 9 + 4 + 1 + 3); // 4 DICOMs, the labels CSV, 3 MGCA split files
  });
});

Deno.test("medprobe synth (commander) resolves a --plugin modality and writes the dataset", async () => {
  await withTemp(async (dir) => {
    const nihUrl = new URL("../plugins/modalities/xray/nih14.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/plugin.ts`,
      `import { nih14Dataset } from "${nihUrl}";\n` +
        `export const synthtest = { kind: "modality", name: "synthtest", description: "test", datasets: [nih14Dataset] };\n`,
    );
    const program = new Command("medprobe").exitOverride();
    registerSynthCommand(program);
    await program.parseAsync(
      [
        "synth",
        "synthtest/nih14",
        "--out",
        `${dir}/out`,
        "--count",
        "4",
        "--seed",
        "2",
        "--plugin",
        `${dir}/plugin.ts`,
        "--json",
      ],
      { from: "user" },
    );
    const ds = await openNih14(`${dir}/out`);
    assert.equal(ds.samples("train").length + ds.samples("test").length, 4);
    const bad = new Command("medprobe").exitOverride().configureOutput({ writeErr: () => {} });
    registerSynthCommand(bad);
    await assert.rejects(
      () => bad.parseAsync(["synth", "nih14", "--out", `${dir}/x`], { from: "user" }),
      /must be MODALITY\/DATASET/,
    );
  });
});

Deno.test("medprobe synth refuses --count 1000000000 and a seed past 2^32 before writing anything", async () => {
  await withTemp(async (dir) => {
    for (const args of [["--count", "1000000000"], ["--seed", "99999999999"]]) {
      const program = new Command("medprobe").exitOverride().configureOutput({
        writeErr: () => {},
      });
      registerSynthCommand(program);
      await assert.rejects(
        () =>
          program.parseAsync(["synth", "xray/nih14", "--out", `${dir}/out`, ...args], {
            from: "user",
          }),
        /must be at most/,
      );
    }
    const registry = createRegistry([...nonModalities(), xrayPlugin]);
    await assert.rejects(
      () => runSynth(registry, "xray/nih14", { out: `${dir}/out`, count: 1e9 }),
      /count must be an integer from 1 to 100000: current value is 1000000000/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  });
});

// medprobe run end to end: a YAML study on a synthetic NIH-14 with the tiny
// DINOv3 fixture gives the same metrics as the eval command line it records,
// each record carries its study entry, and a rerun resumes (skips) done runs.
import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { synthesizeNih14 } from "../plugins/modalities/xray/nih14.ts";

const WEIGHTS = new URL("../fixtures/dinov3/tiny-public", import.meta.url).pathname;

Deno.test("medprobe run: a study's runs equal their eval command lines, record the study and resume", async () => {
  const dir = await Deno.makeTempDir();
  await synthesizeNih14(`${dir}/nih`, { count: 24, seed: 1, size: 64 });
  const study = `${dir}/study.yaml`;
  await Deno.writeTextFile(
    study,
    [
      `out: ${dir}/runs`,
      "bootstrap: 0",
      "workers: 0",
      "datasets:",
      `  - { id: xray/nih14, data: ${dir}/nih }`,
      `encoders: [tiny=${WEIGHTS}]`,
      "resolutions: [32]",
      "heads: [knn]",
      "seeds: [0, 1]",
      "",
    ].join("\n"),
  );
  assert.equal(await main(["run", study, "--quiet"]), 0);
  const resolved = JSON.parse(await Deno.readTextFile(`${dir}/runs/study.resolved.json`));
  assert.deepEqual(resolved.runs.map((r: { status: string }) => r.status), ["done", "done"]);
  const outs: string[] = resolved.runs.map((r: { out: string }) => r.out);
  assert.deepEqual(outs, [0, 1].map((s) => `${dir}/runs/xray/nih14/tiny@32/knn/seed${s}`));
  const record = JSON.parse(await Deno.readTextFile(`${outs[1]}/result.json`));
  assert.equal(record.environment.study.run, 2);
  assert.equal(record.environment.study.file, study);
  assert.deepEqual(record.environment.study.command, ["medprobe", ...resolved.runs[1].argv]);

  // The same run spelled as flags gives the same numbers.
  const argv: string[] = [...resolved.runs[1].argv];
  argv[argv.indexOf("--out") + 1] = `${dir}/direct`;
  assert.equal(await main(argv), 0);
  const direct = JSON.parse(await Deno.readTextFile(`${dir}/direct/result.json`));
  assert.deepEqual(direct.metrics, record.metrics);

  // A rerun skips both runs: their results stay untouched.
  const before = (await Deno.stat(`${outs[0]}/result.json`)).mtime;
  assert.equal(await main(["run", study, "--quiet"]), 0);
  assert.deepEqual((await Deno.stat(`${outs[0]}/result.json`)).mtime, before);
  const again = JSON.parse(await Deno.readTextFile(`${dir}/runs/study.resolved.json`));
  assert.deepEqual(again.runs.map((r: { status: string }) => r.status), ["skipped", "skipped"]);
});

import assert from "node:assert/strict";
import { createProgram } from "../cli.ts";
import { FormatError, UsageError } from "../core/errors.ts";
import { environmentInfo } from "../core/environment.ts";
import { expandStudy, parseStudy, runStudy, type StudyCli, toFlags } from "./study.ts";

const YAML = `
name: scaling
out: runs/scaling
bootstrap: 200
head-options: { lr: 0.01 }
datasets:
  - { id: xray/nih14, data: NIH/ }
  - { id: xray/rsna, data: rsna/, limit: 8 }
encoders:
  - dinov3-vits16=w/s
  - { label: big, weights: w/b, bootstrap: 10 }
resolutions: [224, 512x384]
heads: [linear, knn]
seeds: [0, 1, 2]
grid:
  epochs: [10, 100]
`;

Deno.test("YAML and JSON studies parse to the same thing; a broken file names itself", () => {
  const fromYaml = parseStudy(YAML, "s.yaml");
  const fromJson = parseStudy(JSON.stringify(fromYaml), "s.json");
  assert.deepEqual(fromJson, fromYaml);
  assert.deepEqual(fromYaml.resolutions, [224, "512x384"]);
  assert.throws(
    () => parseStudy("a: [1, 2", "bad.yaml"),
    (e) => e instanceof FormatError && /bad\.yaml/.test(e.message),
  );
  assert.throws(() => parseStudy("[1, 2]", "list.yaml"), /top level must be a mapping/);
});

Deno.test("a study expands to the cross product, each run an eval command line with merged flags", () => {
  const runs = expandStudy(parseStudy(YAML, "s.yaml"), {
    source: "s.yaml",
    isEncoderPlugin: (n) => n === "dinov3-vits16",
  });
  assert.equal(runs.length, 2 * 2 * 2 * 2 * 3 * 2);
  assert.equal(new Set(runs.map((r) => r.out)).size, runs.length, "every run has its own folder");
  const first = runs[0];
  assert.deepEqual(first.argv, [
    "eval",
    "xray/nih14",
    "--bootstrap",
    "200",
    "--head-options",
    '{"lr":0.01}',
    "--cache",
    "runs/scaling/cache",
    "--data",
    "NIH/",
    "--weights",
    "w/s",
    "--encoder",
    "dinov3-vits16",
    "--resolution",
    "224",
    "--head",
    "linear",
    "--seed",
    "0",
    "--epochs",
    "10",
    "--out",
    "runs/scaling/xray/nih14/dinov3-vits16@224/linear/seed0/epochs=10",
  ]);
  // Merge order: top level < dataset < encoder < axes < grid.
  const big = runs.find((r) => r.dataset === "xray/rsna" && r.encoder === "big")!;
  const flag = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];
  assert.equal(flag(big.argv, "--bootstrap"), "10");
  assert.equal(flag(big.argv, "--limit"), "8");
  assert.ok(!big.argv.includes("--label"), "a label only names the folder");
  assert.match(big.out, /\/big@/);
  assert.ok(
    runs.some((r) => r.resolution === "512x384" && flag(r.argv, "--resolution") === "512x384"),
  );
  // sweep's comma-separated spellings give the same runs as lists.
  const lists = {
    datasets: ["a/b"],
    encoders: ["x=w/x", "w/y"],
    resolutions: [224, 448],
    heads: ["linear", "knn"],
    seeds: [1, 2],
  };
  const strings = {
    datasets: ["a/b"],
    encoders: "x=w/x,w/y",
    resolutions: "224,448",
    heads: "linear,knn",
    seeds: "1,2",
  };
  assert.deepEqual(
    expandStudy(strings).map((r) => r.argv.join(" ")),
    expandStudy(lists).map((r) => r.argv.join(" ")),
  );
  assert.throws(() => expandStudy({ encoders: ["w"] }), /"datasets" must list/);
  assert.throws(() => expandStudy({ datasets: [{ data: "x" }] }), UsageError);
});

Deno.test("toFlags spells values as eval reads them", () => {
  assert.deepEqual(
    toFlags({
      headOptions: { k: 5 },
      metrics: ["auc", "f1"],
      strict: true,
      plugin: ["a.ts", "b.ts"],
      resolution: [512, 384],
    }),
    [
      "--head-options",
      '{"k":5}',
      "--metrics",
      "auc,f1",
      "--strict",
      "--plugin",
      "a.ts",
      "--plugin",
      "b.ts",
      "--resolution",
      "512x384",
    ],
  );
});

/** The real program (so eval itself parses every run) with a main that records instead of evaluating. */
function recordingCli(
  exitCodes: number[] = [],
): StudyCli & { calls: string[][]; studies: unknown[] } {
  const calls: string[][] = [];
  const studies: unknown[] = [];
  return {
    calls,
    studies,
    createProgram,
    async main(args) {
      calls.push([...args]);
      studies.push((await environmentInfo({ adapter: false, gitStatus: false })).study);
      const code = exitCodes[calls.length - 1] ?? 0;
      if (code === 0) {
        const out = args[args.indexOf("--out") + 1];
        await Deno.mkdir(out, { recursive: true });
        await Deno.writeTextFile(`${out}/result.json`, "{}");
      }
      return code;
    },
  };
}

async function writeStudy(dir: string, body: Record<string, unknown>): Promise<string> {
  const path = `${dir}/study.json`;
  await Deno.writeTextFile(path, JSON.stringify({ out: `${dir}/runs`, ...body }));
  return path;
}

Deno.test("runStudy checks every run with eval's own parser before the first one starts", async () => {
  const dir = await Deno.makeTempDir();
  const cli = recordingCli();
  const path = await writeStudy(dir, {
    datasets: [{ id: "xray/nih14", data: "NIH/" }],
    encoders: ["w/s"],
    resolutions: [224, 100000],
  });
  await assert.rejects(
    () => runStudy(path, cli),
    (e) =>
      e instanceof UsageError && /run 2 .*--resolution 100000.*is not a valid eval/.test(e.message),
  );
  const typo = await writeStudy(dir, {
    datasets: [{ id: "xray/nih14", data: "NIH/" }],
    "head-optoins": { lr: 1 },
  });
  await assert.rejects(() => runStudy(typo, cli), /unknown option '--head-optoins'/);
  assert.equal(cli.calls.length, 0, "nothing ran");
});

Deno.test("runStudy writes the resolved study, runs each eval with its study context, resumes and reports failures", async () => {
  const dir = await Deno.makeTempDir();
  const path = await writeStudy(dir, {
    datasets: [{ id: "xray/nih14", data: "NIH/" }],
    encoders: ["w/s"],
    heads: ["linear", "knn"],
    seeds: [0, 1],
  });
  const dry = recordingCli();
  const planned = await runStudy(path, dry, { dryRun: true });
  assert.equal(dry.calls.length, 0);
  const resolved = JSON.parse(await Deno.readTextFile(`${dir}/runs/study.resolved.json`));
  assert.equal(resolved.format, "medprobe-study");
  assert.deepEqual(
    resolved.runs.map((r: { argv: string[] }) => r.argv),
    planned.map((r) => r.argv),
  );

  const cli = recordingCli([0, 1, 0, 0]);
  await assert.rejects(() => runStudy(path, cli), /1 of 4 runs failed: run 2/);
  assert.deepEqual(cli.calls, planned.map((r) => r.argv));
  assert.deepEqual(
    cli.studies.map((s) => (s as { run: number; file: string }).run),
    [1, 2, 3, 4],
  );
  assert.equal((cli.studies[0] as { file: string }).file, path);
  const after = JSON.parse(await Deno.readTextFile(`${dir}/runs/study.resolved.json`));
  assert.deepEqual(after.runs.map((r: { status: string }) => r.status), [
    "done",
    "failed",
    "done",
    "done",
  ]);
  assert.equal((await environmentInfo({ adapter: false, gitStatus: false })).study, undefined);

  // A rerun resumes: only the failed run executes again.
  const rerun = recordingCli();
  await runStudy(path, rerun);
  assert.deepEqual(rerun.calls, [planned[1].argv]);
  const forced = recordingCli();
  await runStudy(path, forced, { force: true });
  assert.equal(forced.calls.length, 4);
});

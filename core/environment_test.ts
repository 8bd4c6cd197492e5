import assert from "node:assert/strict";
import {
  environmentInfo,
  medprobeBuild,
  npmPackageVersion,
  setStudyContext,
} from "./environment.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

async function git(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("the build is the checkout's version and HEAD commit, read from .git", async () => {
  // Other commits may land meanwhile: HEAD before or after the read.
  const before = await git(["rev-parse", "HEAD"], ROOT);
  const build = await medprobeBuild({ gitStatus: false });
  const after = await git(["rev-parse", "HEAD"], ROOT);
  const pkg = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  assert.equal(build.version, pkg.version);
  assert.equal(build.checkout, ROOT);
  assert.ok([before, after].includes(build.commit!), `${build.commit} is not HEAD`);
});

Deno.test("a throwaway repository: loose and packed refs, a detached HEAD and the dirty flag", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/deno.json`, '{"version": "9.9.9"}');
  await git(["init", "-q", "-b", "trunk"], root);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "add", "deno.json"], root);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], root);
  const head = await git(["rev-parse", "HEAD"], root);
  const clean = await medprobeBuild({ root });
  assert.deepEqual(clean, {
    version: "9.9.9",
    commit: head,
    branch: "trunk",
    dirty: false,
    checkout: root,
  });
  await git(["pack-refs", "--all"], root);
  assert.equal((await medprobeBuild({ root, gitStatus: false })).commit, head);
  await Deno.writeTextFile(`${root}/deno.json`, '{"version": "9.9.10"}');
  assert.equal((await medprobeBuild({ root })).dirty, true);
  await git(["checkout", "-q", "--detach"], root);
  const detached = await medprobeBuild({ root, gitStatus: false });
  assert.equal(detached.commit, head);
  assert.equal(detached.branch, null);
  const none = await medprobeBuild({ root: await Deno.makeTempDir(), version: "1.0.0" });
  assert.deepEqual(none, {
    version: "1.0.0",
    commit: null,
    branch: null,
    dirty: null,
    checkout: null,
  });
});

Deno.test("environmentInfo records the command line, runtimes, onnxruntime pin and CPU", async () => {
  const pins = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).imports;
  const pinned = (name: string) => pins[name].split("@").pop();
  assert.equal(npmPackageVersion("onnxruntime-node"), pinned("onnxruntime-node"));
  assert.equal(npmPackageVersion("no-such-package-here"), null);
  const env = await environmentInfo({
    commandLine: ["medprobe", "eval", "xray/nih14"],
    adapter: false,
    gitStatus: false,
    extra: { note: "x" },
  });
  assert.deepEqual(env.commandLine, ["medprobe", "eval", "xray/nih14"]);
  assert.equal(env.deno, Deno.version.deno);
  assert.deepEqual(env.onnxruntime, {
    node: pinned("onnxruntime-node"),
    web: pinned("onnxruntime-web"),
  });
  assert.equal("adapter" in env, false);
  const cpu = env.cpu as { model: string | null; cores: number | null };
  assert.equal(typeof cpu.model, "string");
  assert.ok((cpu.cores ?? 0) >= 1);
  assert.equal(env.note, "x");
  const given = await environmentInfo({ adapter: { description: "given" }, gitStatus: false });
  assert.deepEqual(given.adapter, { description: "given" });
});

Deno.test("a study context set by medprobe run is recorded until cleared", async () => {
  setStudyContext({ file: "study.yaml", run: 3 });
  try {
    const env = await environmentInfo({ adapter: false, gitStatus: false });
    assert.deepEqual(env.study, { file: "study.yaml", run: 3 });
  } finally {
    setStudyContext(undefined);
  }
  assert.equal("study" in await environmentInfo({ adapter: false, gitStatus: false }), false);
});

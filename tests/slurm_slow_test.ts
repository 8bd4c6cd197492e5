// Sharded extraction on a real SLURM: installs Debian's slurm-wlm and munge
// when missing (root only), starts a single-node slurmctld + slurmd on
// localhost with a private configuration, submits the job array written by
// `medprobe cluster slurm` for 3 shards of a synthetic NIH-14, SIGKILLs one
// shard mid-run (its script requeues it), waits for the dependent job, and
// checks that the cache equals a one-process run file by file and that the
// metrics are identical. Shards and reference use the same --batch: onnxruntime's
// CPU kernels depend on the batch rows, so features at another batch size differ in
// the last bits (the cache key leaves the batch size out on purpose). About 1-3
// minutes; skipped unless run as root on Linux (it installs packages and starts
// slurmctld, slurmd and munged as root with a private configuration).

import assert from "node:assert/strict";
import { medprobe, ROOT } from "./_cli.ts";
import { FeatureCache, type FeatureCacheKey } from "../core/cache.ts";
import { readJobRecords } from "../cli/jobs.ts";

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output()
    .catch((e) => ({
      code: 127,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode(`${e}`),
    }));
  const text = new TextDecoder();
  return { code: o.code, out: text.decode(o.stdout) + text.decode(o.stderr) };
}

const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;

async function ensureSlurm(): Promise<void> {
  if ((await run("sh", ["-c", "command -v slurmctld && command -v munged"])).code === 0) return;
  const apt = await run("apt-get", ["install", "-y", "slurm-wlm", "munge"], {
    DEBIAN_FRONTEND: "noninteractive",
  });
  assert.equal(apt.code, 0, `apt-get install slurm-wlm munge failed:\n${apt.out.slice(-2000)}`);
}

/** Starts munged when it is not answering; returns its pid file when this test started it. */
async function ensureMunge(): Promise<string | undefined> {
  if ((await run("sh", ["-c", "munge -n | unmunge"])).code === 0) return undefined;
  await Deno.mkdir("/run/munge", { recursive: true });
  await run("chown", ["munge:munge", "/run/munge"]);
  const started = await run("runuser", ["-u", "munge", "--", "/usr/sbin/munged"]);
  assert.equal(started.code, 0, `munged did not start: ${started.out}`);
  return "/run/munge/munged.pid";
}

function slurmConf(dir: string, host: string, port: number): string {
  return [
    "ClusterName=medprobetest",
    `SlurmctldHost=${host}(127.0.0.1)`,
    "SlurmUser=root",
    "SlurmdUser=root",
    `SlurmctldPort=${port}`,
    `SlurmdPort=${port + 1}`,
    "AuthType=auth/munge",
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`,
    `SlurmdPidFile=${dir}/slurmd.pid`,
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "SchedulerType=sched/backfill",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core_Memory",
    "ReturnToService=2",
    "MpiDefault=none",
    "JobRequeue=1",
    "KillWait=5",
    `SlurmctldLogFile=${dir}/slurmctld.log`,
    `SlurmdLogFile=${dir}/slurmd.log`,
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN`,
    `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    "",
  ].join("\n");
}

async function killPidFile(path: string): Promise<void> {
  const pid = Number(await Deno.readTextFile(path).catch(() => ""));
  if (pid > 0) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* already gone */ }
  }
}

/** Every file under `dir`, relative path → bytes. */
async function tree(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [k, v] of await tree(dir, rel)) out.set(k, v); }
    else out.set(rel, await Deno.readFile(`${dir}/${rel}`));
  }
  return out;
}

function existsSync(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    "SLURM job array: 3 shards + a killed, requeued shard fill the cache exactly as one process; same metrics",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureSlurm();
    const tmp = await Deno.makeTempDir({ prefix: "medprobe-slurm-" });
    const host = Deno.hostname();
    const port = 17000 + Math.floor(Math.random() * 2000) * 2;
    const env = { SLURM_CONF: `${tmp}/slurm.conf`, NO_COLOR: "1" };
    const mungePid = await ensureMunge();
    await Deno.mkdir(`${tmp}/state`);
    await Deno.mkdir(`${tmp}/spool`);
    await Deno.writeTextFile(`${tmp}/slurm.conf`, slurmConf(tmp, host, port));
    try {
      const ctl = await run("slurmctld", ["-f", `${tmp}/slurm.conf`, "-i"], env);
      assert.equal(ctl.code, 0, ctl.out);
      const d = await run("slurmd", ["-f", `${tmp}/slurm.conf`], env);
      assert.equal(d.code, 0, d.out);
      for (let i = 0; i < 60; i++) {
        if (/idle/.test((await run("sinfo", ["-h", "-o", "%t"], env)).out)) break;
        await sleep(500);
      }

      // A synthetic NIH-14 and the one-process reference (eval extracts and fits).
      const data = `${tmp}/nih`;
      const weights = `${ROOT}fixtures/dinov3_demo`;
      const synth = await medprobe(
        "synth",
        "xray/nih14",
        "--out",
        data,
        "--count",
        "60",
        "--seed",
        "3",
      );
      assert.equal(synth.code, 0, synth.stderr);
      const common = ["--data", data, "--weights", weights, "--resolution", "64", "--batch", "4"];
      const ref = await medprobe(
        "eval",
        "xray/nih14",
        ...common,
        "--cache",
        `${tmp}/ref-cache`,
        "--head",
        "linear",
        "--out",
        `${tmp}/ref/linear`,
        "--bootstrap",
        "50",
        "--quiet",
        "--workers",
        "0",
      );
      assert.equal(ref.code, 0, ref.stderr);

      // The generated scripts, submitted as a user would.
      const cache = `${tmp}/cache`;
      const out = `${tmp}/runs`;
      const gen = await medprobe(
        "cluster",
        "slurm",
        "xray/nih14",
        ...common,
        "--cache",
        cache,
        "--out",
        out,
        "--shards",
        "3",
        "--heads",
        "linear",
        "--cpus",
        "1",
        "--mem",
        "1G",
        "--time",
        "00:20:00",
        "--medprobe",
        `${Deno.execPath()} run -A ${ROOT}cli.ts`,
        "--extract-args",
        "--flush-every 1",
        "--eval-args",
        "--bootstrap 50 --workers 0",
      );
      assert.equal(gen.code, 0, gen.stderr);
      const submit = await run("bash", [`${out}/cluster/submit.sh`], env);
      assert.equal(submit.code, 0, submit.out);
      const array = /job array (\d+)/.exec(submit.out)![1];
      const final = /job (\d+)\s*$/m.exec(submit.out)![1];

      // SIGKILL shard 1 once some, not all, of its samples are cached.
      const [ns] = [...Deno.readDirSync(`${tmp}/ref-cache`)].map((e) => e.name)
        .filter((name) => existsSync(`${tmp}/ref-cache/${name}/key.json`));
      const refKey = JSON.parse(await Deno.readTextFile(`${tmp}/ref-cache/${ns}/key.json`)).key;
      const refCache = await FeatureCache.open(`${tmp}/ref-cache`, refKey as FeatureCacheKey);
      const fileOf = new Map(refCache.shards().map((s) => [s.samples[0], s.file]));
      refCache.close();
      let killed = false;
      let seen = "";
      for (const deadline = Date.now() + 180_000; Date.now() < deadline && !killed;) {
        const job = (await readJobRecords(`${cache}/${ns}`).catch(() => []))
          .find((j) => j.shard === "1/3");
        if (job?.state === "done") break;
        if (job?.state === "running") {
          const mine = new Set(job.samples.map((id) => fileOf.get(id)));
          const names = await Array.fromAsync(Deno.readDir(`${cache}/${ns}/shards`));
          const cached = names.filter((e) => mine.has(`shards/${e.name}`)).length;
          seen = `${cached}/${job.samples.length} cached`;
          if (cached > 0 && cached < job.samples.length) {
            Deno.kill(Number(job.writer.pid), "SIGKILL");
            killed = true;
          }
        }
        await sleep(5);
      }
      assert.ok(killed, `shard 1 was never seen mid-run (last seen: ${seen})`);

      // Wait for everything; a requeued task waits 2 minutes in SLURM: start it now.
      for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
        const q = (await run("squeue", ["-h", "-r", "-o", "%i %T %r"], env)).out.trim();
        if (q === "") break;
        for (const line of q.split("\n")) {
          const [id, , reason] = line.split(" ");
          if (reason === "BeginTime") {
            await run("scontrol", ["update", `JobId=${id}`, "StartTime=now"], env);
          }
        }
        await sleep(1000);
      }
      const finalState = (await run("scontrol", ["show", "job", final], env)).out;
      const logs = [...Deno.readDirSync(`${out}/cluster/logs`)].map((e) =>
        Deno.readTextFileSync(`${out}/cluster/logs/${e.name}`)
      ).join("\n---\n");
      assert.match(finalState, /JobState=COMPLETED/, `${finalState}\n${logs.slice(-4000)}`);

      // Shard 1 ran twice; nothing lost, nothing duplicated: the cache equals the reference.
      const jobs = await readJobRecords(`${cache}/${ns}`);
      assert.deepEqual(jobs.map((j) => [j.shard, j.state]), [["0/3", "done"], ["1/3", "done"], [
        "2/3",
        "done",
      ]]);
      assert.equal(jobs.find((j) => j.shard === "1/3")!.attempts, 2);
      const requeued = (await run("scontrol", ["show", "job", `${array}_1`], env)).out;
      assert.match(requeued, /Restarts=1 /, requeued);
      assert.ok(jobs[1].skipped > 0 && jobs[1].computed > 0, JSON.stringify(jobs[1]));
      const all = jobs.flatMap((j) => j.samples);
      assert.equal(new Set(all).size, all.length, "shards overlap");
      const refTree = await tree(`${tmp}/ref-cache/${ns}`);
      const gotTree = await tree(`${cache}/${ns}`);
      const shardFiles = (t: Map<string, Uint8Array>) =>
        [...t.keys()].filter((k) => k.startsWith("shards/") && !k.endsWith(".tmp")).sort();
      assert.deepEqual(shardFiles(gotTree), shardFiles(refTree));
      assert.equal(shardFiles(refTree).length, all.length, "one file per sample, no duplicate");
      for (const f of shardFiles(refTree)) assert.deepEqual(gotTree.get(f), refTree.get(f), f);
      for (const f of ["key.json", "manifest.json"]) {
        assert.deepEqual(gotTree.get(f), refTree.get(f), f);
      }

      // Same metrics from the dependent job as from the one-process run.
      const got = JSON.parse(await Deno.readTextFile(`${out}/linear/result.json`));
      const want = JSON.parse(await Deno.readTextFile(`${tmp}/ref/linear/result.json`));
      assert.deepEqual(got.metrics, want.metrics);
      assert.equal(got.data.cacheHits, all.length);
      assert.ok((await Deno.stat(`${out}/report`)).isDirectory);
    } finally {
      await run("scancel", ["--user=root"], env);
      await killPidFile(`${tmp}/slurmd.pid`);
      await killPidFile(`${tmp}/slurmctld.pid`);
      if (mungePid) await killPidFile(mungePid);
      await sleep(500);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

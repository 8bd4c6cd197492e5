import assert from "node:assert/strict";
import {
  type ClusterJobOptions,
  kubernetesJobs,
  kubernetesManifests,
  shellQuote,
  slurmScripts,
  toYaml,
} from "./cluster.ts";

const JOB: ClusterJobOptions = {
  dataset: "xray/nih14",
  data: "/data/NIH",
  weights: "/data/weights/dinov3-vits16",
  resolution: "224",
  cache: "/work/cache",
  out: "/work/out",
  shards: 8,
  heads: ["linear", "knn"],
  medprobe: "medprobe",
  extractArgs: "--backend onnx",
};

const K8S = {
  ...JOB,
  image: "ghcr.io/example/medprobe:0.1.0",
  namespace: "ml",
  cacheClaim: "medprobe-cache",
  workMount: "/work",
  dataClaim: "datasets",
  dataMount: "/data",
  parallelism: 4,
  maxRetries: 3,
  cpus: 8,
  mem: "16Gi",
  gpus: 1,
  name: "medprobe-xray-nih14",
};

const hasPyYaml = await new Deno.Command("python3", {
  args: ["-c", "import yaml"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success).catch(() => false);

Deno.test("the Kubernetes extraction is an Indexed Job over a shared volume, JOB_COMPLETION_INDEX as the shard", () => {
  // deno-lint-ignore no-explicit-any
  const { extract, final } = kubernetesJobs(K8S) as any;
  assert.equal(extract.apiVersion, "batch/v1");
  assert.equal(extract.kind, "Job");
  assert.equal(extract.metadata.namespace, "ml");
  assert.equal(extract.spec.completionMode, "Indexed");
  assert.equal(extract.spec.completions, 8);
  assert.equal(extract.spec.parallelism, 4);
  assert.equal(extract.spec.backoffLimitPerIndex, 3);
  const pod = extract.spec.template.spec;
  assert.equal(pod.restartPolicy, "Never", "backoffLimitPerIndex requires restartPolicy Never");
  const [container] = pod.containers;
  assert.equal(container.image, K8S.image);
  const command = container.command.join(" ");
  assert.match(command, /medprobe extract xray\/nih14 .*--cache \/work\/cache/);
  assert.match(command, /--shard "\$\{JOB_COMPLETION_INDEX\}\/8"/);
  assert.match(command, /--backend onnx/);
  assert.deepEqual(container.resources.limits["nvidia.com/gpu"], 1);
  // Every mount names a declared volume; the cache is a claim mounted read-write.
  const volumes = new Map(pod.volumes.map((v: { name: string }) => [v.name, v]));
  for (const m of container.volumeMounts) assert.ok(volumes.has(m.name), m.name);
  const work = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/work");
  assert.ok(work && !work.readOnly);
  // deno-lint-ignore no-explicit-any
  assert.equal((volumes.get(work.name) as any).persistentVolumeClaim.claimName, "medprobe-cache");
  assert.equal(final.kind, "Job");
  assert.equal(final.spec.completions, 1);
  const finalCommand = final.spec.template.spec.containers[0].command.join(" ");
  assert.match(finalCommand, /cache status \/work\/cache --dataset xray\/nih14; /);
  assert.match(finalCommand, /eval xray\/nih14 .*--head linear --out \/work\/out\/linear/);
  assert.match(finalCommand, /eval xray\/nih14 .*--head knn --out \/work\/out\/knn/);
  assert.match(finalCommand, /--head linear --out \/work\/out\/linear --from-cache/);
  assert.match(finalCommand, /report \/work\/out --out \/work\/out\/report/);
});

Deno.test({
  name: "the written YAML parses back (PyYAML) to exactly the Job objects",
  ignore: !hasPyYaml,
  async fn() {
    const files = kubernetesManifests(K8S);
    const jobs = kubernetesJobs(K8S);
    for (
      const [file, object] of [["extract-job.yaml", jobs.extract], ["final-job.yaml", jobs.final]]
    ) {
      const o = await new Deno.Command("python3", {
        args: ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = o.stdin.getWriter();
      await w.write(new TextEncoder().encode(files[file as string]));
      await w.close();
      const r = await o.output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(r.stdout)), object, file as string);
    }
    assert.match(
      files["submit.sh"],
      /kubectl -n ml wait --for=condition=complete .*job\/medprobe-xray-nih14-extract/,
    );
  },
});

Deno.test("toYaml writes nested maps, lists of maps, empty values and quoted strings", () => {
  assert.equal(
    toYaml({ a: 1, b: { c: "x: y" }, d: [{ e: true, f: [1, 2] }, "g"], h: [], i: {} }),
    'a: 1\nb:\n  c: "x: y"\nd:\n- e: true\n  f:\n  - 1\n  - 2\n- "g"\nh: []\ni: {}\n',
  );
});

Deno.test("the SLURM array has one task per shard, resources, requeue, and a dependent final job", () => {
  const files = slurmScripts({
    ...JOB,
    partition: "gpu",
    account: "lab42",
    time: "02:00:00",
    finalTime: "01:00:00",
    cpus: 8,
    mem: "32G",
    gpus: 1,
    maxParallel: 4,
    maxRetries: 2,
    setup: ["module load deno"],
    dir: "/work/out/cluster",
    name: "mp",
  });
  const extract = files["extract.sbatch"];
  for (
    const line of [
      "#SBATCH --array=0-7%4",
      "#SBATCH --time=02:00:00",
      "#SBATCH --cpus-per-task=8",
      "#SBATCH --mem=32G",
      "#SBATCH --gres=gpu:1",
      "#SBATCH --partition=gpu",
      "#SBATCH --account=lab42",
      "#SBATCH --requeue",
      "#SBATCH --signal=B:TERM@60",
      "MAX_RETRIES=2",
      "module load deno",
    ]
  ) assert.ok(extract.includes(line), line);
  assert.match(extract, /--shard "\$\{SLURM_ARRAY_TASK_ID\}\/8"/);
  assert.match(extract, /scontrol requeue "\$\{SLURM_ARRAY_JOB_ID\}_\$\{SLURM_ARRAY_TASK_ID\}"/);
  assert.match(files["final.sbatch"], /eval xray\/nih14 .*--head knn/);
  assert.match(files["submit.sh"], /--dependency="afterok:\$array"/);
  assert.equal(shellQuote("a b'c"), `'a b'"'"'c'`);
  assert.equal(shellQuote("/plain/path-1.x"), "/plain/path-1.x");
});

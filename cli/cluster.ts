/**
 * `medprobe cluster slurm ...` and `medprobe cluster k8s ...`: write the
 * scheduler files that spread a dataset's extraction over N shards on a
 * shared feature cache, then fit the heads and write the report once every
 * shard is done.
 *
 * - SLURM: `extract.sbatch` (a job array, one task per shard, requeued on
 *   failure up to `--max-retries` times and on node failure or
 *   preemption, SIGTERM 60 s before the time limit so a task writes what it
 *   computed), `final.sbatch` (the heads and the report) and `submit.sh`
 *   (submits both, the final job `--dependency=afterok` on the array).
 * - Kubernetes: `extract-job.yaml` (an Indexed Job: `JOB_COMPLETION_INDEX`
 *   is the shard, the cache on a ReadWriteMany volume), `final-job.yaml`
 *   and `submit.sh` (applies the first, waits for it to complete, applies
 *   the second).
 *
 * The generators are plain functions returning file texts, so they can be
 * tested and used without the CLI.
 *
 * @module
 */

import type { Command } from "commander";
import { findDataset } from "../core/experiment.ts";
import { collect, loadRegistry, nonNegativeInt, positiveInt, say } from "./common.ts";

/** What every scheduler's files run. */
export interface ClusterJobOptions {
  /** `modality/dataset`. */
  dataset: string;
  /** Dataset root as seen by the jobs. */
  data: string;
  /** Weights folder as seen by the jobs. */
  weights?: string;
  /** Encoder plugin name. */
  encoder?: string;
  /** Input resolution (`224`, `512x384`, `native`). */
  resolution?: string;
  /** Encoder batch size. */
  batch?: number;
  /** Shared feature cache folder. */
  cache: string;
  /** Output folder of the final job (one sub-folder per head, plus `report/`). */
  out: string;
  /** Number of shards N. */
  shards: number;
  /** Heads the final job fits. */
  heads: readonly string[];
  /** How the jobs run medprobe (e.g. `medprobe`, `deno run -A /opt/medprobe/cli.ts`). */
  medprobe: string;
  /** Extra arguments of `medprobe extract` (e.g. `--backend onnx`). */
  extractArgs?: string;
  /** Extra arguments of the final `medprobe eval` (e.g. `--bootstrap 2000`). */
  evalArgs?: string;
}

/** Quotes a word for POSIX sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

function encoderArgs(o: ClusterJobOptions): string[] {
  const args: string[] = [];
  if (o.weights) args.push("--weights", o.weights);
  if (o.encoder) args.push("--encoder", o.encoder);
  if (o.resolution) args.push("--resolution", o.resolution);
  if (o.batch) args.push("--batch", String(o.batch));
  return args;
}

/** The `medprobe extract` command line of shard `shardExpr` (a shell expression). */
export function extractCommand(o: ClusterJobOptions, shardExpr: string): string {
  const words = ["extract", o.dataset, "--data", o.data, ...encoderArgs(o), "--cache", o.cache];
  return `${o.medprobe} ${
    words.map(shellQuote).join(" ")
  } --shard "${shardExpr}/${o.shards}" --quiet${o.extractArgs ? ` ${o.extractArgs}` : ""}`;
}

/**
 * The commands of the final job: log the cache's status, fit each head from
 * the cache without running the encoder (`eval --from-cache`, which refuses
 * when a sample of this run is missing), write the report.
 */
export function finalCommands(o: ClusterJobOptions): string[] {
  const q = (words: string[]) => words.map(shellQuote).join(" ");
  return [
    `${o.medprobe} ${q(["cache", "status", o.cache, "--dataset", o.dataset])}`,
    ...o.heads.map((head) =>
      `${o.medprobe} ${
        q([
          "eval",
          o.dataset,
          "--data",
          o.data,
          ...encoderArgs(o),
          "--cache",
          o.cache,
          "--head",
          head,
          "--out",
          `${o.out}/${head}`,
          "--from-cache",
          "--quiet",
        ])
      }${o.evalArgs ? ` ${o.evalArgs}` : ""}`
    ),
    `${o.medprobe} ${q(["report", o.out, "--out", `${o.out}/report`])}`,
  ];
}

/** SLURM resources and behaviour. */
export interface SlurmOptions extends ClusterJobOptions {
  /** Partition (`-p`). */
  partition?: string;
  /** Account (`-A`). */
  account?: string;
  /** Quality of service. */
  qos?: string;
  /** Time limit of one shard (`HH:MM:SS` or `D-HH:MM:SS`). */
  time: string;
  /** Time limit of the final job. */
  finalTime: string;
  /** CPUs per shard. */
  cpus: number;
  /** Memory per shard (e.g. `16G`). */
  mem: string;
  /** GPUs per shard (0: none). */
  gpus: number;
  /** Shards running at once (0: no limit). */
  maxParallel: number;
  /** Requeues of a failed shard. */
  maxRetries: number;
  /** Lines run before medprobe in every job (`module load ...`). */
  setup: readonly string[];
  /** Folder the scripts are written to (logs go to `<dir>/logs`). */
  dir: string;
  /** Job name prefix. */
  name: string;
}

function sbatchHeader(o: SlurmOptions, lines: string[]): string[] {
  return [
    "#!/bin/bash",
    ...lines,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.account ? [`#SBATCH --account=${o.account}`] : []),
    ...(o.qos ? [`#SBATCH --qos=${o.qos}`] : []),
  ];
}

/** The files of a SLURM run: `extract.sbatch`, `final.sbatch`, `submit.sh`. */
export function slurmScripts(o: SlurmOptions): Record<string, string> {
  const logs = `${o.dir}/logs`;
  const throttle = o.maxParallel > 0 ? `%${o.maxParallel}` : "";
  const extract = [
    ...sbatchHeader(o, [
      `#SBATCH --job-name=${o.name}-extract`,
      `#SBATCH --array=0-${o.shards - 1}${throttle}`,
      `#SBATCH --time=${o.time}`,
      `#SBATCH --cpus-per-task=${o.cpus}`,
      `#SBATCH --mem=${o.mem}`,
      ...(o.gpus > 0 ? [`#SBATCH --gres=gpu:${o.gpus}`] : []),
      "#SBATCH --requeue",
      "#SBATCH --open-mode=append",
      "#SBATCH --signal=B:TERM@60",
      `#SBATCH --output=${logs}/extract-%A_%a.out`,
    ]),
    `# medprobe extract, shard SLURM_ARRAY_TASK_ID of ${o.shards}, into the shared cache ${o.cache}.`,
    "# A failed shard requeues itself (at most MAX_RETRIES times); the rerun computes only",
    "# the samples the cache lacks. SIGTERM (time limit, scancel, preemption) writes the",
    "# features computed so far before the task stops.",
    "set -u",
    `MAX_RETRIES=${o.maxRetries}`,
    ...o.setup,
    `${extractCommand(o, "${SLURM_ARRAY_TASK_ID}")} &`,
    "child=$!",
    "trap 'kill -TERM \"$child\" 2>/dev/null' TERM",
    'wait "$child"; rc=$?',
    'if kill -0 "$child" 2>/dev/null; then wait "$child"; rc=$?; fi',
    'if [ "$rc" -ne 0 ] && [ "${SLURM_RESTART_COUNT:-0}" -lt "$MAX_RETRIES" ]; then',
    `  echo "medprobe: shard \${SLURM_ARRAY_TASK_ID}/${o.shards} exited with $rc; requeueing (restart \${SLURM_RESTART_COUNT:-0} of $MAX_RETRIES)" >&2`,
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    "fi",
    'exit "$rc"',
    "",
  ].join("\n");
  const final = [
    ...sbatchHeader(o, [
      `#SBATCH --job-name=${o.name}-final`,
      `#SBATCH --time=${o.finalTime}`,
      `#SBATCH --cpus-per-task=${o.cpus}`,
      `#SBATCH --mem=${o.mem}`,
      ...(o.gpus > 0 ? [`#SBATCH --gres=gpu:${o.gpus}`] : []),
      `#SBATCH --output=${logs}/final-%j.out`,
    ]),
    "# Runs after every shard succeeded: checks the cache, fits the heads on the cached",
    "# features and writes the report.",
    "set -euo pipefail",
    ...o.setup,
    ...finalCommands(o),
    "",
  ].join("\n");
  const submit = [
    "#!/bin/bash",
    `# Submits the ${o.shards}-shard extraction array, then the final job once every shard succeeded.`,
    "set -euo pipefail",
    'here="$(cd "$(dirname "$0")" && pwd)"',
    `mkdir -p ${shellQuote(logs)}`,
    'array=$(sbatch --parsable "$here/extract.sbatch")',
    'array="${array%%;*}"',
    'final=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes "$here/final.sbatch")',
    'final="${final%%;*}"',
    `echo "extraction: job array $array (${o.shards} shards); heads and report: job $final"`,
    'echo "progress: ' + `${o.medprobe} cache status ${shellQuote(o.cache)}"`,
    "",
  ].join("\n");
  return { "extract.sbatch": extract, "final.sbatch": final, "submit.sh": submit };
}

/** Kubernetes resources and volumes. */
export interface KubernetesOptions extends ClusterJobOptions {
  /** Container image with medprobe. */
  image: string;
  /** Kubernetes namespace. */
  namespace?: string;
  /** PersistentVolumeClaim (ReadWriteMany) holding the cache and the output, mounted at `workMount`. */
  cacheClaim: string;
  /** Where the cache claim is mounted. */
  workMount: string;
  /** PersistentVolumeClaim with the dataset and weights (read-only), mounted at `dataMount`. */
  dataClaim: string;
  /** Where the data claim is mounted. */
  dataMount: string;
  /** Pods running at once. */
  parallelism: number;
  /** Retries of one index. */
  maxRetries: number;
  /** CPUs per pod. */
  cpus: number;
  /** Memory per pod (e.g. `16Gi`). */
  mem: string;
  /** GPUs per pod (`nvidia.com/gpu`; 0: none). */
  gpus: number;
  /** Job name prefix. */
  name: string;
}

function podSpec(o: KubernetesOptions, command: string): Record<string, unknown> {
  const resources = {
    requests: { cpu: String(o.cpus), memory: o.mem },
    limits: { memory: o.mem, ...(o.gpus > 0 ? { "nvidia.com/gpu": o.gpus } : {}) },
  };
  return {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 120,
    containers: [{
      name: "medprobe",
      image: o.image,
      command: ["/bin/sh", "-c", command],
      resources,
      volumeMounts: [
        { name: "work", mountPath: o.workMount },
        { name: "data", mountPath: o.dataMount, readOnly: true },
      ],
    }],
    volumes: [
      { name: "work", persistentVolumeClaim: { claimName: o.cacheClaim } },
      { name: "data", persistentVolumeClaim: { claimName: o.dataClaim, readOnly: true } },
    ],
  };
}

/** The objects of a Kubernetes run: the Indexed extraction Job and the final Job. */
export function kubernetesJobs(o: KubernetesOptions): { extract: unknown; final: unknown } {
  const meta = (suffix: string) => ({
    name: `${o.name}-${suffix}`,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    labels: {
      "app.kubernetes.io/name": "medprobe",
      "medprobe/dataset": o.dataset.replace("/", "-"),
    },
  });
  const extract = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta("extract"),
    spec: {
      completionMode: "Indexed",
      completions: o.shards,
      parallelism: Math.min(o.parallelism, o.shards),
      backoffLimitPerIndex: o.maxRetries,
      backoffLimit: o.shards * (o.maxRetries + 1),
      template: { spec: podSpec(o, `exec ${extractCommand(o, "${JOB_COMPLETION_INDEX}")}`) },
    },
  };
  const final = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta("final"),
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: o.maxRetries,
      template: { spec: podSpec(o, `set -e; ${finalCommands(o).join("; ")}`) },
    },
  };
  return { extract, final };
}

/** Writes a JSON-compatible value as block YAML (strings double-quoted, as JSON). */
export function toYaml(value: unknown, indent = ""): string {
  const scalar = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
  const isBlock = (v: unknown) =>
    v !== null && typeof v === "object" && Object.keys(v as object).length > 0;
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (!isBlock(item)) return `${indent}- ${scalar(item)}\n`;
      const inner = toYaml(item, `${indent}  `);
      return `${indent}- ${inner.slice(indent.length + 2)}`;
    }).join("");
  }
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    if (!isBlock(v)) {
      const empty = Array.isArray(v) ? "[]" : v !== null && typeof v === "object" ? "{}" : null;
      return `${indent}${k}: ${empty ?? scalar(v)}\n`;
    }
    return `${indent}${k}:\n${toYaml(v, Array.isArray(v) ? indent : `${indent}  `)}`;
  }).join("");
}

/** The files of a Kubernetes run: `extract-job.yaml`, `final-job.yaml`, `submit.sh`. */
export function kubernetesManifests(o: KubernetesOptions): Record<string, string> {
  const jobs = kubernetesJobs(o);
  const ns = o.namespace ? ` -n ${shellQuote(o.namespace)}` : "";
  const submit = [
    "#!/bin/bash",
    `# Runs the ${o.shards}-shard Indexed Job, waits for every index to complete, then the final Job.`,
    "set -euo pipefail",
    'here="$(cd "$(dirname "$0")" && pwd)"',
    `kubectl${ns} apply -f "$here/extract-job.yaml"`,
    `kubectl${ns} wait --for=condition=complete --timeout=-1s job/${o.name}-extract`,
    `kubectl${ns} apply -f "$here/final-job.yaml"`,
    `kubectl${ns} wait --for=condition=complete --timeout=-1s job/${o.name}-final`,
    `kubectl${ns} logs job/${o.name}-final`,
    "",
  ].join("\n");
  return {
    "extract-job.yaml": toYaml(jobs.extract),
    "final-job.yaml": toYaml(jobs.final),
    "submit.sh": submit,
  };
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text, {
      mode: name.endsWith(".sh") || name.endsWith(".sbatch") ? 0o755 : 0o644,
    });
    say(`wrote ${dir}/${name}`);
  }
}

interface CommonCli {
  data: string;
  weights?: string;
  encoder?: string;
  resolution?: string;
  batch?: number;
  cache: string;
  out: string;
  shards: number;
  heads?: string;
  medprobe: string;
  extractArgs?: string;
  evalArgs?: string;
  dir?: string;
  name?: string;
  cpus: number;
  gpus: number;
  maxRetries: number;
  plugin: string[];
}

function addCommon(cmd: Command): Command {
  return cmd
    .argument("<dataset>", "modality/dataset, e.g. xray/nih14")
    .requiredOption("--data <dir>", "dataset root as the jobs see it")
    .option("--weights <dir>", "weights folder as the jobs see it")
    .option("--encoder <name>", "encoder plugin (default: from the weights' config.json)")
    .option("--resolution <size>", "input size: N, HxW or native (default: the protocol's)")
    .option("--batch <n>", "encoder batch size", positiveInt)
    .requiredOption("--cache <dir>", "feature cache on storage every job shares")
    .requiredOption("--out <dir>", "output folder of the heads and the report")
    .requiredOption("--shards <n>", "number of shards N", positiveInt)
    .option("--heads <list>", "heads the final job fits (default: the protocol's)")
    .option("--medprobe <cmd>", "how the jobs run medprobe", "medprobe")
    .option("--extract-args <args>", "extra arguments of medprobe extract (e.g. '--backend onnx')")
    .option("--eval-args <args>", "extra arguments of the final medprobe eval")
    .option("--dir <dir>", "folder to write the files to (default: OUT/cluster; k8s: ./k8s)")
    .option("--name <name>", "job name prefix (default: medprobe-<dataset>)")
    .option("--cpus <n>", "CPUs per job", positiveInt, 8)
    .option("--gpus <n>", "GPUs per job (0: none)", nonNegativeInt, 0)
    .option("--max-retries <n>", "retries of a failed shard", nonNegativeInt, 3)
    .option("--plugin <spec>", "load a plugin module (for the protocol's heads)", collect, []);
}

async function jobOptions(datasetId: string, o: CommonCli): Promise<ClusterJobOptions> {
  let heads = o.heads?.split(",").map((h) => h.trim()).filter(Boolean);
  if (!heads?.length) {
    const registry = await loadRegistry(o.plugin);
    heads = [...findDataset(registry, datasetId).spec.protocol.heads];
  }
  return {
    dataset: datasetId,
    data: o.data,
    weights: o.weights,
    encoder: o.encoder,
    resolution: o.resolution,
    batch: o.batch,
    cache: o.cache,
    out: o.out,
    shards: o.shards,
    heads,
    medprobe: o.medprobe,
    extractArgs: o.extractArgs,
    evalArgs: o.evalArgs,
  };
}

function defaultName(datasetId: string): string {
  return `medprobe-${datasetId.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}`;
}

/** Registers `medprobe cluster slurm` and `medprobe cluster k8s`. */
export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command("cluster")
    .description(
      "Write SLURM or Kubernetes jobs that extract N shards into a shared cache, then fit",
    );
  addCommon(
    cluster.command("slurm").description(
      "Write extract.sbatch (a job array, one task per shard), final.sbatch (heads, report) and submit.sh",
    ),
  )
    .option("--partition <p>", "SLURM partition")
    .option("--account <a>", "SLURM account")
    .option("--qos <q>", "SLURM quality of service")
    .option("--time <t>", "time limit of one shard", "04:00:00")
    .option("--final-time <t>", "time limit of the final job", "02:00:00")
    .option("--mem <m>", "memory per job", "16G")
    .option("--max-parallel <n>", "shards running at once (0: no limit)", nonNegativeInt, 0)
    .option("--setup <line>", "shell line run first in every job (repeatable)", collect, [])
    .action(
      async (
        datasetId: string,
        o: CommonCli & {
          partition?: string;
          account?: string;
          qos?: string;
          time: string;
          finalTime: string;
          mem: string;
          maxParallel: number;
          setup: string[];
        },
      ) => {
        const dir = (o.dir ?? `${o.out}/cluster`).replace(/\/+$/, "");
        await writeFiles(
          dir,
          slurmScripts({
            ...await jobOptions(datasetId, o),
            partition: o.partition,
            account: o.account,
            qos: o.qos,
            time: o.time,
            finalTime: o.finalTime,
            cpus: o.cpus,
            mem: o.mem,
            gpus: o.gpus,
            maxParallel: o.maxParallel,
            maxRetries: o.maxRetries,
            setup: o.setup,
            dir: await Deno.realPath(".").then((cwd) =>
              dir.startsWith("/") ? dir : `${cwd}/${dir}`
            ),
            name: o.name ?? defaultName(datasetId),
          }),
        );
        say(`submit: ${dir}/submit.sh`);
      },
    );
  addCommon(
    cluster.command("k8s").description(
      "Write extract-job.yaml (an Indexed Job, JOB_COMPLETION_INDEX = shard), final-job.yaml and submit.sh",
    ),
  )
    .requiredOption("--image <image>", "container image with medprobe")
    .requiredOption(
      "--cache-claim <pvc>",
      "ReadWriteMany PersistentVolumeClaim for cache and output",
    )
    .option("--work-mount <path>", "where the cache claim is mounted", "/work")
    .requiredOption("--data-claim <pvc>", "PersistentVolumeClaim with the data and weights")
    .option("--data-mount <path>", "where the data claim is mounted (read-only)", "/data")
    .option("--namespace <ns>", "Kubernetes namespace")
    .option("--parallelism <n>", "pods running at once (default: every shard)", positiveInt)
    .option("--mem <m>", "memory per pod", "16Gi")
    .action(
      async (
        datasetId: string,
        o: CommonCli & {
          image: string;
          cacheClaim: string;
          workMount: string;
          dataClaim: string;
          dataMount: string;
          namespace?: string;
          parallelism?: number;
          mem: string;
        },
      ) => {
        const dir = (o.dir ?? "k8s").replace(/\/+$/, "");
        await writeFiles(
          dir,
          kubernetesManifests({
            ...await jobOptions(datasetId, o),
            image: o.image,
            namespace: o.namespace,
            cacheClaim: o.cacheClaim,
            workMount: o.workMount,
            dataClaim: o.dataClaim,
            dataMount: o.dataMount,
            parallelism: o.parallelism ?? o.shards,
            maxRetries: o.maxRetries,
            cpus: o.cpus,
            mem: o.mem,
            gpus: o.gpus,
            name: o.name ?? defaultName(datasetId),
          }),
        );
        say(`submit: ${dir}/submit.sh`);
      },
    );
}

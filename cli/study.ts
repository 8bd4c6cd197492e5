/**
 * `medprobe run study.yaml` (or `.json`): a study file, kept in git as eva
 * users keep theirs, describes encoders × datasets × resolutions × heads ×
 * seeds (× any other option) and runs every combination as one `eval`.
 *
 * The file and the `eval`/`sweep` flags are two spellings of one thing:
 * every key is a flag name (`head-options` or `headOptions`, `resolution`,
 * `bootstrap`, `limit`, task options...), the plural axes are `sweep`'s
 * (`encoders`, `resolutions`, `heads`, `seeds`, with the same values: lists,
 * or sweep's comma-separated strings), and each run is executed as exactly
 * the `medprobe eval` command line recorded for it. Every run's flags are
 * parsed by `eval` itself before the first run starts, so a typo fails at
 * once, naming the run.
 *
 * ```yaml
 * name: nih-scaling
 * out: runs/nih-scaling            # runs go to OUT/<dataset>/<encoder>@<res>/<head>[/seed<k>][/<grid>]
 * cache: cache/                    # default: OUT/cache, shared by every run
 * bootstrap: 1000                  # any eval flag, for every run
 * datasets:
 *   - { id: xray/nih14, data: NIH/ }          # a dataset entry may set flags too
 * encoders:                                    # sweep's name=weights, or objects
 *   - dinov3-vits16=facebook/dinov3-vits16-pretrain-lvd1689m
 *   - { label: vitb, weights: w/dinov3-vitb16 }
 * resolutions: [224, 512, 512x384]
 * heads: [linear, knn]
 * seeds: [0, 1, 2]
 * grid:                                        # more axes: any flag → list of values
 *   head-options: [{ lr: 0.01 }, { lr: 0.001 }]
 * ```
 *
 * Values merge in the order top level < dataset entry < encoder entry <
 * axes < grid. The resolved study (every run, its `eval` command line, its
 * output folder and status) is written to `OUT/study.resolved.json` before
 * the first run and after each. A run whose `result.json` exists is skipped
 * (a rerun resumes the study) unless `--force`. While a run executes, its
 * study entry is recorded in its result's `environment.study`.
 *
 * @module
 */

import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../core/_fs.ts";
import { setStudyContext } from "../core/environment.ts";
import { FormatError, UsageError } from "../core/errors.ts";
import type { Registry } from "../core/registry.ts";
import { loadRegistry, say, warn } from "./common.ts";

/** The format name of `study.resolved.json`. */
export const RESOLVED_STUDY_FORMAT = "medprobe-study";

/** Keys of a study that are not `eval` flags. */
const STUDY_KEYS = new Set([
  "name",
  "description",
  "out",
  "datasets",
  "encoders",
  "resolutions",
  "heads",
  "seeds",
  "grid",
]);

/** One `eval` of a study. */
export interface StudyRun {
  /** 1-based position in the study. */
  index: number;
  /** Dataset id. */
  dataset: string;
  /** Encoder tag (label, name or weights folder name). */
  encoder: string;
  /** Resolution as given (`224`, `512x384`, `native`), or undefined for the protocol's. */
  resolution?: string;
  /** Head, or undefined for the protocol's. */
  head?: string;
  /** Seed, or undefined for the default. */
  seed?: number;
  /** The grid values of this run. */
  grid: Record<string, unknown>;
  /** Output folder. */
  out: string;
  /** The `eval` arguments (without the program name): `["eval", dataset, ...flags]`. */
  argv: string[];
  /** `pending`, `done`, `skipped` (a result existed), `failed` or `interrupted`. */
  status?: string;
  /** Exit code of the run. */
  exitCode?: number;
  /** Wall time in seconds. */
  seconds?: number;
}

/** A study file, or any mapping of options in it. */
export type StudyObject = Record<string, unknown>;

function isObj(v: unknown): v is StudyObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function fail(source: string, message: string): never {
  throw new UsageError(`Cannot run the study ${source} as ${message}`, { help: "run" });
}

/**
 * Parses a study file's text: JSON for `.json`, YAML otherwise (JSON is
 * YAML too). The top level must be a mapping.
 *
 * @throws {FormatError} naming the file when it does not parse.
 */
export function parseStudy(text: string, path: string): StudyObject {
  let value: unknown;
  try {
    value = path.toLowerCase().endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new FormatError(
      `Cannot read the study as it must be ${
        path.toLowerCase().endsWith(".json") ? "JSON" : "YAML"
      }: ${(cause as Error).message}`,
      { path, cause },
    );
  }
  if (!isObj(value)) {
    throw new FormatError(
      `Cannot read the study as its top level must be a mapping of options: current value is ${
        JSON.stringify(value)?.slice(0, 80)
      }`,
      { path },
    );
  }
  return value;
}

function resolutionText(v: unknown): string {
  return Array.isArray(v) ? v.join("x") : String(v);
}

/** A value as `eval` reads it from the command line. */
function flagValue(key: string, v: unknown): string {
  if (key === "resolution") return resolutionText(v);
  if (Array.isArray(v)) return v.map(String).join(",");
  if (isObj(v)) return JSON.stringify(v);
  return String(v);
}

/** Study options → `eval` flags (`--key value`; true → `--key`; false → `--no-key`). */
export function toFlags(options: StudyObject): string[] {
  const out: string[] = [];
  for (const [rawKey, v] of Object.entries(options)) {
    if (v === undefined || v === null) continue;
    const key = kebab(rawKey);
    if (key === "plugin" || key === "plugins") {
      for (const p of Array.isArray(v) ? v : [v]) out.push("--plugin", String(p));
    } else if (v === true) out.push(`--${key}`);
    else if (v === false) out.push(`--no-${key}`);
    else out.push(`--${key}`, flagValue(key, v));
  }
  return out;
}

/** An axis: a list, sweep's comma-separated string, or a single value; [undefined] when absent. */
function axis(study: StudyObject, key: string, source: string): unknown[] {
  const v = study[key];
  if (v === undefined || v === null) return [undefined];
  const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || list.length === 0) {
    fail(source, `"${key}" must be a non-empty list: current value is ${JSON.stringify(v)}`);
  }
  return list;
}

function flagsOf(entry: StudyObject, skip: readonly string[]): StudyObject {
  return Object.fromEntries(Object.entries(entry).filter(([k]) => !skip.includes(k)));
}

interface EncoderEntry {
  tag: string;
  flags: StudyObject;
}

function encoderEntry(
  v: unknown,
  isPlugin: (name: string) => boolean,
  source: string,
): EncoderEntry {
  if (v === undefined) return { tag: "", flags: {} };
  if (typeof v === "string") {
    const [name, weights] = v.includes("=") ? v.split("=", 2).map((s) => s.trim()) : [
      undefined,
      v.trim(),
    ];
    const tag = name ?? (weights.split("/").filter(Boolean).at(-1) ?? weights);
    const flags: StudyObject = { weights };
    // As in sweep: a name that is an encoder plugin selects it; any other only names the runs.
    if (name !== undefined && isPlugin(name)) flags.encoder = name;
    return { tag, flags };
  }
  if (!isObj(v) || (v.weights === undefined && v.encoder === undefined)) {
    fail(
      source,
      `each encoder must be "name=weights", "weights" or a mapping with weights (and encoder, label, other flags): current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  const label = v.label ?? v.name;
  const tag = String(
    label ?? v.encoder ?? String(v.weights).split("/").filter(Boolean).at(-1),
  );
  return { tag, flags: flagsOf(v, ["name", "label"]) };
}

function datasetEntry(v: unknown, source: string): { id: string; flags: StudyObject } {
  if (typeof v === "string") return { id: v, flags: {} };
  const id = isObj(v) ? v.id ?? v.dataset : undefined;
  if (typeof id !== "string") {
    fail(
      source,
      `each dataset must be "modality/name" or a mapping with id (and data, other flags): current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  return { id, flags: flagsOf(v as StudyObject, ["id", "dataset"]) };
}

function slug(v: unknown): string {
  const text = isObj(v) || Array.isArray(v) ? JSON.stringify(v) : String(v);
  return text.replace(/[{}"\[\]\s]/g, "").replace(/[^A-Za-z0-9._=,+-]+/g, "_").slice(0, 60);
}

/** The cross product of the grid's axes, in key order. */
function gridCombos(grid: unknown, source: string): StudyObject[] {
  if (grid === undefined || grid === null) return [{}];
  if (!isObj(grid)) fail(source, `"grid" must map options to lists of values`);
  let combos: StudyObject[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) {
      fail(
        source,
        `grid "${key}" must be a non-empty list: current value is ${JSON.stringify(values)}`,
      );
    }
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

/** The study's output folder: `out` given, else the study's `out`, else `runs/<file stem>`. */
export function studyRoot(study: StudyObject, source: string, out?: string): string {
  const stem = source.split("/").at(-1)!.replace(/\.(ya?ml|json)$/i, "");
  return String(out ?? study.out ?? `runs/${stem}`).replace(/\/+$/, "");
}

/** Options of {@linkcode expandStudy}. */
export interface ExpandOptions {
  /** The study file (for messages and the default output folder). */
  source?: string;
  /** Overrides the study's `out`. */
  out?: string;
  /** True for encoder plugin names (a `name=weights` name that is not one only names the runs' folders). */
  isEncoderPlugin?: (name: string) => boolean;
}

/**
 * Every run of a study, in order: datasets × encoders × resolutions × heads
 * × seeds × grid, each with its output folder and `eval` command line.
 *
 * @example
 * ```ts
 * import { expandStudy } from "./study.ts";
 * import assert from "node:assert/strict";
 * const runs = expandStudy({
 *   out: "runs/s",
 *   datasets: [{ id: "xray/nih14", data: "NIH/" }],
 *   encoders: ["w/dinov3-vits16"],
 *   resolutions: [224, 512],
 *   heads: "linear,knn",
 *   limit: 8,
 * });
 * assert.equal(runs.length, 4);
 * assert.deepEqual(runs[0].argv, [
 *   "eval", "xray/nih14", "--limit", "8", "--cache", "runs/s/cache", "--data", "NIH/",
 *   "--weights", "w/dinov3-vits16", "--resolution", "224", "--head", "linear",
 *   "--out", "runs/s/xray/nih14/dinov3-vits16@224/linear",
 * ]);
 * ```
 */
export function expandStudy(study: StudyObject, options: ExpandOptions = {}): StudyRun[] {
  const source = options.source ?? "(inline)";
  const root = studyRoot(study, source, options.out);
  if (study.datasets === undefined) fail(source, `"datasets" must list at least one dataset`);
  const datasets = axis(study, "datasets", source).map((d) => datasetEntry(d, source));
  const isPlugin = options.isEncoderPlugin ?? (() => false);
  const encoders = axis(study, "encoders", source).map((e) => encoderEntry(e, isPlugin, source));
  const resolutions = axis(study, "resolutions", source);
  const heads = axis(study, "heads", source);
  const seeds = axis(study, "seeds", source);
  const combos = gridCombos(study.grid, source);
  const top = flagsOf(study, [...STUDY_KEYS]);
  if (top.cache === undefined) top.cache = `${root}/cache`;
  const runs: StudyRun[] = [];
  for (const ds of datasets) {
    for (const enc of encoders) {
      for (const res of resolutions) {
        for (const head of heads) {
          for (const seed of seeds) {
            for (const grid of combos) {
              const flags: StudyObject = { ...top, ...ds.flags, ...enc.flags };
              if (res !== undefined) flags.resolution = res;
              if (head !== undefined) flags.head = head;
              if (seed !== undefined) flags.seed = seed;
              Object.assign(flags, grid);
              delete flags.out;
              const encTag = enc.tag ||
                String(flags.encoder ?? "").split("/").filter(Boolean).at(-1) ||
                "encoder";
              const resTag = resolutionText(flags.resolution ?? "default");
              const parts = [root, ds.id, `${encTag}@${resTag}`, String(flags.head ?? "default")];
              if (seeds.length > 1) parts.push(`seed${flags.seed}`);
              const gridTag = Object.entries(grid).map(([k, v]) => `${kebab(k)}=${slug(v)}`)
                .join(",");
              if (gridTag) parts.push(gridTag);
              const out = parts.join("/");
              runs.push({
                index: runs.length + 1,
                dataset: ds.id,
                encoder: encTag,
                ...(flags.resolution !== undefined
                  ? { resolution: resolutionText(flags.resolution) }
                  : {}),
                ...(flags.head !== undefined ? { head: String(flags.head) } : {}),
                ...(flags.seed !== undefined ? { seed: Number(flags.seed) } : {}),
                grid,
                out,
                argv: ["eval", ds.id, ...toFlags(flags), "--out", out],
              });
            }
          }
        }
      }
    }
  }
  return runs;
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

/** A run's command line as a shell would take it. */
export function commandLine(run: StudyRun): string {
  return ["medprobe", ...run.argv].map(shellQuote).join(" ");
}

/** What {@linkcode runStudy} needs from the CLI (injected, so that cli.ts and this module do not import each other). */
export interface StudyCli {
  /** Builds a fresh program (cli.ts's `createProgram`). */
  createProgram(registry: Registry): Command;
  /** Runs the CLI on arguments and returns the exit code (cli.ts's `main`). */
  main(args: readonly string[]): Promise<number>;
}

/** Options of {@linkcode runStudy}. */
export interface RunStudyOptions {
  /** Overrides the study's `out`. */
  out?: string;
  /** Write the resolved study and print the runs, run nothing. */
  dryRun?: boolean;
  /** Run again the runs whose result.json exists. */
  force?: boolean;
  /** Stop at the first failed run. */
  failFast?: boolean;
  /** Pass `--quiet` to every run (no progress output). */
  quiet?: boolean;
  /** `--plugin` modules given to `medprobe run` (the study's `plugin` list is added). */
  plugins?: readonly string[];
}

/**
 * Parses every run's flags with `eval` itself (a no-op action), so that
 * the first invalid option fails before anything runs.
 */
async function validateRuns(runs: StudyRun[], registry: Registry, cli: StudyCli, source: string) {
  for (const run of runs) {
    const program = cli.createProgram(registry);
    const quiet = { writeErr: () => {}, writeOut: () => {} };
    program.configureOutput(quiet);
    const cmd = program.commands.find((c) => c.name() === "eval");
    if (!cmd) fail(source, "this build has no eval command");
    cmd.configureOutput(quiet).action(() => {});
    try {
      await program.parseAsync(run.argv, { from: "user" });
    } catch (e) {
      fail(
        source,
        `run ${run.index} (${commandLine(run)}) is not a valid eval: ${
          (e as Error).message.replace(/^error: /, "")
        }`,
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a study file: parses it, expands and checks every run, writes
 * `OUT/study.resolved.json`, then runs each `eval` in order (skipping runs
 * with a result unless `force`). Throws after the last run when any failed;
 * an interrupted run (Ctrl-C) stops the study with an `AbortError`.
 */
export async function runStudy(
  path: string,
  cli: StudyCli,
  options: RunStudyOptions = {},
): Promise<StudyRun[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new UsageError(
      `Cannot run the study as ${path} cannot be read: ${(cause as Error).message}`,
      { help: "run", cause },
    );
  }
  const study = parseStudy(text, path);
  const studyPlugins = study.plugin ?? study.plugins;
  const plugins = [
    ...(options.plugins ?? []),
    ...(Array.isArray(studyPlugins) ? studyPlugins : studyPlugins ? [studyPlugins] : []).map(
      String,
    ),
  ];
  const registry = await loadRegistry(plugins);
  const runs = expandStudy(study, {
    source: path,
    out: options.out,
    isEncoderPlugin: (n) => registry.has("encoder", n),
  });
  if (options.quiet) { for (const run of runs) run.argv.push("--quiet"); }
  if (options.plugins?.length) {
    for (const run of runs) {
      run.argv.push(...options.plugins.flatMap((p) => ["--plugin", p]));
    }
  }
  const evalCmd = cli.createProgram(registry).commands.find((c) => c.name() === "eval");
  const hasFlag = (flag: string) => evalCmd?.options.some((o) => o.long === flag) ?? false;
  await validateRuns(runs, registry, cli, path);
  const root = studyRoot(study, path, options.out);
  const resolvedPath = `${root}/study.resolved.json`;
  const resolved = {
    format: RESOLVED_STUDY_FORMAT,
    "format_version": 1,
    name: study.name ?? path.split("/").at(-1),
    source: path,
    sourceSha256: createHash("sha256").update(text).digest("hex"),
    study,
    runs,
  };
  const save = async () => {
    await Deno.mkdir(root, { recursive: true });
    await writeFileAtomic(
      resolvedPath,
      new TextEncoder().encode(JSON.stringify(resolved, null, 2) + "\n"),
    );
  };
  for (const run of runs) run.status = "pending";
  await save();
  if (options.dryRun) {
    for (const run of runs) say(`${run.index}/${runs.length}  ${commandLine(run)}`);
    say(`study: ${runs.length} runs, resolved study in ${resolvedPath}`);
    return runs;
  }
  const failed: StudyRun[] = [];
  for (const run of runs) {
    if (!options.force && await exists(`${run.out}/result.json`)) {
      run.status = "skipped";
      warn(`medprobe: study run ${run.index}/${runs.length} has a result already: ${run.out}`);
      await save();
      continue;
    }
    const argv = options.force && hasFlag("--force") ? [...run.argv, "--force"] : run.argv;
    warn(`medprobe: study run ${run.index}/${runs.length}: ${commandLine(run)}`);
    setStudyContext({
      file: path,
      name: resolved.name,
      sha256: resolved.sourceSha256,
      run: run.index,
      of: runs.length,
      resolved: resolvedPath,
      command: ["medprobe", ...argv],
    });
    const t0 = performance.now();
    try {
      run.exitCode = await cli.main(argv);
    } finally {
      setStudyContext(undefined);
    }
    run.seconds = (performance.now() - t0) / 1000;
    run.status = run.exitCode === 0 ? "done" : run.exitCode === 130 ? "interrupted" : "failed";
    await save();
    if (run.exitCode === 130) {
      throw new DOMException(`study interrupted at run ${run.index}`, "AbortError");
    }
    if (run.exitCode !== 0) {
      failed.push(run);
      if (options.failFast) break;
    }
  }
  if (failed.length > 0) {
    throw new Error(
      `Cannot complete the study ${path} as ${failed.length} of ${runs.length} runs failed: ${
        failed.map((r) => `run ${r.index} (${r.out}, exit ${r.exitCode})`).join(", ")
      }; the resolved study with every status is ${resolvedPath}`,
    );
  }
  say(
    `study: ${runs.length} runs under ${root}; tables and plots: medprobe report ${root} --out ${root}/report`,
  );
  return runs;
}

/** Registers `medprobe run <study>`. */
export function registerStudyCommand(program: Command): void {
  program
    .command("run")
    .description(
      "Run a study file (YAML or JSON): datasets × encoders × resolutions × heads × seeds × any eval option, each run an eval with the same flags",
    )
    .argument("<study>", "study file (.yaml, .yml or .json); its keys are eval/sweep flag names")
    .option("--out <dir>", "output folder (default: the study's out, else runs/<study name>)")
    .option("--dry-run", "write the resolved study and print every run's eval command; run nothing")
    .option("--force", "run again the runs that already have a result.json")
    .option(
      "--fail-fast",
      "stop at the first failed run (default: run the others, fail at the end)",
    )
    .option("--quiet", "no progress output in the runs")
    .option(
      "--plugin <spec>",
      "plugin module for every run (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .action(async (path: string, o: RunStudyOptions & { plugin?: string[] }) => {
      const cli = await import("../cli.ts");
      await runStudy(path, cli, { ...o, plugins: o.plugin });
    });
}

/**
 * What a result record says about the run's environment, so that a number
 * can be traced to the code, runtime and machine that produced it: the
 * command line or study, medprobe's version and (run from a checkout) git
 * commit, Deno, V8 and TypeScript, onnxruntime, the WebGPU adapter, the CPU
 * model, core count and memory, and the OS.
 *
 * Every probe is best-effort: a field that cannot be read (no permission,
 * no git, no adapter) is `null`, never an error.
 *
 * @example
 * ```ts ignore
 * import { environmentInfo } from "./environment.ts";
 * const env = await environmentInfo({ commandLine: ["medprobe", ...Deno.args] });
 * // { commandLine, medprobe: { version, commit, dirty, checkout }, deno, v8, typescript,
 * //   onnxruntime: { node, web }, adapter: { vendor, architecture, device, description, isFallbackAdapter },
 * //   cpu: { model, cores }, memoryBytes, os, osRelease, arch }
 * ```
 *
 * @module
 */

import os from "node:os";

/** Options of {@linkcode environmentInfo}. */
export interface EnvironmentOptions {
  /** The command line (`["medprobe", ...Deno.args]`). */
  commandLine?: readonly string[];
  /** The study that produced the run. @default {the one set by {@linkcode setStudyContext}} */
  study?: unknown;
  /** The medprobe version (the package's). @default {read from the checkout's deno.json, else null} */
  version?: string;
  /**
   * The WebGPU adapter: a summary the caller already has, `false` to skip,
   * or (default) asked of `navigator.gpu` (no device is created).
   */
  adapter?: Readonly<Record<string, unknown>> | false;
  /** Run `git status` to tell whether the checkout has uncommitted changes. @default {true} */
  gitStatus?: boolean;
  /** The checkout to describe. @default {the folder above core/, when it is a file: URL} */
  root?: string;
  /** More fields, copied last. */
  extra?: Readonly<Record<string, unknown>>;
}

let currentStudy: unknown;

/**
 * Sets the study run that this process is executing (`medprobe run`), so
 * that every record written meanwhile carries it in `environment.study`
 * without the runners knowing about studies; `undefined` clears it.
 */
export function setStudyContext(study: unknown): void {
  currentStudy = study;
}

/** The medprobe part of the environment. */
export interface MedprobeBuild {
  /** Package version, or null when unknown. */
  version: string | null;
  /** Commit of the checkout (40 hex), or null when not run from a git checkout. */
  commit: string | null;
  /** Branch, or null when detached or unknown. */
  branch: string | null;
  /** True when tracked files differ from the commit; null when git could not be run. */
  dirty: boolean | null;
  /** The checkout folder, or null when run from a package. */
  checkout: string | null;
}

function moduleRoot(): string | null {
  const url = new URL("../", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname).replace(/\/$/, "") : null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return null;
  }
}

async function gitDir(root: string): Promise<string | null> {
  const dotGit = `${root}/.git`;
  try {
    const st = await Deno.stat(dotGit);
    if (st.isDirectory) return dotGit;
    const text = await readText(dotGit); // a worktree: "gitdir: <path>"
    const m = text?.match(/^gitdir:\s*(.+)$/m);
    if (!m) return null;
    return m[1].startsWith("/") ? m[1] : `${root}/${m[1]}`;
  } catch {
    return null;
  }
}

/** Resolves HEAD to a commit by reading the git folder (no git binary needed). */
async function headCommit(dir: string): Promise<{ commit: string | null; branch: string | null }> {
  const head = await readText(`${dir}/HEAD`);
  if (!head) return { commit: null, branch: null };
  if (/^[0-9a-f]{40}$/.test(head)) return { commit: head, branch: null };
  const ref = head.match(/^ref:\s*(\S+)$/)?.[1];
  if (!ref) return { commit: null, branch: null };
  const branch = ref.replace(/^refs\/heads\//, "");
  // In a worktree, refs live in the common folder.
  const common = await readText(`${dir}/commondir`);
  const dirs = common ? [dir, common.startsWith("/") ? common : `${dir}/${common}`] : [dir];
  for (const d of dirs) {
    const loose = await readText(`${d}/${ref}`);
    if (loose && /^[0-9a-f]{40}$/.test(loose)) return { commit: loose, branch };
    const packed = await readText(`${d}/packed-refs`);
    const line = packed?.split("\n").find((l) => l.endsWith(` ${ref}`));
    if (line) return { commit: line.slice(0, 40), branch };
  }
  return { commit: null, branch };
}

async function isDirty(root: string): Promise<boolean | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, "status", "--porcelain", "--untracked-files=no"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() !== "" : null;
  } catch {
    return null;
  }
}

/** medprobe's version and, run from a git checkout, its commit, branch and dirty state. */
export async function medprobeBuild(
  options: Pick<EnvironmentOptions, "version" | "gitStatus" | "root"> = {},
): Promise<MedprobeBuild> {
  const root = options.root ?? moduleRoot();
  let version = options.version ?? null;
  if (version === null && root) {
    try {
      version = JSON.parse((await readText(`${root}/deno.json`)) ?? "{}").version ?? null;
    } catch {
      version = null;
    }
  }
  const dir = root ? await gitDir(root) : null;
  if (!root || !dir) return { version, commit: null, branch: null, dirty: null, checkout: null };
  const { commit, branch } = await headCommit(dir);
  const dirty = options.gitStatus === false ? null : await isDirty(root);
  return { version, commit, branch, dirty, checkout: root };
}

/** The version of an npm package as the import map resolves it (e.g. `"1.30.0"`), or null. */
export function npmPackageVersion(name: string): string | null {
  try {
    const resolved = import.meta.resolve(name);
    const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return resolved.match(new RegExp(`${escaped}[/@](\\d+\\.\\d+\\.\\d+[^/]*)`))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function adapterInfo(): Promise<Record<string, unknown> | null> {
  try {
    const gpu = (navigator as { gpu?: GPU }).gpu;
    if (!gpu) return null;
    const timeout = new Promise<null>((r) => setTimeout(() => r(null), 5000));
    const adapter = await Promise.race([gpu.requestAdapter(), timeout]);
    if (!adapter) return null;
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter ?? null,
    };
  } catch {
    return null;
  }
}

function cpu(): { model: string | null; cores: number | null } {
  try {
    const cpus = os.cpus();
    return { model: cpus[0]?.model?.trim() || null, cores: cpus.length || null };
  } catch {
    return { model: null, cores: null };
  }
}

function safe<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/**
 * The record's `environment` fields (see the module documentation). The
 * runners pass the result as the extra fields of the record's environment.
 */
export async function environmentInfo(
  options: EnvironmentOptions = {},
): Promise<Record<string, unknown>> {
  const study = options.study ?? currentStudy;
  const adapter = options.adapter === false ? undefined : options.adapter ?? await adapterInfo();
  return {
    ...(options.commandLine ? { commandLine: [...options.commandLine] } : {}),
    ...(study !== undefined ? { study } : {}),
    medprobe: await medprobeBuild(options),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    onnxruntime: {
      node: npmPackageVersion("onnxruntime-node"),
      web: npmPackageVersion("onnxruntime-web"),
    },
    ...(adapter === undefined ? {} : { adapter }),
    cpu: cpu(),
    memoryBytes: safe(() => os.totalmem()),
    os: Deno.build.os,
    osRelease: safe(() => os.release()),
    arch: Deno.build.arch,
    ...options.extra,
  };
}

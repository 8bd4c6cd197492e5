/**
 * Weights by name, as timm and transformers users expect:
 * `--weights facebook/dinov3-vits16-pretrain-lvd1689m` is looked up in the
 * Hugging Face cache and, when the network and a token are available,
 * downloaded into it.
 *
 * ## The cache (the layout of `huggingface_hub`, shared with Python)
 * ```
 * $HF_HUB_CACHE  (default $HF_HOME/hub, $HF_HOME defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface)
 *   models--facebook--dinov3-vits16-pretrain-lvd1689m/
 *     refs/main                      the commit the revision points at
 *     blobs/<etag>                   file contents, named by their hub ETag (SHA-256 for LFS files)
 *     blobs/<etag>.incomplete        a download in progress (resumed with an HTTP Range request)
 *     blobs/<etag>.lock              held by the process downloading it (others wait)
 *     snapshots/<commit>/config.json        → ../../blobs/<etag> (relative symlink)
 *     snapshots/<commit>/model.safetensors  → ../../blobs/<etag>
 * ```
 * A repository id resolves to `snapshots/<commit>/` once every wanted file is
 * there; nothing touches the network then (nor ever with `HF_HUB_OFFLINE=1`).
 *
 * ## Downloading
 * For each file, a `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` (not
 * following redirects) gives the commit (`X-Repo-Commit`), the ETag
 * (`X-Linked-Etag` for LFS files, else `ETag`) and the size; a `GET`
 * (following the redirect to the CDN) with `Range: bytes=<have>-` appends to
 * `blobs/<etag>.incomplete`, which is checked and renamed to `blobs/<etag>`.
 * The checksum is the ETag itself: a 64-hex ETag is the SHA-256 of the
 * content (LFS), a 40-hex one the git blob SHA-1 (`sha1("blob <n>\0" +
 * content)`); a mismatch deletes the partial file and fails. The endpoint is
 * `$HF_ENDPOINT` (default `https://huggingface.co`); the token `$HF_TOKEN`
 * (or `$HUGGING_FACE_HUB_TOKEN`, or the file `$HF_HOME/token` written by
 * `huggingface-cli login`), sent as `Authorization: Bearer` — the DINOv3
 * repositories are gated, so accept their licence on the hub first.
 *
 * Needs `--allow-env`, `--allow-read` and `--allow-write` on the cache and,
 * to download, `--allow-net`.
 *
 * @example
 * ```ts ignore
 * import { resolveWeights } from "./hub.ts";
 * const folder = await resolveWeights("facebook/dinov3-vits16-pretrain-lvd1689m", {
 *   onProgress: (p) => console.error(p.file, p.received, p.total),
 * });
 * // folder = ~/.cache/huggingface/hub/models--facebook--dinov3-vits16-pretrain-lvd1689m/snapshots/<commit>
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The files a DINOv3 weights folder needs. */
export const DEFAULT_HUB_FILES: readonly string[] = ["config.json", "model.safetensors"];

/** Progress of one file's download. */
export interface HubProgress {
  /** The repository id. */
  repo: string;
  /** The file in the repository. */
  file: string;
  /** Bytes on disk so far (including those of an earlier, resumed attempt). */
  received: number;
  /** The file's size, when the hub said. */
  total?: number;
  /** Bytes that were already on disk when this attempt started (resumed). */
  resumedFrom: number;
}

/** Options of {@linkcode resolveWeights} and {@linkcode downloadSnapshot}. */
export interface HubOptions {
  /** The hub's base URL. @default {$HF_ENDPOINT or "https://huggingface.co"} */
  endpoint?: string;
  /** The hub cache folder. @default {hubCacheDir()} */
  cacheDir?: string;
  /** Access token. @default {hubToken()} */
  token?: string;
  /** Branch, tag or commit. @default {"main", or the `@rev` of the name} */
  revision?: string;
  /** Files to fetch. @default {DEFAULT_HUB_FILES} */
  files?: readonly string[];
  /** Never use the network. @default {$HF_HUB_OFFLINE is "1" or "true"} */
  offline?: boolean;
  /** Called as bytes arrive. */
  onProgress?: (progress: HubProgress) => void;
  /** Attempts per file when the connection drops (each resumes). @default {4} */
  attempts?: number;
  /** Stops the download (the partial file is kept for a later resume). */
  signal?: AbortSignal;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function hfHome(): string {
  const home = env("HF_HOME");
  if (home) return home;
  const xdg = env("XDG_CACHE_HOME") ?? `${env("HOME") ?? env("USERPROFILE") ?? "."}/.cache`;
  return `${xdg}/huggingface`;
}

/** The hub cache folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(): string {
  return env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE") ?? `${hfHome()}/hub`;
}

/** The access token: `$HF_TOKEN`, `$HUGGING_FACE_HUB_TOKEN`, or the file `$HF_HOME/token`. */
export async function hubToken(): Promise<string | undefined> {
  const t = env("HF_TOKEN") ?? env("HUGGING_FACE_HUB_TOKEN");
  if (t) return t;
  try {
    return (await Deno.readTextFile(env("HF_TOKEN_PATH") ?? `${hfHome()}/token`)).trim() ||
      undefined;
  } catch {
    return undefined;
  }
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*(@[\w./-]+)?$/;

/**
 * Splits `org/name` or `org/name@revision` into repository and revision;
 * undefined when `spec` does not look like a repository id.
 *
 * @example
 * ```ts
 * import { parseRepoId } from "./hub.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRepoId("facebook/dinov3-vits16-pretrain-lvd1689m@v1"), {
 *   repo: "facebook/dinov3-vits16-pretrain-lvd1689m",
 *   revision: "v1",
 * });
 * assert.equal(parseRepoId("./weights/dinov3"), undefined);
 * assert.equal(parseRepoId("/abs/path"), undefined);
 * ```
 */
export function parseRepoId(spec: string): { repo: string; revision?: string } | undefined {
  if (!REPO_ID.test(spec) || spec.startsWith(".")) return undefined;
  const at = spec.indexOf("@");
  return at < 0 ? { repo: spec } : { repo: spec.slice(0, at), revision: spec.slice(at + 1) };
}

/** The cache folder of a repository: `models--org--name`. */
export function repoFolder(repo: string, cacheDir: string = hubCacheDir()): string {
  return `${cacheDir}/models--${repo.replaceAll("/", "--")}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The cached snapshot folder of `repo` at `revision` (a branch or tag
 * through `refs/`, or a commit) when it holds every file in `files`;
 * undefined otherwise. Never uses the network.
 */
export async function findCachedSnapshot(
  repo: string,
  options: Pick<HubOptions, "cacheDir" | "revision" | "files"> = {},
): Promise<string | undefined> {
  const dir = repoFolder(repo, options.cacheDir);
  const revision = options.revision ?? "main";
  let commit: string | undefined;
  try {
    commit = (await Deno.readTextFile(`${dir}/refs/${revision}`)).trim();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    if (/^[0-9a-f]{40}$/.test(revision)) commit = revision;
  }
  if (!commit) return undefined;
  const snapshot = `${dir}/snapshots/${commit}`;
  for (const f of options.files ?? DEFAULT_HUB_FILES) {
    if (!(await exists(`${snapshot}/${f}`))) return undefined;
  }
  return snapshot;
}

function unquote(etag: string | null): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"|"$/g, "") || undefined;
}

/** Checks `bytes`' hash against a hub ETag; returns the algorithm used, or undefined when it is not a hash. */
async function verifyEtag(path: string, etag: string, size: number): Promise<string | undefined> {
  const algo = /^[0-9a-f]{64}$/.test(etag) ? "sha256" : /^[0-9a-f]{40}$/.test(etag) ? "sha1" : "";
  if (!algo) return undefined;
  const hash = createHash(algo);
  if (algo === "sha1") hash.update(`blob ${size}\0`);
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(4 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  const got = hash.digest("hex");
  if (got !== etag) {
    throw new Error(
      `Cannot use the downloaded file ${path} as its ${algo} must equal the hub's ETag ${etag}: current value is ${got}`,
    );
  }
  return algo;
}

function describeHttp(
  status: number,
  repo: string,
  file: string,
  url: string,
  token?: string,
): string {
  if (status === 401 || status === 403) {
    return `Cannot download ${repo}/${file} as the hub refused access (HTTP ${status}) at ${url}: ${
      token
        ? "the token in HF_TOKEN has no access — accept the model's licence on its hub page (the DINOv3 repositories are gated)"
        : "set HF_TOKEN to a token with access (the DINOv3 repositories are gated: accept the licence on the model's page first)"
    }`;
  }
  if (status === 404) {
    return `Cannot download ${repo}/${file} as the hub has no such repository, revision or file (HTTP 404) at ${url}`;
  }
  return `Cannot download ${repo}/${file} as the hub answered HTTP ${status} at ${url}`;
}

function offlineMessage(repo: string, endpoint: string, reason: string, cacheDir: string): string {
  return `Cannot find weights "${repo}" as they are not in the Hugging Face cache (${
    repoFolder(repo, cacheDir)
  }) and ${reason}. Download them where there is a network (huggingface-cli download ${repo}, or medprobe with HF_TOKEN set) and copy the cache folder, or pass --weights a local folder with config.json and model.safetensors (hub: ${endpoint})`;
}

interface Head {
  etag: string;
  commit?: string;
  size?: number;
}

async function headFile(
  url: string,
  headers: Headers,
  repo: string,
  file: string,
  token: string | undefined,
  signal?: AbortSignal,
): Promise<Head> {
  const res = await fetch(url, { method: "HEAD", headers, redirect: "manual", signal });
  await res.body?.cancel();
  if (res.status >= 400) throw new Error(describeHttp(res.status, repo, file, url, token));
  const etag = unquote(res.headers.get("x-linked-etag")) ?? unquote(res.headers.get("etag"));
  if (!etag) {
    throw new Error(`Cannot download ${repo}/${file} as the hub sent no ETag for ${url}`);
  }
  const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length"));
  return {
    etag,
    commit: res.headers.get("x-repo-commit") ?? undefined,
    size: Number.isFinite(size) && size > 0 ? size : undefined,
  };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

/** Downloads one file into `blob` through `blob.incomplete`, resuming what is there. */
async function fetchBlob(
  url: string,
  headers: Headers,
  blob: string,
  head: Head,
  repo: string,
  file: string,
  options: HubOptions,
  token: string | undefined,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  const attempts = options.attempts ?? 4;
  for (let attempt = 1;; attempt++) {
    const have = await sizeOf(partial);
    const h = new Headers(headers);
    if (have > 0) h.set("range", `bytes=${have}-`);
    let received = have;
    try {
      if (head.size !== undefined && have === head.size) break;
      const res = await fetch(url, { headers: h, redirect: "follow", signal: options.signal });
      if (res.status === 416 && have > 0) {
        await res.body?.cancel();
        break;
      }
      if (res.status >= 400) {
        await res.body?.cancel();
        throw new Error(describeHttp(res.status, repo, file, url, token));
      }
      const resumed = res.status === 206;
      received = resumed ? have : 0;
      const out = await Deno.open(partial, {
        write: true,
        create: true,
        append: resumed,
        truncate: !resumed,
      });
      try {
        options.onProgress?.({ repo, file, received, total: head.size, resumedFrom: received });
        for await (const chunk of res.body ?? []) {
          let done = 0;
          while (done < chunk.byteLength) done += await out.write(chunk.subarray(done));
          received += chunk.byteLength;
          options.onProgress?.({
            repo,
            file,
            received,
            total: head.size,
            resumedFrom: resumed ? have : 0,
          });
        }
        await out.syncData();
      } finally {
        out.close();
      }
      if (head.size === undefined || received >= head.size) break;
      throw new Error(`the connection closed after ${received} of ${head.size} bytes`);
    } catch (e) {
      if (options.signal?.aborted || /^Cannot /.test((e as Error).message)) throw e;
      if (attempt >= attempts) {
        throw new Error(
          `Cannot download ${repo}/${file} as the transfer failed ${attempts} times (last: ${
            (e as Error).message
          }); ${received} bytes are kept in ${partial} and a rerun resumes from there`,
          { cause: e },
        );
      }
    }
  }
  try {
    await verifyEtag(partial, head.etag, await sizeOf(partial));
  } catch (e) {
    await Deno.remove(partial).catch(() => {});
    throw e;
  }
  await Deno.rename(partial, blob);
}

/** A lock file older than this is a killed process's leftover. */
const STALE_LOCK_MS = 10 * 60_000;

/**
 * Runs `fn` holding `lock` (a file created exclusively), so that two
 * processes never append to one `.incomplete` file; a process that finds
 * the lock waits until it is released (or `blob` appears) and then goes on.
 */
async function withLock(lock: string, blob: string, fn: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      (await Deno.open(lock, { write: true, createNew: true })).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.stat(lock).catch(() => undefined);
      if (st?.mtime && Date.now() - st.mtime.getTime() > STALE_LOCK_MS) {
        await Deno.remove(lock).catch(() => {});
        continue;
      }
      if (await exists(blob)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

/** Links `snapshots/<commit>/<file>` to `blobs/<etag>` (relative symlink; a copy where links fail). */
async function link(dir: string, commit: string, file: string, etag: string): Promise<void> {
  const target = `${dir}/snapshots/${commit}/${file}`;
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  await Deno.remove(target).catch(() => {});
  try {
    await Deno.symlink(`${"../".repeat(1 + file.split("/").length)}blobs/${etag}`, target);
  } catch {
    await Deno.copyFile(`${dir}/blobs/${etag}`, target);
  }
}

/**
 * Downloads `files` of `repo` at `revision` into the hub cache (resuming
 * partial files, checking each against its ETag) and returns the snapshot
 * folder. Files already in the blob store are not fetched again.
 *
 * @throws {Error} naming the repository and the cause: no network ("offline"),
 * access refused (gated repository, token), missing file, checksum mismatch.
 */
export async function downloadSnapshot(repo: string, options: HubOptions = {}): Promise<string> {
  const endpoint = (options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co").replace(
    /\/+$/,
    "",
  );
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const revision = options.revision ?? "main";
  const token = options.token ?? await hubToken();
  const headers = new Headers({ "user-agent": "medprobe", "accept-encoding": "identity" });
  if (token) headers.set("authorization", `Bearer ${token}`);
  const dir = repoFolder(repo, cacheDir);
  await Deno.mkdir(`${dir}/blobs`, { recursive: true });
  let commit: string | undefined;
  const heads: [string, Head][] = [];
  for (const file of options.files ?? DEFAULT_HUB_FILES) {
    const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
    let head: Head;
    try {
      head = await headFile(url, headers, repo, file, token, options.signal);
    } catch (e) {
      if (e instanceof TypeError || (e as Error).name === "ConnectionRefused") {
        throw new Error(
          offlineMessage(
            repo,
            endpoint,
            `the hub at ${endpoint} cannot be reached (offline?)`,
            cacheDir,
          ),
          { cause: e },
        );
      }
      throw e;
    }
    commit ??= head.commit;
    const blob = `${dir}/blobs/${head.etag}`;
    if (!(await exists(blob))) {
      await withLock(`${blob}.lock`, blob, async () => {
        if (!(await exists(blob))) {
          await fetchBlob(url, headers, blob, head, repo, file, options, token);
        }
      });
    }
    heads.push([file, head]);
  }
  commit ??= /^[0-9a-f]{40}$/.test(revision) ? revision : undefined;
  if (!commit) {
    throw new Error(`Cannot store ${repo} in the cache as the hub sent no X-Repo-Commit header`);
  }
  for (const [file, head] of heads) {
    await link(dir, commit, file, head.etag);
  }
  await Deno.mkdir(`${dir}/refs`, { recursive: true });
  if (revision !== commit) await Deno.writeTextFile(`${dir}/refs/${revision}`, commit);
  return `${dir}/snapshots/${commit}`;
}

/**
 * What `--weights` names, as a local folder or file: an existing path is
 * returned as is; a repository id (`org/name`, `org/name@revision`) is
 * found in the Hugging Face cache or, unless offline, downloaded into it.
 *
 * @throws {Error} with what to do when the weights are neither cached nor downloadable.
 */
export async function resolveWeights(spec: string, options: HubOptions = {}): Promise<string> {
  if (await exists(spec)) return spec;
  const id = parseRepoId(spec);
  if (!id) return spec;
  const revision = options.revision ?? id.revision ?? "main";
  const cached = await findCachedSnapshot(id.repo, { ...options, revision });
  if (cached) return cached;
  const offline = options.offline ?? /^(1|true|yes|on)$/i.test(env("HF_HUB_OFFLINE") ?? "");
  if (offline) {
    const endpoint = options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co";
    throw new Error(
      offlineMessage(id.repo, endpoint, "HF_HUB_OFFLINE is set", options.cacheDir ?? hubCacheDir()),
    );
  }
  try {
    return await downloadSnapshot(id.repo, { ...options, revision });
  } catch (e) {
    // A mistyped local path looks like a repository id too.
    if (e instanceof Error && /HTTP 404|cannot be reached/.test(e.message)) {
      throw new Error(`${e.message} (and there is no local folder "${spec}")`, { cause: e });
    }
    throw e;
  }
}

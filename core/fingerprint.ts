/**
 * Per-sample fingerprints of source files, so that the feature cache knows
 * its data: a changed or missing file is recomputed or reported, never
 * served stale, while an identical copy of the data in another folder still
 * hits (the fingerprint holds sizes and content hashes, never paths).
 *
 * ## Scheme `mpfp1` (versioned: a new scheme gets a new prefix, and entries
 * of another scheme simply miss and are recomputed)
 * - A file: `mpfp1:sha256:<size>:<hex>`, the SHA-256 of its whole content.
 * - A whole-slide image (`.svs`, `.ndpi`, `.mrxs`, `.scn`, `.bif`, `.vms`,
 *   `.vmu`, `.isyntax`, `.czi`, or a `.tif`/`.tiff` over 64 MiB, as
 *   CAMELYON's pyramids are) or any file larger than
 *   {@linkcode FingerprintOptions.fullHashMaxBytes} (default 1 GiB):
 *   `mpfp1:sampled:<size>:<hex>`, the SHA-256 of its first and last MiB
 *   (the TIFF header and image-file directories sit there) and of 64 blocks
 *   of 64 KiB at evenly spaced offsets (tile data fills the rest of the file,
 *   so the blocks sample tiles).
 * - A folder (a DICOM series): `mpfp1:dir:<files>:<hex>`, the SHA-256 of the
 *   lines `<relative path>\t<file fingerprint>\n` of every file below it,
 *   sorted by relative path.
 * - Several sources (a PET/CT pair): `mpfp1:set:<n>:<hex>`, the SHA-256 of
 *   their fingerprints joined by newlines, in the order given.
 *
 * Hashing a large dataset once costs one read of it; a
 * {@linkcode FingerprintMemo} remembers each file's fingerprint by absolute
 * path, size, modification and change times and inode, so a rerun on the
 * same files only calls `stat` (git's index does the same).
 *
 * @example
 * ```ts
 * import { fingerprintFile } from "./fingerprint.ts";
 * import assert from "node:assert/strict";
 * const a = await Deno.makeTempFile();
 * const b = await Deno.makeTempFile();
 * await Deno.writeTextFile(a, "pixels");
 * await Deno.writeTextFile(b, "pixels");
 * assert.equal(await fingerprintFile(a), await fingerprintFile(b));
 * await Deno.writeTextFile(b, "pixelz");
 * assert.notEqual(await fingerprintFile(a), await fingerprintFile(b));
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The prefix of every fingerprint of this scheme. */
export const FINGERPRINT_SCHEME = "mpfp1";

/** Extensions of whole-slide images, fingerprinted from their header and sampled blocks. */
export const WHOLE_SLIDE_EXTENSIONS: readonly string[] =
  ".svs .ndpi .mrxs .scn .bif .vms .vmu .isyntax .czi".split(" ");

const MIB = 1024 * 1024;

/** Options of {@linkcode fingerprintFile} and {@linkcode fingerprintSample}. */
export interface FingerprintOptions {
  /** Files up to this size are hashed whole; larger ones are sampled. @default {1 GiB} */
  fullHashMaxBytes?: number;
  /** Remembers fingerprints by path and `stat`, so unchanged files are not read again. */
  memo?: FingerprintMemo;
}

/** What a sample offers to be fingerprinted: its file or folder, or several. */
export interface FingerprintSource {
  /** The sample's file or folder. */
  readonly path?: string;
  /** Every source file or folder when there are several (used instead of `path`). */
  readonly sources?: readonly string[];
}

function hex(hash: ReturnType<typeof createHash>): string {
  return hash.digest("hex");
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let done = 0;
  while (done < length) {
    const n = await file.read(buf.subarray(done));
    if (n === null) break;
    done += n;
  }
  return buf.subarray(0, done);
}

function isWholeSlide(path: string, size: number): boolean {
  const lower = path.toLowerCase();
  return WHOLE_SLIDE_EXTENSIONS.some((e) => lower.endsWith(e)) ||
    (/\.tiff?$/.test(lower) && size > 64 * MIB);
}

async function hashFile(path: string, size: number, sampled: boolean): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    if (!sampled) {
      const buf = new Uint8Array(4 * MIB);
      for (;;) {
        const n = await file.read(buf);
        if (n === null) break;
        hash.update(buf.subarray(0, n));
      }
      return `${FINGERPRINT_SCHEME}:sha256:${size}:${hex(hash)}`;
    }
    const block = 64 * 1024;
    const ranges: [number, number][] = [[0, MIB], [Math.max(0, size - MIB), MIB]];
    for (let i = 0; i < 64; i++) {
      ranges.push([Math.floor((i * Math.max(0, size - block)) / 63), block]);
    }
    for (const [offset, length] of ranges) hash.update(await readAt(file, offset, length));
    return `${FINGERPRINT_SCHEME}:sampled:${size}:${hex(hash)}`;
  } finally {
    file.close();
  }
}

async function listFiles(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(root, path));
    else out.push(path);
  }
  return out;
}

/**
 * The fingerprint of one file or folder (see the module documentation).
 *
 * @throws {Deno.errors.NotFound} when the path does not exist.
 */
export async function fingerprintFile(
  path: string,
  options: FingerprintOptions = {},
): Promise<string> {
  const st = await Deno.stat(path);
  if (st.isDirectory) {
    const files = (await listFiles(path)).sort();
    const hash = createHash("sha256");
    for (const f of files) {
      hash.update(`${f}\t${await fingerprintFile(`${path}/${f}`, options)}\n`);
    }
    return `${FINGERPRINT_SCHEME}:dir:${files.length}:${hex(hash)}`;
  }
  const remembered = options.memo?.lookup(path, st);
  if (remembered) return remembered;
  const max = options.fullHashMaxBytes ?? 1024 * MIB;
  const fp = await hashFile(path, st.size, isWholeSlide(path, st.size) || st.size > max);
  options.memo?.remember(path, st, fp);
  return fp;
}

/**
 * The fingerprint of a sample's sources (`sources`, else `path`), or
 * undefined when it names none (such a sample cannot be checked).
 *
 * @throws {Deno.errors.NotFound} when a source does not exist.
 */
export async function fingerprintSample(
  sample: FingerprintSource,
  options: FingerprintOptions = {},
): Promise<string | undefined> {
  const sources = sample.sources?.length ? sample.sources : sample.path ? [sample.path] : [];
  if (sources.length === 0) return undefined;
  if (sources.length === 1) return await fingerprintFile(sources[0], options);
  const parts: string[] = [];
  for (const s of sources) parts.push(await fingerprintFile(s, options));
  const hash = createHash("sha256").update(parts.join("\n"));
  return `${FINGERPRINT_SCHEME}:set:${parts.length}:${hex(hash)}`;
}

interface MemoEntry {
  path: string;
  size: number;
  mtime: number | null;
  ctime: number | null;
  ino: number | null;
  fp: string;
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

function matches(e: MemoEntry, st: Deno.FileInfo): boolean {
  return e.size === st.size && e.mtime === (st.mtime?.getTime() ?? null) &&
    e.ctime === (st.ctime?.getTime() ?? null) && e.ino === (st.ino ?? null) && e.mtime !== null;
}

/**
 * Fingerprints remembered by absolute path and `stat` (size, mtime, ctime,
 * inode), in JSON-lines files under a folder (one file per writer, so
 * processes never share a file; a torn last line is ignored). A file whose
 * `stat` changed in any of these is hashed again.
 */
export class FingerprintMemo {
  /** The folder holding the memo files. */
  readonly dir: string;
  #entries = new Map<string, MemoEntry[]>();
  #pending: MemoEntry[] = [];
  #file: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#file = `${dir}/${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}.jsonl`;
  }

  /** Opens (creating) the memo folder and reads every memo file in it. */
  static async open(dir: string): Promise<FingerprintMemo> {
    const memo = new FingerprintMemo(dir);
    await Deno.mkdir(dir, { recursive: true });
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(".jsonl")) continue;
      const text = await Deno.readTextFile(`${dir}/${e.name}`).catch(() => "");
      for (const line of text.split("\n")) {
        try {
          const entry = JSON.parse(line) as MemoEntry;
          if (typeof entry?.path === "string" && typeof entry.fp === "string") memo.#keep(entry);
        } catch {
          // A torn line from a killed writer.
        }
      }
    }
    return memo;
  }

  #keep(entry: MemoEntry): void {
    const list = this.#entries.get(entry.path) ?? [];
    list.push(entry);
    this.#entries.set(entry.path, list);
  }

  /** The remembered fingerprint of `path` when its `stat` is unchanged. */
  lookup(path: string, st: Deno.FileInfo): string | undefined {
    return this.#entries.get(absolute(path))?.findLast((e) => matches(e, st))?.fp;
  }

  /** Remembers a fingerprint (written by {@linkcode FingerprintMemo.flush}). */
  remember(path: string, st: Deno.FileInfo, fp: string): void {
    if (!st.mtime) return;
    const entry: MemoEntry = {
      path: absolute(path),
      size: st.size,
      mtime: st.mtime.getTime(),
      ctime: st.ctime?.getTime() ?? null,
      ino: st.ino ?? null,
      fp,
    };
    this.#keep(entry);
    this.#pending.push(entry);
  }

  /** Appends the fingerprints remembered since the last flush to this writer's file. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.map((e) => JSON.stringify(e)).join("\n") + "\n";
    this.#pending = [];
    await Deno.writeTextFile(this.#file, text, { append: true });
  }
}

const memos = new Map<string, Promise<FingerprintMemo>>();

/** The memo of a feature-cache folder (`<cache>/fingerprints`), opened once per process. */
export function cacheFingerprintMemo(cacheRoot: string): Promise<FingerprintMemo> {
  const dir = `${cacheRoot.replace(/\/+$/, "")}/fingerprints`;
  let memo = memos.get(dir);
  if (!memo) {
    memo = FingerprintMemo.open(dir);
    memos.set(dir, memo);
  }
  return memo;
}

/**
 * For runners that look samples up in the feature cache themselves (chunked
 * volumes, slides): fingerprints one sample's sources and makes `cache`
 * serve and store only features of that content (the sample and its chunks
 * `<id>#…`), as `extractFeatures` does for every sample. Returns the
 * fingerprint (undefined when the sample names no source).
 *
 * @throws {Deno.errors.NotFound} naming the sample and file when a source is
 * missing: record the sample as failed, never serve it from the cache.
 */
export async function expectSource(
  cache: { readonly root: string; expect(id: string, fingerprint: string): void },
  sample: FingerprintSource & { readonly id: string },
): Promise<string | undefined> {
  const memo = await cacheFingerprintMemo(cache.root);
  let fp: string | undefined;
  try {
    fp = await fingerprintSample(sample, { memo });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Deno.errors.NotFound(
      `Cannot load sample "${sample.id}" as its source file is missing: expected "${
        sample.sources?.join('", "') ?? sample.path
      }"`,
      { cause: e },
    );
  }
  await memo.flush();
  if (fp !== undefined) cache.expect(sample.id, fp);
  return fp;
}

/**
 * Private path and folder helpers of the dataset plugins (every modality
 * opens a folder "as downloaded" and says what it found when the layout
 * does not match): `/` path joining, the kind of a path, a folder's
 * top-level listing and its wording for messages. Uses `Deno.stat` and
 * `Deno.readDir`; not part of the public API.
 *
 * @module
 */

/**
 * Joins path parts with `/` without doubling separators: empty parts are
 * dropped, the first part loses its trailing slashes and the others their
 * leading and trailing ones.
 *
 * @example
 * ```ts
 * import { joinPath } from "./_fs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(joinPath("/data/", "", "/images/", "a.png"), "/data/images/a.png");
 * assert.equal(joinPath("/data", "./imagesTr/a.nii.gz"), "/data/imagesTr/a.nii.gz");
 * ```
 */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .map((p, i) =>
      i === 0 ? p.replace(/\/+$/, "") : p.replace(/^\.\//, "").replace(/^\/+|\/+$/g, "")
    )
    .join("/");
}

/** Whether `path` is a file or a folder, or null when it does not exist. */
export async function statKind(path: string): Promise<"file" | "dir" | null> {
  try {
    return (await Deno.stat(path)).isDirectory ? "dir" : "file";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

/**
 * The top-level entries of a folder, sorted, folders marked with a trailing
 * `/`; `null` when the folder does not exist.
 */
export async function listTopLevel(root: string): Promise<string[] | null> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      names.push(entry.isDirectory ? `${entry.name}/` : entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
  return names.sort();
}

/**
 * Formats found entries (a {@linkcode listTopLevel} result) for a message,
 * at most `limit` of them.
 *
 * @example
 * ```ts
 * import { formatFound } from "./_fs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatFound(null), "nothing (the folder does not exist)");
 * assert.equal(formatFound(["a/", "b.csv"]), "a/, b.csv");
 * assert.equal(formatFound(["a", "b", "c"], 2), "a, b, ... (3 entries)");
 * ```
 */
export function formatFound(found: readonly string[] | null, limit = 20): string {
  if (found === null) return "nothing (the folder does not exist)";
  if (found.length === 0) return "nothing (the folder is empty)";
  const shown = found.slice(0, limit).join(", ");
  return found.length > limit ? `${shown}, ... (${found.length} entries)` : shown;
}

/**
 * Writes bytes atomically and durably: to a temporary file beside `path`
 * (`<path>.<8 hex>.tmp`, same folder so the rename cannot cross file
 * systems), flushed with `fsync`, then renamed over `path`. A reader sees
 * the old file or the whole new one, never a partial one; on any failure
 * (a full disk, a killed write) the temporary file is removed and `path` is
 * left as it was. A process killed between the write and the rename leaves
 * a `*.tmp` file, which the feature cache removes when it is next opened
 * (`FeatureCache.removeStaleTemporaries`). Uses
 * `Deno.open`, `Deno.rename`, `Deno.remove` (write permission).
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./_fs.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert.deepEqual([...await Deno.readFile(`${dir}/a.bin`)], [1, 2, 3]);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.bin"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let done = 0;
      while (done < bytes.byteLength) done += await file.write(bytes.subarray(done));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/** {@linkcode writeFileAtomic} for UTF-8 text. */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

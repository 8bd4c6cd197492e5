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

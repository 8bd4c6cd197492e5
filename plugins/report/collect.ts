/**
 * Finding result records on disk: `RUN/result.json`, a RUN path naming a JSON
 * file directly, or a folder (a sweep) searched recursively for
 * `result.json` files. Every record goes through `validateResultRecord`.
 *
 * @module
 */

import { type ResultRecord, validateResultRecord } from "../../core/result.ts";

/** The file name a run folder holds its record under. */
export const RESULT_FILE_NAME = "result.json";

/** A validated record and the file it came from. */
export interface CollectedRecord {
  /** The record. */
  record: ResultRecord;
  /** The file it was read from (as found, not resolved), or a label for in-memory records. */
  source: string;
}

/** A `result.json` met while searching a folder that could not be used. */
export interface SkippedInput {
  /** The file. */
  path: string;
  /** Why it was skipped (the parse or validation message). */
  reason: string;
}

/** What {@linkcode collectRecords} found. */
export interface CollectResult {
  /** Valid records, ordered by path, each file once. */
  records: CollectedRecord[];
  /** `result.json` files found inside folders that were unreadable or invalid. */
  skipped: SkippedInput[];
}

/** Options of {@linkcode collectRecords}. */
export interface CollectOptions {
  /**
   * Throw on an invalid `result.json` found inside a folder instead of
   * listing it in `skipped`.
   * @default {false}
   */
  strict?: boolean;
}

/**
 * Reads and validates one record file; throws a `TypeError` naming the file
 * when it is not valid JSON or not a result record.
 *
 * @example Reading a record file
 * ```ts
 * import { readRecordFile } from "./collect.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, "{}");
 * await assert.rejects(readRecordFile(path), /field "schema"/);
 * await Deno.remove(path);
 * ```
 */
export async function readRecordFile(path: string): Promise<ResultRecord> {
  const text = await Deno.readTextFile(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TypeError(
      `Cannot read result record "${path}" as it must be JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
  return validateResultRecord(json, `result record "${path}"`);
}

async function findResultFiles(dir: string, seen: Set<string>, out: string[]): Promise<void> {
  const real = await Deno.realPath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    let isDir = e.isDirectory;
    let isFile = e.isFile;
    if (e.isSymlink) {
      try {
        const s = await Deno.stat(path);
        isDir = s.isDirectory;
        isFile = s.isFile;
      } catch {
        continue; // dangling link: nothing to read
      }
    }
    if (isDir) {
      if (!e.name.startsWith(".") && e.name !== "node_modules") {
        await findResultFiles(path, seen, out);
      }
    } else if (isFile && e.name === RESULT_FILE_NAME) {
      out.push(path);
    }
  }
}

/**
 * Finds and validates the records under the given paths. A file path is read
 * as a record (an invalid one throws); a folder is searched recursively
 * (hidden folders skipped) for `result.json` files, and invalid ones are
 * listed in `skipped` unless `strict` is set. A path that does not exist
 * throws `Deno.errors.NotFound`. Files reached twice are read once.
 *
 * @example Collecting a sweep folder
 * ```ts
 * import { collectRecords } from "./collect.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/run1`);
 * await Deno.writeTextFile(`${dir}/run1/result.json`, "not json");
 * const { records, skipped } = await collectRecords([dir]);
 * assert.equal(records.length, 0);
 * assert.equal(skipped.length, 1);
 * assert.match(skipped[0].reason, /must be JSON/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function collectRecords(
  paths: readonly string[],
  options: CollectOptions = {},
): Promise<CollectResult> {
  const records: CollectedRecord[] = [];
  const skipped: SkippedInput[] = [];
  const readFiles = new Set<string>();
  const seenDirs = new Set<string>();
  for (const input of paths) {
    const path = input.length > 1 ? input.replace(/\/+$/, "") : input;
    const info = await Deno.stat(path);
    if (info.isFile) {
      const real = await Deno.realPath(path);
      if (readFiles.has(real)) continue;
      readFiles.add(real);
      records.push({ record: await readRecordFile(path), source: path });
      continue;
    }
    const found: string[] = [];
    await findResultFiles(path, seenDirs, found);
    for (const file of found) {
      const real = await Deno.realPath(file);
      if (readFiles.has(real)) continue;
      readFiles.add(real);
      try {
        records.push({ record: await readRecordFile(file), source: file });
      } catch (e) {
        if (options.strict || !(e instanceof TypeError)) throw e;
        skipped.push({ path: file, reason: e.message });
      }
    }
  }
  return { records, skipped };
}

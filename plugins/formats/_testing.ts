/**
 * Test helpers of the format readers (not published): where the shared
 * format fixtures live, temp folders, hashing, and a check that a call
 * throws a {@linkcode FormatError} naming the file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FormatError } from "../../core/errors.ts";

/**
 * The folder of the shared format fixtures, `fixtures/formats`
 * relative to the repository root. Unit tests name particular files, so
 * they ignore `MEDPROBE_FORMAT_FIXTURES` (which only redirects the
 * manifest-driven suite in tests/format_fixtures_test.ts).
 */
export function fixturesDir(): string {
  return new URL("../../fixtures/formats/", import.meta.url).pathname;
}

/** The absolute path of a fixture, relative to {@linkcode fixturesDir}. */
export function fixture(relative: string): string {
  return fixturesDir() + relative;
}

/** Creates a temp folder, runs `fn` in it, and removes it afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_formats_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** SHA-256 of bytes (or of a typed array's bytes), hex. */
export async function sha256Hex(data: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Asserts that `fn` rejects with a {@linkcode FormatError} whose `path` is
 * `path` and whose message matches `pattern`. Returns the error.
 */
export async function assertFormatError(
  fn: () => unknown,
  path: string,
  pattern: RegExp,
): Promise<FormatError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a FormatError for ${path}, but nothing was thrown`);
  assert.ok(
    caught instanceof FormatError,
    `expected a FormatError for ${path}, got ${(caught as Error)?.name}: ${
      (caught as Error)?.message ?? caught
    }`,
  );
  assert.equal(caught.path, path);
  assert.match(caught.message, pattern);
  assert.ok(caught.message.includes(path), "the message names the file");
  return caught;
}

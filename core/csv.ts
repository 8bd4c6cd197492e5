// This module is browser compatible.
/**
 * One CSV escaping for every file medprobe writes (predictions, per-case
 * scores, report tables): RFC 4180 quoting of fields that hold a comma, a
 * quote or a line break.
 *
 * @example
 * ```ts
 * import { csvField, csvRow } from "./csv.ts";
 * import assert from "node:assert/strict";
 * assert.equal(csvField('a,"b"'), '"a,""b"""');
 * assert.equal(csvRow(["id", 1, null]), "id,1,");
 * ```
 *
 * @module
 */

/** Quotes a field when it holds `,`, `"`, CR or LF (quotes doubled). */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line: strings escaped, numbers as `String(n)`, `null`/`undefined` empty. */
export function csvRow(fields: readonly (string | number | null | undefined)[]): string {
  return fields.map((f) => f === null || f === undefined ? "" : csvField(String(f))).join(",");
}

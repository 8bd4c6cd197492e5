/**
 * The decode budget of every format reader: the most pixels one decoded
 * image, tile or frame may hold and the most bytes one decoded buffer may
 * take. Readers compare what a header declares with this budget (and with
 * the size of the file) before they allocate, so a tiny crafted file cannot
 * make a reader ask for gigabytes: over budget is a `FormatError` naming the
 * file, the field and the limit.
 *
 * The defaults (268 megapixels, 2 GiB) hold every real medical input seen so
 * far (a 512×512×2000 int16 CT is 1 GiB; whole-slide images are read tile by
 * tile). Raise them with {@linkcode setReadLimits} or, for the CLI, with the
 * environment variables `MEDPROBE_MAX_DECODE_PIXELS` and
 * `MEDPROBE_MAX_DECODE_MB` (read once, when `--allow-env` grants them).
 *
 * @example Lowering the budget for one block of work
 * ```ts
 * import { getReadLimits, setReadLimits } from "./limits.ts";
 * import assert from "node:assert/strict";
 *
 * const previous = setReadLimits({ maxPixels: 1_000_000 });
 * assert.equal(getReadLimits().maxPixels, 1_000_000);
 * setReadLimits(previous);
 * ```
 *
 * @module
 */

import { FormatError } from "../../core/errors.ts";

/** The decode budget of the format readers. */
export interface ReadLimits {
  /** Most pixels (per channel) one decoded image, tile or frame may hold. */
  readonly maxPixels: number;
  /** Most bytes one decoded buffer (image, volume, tile, inflated stream) may take. */
  readonly maxBytes: number;
}

/** The budget used when nothing is configured: 2^28 pixels (268 MP) and 2 GiB. */
export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxPixels: 2 ** 28,
  maxBytes: 2 ** 31,
});

let current: Readonly<ReadLimits> | undefined;

function readEnvLimit(name: string, scale: number): number | undefined {
  let text: string | undefined;
  try {
    if (Deno.permissions.querySync?.({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    text = Deno.env.get(name);
  } catch {
    return undefined;
  }
  if (text === undefined || text.trim() === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(
      `Cannot use ${name} as it must be a positive number: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return Math.floor(value * scale);
}

/** The budget in force: {@linkcode setReadLimits}, else the environment, else the defaults. */
export function getReadLimits(): Readonly<ReadLimits> {
  if (current === undefined) {
    current = Object.freeze({
      maxPixels: readEnvLimit("MEDPROBE_MAX_DECODE_PIXELS", 1) ?? DEFAULT_READ_LIMITS.maxPixels,
      maxBytes: readEnvLimit("MEDPROBE_MAX_DECODE_MB", 2 ** 20) ?? DEFAULT_READ_LIMITS.maxBytes,
    });
  }
  return current;
}

/**
 * Sets the budget (the fields given; the others keep their value) and
 * returns the previous one, so a caller can restore it.
 */
export function setReadLimits(limits: Partial<ReadLimits>): Readonly<ReadLimits> {
  const previous = getReadLimits();
  for (const key of ["maxPixels", "maxBytes"] as const) {
    const value = limits[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new TypeError(
        `Cannot set the read limit ${key} as it must be a positive safe integer: current value is ${value}`,
      );
    }
  }
  current = Object.freeze({ ...previous, ...limits });
  return previous;
}

/** What {@linkcode checkDecodeBudget} checks: a declared size and the header field that declared it. */
export interface DecodeRequest {
  /** What is being decoded, for the message (`"JPEG frame"`, `"TIFF tile 3 of level 0"`). */
  readonly what: string;
  /** The header field(s) that declared the size (`"SOF width x height"`, `"IHDR"`). */
  readonly field: string;
  /** Pixels per channel the header declares, when the budget applies to pixels. */
  readonly pixels?: number;
  /** Bytes the decoded buffer will take. */
  readonly bytes?: number;
}

/**
 * Throws a {@linkcode FormatError} naming the file, the field and the limit
 * when a declared size is not a finite number or is over the budget.
 *
 * @example
 * ```ts
 * import { checkDecodeBudget } from "./limits.ts";
 * import { FormatError } from "../../core/errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => checkDecodeBudget("big.jpg", { what: "JPEG frame", field: "SOF size", pixels: 65535 * 65535 }),
 *   FormatError,
 * );
 * ```
 */
export function checkDecodeBudget(path: string, request: DecodeRequest): void {
  const limits = getReadLimits();
  const { what, field, pixels, bytes } = request;
  for (const [value, unit] of [[pixels, "pixels"], [bytes, "bytes"]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new FormatError(
        `Cannot decode ${what} as the ${unit} declared by ${field} must be a finite non-negative number: current value is ${value}`,
        { path },
      );
    }
  }
  if (pixels !== undefined && pixels > limits.maxPixels) {
    throw new FormatError(
      `Cannot decode ${what} as the ${pixels} pixels declared by ${field} must be at most the read limit maxPixels = ${limits.maxPixels} (MEDPROBE_MAX_DECODE_PIXELS)`,
      { path },
    );
  }
  if (bytes !== undefined && bytes > limits.maxBytes) {
    throw new FormatError(
      `Cannot decode ${what} as the ${bytes} bytes declared by ${field} must be at most the read limit maxBytes = ${limits.maxBytes} (MEDPROBE_MAX_DECODE_MB)`,
      { path },
    );
  }
}

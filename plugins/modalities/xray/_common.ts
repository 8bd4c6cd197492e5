/**
 * Private helpers of the X-ray datasets: a seeded generator, a stable
 * string hash, the protocol defaults, samples backed by one file, file
 * tests, and the "wrong layout" error that lists what was expected and
 * what was found (path joining and folder listings come from
 * `core/_fs.ts`). Uses `Deno.stat`.
 *
 * @module
 */

import type { Image2D, ProtocolDefaults, Sample } from "../../../core/plugin.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { formatFound, joinPath } from "../../../core/_fs.ts";

/** A seeded uniform generator in [0, 1) (mulberry32). */
export type Rng = () => number;

/**
 * Creates a deterministic generator from an integer seed: the core
 * mulberry32 ({@linkcode createMulberry32}) with the seed mixed first, as the
 * X-ray plans have always drawn it.
 *
 * @example
 * ```ts
 * import { createRng } from "./_common.ts";
 * import assert from "node:assert/strict";
 * const a = createRng(7), b = createRng(7);
 * assert.equal(a(), b());
 * ```
 */
export function createRng(seed: number): Rng {
  // the seed is mixed with the golden-ratio constant before it becomes the state
  return createMulberry32(Math.trunc(seed) ^ 0x9e3779b9);
}

/**
 * FNV-1a 32-bit hash of a string, mapped to [0, 1). Stable across runs,
 * platforms and JavaScript engines (used for the documented RSNA fallback
 * split).
 *
 * @example
 * ```ts
 * import { hashUnit } from "./_common.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hashUnit("abc"), hashUnit("abc"));
 * assert.ok(hashUnit("abc") >= 0 && hashUnit("abc") < 1);
 * ```
 */
export function hashUnit(text: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 4294967296;
}

/** True when `path` exists and is a file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** True when `path` exists and is a directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Builds the error for a folder that is not the dataset's layout: names the
 * dataset, what was expected (the layout), what is missing and what was
 * found at the top level. It is a `Deno.errors.NotFound` (the expected
 * files were not found).
 */
export function createLayoutError(
  datasetId: string,
  root: string,
  layout: readonly string[],
  missing: readonly string[],
  found: readonly string[] | null,
  hint = "",
): Error {
  return new Deno.errors.NotFound(
    `Cannot open dataset "${datasetId}" at "${root}" as its layout does not match: ` +
      `expected ${layout.join("; ")}; missing ${missing.join(", ")}; found ${formatFound(found)}` +
      (hint ? `. ${hint}` : ""),
  );
}

/**
 * Looks one level down for a folder that holds `marker` (a user pointing
 * `--data` at the parent of the dataset) and returns a hint, or "".
 */
export async function findNestedHint(
  root: string,
  found: readonly string[] | null,
  marker: string,
): Promise<string> {
  if (!found) return "";
  for (const entry of found) {
    if (!entry.endsWith("/")) continue;
    const candidate = joinPath(root, entry.slice(0, -1));
    if (await isFile(joinPath(candidate, marker))) {
      return `"${candidate}" holds ${marker}: did you mean that folder?`;
    }
  }
  return "";
}

/** Throws `Deno.errors.NotFound` naming the sample and the expected path unless the file exists. */
export async function assertSampleFile(
  sampleId: string,
  path: string,
  listedIn: string,
): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot load sample "${sampleId}" as its file is missing: expected "${path}" (listed in ${listedIn})`,
        { cause: error },
      );
    }
    throw error;
  }
  if (!info.isFile) {
    throw new Deno.errors.NotFound(
      `Cannot load sample "${sampleId}" as "${path}" is not a file (listed in ${listedIn})`,
    );
  }
}

/**
 * Protocol defaults of the X-ray datasets (PROTOCOLS.md, 2D classification
 * — linear probe), a fresh object per call.
 */
export function xrayProtocol(): ProtocolDefaults {
  return {
    adapter: "image2d",
    heads: ["linear", "knn"],
    metrics: ["auc", "accuracy", "precision", "recall"],
    resolution: 224,
    feature: "cls",
    trainSplit: "train",
    testSplit: "test",
  };
}

/** What a sample backed by one file holds besides its `load`. */
export interface FileSampleFields {
  /** Sample id. */
  id: string;
  /** Patient id. */
  subject: string;
  /** Target vector. */
  target: Float32Array;
  /** The image file. */
  path: string;
}

/**
 * A sample whose `load` reads its file with `read`. A missing file rejects
 * with `Deno.errors.NotFound` naming the sample, the expected path and the
 * file that listed it (`kind` names the file: "image", "DICOM").
 */
export function fileSample(
  fields: FileSampleFields,
  kind: string,
  listedIn: string,
  read: (path: string) => Promise<Image2D>,
): Sample {
  const { id, path } = fields;
  return {
    ...fields,
    async load(): Promise<Image2D> {
      try {
        return await read(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Deno.errors.NotFound(
            `Cannot load sample "${id}" as its ${kind} file is missing: expected "${path}" (listed in ${listedIn})`,
            { cause: error },
          );
        }
        throw error;
      }
    },
  };
}

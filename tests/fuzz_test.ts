/**
 * Seeded fuzzing of every format reader over the format fixtures: each case
 * takes one fixture, mutates it (a truncation, random byte changes, a
 * targeted edit of the header with extreme values, or for `.nii.gz` an edit
 * of the inflated header re-gzipped) and reads it with the reader of its
 * format. The only accepted outcomes are success and a `FormatError` that
 * names the file; anything else (a `RangeError`, a bare string, a library
 * dump, a crash) fails the test and is listed with its case number and
 * seed, so it can be replayed. Runs under a lowered read budget so a
 * mutated size field cannot take the machine's memory.
 *
 * `MEDPROBE_FUZZ_CASES` / `MEDPROBE_FUZZ_SEED` change the number of cases
 * (default 300) and the seed (default 19).
 */
import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { FormatError } from "../core/errors.ts";
import { createMulberry32 } from "../core/random.ts";
import {
  openHdf5Bytes,
  openSlideBytes,
  parseCsv,
  parseCtRateLabels,
  parseCtRateMetadata,
  parseDicom,
  parseImage,
  parseNifti,
  parseNihDataEntry,
  parseTiffStack,
  scaleNiftiData,
} from "../plugins/formats/mod.ts";
import { setReadLimits } from "../plugins/formats/limits.ts";
import { decodeJpegBytes } from "../plugins/formats/jpeg_stream/decoder.ts";

const DIR = new URL("../fixtures/formats/", import.meta.url).pathname;
const CASES = Number(Deno.env.get("MEDPROBE_FUZZ_CASES") ?? 300);
const SEED = Number(Deno.env.get("MEDPROBE_FUZZ_SEED") ?? 19);

type Reader = (bytes: Uint8Array, name: string) => Promise<unknown>;

async function readHdf5(bytes: Uint8Array, name: string): Promise<void> {
  const file = await openHdf5Bytes(bytes, name);
  try {
    for (const path of file.list()) {
      if (!file.isDataset(path)) continue;
      file.info(path);
      file.attributes(path);
      file.read(path);
    }
  } finally {
    file.close();
  }
}

async function readSlide(bytes: Uint8Array, name: string): Promise<void> {
  const slide = await openSlideBytes(bytes, name);
  try {
    for (const level of slide.levels) {
      await slide.readRegion({
        level: level.index,
        x: 0,
        y: 0,
        width: Math.min(level.width, 300),
        height: Math.min(level.height, 300),
      });
    }
  } finally {
    slide.close();
  }
}

function readCsvTables(bytes: Uint8Array, name: string): void {
  const text = new TextDecoder().decode(bytes);
  parseCsv(text, name);
  if (name.includes("Data_Entry")) parseNihDataEntry(text, name);
  else if (name.includes("metadata")) parseCtRateMetadata(text, name);
  else parseCtRateLabels(text, name);
}

function readerFor(path: string): Reader {
  if (/\.nii(\.gz)?$/.test(path)) {
    return (b, n) => Promise.resolve(scaleNiftiData(parseNifti(b, n)));
  }
  if (path.endsWith(".dcm")) return (b, n) => Promise.resolve(parseDicom(b, n));
  if (path.endsWith(".hdf")) return readHdf5;
  if (path.startsWith("wsi/")) return readSlide;
  if (path.endsWith(".tif")) return (b, n) => parseTiffStack(b, n);
  if (/\.jpe?g$/.test(path)) {
    // Both JPEG decoders: jpeg-js (images, DICOM, slides) and the streaming one (tile bags).
    return (b, n) => {
      let first: unknown;
      try {
        parseImage(b, n);
      } catch (e) {
        first = e;
      }
      decodeJpegBytes(b, n);
      if (first !== undefined) throw first;
      return Promise.resolve();
    };
  }
  if (/\.png$/.test(path)) return (b, n) => Promise.resolve(parseImage(b, n));
  if (path.endsWith(".csv")) return (b, n) => Promise.resolve(readCsvTables(b, n));
  throw new Error(`no reader for ${path}`);
}

async function listFixtures(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir + prefix)) {
    const rel = prefix + e.name;
    if (e.isDirectory) out.push(...await listFixtures(dir, rel + "/"));
    else if (!/\.(json|md)$/.test(e.name)) out.push(rel);
  }
  return out.sort();
}

const EXTREMES = [
  [0xff, 0xff, 0xff, 0xff],
  [0xff, 0xff, 0xff, 0x7f],
  [0x00, 0x00, 0x00, 0x80],
  [0x00, 0x00, 0x00, 0x00],
  [0x7f, 0xc0, 0x00, 0x00], // NaN as a big-endian float32
  [0x00, 0x00, 0xc0, 0x7f], // NaN as a little-endian float32
];

/** One seeded mutation of `bytes`; returns the mutated copy and its description. */
function mutate(
  bytes: Uint8Array,
  path: string,
  rng: () => number,
): { data: Uint8Array; how: string } {
  const pick = (n: number) => Math.floor(rng() * n);
  const kind = pick(path.endsWith(".gz") ? 4 : 3);
  if (kind === 0) {
    const keep = pick(bytes.length);
    return { data: bytes.slice(0, keep), how: `truncate to ${keep}` };
  }
  const data = bytes.slice();
  if (kind === 1) {
    const count = 1 + pick(16);
    for (let i = 0; i < count; i++) data[pick(data.length)] = pick(256);
    return { data, how: `${count} random bytes` };
  }
  if (kind === 2) {
    const at = pick(Math.max(1, Math.min(data.length - 4, 1024)));
    const value = EXTREMES[pick(EXTREMES.length)];
    data.set(value.slice(0, Math.max(0, data.length - at)), at);
    return { data, how: `header bytes ${at}..${at + 3} = ${value}` };
  }
  // .nii.gz: edit the inflated header, then gzip again.
  const raw = new Uint8Array(gunzipSync(bytes));
  const at = pick(352);
  raw.set(EXTREMES[pick(EXTREMES.length)], at);
  return { data: new Uint8Array(gzipSync(raw)), how: `inflated header bytes ${at}..${at + 3}` };
}

Deno.test(`readers survive ${CASES} seeded mutations of the format fixtures (seed ${SEED}) with success or a named FormatError`, async () => {
  const previous = setReadLimits({ maxPixels: 2 ** 26, maxBytes: 2 ** 29 });
  try {
    const paths = await listFixtures(DIR);
    const originals = new Map<string, Uint8Array>();
    for (const p of paths) originals.set(p, await Deno.readFile(DIR + p));
    const rng = createMulberry32(SEED);
    const outcomes = { success: 0, formatError: 0 };
    const failures: string[] = [];
    const started = performance.now();
    for (let c = 0; c < CASES; c++) {
      const path = paths[c % paths.length];
      const { data, how } = mutate(originals.get(path)!, path, rng);
      const name = `fuzz/${c}/${path}`;
      try {
        await readerFor(path)(data, name);
        outcomes.success++;
      } catch (error) {
        if (error instanceof FormatError && error.path === name && error.message.includes(name)) {
          outcomes.formatError++;
        } else {
          const text = error instanceof Error
            ? `${error.name}: ${error.message}`
            : `thrown ${typeof error}: ${String(error)}`;
          failures.push(`case ${c} (${path}, ${how}): ${text.slice(0, 300)}`);
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(failures, [], `${failures.length} of ${CASES} cases ended otherwise`);
    assert.equal(outcomes.success + outcomes.formatError, CASES);
    assert.ok(
      outcomes.formatError > CASES / 10,
      `only ${outcomes.formatError} mutations were refused`,
    );
    // The CI budget (default case count): under a minute.
    if (CASES <= 300) assert.ok(seconds < 60, `fuzzing took ${seconds.toFixed(1)} s`);
  } finally {
    setReadLimits(previous);
  }
});

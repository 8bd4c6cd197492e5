// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * Peak memory of the readers on the crafted inputs of issue 19 (tiny files
 * that declare huge sizes). Each case runs in its own process and reports
 * its peak resident set size (`VmHWM` from `/proc/self/status`), next to a
 * baseline process that builds the same input without reading it: the
 * difference is what the reader allocated before refusing the file.
 *
 * ```sh
 * deno run -A bench/hostile_inputs_bench.ts            # every case, a table
 * deno run -A bench/hostile_inputs_bench.ts --case png # one case, JSON
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { FormatError } from "../core/errors.ts";
import {
  encodeNifti,
  encodePng,
  encodeTiffStack,
  openSlideBytes,
  parseDicom,
  parseImage,
  parseNifti,
  parseTiffStack,
  scaleNiftiData,
} from "../plugins/formats/mod.ts";

const FIXTURES = new URL("../fixtures/formats/", import.meta.url).pathname;
const JPEG = new URL("../plugins/formats/testdata/jpeg_color/edges_444.jpg", import.meta.url)
  .pathname;

function setTag(bytes: Uint8Array, tag: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const ifd = view.getUint32(4, true);
  for (let i = 0; i < view.getUint16(ifd, true); i++) {
    const e = ifd + 2 + i * 12;
    if (view.getUint16(e, true) !== tag) continue;
    if (view.getUint16(e + 2, true) === 3) view.setUint16(e + 8, value, true);
    else view.setUint32(e + 8, value, true);
  }
}

interface Case {
  what: string;
  build(): Promise<Uint8Array>;
  read(bytes: Uint8Array): Promise<unknown>;
}

const CASES: Record<string, Case> = {
  jpeg: {
    what: "JPEG (1.4 KB) whose frame header says 65535 x 65535",
    async build() {
      const b = await Deno.readFile(JPEG);
      const sof = b.findIndex((x, i) => x === 0xff && b[i + 1] === 0xc0);
      b.fill(0xff, sof + 5, sof + 9);
      return b;
    },
    read: (b) => Promise.resolve(parseImage(b, "big.jpg")),
  },
  niigz: {
    what: ".nii.gz declaring 2x2x2 voxels over a 1 GiB payload",
    build() {
      const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
      const small = encodeNifti(new Int16Array(8), { shape: [2, 2, 2], affine });
      const padded = new Uint8Array(small.length + 2 ** 30);
      padded.set(small);
      return Promise.resolve(new Uint8Array(gzipSync(padded, { level: 9 })));
    },
    read: (b) => Promise.resolve(scaleNiftiData(parseNifti(b, "bomb.nii.gz"))),
  },
  png: {
    what: "PNG whose IHDR says 50000 x 50000 over 16 pixels of data",
    build() {
      const b = encodePng({ data: new Uint8Array(16), width: 4, height: 4, channels: 1 });
      new DataView(b.buffer).setUint32(16, 50_000);
      new DataView(b.buffer).setUint32(20, 50_000);
      return Promise.resolve(b);
    },
    read: (b) => Promise.resolve(parseImage(b, "huge.png")),
  },
  tile: {
    what: "whole-slide TIFF with a 65535 x 65535 tile on a small level",
    async build() {
      const b = await Deno.readFile(`${FIXTURES}wsi/wsi_pyramid_jpeg.tif`);
      setTag(b, 322, 65535);
      setTag(b, 323, 65535);
      return b;
    },
    async read(b) {
      const slide = await openSlideBytes(b, "tile.tif");
      await slide.readRegion({ level: 0, x: 0, y: 0, width: 16, height: 16 });
    },
  },
  lzw: {
    what: "PackBits TIFF (4096 x 4096) relabelled as LZW",
    build() {
      const data = new Uint8Array(4096 * 4096);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 7 === 0 ? 200 : 10;
      const b = encodeTiffStack(data, { shape: [1, 4096, 4096], compression: "packbits" });
      setTag(b, 259, 5);
      return Promise.resolve(b);
    },
    read: (b) => parseTiffStack(b, "relabelled.tif"),
  },
  slope: {
    what: "NIfTI with scl_slope 1e38 (all-Infinity voxels)",
    build() {
      const affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
      return Promise.resolve(
        encodeNifti(new Int16Array(64 * 64 * 64).fill(9), {
          shape: [64, 64, 64],
          affine,
          sclSlope: 1e38,
        }),
      );
    },
    read: (b) => Promise.resolve(scaleNiftiData(parseNifti(b, "slope.nii"))),
  },
  dicom: {
    what: "DICOM with a non-numeric RescaleSlope",
    async build() {
      const b = await Deno.readFile(`${FIXTURES}dicom/cxr_mono2_explicit_le.dcm`);
      const pattern = [0x28, 0x00, 0x53, 0x10, 0x44, 0x53];
      const at = b.findIndex((_, i) => pattern.every((p, k) => b[i + k] === p));
      b.set(new TextEncoder().encode("abc"), at + 8);
      return b;
    },
    read: (b) => Promise.resolve(parseDicom(b, "slope.dcm")),
  },
};

function peakRssMb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? NaN);
  return kb / 1024;
}

async function runCase(name: string, baseline: boolean): Promise<void> {
  const c = CASES[name];
  const bytes = await c.build();
  const started = performance.now();
  let outcome = "baseline (not read)";
  if (!baseline) {
    try {
      await c.read(bytes);
      outcome = "read";
    } catch (e) {
      outcome = e instanceof FormatError
        ? `FormatError: ${e.message}`
        : `${(e as Error).name}: ${(e as Error).message}`;
    }
  }
  const ms = performance.now() - started;
  console.log(
    JSON.stringify({ case: name, bytes: bytes.length, outcome, ms, peakRssMb: peakRssMb() }),
  );
}

const { values } = parseArgs({
  args: Deno.args,
  options: { case: { type: "string" }, baseline: { type: "boolean" } },
});
if (values.case) {
  await runCase(values.case, values.baseline ?? false);
} else {
  const self = new URL(import.meta.url).pathname;
  const child = async (name: string, baseline: boolean) => {
    const args = ["run", "-A", self, "--case", name, ...(baseline ? ["--baseline"] : [])];
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped" }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  };
  console.log("| case | file | peak RSS, input only | peak RSS, read | read adds | outcome |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const [name, c] of Object.entries(CASES)) {
    const base = await child(name, true);
    const run = await child(name, false);
    console.log(
      `| ${c.what} | ${(run.bytes / 1024).toFixed(1)} KB | ${base.peakRssMb.toFixed(0)} MB | ${
        run.peakRssMb.toFixed(0)
      } MB | ${(run.peakRssMb - base.peakRssMb).toFixed(0)} MB | ${run.outcome.slice(0, 110)} (${
        run.ms.toFixed(0)
      } ms) |`,
    );
  }
}

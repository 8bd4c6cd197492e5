// What fingerprinting adds to a run (issue 18): hashing source files the
// first time, and the stat-only check once they are remembered.
//   deno bench -A core/fingerprint_bench.ts
import { fingerprintFile, FingerprintMemo } from "./fingerprint.ts";

const dir = await Deno.makeTempDir();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
/** 64 files of 400 KiB, the size of an NIH-14 PNG. */
const files: string[] = [];
for (let i = 0; i < 64; i++) {
  const bytes = crypto.getRandomValues(new Uint8Array(65536));
  const data = new Uint8Array(400 * 1024);
  for (let o = 0; o < data.length; o += bytes.length) {
    data.set(bytes.subarray(0, data.length - o), o);
  }
  data[0] = i;
  const path = `${dir}/${String(i).padStart(8, "0")}_000.png`;
  await Deno.writeFile(path, data);
  files.push(path);
}
/** A 256 MiB file: a CT volume, hashed whole. */
const volume = `${dir}/volume.nii`;
await Deno.writeFile(volume, new Uint8Array(256 * 1024 * 1024).fill(7));
/** A 2 GiB sparse "slide": header, tail and 64 sampled blocks. */
const slide = `${dir}/slide.svs`;
{
  const f = await Deno.open(slide, { write: true, create: true });
  await f.truncate(2 * 1024 * 1024 * 1024);
  f.close();
}
const memo = await FingerprintMemo.open(`${dir}/memo`);
for (const f of files) await fingerprintFile(f, { memo });

Deno.bench("64 NIH-14-size PNGs (400 KiB), hashed", { group: "png", baseline: true }, async () => {
  for (const f of files) await fingerprintFile(f);
});

Deno.bench("64 NIH-14-size PNGs (400 KiB), remembered (stat only)", { group: "png" }, async () => {
  for (const f of files) await fingerprintFile(f, { memo });
});

Deno.bench("a 256 MiB volume, hashed whole", { n: 3 }, async () => {
  await fingerprintFile(volume);
});

Deno.bench("a 2 GiB whole slide, header + tail + 64 sampled blocks", async () => {
  await fingerprintFile(slide);
});

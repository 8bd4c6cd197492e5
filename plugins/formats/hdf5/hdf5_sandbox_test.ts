// The HDF5 reader needs no write access (no temporary file anywhere), and a
// corrupt file gives a one-line FormatError with its name, not the library's
// multi-line HDF5-DIAG dump.
import assert from "node:assert/strict";
import { fixture } from "../_testing.ts";

const PROBE = new URL("./testdata/read_probe.ts", import.meta.url).pathname;

async function probe(path: string): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--quiet", PROBE, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("openHdf5() reads every dataset without write permission (no temporary files)", async () => {
  const result = await probe(fixture("hdf5/cremi_sample.hdf"));
  assert.equal(result.error, undefined, JSON.stringify(result.error));
  assert.equal(result["volumes/raw"], 10 * 64 * 64);
  assert.equal(result["volumes/affinities"], 3 * 10 * 64 * 64);
});

Deno.test("openHdf5() turns a corrupt file's HDF5-DIAG dump into a one-line FormatError naming the file", async () => {
  const bytes = await Deno.readFile(fixture("hdf5/cremi_sample.hdf"));
  for (let i = 16; i < 20; i++) bytes[i] = 0xff; // superblock addresses
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/corrupt.hdf`;
    await Deno.writeFile(path, bytes);
    const { error } = await probe(path) as { error: { name: string; path: string; lines: number } };
    assert.equal(error?.name, "FormatError");
    assert.equal(error.path, path);
    assert.equal(error.lines, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Child of hdf5_sandbox_test.ts, run without --allow-write: reads every
// dataset of an HDF5 file (or reports the FormatError) and prints a summary.
import { openHdf5 } from "../hdf5.ts";
import { FormatError } from "../../../../core/errors.ts";

const out: Record<string, unknown> = {};
try {
  const file = await openHdf5(Deno.args[0]);
  for (const p of file.list()) if (file.isDataset(p)) out[p] = file.read(p).data.length;
  file.close();
} catch (e) {
  out.error = e instanceof FormatError
    ? { name: e.name, path: e.path, lines: e.message.split("\n").length, message: e.message }
    : { name: (e as Error).name, message: String((e as Error).message ?? e) };
}
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(out) + "\n"));

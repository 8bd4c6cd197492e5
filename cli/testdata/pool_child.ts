// Child of decode_pool_test.ts, run without --allow-ffi: a pool whose only
// worker dies must reject the pending request and every later one at once.
import { createDecodePool } from "../decode_pool.ts";

const [root, plugin] = Deno.args;
const pool = await createDecodePool({
  dataset: "xray/nih14",
  root,
  plugins: [plugin],
  workers: 1,
});
const outcome: string[] = [];
for (const index of [424242, 0, 1]) {
  try {
    await pool.load("train", index);
    outcome.push(`ok ${index}`);
  } catch (e) {
    outcome.push(`${(e as Error).name}: ${(e as Error).message}`);
  }
}
pool.close();
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(outcome) + "\n"));

// RoPE tables (CPU, f64) for a 32×32 grid, and the in-place rotation of q and k
// of a packed ViT-L qkv at 512 px ([1, 1029, 3072]: 8.4 MB read and written).
import { rope, uploadRopeTables } from "./rope.ts";
import { ropeRef, ropeTablesRef } from "./rope_ref.ts";
import { randomTensor, testGpu } from "../_testing.ts";

Deno.bench({ group: "rope tables 32×32, Dh 64", name: "ropeTablesRef (CPU f64)" }, () => {
  ropeTablesRef(32, 32, 64, 100);
});

const tables = ropeTablesRef(32, 32, 64, 100);
const x = randomTensor([1, 1029, 3 * 1024], 1);
const group = "rope q and k of [1, 1029, 3072]";
Deno.bench({ group, name: "ropeRef (CPU)", baseline: true }, () => {
  ropeRef(x, { tables, heads: 16, prefix: 5, blocks: 2 });
});
const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  const gt = uploadRopeTables(gpu, tables, [32, 32]);
  Deno.bench({ group, name: "rope (WebGPU, in place)" }, async () => {
    await rope(gpu, { x: gx, tables: gt, heads: 16, prefix: 5, blocks: 2 });
    await gpu.sync();
  });
}

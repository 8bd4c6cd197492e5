// Column sums: bias gradient of ABMIL's projection (dh [20000, 256]), ~20 MB read.
import { columnSum } from "./column_sum.ts";
import { columnSumRef } from "./column_sum_ref.ts";
import { randomTensor, testGpu } from "../../_testing.ts";

const x = randomTensor([20000, 256], 1);

Deno.bench({ group: "columnSum [20000,256]", name: "columnSumRef (CPU)", baseline: true }, () => {
  columnSumRef(x);
});

const gpu = await testGpu();
if (gpu) {
  const gx = gpu.uploadTensor(x);
  Deno.bench({ group: "columnSum [20000,256]", name: "columnSum (WebGPU)" }, async () => {
    const out = await columnSum(gpu, { x: gx });
    await gpu.sync();
    out.buffer.destroy();
  });
}

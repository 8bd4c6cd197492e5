// GEMM throughput, 2·M·N·K FLOP per call, register-blocked kernel against the
// naive one-output-per-thread kernel (the baseline). On llvmpipe (2 cores)
// the blocked kernel measured 7–11 GFLOP/s at 1024³ on a quiet machine and
// the naive one ~0.4. A summary in GFLOP/s is printed at the end.
import { matmul, type MatmulVariant } from "./matmul.ts";
import { randomTensor, testGpu } from "../_testing.ts";

const SHAPES: [string, number, number, number][] = [
  ["1024³", 1024, 1024, 1024],
  ["ViT-S qkv, batch 8 at 224 px", 1608, 1152, 384],
  ["ViT-S o_proj", 1608, 384, 384],
  ["ViT-S up_proj", 1608, 1536, 384],
  ["ViT-S down_proj", 1608, 384, 1536],
];

const best = new Map<string, number>();
const gpu = await testGpu();
if (gpu) {
  for (const [label, m, n, k] of SHAPES) {
    const x = gpu.uploadTensor(randomTensor([m, k], 1));
    const weight = gpu.uploadTensor(randomTensor([n, k], 2, 0.05));
    const bias = gpu.uploadTensor(randomTensor([n], 3));
    const out = {
      buffer: gpu.createStorageBuffer(m * n * 4, "out"),
      shape: [m, n],
      dtype: "f32" as const,
    };
    const group = `matmul ${label} [${m}, ${k}]·[${n}, ${k}]ᵀ`;
    for (const variant of ["naive", "blocked"] as MatmulVariant[]) {
      const name = `${variant} (WebGPU)`;
      Deno.bench({ group, name, baseline: variant === "naive", n: 2, warmup: 1 }, async () => {
        const t0 = performance.now();
        await matmul(gpu, { x, weight, bias, out, variant });
        await gpu.sync();
        const s = (performance.now() - t0) / 1000;
        const key = `${group} | ${variant}`;
        best.set(key, Math.max(best.get(key) ?? 0, (2 * m * n * k) / s / 1e9));
      });
    }
  }
  globalThis.addEventListener("unload", () => {
    // deno-lint-ignore no-console
    console.log(`\nmatmul on ${gpu.info.description} (best GFLOP/s):`);
    for (const [key, gflops] of best) {
      // deno-lint-ignore no-console
      console.log(`  ${key.padEnd(72)} ${gflops.toFixed(2)}`);
    }
  });
}

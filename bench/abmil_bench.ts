// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * ABMIL training on each path in one run: bags/s of one epoch with the CPU
 * path (one ONNX graph per bag on onnxruntime's CPU kernels, AdamW on the
 * host), the WebGPU path (this machine's adapter; llvmpipe without a GPU)
 * and the float64 reference step (`abmilBackwardRef`, the old CPU path, on a
 * few bags). Bags of `--instances` tiles × `--features` (768: ViT-B),
 * CLAM's ABMIL sizes (L = 256, D = 128), binary labels.
 *
 * ```sh
 * deno run -A bench/abmil_bench.ts [--bags 24] [--instances 500] [--features 768] [--ref-bags 2] [--skip-gpu]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createAbmilHead } from "../plugins/heads/abmil/mod.ts";
import { abmilBackwardRef, type AbmilParams } from "../plugins/heads/abmil/abmil_ref.ts";
import { createMulberry32 } from "../core/random.ts";
import type { HostTensor } from "../core/tensor.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    bags: { type: "string", default: "24" },
    instances: { type: "string", default: "500" },
    features: { type: "string", default: "768" },
    "ref-bags": { type: "string", default: "2" },
    "skip-gpu": { type: "boolean", default: false },
  },
});
const nBags = Number(values.bags);
const n = Number(values.instances);
const f = Number(values.features);
const rng = createMulberry32(1);
const bags: HostTensor[] = Array.from({ length: nBags }, () => ({
  data: Float32Array.from({ length: n * f }, () => rng() * 2 - 1),
  shape: [n, f],
}));
const y: HostTensor = { data: Float32Array.from(bags, (_, i) => i % 2), shape: [nBags] };
const l = 256;
const d = 128;
// forward + backward ≈ 3 × the forward's GEMMs (projection, attention branches)
const flopsPerBag = 3 * 2 * n * (f * l + l * 2 * d);

async function rate(device: "cpu" | "webgpu"): Promise<{ bagsPerS: number; reason: string }> {
  const head = createAbmilHead({ hiddenDim: l, attentionDim: d, epochs: 2, device });
  const times: number[] = [];
  let t = performance.now();
  await head.fit(bags, y, {
    seed: 1,
    onProgress: () => {
      times.push(performance.now() - t);
      t = performance.now();
    },
  });
  const reason = String(head.hyperparameters.deviceReason ?? device);
  head.dispose();
  return { bagsPerS: nBags / (times[1] / 1000), reason }; // epoch 2: sessions/pipelines warm
}

const show = (name: string, bagsPerS: number) =>
  console.log(
    `${name.padEnd(44)} ${bagsPerS.toFixed(2).padStart(8)} bags/s ${
      (bagsPerS * flopsPerBag / 1e9).toFixed(1).padStart(7)
    } GFLOP/s`,
  );
console.log(`ABMIL training: ${nBags} bags of ${n} × ${f}, L ${l}, D ${d}, one step per bag`);
const cpu = await rate("cpu");
show("cpu (onnxruntime CPU kernels)", cpu.bagsPerS);
if (!values["skip-gpu"]) {
  const gpu = await rate("webgpu");
  show(`webgpu (${gpu.reason})`, gpu.bagsPerS);
}
const refBags = Number(values["ref-bags"]);
const p = {
  f,
  l,
  d,
  k: 2,
  w1: Float32Array.from({ length: l * f }, () => (rng() * 2 - 1) / Math.sqrt(f)),
  b1: new Float32Array(l),
  vu: Float32Array.from({ length: 2 * d * l }, () => (rng() * 2 - 1) / Math.sqrt(l)),
  bvu: new Float32Array(2 * d),
  w: Float32Array.from({ length: d }, () => rng() * 2 - 1),
  c: Float32Array.from({ length: 2 * l }, () => rng() * 2 - 1),
  cb: new Float32Array(2),
} as AbmilParams;
const t0 = performance.now();
for (let i = 0; i < refBags; i++) abmilBackwardRef(p, bags[i], i % 2);
show("float64 reference step (the former CPU path)", refBags / ((performance.now() - t0) / 1000));

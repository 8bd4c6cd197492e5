// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * conv3d against the blocked GEMM on the same adapter, in one run: for each
 * convolution of the default decoder (at the shapes `bench/decoder3d_bench.ts`
 * uses) the forward pass, the data gradient and the weight gradient, each
 * with the implicit-GEMM kernels and the direct baseline, in GFLOP/s; and
 * the register-blocked matmul on the GEMM of the same size (M = output
 * positions, at most 8192, N = Co, K = Ci·k³ rounded up to a multiple of 4). The ratio
 * conv3d / GEMM is printed per shape. Each figure is the best of `--reps`
 * timed runs after one warm-up (pipeline compilation).
 *
 * ```sh
 * deno run -A bench/conv3d_gemm_bench.ts [--reps 2] [--size 128] [--depth 32] [--skip-direct]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { requestGpu } from "../core/gpu.ts";
import type { GpuTensor } from "../core/gpu.ts";
import {
  conv3d,
  conv3dBackwardData,
  conv3dBackwardWeights,
  conv3dTileFor,
  type Conv3dVariant,
} from "../kernels/conv3d/conv3d.ts";
import { defaultMatmulTile, matmul } from "../kernels/matmul/matmul.ts";
import { createMulberry32 } from "../core/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "2" },
    size: { type: "string", default: "128" },
    depth: { type: "string", default: "32" },
    "skip-direct": { type: "boolean", default: false },
  },
});
const reps = Number(values.reps);
const size = Number(values.size);
const depth = Number(values.depth);
const gpu = await requestGpu();
const rng = createMulberry32(1);

function tensor(shape: number[], scale = 1): GpuTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return gpu.uploadTensor({
    data: Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale),
    shape,
  });
}

async function best(run: (t: GPUBuffer[]) => Promise<unknown>): Promise<number> {
  let s = Infinity;
  for (let i = 0; i <= reps; i++) {
    const t: GPUBuffer[] = [];
    const t0 = performance.now();
    await run(t);
    await gpu.sync();
    if (i > 0) s = Math.min(s, (performance.now() - t0) / 1000);
    for (const b of t) b.destroy();
  }
  return s;
}

// The default decoder (widths 64/32/16/16, ViT-S features) on a 32-slice crop of a size² volume:
// the stage convolutions at their grids (3 stages for 128², the bench default).
const cells = 14;
const grids = [cells, 28, 56, size];
const SHAPES: [string, number[], number[]][] = [
  ["stage0.conv 64→64 3³", [1, 64, depth, grids[0], grids[0]], [64, 64, 3, 3, 3]],
  ["stage1.conv 65→32 3³", [1, 65, depth, grids[1], grids[1]], [32, 65, 3, 3, 3]],
  ["stage2.conv 33→16 3³", [1, 33, depth, grids[2], grids[2]], [16, 33, 3, 3, 3]],
  ["stage3.conv 17→16 3³", [1, 17, depth, grids[3], grids[3]], [16, 17, 3, 3, 3]],
];

const tile = conv3dTileFor(gpu.info);
console.log(
  `adapter: ${gpu.info.description || gpu.info.device}${
    gpu.info.isSoftware ? " (software)" : ""
  }; conv3d tile ${tile.cols}×${tile.channels}×${tile.threads}, matmul tile ${
    JSON.stringify(defaultMatmulTile(gpu))
  }`,
);
console.log(
  "shape".padEnd(44) +
    "GEMM  fwd(gemm) dX(gemm) dW(gemm) | fwd(dir) dX(dir) dW(dir) | conv/GEMM (fwd, dX, dW)",
);
const ratios: number[] = [];
for (const [name, xs, ws] of SHAPES) {
  const [, ci, d, h, w] = xs;
  const co = ws[0];
  const flops = 2 * co * ci * 27 * d * h * w;
  const x = tensor(xs);
  const weight = tensor(ws, 0.1);
  const y = tensor([1, co, d, h, w]);
  const dx = tensor(xs);
  const dw = tensor(ws);
  const k4 = Math.ceil((ci * 27) / 4) * 4;
  const m = Math.min(d * h * w, 8192); // GEMM rate is flat in M; keeps [M, K] under binding limits
  const a = tensor([m, k4], 0.1);
  const b = tensor([co, k4], 0.1);
  const out = tensor([m, co]);
  const gemm = (2 * m * co * k4) / await best(() => matmul(gpu, { x: a, weight: b, out })) / 1e9;
  const rates = async (variant: Conv3dVariant) => {
    const fwd = flops / await best((t) =>
      conv3d(gpu, { x, weight, padding: [1, 1, 1], out: y, transients: t, variant })
    ) / 1e9;
    const dX = flops / await best((t) =>
      conv3dBackwardData(gpu, {
        dy: y,
        weight,
        inputShape: xs,
        padding: [1, 1, 1],
        out: dx,
        transients: t,
        variant,
      })
    ) / 1e9;
    const dW = flops / await best((t) =>
      conv3dBackwardWeights(gpu, {
        x,
        dy: y,
        kernel: [3, 3, 3],
        padding: [1, 1, 1],
        dweight: dw,
        transients: t,
        variant,
      })
    ) / 1e9;
    return [fwd, dX, dW];
  };
  const g = await rates("gemm");
  const direct = values["skip-direct"] ? [NaN, NaN, NaN] : await rates("direct");
  const r = g.map((v) =>
    v / gemm
  );
  ratios.push(...r);
  const f = (v: number) => ` ${v.toFixed(2).padStart(8)}`;
  console.log(
    `${name} @ ${xs.slice(2).join("×")}`.padEnd(44) + f(gemm) + g.map(f).join("") + " |" +
      direct.map(f).join("") + " | " + r.map((v) => v.toFixed(2)).join(", "),
  );
  for (const t of [x, weight, y, dx, dw, a, b, out]) t.buffer.destroy();
}
console.log(
  `conv3d / GEMM GFLOP/s: min ${Math.min(...ratios).toFixed(2)}, mean ${
    (ratios.reduce((s, v) => s + v, 0) / ratios.length).toFixed(2)
  } (target >= 0.7)`,
);
gpu.destroy();

// deno-lint-ignore-file no-console -- a benchmark script: printing its figures is its job
/**
 * One training step of the default decoder3d (DECODER3D_DEFAULTS: widths
 * 64/32/16/16/8, patch 32 × 128 × 128, Dice + CE, AdamW) on both backends in
 * one run: the WebGPU network (on this machine's adapter; llvmpipe without a
 * GPU) and the CPU network (the same graph on onnxruntime's CPU kernels,
 * AdamW on the host). Same crop, same parameters; after one warm-up step
 * (pipeline compilation, session creation) each backend is timed over
 * `--steps` steps. Prints seconds per step, convolution GFLOP/s (forward +
 * both backward passes) and the speed-up.
 *
 * The crop comes from a `--size` × `--size` × `--depth` volume whose slices
 * the encoder saw at `--resolution` px (patch 16; `--channels` feature
 * channels, 384 for ViT-S), so the stage count is the one the protocol
 * would use on such a volume.
 *
 * ```sh
 * deno run -A bench/decoder3d_bench.ts [--size 128] [--depth 32] [--resolution 224]
 *   [--channels 384] [--steps 2] [--gpu-steps 1] [--skip-gpu]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { requestGpu } from "../core/gpu.ts";
import { resizeMapping } from "../kernels/upsample3d/upsample3d_ref.ts";
import { DECODER3D_DEFAULTS } from "../plugins/heads/decoder3d/mod.ts";
import {
  type CropTensors,
  type Decoder3dArch,
  Decoder3dNet,
  type Decoder3dNetwork,
  initialParameters,
  parameterShapes,
} from "../plugins/heads/decoder3d/network.ts";
import { Decoder3dCpuNet } from "../plugins/heads/decoder3d/network_cpu.ts";
import { makeCrop, planCrop, stageCount, stageGrids } from "../plugins/heads/decoder3d/geometry.ts";
import { createMulberry32 } from "../core/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: "128" },
    depth: { type: "string", default: "32" },
    resolution: { type: "string", default: "224" },
    channels: { type: "string", default: "384" },
    steps: { type: "string", default: "2" },
    "gpu-steps": { type: "string", default: "1" },
    "skip-gpu": { type: "boolean", default: false },
  },
});
const size = Number(values.size);
const depth = Number(values.depth);
const cells = Number(values.resolution) / 16;
const cf = Number(values.channels);
const h = DECODER3D_DEFAULTS;
const feature: [number, number] = [cells, cells];
const voxels: [number, number] = [size, size];
const stages = stageCount(feature, voxels);
const arch: Decoder3dArch = {
  featureChannels: cf,
  imageChannels: 1,
  numClasses: h.numClasses,
  channels: Array.from({ length: stages + 1 }, (_, s) => h.channels[Math.min(s, 4)]),
  norm: h.norm,
  normGroups: h.normGroups,
  normEps: h.normEps,
  slope: h.slope,
  imageMean: [0],
  imageStd: [1],
};
const plan = planCrop(h.patchSize, depth, feature, voxels);
const crop = makeCrop(plan, 0, [0, 0], feature, voxels, stages);
const grids = stageGrids(feature, voxels, stages);
const rng = createMulberry32(1);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
const nz = crop.z[1];
const gridShapes = crop.grid.map(([y, x]) => [nz, y[1], x[1]] as [number, number, number]);
const last = gridShapes[stages];
const tensors: CropTensors = {
  features: rand(cf * nz * gridShapes[0][1] * gridShapes[0][2]),
  featureShape: gridShapes[0],
  skips: gridShapes.slice(1).map((g) => rand(g[0] * g[1] * g[2])),
  gridShapes,
  mappings: gridShapes.slice(1).map((g, i) =>
    resizeMapping(gridShapes[i], g, {
      inputGrid: [depth, ...grids[i]],
      outputGrid: [depth, ...grids[i + 1]],
      inputStart: [0, crop.grid[i][0][0], crop.grid[i][1][0]],
      outputStart: [0, crop.grid[i + 1][0][0], crop.grid[i + 1][1][0]],
    })
  ),
  labels: Float32Array.from(
    { length: last[0] * last[1] * last[2] },
    (_, i) => (Math.floor(i / last[2]) % last[1] > last[1] / 3 ? 1 : 0),
  ),
};

/** Multiply-adds ×2 of every convolution: forward, input gradient (not the first) and weight gradient. */
function convFlops(): number {
  const shapes = Object.fromEntries(parameterShapes(arch).map((p) => [p.name, p.shape]));
  const at = (name: string, g: readonly number[]) => {
    const [co, ci, k] = shapes[`${name}.weight`];
    return 2 * co * ci * k ** 3 * g[0] * g[1] * g[2];
  };
  let f = 3 * at("stage0.conv", gridShapes[0]) + 2 * at("stage0.proj", gridShapes[0]);
  for (let s = 1; s <= stages; s++) f += 3 * at(`stage${s}.conv`, gridShapes[s]);
  return f + 3 * at("head", gridShapes[stages]);
}

const loss = {
  includeBackground: h.includeBackground,
  ceWeight: h.ceWeight,
  diceWeight: h.diceWeight,
  smoothNr: h.smoothNr,
  smoothDr: h.smoothDr,
};

async function time(net: Decoder3dNetwork, steps: number): Promise<{ s: number; loss: number }> {
  // warm-up (compiles the pipelines / creates the session); its loss is on the initial parameters
  const first = await net.trainStep(tensors, h.lr, loss, h.weightDecay);
  const t = performance.now();
  for (let i = 0; i < steps; i++) await net.trainStep(tensors, h.lr, loss, h.weightDecay);
  return { s: (performance.now() - t) / 1000 / steps, loss: first.loss };
}

const flops = convFlops();
console.log(
  `decoder3d default, one training step: widths ${arch.channels.join("/")}, ${stages} stages, ` +
    `crop ${gridShapes.map((g) => g.join("×")).join(" → ")}, ${cf} feature channels, ` +
    `${(flops / 1e9).toFixed(1)} GFLOP of convolutions per step`,
);
const params = initialParameters(arch, createMulberry32(2));
const cpu = Decoder3dCpuNet.create(arch, params);
const c = await time(cpu, Number(values.steps));
console.log(
  `cpu (${cpu.runtime}): ${c.s.toFixed(3)} s/step, ${(flops / c.s / 1e9).toFixed(1)} GFLOP/s`,
);
cpu.dispose();
if (!values["skip-gpu"]) {
  const gpu = await requestGpu();
  const net = new Decoder3dNet(gpu, arch, params);
  const g = await time(net, Number(values["gpu-steps"]));
  console.log(
    `webgpu (${gpu.info.description || gpu.info.device}${
      gpu.info.isSoftware ? ", software" : ""
    }): ${g.s.toFixed(3)} s/step, ${(flops / g.s / 1e9).toFixed(1)} GFLOP/s`,
  );
  console.log(
    `cpu is ${(g.s / c.s).toFixed(1)}× faster than webgpu here (loss of the first step: cpu ${
      c.loss.toFixed(5)
    }, webgpu ${g.loss.toFixed(5)})`,
  );
  net.dispose();
  gpu.destroy();
}

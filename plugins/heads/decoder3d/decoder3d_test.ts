import assert from "node:assert/strict";
import {
  augmentBox,
  augmentMapping,
  cropBox,
  drawAugmentation,
  f16Table,
  gaussianWindow,
  imagePyramid,
  learningRate,
  makeCrop,
  planCrop,
  slidingWindows,
  stageCount,
  stageGrids,
  windowStarts,
} from "./geometry.ts";
import { createDecoder3dHead, loadDecoder3dHead, resolveDecoder3dOptions } from "./decoder3d.ts";
import { Decoder3dNet, groupsFor, initialParameters, parameterShapes } from "./network.ts";
import { decoder3dHead } from "./mod.ts";
import { resizeMapping, upsample3dRef } from "../../../kernels/upsample3d/upsample3d_ref.ts";
import {
  assertAllClose,
  hasGpu,
  randomTensor,
  requireGpu,
  seededRandom,
  testGpu,
} from "../../../kernels/_testing.ts";
import { numberToF16Bits } from "../../../core/tensor.ts";
import { computeDice } from "../../metrics/overlap.ts";

Deno.test("stageCount() and stageGrids() follow log2 of voxels per cell", () => {
  assert.equal(stageCount([4, 4], [64, 64]), 4);
  assert.equal(stageCount([14, 14], [512, 512]), 5); // 224-px slices of a 512 CT: 36.6 voxels per cell
  assert.equal(stageCount([32, 32], [32, 32]), 1);
  assert.deepEqual(stageGrids([14, 12], [512, 400], 3), [[14, 12], [28, 24], [56, 48], [512, 400]]);
});

Deno.test("planCrop() and makeCrop() align cells, stage grids and voxels", () => {
  const plan = planCrop([16, 32, 32], 40, [4, 4], [64, 64]);
  assert.deepEqual(plan, { depth: 16, cells: [2, 2], voxels: [32, 32] });
  const crop = makeCrop(plan, 3, [1, 2], [4, 4], [64, 64], 4);
  assert.deepEqual(crop.z, [3, 16]);
  assert.deepEqual(crop.grid[0], [[1, 2], [2, 2]]);
  assert.deepEqual(crop.grid[2], [[4, 8], [8, 8]]);
  assert.deepEqual(crop.grid[4], [[16, 32], [32, 32]]);
  // non-integer voxels per cell: one extra voxel, and crops end inside the volume
  const odd = planCrop([32, 100, 100], 20, [14, 14], [512, 512]);
  assert.deepEqual(odd.cells, [3, 3]);
  assert.equal(odd.voxels[0], Math.ceil(3 * 512 / 14) + 1);
  const last = makeCrop(odd, 0, [11, 11], [14, 14], [512, 512], 5);
  assert.equal(last.grid[5][0][0] + last.grid[5][0][1], 512);
});

Deno.test("slidingWindows() cover every voxel of odd-sized volumes", () => {
  for (
    const [feature, voxels, depth, patch] of [
      [[4, 5], [64, 75], 19, [8, 32, 32]],
      [[14, 14], [512, 512], 7, [4, 100, 100]],
      [[2, 2], [20, 20], 3, [8, 64, 64]],
    ] as const
  ) {
    const stages = stageCount(feature, voxels);
    const plan = planCrop(patch, depth, feature, voxels);
    const covered = new Uint8Array(depth * voxels[0] * voxels[1]);
    const ws = slidingWindows(plan, depth, feature, voxels, stages, 0.5);
    for (let i = 1; i < ws.length; i++) assert.ok(ws[i].z[0] >= ws[i - 1].z[0], "z-slowest order");
    for (const w of ws) {
      const [[y0, ny], [x0, nx]] = w.grid[stages];
      assert.ok(y0 >= 0 && y0 + ny <= voxels[0] && x0 >= 0 && x0 + nx <= voxels[1]);
      for (let z = w.z[0]; z < w.z[0] + w.z[1]; z++) {
        for (let y = y0; y < y0 + ny; y++) {
          for (let x = x0; x < x0 + nx; x++) covered[(z * voxels[0] + y) * voxels[1] + x] = 1;
        }
      }
    }
    assert.equal(covered.indexOf(0), -1, `uncovered voxel for ${voxels}`);
  }
  assert.deepEqual(windowStarts(5, 2, 0), [0, 2, 3]);
});

Deno.test("augmentBox(): four quarter turns and double flips are the identity", () => {
  const x = randomTensor([2, 3, 4, 4], 1).data;
  let r = x;
  for (let i = 0; i < 4; i++) {
    r = augmentBox(r, [2, 3, 4, 4], { flip: [false, false, false], rot90: 1 });
  }
  assert.deepEqual([...r], [...x]);
  const f = { flip: [true, true, true] as [boolean, boolean, boolean], rot90: 0 };
  assert.deepEqual([...augmentBox(augmentBox(x, [2, 3, 4, 4], f), [2, 3, 4, 4], f)], [...x]);
  assert.throws(
    () => augmentBox(x.subarray(0, 24), [1, 1, 4, 6], { flip: [false, false, false], rot90: 1 }),
    RangeError,
  );
});

Deno.test("augmentMapping(): resampling an augmented crop equals augmenting the resampled crop", () => {
  const rng = seededRandom(3);
  const inExt: [number, number, number] = [3, 4, 4];
  const outExt: [number, number, number] = [3, 8, 8];
  const m = resizeMapping(inExt, outExt, {
    inputGrid: [3, 8, 8],
    outputGrid: [3, 16, 16],
    inputStart: [0, 2, 1],
    outputStart: [0, 4, 2],
  });
  const x = randomTensor([1, 2, ...inExt], 4);
  for (let i = 0; i < 12; i++) {
    const aug = drawAugmentation(rng, true);
    const direct = augmentBox(upsample3dRef(x, outExt, m).data, [2, ...outExt], aug);
    const viaMap = upsample3dRef(
      { data: augmentBox(x.data, [2, ...inExt], aug), shape: x.shape },
      outExt,
      augmentMapping(m, inExt, outExt, aug),
    ).data;
    assertAllClose(viaMap, direct, { atol: 1e-5 }, `aug ${JSON.stringify(aug)}`);
  }
});

Deno.test("cropBox() widens half precision; imagePyramid() keeps the full-resolution level", () => {
  const bits = Uint16Array.from([1, 2, 3, 4, 5, 6, 7, 8], (v) => numberToF16Bits(v / 4));
  assert.deepEqual([...cropBox(bits, [1, 2, 2, 2], [1, 1], [0, 2], [1, 1])], [6 / 4, 8 / 4]);
  assert.equal(f16Table()[numberToF16Bits(0.5)], 0.5);
  const image = new Float32Array(2 * 4 * 4).fill(1);
  const levels = imagePyramid(image, 1, [2, 4, 4], [[1, 1], [2, 2], [4, 4]]);
  assert.equal(levels[2], image);
  assertAllClose(levels[0], [1, 1], { atol: 1e-6 });
  assert.equal(levels[1].length, 8);
});

Deno.test("gaussianWindow() peaks at 1 in the centre and is positive everywhere", () => {
  const g = gaussianWindow([4, 9, 9]);
  assert.ok(Math.abs(Math.max(...g) - Math.exp(-(0.5 ** 2) / (2 * 0.5 ** 2))) < 1e-6);
  assert.ok(g[(1 * 9 + 4) * 9 + 4] > g[(1 * 9 + 4) * 9 + 0]);
  assert.ok(g.every((v) => v > 0));
});

Deno.test("learningRate(): warm-up, cosine and constant schedules", () => {
  const s = { lr: 1, warmupSteps: 0, schedule: "cosine" as const, minLr: 0.1 };
  assert.equal(learningRate(1, 10, s), 1);
  assert.ok(learningRate(10, 10, s) > 0.1 && learningRate(10, 10, s) < 0.2);
  assert.equal(learningRate(7, 10, { ...s, schedule: "constant" }), 1);
  assert.equal(learningRate(2, 10, { ...s, warmupSteps: 4 }), 0.5);
});

Deno.test("resolveDecoder3dOptions() and the network's parameter list", () => {
  assert.throws(() => resolveDecoder3dOptions({ patchSize: [1, 2] }), RangeError);
  assert.throws(() => resolveDecoder3dOptions({ numClasses: 1 }), RangeError);
  assert.throws(() => resolveDecoder3dOptions({ schedule: "step" }), TypeError);
  assert.throws(() => resolveDecoder3dOptions({ augment: 1 }), TypeError);
  assert.equal(groupsFor(12, 8), 6);
  assert.equal(groupsFor(7, 8), 7);
  const arch = {
    featureChannels: 6,
    imageChannels: 2,
    numClasses: 3,
    channels: [8, 4, 4],
    norm: "group" as const,
    normGroups: 8,
    normEps: 1e-5,
    slope: 0.01,
    imageMean: [0, 0],
    imageStd: [1, 1],
  };
  const shapes = Object.fromEntries(parameterShapes(arch).map((p) => [p.name, p.shape]));
  assert.deepEqual(shapes["stage0.proj.weight"], [8, 6, 1, 1, 1]);
  assert.deepEqual(shapes["stage1.conv.weight"], [4, 8 + 2, 3, 3, 3]);
  assert.deepEqual(shapes["stage2.conv.weight"], [4, 4 + 2, 3, 3, 3]);
  assert.deepEqual(shapes["stage2.conv.bias"], [4]); // full resolution: bias, no norm
  assert.equal(shapes["stage2.conv.norm.weight"], undefined);
  assert.deepEqual(shapes["head.weight"], [3, 4 + 2, 1, 1, 1]);
  assert.deepEqual(shapes["head.bias"], [3]);
  assert.equal(shapes["stage1.conv.bias"], undefined);
  const a = initialParameters(arch, seededRandom(1));
  const b = initialParameters(arch, seededRandom(1));
  assert.deepEqual(a["stage1.conv.weight"], b["stage1.conv.weight"]);
  assert.ok(
    a["stage0.norm.weight"] === undefined && a["stage0.conv.norm.weight"].every((v) => v === 1),
  );
  assert.equal(decoder3dHead.tasks[0], "segmentation");
});

/** A small synthetic sample: a bright ellipsoid (the label) in noise; random features. */
function blobCase(seed: number, d = 8, hw = 32, cells = 2) {
  const r = seededRandom(seed);
  const c = [d / 2, 8 + r() * 16, 8 + r() * 16];
  const rad = 6 + r() * 3;
  const image = new Float32Array(d * hw * hw);
  const labels = new Uint8Array(d * hw * hw);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < hw; y++) {
      for (let x = 0; x < hw; x++) {
        const i = (z * hw + y) * hw + x;
        const inside =
          ((z - c[0]) / (d / 2)) ** 2 + ((y - c[1]) / rad) ** 2 + ((x - c[2]) / rad) ** 2 < 1;
        labels[i] = inside ? 1 : 0;
        image[i] = (inside ? 0.7 : 0.35) + (r() - 0.5) * 0.15;
      }
    }
  }
  const features = randomTensor([4, d, cells, cells], seed + 100).data;
  const data = {
    features: { data: features, shape: [4, d, cells, cells] as [number, number, number, number] },
    image,
    imageChannels: 1,
    shape: [d, hw, hw] as [number, number, number],
    labels,
  };
  return { id: `blob${seed}`, load: () => Promise.resolve(data) };
}

Deno.test({
  name: "decoder3d fit() is deterministic for a seed, and save/load predicts the same",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    const options = {
      gpu,
      backend: "webgpu" as const,
      numClasses: 2,
      channels: [8, 8, 4, 4],
      lr: 1e-2,
      epochs: 2,
      cropsPerVolume: 2,
      patchSize: [8, 16, 16] as [number, number, number],
    };
    const train = [blobCase(1), blobCase(2)];
    const a = createDecoder3dHead(options);
    const b = createDecoder3dHead(options);
    const ra = await a.fit(train, undefined, { seed: 7 });
    const rb = await b.fit(train, undefined, { seed: 7 });
    assert.deepEqual(ra.losses, rb.losses);
    assert.deepEqual(a.parameters!["head.weight"], b.parameters!["head.weight"]);
    assert.equal(a.hyperparameters.stages, 4);
    const c = loadDecoder3dHead(a.save(), { gpu });
    const test = await blobCase(3).load();
    assert.deepEqual((await c.predictVolume(test)).labels, (await a.predictVolume(test)).labels);
    assert.deepEqual(c.arch, a.arch);
    for (const head of [a, b, c]) head.dispose();
    assert.throws(() => createDecoder3dHead({ numClasses: 2 }).save(), /not trained/);
  },
});

Deno.test({
  name: "decoder3d learns a bright blob from the image skips (random features)",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    const a = createDecoder3dHead({
      gpu,
      backend: "webgpu",
      numClasses: 2,
      channels: [8, 8, 4, 4],
      lr: 1e-2,
      epochs: 10,
      cropsPerVolume: 3,
      patchSize: [8, 16, 16],
    });
    const report = await a.fit([blobCase(1), blobCase(2)], undefined, { seed: 7 });
    assert.ok(report.losses.at(-1)! < report.losses[0], `loss ${report.losses}`);
    const test = await blobCase(3).load();
    const pa = await a.predictVolume(test);
    const dice = computeDice(
      { data: pa.labels, shape: test.shape },
      { data: test.labels, shape: test.shape },
      {
        numClasses: 2,
      },
    )[0];
    assert.ok(dice > 0.6, `dice ${dice}`);
    a.dispose();
  },
});

for (const norm of ["group", "none"] as const) {
  Deno.test({
    name:
      `Decoder3dNet gradients of every parameter match finite differences of the GPU loss (norm ${norm})`,
    ignore: !hasGpu && !requireGpu,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = await testGpu();
      if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
      const arch = {
        featureChannels: 3,
        imageChannels: 1,
        numClasses: 2,
        channels: [4, 4, 4],
        norm,
        normGroups: 2,
        normEps: 1e-5,
        slope: 0.1,
        imageMean: [0],
        imageStd: [1],
      };
      const params = initialParameters(arch, seededRandom(1));
      const g: [number, number, number][] = [[2, 2, 2], [2, 4, 4], [2, 8, 8]];
      const crop = {
        features: randomTensor([3, ...g[0]], 2).data,
        featureShape: g[0],
        skips: [randomTensor([1, ...g[1]], 3).data, randomTensor([1, ...g[2]], 4).data],
        gridShapes: g,
        mappings: [resizeMapping(g[0], g[1]), resizeMapping(g[1], g[2])],
        labels: new Float32Array(2 * 64).map((_, i) => (i % 5 === 0 ? 1 : 0)),
      };
      const loss = {
        includeBackground: false,
        ceWeight: 1,
        diceWeight: 1,
        smoothNr: 1e-5,
        smoothDr: 1e-5,
      };
      const lossAt = async () => {
        const n = new Decoder3dNet(gpu, arch, params);
        const v = await n.lossAndGradients(crop, loss);
        n.dispose();
        return v.loss;
      };
      const net = new Decoder3dNet(gpu, arch, params);
      await net.lossAndGradients(crop, loss);
      const grads = await net.gradients();
      net.dispose();
      let checked = 0;
      for (const name of Object.keys(params)) {
        for (const i of [0, params[name].length - 1]) {
          const keep = params[name][i];
          params[name][i] = keep + 1e-2;
          const a = await lossAt();
          params[name][i] = keep - 1e-2;
          const b = await lossAt();
          params[name][i] = keep;
          const numeric = (a - b) / 2e-2;
          assert.ok(
            Math.abs(grads[name][i] - numeric) <= 2e-4 + 0.05 * Math.abs(numeric),
            `${name}[${i}]: analytic ${grads[name][i]} vs numeric ${numeric}`,
          );
          checked++;
        }
      }
      assert.equal(checked, 2 * parameterShapes(arch).length);
    },
  });
}

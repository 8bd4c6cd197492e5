import assert from "node:assert/strict";
import { axisMatrix, Decoder3dCpuNet } from "./network_cpu.ts";
import { type CropTensors, Decoder3dNet, initialParameters, parameterShapes } from "./network.ts";
import { createDecoder3dHead, loadDecoder3dHead } from "./decoder3d.ts";
import {
  resizeMapping,
  upsample3dBackwardRef,
  upsample3dRef,
} from "../../../kernels/upsample3d/upsample3d_ref.ts";
import { segLossRef } from "../../../kernels/dice_ce/dice_ce_ref.ts";
import {
  assertAllClose,
  hasGpu,
  randomTensor,
  requireGpu,
  seededRandom,
  testGpu,
} from "../../../kernels/_testing.ts";
import { chooseTrainingBackend } from "../_common.ts";

const LOSS = {
  includeBackground: false,
  ceWeight: 1,
  diceWeight: 1,
  smoothNr: 1e-5,
  smoothDr: 1e-5,
};

function tinyArch(norm: "group" | "none") {
  return {
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
}

function tinyCrop(): CropTensors {
  const g: [number, number, number][] = [[2, 2, 2], [2, 4, 4], [2, 8, 8]];
  return {
    features: randomTensor([3, ...g[0]], 2).data,
    featureShape: g[0],
    skips: [randomTensor([1, ...g[1]], 3).data, randomTensor([1, ...g[2]], 4).data],
    gridShapes: g,
    // a crop of a larger grid: offsets that are not the plain resize
    mappings: [
      resizeMapping(g[0], g[1], {
        inputGrid: [2, 6, 6],
        outputGrid: [2, 12, 12],
        inputStart: [0, 1, 2],
        outputStart: [0, 2, 4],
      }),
      resizeMapping(g[1], g[2]),
    ],
    labels: new Float32Array(2 * 64).map((_, i) => (i % 5 === 0 ? 1 : 0)),
  };
}

Deno.test("axisMatrix() resamples like upsample3dRef, and its transpose is the backward pass", () => {
  const x = randomTensor([1, 2, 3, 4, 5], 1);
  const m = resizeMapping([3, 4, 5], [3, 8, 10], {
    inputGrid: [3, 6, 7],
    outputGrid: [3, 12, 14],
    inputStart: [0, 1, 2],
    outputStart: [0, 3, 4],
  });
  const y = upsample3dRef(x, [3, 8, 10], m);
  const mh = axisMatrix(m, 1, 4, 8);
  const mw = axisMatrix(m, 2, 5, 10);
  const mz = axisMatrix(m, 0, 3, 3);
  assertAllClose(mz, [1, 0, 0, 0, 1, 0, 0, 0, 1], { atol: 0 });
  const viaMatrices = new Float32Array(y.data.length);
  const dy = randomTensor([1, 2, 3, 8, 10], 2);
  const dx = new Float64Array(x.data.length);
  for (let c = 0; c < 2; c++) {
    for (let z = 0; z < 3; z++) {
      for (let oy = 0; oy < 8; oy++) {
        for (let ox = 0; ox < 10; ox++) {
          let v = 0;
          for (let iy = 0; iy < 4; iy++) {
            for (let ix = 0; ix < 5; ix++) {
              const w = mh[oy * 4 + iy] * mw[ox * 5 + ix];
              v += w * x.data[((c * 3 + z) * 4 + iy) * 5 + ix];
              dx[((c * 3 + z) * 4 + iy) * 5 + ix] += w * dy.data[((c * 3 + z) * 8 + oy) * 10 + ox];
            }
          }
          viaMatrices[((c * 3 + z) * 8 + oy) * 10 + ox] = v;
        }
      }
    }
  }
  assertAllClose(viaMatrices, y.data, { atol: 1e-6 });
  assertAllClose(dx, upsample3dBackwardRef(dy, x.shape, m).data, { atol: 1e-5 });
});

for (const norm of ["none", "group"] as const) {
  Deno.test({
    name: `Decoder3dCpuNet gradients match finite differences of its loss (norm ${norm})`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const arch = tinyArch(norm);
      const params = initialParameters(arch, seededRandom(1));
      const crop = tinyCrop();
      const net = Decoder3dCpuNet.create(arch, params);
      const value = await net.lossAndGradients(crop, LOSS);
      const grads = await net.gradients();
      assert.ok(Number.isFinite(value.loss) && value.loss > 0);
      const probe = Decoder3dCpuNet.create(arch, params);
      const lossAt = async (values: Record<string, Float32Array>) => {
        probe.assign(values);
        return (await probe.lossAndGradients(crop, LOSS)).loss;
      };
      let checked = 0;
      for (const { name } of parameterShapes(arch)) {
        for (const i of [0, params[name].length - 1]) {
          const keep = params[name][i];
          params[name][i] = keep + 1e-2;
          const a = await lossAt(params);
          params[name][i] = keep - 1e-2;
          const b = await lossAt(params);
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
      net.dispose();
      probe.dispose();
    },
  });
}

Deno.test({
  name:
    "Decoder3dCpuNet: the head's logits gradient is segLossRef's (one 1×1×1 head, no hidden layers)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // With every weight but the head's zero except its bias, the logits are
    // the head bias everywhere: the loss and the bias gradient follow from
    // segLossRef on constant logits.
    const arch = tinyArch("none");
    const params = initialParameters(arch, seededRandom(2));
    for (const name of Object.keys(params)) if (name !== "head.bias") params[name].fill(0);
    params["head.bias"].set([0.3, -0.2]);
    const crop = tinyCrop();
    const net = Decoder3dCpuNet.create(arch, params);
    const value = await net.lossAndGradients(crop, LOSS);
    const voxels = 128;
    const logits = new Float32Array(2 * voxels);
    logits.fill(0.3, 0, voxels);
    logits.fill(-0.2, voxels);
    const ref = segLossRef(
      { data: logits, shape: [1, 2, 2, 8, 8] },
      { data: crop.labels!, shape: [1, 2, 8, 8] },
      LOSS,
    );
    assert.ok(Math.abs(value.loss - ref.value.loss) < 1e-5, `${value.loss} vs ${ref.value.loss}`);
    const grads = await net.gradients();
    const expected = [0, 1].map((c) =>
      ref.grad.data.subarray(c * voxels, (c + 1) * voxels).reduce((s, v) => s + v, 0)
    );
    assertAllClose(grads["head.bias"], expected, { atol: 1e-6 });
    net.dispose();
  },
});

for (const norm of ["none", "group"] as const) {
  Deno.test({
    name:
      `Decoder3dCpuNet and the WebGPU Decoder3dNet agree on loss, gradients and probabilities (norm ${norm})`,
    ignore: !hasGpu && !requireGpu,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = await testGpu();
      if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
      const arch = tinyArch(norm);
      const params = initialParameters(arch, seededRandom(3));
      const crop = tinyCrop();
      const cpu = Decoder3dCpuNet.create(arch, params);
      const web = new Decoder3dNet(gpu, arch, params);
      const a = await cpu.lossAndGradients(crop, LOSS);
      const b = await web.lossAndGradients(crop, LOSS);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
      const ga = await cpu.gradients();
      const gb = await web.gradients();
      for (const { name } of parameterShapes(arch)) {
        assertAllClose(ga[name], gb[name], { atol: 1e-6, rtol: 1e-3 }, name);
      }
      assertAllClose(await cpu.predictCrop(crop), await web.predictCrop(crop), { atol: 1e-5 });
      // one AdamW step each: the same parameters after it
      await cpu.trainStep(crop, 1e-2, LOSS, 0.01);
      await web.trainStep(crop, 1e-2, LOSS, 0.01);
      const pa = await cpu.parameters();
      const pb = await web.parameters();
      for (const { name } of parameterShapes(arch)) {
        assertAllClose(pa[name].data, pb[name].data, { atol: 1e-5 }, name);
      }
      assert.equal(cpu.steps, 1);
      cpu.dispose();
      web.dispose();
    },
  });
}

/** A bright ball (the label) in noise, with random features. */
function ballCase(seed: number, d = 8, hw = 32, cells = 2) {
  const r = seededRandom(seed);
  const c = [d / 2, 10 + r() * 12, 10 + r() * 12];
  const image = new Float32Array(d * hw * hw);
  const labels = new Uint8Array(d * hw * hw);
  for (let i = 0; i < image.length; i++) {
    const z = Math.floor(i / (hw * hw));
    const y = Math.floor(i / hw) % hw;
    const x = i % hw;
    const inside = ((z - c[0]) / (d / 2)) ** 2 + ((y - c[1]) / 7) ** 2 + ((x - c[2]) / 7) ** 2 < 1;
    labels[i] = inside ? 1 : 0;
    image[i] = (inside ? 0.7 : 0.35) + (r() - 0.5) * 0.15;
  }
  const data = {
    features: {
      data: randomTensor([4, d, cells, cells], seed + 100).data,
      shape: [4, d, cells, cells] as [number, number, number, number],
    },
    image,
    imageChannels: 1,
    shape: [d, hw, hw] as [number, number, number],
    labels,
  };
  return { id: `ball${seed}`, load: () => Promise.resolve(data) };
}

Deno.test({
  name: "decoder3d backend cpu: learns, reports each epoch and volume, records its backend, saves",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const options = {
      backend: "cpu" as const,
      numClasses: 2,
      channels: [8, 8, 4, 4],
      lr: 1e-2,
      epochs: 8,
      cropsPerVolume: 3,
      patchSize: [8, 16, 16] as [number, number, number],
    };
    const head = createDecoder3dHead(options);
    const epochs: number[] = [];
    const report = await head.fit([ballCase(1), ballCase(2)], undefined, {
      seed: 7,
      onProgress: (p) => {
        assert.equal(p.epochs, 8);
        assert.ok(Number.isFinite(p.loss));
        epochs.push(p.epoch);
      },
    });
    assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(report.losses.at(-1)! < report.losses[0], `losses ${report.losses}`);
    assert.equal(head.hyperparameters.backend, "cpu");
    assert.match(String(head.hyperparameters.backendReason), /requested backend cpu/);
    const test = ballCase(3);
    const seen: string[] = [];
    const [pred] = await head.predict([test], {
      onVolume: (done, total, id) => {
        assert.equal(total, 1);
        seen.push(`${done}:${id}`);
      },
    });
    assert.deepEqual(seen, ["1:ball3"]);
    const truth = (await test.load()).labels;
    let inter = 0;
    let sum = 0;
    for (let i = 0; i < truth.length; i++) {
      inter += pred.labels[i] === 1 && truth[i] === 1 ? 1 : 0;
      sum += (pred.labels[i] === 1 ? 1 : 0) + truth[i];
    }
    assert.ok(2 * inter / sum > 0.6, `dice ${2 * inter / sum}`);
    const again = loadDecoder3dHead(head.save());
    assert.deepEqual((await again.predictVolume(await test.load())).labels, pred.labels);
    head.dispose();
    again.dispose();
  },
});

Deno.test("chooseTrainingBackend(): auto takes the CPU on a software adapter or none", () => {
  const sw = { description: "llvmpipe (LLVM 15.0.6, 256 bits)", isSoftware: true };
  const hw = { description: "NVIDIA H100", isSoftware: false };
  assert.equal(chooseTrainingBackend("auto", sw).backend, "cpu");
  assert.match(chooseTrainingBackend("auto", sw).reason, /"llvmpipe.*" is a software adapter/);
  assert.equal(chooseTrainingBackend("auto", undefined).backend, "cpu");
  assert.equal(chooseTrainingBackend("auto", hw).backend, "webgpu");
  assert.equal(chooseTrainingBackend("cpu", hw).backend, "cpu");
  assert.equal(chooseTrainingBackend("webgpu", sw).backend, "webgpu");
  assert.throws(() => chooseTrainingBackend("gpu" as never, hw), TypeError);
  assert.throws(() => createDecoder3dHead({ backend: "gpu" as never }), TypeError);
});

Deno.test({
  name: "decoder3d backend auto on the test adapter: the choice follows the adapter",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    const head = createDecoder3dHead({
      gpu,
      numClasses: 2,
      channels: [4, 4],
      epochs: 1,
      cropsPerVolume: 1,
      patchSize: [8, 16, 16],
    });
    await head.fit([ballCase(4)], undefined, { seed: 1 });
    assert.equal(head.hyperparameters.backend, gpu.info.isSoftware ? "cpu" : "webgpu");
    assert.match(String(head.hyperparameters.backendReason), /^auto: /);
    head.dispose();
  },
});

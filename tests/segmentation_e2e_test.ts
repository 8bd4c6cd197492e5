/**
 * End to end on generated data: a synthetic MSD Task09_Spleen (NIfTI with
 * affines) → a random (NOT pretrained) tiny DINOv3 on onnxruntime → the
 * slice-stack features in the float16 cache → decoder3d trained on WebGPU →
 * sliding-window masks → Dice on a held-out patient.
 *
 * A random encoder still gives per-patch features, and the decoder's skip
 * connections carry the image intensities, so the bright synthetic organ is
 * learnable. The head options are the protocol's except for a short, fast
 * schedule (lr 5e-3 for 12 epochs instead of 1e-4 for many): the test
 * checks the pipeline, not the protocol's numbers.
 */

import assert from "node:assert/strict";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";
import { parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { createDinov3OnnxEncoder } from "../plugins/encoders/dinov3/onnx.ts";
import { MSD_TASKS, synthesizeMsd } from "../plugins/modalities/_msd/msd.ts";
import { runTask } from "../core/experiment.ts";
import { createDefaultRegistry } from "../plugins/builtin.ts";
import { validateResultRecord } from "../core/result.ts";
import { readNifti } from "../plugins/formats/nifti/mod.ts";
import { hasGpu, requireGpu, testGpu } from "../kernels/_testing.ts";

Deno.test({
  name: "segmentation end to end: synthetic spleen, random DINOv3, decoder3d reaches Dice >= 0.7",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    const dir = await Deno.makeTempDir({ prefix: "medprobe_seg_e2e_" });
    try {
      const config = parseDinov3Config({
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 256,
      });
      await writeRandomDinov3(`${dir}/weights`, config, 0);
      await synthesizeMsd(`${dir}/data`, MSD_TASKS["Task09_Spleen"], {
        count: 4,
        seed: 1,
        size: 64,
        depth: 32,
      });
      const encoder = await createDinov3OnnxEncoder(`${dir}/weights`);
      try {
        const record = await runTask(createDefaultRegistry(), encoder, {
          dataset: "ct/msd-task09",
          root: `${dir}/data`,
          encoderMeta: { weights: `${dir}/weights`, pretrained: false },
          out: `${dir}/out`,
          version: "test",
          resolution: 128,
          batchSize: 16,
          taskOptions: { folds: 4, runFolds: 1 },
          seed: 0,
          headBackend: "webgpu",
          headOptions: {
            gpu,
            channels: [16, 16, 8, 4],
            lr: 5e-3,
            epochs: 12,
            cropsPerVolume: 4,
            patchSize: [16, 32, 32],
            foregroundOversample: 0.5,
          },
        });
        validateResultRecord(JSON.parse(await Deno.readTextFile(`${dir}/out/result.json`)));
        const dice = record.metrics.perLabel.spleen.dice;
        assert.ok(dice !== null && dice >= 0.7, `Dice ${dice}`);
        const hd95 = record.metrics.perLabel.spleen.hd95;
        assert.ok(hd95 !== null && hd95 < 20, `HD95 ${hd95} mm`);
        assert.equal(record.encoder.pretrained, false);
        assert.equal(record.head.hyperparameters.stages, 3); // 64 voxels / 8 cells
        const fold = JSON.parse(await Deno.readTextFile(`${dir}/out/folds/fold_0.json`));
        const mask = await readNifti(`${dir}/out/masks/fold_0/${fold.val[0]}.nii.gz`);
        assert.equal(mask.orientation, "LPS");
        assert.deepEqual(mask.shape, [64, 64, 32]);
      } finally {
        encoder.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

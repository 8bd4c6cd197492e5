import assert from "node:assert/strict";
import { Command } from "commander";
import { parseWindow, registerSegmentationCommands, segmentOptions } from "./segment.ts";
import { evaluate } from "./eval.ts";
import { createDefaultRegistry } from "../plugins/builtin.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";
import { parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { synthesizeAutopet } from "../plugins/modalities/pet/autopet.ts";
import { hasGpu, requireGpu, testGpu } from "../kernels/_testing.ts";

Deno.test("parseWindow() and the segment command's flags", () => {
  assert.equal(parseWindow("percentile"), "percentile");
  assert.deepEqual(parseWindow("[-175,250]"), [-175, 250]);
  assert.deepEqual(parseWindow("[[-160,240],[0,15]]"), [[-160, 240], [0, 15]]);
  assert.throws(() => parseWindow("wide"), /must be "percentile"/);
  const program = new Command("medprobe").exitOverride();
  registerSegmentationCommands(program, createDefaultRegistry());
  const cmd = program.commands.find((c) => c.name() === "segment")!;
  const flags = cmd.options.map((o) => o.long);
  for (
    const f of [
      "--data",
      "--channels",
      "--window",
      "--lr",
      "--patch",
      "--decoder-channels",
      "--run-folds",
      "--no-write-masks",
      "--head-options",
      "--seed",
    ]
  ) {
    assert.ok(flags.includes(f), f);
  }
});

Deno.test({
  name: "segment: pet/autopet end to end with CT+PET channels and a random DINOv3",
  ignore: !hasGpu && !requireGpu,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await testGpu();
    if (!gpu) throw new Error("REQUIRE_GPU=1 but no WebGPU adapter was found");
    const dir = await Deno.makeTempDir({ prefix: "medprobe_segment_cli_" });
    try {
      await writeRandomDinov3(
        `${dir}/w`,
        parseDinov3Config({
          hidden_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          intermediate_size: 64,
        }),
        0,
      );
      await synthesizeAutopet(`${dir}/data`, { count: 7, seed: 1, size: 32, depth: 8 });
      const options = segmentOptions({
        data: `${dir}/data`,
        weights: `${dir}/w`,
        backend: "onnx",
        precision: "f32",
        batch: 16,
        seed: 0,
        plugin: [],
        resolution: 32,
        out: `${dir}/out`,
        channels: "ct+pet",
        quiet: true,
        decoderChannels: [8, 4],
        crops: 1,
        patch: [8, 16, 16],
        epochs: 1,
      });
      // The flags map onto the decoder's options and the dataset's reader.
      assert.deepEqual(options.openOptions, { channels: "ct+pet" });
      assert.deepEqual(options.headOptions, {
        channels: [8, 4],
        cropsPerVolume: 1,
        patchSize: [8, 16, 16],
      });
      const record = await evaluate(
        createDefaultRegistry(),
        "pet/autopet",
        { ...options, headOptions: { ...options.headOptions, gpu } },
        new AbortController().signal,
      );
      assert.equal(record.dataset, "pet/autopet");
      assert.equal(record.folds!.length, 1); // the protocol's single 80/20 split
      assert.deepEqual(record.adapter.settings.window, [[-160, 240], [0, 15]]);
      assert.equal(record.head.hyperparameters.warmupFraction, 0.05);
      assert.equal(record.encoder.dim, 32);
      // 32-pixel slices at 32 px: 2 × 2 cells of 16 voxels → 4 upsampling stages
      assert.deepEqual(record.head.hyperparameters.stageChannels, [8, 4, 4, 4, 4]);
      assert.equal(record.data.counts.cases, 7);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Golden test of the DINOv3 encoder (llm.c's test_gpt2): every stage of the
 * fixture made by the official DINOv3 code in float64 — RoPE tables,
 * embeddings, block 0, prenorm, last_hidden_state, CLS, registers, patch
 * tokens, mean patch token — against both the WebGPU forward and the
 * plain-TypeScript reference forward, within 5e-5, for every group the
 * fixture holds. The groups are enumerated from `expected.safetensors`;
 * `MEDPROBE_DINOV3_FIXTURE` points at another fixture of the same format.
 *
 * A second test runs a random model of real ViT-S width (384, 6 heads, one
 * block) at 224×224 on WebGPU against the reference forward.
 */

import assert from "node:assert/strict";
import { parseSafetensors } from "../core/safetensors.ts";
import type { HostTensor } from "../core/tensor.ts";
import { assertAllClose, gpuTest, randomTensor } from "../kernels/_testing.ts";
import { ropeTables } from "../kernels/rope/rope.ts";
import { parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { dinov3ForwardRef } from "../plugins/encoders/dinov3/forward_ref.ts";
import { createDinov3WebGpuEncoder } from "../plugins/encoders/dinov3/mod.ts";
import {
  loadDinov3Weights,
  openDinov3Checkpoint,
  writeRandomDinov3,
} from "../plugins/encoders/dinov3/weights.ts";

const TOLERANCE = 5e-5;

function fixtureDir(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("MEDPROBE_DINOV3_FIXTURE");
  } catch {
    fromEnv = undefined; // no --allow-env: use the shipped fixture
  }
  return fromEnv ??
    new URL("../fixtures/dinov3/tiny-public", import.meta.url).pathname;
}

const FIXTURE = fixtureDir();
const expected = parseSafetensors(await Deno.readFile(`${FIXTURE}/expected.safetensors`)).tensors;
const GROUPS = Object.keys(expected)
  .filter((name) => name.endsWith(".pixel_values"))
  .map((name) => name.slice(0, -".pixel_values".length))
  .sort();

/** The stages every group is checked on, by fixture name. */
const STAGES = [
  "rope_sin",
  "rope_cos",
  "embeddings",
  "block0",
  "prenorm",
  "last_hidden_state",
  "cls",
  "registers",
  "patch_tokens",
  "patch_mean",
] as const;
type Stage = typeof STAGES[number];

function f64(group: string, stage: Stage): { data: Float64Array; shape: number[] } {
  const t = expected[`${group}.f64.${stage}`];
  assert.ok(t, `the fixture lacks ${group}.f64.${stage}`);
  return { data: t.data as Float64Array, shape: t.shape };
}

function pixels(group: string): HostTensor {
  const t = expected[`${group}.pixel_values`];
  return { data: t.data as Float32Array, shape: t.shape };
}

function checkStages(group: string, actual: Record<Stage, HostTensor>, who: string): void {
  for (const stage of STAGES) {
    const e = f64(group, stage);
    assert.deepEqual(actual[stage].shape, e.shape, `${who} ${group} ${stage} shape`);
    assertAllClose(
      actual[stage].data,
      e.data,
      { atol: TOLERANCE, rtol: 0 },
      `${who} ${group} ${stage}`,
    );
  }
}

Deno.test("the golden fixture holds at least one group with every stage", () => {
  assert.ok(GROUPS.length > 0, `no groups in ${FIXTURE}/expected.safetensors`);
  for (const g of GROUPS) for (const s of STAGES) f64(g, s);
});

for (const group of GROUPS) {
  Deno.test(`dinov3ForwardRef() matches the official f64 outputs of group ${group} within 5e-5`, async () => {
    const opened = await openDinov3Checkpoint(FIXTURE);
    const weights = await loadDinov3Weights(opened.checkpoint, opened.config);
    opened.checkpoint.close();
    const out = dinov3ForwardRef(weights, pixels(group));
    checkStages(group, {
      "rope_sin": out.ropeSin,
      "rope_cos": out.ropeCos,
      embeddings: out.embeddings,
      block0: out.blocks[0],
      prenorm: out.blocks[out.blocks.length - 1],
      "last_hidden_state": out.lastHiddenState,
      cls: out.cls,
      registers: out.registers,
      "patch_tokens": out.patchTokens,
      "patch_mean": out.patchMean,
    }, "reference");
  });

  gpuTest(
    `the WebGPU forward matches the official f64 outputs of group ${group} within 5e-5`,
    async (gpu) => {
      const encoder = await createDinov3WebGpuEncoder(gpu, FIXTURE);
      try {
        const c = encoder.config;
        const px = pixels(group);
        const out = await encoder.encodeToGpu(px, {
          intermediateLayers: [0, c.depth - 1],
          keepEmbeddings: true,
        });
        const [h, w] = out.grid;
        const tables = ropeTables(gpu, h, w, c.headDim, c.ropeTheta); // the tables the pass used
        const read = (t: Parameters<typeof gpu.readTensor>[0]) => gpu.readTensor(t);
        const stages = {
          "rope_sin": await read(tables.sin),
          "rope_cos": await read(tables.cos),
          embeddings: await read(out.embeddings!),
          block0: await read(out.intermediates[0]),
          prenorm: await read(out.intermediates[1]),
          "last_hidden_state": await read(out.lastHiddenState),
          "patch_mean": await read(out.patchMean),
        };
        out.release();
        // cls, registers and patch tokens through the public encode() path.
        const enc = await encoder.encode(px);
        checkStages(group, {
          ...stages,
          cls: enc.cls,
          registers: enc.registers,
          "patch_tokens": enc.patches,
        }, "webgpu");
        assertAllClose(enc.patchMean.data, f64(group, "patch_mean").data, {
          atol: TOLERANCE,
          rtol: 0,
        });
      } finally {
        encoder.dispose();
      }
    },
  );
}

gpuTest(
  "a random ViT-S-width model (384, 6 heads, 1 block) at 224×224 matches the reference forward",
  async (gpu) => {
    const config = parseDinov3Config({
      hidden_size: 384,
      num_hidden_layers: 1,
      num_attention_heads: 6,
      intermediate_size: 1536,
    });
    const dir = await Deno.makeTempDir({ prefix: "medprobe-vits-" });
    try {
      await writeRandomDinov3(dir, config, 7);
      const opened = await openDinov3Checkpoint(dir);
      const weights = await loadDinov3Weights(opened.checkpoint, opened.config);
      opened.checkpoint.close();
      const px = randomTensor([2, 3, 224, 224], 11, 2);
      const ref = dinov3ForwardRef(weights, px);
      const encoder = await createDinov3WebGpuEncoder(gpu, dir, { maxBatch: 1 }); // 2 chunks
      try {
        const out = await encoder.encode(px, { intermediateLayers: [0] });
        assert.deepEqual(out.patches.shape, [2, 14, 14, 384]);
        const tol = { atol: 1e-4, rtol: 1e-4 };
        assertAllClose(out.intermediates![0], ref.blocks[0], tol, "block0");
        assertAllClose(out.cls, ref.cls, tol, "cls");
        assertAllClose(out.registers, ref.registers, tol, "registers");
        assertAllClose(out.patches, ref.patchTokens, tol, "patch tokens");
        assertAllClose(out.patchMean, ref.patchMean, tol, "patch mean");
      } finally {
        encoder.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

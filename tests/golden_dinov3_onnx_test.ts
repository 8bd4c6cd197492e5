/**
 * Golden test of the DINOv3 ONNX backend: every group of the fixture's
 * `expected.safetensors`, on both onnxruntime-node and onnxruntime-web's
 * wasm provider, against the official float64 outputs within 5e-5.
 *
 * The fixture folder is `$MEDPROBE_DINOV3_FIXTURE`, else
 * `fixtures/dinov3/tiny-public` beside the repository (resolved
 * from this file). A missing fixture fails the test rather than skipping.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseSafetensors, type TensorData } from "../core/safetensors.ts";
import { formatShape, type HostTensor } from "../core/tensor.ts";
import { createDinov3OnnxEncoder, exportDinov3Onnx } from "../plugins/encoders/dinov3/onnx.ts";
import { createOnnxEncoder } from "../plugins/encoders/onnx/onnx_encoder.ts";
import { blockOutputName } from "../plugins/encoders/dinov3/onnx_graph.ts";

const TOLERANCE = 5e-5;

const FIXTURE = Deno.env.get("MEDPROBE_DINOV3_FIXTURE") ??
  fileURLToPath(new URL("../fixtures/dinov3/tiny-public", import.meta.url));

type Expected = Record<string, { shape: number[]; data: TensorData }>;

async function loadExpected(): Promise<Expected> {
  try {
    return parseSafetensors(await Deno.readFile(`${FIXTURE}/expected.safetensors`)).tensors;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot run the DINOv3 ONNX golden test as ${FIXTURE}/expected.safetensors is missing: set MEDPROBE_DINOV3_FIXTURE to a fixture folder`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Max |actual - expected| with its index; fails with the first values on mismatch. */
function assertClose(
  what: string,
  actual: HostTensor,
  expected: { shape: number[]; data: TensorData },
) {
  assert.equal(
    formatShape(actual.shape),
    formatShape(expected.shape),
    `${what}: shape ${formatShape(actual.shape)} must be ${formatShape(expected.shape)}`,
  );
  const e = expected.data as Float64Array;
  let max = 0;
  let at = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(actual.data[i] - e[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  assert.ok(
    max <= TOLERANCE,
    `${what}: maxdiff ${max.toExponential(3)} at index ${at} (got ${actual.data[at]}, expected ${
      e[at]
    }); first values got [${[...actual.data.slice(0, 4)].map((v) => v.toFixed(6))}], expected [${
      [...e.slice(0, 4)].map((v) => v.toFixed(6))
    }]`,
  );
  return max;
}

const expected = await loadExpected();
const groups = Object.keys(expected)
  .map((n) => /^(g\d+)\.pixel_values$/.exec(n)?.[1])
  .filter((g): g is string => g !== undefined)
  .sort();

for (const runtime of ["node", "wasm"] as const) {
  Deno.test(`DINOv3 ONNX (${runtime}) matches the f64 fixture within ${TOLERANCE} on every group`, async () => {
    assert.ok(groups.length > 0, `no groups (gK.pixel_values) in ${FIXTURE}/expected.safetensors`);
    const config = JSON.parse(await Deno.readTextFile(`${FIXTURE}/config.json`));
    const depth = config.num_hidden_layers as number;
    const encoder = await createDinov3OnnxEncoder(FIXTURE, {
      runtime,
      intermediateLayers: [0, depth - 1],
    });
    try {
      assert.equal(encoder.info.backend, `onnx-${runtime}`);
      const report: string[] = [];
      for (const g of groups) {
        const px = expected[`${g}.pixel_values`];
        const pixels: HostTensor = { data: px.data as Float32Array, shape: px.shape };
        const out = await encoder.run(pixels);
        const pairs: [string, string][] = [
          ["cls", "cls"],
          ["registers", "registers"],
          ["patch_tokens", "patch_tokens"],
          ["patch_mean", "patch_mean"],
          ["last_hidden_state", "last_hidden_state"],
          [blockOutputName(0), "block0"],
          [blockOutputName(depth - 1), "prenorm"],
        ];
        let worst = 0;
        for (const [ours, theirs] of pairs) {
          const ref = expected[`${g}.f64.${theirs}`];
          if (!ref) continue;
          worst = Math.max(worst, assertClose(`${runtime} ${g} ${ours}`, out[ours], ref));
        }
        // The Encoder interface returns the same tensors.
        const enc = await encoder.encode(pixels, { intermediateLayers: [0] });
        assert.deepEqual(enc.cls.data, out.cls.data);
        assert.deepEqual(enc.patches.shape, out.patch_tokens.shape);
        assert.deepEqual(enc.patches.data, out.patch_tokens.data);
        assert.deepEqual(enc.registers.data, out.registers.data);
        // encode() averages the patch tokens on the host in a fixed order (so a
        // sample's feature does not depend on its batch): equal to the graph's
        // ReduceMean up to rounding, and as close to the fixture.
        const ref = expected[`${g}.f64.patch_mean`];
        if (ref) assertClose(`${runtime} ${g} encode().patchMean`, enc.patchMean, ref);
        for (let i = 0; i < enc.patchMean.data.length; i++) {
          assert.ok(Math.abs(enc.patchMean.data[i] - out.patch_mean.data[i]) < 1e-6);
        }
        assert.deepEqual(enc.intermediates?.[0].data, out[blockOutputName(0)].data);
        report.push(`${g} max ${worst.toExponential(2)}`);
      }
      // Visible with --trace-leaks/-- verbose runs; keeps the error budget in the log.
      // deno-lint-ignore no-console
      console.log(`  ${runtime}: ${report.join(", ")}`);
    } finally {
      encoder.dispose();
    }
  });
}

Deno.test("the generic onnx plugin on the exported DINOv3 model matches the fixture", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_golden_onnx_" });
  try {
    await exportDinov3Onnx(FIXTURE, `${dir}/model.onnx`);
    const descriptor = JSON.parse(
      await Deno.readTextFile(
        new URL("../plugins/encoders/onnx/examples/dinov3_vits16.json", import.meta.url),
      ),
    );
    const config = JSON.parse(await Deno.readTextFile(`${FIXTURE}/config.json`));
    descriptor.outputs.tokens.registers = config.num_register_tokens ?? 4;
    const encoder = await createOnnxEncoder(`${dir}/model.onnx`, descriptor);
    try {
      for (const g of groups) {
        const px = expected[`${g}.pixel_values`];
        const out = await encoder.encode({ data: px.data as Float32Array, shape: px.shape });
        assertClose(`generic ${g} cls`, out.cls, expected[`${g}.f64.cls`]);
        assertClose(`generic ${g} registers`, out.registers, expected[`${g}.f64.registers`]);
        assertClose(`generic ${g} patches`, out.patches, expected[`${g}.f64.patch_tokens`]);
        assertClose(`generic ${g} patchMean`, out.patchMean, expected[`${g}.f64.patch_mean`]);
      }
    } finally {
      encoder.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

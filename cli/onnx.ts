/**
 * `medprobe export-onnx` (write the DINOv3 ONNX graph medprobe builds, for
 * use outside medprobe) and `medprobe onnx-check` (validate a user model's
 * descriptor against the model and run one image through it).
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import { formatShape } from "../core/tensor.ts";
import { exportDinov3Onnx } from "../plugins/encoders/dinov3/onnx.ts";
import { createOnnxEncoder, resolveOnnxSources } from "../plugins/encoders/onnx/onnx_encoder.ts";
import type { OnnxRuntimeRequest } from "../plugins/encoders/onnx/runtime.ts";
import { formatBytes, say } from "./common.ts";
import { resolveWeightsOption } from "./encoder.ts";

/** Parses `0,5,11` into block indices. */
export function parseLayerList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const out = parts.map(Number);
  if (parts.length === 0 || !out.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new InvalidArgumentError(
      `must be comma-separated block indices such as 0,5,11: current value is "${value}"`,
    );
  }
  return out;
}

function runtimeOption(value: string): OnnxRuntimeRequest {
  if (!["node", "wasm", "auto"].includes(value)) {
    throw new InvalidArgumentError(`must be node, wasm or auto: current value is "${value}"`);
  }
  return value as OnnxRuntimeRequest;
}

/** Registers `export-onnx` and `onnx-check`. */
export function registerOnnxCommands(program: Command): void {
  program
    .command("export-onnx")
    .description(
      "Write the DINOv3 ONNX model medprobe builds from a weights folder (opset 17; any batch and any size that is a multiple of the patch size)",
    )
    .requiredOption(
      "--weights <dir>",
      "folder with config.json and model.safetensors, or a Hugging Face id (facebook/dinov3-vits16-pretrain-lvd1689m)",
    )
    .requiredOption("--out <file>", "the .onnx file to write")
    .option(
      "--intermediate-layers <list>",
      "also output these blocks (before the final norm) as block_<i>, e.g. 0,5,11",
      parseLayerList,
    )
    .action(async (opts: { weights: string; out: string; intermediateLayers?: number[] }) => {
      const r = await exportDinov3Onnx(await resolveWeightsOption(opts.weights), opts.out, {
        intermediateLayers: opts.intermediateLayers,
      });
      const c = r.config;
      say(`wrote ${r.path} (${formatBytes(r.bytes)})`);
      say(
        `  DINOv3 dim ${c.dim}, depth ${c.depth}, heads ${c.heads}, patch ${c.patchSize}, ${c.numRegisters} registers`,
      );
      say(
        `  input  pixel_values [batch, ${c.channels}, height, width], ImageNet-normalised RGB, sides multiples of ${c.patchSize}`,
      );
      say(
        `  outputs cls [batch, ${c.dim}], registers [batch, ${c.numRegisters}, ${c.dim}], patch_tokens [batch, h, w, ${c.dim}], patch_mean [batch, ${c.dim}], last_hidden_state [batch, tokens, ${c.dim}]${
          (opts.intermediateLayers ?? []).map((i) => `, block_${i}`).join("")
        }`,
      );
    });

  program
    .command("onnx-check")
    .description(
      "Check an ONNX model and its JSON descriptor (the onnx encoder plugin): list the model's inputs and outputs, validate the descriptor, encode one blank image",
    )
    .requiredOption(
      "--model <file>",
      'the .onnx model, or its descriptor .json (with a "model" field)',
    )
    .option("--descriptor <file>", "the descriptor .json (default: MODEL.json beside the model)")
    .option("--runtime <name>", "onnxruntime: node, wasm or auto", runtimeOption, "auto")
    .option("--json", "print JSON")
    .action(
      async (
        opts: { model: string; descriptor?: string; runtime: OnnxRuntimeRequest; json?: boolean },
      ) => {
        const src = await resolveOnnxSources(opts.model, opts.descriptor);
        const enc = await createOnnxEncoder(src.model, src.descriptor, { runtime: opts.runtime });
        try {
          const [h, w] = src.descriptor.input.size;
          const out = await enc.encode({ data: new Float32Array(3 * h * w), shape: [1, 3, h, w] });
          const report = {
            model: src.model,
            descriptor: src.descriptor.name,
            inputs: enc.session.inputs,
            outputs: enc.session.outputs,
            encoder: enc.info,
            shapes: {
              cls: out.cls.shape,
              registers: out.registers.shape,
              patches: out.patches.shape,
              patchMean: out.patchMean.shape,
            },
          };
          if (opts.json) {
            say(JSON.stringify(report, null, 2));
            return;
          }
          const dims = (s: readonly (number | string)[]) =>
            `[${s.map((d) => d === "" ? "?" : d).join(", ")}]`;
          say(`model ${src.model}: descriptor "${src.descriptor.name}" is valid`);
          for (const v of enc.session.inputs) say(`  input  ${v.name} ${v.type} ${dims(v.shape)}`);
          for (const v of enc.session.outputs) say(`  output ${v.name} ${v.type} ${dims(v.shape)}`);
          say(`  runtime ${enc.info.backend}: ${enc.info.backendReason}`);
          say(
            `  one ${h}x${w} image -> cls ${formatShape(out.cls.shape)}, registers ${
              formatShape(out.registers.shape)
            }, patches ${formatShape(out.patches.shape)}, patchMean ${
              formatShape(out.patchMean.shape)
            }`,
          );
        } finally {
          enc.dispose();
        }
      },
    );
}

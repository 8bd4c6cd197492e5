import assert from "node:assert/strict";
import { Command } from "commander";
import { parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";
import { decodeModel } from "../plugins/encoders/onnx/proto.ts";
import { parseLayerList, registerOnnxCommands } from "./onnx.ts";

function program(): Command {
  const p = new Command("medprobe").exitOverride();
  registerOnnxCommands(p);
  return p;
}

Deno.test("medprobe export-onnx writes a model that onnx-check accepts with a descriptor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medprobe_cli_onnx_" });
  try {
    const config = parseDinov3Config({
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
    });
    await writeRandomDinov3(`${dir}/w`, config, 1);
    await program().parseAsync(
      [
        "export-onnx",
        "--weights",
        `${dir}/w`,
        "--out",
        `${dir}/m.onnx`,
        "--intermediate-layers",
        "1",
      ],
      { from: "user" },
    );
    const m = decodeModel(await Deno.readFile(`${dir}/m.onnx`));
    assert.ok((m.graph?.output ?? []).some((o) => o.name === "block_1"));
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "tiny-dinov3",
        input: {
          name: "pixel_values",
          size: 32,
          mean: [0.485, 0.456, 0.406],
          std: [0.229, 0.224, 0.225],
        },
        patchSize: 16,
        outputs: { cls: { name: "cls" }, patches: { name: "patch_tokens", layout: "BHWC" } },
      }),
    );
    await program().parseAsync(["onnx-check", "--model", `${dir}/m.onnx`, "--runtime", "node"], {
      from: "user",
    });
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "tiny-dinov3",
        input: { name: "pixels", size: 32, mean: [0, 0, 0], std: [1, 1, 1] },
        outputs: { cls: { name: "cls" } },
      }),
    );
    await assert.rejects(
      program().parseAsync(["onnx-check", "--model", `${dir}/m.onnx`], { from: "user" }),
      /input "pixels" is not in the model: model inputs are "pixel_values" float32 \[batch, 3, height, width\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseLayerList() reads comma-separated block indices", () => {
  assert.deepEqual(parseLayerList("0, 5,11"), [0, 5, 11]);
  assert.throws(() => parseLayerList("a"), /block indices/);
  assert.throws(() => parseLayerList("-1"), /block indices/);
});

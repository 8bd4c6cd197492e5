/**
 * DINOv3 checkpoint layout: the expected Hugging Face tensor names and shapes
 * for a config, a loader that checks every name and shape (a missing or
 * mismatched tensor is named in the error), streaming access one tensor at a
 * time (so ViT-L is never held twice), and seeded random weights for tests,
 * benchmarks and the demo.
 *
 * Reading files uses `Deno.*` (needs `--allow-read`).
 *
 * @module
 */

import { FormatError } from "../../../core/errors.ts";
import { Checkpoint, sha256File, type TensorToWrite } from "../../../core/safetensors.ts";
import { formatShape, numel } from "../../../core/tensor.ts";
import { type Dinov3Config, parseDinov3Config, toHfConfig } from "./config.ts";
import { encodeSafetensors } from "../../../core/safetensors.ts";
import { createMulberry32 } from "../../../core/random.ts";

/** One expected tensor. */
export interface ExpectedTensor {
  /** HF name, e.g. `layer.0.attention.q_proj.weight`. */
  readonly name: string;
  /** Expected shape. */
  readonly shape: readonly number[];
  /** Initialisation family for random weights. */
  readonly init: "weight" | "bias" | "norm_weight" | "norm_bias" | "layer_scale" | "token";
}

/** The tensors a checkpoint of this config must hold, in load order (DINOV3_SPEC.md §4). */
export function expectedTensors(c: Dinov3Config): ExpectedTensor[] {
  const C = c.dim;
  const M = c.intermediateSize;
  const out: ExpectedTensor[] = [
    { name: "embeddings.cls_token", shape: [1, 1, C], init: "token" },
    {
      name: "embeddings.patch_embeddings.weight",
      shape: [C, c.channels, c.patchSize, c.patchSize],
      init: "weight",
    },
    { name: "embeddings.patch_embeddings.bias", shape: [C], init: "bias" },
  ];
  if (c.numRegisters > 0) {
    out.splice(1, 0, {
      name: "embeddings.register_tokens",
      shape: [1, c.numRegisters, C],
      init: "token",
    });
  }
  for (let i = 0; i < c.depth; i++) {
    const p = `layer.${i}.`;
    const push = (name: string, shape: number[], init: ExpectedTensor["init"], when = true) => {
      if (when) out.push({ name: p + name, shape, init });
    };
    push("norm1.weight", [C], "norm_weight");
    push("norm1.bias", [C], "norm_bias");
    push("attention.q_proj.weight", [C, C], "weight");
    push("attention.q_proj.bias", [C], "bias", c.queryBias);
    push("attention.k_proj.weight", [C, C], "weight");
    push("attention.k_proj.bias", [C], "bias", c.keyBias);
    push("attention.v_proj.weight", [C, C], "weight");
    push("attention.v_proj.bias", [C], "bias", c.valueBias);
    push("attention.o_proj.weight", [C, C], "weight");
    push("attention.o_proj.bias", [C], "bias", c.projBias);
    push("layer_scale1.lambda1", [C], "layer_scale");
    push("norm2.weight", [C], "norm_weight");
    push("norm2.bias", [C], "norm_bias");
    push("mlp.up_proj.weight", [M, C], "weight");
    push("mlp.up_proj.bias", [M], "bias", c.mlpBias);
    push("mlp.down_proj.weight", [C, M], "weight");
    push("mlp.down_proj.bias", [C], "bias", c.mlpBias);
    push("layer_scale2.lambda1", [C], "layer_scale");
  }
  out.push({ name: "norm.weight", shape: [C], init: "norm_weight" });
  out.push({ name: "norm.bias", shape: [C], init: "norm_bias" });
  return out;
}

/** Tensors present in HF checkpoints but unused at inference (ignored when present). */
export const IGNORED_TENSORS: readonly RegExp[] = [/^embeddings\.mask_token$/];

/** Weights of one transformer block, float32, PyTorch layout (out, in). */
export interface Dinov3BlockWeights {
  /** LayerNorm 1. */ norm1Weight: Float32Array;
  /** LayerNorm 1 bias. */ norm1Bias: Float32Array;
  /** q_proj weight [C, C]. */ qWeight: Float32Array;
  /** q_proj bias [C] (zeros without `query_bias`). */ qBias: Float32Array;
  /** k_proj weight [C, C]. */ kWeight: Float32Array;
  /** k_proj bias [C] (zeros for released models). */ kBias: Float32Array;
  /** v_proj weight [C, C]. */ vWeight: Float32Array;
  /** v_proj bias [C]. */ vBias: Float32Array;
  /** o_proj weight [C, C]. */ oWeight: Float32Array;
  /** o_proj bias [C]. */ oBias: Float32Array;
  /** LayerScale 1 [C]. */ ls1: Float32Array;
  /** LayerNorm 2. */ norm2Weight: Float32Array;
  /** LayerNorm 2 bias. */ norm2Bias: Float32Array;
  /** up_proj weight [M, C]. */ upWeight: Float32Array;
  /** up_proj bias [M]. */ upBias: Float32Array;
  /** down_proj weight [C, M]. */ downWeight: Float32Array;
  /** down_proj bias [C]. */ downBias: Float32Array;
  /** LayerScale 2 [C]. */ ls2: Float32Array;
}

/** All weights of a DINOv3 model, float32 on the host. */
export interface Dinov3Weights {
  /** The config they belong to. */
  config: Dinov3Config;
  /** CLS token [C]. */
  cls: Float32Array;
  /** Register tokens [R, C]. */
  registers: Float32Array;
  /** Patch conv weight [C, 3, P, P]. */
  patchWeight: Float32Array;
  /** Patch conv bias [C]. */
  patchBias: Float32Array;
  /** Blocks. */
  layers: Dinov3BlockWeights[];
  /** Final norm weight [C]. */
  normWeight: Float32Array;
  /** Final norm bias [C]. */
  normBias: Float32Array;
}

/**
 * Checks that a checkpoint holds exactly the tensors a config needs, with the
 * right shapes. Throws `FormatError` naming every missing, mismatched or
 * unexpected tensor (unexpected ones other than {@linkcode IGNORED_TENSORS}).
 */
export function checkCheckpoint(ckpt: Checkpoint, config: Dinov3Config, path: string): void {
  const problems: string[] = [];
  const expected = expectedTensors(config);
  const names = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    if (!ckpt.has(e.name)) {
      problems.push(`missing tensor "${e.name}" ${formatShape(e.shape)}`);
      continue;
    }
    const info = ckpt.info(e.name);
    if (formatShape(info.shape) !== formatShape(e.shape)) {
      problems.push(
        `tensor "${e.name}" must have shape ${formatShape(e.shape)}: current shape is ${
          formatShape(info.shape)
        }`,
      );
    }
    if (!["F32", "F16", "BF16"].includes(info.dtype)) {
      problems.push(`tensor "${e.name}" must be F32, F16 or BF16: current dtype is ${info.dtype}`);
    }
  }
  for (const name of ckpt.names) {
    if (!names.has(name) && !IGNORED_TENSORS.some((r) => r.test(name))) {
      problems.push(`unexpected tensor "${name}"`);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).join("; ");
    throw new FormatError(
      `Cannot load DINOv3 weights as the checkpoint does not match the config (dim ${config.dim}, depth ${config.depth}, heads ${config.heads}): ${shown}${
        problems.length > 12 ? `; and ${problems.length - 12} more` : ""
      }`,
      { path },
    );
  }
}

/** An opened DINOv3 weights folder: config, checked checkpoint, checksum. */
export interface Dinov3Checkpoint {
  /** Parsed config. */
  config: Dinov3Config;
  /** The checked checkpoint (tensors read on demand). */
  checkpoint: Checkpoint;
  /** Folder or file it came from. */
  path: string;
  /** SHA-256 of the weight files (hex; for several shards, of their hashes joined). */
  sha256: string;
}

/**
 * Opens a folder with `config.json` and `model.safetensors` (or a sharded
 * index), parses the config and checks every tensor name and shape.
 */
export async function openDinov3Checkpoint(dir: string): Promise<Dinov3Checkpoint> {
  const root = dir.replace(/\/+$/, "");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await Deno.readTextFile(`${root}/config.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot open DINOv3 weights as ${root}/config.json is missing: a weights folder holds config.json and model.safetensors, as downloaded from Hugging Face (e.g. facebook/dinov3-vits16-pretrain-lvd1689m)`,
        { cause: e },
      );
    }
    throw new FormatError(`Cannot read DINOv3 config: ${(e as Error).message}`, {
      path: `${root}/config.json`,
      cause: e,
    });
  }
  const config = parseDinov3Config(json);
  const checkpoint = await Checkpoint.open(root);
  try {
    checkCheckpoint(checkpoint, config, root);
  } catch (e) {
    checkpoint.close();
    throw e;
  }
  const hashes = await Promise.all(checkpoint.files.map((f) => sha256File(f.path)));
  const sha256 = hashes.length === 1 ? hashes[0] : await sha256Hex(hashes.join("\n"));
  return { config, checkpoint, path: root, sha256 };
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads every weight as float32, one tensor at a time, calling `use` for
 * each; the caller uploads or copies it and the host copy can be dropped.
 */
export async function streamDinov3Tensors(
  ckpt: Checkpoint,
  config: Dinov3Config,
  use: (tensor: ExpectedTensor, data: Float32Array) => void | Promise<void>,
): Promise<void> {
  for (const e of expectedTensors(config)) await use(e, await ckpt.readF32(e.name));
}

/** Loads every weight into host memory as {@linkcode Dinov3Weights}. */
export async function loadDinov3Weights(
  ckpt: Checkpoint,
  config: Dinov3Config,
): Promise<Dinov3Weights> {
  const t = new Map<string, Float32Array>();
  await streamDinov3Tensors(ckpt, config, (e, data) => {
    t.set(e.name, data);
  });
  return assembleWeights(config, (name) => t.get(name));
}

/** Builds {@linkcode Dinov3Weights} from a name → data lookup (absent biases become zeros). */
export function assembleWeights(
  config: Dinov3Config,
  get: (name: string) => Float32Array | undefined,
): Dinov3Weights {
  const C = config.dim;
  const need = (name: string) => {
    const v = get(name);
    if (!v) throw new TypeError(`Cannot assemble DINOv3 weights as tensor "${name}" is missing`);
    return v;
  };
  const opt = (name: string, n: number) => get(name) ?? new Float32Array(n);
  const layers: Dinov3BlockWeights[] = [];
  for (let i = 0; i < config.depth; i++) {
    const p = `layer.${i}.`;
    layers.push({
      norm1Weight: need(p + "norm1.weight"),
      norm1Bias: need(p + "norm1.bias"),
      qWeight: need(p + "attention.q_proj.weight"),
      qBias: opt(p + "attention.q_proj.bias", C),
      kWeight: need(p + "attention.k_proj.weight"),
      kBias: opt(p + "attention.k_proj.bias", C),
      vWeight: need(p + "attention.v_proj.weight"),
      vBias: opt(p + "attention.v_proj.bias", C),
      oWeight: need(p + "attention.o_proj.weight"),
      oBias: opt(p + "attention.o_proj.bias", C),
      ls1: need(p + "layer_scale1.lambda1"),
      norm2Weight: need(p + "norm2.weight"),
      norm2Bias: need(p + "norm2.bias"),
      upWeight: need(p + "mlp.up_proj.weight"),
      upBias: opt(p + "mlp.up_proj.bias", config.intermediateSize),
      downWeight: need(p + "mlp.down_proj.weight"),
      downBias: opt(p + "mlp.down_proj.bias", C),
      ls2: need(p + "layer_scale2.lambda1"),
    });
  }
  return {
    config,
    cls: need("embeddings.cls_token"),
    registers: config.numRegisters > 0 ? need("embeddings.register_tokens") : new Float32Array(0),
    patchWeight: need("embeddings.patch_embeddings.weight"),
    patchBias: need("embeddings.patch_embeddings.bias"),
    layers,
    normWeight: need("norm.weight"),
    normBias: need("norm.bias"),
  };
}

/**
 * Seeded random weights with the released models' statistics in spirit
 * (like the golden fixture: LayerNorm weights 1 ± 0.25, non-zero biases,
 * LayerScale 0.2..0.9 with mixed signs, weights ~ U(±1/√fan_in)). NOT a
 * pretrained model: for tests, benchmarks and the demo only.
 */
export function randomDinov3Tensors(config: Dinov3Config, seed = 0): Record<string, TensorToWrite> {
  const rand = createMulberry32(seed);
  const out: Record<string, TensorToWrite> = {};
  for (const e of expectedTensors(config)) {
    const n = numel(e.shape);
    const data = new Float32Array(n);
    const fanIn = e.shape.length > 1 ? n / e.shape[0] : 1;
    for (let i = 0; i < n; i++) {
      const u = rand() * 2 - 1;
      switch (e.init) {
        case "weight":
          data[i] = u / Math.sqrt(fanIn);
          break;
        case "bias":
          data[i] = 0.1 * u;
          break;
        case "norm_weight":
          data[i] = 1 + 0.25 * u;
          break;
        case "norm_bias":
          data[i] = 0.1 * u;
          break;
        case "layer_scale":
          data[i] = (0.2 + 0.7 * rand()) * (u < 0 ? -1 : 1);
          break;
        case "token":
          data[i] = u;
          break;
      }
    }
    out[e.name] = { dtype: "F32", shape: e.shape, data };
  }
  return out;
}

/**
 * Writes a random-weight model as an HF folder (`config.json` +
 * `model.safetensors`), the layout every loader reads.
 */
export async function writeRandomDinov3(
  dir: string,
  config: Dinov3Config,
  seed = 0,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify(toHfConfig(config), null, 2) + "\n",
  );
  await Deno.writeFile(
    `${dir}/model.safetensors`,
    encodeSafetensors(randomDinov3Tensors(config, seed), {
      format: "pt",
      medprobe: `random DINOv3 weights, seed ${seed}: NOT pretrained`,
    }),
  );
}

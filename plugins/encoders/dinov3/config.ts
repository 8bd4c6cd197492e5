// This module is browser compatible.
/**
 * DINOv3 ViT configuration: parsed from a Hugging Face `config.json`
 * (DINOv3ViTConfig field names; missing fields fall back to the class
 * defaults of DINOV3_SPEC.md §4) or taken from a preset.
 *
 * @example
 * ```ts
 * import { DINOV3_PRESETS, parseDinov3Config } from "./config.ts";
 * import assert from "node:assert/strict";
 * const c = parseDinov3Config({ hidden_size: 384, num_hidden_layers: 12, num_attention_heads: 6 });
 * assert.equal(c.headDim, 64);
 * assert.equal(c.intermediateSize, 1536);
 * assert.equal(DINOV3_PRESETS["dinov3-vitl16"].depth, 24);
 * ```
 *
 * @module
 */

/** A DINOv3 ViT configuration (camelCase of the HF fields, plus derived values). */
export interface Dinov3Config {
  /** Embedding width C (`hidden_size`). */
  readonly dim: number;
  /** Number of blocks (`num_hidden_layers`). */
  readonly depth: number;
  /** Attention heads (`num_attention_heads`). */
  readonly heads: number;
  /** `dim / heads`. */
  readonly headDim: number;
  /** MLP hidden width (`intermediate_size`). */
  readonly intermediateSize: number;
  /** Register (storage) tokens (`num_register_tokens`). */
  readonly numRegisters: number;
  /** Patch size (`patch_size`). */
  readonly patchSize: number;
  /** Input channels (`num_channels`). */
  readonly channels: number;
  /** LayerNorm epsilon (`layer_norm_eps`). */
  readonly layerNormEps: number;
  /** RoPE base (`rope_theta`). */
  readonly ropeTheta: number;
  /** Default input size (`image_size`; any multiple of the patch size works). */
  readonly imageSize: number;
  /** Whether q has a bias (`query_bias`). */
  readonly queryBias: boolean;
  /** Whether k has a bias (`key_bias`; false for released models). */
  readonly keyBias: boolean;
  /** Whether v has a bias (`value_bias`). */
  readonly valueBias: boolean;
  /** Whether the attention output projection has a bias (`proj_bias`). */
  readonly projBias: boolean;
  /** Whether the MLP layers have biases (`mlp_bias`). */
  readonly mlpBias: boolean;
}

const DEFAULTS = {
  hidden_size: 384,
  num_hidden_layers: 12,
  num_attention_heads: 6,
  num_register_tokens: 4,
  patch_size: 16,
  num_channels: 3,
  layer_norm_eps: 1e-5,
  rope_theta: 100,
  image_size: 224,
  query_bias: true,
  key_bias: false,
  value_bias: true,
  proj_bias: true,
  mlp_bias: true,
  hidden_act: "gelu",
  use_gated_mlp: false,
} as const;

function field<T>(json: Record<string, unknown>, name: keyof typeof DEFAULTS, kind: string): T {
  const v = json[name] ?? DEFAULTS[name];
  if (kind === "int" && !(Number.isInteger(v) && (v as number) > 0)) {
    throw new TypeError(
      `Cannot read DINOv3 config as "${name}" must be a positive integer: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  if (kind === "number" && !(typeof v === "number" && v > 0 && Number.isFinite(v))) {
    throw new TypeError(
      `Cannot read DINOv3 config as "${name}" must be a positive number: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  if (kind === "bool" && typeof v !== "boolean") {
    throw new TypeError(
      `Cannot read DINOv3 config as "${name}" must be a boolean: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  return v as T;
}

/**
 * Parses a Hugging Face DINOv3ViT `config.json` object. Unsupported variants
 * (gated SwiGLU MLP of the "plus" and 7B models, activations other than
 * exact GELU) are refused with a `TypeError`.
 */
export function parseDinov3Config(json: Record<string, unknown>): Dinov3Config {
  if (json.model_type !== undefined && json.model_type !== "dinov3_vit") {
    throw new TypeError(
      `Cannot read DINOv3 config as "model_type" must be "dinov3_vit": current value is ${
        JSON.stringify(json.model_type)
      }`,
    );
  }
  if ((json.use_gated_mlp ?? false) !== false) {
    throw new TypeError(
      'Cannot read DINOv3 config as "use_gated_mlp" must be false: the SwiGLU variants (ViT-S+/H+/7B) are not supported',
    );
  }
  const act = json.hidden_act ?? "gelu";
  if (act !== "gelu") {
    throw new TypeError(
      `Cannot read DINOv3 config as "hidden_act" must be "gelu" (exact erf): current value is ${
        JSON.stringify(act)
      }`,
    );
  }
  const dim = field<number>(json, "hidden_size", "int");
  const heads = field<number>(json, "num_attention_heads", "int");
  if (dim % heads !== 0) {
    throw new TypeError(
      `Cannot read DINOv3 config as "hidden_size" (${dim}) must be divisible by "num_attention_heads" (${heads})`,
    );
  }
  const headDim = dim / heads;
  if (headDim % 4 !== 0) {
    throw new TypeError(
      `Cannot read DINOv3 config as the head dim must be a multiple of 4 for 2D RoPE: current head dim is ${headDim}`,
    );
  }
  const registers = json.num_register_tokens ?? DEFAULTS.num_register_tokens;
  if (!Number.isInteger(registers) || (registers as number) < 0) {
    throw new TypeError(
      `Cannot read DINOv3 config as "num_register_tokens" must be a non-negative integer: current value is ${
        JSON.stringify(registers)
      }`,
    );
  }
  const intermediate = json.intermediate_size ?? 4 * dim;
  if (!Number.isInteger(intermediate) || (intermediate as number) <= 0) {
    throw new TypeError(
      `Cannot read DINOv3 config as "intermediate_size" must be a positive integer: current value is ${
        JSON.stringify(intermediate)
      }`,
    );
  }
  return {
    dim,
    depth: field<number>(json, "num_hidden_layers", "int"),
    heads,
    headDim,
    intermediateSize: intermediate as number,
    numRegisters: registers as number,
    patchSize: field<number>(json, "patch_size", "int"),
    channels: field<number>(json, "num_channels", "int"),
    layerNormEps: field<number>(json, "layer_norm_eps", "number"),
    ropeTheta: field<number>(json, "rope_theta", "number"),
    imageSize: field<number>(json, "image_size", "int"),
    queryBias: field<boolean>(json, "query_bias", "bool"),
    keyBias: field<boolean>(json, "key_bias", "bool"),
    valueBias: field<boolean>(json, "value_bias", "bool"),
    projBias: field<boolean>(json, "proj_bias", "bool"),
    mlpBias: field<boolean>(json, "mlp_bias", "bool"),
  };
}

function preset(dim: number, depth: number, heads: number): Dinov3Config {
  return parseDinov3Config({
    hidden_size: dim,
    num_hidden_layers: depth,
    num_attention_heads: heads,
    intermediate_size: 4 * dim,
  });
}

/** The released LVD-1689M models (DINOV3_SPEC.md §1). */
export const DINOV3_PRESETS: Readonly<Record<string, Dinov3Config>> = {
  "dinov3-vits16": preset(384, 12, 6),
  "dinov3-vitb16": preset(768, 12, 12),
  "dinov3-vitl16": preset(1024, 24, 16),
};

/** The Hugging Face repositories of the presets. */
export const DINOV3_HF_REPOS: Readonly<Record<string, string>> = {
  "dinov3-vits16": "facebook/dinov3-vits16-pretrain-lvd1689m",
  "dinov3-vitb16": "facebook/dinov3-vitb16-pretrain-lvd1689m",
  "dinov3-vitl16": "facebook/dinov3-vitl16-pretrain-lvd1689m",
};

/** The preset name whose geometry equals a config, or undefined. */
export function matchPreset(config: Dinov3Config): string | undefined {
  for (const [name, p] of Object.entries(DINOV3_PRESETS)) {
    if (
      p.dim === config.dim && p.depth === config.depth && p.heads === config.heads &&
      p.intermediateSize === config.intermediateSize && p.numRegisters === config.numRegisters &&
      p.patchSize === config.patchSize
    ) return name;
  }
  return undefined;
}

/** Converts a config back to HF `config.json` fields (for writing random test models). */
export function toHfConfig(config: Dinov3Config): Record<string, unknown> {
  return {
    architectures: ["DINOv3ViTModel"],
    model_type: "dinov3_vit",
    hidden_size: config.dim,
    num_hidden_layers: config.depth,
    num_attention_heads: config.heads,
    intermediate_size: config.intermediateSize,
    num_register_tokens: config.numRegisters,
    patch_size: config.patchSize,
    num_channels: config.channels,
    layer_norm_eps: config.layerNormEps,
    rope_theta: config.ropeTheta,
    image_size: config.imageSize,
    hidden_act: "gelu",
    query_bias: config.queryBias,
    key_bias: config.keyBias,
    value_bias: config.valueBias,
    proj_bias: config.projBias,
    mlp_bias: config.mlpBias,
    use_gated_mlp: false,
    layerscale_value: 1.0,
    pos_embed_rescale: 2.0,
    pos_embed_shift: null,
    pos_embed_jitter: null,
    drop_path_rate: 0,
    attention_dropout: 0,
    torch_dtype: "float32",
  };
}

/**
 * The DINOv3 ViT forward pass (DINOV3_SPEC.md §2) as an ONNX graph (opset
 * 17), built from a config; weights are streamed initializers read from the
 * checkpoint only while the model is written.
 *
 * Graph input `pixel_values` `[batch, 3, height, width]` (NCHW, normalised),
 * with symbolic batch, height and width: one model serves every input size
 * that is a multiple of the patch size. Outputs:
 *
 * | output | shape |
 * | --- | --- |
 * | `cls` | `[batch, C]` |
 * | `registers` | `[batch, R, C]` |
 * | `patch_tokens` | `[batch, grid_h, grid_w, C]` (row-major) |
 * | `patch_mean` | `[batch, C]` |
 * | `last_hidden_state` | `[batch, tokens, C]`: all tokens after the final norm |
 * | `block_<i>` | `[batch, tokens, C]`, only for requested blocks: block `i`'s output before the final norm |
 *
 * Design choices:
 * - **RoPE tables are computed inside the graph, in float64**, from the
 *   patch grid's shape (Shape → Range → Mul → Sin/Cos → Cast to float32).
 *   This gives the spec's recipe (angles and sin/cos in double, rounded to
 *   f32 once) while keeping the model self-contained and size-independent:
 *   one session serves every resolution (ViT-L is compiled once, never
 *   twice) and an exported file needs no extra inputs. The 1 + R prefix
 *   tokens get cos = 1, sin = 0 rows, so RoPE runs on the whole sequence
 *   and leaves CLS and registers exactly unchanged. The rotate-half sign is
 *   folded into the sin table, so the rotation is a Split/Concat swap.
 * - **Folded constants**: the attention scale `Dh^-0.5` is folded into the
 *   q weights and bias (exact for Dh = 64 or 16, a power of 4), and each
 *   LayerScale into the weights and bias of the layer before it
 *   (`γ ⊙ (W x + b) = (diag(γ) W) x + γ ⊙ b`), which changes only the
 *   rounding (~1e-7 relative). q, k and v are one fused `[C, 3C]` MatMul;
 *   weights are stored transposed (`[in, out]`) for MatMul.
 * - **GELU** is the exact erf form, written as PyTorch exports it
 *   (`x · (erf(x / √2) + 1) · 0.5`) so onnxruntime fuses it.
 * - The key projection has no bias unless the config says `key_bias`.
 *
 * @module
 */

import type { Dinov3Config } from "./config.ts";
import { type Dim, GraphBuilder } from "../onnx/proto.ts";

/** Reads one checkpoint tensor as float32 (e.g. `Checkpoint.readF32`). */
export type TensorReader = (name: string) => Promise<Float32Array>;

/** Options of {@linkcode buildDinov3Graph}. */
export interface Dinov3GraphOptions {
  /** 0-based blocks whose outputs (before the final norm) become outputs `block_<i>`. */
  intermediateLayers?: readonly number[];
}

/** The names of the DINOv3 graph's main outputs, in order. */
export const DINOV3_ONNX_OUTPUTS: readonly string[] = [
  "cls",
  "registers",
  "patch_tokens",
  "patch_mean",
  "last_hidden_state",
];

/** The input name of the DINOv3 graph. */
export const DINOV3_ONNX_INPUT = "pixel_values";

/** The output name of block `i`. */
export function blockOutputName(i: number): string {
  return `block_${i}`;
}

/** Checks and sorts requested intermediate layers; `RangeError` when out of range. */
export function checkIntermediateLayers(layers: readonly number[], depth: number): number[] {
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= depth) {
      throw new RangeError(
        `Cannot return intermediate layer ${l} as layers must be integers in [0, ${
          depth - 1
        }] for a depth-${depth} model`,
      );
    }
  }
  return [...new Set(layers)].sort((a, b) => a - b);
}

/** `out[r, j] = scale(j) * w[j, r]`: transposes a PyTorch `[out, in]` weight to `[in, out]`. */
function transposeInto(
  out: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  outCols: number,
  colOffset: number,
  scale: (j: number) => number = () => 1,
): void {
  for (let j = 0; j < rows; j++) {
    const s = scale(j);
    const src = j * cols;
    for (let r = 0; r < cols; r++) out[r * outCols + colOffset + j] = w[src + r] * s;
  }
}

/**
 * Builds the DINOv3 graph. Nothing is read until the model is written
 * ({@linkcode writePlan}); each producer reads the few checkpoint tensors
 * it needs and returns one transformed initializer.
 */
export function buildDinov3Graph(
  config: Dinov3Config,
  read: TensorReader,
  options: Dinov3GraphOptions = {},
): GraphBuilder {
  const c = config;
  const C = c.dim;
  const Hn = c.heads;
  const Dh = c.headDim;
  const M = c.intermediateSize;
  const P = c.patchSize;
  const R = c.numRegisters;
  const prefix = 1 + R;
  const F = Dh / 4;
  const half = Dh / 2;
  const inter = new Set(checkIntermediateLayers(options.intermediateLayers ?? [], c.depth));
  const g = new GraphBuilder();
  const zerosOr = async (name: string, present: boolean, n: number) =>
    present ? await read(name) : new Float32Array(n);
  const pass = (name: string, dims: number[]) => g.weight(name, dims, () => read(name));

  // ---- patch embedding and token sequence (§2.1, §2.2)
  const x0 = g.input(DINOV3_ONNX_INPUT, ["batch", c.channels, "height", "width"]);
  const pw = pass("embeddings.patch_embeddings.weight", [C, c.channels, P, P]);
  const pb = pass("embeddings.patch_embeddings.bias", [C]);
  const conv = g.op("Conv", [x0, pw, pb], { kernel_shape: [P, P], strides: [P, P] }); // [B, C, h, w]
  const shape = g.op("Shape", [conv]); // [4]: B, C, h, w
  const batch1 = g.op("Gather", [shape, g.constI64([0])], { axis: 0 }); // [1]
  const h1 = g.op("Gather", [shape, g.constI64([2])], { axis: 0 }); // [1]
  const w1 = g.op("Gather", [shape, g.constI64([3])], { axis: 0 }); // [1]
  const flat = g.op("Reshape", [conv, g.constI64([0, C, -1])]); // [B, C, h*w]
  const patches = g.op("Transpose", [flat], { perm: [0, 2, 1] }); // [B, h*w, C]
  const prefixTokens = g.weight("embeddings.prefix_tokens", [1, prefix, C], async () => {
    const out = new Float32Array(prefix * C);
    out.set(await read("embeddings.cls_token"), 0);
    if (R > 0) out.set(await read("embeddings.register_tokens"), C);
    return out;
  });
  const prefixShape = g.op("Concat", [batch1, g.constI64([prefix, C])], { axis: 0 }); // [3]
  const prefixB = g.op("Expand", [prefixTokens, prefixShape]); // [B, 1+R, C]
  let x = g.op("Concat", [prefixB, patches], { axis: 1 }); // [B, N, C]

  // ---- RoPE tables in float64 (§2.5), shared by all blocks
  const periods = Array.from({ length: F }, (_, f) => c.ropeTheta ** (4 * f / Dh));
  const freq = g.constF64(periods.map((p) => 2 * Math.PI / p), [F]); // [F]
  const gridCoords = (n1: string) => {
    const n = g.op("Cast", [g.op("Reshape", [n1, g.constI64([], [0])])], { to: 11 }); // [] f64
    const centres = g.op("Range", [g.constF64([0.5], []), n, g.constF64([1], [])]); // [n]: i + 0.5
    const unit = g.op("Div", [g.op("Mul", [centres, g.constF64([2], [])]), n]); // [n]
    const coord = g.op("Sub", [unit, g.constF64([1], [])]); // [n] in (-1, 1)
    return g.op("Mul", [g.op("Unsqueeze", [coord, g.constI64([1])]), freq]); // [n, F]
  };
  const gridShape = g.op("Concat", [h1, w1, g.constI64([F])], { axis: 0 }); // [3]
  const angY = g.op("Expand", [g.op("Unsqueeze", [gridCoords(h1), g.constI64([1])]), gridShape]); // [h, w, F]
  const angX = g.op("Expand", [g.op("Unsqueeze", [gridCoords(w1), g.constI64([0])]), gridShape]); // [h, w, F]
  const angles = g.op("Reshape", [
    g.op("Concat", [angY, angX, angY, angX], { axis: 2 }), // [h, w, Dh]
    g.constI64([-1, Dh]),
  ]); // [h*w, Dh]
  const cos = g.op("Cast", [g.op("Cos", [angles])], { to: 1 }); // [h*w, Dh] f32
  const sin = g.op("Cast", [g.op("Sin", [angles])], { to: 1 }); // [h*w, Dh] f32
  const sign = Array.from({ length: Dh }, (_, i) => i < half ? -1 : 1);
  const sinSigned = g.op("Mul", [sin, g.constF32(sign, [Dh])]); // [h*w, Dh]
  const ropeCos = g.op("Concat", [
    g.constF32(new Float32Array(prefix * Dh).fill(1), [prefix, Dh]),
    cos,
  ], {
    axis: 0,
  }); // [N, Dh]
  const ropeSin = g.op("Concat", [
    g.constF32(new Float32Array(prefix * Dh), [prefix, Dh]),
    sinSigned,
  ], {
    axis: 0,
  }); // [N, Dh]

  const eps = { float: c.layerNormEps };
  const scale = Dh ** -0.5;
  const axis0 = g.constI64([0]);
  const splitQkv = g.constI64([2, 1]);
  const splitHalves = g.constI64([half, half]);
  const splitOne = g.constI64([1, 1]);
  const qkvShape = g.constI64([0, 0, 3, Hn, Dh]);
  const mergeShape = g.constI64([0, 0, C]);
  const sqrt2 = g.constF32([Math.SQRT2], []);
  const one = g.constF32([1], []);
  const halfC = g.constF32([0.5], []);

  // ---- blocks (§2.3, §2.4)
  for (let i = 0; i < c.depth; i++) {
    const p = `layer.${i}.`;
    const a = g.op("LayerNormalization", [
      x,
      pass(p + "norm1.weight", [C]),
      pass(p + "norm1.bias", [C]),
    ], {
      axis: -1,
      epsilon: eps,
    }); // [B, N, C]
    const wqkv = g.weight(p + "attention.qkv.weight_t", [C, 3 * C], async () => {
      const out = new Float32Array(C * 3 * C);
      transposeInto(out, await read(p + "attention.q_proj.weight"), C, C, 3 * C, 0, () => scale);
      transposeInto(out, await read(p + "attention.k_proj.weight"), C, C, 3 * C, C);
      transposeInto(out, await read(p + "attention.v_proj.weight"), C, C, 3 * C, 2 * C);
      return out;
    });
    const bqkv = g.weight(p + "attention.qkv.bias", [3 * C], async () => {
      const out = new Float32Array(3 * C);
      const bq = await zerosOr(p + "attention.q_proj.bias", c.queryBias, C);
      for (let j = 0; j < C; j++) out[j] = bq[j] * scale;
      out.set(await zerosOr(p + "attention.k_proj.bias", c.keyBias, C), C);
      out.set(await zerosOr(p + "attention.v_proj.bias", c.valueBias, C), 2 * C);
      return out;
    });
    const qkv = g.op("Add", [g.op("MatMul", [a, wqkv]), bqkv]); // [B, N, 3C]
    const heads = g.op("Transpose", [g.op("Reshape", [qkv, qkvShape])], { perm: [2, 0, 3, 1, 4] }); // [3, B, H, N, Dh]
    const [qk, v1] = g.opN("Split", [heads, splitQkv], 2, { axis: 0 }); // [2, B, H, N, Dh], [1, B, H, N, Dh]
    const [u1, u2] = g.opN("Split", [qk, splitHalves], 2, { axis: -1 }); // [2, B, H, N, Dh/2] x2
    const swapped = g.op("Concat", [u2, u1], { axis: -1 }); // [2, B, H, N, Dh]
    const rotated = g.op("Add", [
      g.op("Mul", [qk, ropeCos]),
      g.op("Mul", [swapped, ropeSin]),
    ]); // [2, B, H, N, Dh]
    const [q1, k1] = g.opN("Split", [rotated, splitOne], 2, { axis: 0 }); // [1, B, H, N, Dh] x2
    const q = g.op("Squeeze", [q1, axis0]); // [B, H, N, Dh]
    const kT = g.op("Transpose", [g.op("Squeeze", [k1, axis0])], { perm: [0, 1, 3, 2] }); // [B, H, Dh, N]
    const v = g.op("Squeeze", [v1, axis0]); // [B, H, N, Dh]
    const probs = g.op("Softmax", [g.op("MatMul", [q, kT])], { axis: -1 }); // [B, H, N, N]
    const o = g.op("Transpose", [g.op("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }); // [B, N, H, Dh]
    const merged = g.op("Reshape", [o, mergeShape]); // [B, N, C]
    const wo = g.weight(p + "attention.o_proj.weight_t_ls", [C, C], async () => {
      const ls = await read(p + "layer_scale1.lambda1");
      const out = new Float32Array(C * C);
      transposeInto(out, await read(p + "attention.o_proj.weight"), C, C, C, 0, (j) => ls[j]);
      return out;
    });
    const bo = g.weight(p + "attention.o_proj.bias_ls", [C], async () => {
      const ls = await read(p + "layer_scale1.lambda1");
      const b = await zerosOr(p + "attention.o_proj.bias", c.projBias, C);
      return Float32Array.from(b, (v, j) => v * ls[j]);
    });
    const attn = g.op("Add", [g.op("MatMul", [merged, wo]), bo]); // [B, N, C]
    x = g.op("Add", [x, attn]); // [B, N, C]

    const m = g.op("LayerNormalization", [
      x,
      pass(p + "norm2.weight", [C]),
      pass(p + "norm2.bias", [C]),
    ], {
      axis: -1,
      epsilon: eps,
    }); // [B, N, C]
    const wup = g.weight(p + "mlp.up_proj.weight_t", [C, M], async () => {
      const out = new Float32Array(C * M);
      transposeInto(out, await read(p + "mlp.up_proj.weight"), M, C, M, 0);
      return out;
    });
    const bup = g.weight(
      p + "mlp.up_proj.bias",
      [M],
      () => zerosOr(p + "mlp.up_proj.bias", c.mlpBias, M),
    );
    const up = g.op("Add", [g.op("MatMul", [m, wup]), bup]); // [B, N, M]
    const erf = g.op("Erf", [g.op("Div", [up, sqrt2])]); // [B, N, M]
    const gelu = g.op("Mul", [g.op("Mul", [up, g.op("Add", [erf, one])]), halfC]); // [B, N, M]
    const wdown = g.weight(p + "mlp.down_proj.weight_t_ls", [M, C], async () => {
      const ls = await read(p + "layer_scale2.lambda1");
      const out = new Float32Array(M * C);
      transposeInto(out, await read(p + "mlp.down_proj.weight"), C, M, C, 0, (j) => ls[j]);
      return out;
    });
    const bdown = g.weight(p + "mlp.down_proj.bias_ls", [C], async () => {
      const ls = await read(p + "layer_scale2.lambda1");
      const b = await zerosOr(p + "mlp.down_proj.bias", c.mlpBias, C);
      return Float32Array.from(b, (v, j) => v * ls[j]);
    });
    const mlp = g.op("Add", [g.op("MatMul", [gelu, wdown]), bdown]); // [B, N, C]
    x = g.op("Add", [x, mlp], {}, inter.has(i) ? blockOutputName(i) : undefined); // [B, N, C]
  }

  // ---- final norm and outputs (§2.6)
  const tokens: Dim[] = ["batch", "tokens", C];
  const y = g.op("LayerNormalization", [x, pass("norm.weight", [C]), pass("norm.bias", [C])], {
    axis: -1,
    epsilon: eps,
  }, "last_hidden_state"); // [B, N, C]
  g.op("Gather", [y, g.constI64([0], [])], { axis: 1 }, "cls"); // [B, C]
  g.op("Slice", [y, g.constI64([1]), g.constI64([prefix]), g.constI64([1])], {}, "registers"); // [B, R, C]
  const pt = g.op("Slice", [
    y,
    g.constI64([prefix]),
    g.constI64([Number.MAX_SAFE_INTEGER]),
    g.constI64([1]),
  ]); // [B, h*w, C]
  const gridOut = g.op("Concat", [g.constI64([0]), h1, w1, g.constI64([C])], { axis: 0 }); // [4]
  g.op("Reshape", [pt, gridOut], {}, "patch_tokens"); // [B, h, w, C]
  g.op("ReduceMean", [pt], { axes: [1], keepdims: 0 }, "patch_mean"); // [B, C]
  g.output("cls", ["batch", C]);
  g.output("registers", ["batch", R, C]);
  g.output("patch_tokens", ["batch", "grid_h", "grid_w", C]);
  g.output("patch_mean", ["batch", C]);
  g.output("last_hidden_state", tokens);
  for (const i of [...inter].sort((a, b) => a - b)) g.output(blockOutputName(i), tokens);
  return g;
}

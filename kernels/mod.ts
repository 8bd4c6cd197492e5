/**
 * WGSL compute kernels of medprobe: each family has a launcher (validate →
 * cached pipeline → uniforms → dispatch, optionally recorded into a shared
 * command encoder), a pure argument check usable without a GPU, and a plain
 * TypeScript reference that is the specification and the CPU fallback.
 *
 * The DINOv3 families: `matmul` (register-blocked GEMM with bias, exact-erf
 * GELU and LayerScale + residual epilogues, beside a naive baseline),
 * `layerNorm` / `tokenMean`, `attention` (online softmax, RoPE on the patch
 * tokens), `rope` (CPU f64 tables, in-place rotation) and `patchEmbed`.
 *
 * @example A reference needs no GPU
 * ```ts
 * import { layerNormRef } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const t = (d: number[]) => ({ data: new Float32Array(d), shape: [d.length] });
 * const y = layerNormRef({ data: new Float32Array([1, 3]), shape: [1, 2] }, { weight: t([1, 1]), bias: t([0, 0]), eps: 1e-5 });
 * assert.ok(Math.abs(y.data[0] + 1) < 1e-4);
 * ```
 *
 * @module
 */

export {
  attention,
  type AttentionArgs,
  type AttentionShape,
  checkAttentionArgs,
} from "./attention/attention.ts";
export {
  ATTENTION_WGSL,
  attentionWgsl,
  defaultAttentionShape,
} from "./attention/attention.wgsl.ts";
export { attentionRef, type AttentionRefArgs } from "./attention/attention_ref.ts";
export {
  checkLayerNormArgs,
  checkTokenMeanArgs,
  layerNorm,
  type LayerNormArgs,
  packLayerNormParams,
  tokenMean,
  type TokenMeanArgs,
} from "./layer_norm/layer_norm.ts";
export {
  LAYER_NORM_ROWS_WGSL,
  LAYER_NORM_WGSL,
  TOKEN_MEAN_WGSL,
} from "./layer_norm/layer_norm.wgsl.ts";
export { layerNormRef, type LayerNormRefArgs, tokenMeanRef } from "./layer_norm/layer_norm_ref.ts";
export {
  checkMatmulArgs,
  defaultMatmulTile,
  matmul,
  type MatmulArgs,
  type MatmulPlan,
  type MatmulRowMap,
  type MatmulShapes,
  type MatmulVariant,
  packMatmulParams,
} from "./matmul/matmul.ts";
export {
  ERF_WGSL,
  GELU_WGSL,
  MATMUL_NAIVE_WGSL,
  MATMUL_TILE_HARDWARE,
  MATMUL_TILE_SOFTWARE,
  MATMUL_WGSL,
  type MatmulTile,
  matmulWgsl,
} from "./matmul/matmul.wgsl.ts";
export {
  erfRef,
  geluRef,
  type MatmulEpilogue,
  matmulRef,
  type MatmulRefArgs,
} from "./matmul/matmul_ref.ts";
export {
  checkPatchEmbedArgs,
  patchEmbed,
  type PatchEmbedArgs,
  type PatchEmbedPlan,
} from "./patch_embed/patch_embed.ts";
export { IM2COL_WGSL, PREFIX_TOKENS_WGSL } from "./patch_embed/patch_embed.wgsl.ts";
export { patchEmbedRef, type PatchEmbedRefArgs } from "./patch_embed/patch_embed_ref.ts";
export {
  checkRopeArgs,
  type GpuRopeTables,
  rope,
  type RopeArgs,
  ropeTables,
  uploadRopeTables,
} from "./rope/rope.ts";
export { ROPE_WGSL } from "./rope/rope.wgsl.ts";
export {
  checkRopeGeometry,
  ropeAnglesRef,
  ropeRef,
  type RopeRefArgs,
  type RopeTables,
  ropeTablesRef,
} from "./rope/rope_ref.ts";
export {
  BufferPool,
  dispatch,
  foldWorkgroups,
  getPipeline,
  normalizeDispatch,
} from "./_runtime.ts";

// Elementwise (the reference quartet of the pattern).
export * from "./elementwise/elementwise.ts";
export * from "./elementwise/elementwise_ref.ts";

// Training: linear layers, losses, AdamW, reductions, gated attention (ABMIL).
export * from "./train/linear/linear.ts";
export * from "./train/linear/linear_ref.ts";
export * from "./train/cross_entropy/cross_entropy.ts";
export * from "./train/cross_entropy/cross_entropy_ref.ts";
export * from "./train/adamw/adamw.ts";
export * from "./train/adamw/adamw_ref.ts";
export * from "./train/column_sum/column_sum.ts";
export * from "./train/column_sum/column_sum_ref.ts";
export * from "./train/gated_attention/gated_attention.ts";
export * from "./train/gated_attention/gated_attention_ref.ts";

// k-NN: top-k and the cosine index.
export * from "./knn/topk.ts";
export * from "./knn/topk_ref.ts";
export * from "./knn/knn.ts";
export * from "./knn/knn_ref.ts";

// 3D decoder: conv3d, trilinear upsampling, group norm, leaky ReLU, concat, Dice+CE.
export * from "./conv3d/conv3d.ts";
export * from "./conv3d/conv3d_ref.ts";
export * from "./upsample3d/upsample3d.ts";
export * from "./upsample3d/upsample3d_ref.ts";
export * from "./group_norm/group_norm.ts";
export * from "./group_norm/group_norm_ref.ts";
export * from "./leaky_relu/leaky_relu.ts";
export * from "./leaky_relu/leaky_relu_ref.ts";
export * from "./concat/concat.ts";
export * from "./concat/concat_ref.ts";
export * from "./dice_ce/dice_ce.ts";
export * from "./dice_ce/dice_ce_ref.ts";

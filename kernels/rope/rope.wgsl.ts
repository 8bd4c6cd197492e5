// This module is browser compatible.
/**
 * WGSL of the rope family: the rotate-half 2D RoPE of DINOv3 applied in
 * place to the patch tokens of every head (the attention launcher runs it
 * on q and k of the packed qkv before the fused attention kernel).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * In place, for patch token p = t − prefix, each of the first BLOCKS blocks
 * of `heads·Dh` channels and each head:
 * `x[c] ← x[c]·cos[p, c] − x[c + Dh/2]·sin[p, c]` and
 * `x[c + Dh/2] ← x[c + Dh/2]·cos[p, c + Dh/2] + x[c]·sin[p, c + Dh/2]`.
 * Prefix tokens (CLS, registers) and channels past the blocks (v of a
 * packed qkv) are not touched.
 *
 * Layouts: `x: [batch, tokens, row_stride]` row-major f32 (a plain
 * `[B, N, C]` has one block and row_stride C; a packed qkv `[B, N, 3C]` is
 * rotated with two blocks, q and k); `sin, cos: [tokens − prefix, Dh]`
 * (computed on the CPU in f64).
 * Thread mapping: one thread per (batch, patch, block·head) head vector,
 * looping over its Dh/2 pairs (few, fat threads: on llvmpipe every
 * workgroup costs microseconds to schedule); 1D dispatch folded into
 * (x, y). Each thread reads and writes only its own head vector, so
 * in-place is race-free.
 * Bindings: 0 sin, 1 cos (read), 2 x (read_write), 3 params (uniform
 * `{ batch, tokens, heads, head_dim, prefix, blocks, row_stride }`).
 * Override: WORKGROUP_SIZE.
 */
export const ROPE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  tokens: u32,
  heads: u32,
  head_dim: u32,
  prefix: u32,
  blocks: u32,
  row_stride: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> sin_t: array<f32>;
@group(0) @binding(1) var<storage, read> cos_t: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  let vectors = params.blocks * params.heads;
  let patches = params.tokens - params.prefix;
  if (i >= params.batch * patches * vectors) { return; }
  let bp = i / vectors;               // b * patches + p
  let b = bp / patches;
  let p = bp % patches;
  let bh = i % vectors;               // block * heads + head
  let half = params.head_dim / 2u;
  let base = (b * params.tokens + params.prefix + p) * params.row_stride + bh * params.head_dim;
  let tb = p * params.head_dim;
  for (var c = 0u; c < half; c++) {
    let u = x[base + c];
    let v = x[base + c + half];
    x[base + c] = u * cos_t[tb + c] - v * sin_t[tb + c];
    x[base + c + half] = v * cos_t[tb + c + half] + u * sin_t[tb + c + half];
  }
}
`;

// This module is browser compatible.
/**
 * WGSL of the rope family: the rotate-half 2D RoPE of DINOv3 applied to the
 * patch tokens of every head (the attention kernel fuses the same rotation
 * into its loads; this standalone kernel is the unfused form).
 *
 * @module
 */

/**
 * `out = x` for prefix tokens; for patch token p = t − prefix and each head,
 * `out[c] = x[c]·cos[p, c] − x[c + Dh/2]·sin[p, c]` and
 * `out[c + Dh/2] = x[c + Dh/2]·cos[p, c + Dh/2] + x[c]·sin[p, c + Dh/2]`.
 *
 * Layouts: `x, out: [batch, tokens, heads·Dh]` row-major f32;
 * `sin, cos: [tokens − prefix, Dh]` (computed on the CPU in f64).
 * Thread mapping: one thread per (batch, token, head, c < Dh/2) pair, 1D
 * dispatch folded into (x, y).
 * Bindings: 0 x, 1 sin, 2 cos (read), 3 out (read_write), 4 params (uniform
 * `{ batch, tokens, heads, head_dim, prefix }`). Override: WORKGROUP_SIZE.
 */
export const ROPE_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  tokens: u32,
  heads: u32,
  head_dim: u32,
  prefix: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> sin_t: array<f32>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  let half = params.head_dim / 2u;
  let per_token = params.heads * half;
  if (i >= params.batch * params.tokens * per_token) { return; }
  let bt = i / per_token;          // b * tokens + t
  let t = bt % params.tokens;
  let hc = i % per_token;
  let hd = hc / half;
  let c = hc % half;
  let base = bt * params.heads * params.head_dim + hd * params.head_dim;
  let a = x[base + c];
  let b = x[base + c + half];
  if (t < params.prefix) {
    out[base + c] = a;
    out[base + c + half] = b;
    return;
  }
  let p = (t - params.prefix) * params.head_dim;
  out[base + c] = a * cos_t[p + c] - b * sin_t[p + c];
  out[base + c + half] = b * cos_t[p + c + half] + a * sin_t[p + c + half];
}
`;

// This module is browser compatible.
/**
 * WGSL of the layer_norm family: LayerNorm over the last axis, and the mean
 * over a range of tokens (DINOv3's mean patch token).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * LayerNorm `y = (x - mean) / sqrt(var + eps) * weight + bias` over the last
 * axis, biased variance, two passes (mean, then centred squares) in f32.
 *
 * Layouts: `x, out: [rows, cols]` row-major f32; `weight, bias: [cols]`.
 * Thread mapping: one workgroup per row (1D dispatch folded into (x, y)
 * beyond 65535 rows: row = wid.x + wid.y · num_workgroups.x), threads stride
 * over columns, tree reductions in `var<workgroup>`. The early return
 * depends only on the workgroup id, so it is uniform.
 * Bindings: 0 x, 1 weight, 2 bias (read), 3 out (read_write), 4 params
 * (uniform `{ rows, cols, eps }`). Override: WORKGROUP_SIZE (power of two).
 */
export const LAYER_NORM_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn reduce_sum(v: f32, t: u32) -> f32 {
  partial[t] = v;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s = s / 2u) {
    if (t < s) { partial[t] = partial[t] + partial[t + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = folded_id(wid, nwg, 1u);
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  var s = 0.0;
  for (var c = t; c < params.cols; c += WORKGROUP_SIZE) { s += x[base + c]; }
  let mean = reduce_sum(s, t) / f32(params.cols);
  var q = 0.0;
  for (var c = t; c < params.cols; c += WORKGROUP_SIZE) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let inv = inverseSqrt(reduce_sum(q, t) / f32(params.cols) + params.eps);
  for (var c = t; c < params.cols; c += WORKGROUP_SIZE) {
    out[base + c] = (x[base + c] - mean) * inv * weight[c] + bias[c];
  }
}
`;

/**
 * LayerNorm with one thread per row: two passes in f32 like
 * {@linkcode LAYER_NORM_WGSL} (the mean summed relative to the row's first
 * value, which keeps a sequential sum accurate), without workgroup memory
 * or barriers. On software adapters (llvmpipe), where a workgroup costs
 * microseconds to schedule and a barrier switches coroutines, this is ~5×
 * faster; hardware GPUs use the workgroup-per-row kernel.
 *
 * Layouts and bindings as {@linkcode LAYER_NORM_WGSL}. Thread mapping: row =
 * global id (1D, folded into (x, y)); the loops walk the row's columns.
 */
export const LAYER_NORM_ROWS_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  // Sum relative to the first value: a residual stream with a large mean
  // would otherwise lose low bits in a sequential f32 sum.
  let shift = x[base];
  var s = 0.0;
  for (var c = 0u; c < params.cols; c++) { s += x[base + c] - shift; }
  let mean = shift + s / f32(params.cols);
  var q = 0.0;
  for (var c = 0u; c < params.cols; c++) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let inv = inverseSqrt(q / f32(params.cols) + params.eps);
  for (var c = 0u; c < params.cols; c++) {
    out[base + c] = (x[base + c] - mean) * inv * weight[c] + bias[c];
  }
}
`;

/**
 * Mean over a token range: `out[b, c] = mean_{t ∈ [start, start+count)} x[b, t, c]`.
 *
 * Layouts: `x: [batch, tokens, cols]`, `out: [batch, cols]`, row-major f32.
 * Thread mapping: one thread per output element (1D, folded), f32 sum in
 * token order. Bindings: 0 x (read), 1 out (read_write), 2 params (uniform
 * `{ batch, tokens, cols, start, count }`). Override: WORKGROUP_SIZE.
 */
export const TOKEN_MEAN_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  tokens: u32,
  cols: u32,
  start: u32,
  count: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.batch * params.cols) { return; }
  let b = i / params.cols;
  let c = i % params.cols;
  var s = 0.0;
  for (var t = 0u; t < params.count; t++) {
    s += x[(b * params.tokens + params.start + t) * params.cols + c];
  }
  out[i] = s / f32(params.count);
}
`;

// This module is browser compatible.
/**
 * WGSL for the segmentation loss (softmax + cross-entropy + batch soft
 * Dice) and its gradient with respect to the logits.
 *
 * Layouts (row-major f32): `logits [N, K, S]`, `labels [N, S]` (class index
 * stored as f32), `probs [N, K, S]`, `nll [N, S]`, where S is the product of
 * the spatial extents. Sums are `[Σ p·g (K), Σ p (K), Σ g (K), Σ nll]`
 * (Q = 3K + 1 values).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

const PARAMS = /* wgsl */ `
struct Params {
  k: u32,
  spatial: u32,
  voxels: u32,
  has_labels: u32,
  chunks: u32,
  chunk_len: u32,
  first_class: u32,
  _pad0: u32,
  ce_scale: f32,
  dice_scale: f32,
  smooth_nr: f32,
  smooth_dr: f32,
}
`;

/**
 * Softmax over channels per voxel (max-subtracted) and, with labels, the
 * voxel's negative log-likelihood. One thread per voxel (N·S), 1D folded.
 * Bindings: 0 logits, 1 labels (read), 2 probs, 3 nll (read_write), 4 params.
 */
export const SOFTMAX_NLL_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (v >= params.voxels) { return; }
  let n = v / params.spatial;
  let s = v % params.spatial;
  let base = n * params.k * params.spatial + s;
  var m = logits[base];
  for (var c = 1u; c < params.k; c = c + 1u) { m = max(m, logits[base + c * params.spatial]); }
  var z = 0.0;
  for (var c = 0u; c < params.k; c = c + 1u) { z = z + exp(logits[base + c * params.spatial] - m); }
  for (var c = 0u; c < params.k; c = c + 1u) {
    let i = base + c * params.spatial;
    probs[i] = exp(logits[i] - m) / z;
  }
  if (params.has_labels != 0u) {
    let t = u32(labels[v]);
    nll[v] = log(z) - (logits[base + t * params.spatial] - m);
  }
}
`;

/**
 * Partial sums: workgroup (chunk, q) sums quantity q over the voxels of one
 * chunk into `partial[q, chunk]`; the reduction is a tree in workgroup
 * memory (WORKGROUP_SIZE a power of two).
 * Bindings: 0 probs, 1 labels, 2 nll (read), 3 partial (read_write), 4 params.
 */
export const SEG_LOSS_SUMS_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> nll: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let chunk = wid.x;
  let q = wid.y;
  let kind = q / params.k;
  let c = q % params.k;
  let start = chunk * params.chunk_len;
  let end = min(params.voxels, start + params.chunk_len);
  var acc = 0.0;
  for (var v = start + lid.x; v < end; v = v + WORKGROUP_SIZE) {
    let n = v / params.spatial;
    let s = v % params.spatial;
    let p = probs[(n * params.k + c) * params.spatial + s];
    let g = select(0.0, 1.0, u32(labels[v]) == c);
    switch kind {
      case 0u: { acc = acc + p * g; }
      case 1u: { acc = acc + p; }
      case 2u: { acc = acc + g; }
      default: { acc = acc + nll[v]; }
    }
  }
  scratch[lid.x] = acc;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
    if (lid.x < half) { scratch[lid.x] = scratch[lid.x] + scratch[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { partial[q * params.chunks + chunk] = scratch[0]; }
}
`;

/**
 * Final sums: workgroup q sums `partial[q, :]` into `sums[q]`.
 * Bindings: 0 partial (read), 1 sums (read_write), 2 params.
 */
export const SEG_LOSS_REDUCE_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let q = wid.x;
  var acc = 0.0;
  for (var i = lid.x; i < params.chunks; i = i + WORKGROUP_SIZE) { acc = acc + partial[q * params.chunks + i]; }
  scratch[lid.x] = acc;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
    if (lid.x < half) { scratch[lid.x] = scratch[lid.x] + scratch[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { sums[q] = scratch[0]; }
}
`;

/**
 * Gradient with respect to the logits, one thread per voxel:
 * `a_k = −dice_scale · (2 g_k U_k − (2 I_k + nr)) / U_k²` (U_k = P_k + G_k + dr,
 * 0 for classes below first_class), then
 * `dz_k = p_k (a_k − Σ_j p_j a_j) + ce_scale · (p_k − g_k)`.
 * Bindings: 0 probs, 1 labels, 2 sums (read), 3 dlogits (read_write), 4 params.
 */
export const SEG_LOSS_GRAD_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn dice_grad(c: u32, g: f32) -> f32 {
  if (c < params.first_class) { return 0.0; }
  let u = sums[params.k + c] + sums[2u * params.k + c] + params.smooth_dr;
  return -params.dice_scale * (2.0 * g * u - (2.0 * sums[c] + params.smooth_nr)) / (u * u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (v >= params.voxels) { return; }
  let n = v / params.spatial;
  let s = v % params.spatial;
  let base = n * params.k * params.spatial + s;
  let t = u32(labels[v]);
  var dot_pa = 0.0;
  for (var c = 0u; c < params.k; c = c + 1u) {
    dot_pa = dot_pa + probs[base + c * params.spatial] * dice_grad(c, select(0.0, 1.0, c == t));
  }
  for (var c = 0u; c < params.k; c = c + 1u) {
    let i = base + c * params.spatial;
    let g = select(0.0, 1.0, c == t);
    let p = probs[i];
    dlogits[i] = p * (dice_grad(c, g) - dot_pa) + params.ce_scale * (p - g);
  }
}
`;

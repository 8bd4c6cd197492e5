// This module is browser compatible.
/**
 * WGSL of the gated-attention family (Ilse et al. 2018, attention-based
 * MIL), the pieces of ABMIL that are not linear layers:
 *
 * ```
 * h = ReLU(x·W1ᵀ + b1)                         [N, L]   (relu, relu_backward)
 * S = h·[V; U]ᵀ + [bV; bU]                      [N, 2D]  (a linear layer)
 * g_n = tanh(S[n, :D]) ⊙ σ(S[n, D:])           [N, D]   (gated_score)
 * e_n = g_n · w                                 [N]      (gated_score)
 * a = softmax(e) over the N instances           [N]      (softmax)
 * de = a ⊙ (da − Σ_m a_m·da_m)                  [N]      (softmax_backward)
 * dS[n, d]     = de_n·w_d·σ_u·(1 − tanh_v²)     [N, 2D]  (gated_backward)
 * dS[n, D + d] = de_n·w_d·tanh_v·σ_u·(1 − σ_u)
 * ```
 * The bias of the attention output layer is left out: the softmax over
 * instances is invariant to it, so its gradient is always zero.
 *
 * Layouts: row-major f32. Thread mapping: relu, relu_backward and
 * gated_backward one thread per element; gated_score one thread per
 * instance (looping over D); softmax and softmax_backward one workgroup of
 * WORKGROUP_SIZE threads striding over the N instances with tree
 * reductions in `var<workgroup>` memory (N is at most a bag, 20,000 here).
 * Dispatches are folded over (x, y) beyond 65535 workgroups.
 * tanh arguments are clamped to ±15 (tanh(15) rounds to 1 in f32) to
 * avoid overflow in implementations that compute it through exp.
 *
 * Bindings (inputs → outputs → params {n, d, _, _}):
 * - relu: 0 x (read_write)
 * - relu_backward: 0 h, 1 dh (read_write)
 * - gated_score: 0 S, 1 w, 2 e, 3 g
 * - softmax: 0 e, 1 a
 * - softmax_backward: 0 a, 1 da, 2 de
 * - gated_backward: 0 S, 1 de, 2 w, 3 dS
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../../_wgsl.ts";

const HEAD = `
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  n: u32,     // elements (relu) or instances N
  d: u32,     // attention dim D
  _pad0: u32,
  _pad1: u32,
}

fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let e = exp(z);
  return e / (1.0 + e);
}

fn safe_tanh(z: f32) -> f32 {
  return tanh(clamp(z, -15.0, 15.0));
}

`;

/** Gates `g = tanh(S_V) ⊙ σ(S_U)` and attention logits `e = g·w`. */
export const GATED_SCORE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}${HEAD}
@group(0) @binding(0) var<storage, read> s: array<f32>;         // [N, 2D]
@group(0) @binding(1) var<storage, read> w: array<f32>;         // [D]
@group(0) @binding(2) var<storage, read_write> e: array<f32>;   // [N]
@group(0) @binding(3) var<storage, read_write> g: array<f32>;   // [N, D]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (n >= params.n) { return; }
  let dd = params.d;
  var acc = 0.0;
  for (var j = 0u; j < dd; j = j + 1u) {
    let v = safe_tanh(s[n * 2u * dd + j]);
    let u = sigmoid(s[n * 2u * dd + dd + j]);
    let gate = v * u;
    g[n * dd + j] = gate;
    acc = acc + gate * w[j];
  }
  e[n] = acc;
}
`;

const REDUCE = `
var<workgroup> red: array<f32, WORKGROUP_SIZE>;

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/** Softmax of one vector `[N]` by a single workgroup. */
export const SOFTMAX_WGSL: string = /* wgsl */ `${HEAD}${REDUCE}
@group(0) @binding(0) var<storage, read> e: array<f32>;         // [N]
@group(0) @binding(1) var<storage, read_write> a: array<f32>;   // [N]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) lid: u32) {
  var m = bitcast<f32>(0xff800000u);
  for (var i = lid; i < params.n; i = i + WORKGROUP_SIZE) { m = max(m, e[i]); }
  m = reduce_max(lid, m);
  var s = 0.0;
  for (var i = lid; i < params.n; i = i + WORKGROUP_SIZE) { s = s + exp(e[i] - m); }
  s = reduce_sum(lid, s);
  for (var i = lid; i < params.n; i = i + WORKGROUP_SIZE) { a[i] = exp(e[i] - m) / s; }
}
`;

/** Softmax backward `de = a ⊙ (da − a·da)` by a single workgroup. */
export const SOFTMAX_BACKWARD_WGSL: string = /* wgsl */ `${HEAD}${REDUCE}
@group(0) @binding(0) var<storage, read> a: array<f32>;          // [N]
@group(0) @binding(1) var<storage, read> da: array<f32>;         // [N]
@group(0) @binding(2) var<storage, read_write> de: array<f32>;   // [N]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < params.n; i = i + WORKGROUP_SIZE) { s = s + a[i] * da[i]; }
  s = reduce_sum(lid, s);
  for (var i = lid; i < params.n; i = i + WORKGROUP_SIZE) { de[i] = a[i] * (da[i] - s); }
}
`;

/** Gradient of the gated score with respect to `S = [S_V, S_U]`. */
export const GATED_BACKWARD_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}${HEAD}
@group(0) @binding(0) var<storage, read> s: array<f32>;          // [N, 2D]
@group(0) @binding(1) var<storage, read> de: array<f32>;         // [N]
@group(0) @binding(2) var<storage, read> w: array<f32>;          // [D]
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;   // [N, 2D]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  let dd = params.d;
  if (t >= params.n * dd) { return; }
  let n = t / dd;
  let j = t % dd;
  let v = safe_tanh(s[n * 2u * dd + j]);
  let u = sigmoid(s[n * 2u * dd + dd + j]);
  let dg = de[n] * w[j];
  ds[n * 2u * dd + j] = dg * u * (1.0 - v * v);
  ds[n * 2u * dd + dd + j] = dg * v * u * (1.0 - u);
}
`;

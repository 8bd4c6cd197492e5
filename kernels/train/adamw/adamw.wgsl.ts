// This module is browser compatible.
/**
 * WGSL of one AdamW step (Loshchilov & Hutter; PyTorch `torch.optim.AdamW`
 * semantics), updating parameters and both moments in place:
 *
 * ```
 * p ← p·(1 − lr·λ)
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * p ← p − (lr / bc1)·m / (√v / √bc2 + ε)     bc1 = 1 − β1^t, bc2 = 1 − β2^t
 * ```
 *
 * Layouts: `param, grad, m, v: [n]` f32 (any tensor, flattened).
 * Thread mapping: one thread per element, 1D dispatch folded over (x, y).
 * Bindings: 0 grad (read), 1 param, 2 m, 3 v (read_write), 4 params
 * {n, lr, beta1, beta2, eps, weight_decay, bc1, sqrt_bc2}.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../../_wgsl.ts";

/** One AdamW step over flattened tensors. */
export const ADAMW_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,
  sqrt_bc2: f32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n) { return; }
  let g = grad[i];
  var p = param[i] * (1.0 - params.lr * params.weight_decay);
  let mi = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  p = p - (params.lr / params.bc1) * mi / (sqrt(vi) / params.sqrt_bc2 + params.eps);
  param[i] = p;
}
`;

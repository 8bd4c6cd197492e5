// This module is browser compatible.
/**
 * WGSL of the loss family: sigmoid binary cross-entropy (multi-label, one
 * independent sigmoid per logit) and softmax cross-entropy (multi-class),
 * each writing the per-sample losses and the gradient with respect to the
 * logits, scaled by `grad_scale` (1 / N for a batch mean).
 *
 * Layouts: `logits, targets, grad: [N, K]` row-major f32; `targets` hold
 * 0/1 labels for BCE (any value in [0, 1] works) and one-hot rows or class
 * probabilities for CE; `loss: [N, K]` for BCE, `[N]` for CE.
 *
 * Formulas (numerically stable):
 * - BCE: `ℓ = max(z, 0) − z·y + log(1 + exp(−|z|))`, `∂ℓ/∂z = σ(z) − y`.
 * - CE: `ℓ = Σ_k y_k·(lse − z_k)` with `lse = m + log Σ exp(z − m)`,
 *   `∂ℓ/∂z_k = softmax_k·Σ_j y_j − y_k`.
 *
 * Thread mapping: BCE one thread per element; CE one thread per row (K is
 * small for classification heads). 1D dispatch folded over (x, y).
 * Bindings: 0 logits, 1 targets, 2 loss, 3 grad, 4 params {rows, cols, grad_scale}.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../../_wgsl.ts";

const COMMON = `
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  grad_scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;      // [N, K]
@group(0) @binding(1) var<storage, read> targets: array<f32>;     // [N, K]
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;  // BCE [N, K], CE [N]
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;  // [N, K]
@group(0) @binding(4) var<uniform> params: Params;
`;

/** Sigmoid BCE with logits: per-element loss and scaled gradient. */
export const SIGMOID_BCE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}${COMMON}
fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let e = exp(z);
  return e / (1.0 + e);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.rows * params.cols) { return; }
  let z = logits[i];
  let y = targets[i];
  loss[i] = max(z, 0.0) - z * y + log(1.0 + exp(-abs(z)));
  grad[i] = (sigmoid(z) - y) * params.grad_scale;
}
`;

/** Softmax cross-entropy: per-row loss and scaled gradient. */
export const SOFTMAX_CE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}${COMMON}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (r >= params.rows) { return; }
  let k = params.cols;
  let o = r * k;
  var m = logits[o];
  for (var j = 1u; j < k; j = j + 1u) { m = max(m, logits[o + j]); }
  var s = 0.0;
  var ysum = 0.0;
  for (var j = 0u; j < k; j = j + 1u) {
    s = s + exp(logits[o + j] - m);
    ysum = ysum + targets[o + j];
  }
  let lse = m + log(s);
  var l = 0.0;
  for (var j = 0u; j < k; j = j + 1u) {
    let z = logits[o + j];
    let y = targets[o + j];
    l = l + y * (lse - z);
    grad[o + j] = (exp(z - m) / s * ysum - y) * params.grad_scale;
  }
  loss[r] = l;
}
`;

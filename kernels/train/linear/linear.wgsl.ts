// This module is browser compatible.
/**
 * WGSL of the linear layer family: `y = x·Wᵀ + b` and its two gradients.
 *
 * Layouts (row-major f32): `x: [N, F]`, `weight: [K, F]` (PyTorch `nn.Linear`
 * layout), `bias: [K]`, `y / dy: [N, K]`, `dWeight: [K, F]`, `dx: [N, F]`.
 * The reduction axis of the forward pass and of `dx` (F for the forward, K
 * for `dx`) and the contiguous axis of `dWeight` are read four at a time
 * when `F % 4 == 0` (`V = vec4<f32>`); otherwise the same code runs on
 * scalars (`V = f32`). The element type is chosen by templating
 * ({@linkcode linearWgsl}); the launcher keys the pipeline by the source.
 *
 * Thread mapping (register blocking, which is what makes llvmpipe fast):
 * - forward: one thread per 4×4 block of `y` (4 rows × 4 output columns),
 *   looping over F in steps of V; 8 loads per 16 dot products.
 * - `dWeight`: one thread per 4 rows of `dWeight` × one V of columns,
 *   looping over the N samples.
 * - `dx`: one thread per 4 rows of `dx` × one V of columns, looping over K.
 * The 1D thread index is folded over (x, y) workgroups beyond 65535 and
 * guarded; loads of padding rows/columns are clamped, their stores skipped.
 *
 * Bindings (inputs → outputs → params):
 * - forward: 0 x, 1 weight, 2 bias, 3 y, 4 params
 * - dWeight: 0 x, 1 dy, 2 dWeight, 3 params
 * - dx: 0 dy, 1 weight, 2 dx, 3 params
 *
 * Overrides: `WORKGROUP_SIZE`; forward `HAS_BIAS` (a dummy bias buffer is
 * bound when false); `dx` `ACCUMULATE` (`dx += dy·W` instead of `=`).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../../_wgsl.ts";

/** Which kernel of the family. */
export type LinearKernel = "forward" | "weight_grad" | "input_grad";

function header(vec4: boolean): string {
  return vec4
    ? "alias V = vec4<f32>;\nfn vdot(a: V, b: V) -> f32 { return dot(a, b); }"
    : "alias V = f32;\nfn vdot(a: V, b: V) -> f32 { return a * b; }";
}

const PARAMS = `
struct Params {
  rows: u32,      // N
  cols: u32,      // K
  depth: u32,     // F / 4 (vec4) or F (scalar): the length of a row in V units
  blocks: u32,    // threads needed
  inner: u32,     // thread blocks along the fast axis of the output
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}`;

const FORWARD = `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
override HAS_BIAS: bool = true;

@group(0) @binding(0) var<storage, read> x: array<V>;        // [N, F]
@group(0) @binding(1) var<storage, read> weight: array<V>;   // [K, F]
@group(0) @binding(2) var<storage, read> bias: array<f32>;   // [K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [N, K]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (t >= params.blocks) { return; }
  let r0 = (t / params.inner) * 4u;
  let c0 = (t % params.inner) * 4u;
  let n = params.rows;
  let k = params.cols;
  let d = params.depth;
  let xa = min(r0, n - 1u) * d;
  let xb = min(r0 + 1u, n - 1u) * d;
  let xc = min(r0 + 2u, n - 1u) * d;
  let xd = min(r0 + 3u, n - 1u) * d;
  let wa = min(c0, k - 1u) * d;
  let wb = min(c0 + 1u, k - 1u) * d;
  let wc = min(c0 + 2u, k - 1u) * d;
  let wd = min(c0 + 3u, k - 1u) * d;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var f = 0u; f < d; f = f + 1u) {
    let a0 = x[xa + f];
    let a1 = x[xb + f];
    let a2 = x[xc + f];
    let a3 = x[xd + f];
    let b0 = weight[wa + f];
    let b1 = weight[wb + f];
    let b2 = weight[wc + f];
    let b3 = weight[wd + f];
    acc0 = acc0 + vec4<f32>(vdot(a0, b0), vdot(a0, b1), vdot(a0, b2), vdot(a0, b3));
    acc1 = acc1 + vec4<f32>(vdot(a1, b0), vdot(a1, b1), vdot(a1, b2), vdot(a1, b3));
    acc2 = acc2 + vec4<f32>(vdot(a2, b0), vdot(a2, b1), vdot(a2, b2), vdot(a2, b3));
    acc3 = acc3 + vec4<f32>(vdot(a3, b0), vdot(a3, b1), vdot(a3, b2), vdot(a3, b3));
  }
  var bv = vec4<f32>(0.0);
  if (HAS_BIAS) {
    bv = vec4<f32>(bias[min(c0, k - 1u)], bias[min(c0 + 1u, k - 1u)],
                   bias[min(c0 + 2u, k - 1u)], bias[min(c0 + 3u, k - 1u)]);
  }
  var rows = array<vec4<f32>, 4>(acc0 + bv, acc1 + bv, acc2 + bv, acc3 + bv);
  for (var i = 0u; i < 4u; i = i + 1u) {
    let r = r0 + i;
    if (r >= n) { break; }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let c = c0 + j;
      if (c < k) { y[r * k + c] = rows[i][j]; }
    }
  }
}
`;

const WEIGHT_GRAD = `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<V>;           // [N, F]
@group(0) @binding(1) var<storage, read> dy: array<f32>;        // [N, K]
@group(0) @binding(2) var<storage, read_write> dw: array<V>;    // [K, F]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (t >= params.blocks) { return; }
  let k0 = (t / params.inner) * 4u;   // 4 rows of dW
  let f = t % params.inner;           // one V of columns
  let n = params.rows;
  let k = params.cols;
  let d = params.depth;
  let ka = min(k0, k - 1u);
  let kb = min(k0 + 1u, k - 1u);
  let kc = min(k0 + 2u, k - 1u);
  let kd = min(k0 + 3u, k - 1u);
  var acc0 = V(0.0);
  var acc1 = V(0.0);
  var acc2 = V(0.0);
  var acc3 = V(0.0);
  for (var s = 0u; s < n; s = s + 1u) {
    let xv = x[s * d + f];
    let g = s * k;
    acc0 = acc0 + dy[g + ka] * xv;
    acc1 = acc1 + dy[g + kb] * xv;
    acc2 = acc2 + dy[g + kc] * xv;
    acc3 = acc3 + dy[g + kd] * xv;
  }
  dw[k0 * d + f] = acc0;
  if (k0 + 1u < k) { dw[(k0 + 1u) * d + f] = acc1; }
  if (k0 + 2u < k) { dw[(k0 + 2u) * d + f] = acc2; }
  if (k0 + 3u < k) { dw[(k0 + 3u) * d + f] = acc3; }
}
`;

const INPUT_GRAD = `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<storage, read> dy: array<f32>;        // [N, K]
@group(0) @binding(1) var<storage, read> weight: array<V>;      // [K, F]
@group(0) @binding(2) var<storage, read_write> dx: array<V>;    // [N, F]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (t >= params.blocks) { return; }
  let r0 = (t / params.inner) * 4u;   // 4 rows of dx
  let f = t % params.inner;           // one V of columns
  let n = params.rows;
  let k = params.cols;
  let d = params.depth;
  let ga = min(r0, n - 1u) * k;
  let gb = min(r0 + 1u, n - 1u) * k;
  let gc = min(r0 + 2u, n - 1u) * k;
  let gd = min(r0 + 3u, n - 1u) * k;
  var acc0 = V(0.0);
  var acc1 = V(0.0);
  var acc2 = V(0.0);
  var acc3 = V(0.0);
  for (var j = 0u; j < k; j = j + 1u) {
    let wv = weight[j * d + f];
    acc0 = acc0 + dy[ga + j] * wv;
    acc1 = acc1 + dy[gb + j] * wv;
    acc2 = acc2 + dy[gc + j] * wv;
    acc3 = acc3 + dy[gd + j] * wv;
  }
  var out = array<V, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i = i + 1u) {
    let r = r0 + i;
    if (r >= n) { break; }
    let o = r * d + f;
    if (ACCUMULATE) { dx[o] = dx[o] + out[i]; } else { dx[o] = out[i]; }
  }
}
`;

/**
 * The WGSL source of one kernel of the linear family, on `vec4<f32>` rows
 * (`vec4 = true`, needs `F % 4 == 0`) or on scalars.
 *
 * @example
 * ```ts
 * import { linearWgsl } from "./linear.wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.match(linearWgsl("forward", true), /alias V = vec4<f32>;/);
 * assert.match(linearWgsl("input_grad", false), /alias V = f32;/);
 * ```
 */
export function linearWgsl(kernel: LinearKernel, vec4: boolean): string {
  const body = kernel === "forward" ? FORWARD : kernel === "weight_grad" ? WEIGHT_GRAD : INPUT_GRAD;
  return `${header(vec4)}\n${PARAMS}\n${body}`;
}

/** `y = x·Wᵀ + b` on vec4 rows (F % 4 == 0). */
export const LINEAR_FORWARD_WGSL: string = linearWgsl("forward", true);
/** `dW = dyᵀ·x` on vec4 rows (F % 4 == 0). */
export const LINEAR_WEIGHT_GRAD_WGSL: string = linearWgsl("weight_grad", true);
/** `dx = dy·W` on vec4 rows (F % 4 == 0). */
export const LINEAR_INPUT_GRAD_WGSL: string = linearWgsl("input_grad", true);

// This module is browser compatible.
/**
 * WGSL for elementwise binary ops with NumPy broadcasting, and scale.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * Binary op `out = a OP b` with broadcasting.
 *
 * Layouts: `a`, `b`, `out` row-major f32. Broadcasting is expressed by
 * strides: a broadcast axis has stride 0 in its operand. Up to rank 8.
 * Thread mapping: one thread per output element, 1D dispatch folded into
 * (x, y) beyond 65535 workgroups; linear id = gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE.
 * Bindings: 0 a (read), 1 b (read), 2 out (read_write), 3 params (uniform).
 * Override OP: 0 add, 1 mul, 2 sub.
 */
export const BINARY_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;
override OP: u32 = 0u;

struct Params {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  out_shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n) { return; }
  var rem = i;
  var ai = 0u;
  var bi = 0u;
  for (var d = i32(params.rank) - 1; d >= 0; d = d - 1) {
    let du = u32(d);
    let extent = params.out_shape[du / 4u][du % 4u];
    let coord = rem % extent;
    rem = rem / extent;
    ai = ai + coord * params.a_strides[du / 4u][du % 4u];
    bi = bi + coord * params.b_strides[du / 4u][du % 4u];
  }
  let x = a[ai];
  let y = b[bi];
  var r: f32;
  if (OP == 0u) { r = x + y; } else if (OP == 1u) { r = x * y; } else { r = x - y; }
  out[i] = r;
}
`;

/**
 * `out = x * alpha + beta`, one thread per element.
 * Bindings: 0 x (read), 1 out (read_write), 2 params (uniform {n, alpha, beta}).
 */
export const SCALE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n) { return; }
  out[i] = x[i] * params.alpha + params.beta;
}
`;

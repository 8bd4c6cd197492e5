// This module is browser compatible.
/**
 * WGSL for the (leaky) ReLU activation and its backward pass.
 *
 * @module
 */

/**
 * Leaky ReLU forward: `y = x > 0 ? x : slope * x` (slope 0 is ReLU).
 *
 * Layouts: `x`, `y` flat f32 (any shape). Thread mapping: one thread per
 * element; the 1D dispatch is folded into (x, y) beyond 65535 workgroups and
 * the linear id is `gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE`.
 * Bindings: 0 x (read), 1 y (read_write), 2 params (uniform {n, slope}).
 */
export const LEAKY_RELU_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  slope: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  if (i >= params.n) { return; }
  let v = x[i];
  y[i] = select(params.slope * v, v, v > 0.0);
}
`;

/**
 * Leaky ReLU backward: `dx = dy * (x > 0 ? 1 : slope)`, from the forward
 * input `x`.
 *
 * Thread mapping as {@linkcode LEAKY_RELU_WGSL}.
 * Bindings: 0 x (read), 1 dy (read), 2 dx (read_write), 3 params (uniform {n, slope}).
 */
export const LEAKY_RELU_BACKWARD_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  slope: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  if (i >= params.n) { return; }
  dx[i] = dy[i] * select(params.slope, 1.0, x[i] > 0.0);
}
`;

// This module is browser compatible.
/**
 * WGSL for trilinear resampling of channel-major volumes and its backward.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

const COMMON = /* wgsl */ `
struct Params {
  planes: u32, total: u32, _pad0: u32, _pad1: u32,
  in_d: u32, in_h: u32, in_w: u32, _pad2: u32,
  out_d: u32, out_h: u32, out_w: u32, _pad3: u32,
  scale: vec4<f32>,
  offset: vec4<f32>,
}

fn source_coord(o: u32, axis: u32, size: u32) -> f32 {
  return clamp(f32(o) * params.scale[axis] + params.offset[axis], 0.0, f32(size - 1u));
}
`;

/**
 * Forward: one thread per output voxel, 8 taps.
 *
 * Layouts: `x [planes = N·C, D, H, W]`, `y [planes, D', H', W']`, row-major
 * f32. Output index `o` reads input coordinate `clamp(o·scale + offset, 0,
 * size − 1)` per axis. 1D dispatch folded into (x, y).
 * Bindings: 0 x (read), 1 y (read_write), 2 params (uniform).
 */
export const UPSAMPLE3D_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.total) { return; }
  let ox = i % params.out_w;
  var r = i / params.out_w;
  let oy = r % params.out_h;
  r = r / params.out_h;
  let oz = r % params.out_d;
  let p = r / params.out_d;
  let sz = source_coord(oz, 0u, params.in_d);
  let sy = source_coord(oy, 1u, params.in_h);
  let sx = source_coord(ox, 2u, params.in_w);
  let z0 = u32(floor(sz));
  let y0 = u32(floor(sy));
  let x0 = u32(floor(sx));
  let z1 = min(z0 + 1u, params.in_d - 1u);
  let y1 = min(y0 + 1u, params.in_h - 1u);
  let x1 = min(x0 + 1u, params.in_w - 1u);
  let fz = sz - f32(z0);
  let fy = sy - f32(y0);
  let fx = sx - f32(x0);
  let base = p * params.in_d * params.in_h * params.in_w;
  let r00 = base + (z0 * params.in_h + y0) * params.in_w;
  let r01 = base + (z0 * params.in_h + y1) * params.in_w;
  let r10 = base + (z1 * params.in_h + y0) * params.in_w;
  let r11 = base + (z1 * params.in_h + y1) * params.in_w;
  let v0 = mix(mix(x[r00 + x0], x[r00 + x1], fx), mix(x[r01 + x0], x[r01 + x1], fx), fy);
  let v1 = mix(mix(x[r10 + x0], x[r10 + x1], fx), mix(x[r11 + x0], x[r11 + x1], fx), fy);
  y[i] = mix(v0, v1, fz);
}
`;

/**
 * Backward as a gather: one thread per input voxel sums the output
 * gradients whose taps reach it, weighted by `max(0, 1 − |s − i|)` per axis
 * (`s` the clamped source coordinate of the output). The candidate outputs
 * along each axis are those with `s` in `(i − 1, i + 1)`, widened by one on
 * each side against rounding; zero weights skip the rest. No atomics.
 * Bindings: 0 dy (read), 1 dx (read_write), 2 params (uniform; "in" is the
 * forward input, "out" the forward output).
 */
export const UPSAMPLE3D_BACKWARD_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;
${COMMON}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn out_range(i: u32, axis: u32, in_size: u32, out_size: u32) -> vec2<u32> {
  let a = params.scale[axis];
  let b = params.offset[axis];
  var lo = 0;
  var hi = i32(out_size) - 1;
  if (i > 0u) { lo = max(0, i32(floor((f32(i) - 1.0 - b) / a))); }
  if (i + 1u < in_size) { hi = min(hi, i32(ceil((f32(i) + 1.0 - b) / a))); }
  return vec2<u32>(u32(lo), u32(max(hi, lo - 1) + 1));
}

fn tap_weight(o: u32, i: u32, axis: u32, size: u32) -> f32 {
  return max(0.0, 1.0 - abs(source_coord(o, axis, size) - f32(i)));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.total) { return; }
  let ix = i % params.in_w;
  var r = i / params.in_w;
  let iy = r % params.in_h;
  r = r / params.in_h;
  let iz = r % params.in_d;
  let p = r / params.in_d;
  let rz = out_range(iz, 0u, params.in_d, params.out_d);
  let ry = out_range(iy, 1u, params.in_h, params.out_h);
  let rx = out_range(ix, 2u, params.in_w, params.out_w);
  let base = p * params.out_d * params.out_h * params.out_w;
  var acc = 0.0;
  for (var oz = rz.x; oz < rz.y; oz = oz + 1u) {
    let wz = tap_weight(oz, iz, 0u, params.in_d);
    if (wz == 0.0) { continue; }
    for (var oy = ry.x; oy < ry.y; oy = oy + 1u) {
      let wy = tap_weight(oy, iy, 1u, params.in_h);
      if (wy == 0.0) { continue; }
      let row = base + (oz * params.out_h + oy) * params.out_w;
      var s = 0.0;
      for (var ox = rx.x; ox < rx.y; ox = ox + 1u) {
        s = s + tap_weight(ox, ix, 2u, params.in_w) * dy[row + ox];
      }
      acc = acc + wz * wy * s;
    }
  }
  dx[i] = acc;
}
`;

// This module is browser compatible.
/**
 * WGSL of the reduction family: column sums `out[offset + c] = alpha · Σ_r x[r, c]`.
 *
 * Layouts: `x: [R, C]` row-major f32; `out: [offset + C]` f32.
 * Thread mapping: one workgroup per column (folded over (x, y) beyond 65535
 * columns); its WORKGROUP_SIZE threads stride over the rows in a fixed order
 * and combine by a tree reduction in `var<workgroup>` memory, so the result
 * is the same on every run (deterministic on one device). The early return
 * depends only on the workgroup id, which is uniform, as `workgroupBarrier`
 * requires.
 * Bindings: 0 x (read), 1 out (read_write), 2 params (uniform {rows, cols, offset, alpha}).
 * Override: WORKGROUP_SIZE (a power of two, at most 256).
 *
 * {@linkcode COLUMN_SUM_WIDE_WGSL} is the variant for wide matrices (many
 * columns): one thread per column looping over the rows, so neighbouring
 * threads read neighbouring addresses (a bias gradient `[20000, 256]`).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../../_wgsl.ts";

/** Column sums of a row-major matrix. */
export const COLUMN_SUM_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  offset: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // [R, C]
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // [offset + C]
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = folded_id(wid, nwg, 1u);
  if (c >= params.cols) { return; }
  var s = 0.0;
  for (var r = lid; r < params.rows; r = r + WORKGROUP_SIZE) {
    s = s + x[r * params.cols + c];
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[params.offset + c] = params.alpha * partial[0]; }
}
`;

/** Column sums of a wide matrix: one thread per column, rows in order. */
export const COLUMN_SUM_WIDE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  rows: u32,
  cols: u32,
  offset: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // [R, C]
@group(0) @binding(1) var<storage, read_write> out: array<f32>;  // [offset + C]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (c >= params.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < params.rows; r = r + 1u) {
    s = s + x[r * params.cols + c];
  }
  out[params.offset + c] = params.alpha * s;
}
`;

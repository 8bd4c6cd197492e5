// This module is browser compatible.
/**
 * WGSL for group normalisation of channel-major tensors `[N, C, S]`
 * (S = product of the spatial extents) and its backward pass. The reduction
 * kernels use one workgroup per reduced set and a tree reduction in
 * workgroup memory (WORKGROUP_SIZE must be a power of two).
 *
 * Uniforms (all kernels): {n, c, groups, spatial, eps}. A group of sample n
 * is the contiguous range of `cpg · S` values starting at `(n·C + g·cpg)·S`.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

const COMMON = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  c: u32,
  groups: u32,
  spatial: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

var<workgroup> scratch_a: array<f32, WORKGROUP_SIZE>;
var<workgroup> scratch_b: array<f32, WORKGROUP_SIZE>;

fn reduce2(lid: u32) {
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      scratch_a[lid] = scratch_a[lid] + scratch_a[lid + half];
      scratch_b[lid] = scratch_b[lid] + scratch_b[lid + half];
    }
    workgroupBarrier();
  }
}
`;

/**
 * Statistics: one workgroup per (n, g) computes the mean, then (second
 * pass, for accuracy) the biased variance, and writes `stats[k] = (mean,
 * rstd)` for `k = n·G + g`.
 * Bindings: 0 x (read), 1 stats (read_write, `[N·G, 2]`), 2 params.
 */
export const GROUP_NORM_STATS_WGSL: string = /* wgsl */ `
${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let k = wid.x;
  let cpg = params.c / params.groups;
  let m = cpg * params.spatial;
  let start = ((k / params.groups) * params.c + (k % params.groups) * cpg) * params.spatial;
  var s = 0.0;
  for (var i = lid.x; i < m; i = i + WORKGROUP_SIZE) { s = s + x[start + i]; }
  scratch_a[lid.x] = s;
  scratch_b[lid.x] = 0.0;
  reduce2(lid.x);
  let mean = scratch_a[0] / f32(m);
  workgroupBarrier();
  var v = 0.0;
  for (var i = lid.x; i < m; i = i + WORKGROUP_SIZE) {
    let d = x[start + i] - mean;
    v = v + d * d;
  }
  scratch_a[lid.x] = v;
  scratch_b[lid.x] = 0.0;
  reduce2(lid.x);
  if (lid.x == 0u) {
    stats[2u * k] = mean;
    stats[2u * k + 1u] = inverseSqrt(scratch_a[0] / f32(m) + params.eps);
  }
}
`;

/**
 * Apply: one thread per element, `y = (x − mean)·rstd·gamma[c] + beta[c]`.
 * Bindings: 0 x, 1 stats, 2 gamma, 3 beta (read), 4 y (read_write), 5 params.
 * 1D dispatch folded into (x, y).
 */
export const GROUP_NORM_APPLY_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  c: u32,
  groups: u32,
  spatial: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n * params.c * params.spatial) { return; }
  let nc = i / params.spatial;
  let ch = nc % params.c;
  let k = (nc / params.c) * params.groups + ch / (params.c / params.groups);
  y[i] = (x[i] - stats[2u * k]) * stats[2u * k + 1u] * gamma[ch] + beta[ch];
}
`;

/**
 * Backward statistics: one workgroup per (n, g) sums `A = Σ dy·γ` and
 * `B = Σ dy·γ·x̂` over the group into `sums[k] = (A, B)`.
 * Bindings: 0 x, 1 dy, 2 stats, 3 gamma (read), 4 sums (read_write), 5 params.
 */
export const GROUP_NORM_BACKWARD_STATS_WGSL: string = /* wgsl */ `
${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let k = wid.x;
  let cpg = params.c / params.groups;
  let m = cpg * params.spatial;
  let c0 = (k % params.groups) * cpg;
  let start = ((k / params.groups) * params.c + c0) * params.spatial;
  let mean = stats[2u * k];
  let rstd = stats[2u * k + 1u];
  var a = 0.0;
  var b = 0.0;
  for (var i = lid.x; i < m; i = i + WORKGROUP_SIZE) {
    let gy = dy[start + i] * gamma[c0 + i / params.spatial];
    a = a + gy;
    b = b + gy * (x[start + i] - mean) * rstd;
  }
  scratch_a[lid.x] = a;
  scratch_b[lid.x] = b;
  reduce2(lid.x);
  if (lid.x == 0u) {
    sums[2u * k] = scratch_a[0];
    sums[2u * k + 1u] = scratch_b[0];
  }
}
`;

/**
 * Backward input gradient: one thread per element,
 * `dx = rstd · (dy·γ − A/M − x̂·B/M)` with M = cpg · S.
 * Bindings: 0 x, 1 dy, 2 stats, 3 gamma, 4 sums (read), 5 dx (read_write), 6 params.
 */
export const GROUP_NORM_BACKWARD_DATA_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  c: u32,
  groups: u32,
  spatial: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> sums: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n * params.c * params.spatial) { return; }
  let nc = i / params.spatial;
  let ch = nc % params.c;
  let cpg = params.c / params.groups;
  let k = (nc / params.c) * params.groups + ch / cpg;
  let m = f32(cpg * params.spatial);
  let rstd = stats[2u * k + 1u];
  let xhat = (x[i] - stats[2u * k]) * rstd;
  dx[i] = rstd * (dy[i] * gamma[ch] - sums[2u * k] / m - xhat * sums[2u * k + 1u] / m);
}
`;

/**
 * Parameter gradients: one workgroup per channel sums `dgamma = Σ dy·x̂`
 * and `dbeta = Σ dy` over samples and space.
 * Bindings: 0 x, 1 dy, 2 stats (read), 3 dgamma, 4 dbeta (read_write), 5 params.
 */
export const GROUP_NORM_BACKWARD_PARAMS_WGSL: string = /* wgsl */ `
${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let ch = wid.x;
  let g = ch / (params.c / params.groups);
  var a = 0.0;
  var b = 0.0;
  let count = params.n * params.spatial;
  for (var j = lid.x; j < count; j = j + WORKGROUP_SIZE) {
    let n = j / params.spatial;
    let i = (n * params.c + ch) * params.spatial + j % params.spatial;
    let k = n * params.groups + g;
    let d = dy[i];
    a = a + d * (x[i] - stats[2u * k]) * stats[2u * k + 1u];
    b = b + d;
  }
  scratch_a[lid.x] = a;
  scratch_b[lid.x] = b;
  reduce2(lid.x);
  if (lid.x == 0u) {
    dgamma[ch] = scratch_a[0];
    dbeta[ch] = scratch_b[0];
  }
}
`;

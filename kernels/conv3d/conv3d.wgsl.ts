// This module is browser compatible.
/**
 * WGSL for stride-1, zero-padded 3D convolution and its backward passes.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * Convolution forward, register-blocked: each thread computes 4 output
 * channels × 4 consecutive output columns (16 accumulators in 4 `vec4`s),
 * so every 4 input loads and 4 weight loads feed 16 multiply-adds.
 *
 * Layouts (row-major f32): `x [N, Ci, D, H, W]`, `y [N, Co, D', H', W']`,
 * `bias [Co]`. The weight is read through strides, so one kernel serves the
 * forward pass (`weight [Co, Ci, kd, kh, kw]`: stride_out = Ci·K, stride_in
 * = K) and the data backward pass, which is the convolution of `dy` with the
 * transposed, spatially flipped weights (stride_out = K, stride_in = Co·K,
 * `flip = 1`, padding `k − 1 − p`).
 *
 * Thread mapping: workgroup y = (n, 4-channel block), so weight addresses
 * are uniform across a workgroup; the (z, y, 4-column block) positions are
 * spread over workgroups x (folded into z beyond 65535), columns fastest.
 * Bindings: 0 x (read), 1 weight (read), 2 bias (read; ignored unless
 * has_bias), 3 y (read_write), 4 params (uniform).
 */
export const CONV3D_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  n: u32, ci: u32, co: u32, has_bias: u32,
  in_d: u32, in_h: u32, in_w: u32, flip: u32,
  out_d: u32, out_h: u32, out_w: u32, out_w4: u32,
  kd: u32, kh: u32, kw: u32, stride_out: u32,
  pd: i32, ph: i32, pw: i32, stride_in: u32,
  co4: u32, total: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn load_x(row: u32, ix: i32) -> f32 {
  let inside = ix >= 0 && ix < i32(params.in_w);
  return select(0.0, x[row + u32(clamp(ix, 0, i32(params.in_w) - 1))], inside);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  // (n, channel block) is uniform over the workgroup, so every weight load
  // below has a uniform address (one scalar load on SIMD-on-CPU drivers).
  let cb = wid.y % params.co4;
  let n = wid.y / params.co4;
  let t = (wid.x + wid.z * nwg.x) * WORKGROUP_SIZE + lid.x;
  if (t >= params.total) { return; }
  let xb = t % params.out_w4;
  let r = t / params.out_w4;
  let oy = r % params.out_h;
  let oz = r / params.out_h;
  let x0 = i32(xb * 4u) - params.pw;
  let co0 = cb * 4u;
  let last = params.co - 1u;
  let w0 = min(co0, last) * params.stride_out;
  let w1 = min(co0 + 1u, last) * params.stride_out;
  let w2 = min(co0 + 2u, last) * params.stride_out;
  let w3 = min(co0 + 3u, last) * params.stride_out;
  let k3 = params.kd * params.kh * params.kw;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var ci = 0u; ci < params.ci; ci = ci + 1u) {
    let plane = (n * params.ci + ci) * params.in_d;
    let wc = ci * params.stride_in;
    for (var kz = 0u; kz < params.kd; kz = kz + 1u) {
      let iz = i32(oz) + i32(kz) - params.pd;
      if (iz < 0 || iz >= i32(params.in_d)) { continue; }
      for (var ky = 0u; ky < params.kh; ky = ky + 1u) {
        let iy = i32(oy) + i32(ky) - params.ph;
        if (iy < 0 || iy >= i32(params.in_h)) { continue; }
        let row = ((plane + u32(iz)) * params.in_h + u32(iy)) * params.in_w;
        // 4 + kw - 1 loads per kernel row: the window slides by one column per tap.
        var ix = x0;
        var xv = vec4<f32>(load_x(row, ix), load_x(row, ix + 1), load_x(row, ix + 2), load_x(row, ix + 3));
        for (var kx = 0u; kx < params.kw; kx = kx + 1u) {
          var k = (kz * params.kh + ky) * params.kw + kx;
          if (params.flip != 0u) { k = k3 - 1u - k; }
          let wk = wc + k;
          acc0 = acc0 + weight[w0 + wk] * xv;
          acc1 = acc1 + weight[w1 + wk] * xv;
          acc2 = acc2 + weight[w2 + wk] * xv;
          acc3 = acc3 + weight[w3 + wk] * xv;
          ix = ix + 1;
          xv = vec4<f32>(xv.y, xv.z, xv.w, load_x(row, ix + 3));
        }
      }
    }
  }
  let plane_out = params.out_d * params.out_h * params.out_w;
  let pos = (oz * params.out_h + oy) * params.out_w + xb * 4u;
  let ncols = min(4u, params.out_w - xb * 4u);
  for (var c = 0u; c < 4u; c = c + 1u) {
    let co = co0 + c;
    if (co >= params.co) { break; }
    var acc: vec4<f32>;
    switch c {
      case 0u: { acc = acc0; }
      case 1u: { acc = acc1; }
      case 2u: { acc = acc2; }
      default: { acc = acc3; }
    }
    if (params.has_bias != 0u) { acc = acc + vec4<f32>(bias[co]); }
    let base = (n * params.co + co) * plane_out + pos;
    for (var j = 0u; j < ncols; j = j + 1u) { y[base + j] = acc[j]; }
  }
}
`;

/**
 * Weight gradient, split over row chunks (split-K): each thread computes a
 * 4 (output channels) × 4 (input channels) block of one kernel tap,
 * summed over one chunk of the rows `(n, z', y')` of `dy`, and writes it to
 * `partial [chunks, Co, Ci, K]`; {@linkcode CONV3D_REDUCE_WGSL} sums the
 * chunks. Rows whose input row is in the padding are skipped, and the
 * column loop runs only over columns whose input is inside, so the inner
 * loop has no bounds checks.
 *
 * Thread mapping: one thread per (chunk, co block, ci block, tap), tap
 * fastest; 1D dispatch folded into (x, y).
 * Bindings: 0 x (read), 1 dy (read), 2 partial (read_write), 3 params (uniform).
 */
export const CONV3D_WEIGHT_GRAD_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  n: u32, ci: u32, co: u32, rows: u32,
  in_d: u32, in_h: u32, in_w: u32, chunk_rows: u32,
  out_d: u32, out_h: u32, out_w: u32, k3: u32,
  kd: u32, kh: u32, kw: u32, total: u32,
  pd: i32, ph: i32, pw: i32, co4: u32,
  ci4: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (t >= params.total) { return; }
  let k = t % params.k3;
  var r = t / params.k3;
  let ib = r % params.ci4;
  r = r / params.ci4;
  let cb = r % params.co4;
  let chunk = r / params.co4;
  let kx = k % params.kw;
  let ky = (k / params.kw) % params.kh;
  let kz = k / (params.kw * params.kh);
  let co0 = cb * 4u;
  let ci0 = ib * 4u;
  let co_last = params.co - 1u;
  let ci_last = params.ci - 1u;
  let out_plane = params.out_d * params.out_h * params.out_w;
  let in_plane = params.in_d * params.in_h * params.in_w;
  let x_lo = u32(max(0, params.pw - i32(kx)));
  let x_hi = u32(clamp(i32(params.in_w) + params.pw - i32(kx), 0, i32(params.out_w)));
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let row_end = min(params.rows, (chunk + 1u) * params.chunk_rows);
  for (var row = chunk * params.chunk_rows; row < row_end; row = row + 1u) {
    let oy = row % params.out_h;
    let rz = row / params.out_h;
    let oz = rz % params.out_d;
    let n = rz / params.out_d;
    let iz = i32(oz) + i32(kz) - params.pd;
    let iy = i32(oy) + i32(ky) - params.ph;
    if (iz < 0 || iz >= i32(params.in_d) || iy < 0 || iy >= i32(params.in_h)) { continue; }
    let dy_row = (n * params.co) * out_plane + (oz * params.out_h + oy) * params.out_w;
    let x_row = (n * params.ci) * in_plane + (u32(iz) * params.in_h + u32(iy)) * params.in_w;
    let d0 = dy_row + min(co0, co_last) * out_plane;
    let d1 = dy_row + min(co0 + 1u, co_last) * out_plane;
    let d2 = dy_row + min(co0 + 2u, co_last) * out_plane;
    let d3 = dy_row + min(co0 + 3u, co_last) * out_plane;
    let s0 = x_row + min(ci0, ci_last) * in_plane;
    let s1 = x_row + min(ci0 + 1u, ci_last) * in_plane;
    let s2 = x_row + min(ci0 + 2u, ci_last) * in_plane;
    let s3 = x_row + min(ci0 + 3u, ci_last) * in_plane;
    for (var ox = x_lo; ox < x_hi; ox = ox + 1u) {
      let ix = u32(i32(ox) + i32(kx) - params.pw);
      let xv = vec4<f32>(x[s0 + ix], x[s1 + ix], x[s2 + ix], x[s3 + ix]);
      acc0 = acc0 + dy[d0 + ox] * xv;
      acc1 = acc1 + dy[d1 + ox] * xv;
      acc2 = acc2 + dy[d2 + ox] * xv;
      acc3 = acc3 + dy[d3 + ox] * xv;
    }
  }
  let m = params.co * params.ci * params.k3;
  for (var c = 0u; c < 4u; c = c + 1u) {
    let co = co0 + c;
    if (co >= params.co) { break; }
    var acc: vec4<f32>;
    switch c {
      case 0u: { acc = acc0; }
      case 1u: { acc = acc1; }
      case 2u: { acc = acc2; }
      default: { acc = acc3; }
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let ci = ci0 + j;
      if (ci >= params.ci) { break; }
      partial[chunk * m + (co * params.ci + ci) * params.k3 + k] = acc[j];
    }
  }
}
`;

/**
 * Sums split-K partials: `out[i] = Σ_chunk partial[chunk, i]`.
 * Thread mapping: one thread per output element, 1D folded.
 * Bindings: 0 partial (read), 1 out (read_write), 2 params (uniform {m, chunks}).
 */
export const CONV3D_REDUCE_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  m: u32,
  chunks: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.m) { return; }
  var s = 0.0;
  for (var c = 0u; c < params.chunks; c = c + 1u) { s = s + partial[c * params.m + i]; }
  out[i] = s;
}
`;

/**
 * Bias gradient `dbias[co] = Σ_{n, spatial} dy[n, co, spatial]`: one
 * workgroup per output channel, threads stride over the elements, then a
 * tree reduction in workgroup memory (WORKGROUP_SIZE must be a power of two).
 * Bindings: 0 dy (read), 1 dbias (read_write), 2 params (uniform {n, co, spatial}).
 */
export const CONV3D_BIAS_GRAD_WGSL: string = /* wgsl */ `
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  n: u32,
  co: u32,
  spatial: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let co = wid.x;
  var s = 0.0;
  let count = params.n * params.spatial;
  for (var i = lid.x; i < count; i = i + WORKGROUP_SIZE) {
    let n = i / params.spatial;
    let p = i % params.spatial;
    s = s + dy[(n * params.co + co) * params.spatial + p];
  }
  scratch[lid.x] = s;
  workgroupBarrier();
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
    if (lid.x < half) { scratch[lid.x] = scratch[lid.x] + scratch[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { dbias[co] = scratch[0]; }
}
`;

/** Register-block sizes of the implicit-GEMM convolution kernels. */
export interface Conv3dTile {
  /** Consecutive output columns per thread (forward) / input channels per thread (weight gradient). */
  readonly cols: number;
  /** Output channels per thread. */
  readonly channels: number;
  /** Threads per workgroup. */
  readonly threads: number;
}

/**
 * The tile for software adapters (Mesa llvmpipe): 8 columns × 8 channels
 * per thread (64 scalar accumulators, as the blocked GEMM's 8×8 tile), 8
 * threads per workgroup (one 256-bit SIMD row of invocations).
 */
export const CONV3D_TILE_SOFTWARE: Conv3dTile = { cols: 8, channels: 8, threads: 8 };

/** The tile for hardware GPUs: 4 columns × 8 channels per thread, 64 threads per workgroup. */
export const CONV3D_TILE_HARDWARE: Conv3dTile = { cols: 4, channels: 8, threads: 64 };

const range = (n: number) => [...Array(n).keys()];

/**
 * Convolution as an implicit GEMM on the register-blocked tiling of the
 * matmul family: `y[co, p] = Σ_r W[co, r] · X̂[r, p]` with `r = (ci, kz, ky,
 * kx)` and `X̂` the im2col matrix, which is never built: each thread owns
 * `tile.channels` output channels × `tile.cols` consecutive output columns
 * of one output row (scalar accumulators, fully unrolled), and for each
 * (ci, kz, ky) loads the `cols + kw − 1` input values of its row once and
 * reuses them for the `kw` taps (the im2col columns of neighbouring
 * positions overlap). The kernel extents and the flip are compile-time
 * constants (one pipeline per kernel shape; the pipeline cache keys by
 * source). Rows whose window is inside the input load without bounds checks.
 *
 * Same uniforms, layouts, bindings and thread-to-workgroup mapping as
 * {@linkcode CONV3D_WGSL} (`out_w4` and `co4` counting blocks of
 * `tile.cols` columns and `tile.channels` channels), so it serves the
 * forward pass and the data backward pass (flipped, transposed weights).
 */
export function conv3dGemmWgsl(
  tile: Conv3dTile,
  kernel: readonly number[],
  flip: boolean,
): string {
  const { cols: TM, channels: TN, threads: WX } = tile;
  const [KD, KH, KW] = kernel;
  const K3 = KD * KH * KW;
  const L = TM + KW - 1;
  const I = range(TM);
  const J = range(TN);
  const V = range(L);
  const tap = (kx: string) => {
    const k = `(kz * ${KH}u + ky) * ${KW}u + ${kx}u`;
    return flip ? `${K3 - 1}u - (${k})` : k;
  };
  return /* wgsl */ `
struct Params {
  n: u32, ci: u32, co: u32, has_bias: u32,
  in_d: u32, in_h: u32, in_w: u32, flip: u32,
  out_d: u32, out_h: u32, out_w: u32, out_w4: u32,
  kd: u32, kh: u32, kw: u32, stride_out: u32,
  pd: i32, ph: i32, pw: i32, stride_in: u32,
  co4: u32, total: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn load_x(row: u32, ix: i32) -> f32 {
  let inside = ix >= 0 && ix < i32(params.in_w);
  return select(0.0, x[row + u32(clamp(ix, 0, i32(params.in_w) - 1))], inside);
}

@compute @workgroup_size(${WX})
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let cb = wid.y % params.co4;
  let n = wid.y / params.co4;
  let t = (wid.x + wid.z * nwg.x) * ${WX}u + lid.x;
  if (t >= params.total) { return; }
  let xb = t % params.out_w4;
  let r = t / params.out_w4;
  let oy = r % params.out_h;
  let oz = r / params.out_h;
  let x0 = i32(xb * ${TM}u) - params.pw;
  let interior = x0 >= 0 && x0 + ${L} <= i32(params.in_w);
  let co0 = cb * ${TN}u;
  let last = params.co - 1u;
  ${J.map((j) => `let w${j} = min(co0 + ${j}u, last) * params.stride_out;`).join("\n  ")}
  ${I.map((i) => J.map((j) => `var acc${i}_${j} = 0.0;`).join(" ")).join("\n  ")}
  for (var ci = 0u; ci < params.ci; ci = ci + 1u) {
    let plane = (n * params.ci + ci) * params.in_d;
    let wc = ci * params.stride_in;
    for (var kz = 0u; kz < ${KD}u; kz = kz + 1u) {
      let iz = i32(oz) + i32(kz) - params.pd;
      if (iz < 0 || iz >= i32(params.in_d)) { continue; }
      for (var ky = 0u; ky < ${KH}u; ky = ky + 1u) {
        let iy = i32(oy) + i32(ky) - params.ph;
        if (iy < 0 || iy >= i32(params.in_h)) { continue; }
        let row = ((plane + u32(iz)) * params.in_h + u32(iy)) * params.in_w;
        ${V.map((v) => `var v${v}: f32;`).join(" ")}
        if (interior) {
          let b = row + u32(x0);
          ${V.map((v) => `v${v} = x[b + ${v}u];`).join(" ")}
        } else {
          ${V.map((v) => `v${v} = load_x(row, x0 + ${v});`).join(" ")}
        }
        ${
    range(KW).map((kx) =>
      `{
          let wk = wc + ${tap(String(kx))};
          ${J.map((j) => `let b${j} = weight[w${j} + wk];`).join(" ")}
          ${
        I.map((i) => J.map((j) => `acc${i}_${j} += v${i + kx} * b${j};`).join(" ")).join(
          "\n          ",
        )
      }
        }`
    ).join("\n        ")
  }
      }
    }
  }
  let plane_out = params.out_d * params.out_h * params.out_w;
  let pos = (oz * params.out_h + oy) * params.out_w + xb * ${TM}u;
  let ncols = params.out_w - xb * ${TM}u;
  ${
    J.map((j) =>
      `if (co0 + ${j}u < params.co) {
    let bj = select(0.0, bias[co0 + ${j}u], params.has_bias != 0u);
    let base = (n * params.co + co0 + ${j}u) * plane_out + pos;
    ${I.map((i) => `if (${i}u < ncols) { y[base + ${i}u] = acc${i}_${j} + bj; }`).join(" ")}
  }`
    ).join("\n  ")
  }
}
`;
}

/**
 * Weight gradient as an implicit GEMM, split over row chunks (split-K):
 * `dW[co, (ci, k)] = Σ_p dy[co, p] · X̂[(ci, k), p]`. Each thread owns
 * `tile.channels` output channels × `tile.cols` input channels of one
 * kernel tap (scalar accumulators, unrolled) summed over one chunk of the
 * rows `(n, z', y')`; per output column it loads `channels + cols` values
 * for `channels · cols` multiply-adds. Same uniforms, bindings, thread
 * mapping and partial layout as {@linkcode CONV3D_WEIGHT_GRAD_WGSL}
 * (`co4`, `ci4` counting blocks of the tile's sizes); summed by
 * {@linkcode CONV3D_REDUCE_WGSL}.
 */
export function conv3dWeightGradGemmWgsl(tile: Conv3dTile): string {
  const { cols: TB, channels: TA, threads: WX } = tile;
  const A = range(TA);
  const B = range(TB);
  return /* wgsl */ `${FOLDED_ID_WGSL}
struct Params {
  n: u32, ci: u32, co: u32, rows: u32,
  in_d: u32, in_h: u32, in_w: u32, chunk_rows: u32,
  out_d: u32, out_h: u32, out_w: u32, k3: u32,
  kd: u32, kh: u32, kw: u32, total: u32,
  pd: i32, ph: i32, pw: i32, co4: u32,
  ci4: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WX})
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, ${WX}u);
  if (t >= params.total) { return; }
  let k = t % params.k3;
  var r = t / params.k3;
  let ib = r % params.ci4;
  r = r / params.ci4;
  let cb = r % params.co4;
  let chunk = r / params.co4;
  let kx = k % params.kw;
  let ky = (k / params.kw) % params.kh;
  let kz = k / (params.kw * params.kh);
  let co0 = cb * ${TA}u;
  let ci0 = ib * ${TB}u;
  let co_last = params.co - 1u;
  let ci_last = params.ci - 1u;
  let out_plane = params.out_d * params.out_h * params.out_w;
  let in_plane = params.in_d * params.in_h * params.in_w;
  let x_lo = u32(max(0, params.pw - i32(kx)));
  let x_hi = u32(clamp(i32(params.in_w) + params.pw - i32(kx), 0, i32(params.out_w)));
  let shift = i32(kx) - params.pw;
  ${A.map((a) => `let dc${a} = min(co0 + ${a}u, co_last) * out_plane;`).join("\n  ")}
  ${B.map((b) => `let xc${b} = min(ci0 + ${b}u, ci_last) * in_plane;`).join("\n  ")}
  ${A.map((a) => B.map((b) => `var acc${a}_${b} = 0.0;`).join(" ")).join("\n  ")}
  let row_end = min(params.rows, (chunk + 1u) * params.chunk_rows);
  for (var row = chunk * params.chunk_rows; row < row_end; row = row + 1u) {
    let oy = row % params.out_h;
    let rz = row / params.out_h;
    let oz = rz % params.out_d;
    let n = rz / params.out_d;
    let iz = i32(oz) + i32(kz) - params.pd;
    let iy = i32(oy) + i32(ky) - params.ph;
    if (iz < 0 || iz >= i32(params.in_d) || iy < 0 || iy >= i32(params.in_h)) { continue; }
    let dy_row = (n * params.co) * out_plane + (oz * params.out_h + oy) * params.out_w;
    // u32 arithmetic wraps: adding ox >= x_lo brings a negative shift back in range
    let x_row = (n * params.ci) * in_plane + (u32(iz) * params.in_h + u32(iy)) * params.in_w + u32(shift);
    for (var ox = x_lo; ox < x_hi; ox = ox + 1u) {
      ${A.map((a) => `let g${a} = dy[dy_row + dc${a} + ox];`).join(" ")}
      ${B.map((b) => `let s${b} = x[x_row + xc${b} + ox];`).join(" ")}
      ${A.map((a) => B.map((b) => `acc${a}_${b} += g${a} * s${b};`).join(" ")).join("\n      ")}
    }
  }
  let m = params.co * params.ci * params.k3;
  ${
    A.map((a) =>
      B.map((b) =>
        `if (co0 + ${a}u < params.co && ci0 + ${b}u < params.ci) { partial[chunk * m + ((co0 + ${a}u) * params.ci + ci0 + ${b}u) * params.k3 + k] = acc${a}_${b}; }`
      ).join("\n  ")
    ).join("\n  ")
  }
}
`;
}

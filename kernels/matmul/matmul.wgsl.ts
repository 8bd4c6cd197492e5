// This module is browser compatible.
/**
 * WGSL of the matmul family: `y = x · wᵀ + bias` with fused epilogues, a
 * register-blocked kernel (the fast one) and a naive one-output-per-thread
 * kernel (the baseline), plus the exact-erf GELU they share.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * `erf` and exact GELU for WGSL, which has no `erf` builtin.
 *
 * `erf_f32(x)`: for |x| < 1, `x + x·A(x²)` with A a degree-6 polynomial; for
 * 1 ≤ |x| < 4, `1 − exp(B(|x| − 1))` with B a degree-10 polynomial
 * approximating `ln erfc`; for |x| ≥ 4, ±1 (erfc(4) = 1.5e-8). The
 * coefficients are our own least-squares fits on 400/600 Chebyshev nodes
 * against mpmath's erf (40 digits), rounded to f32. Evaluated in f32 the
 * worst error against the true erf is about 7e-8 on a dense grid (the f32
 * rounding floor there is 3e-8); Abramowitz–Stegun 7.1.26 (1.5e-7) is not
 * enough for the 5e-5 model tolerance after 24 blocks. The tanh GELU is off
 * by up to 3e-4 and must not be used.
 *
 * `gelu_erf(x) = 0.5 · x · (1 + erf(x / √2))`.
 */
export const ERF_WGSL: string = /* wgsl */ `
fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 1.0) {
    let t = x * x;
    var p = 7.882497448008507e-05;
    p = p * t - 0.0008018855005502701;
    p = p * t + 0.005189312156289816;
    p = p * t - 0.02685432881116867;
    p = p * t + 0.11283597350120544;
    p = p * t - 0.3761262595653534;
    p = p * t + 0.12837916612625122;
    return x + x * p;
  }
  if (a >= 4.0) {
    return sign(x);
  }
  let u = a - 1.0;
  var q = -4.1048540566634983e-08;
  q = q * u + 5.498994823938119e-07;
  q = q * u - 1.4225191762307077e-06;
  q = q * u - 2.3823105948395096e-05;
  q = q * u + 0.0003044443728867918;
  q = q * u - 0.0020384241361171007;
  q = q * u + 0.010068956762552261;
  q = q * u - 0.04157326743006706;
  q = q * u - 0.8431050777435303;
  q = q * u - 2.638967752456665;
  q = q * u - 1.8496055603027344;
  let r = 1.0 - exp(q);
  return select(r, -r, x < 0.0);
}

fn gelu_erf(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476));
}
`;

/** Uniforms shared by both matmul kernels (32 bytes). */
const PARAMS_WGSL = /* wgsl */ `
struct Params {
  m: u32,            // rows of x (and of the logical output)
  n: u32,            // output columns = rows of w
  k: u32,            // reduction length = columns of x and w
  out_group: u32,    // output row remap: row r goes to (r / out_group) * out_stride + out_offset + r % out_group
  out_stride: u32,
  out_offset: u32,
  _pad0: u32,
  _pad1: u32,
}
`;

/** The epilogue: bias, then GELU or LayerScale + residual, then the store. */
const EPILOGUE_WGSL = /* wgsl */ `
override EPILOGUE: u32 = 0u;   // 0: + bias; 1: gelu(+ bias); 2: residual + gamma * (+ bias)
override HAS_BIAS: bool = true;

fn out_row(r: u32) -> u32 {
  return (r / params.out_group) * params.out_stride + params.out_offset + r % params.out_group;
}

fn finish(acc: f32, r: u32, c: u32) {
  var v = acc;
  if (HAS_BIAS) { v = v + bias[c]; }
  let o = out_row(r) * params.n + c;
  if (EPILOGUE == 1u) {
    v = gelu_erf(v);
  } else if (EPILOGUE == 2u) {
    v = residual[o] + gamma[c] * v;
  }
  out[o] = v;
}
`;

/** Register-block sizes of {@linkcode matmulWgsl}. */
export interface MatmulTile {
  /** Output rows per thread. */
  readonly rows: number;
  /** Output columns per thread. */
  readonly cols: number;
  /** Threads per workgroup along the columns. */
  readonly wgX: number;
  /** Threads per workgroup along the rows. */
  readonly wgY: number;
}

/**
 * The tile that measured fastest on Mesa llvmpipe (8×8 outputs per thread,
 * 8 threads per workgroup: one 256-bit SIMD row of invocations).
 */
export const MATMUL_TILE_SOFTWARE: MatmulTile = { rows: 8, cols: 8, wgX: 8, wgY: 1 };

/** A tile for hardware GPUs: 4×4 outputs per thread, 16×16 threads (64×64 per workgroup). */
export const MATMUL_TILE_HARDWARE: MatmulTile = { rows: 4, cols: 4, wgX: 16, wgY: 16 };

/**
 * The register-blocked kernel for a tile size (array sizes are WGSL
 * const-expressions, so the tile is templated; the pipeline cache keys by
 * source text).
 *
 * Layouts: `x: [m, k]` row-major f32 read as `vec4` along k (k % 4 == 0);
 * `w: [n, k]` row-major (PyTorch `Linear.weight`), also `vec4` along k;
 * `bias, gamma: [n]`; `residual, out: [rows, n]` with rows remapped by
 * `out_row` (identity when `out_group = m, out_stride = 0, out_offset = 0`).
 *
 * Thread mapping: thread (tx, ty) of workgroup (gx, gy) owns rows
 * `(gy·wgY + ty)·rows + i` and columns `gx·wgX·cols + tx + j·wgX`
 * (strided so that neighbouring threads read neighbouring weight rows).
 * Each k-step of 4 loads `rows` x-vectors and `cols` w-vectors and does
 * `rows·cols` vec4 dot products into f32 accumulators. No shared memory:
 * on llvmpipe it does not help, and caches serve the reuse on GPUs.
 * Out-of-range rows/columns load a clamped (valid) address and skip the store.
 *
 * Bindings: 0 x, 1 w, 2 bias, 3 gamma, 4 residual (read), 5 out (read_write),
 * 6 params (uniform). Overrides: EPILOGUE, HAS_BIAS.
 */
export function matmulWgsl(tile: MatmulTile): string {
  const { rows: TM, cols: TN, wgX: WX, wgY: WY } = tile;
  const I = [...Array(TM).keys()];
  const J = [...Array(TN).keys()];
  const each = (n: number[], f: (i: number) => string, sep = "\n  ") => n.map(f).join(sep);
  // Unrolled into scalar accumulators: an array indexed inside a loop that
  // the compiler does not unroll (the epilogue makes the store loop large)
  // is demoted to scratch memory, which halved the speed on llvmpipe.
  return /* wgsl */ `
${PARAMS_WGSL}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
${ERF_WGSL}
${EPILOGUE_WGSL}

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k4 = params.k / 4u;
  let row0 = (wg.y * ${WY}u + lid.y) * ${TM}u;
  let col0 = wg.x * ${WX * TN}u + lid.x;
  if (row0 >= params.m) { return; }
  ${each(I, (i) => `let xr${i} = min(row0 + ${i}u, params.m - 1u) * k4;`)}
  ${each(J, (j) => `let wr${j} = min(col0 + ${j * WX}u, params.n - 1u) * k4;`)}
  ${each(I, (i) => each(J, (j) => `var acc${i}_${j} = 0.0;`, " "))}
  for (var kk = 0u; kk < k4; kk++) {
    ${each(J, (j) => `let b${j} = w[wr${j} + kk];`, "\n    ")}
    ${
    each(I, (i) =>
      `{ let a = x[xr${i} + kk]; ${
        each(J, (j) => `acc${i}_${j} += dot(a, b${j});`, " ")
      } }`, "\n    ")
  }
  }
  ${
    each(I, (i) =>
      `if (row0 + ${i}u < params.m) {
    ${
        each(J, (j) =>
          `if (col0 + ${j * WX}u < params.n) { finish(acc${i}_${j}, row0 + ${i}u, col0 + ${
            j * WX
          }u); }`, "\n    ")
      }
  }`)
  }
}
`;
}

/** k-steps of 4 values staged in workgroup memory per pass of {@linkcode matmulTiledWgsl}. */
export const MATMUL_TILED_BK4 = 4;

/** Workgroup-memory bytes {@linkcode matmulTiledWgsl} needs for a tile. */
export function matmulTiledBytes(tile: MatmulTile): number {
  return (tile.wgY * tile.rows + tile.wgX * tile.cols) * MATMUL_TILED_BK4 * 16;
}

/**
 * The register-blocked kernel with workgroup-memory tiles, for hardware
 * GPUs: per pass, the workgroup stages the `(wgY·rows) × 16` block of `x`
 * and the `(wgX·cols) × 16` block of `w` it needs in workgroup memory
 * (cooperative `vec4` loads, out-of-range rows clamped, the k tail
 * zero-filled), then each thread runs the same `rows × cols` register block
 * as {@linkcode matmulWgsl} out of it, so each global value is read once per
 * workgroup instead of once per thread. Same layouts, thread-to-output
 * mapping, epilogue, bindings and overrides as {@linkcode matmulWgsl}; no
 * early return (barriers need uniform control flow).
 */
export function matmulTiledWgsl(tile: MatmulTile): string {
  const { rows: TM, cols: TN, wgX: WX, wgY: WY } = tile;
  const BM = WY * TM;
  const BN = WX * TN;
  const BK4 = MATMUL_TILED_BK4;
  const T = WX * WY;
  const I = [...Array(TM).keys()];
  const J = [...Array(TN).keys()];
  const each = (n: number[], f: (i: number) => string, sep = "\n  ") => n.map(f).join(sep);
  return /* wgsl */ `
${PARAMS_WGSL}
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
${ERF_WGSL}
${EPILOGUE_WGSL}

var<workgroup> ta: array<vec4<f32>, ${BM * BK4}>;
var<workgroup> tb: array<vec4<f32>, ${BN * BK4}>;

@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k4 = params.k / 4u;
  let tid = lid.y * ${WX}u + lid.x;
  let row_base = wg.y * ${BM}u;
  let col_base = wg.x * ${BN}u;
  let row0 = (wg.y * ${WY}u + lid.y) * ${TM}u;
  let col0 = col_base + lid.x;
  ${each(I, (i) => each(J, (j) => `var acc${i}_${j} = 0.0;`, " "))}
  for (var k0 = 0u; k0 < k4; k0 = k0 + ${BK4}u) {
    for (var e = tid; e < ${BM * BK4}u; e = e + ${T}u) {
      let r = min(row_base + e / ${BK4}u, params.m - 1u);
      let kk = k0 + e % ${BK4}u;
      ta[e] = select(vec4<f32>(0.0), x[r * k4 + min(kk, k4 - 1u)], kk < k4);
    }
    for (var e = tid; e < ${BN * BK4}u; e = e + ${T}u) {
      let c = min(col_base + e / ${BK4}u, params.n - 1u);
      let kk = k0 + e % ${BK4}u;
      tb[e] = select(vec4<f32>(0.0), w[c * k4 + min(kk, k4 - 1u)], kk < k4);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK4}u; kk = kk + 1u) {
      ${each(J, (j) => `let b${j} = tb[(lid.x + ${j * WX}u) * ${BK4}u + kk];`, "\n      ")}
      ${
    each(I, (i) =>
      `{ let a = ta[(lid.y * ${TM}u + ${i}u) * ${BK4}u + kk]; ${
        each(J, (j) =>
          `acc${i}_${j} += dot(a, b${j});`, " ")
      } }`, "\n      ")
  }
    }
    workgroupBarrier();
  }
  ${
    each(I, (i) =>
      `if (row0 + ${i}u < params.m) {
    ${
        each(J, (j) =>
          `if (col0 + ${j * WX}u < params.n) { finish(acc${i}_${j}, row0 + ${i}u, col0 + ${
            j * WX
          }u); }`, "\n    ")
      }
  }`)
  }
}
`;
}

/** The register-blocked kernel with {@linkcode MATMUL_TILE_SOFTWARE}. */
export const MATMUL_WGSL: string = matmulWgsl(MATMUL_TILE_SOFTWARE);

/**
 * The naive baseline: one output per thread, scalar loads, any k.
 *
 * Layouts and bindings as {@linkcode matmulWgsl}, but `x` and `w` are read
 * as scalars, so k need not be a multiple of 4. Thread mapping: 8×8
 * workgroups, thread (c, r) computes `out[r, c]` with a plain dot product.
 */
export const MATMUL_NAIVE_WGSL: string = /* wgsl */ `
${PARAMS_WGSL}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;
${ERF_WGSL}
${EPILOGUE_WGSL}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let r = gid.y;
  if (r >= params.m || c >= params.n) { return; }
  var acc = 0.0;
  for (var kk = 0u; kk < params.k; kk++) {
    acc += x[r * params.k + kk] * w[c * params.k + kk];
  }
  finish(acc, r, c);
}
`;

/**
 * Evaluates `gelu_erf` (MODE 0) or `erf_f32` (MODE 1) elementwise; used by
 * the tests to measure the approximation on a dense grid.
 * Bindings: 0 x (read), 1 out (read_write), 2 params `{ n }`.
 */
export const GELU_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
override MODE: u32 = 0u;
${ERF_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, 64u);
  if (i >= params.n) { return; }
  out[i] = select(gelu_erf(x[i]), erf_f32(x[i]), MODE == 1u);
}
`;

// This module is browser compatible.
/**
 * WGSL of the patch_embed family: the im2col gather that turns a stride-P
 * P×P convolution into a GEMM (run by the matmul family), and the fill of
 * the prefix tokens (CLS and registers).
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * im2col for a P×P convolution with stride P and no padding:
 * `patches[b·h·w + i·w + j, c·P·P + ky·P + kx] = pixels[b, c, P·i + ky, P·j + kx]`
 * (channel-major, then row, then column: the order of a PyTorch conv weight
 * `[C, 3, P, P]` flattened). Pixels past the last full patch are ignored,
 * as the official model does.
 *
 * Layouts: `pixels: [batch, channels, height, width]` (NCHW) f32;
 * `patches: [batch·h·w, channels·P·P]` f32.
 * Thread mapping: one thread per (patch, channel, ky) copying the P pixels
 * of one patch row (contiguous in both tensors), 1D dispatch folded into
 * (x, y). Bindings: 0 pixels (read), 1 patches (read_write), 2 params
 * (uniform). Override: WORKGROUP_SIZE.
 */
export const IM2COL_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  channels: u32,
  height: u32,
  width: u32,
  patch_size: u32,
  grid_h: u32,
  grid_w: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> pixels: array<f32>;
@group(0) @binding(1) var<storage, read_write> patches: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = folded_id(gid, nwg, WORKGROUP_SIZE);   // (row, c, ky)
  let ps = params.patch_size;
  let lines = params.channels * ps;                   // patch rows per patch
  let cells = params.grid_h * params.grid_w;
  if (idx >= params.batch * cells * lines) { return; }
  let row = idx / lines;
  let c = (idx % lines) / ps;
  let ky = idx % ps;
  let b = row / cells;
  let i = (row % cells) / params.grid_w;
  let j = row % params.grid_w;
  let src = ((b * params.channels + c) * params.height + i * ps + ky) * params.width + j * ps;
  let dst = idx * ps;                                 // = row·channels·P·P + c·P·P + ky·P
  for (var kx = 0u; kx < ps; kx++) { patches[dst + kx] = pixels[src + kx]; }
}
`;

/**
 * Writes the prefix tokens of every image: `tokens[b, 0] = cls`,
 * `tokens[b, 1 + r] = registers[r]`.
 *
 * Layouts: `cls: [C]`, `registers: [R, C]`, `tokens: [batch, tokens, C]` f32.
 * Thread mapping: one thread per (b, prefix token, c), 1D folded.
 * Bindings: 0 cls, 1 registers (read), 2 tokens (read_write), 3 params
 * (uniform `{ batch, tokens, dim, registers }`). Override: WORKGROUP_SIZE.
 */
export const PREFIX_TOKENS_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  batch: u32,
  tokens: u32,
  dim: u32,
  registers: u32,
}

@group(0) @binding(0) var<storage, read> cls: array<f32>;
@group(0) @binding(1) var<storage, read> registers: array<f32>;
@group(0) @binding(2) var<storage, read_write> tokens: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = folded_id(gid, nwg, WORKGROUP_SIZE);
  let prefix = 1u + params.registers;
  if (idx >= params.batch * prefix * params.dim) { return; }
  let c = idx % params.dim;
  let t = (idx / params.dim) % prefix;
  let b = idx / (params.dim * prefix);
  var v = cls[c];
  if (t > 0u) { v = registers[(t - 1u) * params.dim + c]; }
  tokens[(b * params.tokens + t) * params.dim + c] = v;
}
`;

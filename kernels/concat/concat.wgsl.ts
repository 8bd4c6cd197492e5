// This module is browser compatible.
/**
 * WGSL for channel concatenation (and its backward, channel splitting) of
 * channel-major tensors `[N, C, ...spatial]`.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * Copies a channel range between two `[N, C, S]` tensors (S = the product
 * of the spatial extents): `dst[n, dst_offset + c, s] = src[n, src_offset + c, s]`
 * for `c < count`. Concatenation is two copies into one output; its backward
 * (splitting the gradient) is two copies out of it.
 *
 * Layouts: `src [N, src_channels, S]`, `dst [N, dst_channels, S]`, row-major f32.
 * Thread mapping: one thread per copied element (N · count · S), 1D dispatch
 * folded into (x, y) beyond 65535 workgroups.
 * Bindings: 0 src (read), 1 dst (read_write), 2 params (uniform).
 */
export const CHANNEL_COPY_WGSL: string = /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  total: u32,
  spatial: u32,
  count: u32,
  src_channels: u32,
  dst_channels: u32,
  src_offset: u32,
  dst_offset: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.total) { return; }
  let s = i % params.spatial;
  let rest = i / params.spatial;
  let c = rest % params.count;
  let n = rest / params.count;
  let src_index = (n * params.src_channels + params.src_offset + c) * params.spatial + s;
  let dst_index = (n * params.dst_channels + params.dst_offset + c) * params.spatial + s;
  dst[dst_index] = src[src_index];
}
`;

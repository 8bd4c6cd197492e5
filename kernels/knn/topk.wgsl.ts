// This module is browser compatible.
/**
 * WGSL of the top-k family: the k largest scores of each row, ordered by
 * score descending then column index ascending (the k-NN convention of
 * `fixtures/metrics/knn.json`: ties go to the smaller training index).
 *
 * Two passes:
 * 1. `partial`: one thread per (row, segment of `seg_len` columns) scans its
 *    columns in ascending order and keeps a sorted list of the best k in
 *    private memory (an insertion that stops at an equal score, so equal
 *    scores keep the earlier index first); writes `[Q, S, k]` scores and
 *    global indices (`column + index_offset`), padded with `-inf` /
 *    `0xffffffff` when a segment has fewer than k columns.
 * 2. `merge`: one thread per row merges its S sorted lists with the full
 *    comparator (lists are visited in order and each stops at its first
 *    entry worse than the current k-th).
 *
 * Layouts: `scores: [Q, M]` f32; partial `[Q, S, k]` f32 + u32; result
 * `[Q, k]` f32 + u32. `MAX_K` (the private array length) is templated
 * (8, 16, 32, 64, 128 or 256) and part of the pipeline key; `k <= MAX_K`.
 * Bindings: 0 input scores (or partial scores), [1 partial indices for
 * merge], then outputs (scores, indices), then params.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

const PARAMS = `
struct Params {
  rows: u32,          // Q
  cols: u32,          // M (partial) or S·k (merge)
  k: u32,
  seg_len: u32,       // columns per segment (partial) or k (merge)
  segments: u32,      // S
  index_offset: u32,  // added to column indices (partial)
  _pad0: u32,
  _pad1: u32,
}`;

const INSERT = `
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}
`;

function partial(maxK: number): string {
  return `${FOLDED_ID_WGSL}
const MAX_K: u32 = ${maxK}u;
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
@group(0) @binding(0) var<storage, read> scores: array<f32>;          // [Q, M]
@group(0) @binding(1) var<storage, read_write> out_val: array<f32>;   // [Q, S, k]
@group(0) @binding(2) var<storage, read_write> out_idx: array<u32>;   // [Q, S, k]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (t >= params.rows * params.segments) { return; }
  let q = t / params.segments;
  let s = t % params.segments;
  let k = params.k;
  var vals: array<f32, MAX_K>;
  var idxs: array<u32, MAX_K>;
  var count = 0u;
  let start = s * params.seg_len;
  let end = min(start + params.seg_len, params.cols);
  let row = q * params.cols;
  for (var j = start; j < end; j = j + 1u) {
    let v = scores[row + j];
    if (count == k && !(v > vals[k - 1u])) { continue; }
    var p = count;
    if (count < k) { count = count + 1u; } else { p = k - 1u; }
    // Columns come in ascending order: stop at an equal score (earlier index wins).
    while (p > 0u && vals[p - 1u] < v) {
      vals[p] = vals[p - 1u];
      idxs[p] = idxs[p - 1u];
      p = p - 1u;
    }
    vals[p] = v;
    idxs[p] = j + params.index_offset;
  }
  let o = t * k;
  for (var i = 0u; i < k; i = i + 1u) {
    if (i < count) {
      out_val[o + i] = vals[i];
      out_idx[o + i] = idxs[i];
    } else {
      out_val[o + i] = bitcast<f32>(0xff800000u);
      out_idx[o + i] = 0xffffffffu;
    }
  }
}
`;
}

function merge(maxK: number): string {
  return `${FOLDED_ID_WGSL}
const MAX_K: u32 = ${maxK}u;
override WORKGROUP_SIZE: u32 = 64u;
${PARAMS}
${INSERT}
@group(0) @binding(0) var<storage, read> in_val: array<f32>;          // [Q, S, k]
@group(0) @binding(1) var<storage, read> in_idx: array<u32>;          // [Q, S, k]
@group(0) @binding(2) var<storage, read_write> out_val: array<f32>;   // [Q, k]
@group(0) @binding(3) var<storage, read_write> out_idx: array<u32>;   // [Q, k]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (q >= params.rows) { return; }
  let k = params.k;
  var vals: array<f32, MAX_K>;
  var idxs: array<u32, MAX_K>;
  var count = 0u;
  for (var s = 0u; s < params.segments; s = s + 1u) {
    let base = (q * params.segments + s) * k;
    for (var i = 0u; i < k; i = i + 1u) {
      let j = in_idx[base + i];
      if (j == 0xffffffffu) { break; }
      let v = in_val[base + i];
      if (count == k && !better(v, j, vals[k - 1u], idxs[k - 1u])) { break; }
      var p = count;
      if (count < k) { count = count + 1u; } else { p = k - 1u; }
      while (p > 0u && better(v, j, vals[p - 1u], idxs[p - 1u])) {
        vals[p] = vals[p - 1u];
        idxs[p] = idxs[p - 1u];
        p = p - 1u;
      }
      vals[p] = v;
      idxs[p] = j;
    }
  }
  for (var i = 0u; i < k; i = i + 1u) {
    if (i < count) {
      out_val[q * k + i] = vals[i];
      out_idx[q * k + i] = idxs[i];
    } else {
      out_val[q * k + i] = bitcast<f32>(0xff800000u);
      out_idx[q * k + i] = 0xffffffffu;
    }
  }
}
`;
}

/** The private-array lengths the top-k kernels are compiled for. */
export const TOPK_MAX_K_BUCKETS: readonly number[] = [8, 16, 32, 64, 128, 256];

/**
 * WGSL of one top-k pass for private lists of `maxK` entries.
 *
 * @example
 * ```ts
 * import { topkWgsl } from "./topk.wgsl.ts";
 * import assert from "node:assert/strict";
 * assert.match(topkWgsl("partial", 32), /const MAX_K: u32 = 32u;/);
 * ```
 */
export function topkWgsl(pass: "partial" | "merge", maxK: number): string {
  return pass === "partial" ? partial(maxK) : merge(maxK);
}

/** The partial pass for k ≤ 32. */
export const TOPK_PARTIAL_WGSL: string = topkWgsl("partial", 32);
/** The merge pass for k ≤ 32. */
export const TOPK_MERGE_WGSL: string = topkWgsl("merge", 32);

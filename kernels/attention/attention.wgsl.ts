// This module is browser compatible.
/**
 * WGSL of fused multi-head attention: online softmax in the
 * FlashAttention manner, so no N×N score matrix ever reaches global memory.
 *
 * @module
 */

/** Compile-time structure of {@linkcode attentionWgsl}. */
export interface AttentionShape {
  /** Head dim Dh (a multiple of 4; 64 for DINOv3 S/B/L). */
  readonly headDim: number;
  /** Threads per workgroup. */
  readonly threads: number;
  /** Queries per thread: each k or v vector loaded feeds this many FMAs. */
  readonly queriesPerThread: number;
}

/**
 * The default shape for a head dim: on software adapters (llvmpipe) 8
 * threads (one 256-bit SIMD row) × 4 queries each, which measured 2–3×
 * faster than one query per thread; on hardware GPUs 64 threads × 1 query.
 */
export function defaultAttentionShape(headDim: number, software = true): AttentionShape {
  return software
    ? { headDim, threads: 8, queriesPerThread: 4 }
    : { headDim, threads: 64, queriesPerThread: 1 };
}

/**
 * Fused attention for one head dim and tile. The source is generated with
 * the per-channel and per-query loops unrolled into plain `vec4`
 * variables, and uses no workgroup memory: on llvmpipe a 16 KiB
 * `var<workgroup>` tile (which WebGPU zero-initialises) took 20–50 s to
 * compile at Dh 64, while keys read straight from the storage buffer are
 * uniform across the workgroup (one broadcast load) and compile in ~2 s.
 *
 * Layouts: `qkv: [batch, tokens, 3·C]` row-major f32, C = heads·Dh, with q
 * in channels `[0, C)`, k in `[C, 2C)`, v in `[2C, 3C)` and head h at
 * offset `h·Dh` in each; q and k already rotated (RoPE is a separate
 * in-place pass, see the rope family); `out: [batch, tokens, C]`.
 *
 * Thread mapping: workgroup (qx, head, batch) covers THREADS·QPT queries;
 * thread t owns queries `qx·THREADS·QPT + i·THREADS + t`, i < QPT, keeps
 * them (times `scale`) in registers, then walks every key j: QPT scores,
 * and per query the online-softmax update `m' = max(m, s)`,
 * `l = l·exp(m − m') + exp(s − m')`, `acc = acc·exp(m − m') + exp(s − m')·v_j`
 * (max-subtracted, f32). Scores never leave registers. Out-of-range
 * queries use a clamped (valid) row and skip the store.
 *
 * Bindings: 0 qkv (read), 1 out (read_write), 2 params (uniform
 * `{ tokens, heads, scale, pad }`).
 */
export function attentionWgsl(shape: AttentionShape): string {
  const { headDim: D, threads: WG, queriesPerThread: TQ } = shape;
  const D4 = D / 4;
  const C = [...Array(D4).keys()];
  const Q = [...Array(TQ).keys()];
  const each = (n: number[], f: (i: number) => string, sep = "\n    ") => n.map(f).join(sep);
  return /* wgsl */ `
struct Params {
  tokens: u32,
  heads: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

const D4: u32 = ${D4}u;
const WG: u32 = ${WG}u;
const TQ: u32 = ${TQ}u;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let n = params.tokens;
  let c4 = params.heads * D4;          // vec4s per q (or k, v) block of one token
  let row4 = 3u * c4;                  // vec4s per token in qkv
  let batch_base = wid.z * n * row4;
  let head_off = wid.y * D4;
  let q0 = wid.x * WG * TQ + t;
  ${
    each(Q, (i) =>
      `// query ${i}
  let qb${i} = batch_base + min(q0 + ${i}u * WG, n - 1u) * row4 + head_off;
  ${each(C, (c) => `let q${i}_${c} = qkv[qb${i} + ${c}u] * params.scale;`, "\n  ")}
  ${each(C, (c) => `var acc${i}_${c} = vec4<f32>(0.0);`, "\n  ")}
  var m${i} = -3.0e38;
  var l${i} = 0.0;`, "\n  ")
  }

  for (var j = 0u; j < n; j++) {
    let kb = batch_base + j * row4 + c4 + head_off;
    let vb = kb + c4;
    ${each(C, (c) => `let k${c} = qkv[kb + ${c}u];`)}
    ${each(Q, (i) => `var d${i} = vec4<f32>(0.0);`)}
    ${each(C, (c) => each(Q, (i) => `d${i} += q${i}_${c} * k${c};`, " "))}
    ${
    each(Q, (i) =>
      `let s${i} = d${i}.x + d${i}.y + d${i}.z + d${i}.w;
    let m_new${i} = max(m${i}, s${i});
    let alpha${i} = exp(m${i} - m_new${i});
    let p${i} = exp(s${i} - m_new${i});
    l${i} = l${i} * alpha${i} + p${i};
    m${i} = m_new${i};`)
  }
    ${
    each(C, (c) =>
      `{ let v = qkv[vb + ${c}u]; ${
        each(Q, (i) =>
          `acc${i}_${c} = acc${i}_${c} * alpha${i} + p${i} * v;`, " ")
      } }`)
  }
  }
  ${
    each(
      Q,
      (i) =>
        `if (q0 + ${i}u * WG < n) {
    let ob${i} = (wid.z * n + q0 + ${i}u * WG) * c4 + head_off;
    let inv${i} = 1.0 / l${i};
    ${each(C, (c) => `out[ob${i} + ${c}u] = acc${i}_${c} * inv${i};`)}
  }`,
      "\n  ",
    )
  }
}
`;
}

/** The kernel for Dh = 64 (DINOv3 ViT-S/B/L) with the software-adapter tile. */
export const ATTENTION_WGSL: string = attentionWgsl(defaultAttentionShape(64));

// This module is browser compatible.
/**
 * WGSL for the (leaky) ReLU activation and its backward pass.
 *
 * @module
 */

import { FOLDED_ID_WGSL } from "../_wgsl.ts";

/**
 * The (leaky) ReLU kernels, the only ReLU in medprobe (the ABMIL head's
 * in-place ReLU runs the in-place variants): forward `y = x > 0 ? x :
 * slope · x` (slope 0 is ReLU) and backward `dx = dy · (x > 0 ? 1 : slope)`
 * from the forward input `x` (for slope 0, the output `h = relu(x)` gives the
 * same mask).
 *
 * Layouts: flat f32 (any shape). Thread mapping: one thread per element;
 * the 1D dispatch is folded into (x, y) beyond 65535 workgroups
 * (`folded_id`). Bindings, uniforms `{n, slope}` last:
 * - forward: 0 x (read), 1 y (read_write), 2 params; in place: 0 x (read_write), 1 params;
 * - backward: 0 x (read), 1 dy (read), 2 dx (read_write), 3 params; in
 *   place (`dy ← dx`): 0 x (read), 1 dy (read_write), 2 params.
 */
export function leakyReluWgsl(pass: "forward" | "backward", inPlace: boolean): string {
  const bindings = pass === "forward"
    ? inPlace ? ["x: array<f32>"] : ["x: array<f32>", "y: array<f32>"]
    : inPlace
    ? ["x: array<f32>", "dy: array<f32>"]
    : ["x: array<f32>", "dy: array<f32>", "dx: array<f32>"];
  const decl = bindings.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${
      i === bindings.length - 1 ? "read_write" : "read"
    }> ${b};`
  ).join("\n");
  // slope 0 writes +0 (not -0, nor NaN for an infinite gradient), as ReLU does
  const body = pass === "forward"
    ? `let v = x[i];\n  ${
      inPlace ? "x" : "y"
    }[i] = select(select(params.slope * v, 0.0, params.slope == 0.0), v, v > 0.0);`
    : `let g = dy[i];\n  ${
      inPlace ? "dy" : "dx"
    }[i] = select(select(params.slope * g, 0.0, params.slope == 0.0), g, x[i] > 0.0);`;
  return /* wgsl */ `${FOLDED_ID_WGSL}
override WORKGROUP_SIZE: u32 = 256u;

struct Params {
  n: u32,
  slope: f32,
  _pad0: u32,
  _pad1: u32,
}

${decl}
@group(0) @binding(${bindings.length}) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = folded_id(gid, nwg, WORKGROUP_SIZE);
  if (i >= params.n) { return; }
  ${body}
}
`;
}

/** Leaky ReLU forward, out of place (see {@linkcode leakyReluWgsl}). */
export const LEAKY_RELU_WGSL: string = leakyReluWgsl("forward", false);

/** Leaky ReLU backward, out of place (see {@linkcode leakyReluWgsl}). */
export const LEAKY_RELU_BACKWARD_WGSL: string = leakyReluWgsl("backward", false);

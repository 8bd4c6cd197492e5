// This module is browser compatible.
/**
 * The CPU network of the `affinity` head: a light 3D decoder over stacked
 * slice features with three sigmoid outputs (z, y, x affinities).
 *
 * | layer | grid | op |
 * |---|---|---|
 * | proj | feature grid h × w, per section | 1×1 Cf → F (+ bias) |
 * | up | input grid H × W | bilinear in-plane (align-corners false), depth kept |
 * | conv1 | H × W | 3×3×3 (F + 1 image channel) → F, ReLU |
 * | conv2 | H × W | 3×3×3 F → F, ReLU |
 * | out | H × W | 1×1×1 F → 3, sigmoid |
 *
 * The raw image (z-scored) joins the upsampled features before conv1, so
 * membranes come from the intensities and context from the features.
 * Forward and backward are plain loops over `Float32Array`s (channel-major
 * `[C, D, H, W]`), zero padding; the receptive field radius is 2 voxels,
 * so windows with a 2-voxel halo reproduce whole-volume outputs exactly.
 *
 * @module
 */

/** The trainable parameters. */
export interface AffinityParams {
  /** `[F, Cf]`. */
  projW: Float32Array;
  /** `[F]`. */
  projB: Float32Array;
  /** `[F, F + 1, 3, 3, 3]`. */
  conv1W: Float32Array;
  /** `[F]`. */
  conv1B: Float32Array;
  /** `[F, F, 3, 3, 3]`. */
  conv2W: Float32Array;
  /** `[F]`. */
  conv2B: Float32Array;
  /** `[3, F]`. */
  outW: Float32Array;
  /** `[3]`. */
  outB: Float32Array;
}

/** Parameter names in a fixed order (save, Adam state). */
export const PARAM_NAMES = [
  "projW",
  "projB",
  "conv1W",
  "conv1B",
  "conv2W",
  "conv2B",
  "outW",
  "outB",
] as const;

/** Creates seeded parameters (He-uniform, small output layer). */
export function initParams(
  featureChannels: number,
  hidden: number,
  rng: () => number,
): AffinityParams {
  const u = (n: number, fanIn: number, scale = 1) => {
    const bound = scale * Math.sqrt(6 / fanIn);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rng() * 2 - 1) * bound;
    return a;
  };
  const f = hidden;
  return {
    projW: u(f * featureChannels, featureChannels, 0.5),
    projB: new Float32Array(f),
    conv1W: u(f * (f + 1) * 27, (f + 1) * 27),
    conv1B: new Float32Array(f),
    conv2W: u(f * f * 27, f * 27),
    conv2B: new Float32Array(f),
    outW: u(3 * f, f, 0.3),
    outB: new Float32Array(3),
  };
}

/** `[D, H, W]` of a crop. */
export type Dims = readonly [number, number, number];

/** 3×3×3 convolution, zero padding, bias: `[cin, D, H, W]` → `[cout, D, H, W]`. */
export function conv3(
  input: Float32Array,
  cin: number,
  dims: Dims,
  weight: Float32Array,
  bias: Float32Array,
  cout: number,
): Float32Array {
  const [d, h, w] = dims;
  const n = d * h * w, plane = h * w;
  const out = new Float32Array(cout * n);
  for (let co = 0; co < cout; co++) out.fill(bias[co], co * n, (co + 1) * n);
  for (let co = 0; co < cout; co++) {
    const ob = co * n;
    for (let ci = 0; ci < cin; ci++) {
      const ib = ci * n;
      for (let k = 0; k < 27; k++) {
        const wv = weight[(co * cin + ci) * 27 + k];
        if (wv === 0) continue;
        const dz = Math.floor(k / 9) - 1, dy = (Math.floor(k / 3) % 3) - 1, dx = (k % 3) - 1;
        const z0 = Math.max(0, -dz), z1 = Math.min(d, d - dz);
        const y0 = Math.max(0, -dy), y1 = Math.min(h, h - dy);
        const x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
        const shift = dz * plane + dy * w + dx;
        for (let z = z0; z < z1; z++) {
          for (let y = y0; y < y1; y++) {
            const o = ob + z * plane + y * w;
            const i = ib + z * plane + y * w + shift;
            for (let x = x0; x < x1; x++) out[o + x] += wv * input[i + x];
          }
        }
      }
    }
  }
  return out;
}

/**
 * Backward of {@linkcode conv3}: adds the weight and bias gradients and
 * returns the input gradient (unless `needInput` is false).
 */
export function conv3Backward(
  input: Float32Array,
  cin: number,
  dims: Dims,
  weight: Float32Array,
  cout: number,
  gradOut: Float32Array,
  gradW: Float32Array,
  gradB: Float32Array,
  needInput = true,
): Float32Array | undefined {
  const [d, h, w] = dims;
  const n = d * h * w, plane = h * w;
  const gradIn = needInput ? new Float32Array(cin * n) : undefined;
  for (let co = 0; co < cout; co++) {
    const ob = co * n;
    let gb = 0;
    for (let i = 0; i < n; i++) gb += gradOut[ob + i];
    gradB[co] += gb;
    for (let ci = 0; ci < cin; ci++) {
      const ib = ci * n;
      for (let k = 0; k < 27; k++) {
        const widx = (co * cin + ci) * 27 + k;
        const wv = weight[widx];
        const dz = Math.floor(k / 9) - 1, dy = (Math.floor(k / 3) % 3) - 1, dx = (k % 3) - 1;
        const z0 = Math.max(0, -dz), z1 = Math.min(d, d - dz);
        const y0 = Math.max(0, -dy), y1 = Math.min(h, h - dy);
        const x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
        const shift = dz * plane + dy * w + dx;
        let gw = 0;
        for (let z = z0; z < z1; z++) {
          for (let y = y0; y < y1; y++) {
            const o = ob + z * plane + y * w;
            const i = ib + z * plane + y * w + shift;
            if (gradIn) {
              for (let x = x0; x < x1; x++) {
                const g = gradOut[o + x];
                gw += g * input[i + x];
                gradIn[i + x] += wv * g;
              }
            } else {
              for (let x = x0; x < x1; x++) gw += gradOut[o + x] * input[i + x];
            }
          }
        }
        gradW[widx] += gw;
      }
    }
  }
  return gradIn;
}

/** Bilinear sampling positions of one axis (align-corners false, edge clamped). */
export interface AxisMap {
  /** Lower source index per output index. */
  i0: Int32Array;
  /** Upper source index. */
  i1: Int32Array;
  /** Weight of the upper index. */
  t: Float32Array;
}

/**
 * Sampling positions of output indices `[start, start + count)` of an axis
 * of `outSize` read from `inSize` source cells.
 */
export function axisMap(inSize: number, outSize: number, start: number, count: number): AxisMap {
  const i0 = new Int32Array(count), i1 = new Int32Array(count), t = new Float32Array(count);
  const scale = inSize / outSize;
  for (let k = 0; k < count; k++) {
    let f = (start + k + 0.5) * scale - 0.5;
    f = Math.min(Math.max(f, 0), inSize - 1);
    const a = Math.floor(f);
    i0[k] = a;
    i1[k] = Math.min(a + 1, inSize - 1);
    t[k] = f - a;
  }
  return { i0, i1, t };
}

/** Bilinear in-plane upsampling of `[C, D, h, w]` to `[C, D, ys.length, xs.length]`. */
export function upsample(
  input: Float32Array,
  c: number,
  d: number,
  h: number,
  w: number,
  ys: AxisMap,
  xs: AxisMap,
): Float32Array {
  const oh = ys.t.length, ow = xs.t.length;
  const out = new Float32Array(c * d * oh * ow);
  for (let p = 0; p < c * d; p++) {
    const ib = p * h * w, ob = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = ib + ys.i0[y] * w, r1 = ib + ys.i1[y] * w, ty = ys.t[y];
      for (let x = 0; x < ow; x++) {
        const a = xs.i0[x], b = xs.i1[x], tx = xs.t[x];
        const top = input[r0 + a] + (input[r0 + b] - input[r0 + a]) * tx;
        const bottom = input[r1 + a] + (input[r1 + b] - input[r1 + a]) * tx;
        out[ob + y * ow + x] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/** Adjoint of {@linkcode upsample}: scatters output gradients back to the source grid. */
export function upsampleBackward(
  gradOut: Float32Array,
  c: number,
  d: number,
  h: number,
  w: number,
  ys: AxisMap,
  xs: AxisMap,
): Float32Array {
  const oh = ys.t.length, ow = xs.t.length;
  const grad = new Float32Array(c * d * h * w);
  for (let p = 0; p < c * d; p++) {
    const ib = p * h * w, ob = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = ib + ys.i0[y] * w, r1 = ib + ys.i1[y] * w, ty = ys.t[y];
      for (let x = 0; x < ow; x++) {
        const g = gradOut[ob + y * ow + x];
        const a = xs.i0[x], b = xs.i1[x], tx = xs.t[x];
        const gt = g * (1 - ty), gbm = g * ty;
        grad[r0 + a] += gt * (1 - tx);
        grad[r0 + b] += gt * tx;
        grad[r1 + a] += gbm * (1 - tx);
        grad[r1 + b] += gbm * tx;
      }
    }
  }
  return grad;
}

/** What the forward pass keeps for the backward pass. */
export interface ForwardState {
  /** Feature slices of the crop `[Cf, d, h, w]`. */
  feats: Float32Array;
  /** Concatenated input of conv1 `[F + 1, D, H, W]`. */
  x: Float32Array;
  /** ReLU(conv1) `[F, D, H, W]`. */
  a1: Float32Array;
  /** ReLU(conv2) `[F, D, H, W]`. */
  a2: Float32Array;
  /** Sigmoid outputs `[3, D, H, W]`. */
  out: Float32Array;
}

/**
 * Forward pass on a crop.
 *
 * @param p Parameters.
 * @param feats Feature slices of the crop's sections `[Cf, D, h, w]` (whole feature planes).
 * @param cf Feature channels.
 * @param fh Feature grid height.
 * @param fw Feature grid width.
 * @param image The crop's z-scored image `[D, H, W]`.
 * @param dims `[D, H, W]` of the crop.
 * @param ys Row sampling of the crop.
 * @param xs Column sampling of the crop.
 * @param hidden F.
 * @returns The state (outputs in `out`).
 */
export function forward(
  p: AffinityParams,
  feats: Float32Array,
  cf: number,
  fh: number,
  fw: number,
  image: Float32Array,
  dims: Dims,
  ys: AxisMap,
  xs: AxisMap,
  hidden: number,
): ForwardState {
  const [d] = dims;
  const n = dims[0] * dims[1] * dims[2];
  const fplane = fh * fw;
  // proj on the feature grid
  const proj = new Float32Array(hidden * d * fplane);
  for (let f = 0; f < hidden; f++) {
    const o = f * d * fplane;
    proj.fill(p.projB[f], o, o + d * fplane);
    for (let c = 0; c < cf; c++) {
      const wv = p.projW[f * cf + c];
      const ib = c * d * fplane;
      for (let i = 0; i < d * fplane; i++) proj[o + i] += wv * feats[ib + i];
    }
  }
  const up = upsample(proj, hidden, d, fh, fw, ys, xs);
  const x = new Float32Array((hidden + 1) * n);
  x.set(up);
  x.set(image, hidden * n);
  const a1 = conv3(x, hidden + 1, dims, p.conv1W, p.conv1B, hidden);
  for (let i = 0; i < a1.length; i++) if (a1[i] < 0) a1[i] = 0;
  const a2 = conv3(a1, hidden, dims, p.conv2W, p.conv2B, hidden);
  for (let i = 0; i < a2.length; i++) if (a2[i] < 0) a2[i] = 0;
  const out = new Float32Array(3 * n);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < n; i++) {
      let z = p.outB[k];
      for (let f = 0; f < hidden; f++) z += p.outW[k * hidden + f] * a2[f * n + i];
      out[k * n + i] = 1 / (1 + Math.exp(-z));
    }
  }
  return { feats, x, a1, a2, out };
}

/**
 * Backward pass of the weighted MSE `Σ w·(out − t)² / count` on a crop;
 * adds the gradients into `g` and returns the loss.
 */
export function backward(
  p: AffinityParams,
  s: ForwardState,
  targets: Float32Array,
  weights: Float32Array,
  count: number,
  cf: number,
  fh: number,
  fw: number,
  dims: Dims,
  ys: AxisMap,
  xs: AxisMap,
  hidden: number,
  g: AffinityParams,
): number {
  const [d] = dims;
  const n = dims[0] * dims[1] * dims[2];
  let loss = 0;
  const gradA2 = new Float32Array(hidden * n);
  for (let k = 0; k < 3; k++) {
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const o = s.out[k * n + i], t = targets[k * n + i], wt = weights[k * n + i];
      if (wt === 0) continue;
      const diff = o - t;
      loss += wt * diff * diff;
      const gz = (2 * wt * diff / count) * o * (1 - o);
      gb += gz;
      for (let f = 0; f < hidden; f++) {
        g.outW[k * hidden + f] += gz * s.a2[f * n + i];
        gradA2[f * n + i] += gz * p.outW[k * hidden + f];
      }
    }
    g.outB[k] += gb;
  }
  for (let i = 0; i < gradA2.length; i++) if (s.a2[i] <= 0) gradA2[i] = 0;
  const gradA1 = conv3Backward(s.a1, hidden, dims, p.conv2W, hidden, gradA2, g.conv2W, g.conv2B)!;
  for (let i = 0; i < gradA1.length; i++) if (s.a1[i] <= 0) gradA1[i] = 0;
  const gradX = conv3Backward(s.x, hidden + 1, dims, p.conv1W, hidden, gradA1, g.conv1W, g.conv1B)!;
  const gradProj = upsampleBackward(gradX.subarray(0, hidden * n), hidden, d, fh, fw, ys, xs);
  const fplane = fh * fw;
  for (let f = 0; f < hidden; f++) {
    const o = f * d * fplane;
    let gb = 0;
    for (let i = 0; i < d * fplane; i++) gb += gradProj[o + i];
    g.projB[f] += gb;
    for (let c = 0; c < cf; c++) {
      const ib = c * d * fplane;
      let gw = 0;
      for (let i = 0; i < d * fplane; i++) gw += gradProj[o + i] * s.feats[ib + i];
      g.projW[f * cf + c] += gw;
    }
  }
  return loss / count;
}

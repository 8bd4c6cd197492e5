/**
 * Synthetic non-contrast chest CT volumes for the CT-RATE generator, in
 * Hounsfield units: air, body with a subcutaneous fat ring, two lungs whose
 * size follows the slice level, mediastinum and heart, aorta, vertebra and
 * the scanner table, plus quantum noise. Each of the 18 CT-RATE labels adds
 * a lesion-like 3D blob with its own position, polarity and in-plane stripe
 * texture (a Gabor blob), so a slice-wise frozen encoder can learn them.
 *
 * Pure computation (the caller writes the NIfTI). Also holds the seeded
 * generator used by the CT-RATE plan.
 *
 * @module
 */

import { createMulberry32, gaussian } from "../../../core/random.ts";

/** A seeded uniform generator in [0, 1). */
export type Rng = () => number;

/**
 * A deterministic generator from an integer seed: the core mulberry32
 * ({@linkcode createMulberry32}) with the seed mixed first, as the CT-RATE
 * plan has always drawn it.
 */
export function createRng(seed: number): Rng {
  // the seed is mixed with the golden-ratio constant before it becomes the state
  return createMulberry32(Math.trunc(seed) ^ 0x9e3779b9);
}

/** A 3D lesion-like blob: position in fractions of the volume, HU amplitude, texture. */
export interface CtLesion {
  /** Centre column (x), fraction of the width. */
  cx: number;
  /** Centre row (y), fraction of the height. */
  cy: number;
  /** Centre slice (z), fraction of the depth. */
  cz: number;
  /** In-plane sigma, fraction of the width. */
  sigma: number;
  /** Sigma along z, fraction of the depth. */
  sigmaZ: number;
  /** Peak HU change (negative = darker, e.g. emphysema). */
  amplitudeHu: number;
  /**
   * Stripe wave vector in cycles per image along `[x, y]` (`[0, 0]`: no
   * stripes). The phase is anchored to the image, not to the blob, so
   * every image of a label carries the same pattern.
   */
  wave: readonly [number, number];
  /** Stripe phase, radians. */
  phase: number;
}

/**
 * The 18 label textures: four wave vectors of one cycle per 16-pixel patch
 * at the protocol's 224-pixel input (14 cycles per image) in two phases,
 * at two blob sizes, plus two untextured blobs.
 */
const TEXTURES: readonly (readonly [number, number, number])[] = (() => {
  const out: [number, number, number][] = [];
  for (const phase of [0, Math.PI / 2]) {
    for (const [a, b] of [[1, 0], [0, 1], [1, 1], [1, -1]]) out.push([14 * a, 14 * b, phase]);
  }
  return [...out, ...out, [0, 0, 0], [0, 0, 0]];
})();

/**
 * The lesion of CT-RATE label `k` (0..17): one of 18 in-plane slots (a
 * 3 × 3 grid in each lung), centred in z and spanning most slices (so the
 * slice mean keeps it), with a label-specific texture; jittered by `rng`.
 */
export function ctrateLesion(k: number, rng: Rng): CtLesion {
  const side = k < 9 ? -1 : 1;
  const slot = k % 9;
  // darker-than-tissue findings: emphysema (7), mosaic attenuation (13)
  const dark = k === 7 || k === 13;
  return {
    cx: 0.5 + side * 0.2 + [-0.07, 0, 0.07][slot % 3] + (rng() - 0.5) * 0.02,
    cy: [0.35, 0.48, 0.61][Math.floor(slot / 3)] + (rng() - 0.5) * 0.02,
    cz: 0.5 + (rng() - 0.5) * 0.1,
    sigma: (k < 8 || k >= 16 ? 0.07 : 0.095) + rng() * 0.01,
    sigmaZ: 0.3,
    amplitudeHu: dark ? -(450 + rng() * 50) : 900 + rng() * 100,
    wave: [TEXTURES[k][0], TEXTURES[k][1]],
    phase: TEXTURES[k][2],
  };
}

function ellipse(u: number, v: number, cx: number, cy: number, rx: number, ry: number): number {
  const dx = (u - cx) / rx;
  const dy = (v - cy) / ry;
  return dx * dx + dy * dy;
}

/**
 * Renders a chest CT phantom `[D, H, W]` (z slowest) in HU with the given
 * lesions. Anatomy jitter comes from `rng`; the noise from `noise.rng`
 * (default `rng`) with `noise.sigmaHu` (default 12), so reconstructions of
 * one scan can share anatomy and differ in noise.
 *
 * @example
 * ```ts
 * import { createRng, renderChestCt } from "./_synth_ctrate.ts";
 * import assert from "node:assert/strict";
 * const hu = renderChestCt([4, 16, 16], createRng(1), []);
 * assert.equal(hu.length, 4 * 16 * 16);
 * assert.ok(Math.min(...hu) >= -1024);
 * ```
 */
export function renderChestCt(
  shape: readonly [number, number, number],
  rng: Rng,
  lesions: readonly CtLesion[],
  noise: { rng?: Rng; sigmaHu?: number } = {},
): Float32Array {
  const [d, h, w] = shape;
  const out = new Float32Array(d * h * w);
  const shiftX = (rng() - 0.5) * 0.02;
  const shiftY = (rng() - 0.5) * 0.02;
  const bodyRx = 0.42 + (rng() - 0.5) * 0.02;
  const bodyRy = 0.33 + (rng() - 0.5) * 0.015;
  const lungHu = -860 + (rng() - 0.5) * 20;
  for (let z = 0; z < d; z++) {
    const t = d > 1 ? z / (d - 1) : 0.5; // 0 = lung bases, 1 = apices
    const lungScale = 0.55 + 0.45 * Math.sin(Math.PI * (0.15 + 0.75 * t));
    const heartScale = Math.max(0, 1 - 1.6 * t);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = (x + 0.5) / w - shiftX;
        const v = (y + 0.5) / h - shiftY;
        let hu = -1000;
        const body = ellipse(u, v, 0.5, 0.5, bodyRx, bodyRy);
        if (body <= 1) {
          hu = body > 0.82 ? -100 : 40; // subcutaneous fat ring, soft tissue
          for (const side of [-1, 1]) {
            const lung = ellipse(
              u,
              v,
              0.5 + side * 0.2,
              0.48,
              0.17 * lungScale,
              0.23 * lungScale,
            );
            if (lung <= 1) hu = lungHu + 60 * lung; // denser towards the pleura
          }
          if (
            heartScale > 0 && ellipse(u, v, 0.54, 0.45, 0.13 * heartScale, 0.11 * heartScale) <= 1
          ) {
            hu = 40;
          }
          if (ellipse(u, v, 0.47, 0.62, 0.035, 0.035) <= 1) hu = 45; // descending aorta
          const vertebra = ellipse(u, v, 0.5, 0.72, 0.06, 0.055);
          if (vertebra <= 1) hu = vertebra > 0.6 ? 700 : 250; // cortex, cancellous bone
        } else if (Math.abs(v - 0.88) < 0.012 && Math.abs(u - 0.5) < 0.4) {
          hu = 150; // scanner table
        }
        out[(z * h + y) * w + x] = hu;
      }
    }
  }
  for (const lesion of lesions) addLesion(out, shape, lesion, shiftX, shiftY);
  const noiseRng = noise.rng ?? rng;
  for (let i = 0; i < out.length; i++) {
    const v = out[i] + (noise.sigmaHu ?? 12) * gaussian(noiseRng);
    out[i] = v < -1024 ? -1024 : v > 3000 ? 3000 : v;
  }
  return out;
}

function addLesion(
  out: Float32Array,
  shape: readonly [number, number, number],
  lesion: CtLesion,
  shiftX: number,
  shiftY: number,
): void {
  const [d, h, w] = shape;
  const cx = lesion.cx + shiftX;
  const cy = lesion.cy + shiftY;
  const cz = lesion.cz * (d - 1);
  const [fx, fy] = lesion.wave;
  for (let z = 0; z < d; z++) {
    const sz = Math.max(0.5, lesion.sigmaZ * d);
    const fz = Math.exp(-((z - cz) ** 2) / (2 * sz * sz));
    if (fz < 1e-3) continue;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = (x + 0.5) / w - cx;
        const v = (y + 0.5) / h - cy;
        const r2 = (u * u + v * v) / (2 * lesion.sigma ** 2);
        if (r2 > 6) continue;
        const wave = Math.cos(
          2 * Math.PI * (fx * (x + 0.5) / w + fy * (y + 0.5) / h) + lesion.phase,
        );
        // bright findings: a textured opacity; dark findings: alternating hypo/hyper bands
        const stripes = lesion.amplitudeHu > 0 ? 0.3 + 0.7 * wave : 0.2 + wave;
        out[(z * h + y) * w + x] += lesion.amplitudeHu * fz * Math.exp(-r2) * stripes;
      }
    }
  }
}

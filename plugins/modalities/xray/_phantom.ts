/**
 * Synthetic chest radiographs for the X-ray generators: a frontal chest
 * phantom (body, dark lung fields, mediastinum and heart, spine, ribs,
 * clavicles, diaphragm domes, quantum noise) with per-image anatomical
 * jitter, plus lesion-like blobs. A lesion is a Gaussian blob modulated by
 * a label-specific stripe texture (a Gabor patch) and polarity, placed in a
 * label-specific lung region, so a frozen encoder's patch tokens can tell
 * the labels apart (position, stripe direction and phase, size, brightness).
 *
 * Pure computation; values are in [0, 1] (0 = black = air).
 *
 * @module
 */

import { gaussian } from "../../../core/random.ts";
import type { Rng } from "./_common.ts";

/** One lesion-like blob, in fractions of the image size. */
export interface Lesion {
  /** Centre column, fraction of the width. */
  cx: number;
  /** Centre row, fraction of the height. */
  cy: number;
  /** Gaussian sigma, fraction of the size. */
  sigma: number;
  /** +1 bright (opacity, mass), -1 dark (air, emphysema). */
  polarity: number;
  /**
   * Stripe wave vector in cycles per image along `[x, y]` (`[0, 0]`: no
   * stripes). The phase is anchored to the image, not to the blob, so every
   * image of a label carries the same pattern.
   */
  wave: readonly [number, number];
  /** Stripe phase, radians. */
  phase: number;
  /** Peak change in [0, 1] intensity. */
  amplitude: number;
}

/** Anatomy jitter of one image (fractions of the size). */
interface Anatomy {
  shiftX: number;
  shiftY: number;
  scale: number;
  lungValue: number;
  tissueValue: number;
  heartScale: number;
}

function drawAnatomy(rng: Rng): Anatomy {
  return {
    shiftX: (rng() - 0.5) * 0.02,
    shiftY: (rng() - 0.5) * 0.02,
    scale: 1 + (rng() - 0.5) * 0.04,
    lungValue: 0.18 + rng() * 0.04,
    tissueValue: 0.52 + rng() * 0.05,
    heartScale: 1 + (rng() - 0.5) * 0.08,
  };
}

function ellipse(u: number, v: number, cx: number, cy: number, rx: number, ry: number): number {
  const dx = (u - cx) / rx;
  const dy = (v - cy) / ry;
  return dx * dx + dy * dy;
}

/** A boxier ellipse (exponent 4): a chest with shoulders rather than an egg. */
function superellipse(
  u: number,
  v: number,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
): number {
  const dx = (u - cx) / rx;
  const dy = (v - cy) / ry;
  return Math.sqrt(dx ** 4 + dy ** 4);
}

/** Soft inside-ness of an ellipse: 1 inside, 0 outside, smooth edge. */
function inside(d: number, edge = 0.08): number {
  if (d <= 1 - edge) return 1;
  if (d >= 1 + edge) return 0;
  return 0.5 - (d - 1) / (2 * edge);
}

/**
 * Renders a `size` × `size` chest phantom with the given lesions, row-major,
 * values in [0, 1].
 *
 * @example
 * ```ts
 * import { renderChestRadiograph } from "./_phantom.ts";
 * import { createRng } from "./_common.ts";
 * import assert from "node:assert/strict";
 * const img = renderChestRadiograph(32, createRng(1), []);
 * assert.equal(img.length, 32 * 32);
 * ```
 */
export function renderChestRadiograph(
  size: number,
  rng: Rng,
  lesions: readonly Lesion[],
): Float32Array {
  const a = drawAnatomy(rng);
  const out = new Float32Array(size * size);
  const ribPhase = rng() * 0.02;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // normalised coordinates around the jittered, scaled chest
      const u = ((x + 0.5) / size - 0.5 - a.shiftX) / a.scale + 0.5;
      const v = ((y + 0.5) / size - 0.5 - a.shiftY) / a.scale + 0.5;
      let value = 0.04; // air outside the body
      const body = inside(superellipse(u, v, 0.5, 0.56, 0.46, 0.52), 0.05);
      value += body * (a.tissueValue - 0.04);
      // lung fields, darker towards the periphery, domes of the diaphragm below
      for (const side of [-1, 1]) {
        const lx = 0.5 + side * 0.18;
        const lung = inside(ellipse(u, v, lx, 0.45, 0.14, 0.3), 0.12);
        const hilum = Math.exp(-(((u - (0.5 + side * 0.09)) ** 2) + (v - 0.47) ** 2) / 0.004);
        value += lung * (a.lungValue - a.tissueValue + 0.12 * hilum);
      }
      // mediastinum and heart (brighter), spine
      const heart = inside(
        ellipse(u, v, 0.57, 0.62, 0.16 * a.heartScale, 0.12 * a.heartScale),
        0.15,
      );
      value = Math.max(value, heart * (a.tissueValue + 0.12));
      const mediastinum = inside(ellipse(u, v, 0.5, 0.38, 0.055, 0.3), 0.2);
      value = Math.max(value, mediastinum * (a.tissueValue + 0.08));
      const spine = Math.exp(-((u - 0.5) ** 2) / 0.0006) * (v > 0.1 ? 1 : 0);
      value += spine * 0.12 * body;
      // ribs: curved bright bands over the lungs; clavicles at the top
      for (let r = 0; r < 9; r++) {
        const y0 = 0.2 + r * 0.062 + ribPhase;
        const curve = y0 + 1.3 * (u - 0.5) ** 2;
        const band = Math.exp(-((v - curve) ** 2) / 0.00012);
        value += band * 0.07 * body;
      }
      for (const side of [-1, 1]) {
        const cv = 0.17 - 0.15 * side * (u - 0.5);
        if (Math.abs(u - 0.5 - side * 0.17) < 0.17) {
          value += Math.exp(-((v - cv) ** 2) / 0.00015) * 0.12 * body;
        }
      }
      out[y * size + x] = value;
    }
  }
  for (const lesion of lesions) addLesion(out, size, lesion, a);
  // quantum noise
  for (let i = 0; i < out.length; i++) {
    const v = out[i] + 0.015 * gaussian(rng);
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

function addLesion(out: Float32Array, size: number, lesion: Lesion, a: Anatomy): void {
  // lesion coordinates follow the anatomy jitter
  const cx = (lesion.cx - 0.5) * a.scale + 0.5 + a.shiftX;
  const cy = (lesion.cy - 0.5) * a.scale + 0.5 + a.shiftY;
  const s = lesion.sigma * a.scale;
  const [fx, fy] = lesion.wave;
  const reach = Math.ceil(3 * s * size);
  const px = Math.round(cx * size);
  const py = Math.round(cy * size);
  for (let y = Math.max(0, py - reach); y < Math.min(size, py + reach + 1); y++) {
    for (let x = Math.max(0, px - reach); x < Math.min(size, px + reach + 1); x++) {
      const u = (x + 0.5) / size - cx;
      const v = (y + 0.5) / size - cy;
      const envelope = Math.exp(-(u * u + v * v) / (2 * s * s));
      const wave = Math.cos(2 * Math.PI * (fx * (x + 0.5) + fy * (y + 0.5)) / size + lesion.phase);
      const stripes = 0.3 + 0.7 * wave;
      out[y * size + x] += lesion.polarity * lesion.amplitude * envelope * stripes;
    }
  }
}

/**
 * Stripe textures that survive a patch-16 ViT at the protocols' 224-pixel
 * input: one cycle per patch (14 cycles per image) along four directions,
 * in two phases, as `[cycles x, cycles y, phase]`.
 */
export const LATTICE_TEXTURES: readonly (readonly [number, number, number])[] = [0, Math.PI / 2]
  .flatMap((phase) =>
    [[1, 0], [0, 1], [1, 1], [1, -1]].map(([a, b]) => [14 * a, 14 * b, phase] as const)
  );

/** Converts [0, 1] values to 8-bit grey. */
export function toUint8(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
  }
  return out;
}

/**
 * The bounding box `[x, y, width, height]` in pixels of a lesion (its 2-sigma
 * disc), clipped to the image, as RSNA's labels CSV gives it.
 */
export function lesionBox(lesion: Lesion, size: number): [number, number, number, number] {
  const r = 2 * lesion.sigma * size;
  const x0 = Math.max(0, Math.floor(lesion.cx * size - r));
  const y0 = Math.max(0, Math.floor(lesion.cy * size - r));
  const x1 = Math.min(size, Math.ceil(lesion.cx * size + r));
  const y1 = Math.min(size, Math.ceil(lesion.cy * size + r));
  return [x0, y0, x1 - x0, y1 - y0];
}

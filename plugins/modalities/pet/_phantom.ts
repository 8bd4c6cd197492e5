/**
 * Synthetic PET/CT phantoms for the AutoPET and HECKTOR generators: a body
 * with lungs, bone and a liver on CT, FDG uptake on PET (background,
 * liver, physiological hot spots) and hot lesions that are the labels.
 * Not patient data.
 *
 * @module
 */

import { gaussian } from "../../../core/random.ts";

/** A seeded PRNG returning floats in [0, 1). */
export type Rng = () => number;

/** An ellipsoid in voxel coordinates `[z, y, x]` with a class and a PET uptake. */
export interface Lesion {
  /** Centre `[z, y, x]` in voxels of the label grid. */
  center: [number, number, number];
  /** Radii `[z, y, x]` in voxels of the label grid. */
  radii: [number, number, number];
  /** Class index in the label map. */
  label: number;
  /** Peak SUV. */
  suv: number;
}

function inside(
  z: number,
  y: number,
  x: number,
  c: readonly number[],
  r: readonly number[],
): number {
  return ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2;
}

/**
 * Renders CT (HU) and PET (SUV) on one grid `[D, H, W]` and the label map
 * of the lesions. `scale` maps the lesion voxel coordinates (given on the
 * label grid) to this grid (e.g. 0.25 for a 4-mm PET grid under a 1-mm
 * label grid). `ctOnly` / `petOnly` skip a modality.
 */
export function renderPetCt(
  shape: readonly [number, number, number],
  lesions: readonly Lesion[],
  rng: Rng,
  scale: readonly [number, number, number] = [1, 1, 1],
): { ct: Float32Array; pet: Float32Array; labels: Uint8Array } {
  const [d, h, w] = shape;
  const ct = new Float32Array(d * h * w);
  const pet = new Float32Array(d * h * w);
  const labels = new Uint8Array(d * h * w);
  const scaled = lesions.map((l) => ({
    ...l,
    c: l.center.map((v, a) => (v + 0.5) * scale[a] - 0.5),
    r: l.radii.map((v, a) => Math.max(v * scale[a], 0.5)),
  }));
  let o = 0;
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, o++) {
        const u = (x - w / 2) / (w * 0.44);
        const v = (y - h / 2) / (h * 0.36);
        const body = u * u + v * v < 1;
        let hu = -1000;
        let suv = 0;
        if (body) {
          hu = 40 + 12 * gaussian(rng);
          suv = 0.6 + 0.08 * gaussian(rng);
          const lungL = ((x - w * 0.32) / (w * 0.12)) ** 2 + ((y - h * 0.45) / (h * 0.16)) ** 2;
          const lungR = ((x - w * 0.68) / (w * 0.12)) ** 2 + ((y - h * 0.45) / (h * 0.16)) ** 2;
          if (z > d * 0.45 && (lungL < 1 || lungR < 1)) {
            hu = -850 + 30 * gaussian(rng);
            suv = 0.3;
          }
          const liver = ((x - w * 0.35) / (w * 0.14)) ** 2 + ((y - h * 0.5) / (h * 0.14)) ** 2;
          if (z < d * 0.45 && z > d * 0.2 && liver < 1) {
            hu = 60 + 12 * gaussian(rng);
            suv = 2.1 + 0.2 * gaussian(rng);
          }
          const spine = ((x - w / 2) / (w * 0.05)) ** 2 + ((y - h * 0.75) / (h * 0.06)) ** 2;
          if (spine < 1) hu = 700 + 40 * gaussian(rng);
          // physiological uptake: a bladder-like hot region at the caudal end (not a lesion)
          const bladder = inside(z, y, x, [d * 0.06, h * 0.55, w * 0.5], [
            d * 0.08,
            h * 0.08,
            w * 0.08,
          ]);
          if (bladder < 1) suv = 6 + 0.5 * gaussian(rng);
        }
        for (const l of scaled) {
          const q = inside(z, y, x, l.c, l.r);
          if (q < 1) {
            labels[o] = l.label;
            hu = 55 + 12 * gaussian(rng);
          }
          if (q < 2.25) suv = Math.max(suv, l.suv * Math.exp(-q) + 0.3 * gaussian(rng));
        }
        ct[o] = hu;
        pet[o] = Math.max(0, suv);
      }
    }
  }
  return { ct, pet, labels };
}

/** Random lesions inside the body of a `[D, H, W]` label grid. */
export function randomLesions(
  shape: readonly [number, number, number],
  count: number,
  labels: readonly number[],
  rng: Rng,
  radius: readonly [number, number] = [2, 4],
): Lesion[] {
  const [d, h, w] = shape;
  const out: Lesion[] = [];
  for (let i = 0; i < count; i++) {
    const r = radius[0] + (radius[1] - radius[0]) * rng();
    out.push({
      center: [d * (0.25 + 0.5 * rng()), h * (0.35 + 0.3 * rng()), w * (0.3 + 0.4 * rng())],
      radii: [Math.max(1, r * 0.6), r, r],
      label: labels[i % labels.length],
      suv: 7 + 6 * rng(),
    });
  }
  return out;
}

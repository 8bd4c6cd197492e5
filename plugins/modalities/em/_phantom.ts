/**
 * Synthetic EM volumes: neuron-like tubes with membranes and EM-like
 * texture, labelled with uint64 ids (some above 2^53).
 *
 * Geometry: a 2D Voronoi tessellation whose seeds drift smoothly from
 * section to section (neurites crossing the sections, as most do in
 * anisotropic serial-section EM), power-weighted so calibres vary, plus a
 * few tubes running within the sections (axons cut lengthwise). Every
 * object is then split into its 6-connected components, so each gt object
 * is connected. Raw: per-neuron cytoplasm grey with smooth texture and
 * speckle, dark vesicle-like dots, dark membranes two pixels wide at every
 * in-section label change, a slight blur and shot-like noise.
 *
 * @module
 */

import { createMulberry32, gaussian } from "../../../core/random.ts";
import { connectedComponents } from "../../segment/labels.ts";

/** A synthetic EM volume. */
export interface EmPhantom {
  /** Raw EM, uint8 `[z, y, x]`. */
  readonly raw: Uint8Array;
  /** Neuron ids, uint64 `[z, y, x]` (never 0). */
  readonly neuronIds: BigUint64Array;
  /** Dense ids 1..count, same voxels. */
  readonly dense: Uint32Array;
  /** `[z, y, x]`. */
  readonly shape: readonly [number, number, number];
  /** Number of objects. */
  readonly count: number;
}

/** Options of {@linkcode makeEmPhantom}. */
export interface EmPhantomOptions {
  /** `[z, y, x]`. */
  shape: readonly [number, number, number];
  /** Seed of every random choice. @default {0} */
  seed?: number;
  /** Mean neurite diameter in pixels. @default {14} */
  diameter?: number;
}

/**
 * Builds a synthetic EM volume (see the module doc).
 *
 * @example
 * ```ts
 * import { makeEmPhantom } from "./_phantom.ts";
 * import assert from "node:assert/strict";
 * const p = makeEmPhantom({ shape: [4, 32, 32], seed: 1 });
 * assert.ok(p.count > 3);
 * assert.ok(p.neuronIds.some((id) => id > 2n ** 53n));
 * ```
 *
 * @param options Shape, seed and calibre.
 * @returns Raw, uint64 ids, dense ids.
 */
export function makeEmPhantom(options: EmPhantomOptions): EmPhantom {
  const [d, h, w] = options.shape;
  const rng = createMulberry32(options.seed ?? 0);
  const diameter = options.diameter ?? 14;
  const plane = h * w;
  const n = d * plane;
  // drifting, power-weighted Voronoi seeds
  const seeds = Math.max(2, Math.round((h * w) / (diameter * diameter)));
  const sx = new Float64Array(seeds), sy = new Float64Array(seeds);
  const vx = new Float64Array(seeds),
    vy = new Float64Array(seeds),
    weight = new Float64Array(seeds);
  for (let s = 0; s < seeds; s++) {
    sx[s] = rng() * w;
    sy[s] = rng() * h;
    vx[s] = (rng() - 0.5) * 1.2;
    vy[s] = (rng() - 0.5) * 1.2;
    weight[s] = (rng() * 0.8) * diameter * diameter * 0.25;
  }
  // tubes within the sections: segments (x0, y0) → (x1, y1) over a z range
  const tubes = Math.max(1, Math.round(Math.sqrt(seeds) / 2));
  const tube = Array.from({ length: tubes }, () => ({
    x0: rng() * w,
    y0: rng() * h,
    x1: rng() * w,
    y1: rng() * h,
    z0: Math.floor(rng() * d),
    z1: 0,
    r: 1.5 + rng() * diameter * 0.2,
  }));
  for (const t of tube) t.z1 = Math.min(d, t.z0 + 1 + Math.floor(rng() * Math.max(1, d / 2)));
  const labels = new Uint32Array(n);
  // seeds bucketed on a grid per section; rings are searched until no seed
  // outside them can be nearer in power distance (exact, O(1) seeds per pixel)
  const cell = Math.max(4, Math.ceil(diameter * 2));
  const gw = Math.ceil(w / cell) + 1, gh = Math.ceil(h / cell) + 1;
  let maxWeight = 0;
  for (let s = 0; s < seeds; s++) maxWeight = Math.max(maxWeight, weight[s]);
  const start = new Int32Array(gw * gh + 1);
  const order = new Int32Array(seeds);
  for (let z = 0; z < d; z++) {
    start.fill(0);
    for (let s = 0; s < seeds; s++) {
      start[Math.floor(sy[s] / cell) * gw + Math.floor(sx[s] / cell) + 1]++;
    }
    for (let c = 0; c < gw * gh; c++) start[c + 1] += start[c];
    const fill = start.slice(0, gw * gh);
    for (let s = 0; s < seeds; s++) {
      order[fill[Math.floor(sy[s] / cell) * gw + Math.floor(sx[s] / cell)]++] = s;
    }
    for (let y = 0; y < h; y++) {
      const cy = Math.floor(y / cell);
      for (let x = 0; x < w; x++) {
        const cx = Math.floor(x / cell);
        let best = Infinity, arg = 0;
        for (let r = 0; r <= Math.max(gw, gh); r++) {
          for (let gy = cy - r; gy <= cy + r; gy++) {
            if (gy < 0 || gy >= gh) continue;
            const ring = gy === cy - r || gy === cy + r;
            for (let gx = cx - r; gx <= cx + r; gx += ring ? 1 : 2 * r || 1) {
              if (gx < 0 || gx >= gw) continue;
              const c = gy * gw + gx;
              for (let k = start[c]; k < start[c + 1]; k++) {
                const s = order[k];
                const dx = x - sx[s], dy = y - sy[s];
                const dist = dx * dx + dy * dy - weight[s];
                if (dist < best || (dist === best && s < arg)) {
                  best = dist;
                  arg = s;
                }
              }
            }
          }
          if (best < Infinity && (r * cell) ** 2 - maxWeight >= best) break;
        }
        labels[z * plane + y * w + x] = arg + 1;
      }
    }
    // tubes within the section, drawn in order over their bounding boxes
    for (let t = 0; t < tubes; t++) {
      const c = tube[t];
      if (z < c.z0 || z >= c.z1) continue;
      const ex = c.x1 - c.x0, ey = c.y1 - c.y0;
      const len2 = ex * ex + ey * ey || 1;
      const y0 = Math.max(0, Math.floor(Math.min(c.y0, c.y1) - c.r));
      const y1 = Math.min(h - 1, Math.ceil(Math.max(c.y0, c.y1) + c.r));
      const x0 = Math.max(0, Math.floor(Math.min(c.x0, c.x1) - c.r));
      const x1 = Math.min(w - 1, Math.ceil(Math.max(c.x0, c.x1) + c.r));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const u = Math.max(0, Math.min(1, ((x - c.x0) * ex + (y - c.y0) * ey) / len2));
          const px = c.x0 + u * ex - x, py = c.y0 + u * ey - y;
          if (px * px + py * py <= c.r * c.r) labels[z * plane + y * w + x] = seeds + 1 + t;
        }
      }
    }
    for (let s = 0; s < seeds; s++) {
      vx[s] = 0.8 * vx[s] + 0.3 * gaussian(rng);
      vy[s] = 0.8 * vy[s] + 0.3 * gaussian(rng);
      sx[s] = Math.min(w, Math.max(0, sx[s] + vx[s]));
      sy[s] = Math.min(h, Math.max(0, sy[s] + vy[s]));
    }
  }
  const cc = absorbSlivers(connectedComponents(labels, [d, h, w]), [d, h, w]);
  const dense = cc.data;
  // uint64 ids: every other object above 2^53
  const table = new BigUint64Array(cc.count + 1);
  for (let i = 1; i <= cc.count; i++) {
    const low = BigInt(Math.floor(rng() * 2 ** 30));
    table[i] = i % 2 === 0 ? (1n << 60n) + (low << 8n) + BigInt(i) : BigInt(i) * 1000n + 7n;
  }
  const neuronIds = new BigUint64Array(n);
  for (let i = 0; i < n; i++) neuronIds[i] = table[dense[i]];
  // raw: cytoplasm grey + texture, vesicles, membranes
  const grey = new Float64Array(cc.count + 1);
  for (let i = 1; i <= cc.count; i++) grey[i] = 150 + rng() * 60;
  const raw = new Float32Array(n);
  const phase = Array.from({ length: 4 }, () => rng() * Math.PI * 2);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = z * plane + y * w + x;
        const texture = 8 * Math.sin(x * 0.37 + phase[0] + z) * Math.sin(y * 0.41 + phase[1]) +
          5 * Math.sin((x + y) * 0.9 + phase[2]) * Math.cos((x - y) * 0.7 + phase[3]);
        raw[i] = grey[dense[i]] + texture;
      }
    }
    // vesicles: small dark discs
    const vesicles = Math.round(plane / 400);
    for (let v = 0; v < vesicles; v++) {
      const cx = rng() * w, cy = rng() * h, r = 1 + rng() * 1.5;
      for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(h - 1, cy + r); y++) {
        for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(w - 1, cx + r); x++) {
          if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) raw[z * plane + y * w + x] -= 60;
        }
      }
    }
  }
  // membranes: label changes within a section, two pixels wide
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = z * plane + y * w + x;
        const l = dense[i];
        const edge = (x + 1 < w && dense[i + 1] !== l) || (y + 1 < h && dense[i + w] !== l) ||
          (x > 0 && dense[i - 1] !== l) || (y > 0 && dense[i - w] !== l);
        if (edge) raw[i] = 45 + 15 * rng();
      }
    }
  }
  const out = new Uint8Array(n);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = z * plane + y * w + x;
        let acc = 4 * raw[i], k = 4;
        if (x > 0) (acc += raw[i - 1], k++);
        if (x + 1 < w) (acc += raw[i + 1], k++);
        if (y > 0) (acc += raw[i - w], k++);
        if (y + 1 < h) (acc += raw[i + w], k++);
        const v = acc / k + 6 * gaussian(rng);
        out[i] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { raw: out, neuronIds, dense, shape: [d, h, w], count: cc.count };
}

/** Gives components under `minSize` voxels to a touching neighbour, then renumbers. */
function absorbSlivers(
  cc: { data: Uint32Array; count: number },
  shape: readonly [number, number, number],
  minSize = 24,
): { data: Uint32Array; count: number } {
  const [d, h, w] = shape;
  const plane = h * w;
  const labels = cc.data;
  for (let pass = 0; pass < 8; pass++) {
    const sizes = new Float64Array(cc.count + 1);
    for (const l of labels) sizes[l]++;
    let changed = 0;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (sizes[l] >= minSize) continue;
      const x = i % w, y = Math.floor(i / w) % h, z = Math.floor(i / plane);
      const around = [
        x > 0 ? i - 1 : -1,
        x + 1 < w ? i + 1 : -1,
        y > 0 ? i - w : -1,
        y + 1 < h ? i + w : -1,
        z > 0 ? i - plane : -1,
        z + 1 < d ? i + plane : -1,
      ];
      for (const j of around) {
        if (j >= 0 && labels[j] !== l && sizes[labels[j]] >= minSize) {
          labels[i] = labels[j];
          changed++;
          break;
        }
      }
    }
    if (changed === 0) break;
  }
  return connectedComponents(labels, shape);
}

/**
 * A small deterministic encoder and adapter for the feature-cache tests:
 * the encoder is a fixed seeded random projection of 4×4 pixel patches
 * (so every process computes bit-identical features), the adapter turns a
 * grey image into `cls` `[C]` and a dense `patches` map `[h, w, C]`.
 * Samples are seeded random images named `s000`, `s001`, ...
 *
 * @module
 */

import type {
  Adapter,
  AdapterContext,
  Encoder,
  EncoderOutput,
  Image2D,
  Sample,
  SampleData,
} from "../plugin.ts";
import type { HostTensor } from "../tensor.ts";
import { createMulberry32 } from "../random.ts";

const PATCH = 4;
const DIM = 12;

/** Counts encode calls in this process (to check what a rerun recomputes). */
export const toyStats: { encodedImages: number } = { encodedImages: 0 };

/** The toy encoder: patches = tanh(W·patch), cls = mean of patches. */
export function createToyEncoder(): Encoder {
  const r = createMulberry32(42);
  const w = new Float32Array(DIM * 3 * PATCH * PATCH).map(() => (r() * 2 - 1) * 0.2);
  return {
    info: {
      id: "toy-projection",
      backend: "cpu-reference",
      backendReason: "test encoder",
      dim: DIM,
      patchSize: PATCH,
      numRegisters: 0,
      weightsSha256: "0".repeat(63) + "1",
      precision: "f32",
    },
    preprocess: {
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      sizeMultiple: PATCH,
      defaultSize: 16,
    },
    encode(pixels: HostTensor): Promise<EncoderOutput> {
      const [b, c, h, wd] = pixels.shape;
      const gh = h / PATCH;
      const gw = wd / PATCH;
      toyStats.encodedImages += b;
      const patches = new Float32Array(b * gh * gw * DIM);
      const cls = new Float32Array(b * DIM);
      for (let i = 0; i < b; i++) {
        for (let py = 0; py < gh; py++) {
          for (let px = 0; px < gw; px++) {
            for (let d = 0; d < DIM; d++) {
              let s = 0;
              let wi = d * c * PATCH * PATCH;
              for (let ch = 0; ch < c; ch++) {
                for (let y = 0; y < PATCH; y++) {
                  for (let x = 0; x < PATCH; x++) {
                    s += w[wi++] *
                      pixels.data[((i * c + ch) * h + py * PATCH + y) * wd + px * PATCH + x];
                  }
                }
              }
              const v = Math.tanh(s);
              patches[((i * gh + py) * gw + px) * DIM + d] = v;
              cls[i * DIM + d] += v / (gh * gw);
            }
          }
        }
      }
      return Promise.resolve({
        cls: { data: cls, shape: [b, DIM] },
        registers: { data: new Float32Array(0), shape: [b, 0, DIM] },
        patches: { data: patches, shape: [b, gh, gw, DIM] },
        patchMean: { data: cls.slice(), shape: [b, DIM] },
      });
    },
    dispose() {},
  };
}

/** The toy adapter: grey image → normalised [1, 3, H, W] → cls [C] and patches [h, w, C]. */
export function createToyAdapter(delayMs = 0): Adapter {
  return {
    featureKinds: ["cls", "patches"],
    settings: { name: "toy", channels: 3 },
    async extract(data: SampleData, ctx: AdapterContext) {
      const img = data as Image2D;
      const { width: w, height: h } = img;
      const px = new Float32Array(3 * h * w);
      for (let ch = 0; ch < 3; ch++) {
        const mean = ctx.encoder.preprocess.mean[ch];
        const std = ctx.encoder.preprocess.std[ch];
        for (let i = 0; i < h * w; i++) {
          px[ch * h * w + i] = ((img.data[i] as number) / 255 - mean) / std;
        }
      }
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const out = await ctx.encoder.encode({ data: px, shape: [1, 3, h, w] });
      const [, gh, gw, c] = out.patches.shape;
      return {
        cls: { data: out.cls.data, shape: [c] },
        patches: { data: out.patches.data, shape: [gh, gw, c] },
      };
    },
  };
}

/** `count` samples `s000...` of seeded random 16×16 grey images. */
export function toySamples(count: number): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `s${String(i).padStart(3, "0")}`,
    load(): Promise<SampleData> {
      const r = createMulberry32(1000 + i);
      const data = new Uint8Array(16 * 16).map(() => Math.floor(r() * 256));
      return Promise.resolve({ kind: "image", data, width: 16, height: 16, channels: 1 });
    },
  }));
}

/** The cache key of the toy extraction. */
export const TOY_KEY = {
  dataset: "toy/random-images",
  encoder: "toy-projection",
  weightsSha256: "0".repeat(63) + "1",
  preprocessing: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  resolution: 16,
  adapter: { name: "toy", settings: { channels: 3 } },
} as const;

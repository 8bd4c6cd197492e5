/**
 * Test helpers of the task plugins: a tiny deterministic encoder whose
 * patch features are [mean, mean², 1, row] of each 16-pixel patch (no GPU,
 * no weights). Not published.
 *
 * @module
 */

import type { Encoder } from "../../core/plugin.ts";
import type { HostTensor } from "../../core/tensor.ts";

/** A tiny encoder: per 16-pixel patch, [mean, mean², 1, row]; `sha` names its "weights". */
export function toyEncoder(sha = "toy0"): Encoder {
  return {
    info: {
      id: "toy",
      backend: "cpu-reference",
      backendReason: "test",
      dim: 4,
      patchSize: 16,
      numRegisters: 0,
      weightsSha256: sha,
      precision: "f32",
    },
    preprocess: { mean: [0, 0, 0], std: [1, 1, 1], sizeMultiple: 16, defaultSize: 32 },
    encode(px: HostTensor) {
      const [b, , hh, ww] = px.shape;
      const h = hh / 16, w = ww / 16;
      const patches = new Float32Array(b * h * w * 4);
      for (let i = 0; i < b; i++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            let s = 0;
            for (let yy = 0; yy < 16; yy++) {
              for (let xx = 0; xx < 16; xx++) {
                s += px.data[(i * 3 * hh + y * 16 + yy) * ww + x * 16 + xx];
              }
            }
            const m = s / 256;
            patches.set([m, m * m, 1, y / h], ((i * h + y) * w + x) * 4);
          }
        }
      }
      const empty = { data: new Float32Array(0), shape: [b, 0] };
      return Promise.resolve({
        cls: empty,
        registers: empty,
        patchMean: empty,
        patches: { data: patches, shape: [b, h, w, 4] },
      });
    },
    dispose() {},
  };
}

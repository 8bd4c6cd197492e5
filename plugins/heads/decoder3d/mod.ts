/**
 * The `decoder3d` head: the report's light 3D convolutional decoder over
 * stacked slice features (PROTOCOLS.md, 3D segmentation), trained on
 * WebGPU.
 *
 * ## Architecture (channels and stages)
 * With `channels = [c0, c1, ...]` (default `[64, 32, 16, 16, 8]`) and S
 * upsampling stages, S = round(log2(voxels per feature cell)) (4 for
 * 16-pixel patches at native resolution, 5 for 224-pixel slices of a
 * 512 × 512 CT):
 *
 * | stage | grid (in-plane) | layers |
 * |---|---|---|
 * | 0 | feature grid h × w | conv 1×1×1 Cf→c0, LeakyReLU; conv 3×3×3 c0→c0, LeakyReLU |
 * | s = 1..S−1 | h·2^s × w·2^s | trilinear ×2 ⊕ image skip (Cin) → conv 3×3×3 → cs, LeakyReLU |
 * | S | H × W (input) | trilinear to the input grid ⊕ image skip → conv 3×3×3 → cS, LeakyReLU |
 * | head | H × W | conv 1×1×1 on [stage S ⊕ image] (cS + Cin)→K (+ bias) → logits |
 *
 * The skip connections carry the normalised input volume itself (z-scored
 * with the training set's mean and std), resampled to every stage grid, so
 * fine boundaries come from the image intensities and semantics from the
 * frozen features; the head sees the image once more. Depth is never
 * resampled (one feature map per axial slice). Convolutions have biases and
 * no normalisation by default (`norm: "none"`): the inputs are already
 * normalised (layer-normed patch tokens, z-scored image), and a crop-wise
 * normalisation makes a window's prediction depend on what else the window
 * holds, which breaks sliding-window inference on small windows.
 * `norm: "group"` adds group normalisation (up to `normGroups` groups) after
 * every convolution below full resolution, nnU-Net style, for large crops.
 *
 * ## Training and inference
 * - Loss: Dice + cross-entropy (batch soft Dice over the foreground
 *   classes unless `includeBackground`).
 * - AdamW (β 0.9/0.999, weight decay 0.01), lr 1e-4, cosine annealing to
 *   `minLr`, optional linear warm-up (`warmupFraction`, used for PET/CT).
 * - Random crops of `patchSize` voxels (in-plane: whole feature cells),
 *   a third centred on foreground; random flips along each axis and
 *   in-plane 90° rotations applied to features, image skips and labels
 *   together (and to the resampling maps, so crops stay exactly aligned).
 * - Sliding-window inference over whole volumes, Gaussian importance
 *   weighting (σ = window/8), windows streamed along z so memory holds one
 *   window depth of accumulators.
 * - Deterministic for a seed on one device (seeded initialisation, crop
 *   order, augmentation; reductions in a fixed order).
 * - Needs WebGPU (a hardware GPU, or Mesa's llvmpipe for small runs).
 *
 * @example Options and defaults (training needs a WebGPU adapter)
 * ```ts
 * import { decoder3dHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decoder3dHead.name, "decoder3d");
 * assert.equal(decoder3dHead.defaults.lr, 1e-4);
 * const head = decoder3dHead.create({ numClasses: 3, epochs: 2 });
 * assert.equal(head.hyperparameters.numClasses, 3);
 * ```
 *
 * @module
 */

import type { HeadPlugin } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import {
  createDecoder3dHead,
  DECODER3D_DEFAULTS,
  type Decoder3dCase,
  type Decoder3dData,
  Decoder3dHead,
  type Decoder3dHyperparameters,
  type Decoder3dOptions,
  type Decoder3dPrediction,
  type Decoder3dPredictOptions,
  loadDecoder3dHead,
  resolveDecoder3dOptions,
} from "./decoder3d.ts";
import type { FeatureVolume } from "./geometry.ts";
import type { Decoder3dArch } from "./network.ts";

export {
  createDecoder3dHead,
  DECODER3D_DEFAULTS,
  type Decoder3dArch,
  type Decoder3dCase,
  type Decoder3dData,
  Decoder3dHead,
  type Decoder3dHyperparameters,
  type Decoder3dOptions,
  type Decoder3dPrediction,
  type Decoder3dPredictOptions,
  type FeatureVolume,
  loadDecoder3dHead,
  resolveDecoder3dOptions,
};

/** The decoder3d head plugin (`medprobe` name `"decoder3d"`). */
export const decoder3dHead: HeadPlugin = {
  kind: "head",
  name: "decoder3d",
  description:
    "Light 3D conv decoder over stacked slice features with image skips; Dice+CE, AdamW, sliding windows (WebGPU, or onnxruntime's CPU kernels on a software adapter)",
  version: "0.1.0",
  tasks: ["segmentation"],
  input: "volumes",
  defaults: DECODER3D_DEFAULTS as unknown as Readonly<Record<string, unknown>>,
  create(options: Record<string, unknown> = {}): Decoder3dHead {
    return createDecoder3dHead(options as Decoder3dOptions);
  },
  load(bytes: Uint8Array, options: Record<string, unknown> = {}): Decoder3dHead {
    return loadDecoder3dHead(bytes, {
      gpu: options.gpu as GpuContext | undefined,
      backend: options.backend as Decoder3dHyperparameters["backend"] | undefined,
    });
  },
};

/**
 * The ABMIL head (`"abmil"`): attention-based multiple-instance learning
 * for whole-slide images (PROTOCOLS.md): instance features → linear
 * projection + ReLU → gated attention pooling (Ilse et al. 2018,
 * `a_k = softmax(wᵀ(tanh(V h_k) ⊙ σ(U h_k)))`) → bag representation →
 * linear classifier, trained on the bag-level cross-entropy with AdamW,
 * one bag per step, bags reshuffled every epoch from the seed.
 *
 * Inputs are bags: `HostTensor[]`, each `[N_i, F]` (1 ≤ N_i; 20,000 tiles
 * of 768 features take 61 MB and fit the 128 MiB binding limit). Targets
 * are bag class indices `[B]` (0/1 for `task: "binary"`, which uses two
 * output classes as CLAM does). `predict` returns class probabilities
 * `[B, K]`; `attention` the per-instance weights.
 *
 * Defaults follow CLAM's ABMIL: L = 256, D = 128, lr 2e-4, weight decay
 * 1e-5 (decoupled here), 20 epochs; no dropout. `device`: `"auto"`,
 * `"webgpu"` or `"cpu"` (recorded in `hyperparameters`); `gpu` shares a
 * context.
 *
 * @example On the CPU reference
 * ```ts
 * import { createAbmilHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const bag = (v: number) => ({ data: new Float32Array([v, 0, 0, 1]), shape: [2, 2] });
 * const head = createAbmilHead({ device: "cpu", hiddenDim: 4, attentionDim: 2, epochs: 30, lr: 0.01 });
 * await head.fit([bag(3), bag(0), bag(3), bag(0)], { data: new Float32Array([1, 0, 1, 0]), shape: [4] }, { seed: 1 });
 * const p = await head.predict([bag(3), bag(0)]);
 * assert.ok(p.data[1] > p.data[3]); // P(class 1) higher for the positive bag
 * ```
 *
 * @module
 */

import type { HeadPlugin } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import { checkChoice, checkKnownOptions, checkNumber } from "../_common.ts";
import { ABMIL_HEAD_DEFAULTS, AbmilHead, type AbmilHeadHyperparameters } from "./model.ts";

export { ABMIL_HEAD_DEFAULTS, AbmilHead, type AbmilHeadHyperparameters };
export { abmilBackwardRef, abmilForwardRef, type AbmilParams } from "./abmil_ref.ts";

/** Options of {@linkcode createAbmilHead}. */
export interface AbmilHeadOptions extends Partial<AbmilHeadHyperparameters> {
  /** The WebGPU context to run on. */
  gpu?: GpuContext;
}

const KNOWN = [...Object.keys(ABMIL_HEAD_DEFAULTS), "numClasses", "gpu"];

/**
 * Merges options with {@linkcode ABMIL_HEAD_DEFAULTS} and validates them.
 *
 * @example
 * ```ts
 * import { resolveAbmilHeadOptions } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveAbmilHeadOptions({}).attentionDim, 128);
 * assert.throws(() => resolveAbmilHeadOptions({ hiddenDim: 0 }), RangeError);
 * ```
 */
export function resolveAbmilHeadOptions(
  options: Record<string, unknown> = {},
): AbmilHeadHyperparameters {
  checkKnownOptions("abmil", options, KNOWN);
  const { gpu: _gpu, ...rest } = options;
  const hp = { ...ABMIL_HEAD_DEFAULTS, ...rest } as AbmilHeadHyperparameters;
  const integer = (v: number) => Number.isInteger(v) && v >= 1;
  checkChoice("abmil", "task", hp.task, ["binary", "multiclass"] as const);
  checkChoice("abmil", "device", hp.device, ["auto", "webgpu", "cpu"] as const);
  checkNumber("abmil", "hiddenDim", hp.hiddenDim, integer, "a positive integer");
  checkNumber("abmil", "attentionDim", hp.attentionDim, integer, "a positive integer");
  checkNumber("abmil", "epochs", hp.epochs, integer, "a positive integer");
  checkNumber("abmil", "lr", hp.lr, (v) => v > 0, "a positive number");
  checkNumber("abmil", "weightDecay", hp.weightDecay, (v) => v >= 0, "at least 0");
  if (hp.numClasses !== undefined) {
    checkNumber(
      "abmil",
      "numClasses",
      hp.numClasses,
      (v) => integer(v) && v >= 2,
      "an integer ≥ 2",
    );
  }
  return hp;
}

/** Creates an untrained ABMIL head with validated options. */
export function createAbmilHead(options: AbmilHeadOptions = {}): AbmilHead {
  return new AbmilHead(resolveAbmilHeadOptions(options as Record<string, unknown>), options.gpu);
}

/** The ABMIL head plugin, typed with its concrete head. */
export interface AbmilHeadPlugin extends HeadPlugin {
  /** Creates an untrained ABMIL head. */
  create(options?: Record<string, unknown>): AbmilHead;
  /** Restores an ABMIL head saved with `save()`. */
  load(bytes: Uint8Array, options?: Record<string, unknown>): AbmilHead;
}

/** The `"abmil"` head plugin. */
export const abmilHead: AbmilHeadPlugin = {
  kind: "head",
  name: "abmil",
  description:
    "ABMIL: gated-attention multiple-instance learning on bags of tile features, on WebGPU",
  version: "0.1.0",
  tasks: ["binary", "multiclass"],
  input: "bags",
  defaults: ABMIL_HEAD_DEFAULTS,
  create(options: Record<string, unknown> = {}): AbmilHead {
    return createAbmilHead(options as AbmilHeadOptions);
  },
  load(bytes: Uint8Array, options: Record<string, unknown> = {}): AbmilHead {
    return AbmilHead.restore(
      bytes,
      resolveAbmilHeadOptions(options),
      options.gpu as GpuContext | undefined,
    );
  },
};

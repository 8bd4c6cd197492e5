/**
 * The k-NN head (`"knn"`): cosine similarity between L2-normalised
 * features, computed on the GPU, the k nearest training samples (ties to
 * the smaller training index), and their votes:
 *
 * - `vote: "weighted"` (default): DINO's `exp(cos_sim / T)`, T = 0.07;
 *   `"majority"`: uniform.
 * - Multi-label (default) and binary: each label is an independent binary
 *   k-NN over the same neighbours (the report's CT-RATE protocol); the
 *   score of a label is the (weighted) share of positive neighbours.
 * - Multi-class: scores are the normalised class votes; `classify()`
 *   also returns the majority prediction (ties to the smallest label) and
 *   the raw weighted scores of `fixtures/metrics/knn.json`.
 *
 * k defaults to 20 (PROTOCOLS.md; a medprobe default, not stated in the
 * report — see `KNN_HEAD_SOURCES`); a k larger than the training set is
 * clipped to it at `fit`, recorded as `kUsed` and `kNote` in
 * `hyperparameters`. `device`: `"auto"` (WebGPU if an
 * adapter exists, else the CPU reference, recorded in `hyperparameters`),
 * `"webgpu"` or `"cpu"`; `gpu` shares a context.
 *
 * @example On the CPU reference
 * ```ts
 * import { createKnnHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]), shape: [4, 2] };
 * const y = { data: new Float32Array([0, 0, 1, 1]), shape: [4] };
 * const head = createKnnHead({ task: "multiclass", k: 3, device: "cpu" });
 * await head.fit(x, y);
 * const { weightedPred } = await head.classify({ data: new Float32Array([1, 0.2]), shape: [1, 2] });
 * assert.equal(weightedPred[0], 0);
 * ```
 *
 * @module
 */

import type { HeadPlugin } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import { checkChoice, checkKnownOptions, checkNumber } from "../_common.ts";
import {
  KNN_HEAD_DEFAULTS,
  KNN_HEAD_SOURCES,
  KnnClassifier,
  type KnnHeadHyperparameters,
} from "./classifier.ts";

export { KNN_HEAD_DEFAULTS, KNN_HEAD_SOURCES, KnnClassifier, type KnnHeadHyperparameters };
export { knnLabelScores, type KnnVote, knnVote, type KnnVotes } from "./vote.ts";

/** Options of {@linkcode createKnnHead}. */
export interface KnnHeadOptions extends Partial<KnnHeadHyperparameters> {
  /** The WebGPU context to run on. */
  gpu?: GpuContext;
}

const KNOWN = [...Object.keys(KNN_HEAD_DEFAULTS), "numClasses", "gpu"];

/**
 * Merges options with {@linkcode KNN_HEAD_DEFAULTS} and validates them.
 *
 * @example
 * ```ts
 * import { resolveKnnHeadOptions } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveKnnHeadOptions({}).k, 20);
 * assert.throws(() => resolveKnnHeadOptions({ k: 0 }), RangeError);
 * assert.throws(() => resolveKnnHeadOptions({ vote: "soft" }), TypeError);
 * ```
 */
export function resolveKnnHeadOptions(
  options: Record<string, unknown> = {},
): KnnHeadHyperparameters {
  checkKnownOptions("knn", options, KNOWN);
  const { gpu: _gpu, ...rest } = options;
  const hp = { ...KNN_HEAD_DEFAULTS, ...rest } as KnnHeadHyperparameters;
  checkChoice("knn", "task", hp.task, ["binary", "multilabel", "multiclass"] as const);
  checkChoice("knn", "vote", hp.vote, ["weighted", "majority"] as const);
  checkChoice("knn", "device", hp.device, ["auto", "webgpu", "cpu"] as const);
  checkNumber(
    "knn",
    "k",
    hp.k,
    (v) => Number.isInteger(v) && v >= 1 && v <= 248,
    "an integer in [1, 248]",
  );
  checkNumber("knn", "temperature", hp.temperature, (v) => v > 0, "a positive number");
  if (hp.numClasses !== undefined) {
    checkNumber(
      "knn",
      "numClasses",
      hp.numClasses,
      (v) => Number.isInteger(v) && v >= 2,
      "an integer ≥ 2",
    );
  }
  return hp;
}

/** Creates an unfitted k-NN head with validated options. */
export function createKnnHead(options: KnnHeadOptions = {}): KnnClassifier {
  return new KnnClassifier(resolveKnnHeadOptions(options as Record<string, unknown>), options.gpu);
}

/** The k-NN head plugin, typed with its concrete head. */
export interface KnnHeadPlugin extends HeadPlugin {
  /** Creates an unfitted k-NN head. */
  create(options?: Record<string, unknown>): KnnClassifier;
  /** Restores a k-NN head saved with `save()`. */
  load(bytes: Uint8Array, options?: Record<string, unknown>): KnnClassifier;
}

/** The `"knn"` head plugin. */
export const knnHead: KnnHeadPlugin = {
  kind: "head",
  name: "knn",
  description: "k-NN: cosine similarity and top-k on WebGPU, weighted or majority votes",
  version: "0.1.0",
  tasks: ["binary", "multilabel", "multiclass"],
  defaults: KNN_HEAD_DEFAULTS,
  create(options: Record<string, unknown> = {}): KnnClassifier {
    return createKnnHead(options as KnnHeadOptions);
  },
  load(bytes: Uint8Array, options: Record<string, unknown> = {}): KnnClassifier {
    return KnnClassifier.restore(
      bytes,
      resolveKnnHeadOptions(options),
      options.gpu as GpuContext | undefined,
    );
  },
};

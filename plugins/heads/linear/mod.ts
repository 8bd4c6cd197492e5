/**
 * The linear-probe head (`"linear"`): one linear layer on frozen features,
 * the report's 2D-classification and CT-RATE head (PROTOCOLS.md).
 *
 * - Loss: sigmoid BCE per label (`task: "binary" | "multilabel"`, the
 *   default) or softmax cross-entropy (`"multiclass"`, targets are class
 *   indices).
 * - Optimiser: AdamW (PyTorch semantics), lr 0.005, batch 1024, 50 epochs,
 *   β = (0.9, 0.999), ε 1e-8, weight decay 0.01 (PyTorch's default; the
 *   report does not state one).
 * - Step budget: the report's 50 epochs at batch 1024 assume ~100,000
 *   images; on a few hundred they are ~50 optimizer steps. When `epochs`
 *   passes make fewer than `minSteps` (1,000) steps, training continues
 *   until `minSteps` or until the loss converges (relative change below
 *   `tolerance` 1e-4 in each of `patience` 5 epochs); `epochsRun`, `steps`,
 *   `stopReason` and `trainingNote` say what happened (`minSteps: 0` gives
 *   exactly `epochs`). `sources` in `hyperparameters` says which value is
 *   the report's and which medprobe's. Weights start as PyTorch's `nn.Linear`
 *   (uniform ±1/√F) from the seed; each epoch reshuffles with the same
 *   seeded generator, so a seed gives the same model on one device.
 * - `standardize: true` scales every feature by the training mean and
 *   standard deviation (stored with the head).
 * - `device`: `"auto"` (WebGPU when an adapter exists, else the CPU
 *   references, recorded as `device`/`deviceReason` in `hyperparameters`),
 *   `"webgpu"` or `"cpu"`. `gpu` passes a `GpuContext` to share.
 *
 * Predictions are probabilities `[N, K]` (sigmoids, or softmax rows).
 *
 * @example Fitting on the CPU references
 * ```ts
 * import { createLinearHead } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const x = { data: new Float32Array([-2, -1, 1, 2]), shape: [4, 1] };
 * const y = { data: new Float32Array([0, 0, 1, 1]), shape: [4, 1] };
 * const head = createLinearHead({ device: "cpu", epochs: 200, lr: 0.05 });
 * const report = await head.fit(x, y, { seed: 1 });
 * assert.ok(report.losses.at(-1)! < report.losses[0]);
 * const p = await head.predict(x);
 * assert.ok(p.data[0] < 0.5 && p.data[3] > 0.5);
 * assert.equal(head.hyperparameters.device, "cpu");
 * ```
 *
 * @module
 */

import type { HeadPlugin } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import { checkChoice, checkKnownOptions, checkNumber } from "../_common.ts";
import {
  LINEAR_HEAD_DEFAULTS,
  LINEAR_HEAD_SOURCES,
  type LinearHeadHyperparameters,
  LinearProbe,
  type ProbeSchedule,
  probeSchedule,
  type ProbeStopReason,
} from "./probe.ts";

export {
  LINEAR_HEAD_DEFAULTS,
  LINEAR_HEAD_SOURCES,
  type LinearHeadHyperparameters,
  LinearProbe,
  type ProbeSchedule,
  probeSchedule,
  type ProbeStopReason,
};

/** Options of {@linkcode createLinearHead}: any hyperparameter, plus a context to share. */
export interface LinearHeadOptions extends Partial<LinearHeadHyperparameters> {
  /** The WebGPU context to run on (else one is requested when needed). */
  gpu?: GpuContext;
}

const KNOWN = [...Object.keys(LINEAR_HEAD_DEFAULTS), "numClasses", "gpu"];

/**
 * Merges options with {@linkcode LINEAR_HEAD_DEFAULTS} and validates them:
 * `TypeError` for unknown names or choices, `RangeError` for values out
 * of range.
 *
 * @example
 * ```ts
 * import { resolveLinearHeadOptions } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveLinearHeadOptions({}).lr, 0.005);
 * assert.throws(() => resolveLinearHeadOptions({ lr: -1 }), RangeError);
 * assert.throws(() => resolveLinearHeadOptions({ learningRate: 0.1 }), TypeError);
 * ```
 */
export function resolveLinearHeadOptions(
  options: Record<string, unknown> = {},
): LinearHeadHyperparameters {
  checkKnownOptions("linear", options, KNOWN);
  const { gpu: _gpu, ...rest } = options;
  const hp = { ...LINEAR_HEAD_DEFAULTS, ...rest } as LinearHeadHyperparameters;
  const positive = (v: number) => v > 0;
  const integer = (v: number) => Number.isInteger(v) && v >= 1;
  checkChoice("linear", "task", hp.task, ["binary", "multilabel", "multiclass"] as const);
  checkChoice("linear", "device", hp.device, ["auto", "webgpu", "cpu"] as const);
  checkNumber("linear", "lr", hp.lr, positive, "a positive number");
  checkNumber("linear", "batchSize", hp.batchSize, integer, "a positive integer");
  checkNumber("linear", "epochs", hp.epochs, integer, "a positive integer");
  checkNumber(
    "linear",
    "minSteps",
    hp.minSteps,
    (v) => Number.isInteger(v) && v >= 0,
    "a non-negative integer",
  );
  checkNumber("linear", "tolerance", hp.tolerance, (v) => v >= 0, "at least 0");
  checkNumber("linear", "patience", hp.patience, integer, "a positive integer");
  checkNumber("linear", "weightDecay", hp.weightDecay, (v) => v >= 0, "at least 0");
  checkNumber("linear", "beta1", hp.beta1, (v) => v >= 0 && v < 1, "in [0, 1)");
  checkNumber("linear", "beta2", hp.beta2, (v) => v >= 0 && v < 1, "in [0, 1)");
  checkNumber("linear", "eps", hp.eps, positive, "a positive number");
  if (typeof hp.standardize !== "boolean") {
    throw new TypeError(
      `Cannot create the linear head as standardize must be a boolean: current value is ${
        JSON.stringify(hp.standardize)
      }`,
    );
  }
  if (hp.numClasses !== undefined) {
    checkNumber(
      "linear",
      "numClasses",
      hp.numClasses,
      (v) => integer(v) && v >= 2,
      "an integer ≥ 2",
    );
  }
  return hp;
}

/** Creates an untrained linear probe with validated options. */
export function createLinearHead(options: LinearHeadOptions = {}): LinearProbe {
  return new LinearProbe(
    resolveLinearHeadOptions(options as Record<string, unknown>),
    options.gpu,
  );
}

/** The linear head plugin, typed with its concrete head. */
export interface LinearHeadPlugin extends HeadPlugin {
  /** Creates an untrained linear probe. */
  create(options?: Record<string, unknown>): LinearProbe;
  /** Restores a linear probe saved with `save()`. */
  load(bytes: Uint8Array, options?: Record<string, unknown>): LinearProbe;
}

/** The `"linear"` head plugin. */
export const linearHead: LinearHeadPlugin = {
  kind: "head",
  name: "linear",
  description: "Linear probe: one linear layer, sigmoid-BCE or softmax-CE, AdamW on WebGPU",
  version: "0.1.0",
  tasks: ["binary", "multilabel", "multiclass"],
  defaults: LINEAR_HEAD_DEFAULTS,
  create(options: Record<string, unknown> = {}): LinearProbe {
    return createLinearHead(options as LinearHeadOptions);
  },
  load(bytes: Uint8Array, options: Record<string, unknown> = {}): LinearProbe {
    const hp = resolveLinearHeadOptions(options);
    return LinearProbe.restore(bytes, hp, options.gpu as GpuContext | undefined);
  },
};

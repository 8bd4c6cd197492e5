/**
 * The k-NN head: cosine similarity on the GPU ({@linkcode CosineKnnIndex}),
 * top-k with float64 re-ranking, then majority or temperature-weighted
 * votes ({@linkcode knnVote}, {@linkcode knnLabelScores}). Without a GPU
 * the search runs on {@linkcode cosineKnnRef}; both give the same
 * neighbours and distances.
 *
 * @module
 */

import type { FitOptions, FitReport, Head } from "../../../core/plugin.ts";
import type { GpuContext } from "../../../core/gpu.ts";
import type { HostTensor } from "../../../core/tensor.ts";
import { CosineKnnIndex } from "../../../kernels/knn/knn.ts";
import { cosineKnnRef, type Neighbours } from "../../../kernels/knn/knn_ref.ts";
import {
  checkFeatures,
  type ClassificationTask,
  decodeHead,
  encodeHead,
  encodeTargets,
  f32Copy,
  type HeadDevice,
  type HeadDeviceRequest,
  LazyDevice,
} from "../_common.ts";
import { knnLabelScores, type KnnVote, knnVote, type KnnVotes } from "./vote.ts";

/** Hyperparameters of the k-NN head. */
export interface KnnHeadHyperparameters {
  /** The learning problem (multi-label: one binary k-NN per label). */
  task: ClassificationTask;
  /** Classes of a multi-class problem (inferred from the targets when absent). */
  numClasses?: number;
  /** Neighbours. */
  k: number;
  /** Temperature of the weighted vote. */
  temperature: number;
  /** Which vote forms the predicted scores. */
  vote: KnnVote;
  /** Where to run. */
  device: HeadDeviceRequest;
}

/** Defaults (PROTOCOLS.md): cosine, k = 20, T = 0.07, weighted vote, per-label binary. */
export const KNN_HEAD_DEFAULTS: Readonly<KnnHeadHyperparameters> = Object.freeze({
  task: "multilabel",
  k: 20,
  temperature: 0.07,
  vote: "weighted",
  device: "auto",
});

/**
 * Where each default of {@linkcode KNN_HEAD_DEFAULTS} comes from: the
 * report states none of them (it says only that CT-RATE gets a k-NN
 * evaluation with each of the 18 labels an independent binary task).
 * Recorded as `sources` in `hyperparameters`.
 */
export const KNN_HEAD_SOURCES: Readonly<Record<string, string>> = Object.freeze({
  task:
    "report (CT-RATE: each label an independent binary k-NN); multi-class is medprobe's extension",
  k: "medprobe default (DINO's k-NN evaluation uses 20), not stated in the report",
  temperature: "medprobe default (DINO's weighted k-NN, T = 0.07), not stated in the report",
  vote: "medprobe default (DINO's weighted vote), not stated in the report",
  metric:
    "medprobe default (cosine similarity of L2-normalised features, as DINO), not stated in the report",
});

interface KnnState {
  keys: HostTensor; // [M, F]
  targets: Float32Array; // [M, K] (one-hot for multi-class)
  labels?: Int32Array; // [M] class indices (multi-class)
  k: number; // K outputs
}

/** A k-NN head. Create it through {@linkcode knnHead} or {@linkcode createKnnHead}. */
export class KnnClassifier implements Head<HostTensor, HostTensor, HostTensor> {
  #hp: KnnHeadHyperparameters;
  #device: LazyDevice;
  #state: KnnState | undefined;
  #index: CosineKnnIndex | undefined;

  /** Creates an empty head; `gpu` pins the WebGPU context. */
  constructor(hp: KnnHeadHyperparameters, gpu?: GpuContext) {
    this.#hp = { ...hp };
    this.#device = new LazyDevice(hp.device, gpu);
  }

  /** Every hyperparameter, plus the device used once known. */
  get hyperparameters(): Readonly<Record<string, unknown>> {
    const n = this.#state?.keys.shape[0];
    const clipped = n !== undefined && this.#hp.k > n;
    return {
      ...this.#hp,
      ...(this.#state
        ? {
          trainSamples: n,
          numOutputs: this.#state.k,
          kUsed: this.#kUsed(),
          ...(clipped
            ? {
              kNote:
                `k = ${this.#hp.k} clipped to the ${n} training samples (k can be at most the training-set size)`,
            }
            : {}),
        }
        : {}),
      sources: KNN_HEAD_SOURCES,
      ...this.#device.fields,
    };
  }

  /** The device in use, once resolved. */
  get device(): HeadDevice | undefined {
    return this.#device.device;
  }

  /** Stores the training features and labels (and uploads them on WebGPU). */
  async fit(x: HostTensor, y: HostTensor, options: FitOptions = {}): Promise<FitReport> {
    const start = performance.now();
    const [n, f] = checkFeatures("fit", x);
    const { targets, k } = encodeTargets("fit", this.#hp.task, y, n, this.#hp.numClasses);
    // k larger than the training set is clipped to it (recorded as kUsed / kNote)
    this.#setState({ keys: { data: new Float32Array(x.data), shape: [n, f] }, targets, k });
    await this.#ensureIndex();
    options.onProgress?.({ epoch: 1, epochs: 1, loss: Number.NaN }); // one pass (indexing), no loss
    return { losses: [], seconds: (performance.now() - start) / 1000 };
  }

  #setState(s: KnnState): void {
    if (this.#hp.task === "multiclass") {
      const labels = new Int32Array(s.keys.shape[0]);
      for (let r = 0; r < labels.length; r++) {
        for (let j = 0; j < s.k; j++) if (s.targets[r * s.k + j] === 1) labels[r] = j;
      }
      s.labels = labels;
    }
    this.#index?.dispose();
    this.#index = undefined;
    this.#state = s;
  }

  async #ensureIndex(): Promise<void> {
    const dev = await this.#device.resolve();
    if (dev.device === "webgpu" && !this.#index && this.#state) {
      this.#index = CosineKnnIndex.create(dev.gpu!, this.#state.keys);
    }
  }

  /** The k nearest training rows of each query (float64 cosine distances). */
  async neighbours(x: HostTensor): Promise<Neighbours> {
    const s = this.#require("search");
    checkFeatures("predict", x, s.keys.shape[1]);
    await this.#ensureIndex();
    const k = this.#kUsed();
    return this.#index ? await this.#index.search(x, k) : cosineKnnRef(s.keys, x, k);
  }

  /** The neighbours actually used: `k`, clipped to the training-set size. */
  #kUsed(): number {
    const n = this.#state?.keys.shape[0];
    return n === undefined ? this.#hp.k : Math.min(this.#hp.k, n);
  }

  /** Multi-class votes (majority, weighted scores, weighted prediction). */
  async classify(x: HostTensor): Promise<KnnVotes & { neighbours: Neighbours }> {
    const s = this.#require("classify with");
    if (!s.labels) {
      throw new TypeError('Cannot classify with the knn head as its task must be "multiclass"');
    }
    const nb = await this.neighbours(x);
    return { ...knnVote(nb, s.labels, s.k, this.#hp.temperature), neighbours: nb };
  }

  /**
   * Scores `[Q, K]` in [0, 1]: per-label positive shares (binary,
   * multi-label) or normalised class votes (multi-class), weighted or
   * uniform per `vote`.
   */
  async predict(x: HostTensor): Promise<HostTensor> {
    const s = this.#require("predict with");
    const nb = await this.neighbours(x);
    const scores = knnLabelScores(nb, s.targets, s.k, this.#hp.vote, this.#hp.temperature);
    return { data: Float32Array.from(scores), shape: [nb.shape[0], s.k] };
  }

  /** safetensors bytes: `keys` `[M, F]`, `targets` `[M, K]`, hyperparameters in the metadata. */
  save(): Uint8Array {
    const s = this.#require("save");
    const { device: _d, ...hp } = this.#hp;
    return encodeHead("knn", {
      keys: { dtype: "F32", shape: s.keys.shape, data: s.keys.data },
      targets: { dtype: "F32", shape: [s.keys.shape[0], s.k], data: s.targets },
    }, { hyperparameters: hp });
  }

  /** Restores a head written by {@linkcode KnnClassifier.save}. */
  static restore(bytes: Uint8Array, hp: KnnHeadHyperparameters, gpu?: GpuContext): KnnClassifier {
    const { tensors, state } = decodeHead("knn", bytes, ["keys", "targets"]);
    const saved = (state.hyperparameters ?? {}) as Partial<KnnHeadHyperparameters>;
    const head = new KnnClassifier({ ...saved, device: hp.device } as KnnHeadHyperparameters, gpu);
    const [m, f] = tensors.keys.shape;
    head.#setState({
      keys: { data: f32Copy(tensors.keys), shape: [m, f] },
      targets: f32Copy(tensors.targets),
      k: tensors.targets.shape[1],
    });
    return head;
  }

  /** Releases the key buffers (and the device when the head requested it). */
  dispose(): void {
    this.#index?.dispose();
    this.#index = undefined;
    this.#device.dispose();
  }

  #require(what: string): KnnState {
    if (!this.#state) {
      throw new TypeError(`Cannot ${what} the knn head as it is not fitted: call fit() first`);
    }
    return this.#state;
  }
}

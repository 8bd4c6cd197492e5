// This module is browser compatible.
/**
 * The plugin interfaces of medprobe: encoders, adapters, heads, metrics,
 * modalities and tasks. A plugin is a plain object with a `kind` discriminant; it is
 * registered explicitly with {@linkcode createRegistry} (core/registry.ts),
 * never as a side effect of importing its module.
 *
 * The data path (ARCHITECTURE.md): a modality's dataset yields samples → an
 * adapter turns each sample into encoder inputs and the encoder outputs back
 * into features → the feature cache keeps them → a head is fitted and
 * predicts → metrics score the predictions → a result record. A *task*
 * plugin (classification, 3D segmentation, MIL, affinities...) runs that
 * path for the datasets that name it, getting its adapter, head and metrics
 * by name from the registry.
 *
 * @module
 */

import type { HostTensor } from "./tensor.ts";
import type { ResultRecord } from "./result.ts";

/** The six plugin kinds. */
export type PluginKind = "encoder" | "adapter" | "head" | "metric" | "modality" | "task";

/** Fields every plugin has. */
export interface PluginBase {
  /** The discriminant. */
  readonly kind: PluginKind;
  /** A lowercase, stable id (`"dinov3-vits16"`, `"linear"`, `"auc"`, `"xray"`). */
  readonly name: string;
  /** One sentence for `medprobe list`. */
  readonly description: string;
  /** The plugin's own version, recorded in result records. */
  readonly version?: string;
}

// ---------------------------------------------------------------- samples --

/** A decoded 2D image: row-major pixels, channels interleaved (HWC). */
export interface Image2D {
  /** Discriminant of {@linkcode SampleData}. */
  readonly kind: "image";
  /** Pixel values, `height * width * channels` of them. */
  readonly data: Uint8Array | Uint16Array | Int16Array | Float32Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
  /**
   * How to map the values to [0, 1] before normalisation. `"dtype"` divides
   * by the type's maximum (255 for uint8, 65535 for uint16); `"minmax"`
   * rescales the image's own range; `"unit"` means the values are already in
   * [0, 1]. @default {"dtype"}
   */
  readonly intensity?: "dtype" | "minmax" | "unit";
}

/** A 3D volume with its geometry. Axis order of `data` is `[D, H, W]` (z slowest). */
export interface Volume {
  /** Discriminant of {@linkcode SampleData}. */
  readonly kind: "volume";
  /** Voxel values (e.g. Hounsfield units for CT), `C * D * H * W` of them. */
  readonly data: Float32Array;
  /** `[D, H, W]`: slices, rows, columns. */
  readonly shape: readonly [number, number, number];
  /** Channels (1 for CT, 2 for PET/CT, 4 for BraTS), stored channel-major. @default {1} */
  readonly channels?: number;
  /** Voxel size in mm along `[z, y, x]`; always required for distances. */
  readonly spacingMm: readonly [number, number, number];
  /** The 4×4 voxel-to-world (RAS+ mm) matrix of the source file, row-major, when known. */
  readonly affine?: readonly number[];
  /** What the reader replaced as unusable (e.g. a NaN sform → the qform), for the run record. */
  readonly warnings?: readonly string[];
}

/** What loading a sample yields. Modalities may add kinds (slides, EM stacks). */
export type SampleData = Image2D | Volume | {
  readonly kind: string;
  readonly [key: string]: unknown;
};

/** One item of a dataset split. Loading is lazy so decoding can be streamed. */
export interface Sample {
  /** Unique within the dataset (e.g. the image file name). */
  readonly id: string;
  /** The patient or subject, used for patient-level splits when known. */
  readonly subject?: string;
  /** Targets: one value per label (multi-label/binary) or the class index (multi-class). */
  readonly target?: Float32Array;
  /** Where the sample lives on disk (for messages and result records). */
  readonly path?: string;
  /** Decodes the sample; throws `FormatError` or `Deno.errors.NotFound` on bad input. */
  load(): Promise<SampleData>;
}

// --------------------------------------------------------------- encoders --

/** How an encoder expects its pixels: ImageNet-style normalisation of [0, 1] RGB. */
export interface PreprocessSpec {
  /** Per-channel mean (R, G, B). */
  readonly mean: readonly [number, number, number];
  /** Per-channel standard deviation (R, G, B). */
  readonly std: readonly [number, number, number];
  /** Input sizes must be multiples of this (the patch size; 1 for CNNs). */
  readonly sizeMultiple: number;
  /** Default square input size. */
  readonly defaultSize: number;
}

/** The outputs of one encoder call, read back to the host. */
export interface EncoderOutput {
  /** Normalised CLS token, `[B, C]` (pooled output for CNNs). */
  cls: HostTensor;
  /** Normalised register tokens, `[B, R, C]` (`R = 0` when the model has none). */
  registers: HostTensor;
  /** Normalised patch tokens, `[B, h, w, C]` (`[B, 0, 0, C]` when the model has none). */
  patches: HostTensor;
  /** Mean of the normalised patch tokens, `[B, C]`. */
  patchMean: HostTensor;
  /** Outputs of requested intermediate blocks, each `[B, N, C]`, in the order asked. */
  intermediates?: HostTensor[];
}

/** Options of one encode call. */
export interface EncodeOptions {
  /** 0-based block indices whose outputs (before the final norm) to return. */
  intermediateLayers?: readonly number[];
}

/** What a result record says about the encoder that ran. */
export interface EncoderInfo {
  /** Plugin id, e.g. `"dinov3-vits16"`. */
  readonly id: string;
  /** `"webgpu"`, `"onnx-node"`, `"onnx-wasm"`, `"cpu-reference"`. */
  readonly backend: string;
  /** Why this backend was chosen (e.g. "software adapter llvmpipe: ONNX is faster"). */
  readonly backendReason: string;
  /** Embedding width C. */
  readonly dim: number;
  /** Patch size P (0 for models without patch tokens). */
  readonly patchSize: number;
  /** Register tokens R. */
  readonly numRegisters: number;
  /** SHA-256 of the weight files, hex; identifies the features in the cache. */
  readonly weightsSha256: string;
  /** Numeric precision of activations. */
  readonly precision: "f32" | "f16";
}

/** A ready-to-run encoder. */
export interface Encoder {
  /** Identity, backend and geometry. */
  readonly info: EncoderInfo;
  /** The pixel preprocessing this encoder expects. */
  readonly preprocess: PreprocessSpec;
  /**
   * Encodes a batch of preprocessed pixels `[B, 3, H, W]` (NCHW, normalised).
   * Any batch size works: implementations split by device limits.
   */
  encode(pixelValues: HostTensor, options?: EncodeOptions): Promise<EncoderOutput>;
  /** Releases GPU buffers or sessions. */
  dispose(): void;
}

/** Options for creating an encoder. */
export interface EncoderCreateOptions {
  /** A folder with `model.safetensors` (or shards) and `config.json`, or a model file. */
  weights?: string;
  /** Which backend runs the model. @default {"auto"} */
  backend?: "webgpu" | "onnx" | "auto";
  /** Activation precision. @default {"f32"} */
  precision?: "f32" | "f16";
  /** Plugin-specific settings. */
  [key: string]: unknown;
}

/** A frozen feature extractor. */
export interface EncoderPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "encoder";
  /** Loads weights and prepares the backend. */
  create(options: EncoderCreateOptions): Promise<Encoder>;
}

// --------------------------------------------------------------- adapters --

/** Features of one sample, by feature kind (`"cls"`, `"mean"`, `"volume"`...). */
export type FeatureRecord = Record<string, HostTensor>;

/** What an adapter needs to turn a sample into features. */
export interface AdapterContext {
  /** The encoder to run. */
  readonly encoder: Encoder;
  /** Target input size: square side, `[H, W]`, or `"native"` (rounded to the size multiple). */
  readonly resolution: number | [number, number] | "native";
  /** Largest encoder batch (slices, tiles). */
  readonly batchSize: number;
  /** Cancels a long extraction. */
  readonly signal?: AbortSignal;
}

/** Maps modality samples to encoder inputs and encoder outputs to head features. */
export interface Adapter {
  /** Feature kinds this adapter produces (keys of its {@linkcode FeatureRecord}). */
  readonly featureKinds: readonly string[];
  /** Every setting that changes the features (part of the cache key). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Extracts the features of one decoded sample. */
  extract(data: SampleData, ctx: AdapterContext): Promise<FeatureRecord>;
  /**
   * Extracts several samples at once (e.g. 2D images in one encoder batch);
   * same result as calling `extract` on each. Optional: runners fall back to
   * `extract` per sample.
   */
  extractBatch?(data: readonly SampleData[], ctx: AdapterContext): Promise<FeatureRecord[]>;
  /**
   * Streams the features of one large sample in chunks (slabs of slices,
   * batches of tiles), in order, so that a run never holds the whole
   * feature volume or bag. Core stores each chunk as its own cache entry
   * and reassembles them along {@linkcode Adapter.chunkAxis}. `skip`
   * holds the indices already cached (a run killed inside a sample): an
   * adapter may leave them out without computing them, or yield them
   * anyway. Optional: runners fall back to `extract`.
   */
  extractChunks?(
    data: SampleData,
    ctx: AdapterContext,
    skip?: ReadonlySet<number>,
  ): AsyncIterable<FeatureChunk>;
  /** Axis along which chunks of every feature kind concatenate (1 for `[C, D, h, w]` slabs, 0 for `[N, C]` bags). @default {0} */
  readonly chunkAxis?: number;
  /**
   * The pixels a head sees beside the features (e.g. the windowed,
   * [0, 1]-normalised volume a 3D decoder uses for its skip connections).
   * Optional.
   */
  prepareInput?(data: SampleData): SampleData;
}

/** One chunk of a sample's features, from {@linkcode Adapter.extractChunks}. */
export interface FeatureChunk {
  /** 0-based chunk index, increasing by one. */
  readonly index: number;
  /** The chunk's features, by kind. */
  readonly features: FeatureRecord;
}

/** An adapter plugin: `image2d`, `slice-mean`, `slice-stack`, `tile-bag`... */
export interface AdapterPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "adapter";
  /** The {@linkcode SampleData} kinds it accepts. */
  readonly accepts: readonly string[];
  /**
   * What it produces, matched against {@linkcode TaskPlugin.input}:
   * `"vectors"` (one feature vector per sample), `"volumes"` (a feature
   * volume per sample), `"bags"` (a variable-length set of vectors).
   * @default {"vectors"}
   */
  readonly output?: string;
  /** Creates the adapter with validated options. */
  create(options?: Record<string, unknown>): Adapter;
}

// ------------------------------------------------------------------ heads --

/**
 * The learning problems medprobe evaluates (a dataset's `problem`). A task
 * plugin may add its own; heads and metrics list the problems they handle.
 */
export type TaskType =
  | "binary"
  | "multilabel"
  | "multiclass"
  | "segmentation"
  | "affinity"
  | "regression"
  // deno-lint-ignore ban-types
  | (string & {});

/** Progress of a training run. */
export interface FitProgress {
  /** 1-based epoch (or step, for step-based heads). */
  epoch: number;
  /** Total epochs (or steps). */
  epochs: number;
  /** Mean training loss of the epoch. */
  loss: number;
}

/** Options shared by every head's `fit`. */
export interface FitOptions {
  /** Seed of every random choice (initialisation, shuffling, augmentation). */
  seed?: number;
  /** Cancels training between steps. */
  signal?: AbortSignal;
  /** Called after each epoch. */
  onProgress?: (progress: FitProgress) => void;
}

/** What `fit` reports. */
export interface FitReport {
  /** Loss after each epoch. */
  losses: number[];
  /** Wall time in seconds. */
  seconds: number;
}

/**
 * A trainable head. `X` is its input (features `[N, F]`, bags, feature
 * volumes), `Y` its targets and `P` its predictions.
 */
export interface Head<X = unknown, Y = unknown, P = unknown> {
  /** Every hyperparameter in effect (recorded in result records). */
  readonly hyperparameters: Readonly<Record<string, unknown>>;
  /** Trains the head. */
  fit(x: X, y: Y, options?: FitOptions): Promise<FitReport>;
  /** Predicts scores / probabilities / logits for new inputs. */
  predict(x: X): Promise<P>;
  /** Serialises the trained state (safetensors bytes with JSON metadata). */
  save(): Uint8Array;
  /** Releases GPU buffers. */
  dispose(): void;
}

/** A head plugin: `linear`, `knn`, `abmil`, `decoder3d`, `affinity`. */
export interface HeadPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "head";
  /** The learning problems it can learn. */
  readonly tasks: readonly TaskType[];
  /**
   * What it consumes, matched against {@linkcode TaskPlugin.input}:
   * `"vectors"`, `"volumes"`, `"bags"`... @default {"vectors"}
   */
  readonly input?: string;
  /** Default hyperparameters (documented in the plugin's module). */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Creates an untrained head; options are merged with `defaults` and validated. */
  create(options?: Record<string, unknown>): Head;
  /** Restores a head saved with `save()`. */
  load(bytes: Uint8Array, options?: Record<string, unknown>): Head;
}

// ---------------------------------------------------------------- metrics --

/**
 * A metric: a pure `compute` function wrapped with its id and direction.
 * `compute` returns one value per class or label for one sample (or one
 * value for the whole set), NaN where undefined.
 */
export interface MetricPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "metric";
  /** True when larger is better (AUC, Dice), false for errors (HD95, VOI). */
  readonly higherIsBetter: boolean;
  /** The learning problems it applies to. */
  readonly tasks: readonly TaskType[];
  /** How it is defined (thresholds, averaging, empty-mask handling), recorded with results. */
  readonly definition?: string;
  /** Computes the metric. */
  compute(prediction: unknown, target: unknown, options?: Record<string, unknown>): Float64Array;
}

// ------------------------------------------------------------- modalities --

/** Protocol defaults of a dataset (PROTOCOLS.md); every one can be overridden. */
export interface ProtocolDefaults {
  /** Adapter plugin name. */
  readonly adapter: string;
  /** Adapter options. */
  readonly adapterOptions?: Readonly<Record<string, unknown>>;
  /** Head plugin names the report evaluates, first is the default. */
  readonly heads: readonly string[];
  /** Head options by head name. */
  readonly headOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Metric plugin names. */
  readonly metrics: readonly string[];
  /** Default input resolution. */
  readonly resolution: number;
  /** Feature kind the heads consume (e.g. `"cls"`). */
  readonly feature: string;
  /** Split names used for training and testing. */
  readonly trainSplit: string;
  /** Split used for testing. */
  readonly testSplit: string;
}

/** An opened dataset. */
export interface Dataset {
  /** `modality/name`, e.g. `"xray/nih14"`. */
  readonly id: string;
  /** The folder it was opened from. */
  readonly root: string;
  /** The learning problem. */
  readonly problem: TaskType;
  /** Label or class names, in target order. */
  readonly labels: readonly string[];
  /** Available split names. */
  readonly splits: readonly string[];
  /** The samples of a split, in a stable order. */
  samples(split: string): readonly Sample[];
}

/** Options of a synthetic generator. */
export interface SynthOptions {
  /** Number of samples (images, volumes). */
  count?: number;
  /** Seed of every random choice. */
  seed?: number;
}

/** One dataset a modality knows how to open, in its real on-disk layout. */
export interface DatasetSpec {
  /** Short id within the modality (`"nih14"`, `"rsna"`, `"ctrate"`). */
  readonly name: string;
  /** One sentence. */
  readonly description: string;
  /** The task plugin that runs it (`"classification"`, `"segmentation3d"`, `"mil"`, `"affinity"`). */
  readonly task: string;
  /** The learning problem (`"multilabel"`, `"binary"`, `"segmentation"`...). */
  readonly problem: TaskType;
  /** The files and folders `open` expects, for error messages and docs. */
  readonly layout: readonly string[];
  /** Protocol defaults. */
  readonly protocol: ProtocolDefaults;
  /** Opens the dataset as downloaded; a wrong layout says what was expected and found. */
  open(root: string, options?: Record<string, unknown>): Promise<Dataset>;
  /** Writes a synthetic dataset with a learnable signal in the same layout. */
  synthesize(root: string, options?: SynthOptions): Promise<void>;
}

/** A modality: one folder of datasets, loaders, generators and protocol defaults. */
export interface ModalityPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "modality";
  /** The datasets it supports. */
  readonly datasets: readonly DatasetSpec[];
}

// ------------------------------------------------------------------ tasks --

/**
 * One option of a task: a flag `--<name>` in the task's group of `eval`'s
 * help, and `taskOptions[name]` in {@linkcode TaskContext}.
 */
export interface TaskOption {
  /** Kebab-case flag name, e.g. `"folds"`, `"run-folds"`. */
  readonly name: string;
  /** One sentence for the help. */
  readonly description: string;
  /** How the value is parsed and checked. */
  readonly type: "int" | "number" | "string" | "boolean";
  /** Default value (documented in the help). */
  readonly default?: string | number | boolean;
  /** Smallest accepted number. */
  readonly min?: number;
  /** Largest accepted number. */
  readonly max?: number;
  /** Accepted strings. */
  readonly choices?: readonly string[];
}

/** Reports progress of one long stage (a bar on a terminal, plain lines in logs). */
export interface StageProgress {
  /** Sets the number of finished items. */
  update(done: number, note?: string): void;
  /** Ends the stage. */
  stop(): void;
}

/** Creates a progress reporter for a stage of `total` items of `unit`. */
export type ProgressFactory = (stage: string, total: number, unit: string) => StageProgress;

/** Read access to registered plugins, by kind and name (a {@linkcode Registry} is one). */
export interface PluginLookup {
  /** The plugin of a kind and name; throws `TypeError` listing the known names when absent. */
  get<K extends PluginKind>(kind: K, name: string): Extract<Plugin, { kind: K }>;
  /** True when a plugin of this kind and name is registered. */
  has(kind: PluginKind, name: string): boolean;
  /** Registered plugins of one kind, in registration order. */
  list<K extends PluginKind>(kind?: K): Extract<Plugin, { kind: K }>[];
}

/**
 * Everything a task's `run` needs, resolved and checked by the caller
 * (`eval`, `sweep` or {@linkcode runTask}): names are registered and fit the
 * task, options are merged over the protocol's.
 */
export interface TaskContext {
  /** Plugins: the task gets its adapter, head and metrics here by name. */
  readonly registry: PluginLookup;
  /** `modality/dataset`. */
  readonly datasetId: string;
  /** The dataset's spec (layout, protocol, `open`). */
  readonly spec: DatasetSpec;
  /** Dataset root folder, as downloaded. */
  readonly root: string;
  /** Options for the dataset's `open`. */
  readonly openOptions: Readonly<Record<string, unknown>>;
  /** The encoder (created and disposed by the caller). */
  readonly encoder: Encoder;
  /** Weights and whether they are pretrained, for the record. */
  readonly encoderMeta: Readonly<Record<string, unknown>>;
  /** Adapter plugin name. */
  readonly adapter: string;
  /** Adapter options (protocol's, then the caller's). */
  readonly adapterOptions: Readonly<Record<string, unknown>>;
  /** Head plugin name. */
  readonly head: string;
  /** Head options (protocol's, then the caller's). */
  readonly headOptions: Readonly<Record<string, unknown>>;
  /** Where heads train: `"auto"` picks native CPU on a software adapter or none. */
  readonly headBackend: "auto" | "webgpu" | "cpu";
  /** Feature kind fed to the head. */
  readonly feature: string;
  /** Metric plugin names. */
  readonly metrics: readonly string[];
  /** Encoder input resolution. */
  readonly resolution: number | [number, number] | "native";
  /** Encoder batch size (images, slices, tiles). */
  readonly batchSize: number;
  /** Seed of every random choice. */
  readonly seed: number;
  /** Bootstrap resamples for CIs (0: none). */
  readonly bootstrap: number;
  /** Feature cache folder. */
  readonly cacheDir: string;
  /** Output folder (created by the caller). */
  readonly out: string;
  /** Stop at the first failed sample instead of recording it. */
  readonly strict: boolean;
  /** Use at most this many samples per split. */
  readonly limit?: number;
  /** The task's own options ({@linkcode TaskPlugin.options}), parsed, defaults applied. */
  readonly taskOptions: Readonly<Record<string, unknown>>;
  /** Decodes a sample elsewhere (decode workers); default `sample.load()`. */
  readonly load?: (split: string, index: number, sample: Sample) => Promise<SampleData>;
  /** Progress reporters. */
  readonly progress?: ProgressFactory;
  /** Prints a warning the user should see (stale cache entries, fallbacks). */
  readonly warn?: (message: string) => void;
  /** Stops the run between samples, chunks and epochs. */
  readonly signal?: AbortSignal;
  /** medprobe version for the record. */
  readonly version: string;
  /** Extra fields for the record's `environment` (command line, versions...). */
  readonly environment?: Readonly<Record<string, unknown>>;
}

/**
 * A task: one family of protocols (classification, 3D segmentation, MIL,
 * affinities). It says what it feeds its head, checks the protocols of the
 * datasets that name it, and runs an evaluation end to end.
 */
export interface TaskPlugin extends PluginBase {
  /** Discriminant. */
  readonly kind: "task";
  /** What it feeds its head: `"vectors"`, `"volumes"`, `"bags"`... */
  readonly input: string;
  /** The learning problems it runs. */
  readonly problems: readonly TaskType[];
  /** Its own options (a group in `eval`'s help). */
  readonly options: readonly TaskOption[];
  /**
   * Checks a dataset's protocol (at registration): throws a `TypeError`
   * naming the field when a name is missing or does not fit the task.
   * Core already checks that the protocol's adapter, heads and metrics are
   * registered and fit `input` and the problem; this adds task-specific rules.
   */
  validateProtocol(protocol: ProtocolDefaults, registry: PluginLookup): void;
  /** Runs one evaluation and writes its outputs into `ctx.out`. */
  run(ctx: TaskContext): Promise<ResultRecord>;
  /**
   * Extracts and caches the features of the samples `select` keeps, without
   * training (what `medprobe extract --shard K/N` runs for tasks whose
   * samples are streamed in chunks). Optional: tasks fed with vectors are
   * extracted by core's `extractFeatures`.
   */
  extract?(
    ctx: TaskContext,
    select: (samples: readonly Sample[]) => readonly Sample[],
  ): Promise<TaskExtractReport>;
}

/** What {@linkcode TaskPlugin.extract} did. */
export interface TaskExtractReport {
  /** The selected samples, in order. */
  samples: string[];
  /** Samples computed now. */
  computed: number;
  /** Samples already in the cache. */
  cached: number;
  /** Samples that could not be read or encoded. */
  failed: { id: string; path?: string; stage: string; reason: string }[];
  /** The cache namespace folder. */
  cacheDir: string;
}

/** Any plugin. */
export type Plugin =
  | EncoderPlugin
  | AdapterPlugin
  | HeadPlugin
  | MetricPlugin
  | ModalityPlugin
  | TaskPlugin;

// A third-party plugin module, written against medprobe's exported *types*
// only (no value import): a `regression` task with its own head (`ridge`),
// metric (`mae`) and modality (`toyreg/brightness`: grey images whose mean
// brightness is the target). tests/third_party_task_test.ts copies this file
// outside the repository and runs
// `medprobe eval toyreg/brightness --plugin <copy>` (the import of the package
// becomes an absolute URL there; type-only, erased at run time).
import type {
  Dataset,
  DatasetSpec,
  Head,
  HeadPlugin,
  HostTensor,
  Image2D,
  MetricPlugin,
  ModalityPlugin,
  ResultRecord,
  Sample,
  TaskContext,
  TaskPlugin,
} from "../../../mod.ts";

/** Ridge regression, closed form: (XᵀX + λI) w = Xᵀy with a bias column. */
class Ridge implements Head<HostTensor, HostTensor, HostTensor> {
  readonly hyperparameters: Record<string, unknown>;
  #w: Float64Array | undefined;
  #mean: Float64Array | undefined;
  constructor(readonly lambda: number) {
    this.hyperparameters = { lambda };
  }
  fit(
    x: HostTensor,
    y: HostTensor,
    options?: { onProgress?: (p: { epoch: number; epochs: number; loss: number }) => void },
  ) {
    const [n, f] = x.shape;
    const d = f + 1;
    const mean = new Float64Array(f);
    for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mean[j] += x.data[i * f + j] / n;
    const a = new Float64Array(d * d);
    const b = new Float64Array(d);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) row[j] = x.data[i * f + j] - mean[j];
      row[f] = 1;
      for (let p = 0; p < d; p++) {
        b[p] += row[p] * y.data[i];
        for (let q = 0; q < d; q++) a[p * d + q] += row[p] * row[q];
      }
    }
    for (let p = 0; p < f; p++) a[p * d + p] += this.lambda;
    // Gaussian elimination with partial pivoting.
    for (let c = 0; c < d; c++) {
      let piv = c;
      for (let r = c + 1; r < d; r++) {
        if (Math.abs(a[r * d + c]) > Math.abs(a[piv * d + c])) piv = r;
      }
      for (let k = 0; k < d; k++) [a[c * d + k], a[piv * d + k]] = [a[piv * d + k], a[c * d + k]];
      [b[c], b[piv]] = [b[piv], b[c]];
      for (let r = c + 1; r < d; r++) {
        const m = a[r * d + c] / a[c * d + c];
        for (let k = c; k < d; k++) a[r * d + k] -= m * a[c * d + k];
        b[r] -= m * b[c];
      }
    }
    const w = new Float64Array(d);
    for (let r = d - 1; r >= 0; r--) {
      let s = b[r];
      for (let k = r + 1; k < d; k++) s -= a[r * d + k] * w[k];
      w[r] = s / a[r * d + r];
    }
    this.#w = w;
    this.#mean = mean;
    options?.onProgress?.({ epoch: 1, epochs: 1, loss: 0 });
    return Promise.resolve({ losses: [], seconds: 0 });
  }
  predict(x: HostTensor): Promise<HostTensor> {
    const [n, f] = x.shape;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = this.#w![f];
      for (let j = 0; j < f; j++) s += (x.data[i * f + j] - this.#mean![j]) * this.#w![j];
      out[i] = s;
    }
    return Promise.resolve({ data: out, shape: [n, 1] });
  }
  save(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ w: [...this.#w!], mean: [...this.#mean!] }));
  }
  dispose() {}
}

export const ridgeHead: HeadPlugin = {
  kind: "head",
  name: "ridge",
  description: "Ridge regression on feature vectors (closed form)",
  tasks: ["regression"],
  input: "vectors",
  defaults: { lambda: 1 },
  create: (o = {}) => new Ridge(Number(o.lambda ?? 1)),
  load: () => {
    throw new Error("not needed here");
  },
};

export const maeMetric: MetricPlugin = {
  kind: "metric",
  name: "mae",
  description: "Mean absolute error",
  higherIsBetter: false,
  tasks: ["regression"],
  definition: "mean |prediction - target| over the test set",
  compute(prediction, target) {
    const p = prediction as HostTensor;
    const t = target as HostTensor;
    let s = 0;
    for (let i = 0; i < p.data.length; i++) s += Math.abs(p.data[i] - t.data[i]);
    return Float64Array.of(s / p.data.length);
  },
};

function imageOf(seed: number, brightness: number): Image2D {
  const data = new Uint8Array(64 * 64);
  let state = seed * 2654435761 >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const noise = (state / 2 ** 32 - 0.5) * 40;
    data[i] = Math.max(0, Math.min(255, Math.round(brightness * 200 + 20 + noise)));
  }
  return { kind: "image", data, width: 64, height: 64, channels: 1 };
}

const brightness: DatasetSpec = {
  name: "brightness",
  description: "Grey images; target: mean brightness in [0, 1]",
  task: "regression",
  problem: "regression",
  layout: ["targets.json"],
  protocol: {
    adapter: "image2d",
    heads: ["ridge"],
    metrics: ["mae"],
    resolution: 64,
    feature: "mean",
    trainSplit: "train",
    testSplit: "test",
  },
  async open(root: string): Promise<Dataset> {
    const targets = JSON.parse(await Deno.readTextFile(`${root}/targets.json`)) as number[];
    const samples: Sample[] = targets.map((t, i) => ({
      id: `img${i}`,
      target: Float32Array.of(t),
      load: () => Promise.resolve(imageOf(i + 1, t)),
    }));
    const cut = Math.floor(samples.length * 0.7);
    return {
      id: "toyreg/brightness",
      root,
      problem: "regression",
      labels: ["brightness"],
      splits: ["train", "test"],
      samples: (split: string) => split === "train" ? samples.slice(0, cut) : samples.slice(cut),
    };
  },
  async synthesize(root: string, options = {}) {
    const n = options.count ?? 40;
    await Deno.mkdir(root, { recursive: true });
    const targets = Array.from({ length: n }, (_, i) => ((i * 37) % 100) / 100);
    await Deno.writeTextFile(`${root}/targets.json`, JSON.stringify(targets));
  },
};

export const toyModality: ModalityPlugin = {
  kind: "modality",
  name: "toyreg",
  description: "A toy regression modality",
  datasets: [brightness],
};

/** The task: features through the registry's adapter, the head and metrics by name. */
async function run(ctx: TaskContext): Promise<ResultRecord> {
  const dataset = await ctx.spec.open(ctx.root);
  const adapter = ctx.registry.get("adapter", ctx.adapter).create({ ...ctx.adapterOptions });
  const actx = { encoder: ctx.encoder, resolution: ctx.resolution, batchSize: ctx.batchSize };
  const stack = async (split: string) => {
    const samples = dataset.samples(split);
    const rows: Float32Array[] = [];
    for (const s of samples) {
      rows.push((await adapter.extract(await s.load(), actx))[ctx.feature].data);
    }
    const f = rows[0].length;
    const x = new Float32Array(rows.length * f);
    rows.forEach((r, i) => x.set(r, i * f));
    const y = Float32Array.from(samples.map((s) => s.target![0]));
    return { x: { data: x, shape: [rows.length, f] }, y: { data: y, shape: [rows.length, 1] } };
  };
  const train = await stack("train");
  const test = await stack("test");
  const head = ctx.registry.get("head", ctx.head).create({ ...ctx.headOptions });
  await head.fit(train.x, train.y, { seed: ctx.seed });
  const prediction = await head.predict(test.x) as HostTensor;
  const macro: ResultRecord["metrics"]["macro"] = {};
  for (const name of ctx.metrics) {
    macro[name] = { value: ctx.registry.get("metric", name).compute(prediction, test.y)[0] };
  }
  const record: ResultRecord = {
    schema: "medprobe.result/1",
    medprobeVersion: ctx.version,
    createdAt: new Date().toISOString(),
    dataset: ctx.datasetId,
    task: "regression",
    labels: ["brightness"],
    protocol: {
      trainSplit: "train",
      testSplit: "test",
      resolution: ctx.resolution,
      feature: ctx.feature,
      seed: ctx.seed,
      rounds: ctx.taskOptions.rounds,
    },
    encoder: { ...ctx.encoder.info },
    adapter: { name: ctx.adapter, settings: { ...adapter.settings } },
    head: { name: ctx.head, hyperparameters: { ...head.hyperparameters } },
    data: {
      root: ctx.root,
      counts: { train: train.y.data.length, test: test.y.data.length },
      failed: [],
    },
    timings: {},
    metrics: { macro, perLabel: {} },
  };
  const lines = ["id,prediction,target"];
  dataset.samples("test").forEach((s, i) =>
    lines.push(`${s.id},${prediction.data[i]},${test.y.data[i]}`)
  );
  await Deno.writeTextFile(`${ctx.out}/predictions.csv`, lines.join("\n") + "\n");
  await Deno.writeTextFile(`${ctx.out}/result.json`, JSON.stringify(record, null, 2));
  return record;
}

export const regressionTask: TaskPlugin = {
  kind: "task",
  name: "regression",
  description: "One feature vector per image → a regression head → MAE",
  input: "vectors",
  problems: ["regression"],
  options: [{
    name: "rounds",
    description: "an option of this task only",
    type: "int",
    default: 1,
    min: 1,
    max: 5,
  }],
  validateProtocol(protocol) {
    if (protocol.heads.length !== 1) throw new TypeError("protocol.heads must name one head");
  },
  run,
};

// deno-lint-ignore-file no-console
// Peer benchmark of the heads: the WebGPU linear probe and k-NN beside plain
// TypeScript implementations of the same algorithms, in the same run.
//
//   deno run -A bench/heads_bench.ts [--epochs 2] [--ts-epochs 1] [--queries 256] [--ts-queries 16]
//
// 1. Linear-probe training throughput (samples × epochs / s) on 100k × 768
//    features, 14 labels (NIH-14 shaped), batch 1024, AdamW, BCE.
// 2. k-NN queries / s against 100k keys of 768 features, k = 20 (cosine,
//    top-k; the GPU path includes the float64 re-ranking of its shortlist).
// The plain TypeScript versions are straightforward loops over Float32Arrays
// (forward, BCE gradient, dW/db, AdamW; normalised dot products with an
// insertion top-k) — what one would write without a GPU, not the slower
// float64 references.
import { parseArgs } from "node:util";
import { createLinearHead } from "../plugins/heads/linear/mod.ts";
import { CosineKnnIndex } from "../kernels/knn/knn.ts";
import { requestGpu } from "../core/gpu.ts";
import type { HostTensor } from "../core/tensor.ts";
import { createMulberry32, shuffle } from "../core/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "2" },
    "ts-epochs": { type: "string", default: "1" },
    queries: { type: "string", default: "256" },
    "ts-queries": { type: "string", default: "16" },
    n: { type: "string", default: "100000" },
  },
});
const N = Number(values.n);
const F = 768;
const K = 14;
const BATCH = 1024;

function features(n: number, seed: number): HostTensor {
  const r = createMulberry32(seed);
  const data = new Float32Array(n * F);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return { data, shape: [n, F] };
}

/** Plain TypeScript linear probe: the same minibatch AdamW loop, float32 arrays. */
function trainLinearTs(x: Float32Array, y: Float32Array, n: number, epochs: number): void {
  const w = new Float32Array(K * F);
  const b = new Float32Array(K);
  const mw = new Float32Array(K * F);
  const vw = new Float32Array(K * F);
  const mb = new Float32Array(K);
  const vb = new Float32Array(K);
  const dw = new Float32Array(K * F);
  const db = new Float32Array(K);
  const g = new Float32Array(BATCH * K);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const r = createMulberry32(1);
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    shuffle(order, r);
    for (let s0 = 0; s0 < n; s0 += BATCH) {
      const m = Math.min(BATCH, n - s0);
      for (let i = 0; i < m; i++) {
        const row = order[s0 + i] * F;
        for (let c = 0; c < K; c++) {
          let z = b[c];
          const wr = c * F;
          for (let f = 0; f < F; f++) z += x[row + f] * w[wr + f];
          g[i * K + c] = (1 / (1 + Math.exp(-z)) - y[order[s0 + i] * K + c]) / (m * K);
        }
      }
      dw.fill(0);
      db.fill(0);
      for (let i = 0; i < m; i++) {
        const row = order[s0 + i] * F;
        for (let c = 0; c < K; c++) {
          const gc = g[i * K + c];
          db[c] += gc;
          const wr = c * F;
          for (let f = 0; f < F; f++) dw[wr + f] += gc * x[row + f];
        }
      }
      step++;
      const bc1 = 1 - 0.9 ** step;
      const bc2 = Math.sqrt(1 - 0.999 ** step);
      const update = (p: Float32Array, d: Float32Array, m1: Float32Array, v1: Float32Array) => {
        for (let i = 0; i < p.length; i++) {
          p[i] *= 1 - 0.005 * 0.01;
          m1[i] = 0.9 * m1[i] + 0.1 * d[i];
          v1[i] = 0.999 * v1[i] + 0.001 * d[i] * d[i];
          p[i] -= (0.005 / bc1) * m1[i] / (Math.sqrt(v1[i]) / bc2 + 1e-8);
        }
      };
      update(w, dw, mw, vw);
      update(b, db, mb, vb);
    }
  }
}

/** Plain TypeScript cosine k-NN: normalised keys, dot products, insertion top-k. */
function knnTs(
  keys: Float32Array,
  m: number,
  queries: Float32Array,
  q: number,
  k: number,
): Int32Array {
  const out = new Int32Array(q * k);
  const best = new Float64Array(k);
  const idx = new Int32Array(k);
  for (let r = 0; r < q; r++) {
    let qn = 0;
    for (let f = 0; f < F; f++) qn += queries[r * F + f] ** 2;
    qn = 1 / Math.sqrt(qn);
    best.fill(-Infinity);
    for (let t = 0; t < m; t++) {
      let dot = 0;
      const o = t * F;
      for (let f = 0; f < F; f++) dot += queries[r * F + f] * keys[o + f];
      const s = dot * qn;
      if (s <= best[k - 1]) continue;
      let p = k - 1;
      while (p > 0 && best[p - 1] < s) {
        best[p] = best[p - 1];
        idx[p] = idx[p - 1];
        p--;
      }
      best[p] = s;
      idx[p] = t;
    }
    out.set(idx, r * k);
  }
  return out;
}

const gpu = await requestGpu();
console.log(
  `adapter: ${gpu.info.description || gpu.info.device} (software: ${gpu.info.isSoftware})`,
);
console.log(`data: ${N} × ${F} features, ${K} labels`);
const x = features(N, 1);
const yr = createMulberry32(2);
const y: HostTensor = {
  data: new Float32Array(N * K).map(() => (yr() < 0.2 ? 1 : 0)),
  shape: [N, K],
};

// ---- linear probe ----
const epochs = Number(values.epochs);
const head = createLinearHead({ epochs, gpu });
const report = await head.fit(x, y, { seed: 1 });
const gpuRate = (N * epochs) / report.seconds;
const tsEpochs = Number(values["ts-epochs"]);
const t0 = performance.now();
trainLinearTs(x.data, y.data, N, tsEpochs);
const tsRate = (N * tsEpochs) / ((performance.now() - t0) / 1000);
const flops = 4 * F * K; // forward + dW per sample (2 FLOP per MAC)
console.log(
  `linear probe, batch ${BATCH}: WebGPU ${
    gpuRate.toFixed(0)
  } samples·epochs/s (${epochs} epochs in ${report.seconds.toFixed(1)} s, ${
    (gpuRate * flops / 1e9).toFixed(2)
  } GFLOP/s); plain TS ${tsRate.toFixed(0)} samples·epochs/s; ratio ${
    (gpuRate / tsRate).toFixed(2)
  }×`,
);

// ---- k-NN ----
const k = 20;
const nq = Number(values.queries);
const queries = features(nq, 3);
const index = CosineKnnIndex.create(gpu, x);
await index.search({ data: queries.data.subarray(0, 8 * F), shape: [8, F] }, k); // compile pipelines
const t1 = performance.now();
const found = await index.search(queries, k);
const gpuQps = nq / ((performance.now() - t1) / 1000);
const nts = Number(values["ts-queries"]);
const unit = new Float32Array(N * F);
for (let r = 0; r < N; r++) {
  let s = 0;
  for (let f = 0; f < F; f++) s += x.data[r * F + f] ** 2;
  const inv = 1 / Math.sqrt(s);
  for (let f = 0; f < F; f++) unit[r * F + f] = x.data[r * F + f] * inv;
}
const t2 = performance.now();
const tsFound = knnTs(unit, N, queries.data, nts, k);
const tsQps = nts / ((performance.now() - t2) / 1000);
let same = 0;
for (let i = 0; i < nts * k; i++) if (tsFound[i] === found.indices[i]) same++;
console.log(
  `k-NN against ${N} keys, k=${k}: WebGPU ${
    gpuQps.toFixed(1)
  } queries/s (${nq} queries, ${index.chunkCount} key chunks, ${
    (gpuQps * 2 * N * F / 1e9).toFixed(2)
  } GFLOP/s); plain TS ${tsQps.toFixed(1)} queries/s (${nts} queries); ratio ${
    (gpuQps / tsQps).toFixed(2)
  }×; same neighbours ${same}/${nts * k}`,
);
index.dispose();
gpu.destroy();

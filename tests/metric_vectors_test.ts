/**
 * The cross-file metric vector suite: every case of every JSON file in the
 * vector folder is checked against the metric functions, at the tolerance
 * the case states. Files and cases are enumerated at load time, so a new
 * case or file is picked up without touching this test; a file whose
 * `family` has no adapter fails, and so does an expected key that no
 * adapter computes (unless it is on the documented {@linkcode SKIPPED_KEYS}
 * list, which is empty).
 *
 * The folder is `fixtures/metrics` relative to the repository
 * root, or `MEDPROBE_METRIC_VECTORS` (a path, relative to the working
 * directory or absolute) when set, so other vector sets in the same format
 * can be checked:
 *
 *     MEDPROBE_METRIC_VECTORS=/data/vectors deno test -A tests/metric_vectors_test.ts
 *
 * Pass rule (the folder's README): `|actual − expected| <= abs + rel·|expected|`;
 * `"NaN"`, `"Infinity"` and `"-Infinity"` must match exactly; `null` must be
 * reported as `undefined`; integer arrays (predictions, neighbour indices,
 * counts) must match exactly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { reduceScores } from "../core/metrics.ts";
import {
  classifyKnnCosine,
  computeAccuracy,
  computeBalancedAccuracy,
  computeConfusionCounts,
  computeDice,
  computeF1,
  computeInstanceScores,
  computePrecision,
  computeRecall,
  computeRocAuc,
  computeRocAucSklearn,
  computeSpecificity,
  computeSubsetAccuracy,
  computeSurfaceMetrics,
  computeVoxelPrecision,
  computeVoxelRecall,
  predictClasses,
  predictLabels,
} from "../plugins/metrics/mod.ts";

// ---------------------------------------------------------------- folder --

const DEFAULT_FOLDER = new URL("../fixtures/metrics/", import.meta.url);

function vectorFolder(): URL {
  const env = Deno.env.get("MEDPROBE_METRIC_VECTORS");
  if (!env) return DEFAULT_FOLDER;
  const path = env.endsWith("/") ? env : `${env}/`;
  return new URL(path, `file://${Deno.cwd()}/`);
}

const FOLDER = vectorFolder();

/**
 * Expected keys deliberately not computed, with the reason. Kept empty:
 * every key of the shared vectors is computed.
 */
const SKIPPED_KEYS: ReadonlyMap<string, string> = new Map();

/** Keys whose values are integers that must match exactly. */
const INTEGER_KEYS = new Set([
  "y_pred",
  "tn",
  "fp",
  "fn",
  "tp",
  "neighbors",
  "majority_pred",
  "weighted_pred",
  "n_surface_pred",
  "n_surface_gt",
  "auc_labels_used",
  "auc_classes_used",
]);

interface Tolerance {
  abs: number;
  rel: number;
}

interface VectorCase {
  name: string;
  inputs: Record<string, unknown>;
  expected: Record<string, unknown>;
  tolerance: Tolerance;
}

interface VectorFile {
  family: string;
  "format_version": number;
  cases: VectorCase[];
}

// ------------------------------------------------------------- helpers --

type Nested = number | Nested[];

/** Flattens a nested list (2D/3D label maps) into values and a shape. */
function flatten(value: Nested): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  let v: Nested = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  const data = (value as unknown[]).flat(Infinity) as number[];
  return { data, shape };
}

function rows(data: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += width) out.push(Array.from(data).slice(i, i + width));
  return out;
}

/** NaN marks an undefined value in the typed-array API; the vectors say null. */
function defined(value: number): number | undefined {
  return Number.isNaN(value) ? undefined : value;
}

function definedList(values: ArrayLike<number>): (number | undefined)[] {
  return Array.from(values, defined);
}

/** Macro mean over the defined entries and how many entered it. */
function macro(values: Float64Array): { mean: number | undefined; used: number } {
  const used = reduceScores(values, "sum").validCount[0];
  return { mean: used > 0 ? reduceScores(values, "mean").value[0] : undefined, used };
}

function mean(values: Float64Array): number {
  return reduceScores(values, "mean").value[0];
}

// ------------------------------------------------------------ adapters --

type Adapter = (inputs: Record<string, unknown>) => Record<string, unknown>;

function binaryAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  const s = inputs.y_score as number[];
  const t = inputs.y_true as number[];
  const c = computeConfusionCounts(s, t);
  return {
    roc_auc: defined(computeRocAuc(s, t)[0]),
    y_pred: Array.from(predictLabels(s)),
    accuracy: computeAccuracy(s, t)[0],
    precision: computePrecision(s, t)[0],
    recall: computeRecall(s, t)[0],
    specificity: computeSpecificity(s, t)[0],
    f1: computeF1(s, t)[0],
    balanced_accuracy: computeBalancedAccuracy(s, t)[0],
    tn: c.tn[0],
    fp: c.fp[0],
    fn: c.fn[0],
    tp: c.tp[0],
  };
}

function multilabelAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  const s = inputs.y_score as number[][];
  const t = inputs.y_true as number[][];
  const auc = computeRocAuc(s, t);
  const aucMacro = macro(auc);
  const precision = computePrecision(s, t);
  const recall = computeRecall(s, t);
  const f1 = computeF1(s, t);
  const accuracy = computeAccuracy(s, t);
  const balanced = computeBalancedAccuracy(s, t);
  const micro = { average: "micro" } as const;
  return {
    auc_per_label: definedList(auc),
    auc_macro: aucMacro.mean,
    auc_labels_used: aucMacro.used,
    auc_macro_sklearn: computeRocAucSklearn(s, t, { average: "macro" }),
    auc_micro: defined(computeRocAuc(s, t, micro)[0]),
    y_pred: rows(predictLabels(s), s[0].length),
    subset_accuracy: computeSubsetAccuracy(s, t)[0],
    mean_label_accuracy: mean(accuracy),
    accuracy_per_label: Array.from(accuracy),
    precision_per_label: Array.from(precision),
    recall_per_label: Array.from(recall),
    f1_per_label: Array.from(f1),
    precision_macro: mean(precision),
    recall_macro: mean(recall),
    f1_macro: mean(f1),
    precision_micro: computePrecision(s, t, micro)[0],
    recall_micro: computeRecall(s, t, micro)[0],
    f1_micro: computeF1(s, t, micro)[0],
    balanced_accuracy_per_label: Array.from(balanced),
    balanced_accuracy_macro: mean(balanced),
  };
}

function multiclassAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  const p = inputs.y_prob as number[][];
  const y = inputs.y_true as number[];
  assert.equal(p[0].length, inputs.num_classes, "num_classes must equal the probability columns");
  const auc = computeRocAuc(p, y);
  const aucMacro = macro(auc);
  const precision = computePrecision(p, y);
  const recall = computeRecall(p, y);
  const f1 = computeF1(p, y);
  return {
    auc_ovr_per_class: definedList(auc),
    auc_ovr_macro: aucMacro.mean,
    auc_classes_used: aucMacro.used,
    auc_ovr_macro_sklearn: computeRocAucSklearn(p, y, { average: "macro", multiClass: "ovr" }),
    auc_ovr_weighted_sklearn: computeRocAucSklearn(p, y, {
      average: "weighted",
      multiClass: "ovr",
    }),
    auc_ovo_macro_sklearn: computeRocAucSklearn(p, y, { average: "macro", multiClass: "ovo" }),
    y_pred: Array.from(predictClasses(p)),
    accuracy: computeAccuracy(p, y)[0],
    balanced_accuracy: computeBalancedAccuracy(p, y)[0],
    precision_per_class: Array.from(precision),
    recall_per_class: Array.from(recall),
    f1_per_class: Array.from(f1),
    precision_macro: mean(precision),
    recall_macro: mean(recall),
    f1_macro: mean(f1),
  };
}

function knnAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  const k = inputs.k as number;
  const r = classifyKnnCosine(
    inputs.train_features as number[][],
    inputs.train_labels as number[],
    inputs.query_features as number[][],
    {
      k,
      numClasses: inputs.num_classes as number,
      temperature: inputs.temperature as number,
      queryLabels: inputs.query_labels as number[],
    },
  );
  return {
    neighbors: rows(r.neighbors, k),
    distances: rows(r.distances, k),
    majority_pred: Array.from(r.majorityPred),
    majority_accuracy: r.majorityAccuracy,
    weighted_scores: rows(r.weightedScores, r.numClasses),
    weighted_pred: Array.from(r.weightedPred),
    weighted_accuracy: r.weightedAccuracy,
  };
}

function segmentationAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  const pred = flatten(inputs.pred as Nested);
  const gt = flatten(inputs.gt as Nested);
  const numClasses = inputs.num_classes as number;
  const spacing = inputs.spacing as number[];
  const all = { numClasses, includeBackground: true };
  const dice = computeDice(pred, gt, all);
  const diceOne = computeDice(pred, gt, { ...all, ignoreEmpty: false });
  const surface = { ...all, spacing, percentile: 95 };
  const monai = computeSurfaceMetrics(pred, gt, surface);
  const medpy = computeSurfaceMetrics(pred, gt, { ...surface, convention: "medpy" });
  const medpy04 = computeSurfaceMetrics(pred, gt, { ...surface, convention: "medpy-0.4" });
  const precision = computeVoxelPrecision(pred, gt, all);
  const recall = computeVoxelRecall(pred, gt, all);
  const precisionMedpy = computeVoxelPrecision(pred, gt, { ...all, convention: "medpy" });
  const recallMedpy = computeVoxelRecall(pred, gt, { ...all, convention: "medpy" });
  const perClass: Record<string, Record<string, unknown>> = {};
  for (let c = 0; c < numClasses; c++) {
    perClass[String(c)] = {
      dice: dice[c],
      dice_empty_as_one: diceOne[c],
      hd: monai.hd[c],
      hd95: monai.hdPercentile[c],
      hd95_pred_to_gt: monai.hdPercentilePredToGt[c],
      hd95_gt_to_pred: monai.hdPercentileGtToPred[c],
      assd: monai.assd[c],
      precision: precision[c],
      recall: recall[c],
      n_surface_pred: monai.surfacePred[c],
      n_surface_gt: monai.surfaceGt[c],
      // The medpy convention is NaN where medpy raises: undefined (null) in the vectors.
      hd_medpy: defined(medpy.hd[c]),
      hd95_medpy: defined(medpy.hdPercentile[c]),
      assd_medpy: defined(medpy.assd[c]),
      assd_medpy040: defined(medpy04.assd[c]),
      precision_medpy: precisionMedpy[c],
      recall_medpy: recallMedpy[c],
    };
  }
  // Foreground means: MONAI's "mean" reduction over classes 1..C-1 (the default classes).
  const fg = { numClasses, spacing, percentile: 95 };
  const fgSurface = computeSurfaceMetrics(pred, gt, fg);
  return {
    per_class: perClass,
    mean_fg: {
      dice: mean(computeDice(pred, gt, { numClasses })),
      hd: mean(fgSurface.hd),
      hd95: mean(fgSurface.hdPercentile),
      assd: mean(fgSurface.assd),
    },
  };
}

function emAdapter(inputs: Record<string, unknown>): Record<string, unknown> {
  // CREMI volumes are uint64: go through the BigUint64Array path.
  const volume = (value: Nested) => {
    const { data, shape } = flatten(value);
    return { data: BigUint64Array.from(data, (v) => BigInt(v)), shape };
  };
  const s = computeInstanceScores(volume(inputs.seg as Nested), volume(inputs.gt as Nested));
  return {
    voi_split: s.voiSplit,
    voi_merge: s.voiMerge,
    voi_sum: s.voiSum,
    arand: s.arand,
    arand_precision: s.arandPrecision,
    arand_recall: s.arandRecall,
    cremi_score: s.cremiScore,
    arand_waterz: s.arandWaterz,
    rand_split_waterz: s.randSplitWaterz,
    rand_merge_waterz: s.randMergeWaterz,
    arand_skimage: s.arandSkimage,
    arand_skimage_precision: s.arandSkimagePrecision,
    arand_skimage_recall: s.arandSkimageRecall,
  };
}

const ADAPTERS: Readonly<Record<string, Adapter>> = {
  "classification_binary": binaryAdapter,
  "classification_multilabel": multilabelAdapter,
  "classification_multiclass": multiclassAdapter,
  knn: knnAdapter,
  segmentation: segmentationAdapter,
  "em_instance": emAdapter,
};

// ----------------------------------------------------------- comparison --

function show(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (value === undefined) return "undefined";
  return JSON.stringify(value)?.slice(0, 80) ?? String(value);
}

/** Compares one expected value, pushing a message per mismatch. */
function compare(
  path: string,
  expected: unknown,
  actual: unknown,
  tol: Tolerance,
  integer: boolean,
  failures: string[],
): void {
  if (expected === null) {
    if (actual !== undefined) {
      failures.push(`${path}: expected undefined (null), got ${show(actual)}`);
    }
    return;
  }
  if (typeof expected === "string") {
    const want = expected === "NaN"
      ? NaN
      : expected === "Infinity"
      ? Infinity
      : expected === "-Infinity"
      ? -Infinity
      : undefined;
    if (want === undefined) {
      failures.push(`${path}: unknown value encoding ${JSON.stringify(expected)}`);
    } else if (typeof actual !== "number" || !Object.is(actual, want)) {
      failures.push(`${path}: expected ${expected}, got ${show(actual)}`);
    }
    return;
  }
  if (typeof expected === "number") {
    if (typeof actual !== "number") {
      failures.push(`${path}: expected ${expected}, got ${show(actual)}`);
    } else if (integer) {
      if (!Number.isInteger(expected)) failures.push(`${path}: integer key holds ${expected}`);
      if (actual !== expected) {
        failures.push(`${path}: expected exactly ${expected}, got ${show(actual)}`);
      }
    } else if (!(Math.abs(actual - expected) <= tol.abs + tol.rel * Math.abs(expected))) {
      failures.push(
        `${path}: expected ${expected}, got ${show(actual)} (diff ${Math.abs(actual - expected)})`,
      );
    }
    return;
  }
  if (Array.isArray(expected)) {
    const list = actual as ArrayLike<unknown> | undefined;
    if (typeof list !== "object" || list === null || typeof list.length !== "number") {
      failures.push(`${path}: expected an array of ${expected.length}, got ${show(actual)}`);
      return;
    }
    if (list.length !== expected.length) {
      failures.push(`${path}: expected ${expected.length} values, got ${list.length}`);
      return;
    }
    expected.forEach((e, i) => compare(`${path}[${i}]`, e, list[i], tol, integer, failures));
    return;
  }
  if (typeof expected === "object") {
    if (typeof actual !== "object" || actual === null) {
      failures.push(`${path}: expected an object, got ${show(actual)}`);
      return;
    }
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      const sub = path ? `${path}.${key}` : key;
      if (!(key in actual)) {
        if (!SKIPPED_KEYS.has(key)) failures.push(`${sub}: not computed by any adapter`);
        continue;
      }
      compare(
        sub,
        value,
        (actual as Record<string, unknown>)[key],
        tol,
        integer || INTEGER_KEYS.has(key),
        failures,
      );
    }
    return;
  }
  failures.push(`${path}: unexpected expected value ${show(expected)}`);
}

// ---------------------------------------------------------------- tests --

function listVectorFiles(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(FOLDER)) {
    if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
  }
  return names.sort();
}

const FILES = listVectorFiles();

Deno.test(`metric vectors: ${FOLDER.pathname} holds vector files with cases`, () => {
  assert.ok(FILES.length > 0, `no *.json vector file in ${FOLDER.pathname}`);
});

for (const name of FILES) {
  const file = JSON.parse(Deno.readTextFileSync(new URL(name, FOLDER))) as VectorFile;
  const adapter = ADAPTERS[file.family];
  Deno.test(`metric vectors: ${name} has a known family and cases`, () => {
    assert.ok(
      adapter,
      `${name}: no adapter for family ${JSON.stringify(file.family)}; known families are ${
        Object.keys(ADAPTERS).join(", ")
      }`,
    );
    assert.equal(file["format_version"], 1, `${name}: unsupported format_version`);
    assert.ok(Array.isArray(file.cases) && file.cases.length > 0, `${name}: no cases`);
  });
  if (!adapter || !Array.isArray(file.cases)) continue;
  for (const vector of file.cases) {
    Deno.test(`metric vectors: ${name} ${vector.name}`, () => {
      assert.ok(
        typeof vector.tolerance?.abs === "number" && typeof vector.tolerance?.rel === "number",
        `${name} ${vector.name}: tolerance { abs, rel } missing`,
      );
      assert.ok(
        Object.keys(vector.expected).length > 0,
        `${name} ${vector.name}: nothing expected`,
      );
      const actual = adapter(vector.inputs);
      const failures: string[] = [];
      compare("", vector.expected, actual, vector.tolerance, false, failures);
      assert.deepEqual(failures, [], `${name} ${vector.name}:\n  ${failures.join("\n  ")}`);
    });
  }
}

Deno.test("metric vectors: the comparison rejects wrong values", () => {
  const tol = { abs: 1e-9, rel: 1e-9 };
  const check = (expected: unknown, actual: unknown, integer = false): string[] => {
    const failures: string[] = [];
    compare("x", expected, actual, tol, integer, failures);
    return failures;
  };
  assert.deepEqual(check(0.5, 0.5 + 1e-10), []);
  assert.equal(check(0.5, 0.5 + 1e-8).length, 1);
  assert.equal(check("NaN", 0).length, 1);
  assert.equal(check("Infinity", NaN).length, 1);
  assert.equal(check(null, NaN).length, 1);
  assert.equal(check(null, 0).length, 1);
  assert.deepEqual(check(null, undefined), []);
  assert.equal(check(1, NaN).length, 1);
  assert.equal(check([1, 2], [1]).length, 1);
  assert.equal(check([3], [3 + 1e-12], true).length, 1);
  assert.equal(check({ a: 1 }, {}).length, 1);
});

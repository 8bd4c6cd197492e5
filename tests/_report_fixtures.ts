/**
 * Shared fixtures of the report suites (tests/report_test.ts and
 * tests/report_slow_test.ts): realistic result records (an NIH-14 sweep of
 * 3 encoders × 2 resolutions with a linear probe, an MSD spleen
 * segmentation with a lower-is-better HD95 and a 2-fold row) and a strict
 * little XML parser to read the SVG figures.
 *
 * @module
 */

import { formatResultRecord, RESULT_SCHEMA, type ResultRecord } from "../core/result.ts";

// ------------------------------------------------------------- fixtures --

export const NIH_LABELS = [
  "Atelectasis",
  "Cardiomegaly",
  "Effusion",
  "Infiltration",
  "Mass",
  "Nodule",
  "Pneumonia",
  "Pneumothorax",
  "Consolidation",
  "Edema",
  "Emphysema",
  "Fibrosis",
  "Pleural_Thickening",
  "Hernia",
];

export type Triple = [value: number, low: number, high: number];

export interface RecordSpec {
  dataset: string;
  task: string;
  labels: string[];
  encoder: string;
  resolution: number;
  head: string;
  macro: Record<string, Triple>;
  fold?: { index: number; count: number };
  pretrained?: boolean;
  /** Master seed (0 when absent). */
  seed?: number;
  /** Further protocol settings (channels, runFolds, epochs...). */
  protocol?: Record<string, unknown>;
  /** The record's own std per metric (a k-fold record). */
  std?: Record<string, number>;
}

/** A result record as the runner writes it, with per-label values spread around the macro ones. */
export function makeRecord(spec: RecordSpec): ResultRecord {
  const macro = Object.fromEntries(
    Object.entries(spec.macro).map(([m, [value, low, high]]) => [m, {
      value,
      ci: { low, high, level: 0.95, samples: 1000 },
      validCount: spec.labels.length,
      ...(spec.std?.[m] !== undefined ? { std: spec.std[m] } : {}),
    }]),
  );
  const n = spec.labels.length;
  const perLabel = Object.fromEntries(spec.labels.map((label, i) => [
    label,
    Object.fromEntries(
      Object.entries(spec.macro).map((
        [m, [v]],
      ) => [m, n === 1 ? v : v + 0.06 * ((i / (n - 1)) - 0.5)]),
    ),
  ]));
  const isCt = spec.dataset.startsWith("ct/");
  const dims: Record<string, number> = {
    "dinov3-vits16": 384,
    "dinov3-vitb16": 768,
    biomedclip: 768,
  };
  return {
    schema: RESULT_SCHEMA,
    medprobeVersion: "0.1.0",
    createdAt: "2025-06-01T12:00:00.000Z",
    dataset: spec.dataset,
    task: spec.task,
    labels: spec.labels,
    protocol: {
      trainSplit: isCt ? "train" : "train_val",
      testSplit: isCt ? "valid" : "test",
      resolution: spec.resolution,
      feature: "cls",
      seed: spec.seed ?? 0,
      ...(spec.fold ? { fold: spec.fold } : {}),
      ...spec.protocol,
    },
    encoder: {
      id: spec.encoder,
      backend: spec.encoder === "biomedclip" ? "onnx-node" : "webgpu",
      backendReason: spec.encoder === "biomedclip" ? "ONNX model" : "hardware adapter",
      weightsSha256: spec.encoder === "biomedclip" ? "a1".repeat(32) : "5e".repeat(32),
      pretrained: spec.pretrained ?? true,
      embedDim: dims[spec.encoder] ?? 384,
      patchSize: 16,
    },
    adapter: isCt
      ? { name: "slice-stack", settings: { window: [-160, 240] } }
      : { name: "image2d", settings: { channels: 3, normalize: "imagenet" } },
    head: {
      name: spec.head,
      hyperparameters: spec.head === "linear"
        ? { lr: 0.005, batchSize: 1024, epochs: 50, loss: "bce" }
        : { lr: 1e-4, optimizer: "adamw", loss: "dice+ce" },
    },
    data: {
      root: isCt ? "/data/msd/Task09_Spleen" : "/data/nih14",
      counts: isCt ? { train: 32, valid: 9 } : { train_val: 86524, test: 25596 },
      failed: isCt
        ? []
        : [{ id: "00000013_005.png", stage: "load", reason: "corrupt PNG: bad CRC" }],
      cache: "/cache",
      cacheHits: 0,
    },
    timings: {
      extract: { seconds: 100, items: isCt ? 4100 : 112120, unit: isCt ? "slices" : "images" },
      fit: { seconds: 12.5, items: 50, unit: "epochs", perSecond: 4 },
    },
    metrics: { macro, perLabel },
  };
}

/** NIH-14 macro metrics [value, CI low, CI high] per encoder and resolution (AUC, ACC, precision, recall). */
export const NIH: [string, number, Triple, Triple, Triple, Triple][] = [
  [
    "biomedclip",
    224,
    [0.7771, 0.7692, 0.7849],
    [0.4820, 0.4751, 0.4893],
    [0.5454, 0.5371, 0.5532],
    [0.5643, 0.5561, 0.5722],
  ],
  [
    "biomedclip",
    512,
    [0.7702, 0.7621, 0.7783],
    [0.4711, 0.4642, 0.4780],
    [0.5302, 0.5221, 0.5383],
    [0.5581, 0.5502, 0.5662],
  ],
  ["dinov3-vits16", 224, [0.7788, 0.7702, 0.7871], [0.4838, 0.4767, 0.4911], [
    0.5419,
    0.5338,
    0.5498,
  ], [0.5791, 0.5712, 0.5873]],
  ["dinov3-vits16", 512, [0.7812, 0.7731, 0.7893], [0.4792, 0.4721, 0.4863], [
    0.5433,
    0.5352,
    0.5514,
  ], [0.5768, 0.5687, 0.5849]],
  ["dinov3-vitb16", 224, [0.7833, 0.7752, 0.7914], [0.4823, 0.4752, 0.4894], [
    0.5446,
    0.5367,
    0.5527,
  ], [0.5753, 0.5672, 0.5834]],
  ["dinov3-vitb16", 512, [0.7866, 0.7784, 0.7946], [0.4674, 0.4603, 0.4744], [
    0.5356,
    0.5274,
    0.5436,
  ], [0.5779, 0.5698, 0.5861]],
];

/** MSD spleen [encoder, resolution, fold, Dice, HD95 in mm]. */
export const SPLEEN: [string, number, number | null, Triple, Triple][] = [
  ["dinov3-vits16", 224, 0, [0.9012, 0.8811, 0.9203], [6.214, 4.902, 7.733]],
  ["dinov3-vits16", 224, 1, [0.8874, 0.8650, 0.9071], [7.018, 5.447, 8.612]],
  ["dinov3-vits16", 512, null, [0.9121, 0.8934, 0.9288], [5.402, 4.116, 6.871]],
  ["dinov3-vitb16", 224, null, [0.9077, 0.8872, 0.9251], [5.873, 4.551, 7.302]],
  ["dinov3-vitb16", 512, null, [0.9188, 0.9013, 0.9342], [4.987, 3.812, 6.254]],
];

/** Writes the sweep as run folders (and one bare record file); returns the inputs to pass. */
export async function writeSweep(root: string): Promise<string[]> {
  for (const [encoder, resolution, auc, accuracy, precision, recall] of NIH) {
    const dir = `${root}/sweep/nih14/${encoder}_${resolution}`;
    await Deno.mkdir(dir, { recursive: true });
    const record = makeRecord({
      dataset: "xray/nih14",
      task: "multilabel",
      labels: NIH_LABELS,
      encoder,
      resolution,
      head: "linear",
      macro: { auc, accuracy, precision, recall },
    });
    await Deno.writeTextFile(`${dir}/result.json`, formatResultRecord(record));
    await Deno.writeTextFile(`${dir}/predictions.json`, "[]"); // not a record: ignored
  }
  // A folder-level file that is not a valid record is skipped, not fatal.
  await Deno.mkdir(`${root}/sweep/nih14/broken`, { recursive: true });
  await Deno.writeTextFile(`${root}/sweep/nih14/broken/result.json`, '{"schema": "other"}');
  for (const [encoder, resolution, fold, dice, hd95] of SPLEEN) {
    const record = makeRecord({
      dataset: "ct/msd-spleen",
      task: "segmentation",
      labels: ["spleen"],
      encoder,
      resolution,
      head: "decoder3d",
      macro: { dice, hd95 },
      ...(fold === null ? {} : { fold: { index: fold, count: 2 } }),
    });
    const dir = `${root}/spleen/${encoder}_${resolution}${fold === null ? "" : `/fold${fold}`}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/result.json`, formatResultRecord(record));
  }
  // One record passed as a file path, under another name.
  await Deno.rename(`${root}/spleen/dinov3-vitb16_512/result.json`, `${root}/spleen_b_512.json`);
  return [`${root}/sweep`, `${root}/spleen`, `${root}/spleen_b_512.json`];
}

// ------------------------------------------------------------ XML check --

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict little XML well-formedness parser (Deno has no DOMParser):
 * balanced tags, quoted and unique attributes, known entities only, one
 * root. Throws on anything else.
 */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<!DOCTYPE[^>]*>|<\/?[^>]*>|[^<]+/gy;
  const checkText = (t: string, where: string): void => {
    const bad = t.match(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
    if (bad) {
      throw new SyntaxError(`bad entity in ${where}: ${t.slice(bad.index!, bad.index! + 12)}`);
    }
    if (t.includes("<")) throw new SyntaxError(`"<" in ${where}`);
  };
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length) {
    token.lastIndex = pos;
    m = token.exec(text);
    if (!m) throw new SyntaxError(`cannot tokenize at ${pos}: ${text.slice(pos, pos + 30)}`);
    pos = token.lastIndex;
    const t = m[0];
    if (
      t.startsWith("<!--") || t.startsWith("<?") || t.startsWith("<![CDATA[") ||
      t.startsWith("<!DOCTYPE")
    ) {
      continue;
    }
    if (t.startsWith("</")) {
      const name = t.slice(2, -1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new SyntaxError(`</${name}> closes <${open?.name}>`);
      continue;
    }
    if (t.startsWith("<")) {
      const selfClosing = t.endsWith("/>");
      const body = t.slice(1, selfClosing ? -2 : -1);
      const nm = body.match(/^([A-Za-z_][\w.:-]*)/);
      if (!nm) throw new SyntaxError(`bad tag ${t.slice(0, 30)}`);
      const attrs: Record<string, string> = {};
      let rest = body.slice(nm[1].length);
      const attr = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/;
      let a: RegExpMatchArray | null;
      while ((a = rest.match(attr))) {
        if (a[1] in attrs) throw new SyntaxError(`duplicate attribute ${a[1]} in <${nm[1]}>`);
        const value = a[3] ?? a[4];
        checkText(value, `attribute ${a[1]}`);
        attrs[a[1]] = value;
        rest = rest.slice(a[0].length);
      }
      if (rest.trim() !== "") {
        throw new SyntaxError(`bad attributes in <${nm[1]}: ${rest.slice(0, 30)}`);
      }
      const el: XmlElement = { name: nm[1], attrs, children: [], text: "" };
      stack[stack.length - 1].children.push(el);
      if (stack.length === 1 && root.children.length > 1) {
        throw new SyntaxError("more than one root");
      }
      if (!selfClosing) stack.push(el);
      continue;
    }
    if (stack.length === 1 && t.trim() !== "") throw new SyntaxError("text outside the root");
    checkText(t, "text");
    stack[stack.length - 1].text += t;
  }
  if (stack.length !== 1) throw new SyntaxError(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new SyntaxError("no root element");
  return root.children[0];
}

export function findAll(
  el: XmlElement,
  pred: (e: XmlElement) => boolean,
  out: XmlElement[] = [],
): XmlElement[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) findAll(c, pred, out);
  return out;
}

/** The line paths of the per-encoder series (Vega marks named "series"), with their stroke colours. */
export function seriesLines(svg: XmlElement): { stroke: string; d: string }[] {
  const groups = findAll(svg, (e) => {
    const cls = (e.attrs.class ?? "").split(/\s+/);
    return e.name === "g" && cls.includes("mark-line") &&
      (cls.includes("series") || cls.includes("series_marks"));
  });
  return groups.flatMap((g) => g.children.filter((c) => c.name === "path"))
    .map((p) => ({ stroke: p.attrs.stroke, d: p.attrs.d }));
}

/** The text content of every `<text>` element. */
export function textsOf(svg: XmlElement): string[] {
  return findAll(svg, (e) => e.name === "text").map((e) => e.text);
}

export async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

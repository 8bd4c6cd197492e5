/**
 * `medprobe report` end to end: realistic result records on disk (a sweep of
 * 3 encoders × 2 resolutions on NIH-14 with a linear probe, 2 encoders × 2
 * resolutions on an MSD spleen segmentation with a lower-is-better HD95 and
 * a 2-fold row) → writeReport → exact Markdown/CSV content, well-formed
 * SVGs with one line per encoder, a self-contained HTML page, and that page
 * opened in headless Chromium (screenshot, no console errors).
 *
 * Chromium runs when /usr/bin/chromium exists, and must exist when
 * MEDPROBE_REQUIRE_CHROMIUM=1. MEDPROBE_REPORT_KEEP=DIR keeps the page, its
 * figures and the screenshot there.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { decode as decodePng } from "fast-png";
import { formatResultRecord, RESULT_SCHEMA, type ResultRecord } from "../core/result.ts";
import { writeReport } from "../plugins/report/mod.ts";
import { CHROMIUM_PATH, ChromiumSession, readPngSize } from "../plugins/report/_testing.ts";
import { registerReportCommand } from "../cli/report.ts";

// ------------------------------------------------------------- fixtures --

const NIH_LABELS = [
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

type Triple = [value: number, low: number, high: number];

interface RecordSpec {
  dataset: string;
  task: string;
  labels: string[];
  encoder: string;
  resolution: number;
  head: string;
  macro: Record<string, Triple>;
  fold?: { index: number; count: number };
  pretrained?: boolean;
}

/** A result record as the runner writes it, with per-label values spread around the macro ones. */
function makeRecord(spec: RecordSpec): ResultRecord {
  const macro = Object.fromEntries(
    Object.entries(spec.macro).map(([m, [value, low, high]]) => [m, {
      value,
      ci: { low, high, level: 0.95, samples: 1000 },
      validCount: spec.labels.length,
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
      seed: 0,
      ...(spec.fold ? { fold: spec.fold } : {}),
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
const NIH: [string, number, Triple, Triple, Triple, Triple][] = [
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
const SPLEEN: [string, number, number | null, Triple, Triple][] = [
  ["dinov3-vits16", 224, 0, [0.9012, 0.8811, 0.9203], [6.214, 4.902, 7.733]],
  ["dinov3-vits16", 224, 1, [0.8874, 0.8650, 0.9071], [7.018, 5.447, 8.612]],
  ["dinov3-vits16", 512, null, [0.9121, 0.8934, 0.9288], [5.402, 4.116, 6.871]],
  ["dinov3-vitb16", 224, null, [0.9077, 0.8872, 0.9251], [5.873, 4.551, 7.302]],
  ["dinov3-vitb16", 512, null, [0.9188, 0.9013, 0.9342], [4.987, 3.812, 6.254]],
];

/** Writes the sweep as run folders (and one bare record file); returns the inputs to pass. */
async function writeSweep(root: string): Promise<string[]> {
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

interface XmlElement {
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
function parseXml(text: string): XmlElement {
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

function findAll(
  el: XmlElement,
  pred: (e: XmlElement) => boolean,
  out: XmlElement[] = [],
): XmlElement[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) findAll(c, pred, out);
  return out;
}

/** The line paths of the per-encoder series (Vega marks named "series"), with their stroke colours. */
function seriesLines(svg: XmlElement): { stroke: string; d: string }[] {
  const groups = findAll(svg, (e) => {
    const cls = (e.attrs.class ?? "").split(/\s+/);
    return e.name === "g" && cls.includes("mark-line") &&
      (cls.includes("series") || cls.includes("series_marks"));
  });
  return groups.flatMap((g) => g.children.filter((c) => c.name === "path"))
    .map((p) => ({ stroke: p.attrs.stroke, d: p.attrs.d }));
}

/** The text content of every `<text>` element. */
function textsOf(svg: XmlElement): string[] {
  return findAll(svg, (e) => e.name === "text").map((e) => e.text);
}

async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

// ---------------------------------------------------------------- tests --

const EXPECTED_NIH_TABLE = [
  "| Encoder | Resolution | AUC | ACC | Precision | Recall |",
  "| --- | --- | ---: | ---: | ---: | ---: |",
  "| biomedclip | 224 | 0.777 [0.769, 0.785] | 0.482 [0.475, 0.489] | **0.545 [0.537, 0.553]** | 0.564 [0.556, 0.572] |",
  "| biomedclip | 512 | 0.770 [0.762, 0.778] | 0.471 [0.464, 0.478] | 0.530 [0.522, 0.538] | 0.558 [0.550, 0.566] |",
  "| DINOv3-S | 224 | 0.779 [0.770, 0.787] | **0.484 [0.477, 0.491]** | 0.542 [0.534, 0.550] | **0.579 [0.571, 0.587]** |",
  "| DINOv3-S | 512 | 0.781 [0.773, 0.789] | 0.479 [0.472, 0.486] | 0.543 [0.535, 0.551] | 0.577 [0.569, 0.585] |",
  "| DINOv3-B | 224 | 0.783 [0.775, 0.791] | 0.482 [0.475, 0.489] | 0.545 [0.537, 0.553] | 0.575 [0.567, 0.583] |",
  "| DINOv3-B | 512 | **0.787 [0.778, 0.795]** | 0.467 [0.460, 0.474] | 0.536 [0.527, 0.544] | 0.578 [0.570, 0.586] |",
].join("\n");

const EXPECTED_SPLEEN_TABLE = [
  "| Encoder | Resolution | Dice | HD95 ↓ |",
  "| --- | --- | ---: | ---: |",
  "| DINOv3-S | 224 | 0.894 ± 0.010 (n=2) | 6.616 ± 0.569 (n=2) |",
  "| DINOv3-S | 512 | 0.912 [0.893, 0.929] | 5.402 [4.116, 6.871] |",
  "| DINOv3-B | 224 | 0.908 [0.887, 0.925] | 5.873 [4.551, 7.302] |",
  "| DINOv3-B | 512 | **0.919 [0.901, 0.934]** | **4.987 [3.812, 6.254]** |",
].join("\n");

const EXPECTED_NIH_CSV = [
  "dataset,task,head,encoder,encoder_id,pretrained,resolution,input,feature,setting,runs," +
  "auc,auc_ci_low,auc_ci_high,auc_std,accuracy,accuracy_ci_low,accuracy_ci_high,accuracy_std," +
  "precision,precision_ci_low,precision_ci_high,precision_std,recall,recall_ci_low,recall_ci_high,recall_std",
  ...NIH.map(([enc, res, ...ms]) =>
    [
      "xray/nih14,multilabel,linear",
      { biomedclip: "biomedclip", "dinov3-vits16": "DINOv3-S", "dinov3-vitb16": "DINOv3-B" }[enc],
      enc,
      "true",
      res,
      "",
      "cls",
      "",
      "1",
      ...ms.map(([v, lo, hi]) => `${v},${lo},${hi},`),
    ].join(",")
  ),
].join("\n") + "\n";

Deno.test("writeReport() writes the report's tables, figures and page for a sweep", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    const inputs = await writeSweep(root);
    const out = `${root}/report`;
    // The same run reached twice (folder and file) counts once.
    const result = await writeReport([
      ...inputs,
      `${root}/sweep/nih14/dinov3-vits16_224/result.json`,
    ], out);
    assert.equal(result.records, 6 + 5);
    assert.deepEqual(result.skipped.map((s) => s.path), [`${root}/sweep/nih14/broken/result.json`]);
    assert.match(result.skipped[0].reason, /field "medprobeVersion"|field "schema"/);
    assert.deepEqual(result.files.map((f) => f.slice(out.length + 1)), [
      "plots/radar__xray__xray_nih14__linear__auc.png",
      "plots/radar__xray__xray_nih14__linear__auc.svg",
      "plots/resolution__ct_msd-spleen__decoder3d__dice.png",
      "plots/resolution__ct_msd-spleen__decoder3d__dice.svg",
      "plots/resolution__xray_nih14__linear__auc.png",
      "plots/resolution__xray_nih14__linear__auc.svg",
      "report.html",
      "report.md",
      "results.csv",
      "runs.csv",
      "tables.tex",
      "tables/ct_msd-spleen__decoder3d.csv",
      "tables/ct_msd-spleen__decoder3d.tex",
      "tables/xray_nih14__linear.csv",
      "tables/xray_nih14__linear.tex",
    ]);

    // --- Markdown: tables exactly, in dataset order, figures linked, notes present.
    const md = await Deno.readTextFile(`${out}/report.md`);
    assert.ok(md.includes(EXPECTED_NIH_TABLE), `NIH table differs:\n${md}`);
    assert.ok(md.includes(EXPECTED_SPLEEN_TABLE), `spleen table differs:\n${md}`);
    assert.ok(md.indexOf("## ct/msd-spleen · decoder3d") < md.indexOf("## xray/nih14 · linear"));
    assert.match(
      md,
      /^11 result records: 2 datasets, 3 encoders, 2 tables\. medprobe 0\.1\.0\.$/m,
    );
    assert.match(md, /Task multilabel, 14 labels, 6 runs\./);
    assert.match(md, /Task segmentation, 1 label, 5 runs\./);
    // No metric asked for: each figure shows its table's primary metric, without a note.
    assert.doesNotMatch(md, /No AUC in this table/);
    assert.match(
      md,
      /!\[AUC vs input resolution — xray\/nih14 · linear\]\(plots\/resolution__xray_nih14__linear__auc\.svg\)/,
    );
    assert.match(
      md,
      /!\[xray: AUC per label\]\(plots\/radar__xray__xray_nih14__linear__auc\.svg\)/,
    );
    assert.match(md, /No radar for ct: fewer than 3 axes/);
    assert.match(md, /## Skipped inputs\n\n- `[^`]*broken\/result\.json`: /);
    assert.doesNotMatch(md, /Random weights/);
    // Runs: one line per record, failures counted.
    const runsPart = md.slice(md.indexOf("## Runs"));
    assert.ok(runsPart.includes(`Record paths are relative to \`${root}\`.`));
    const runLines = runsPart.split("\n").filter((l) => /^\| (sweep|spleen)/.test(l));
    assert.equal(runLines.length, 11);
    assert.ok(
      runLines.some((l) =>
        l.includes(
          "| xray/nih14 | linear | DINOv3-B | 512 | cls | 0 | – | train_val 86524, test 25596 | 1 | webgpu | 5e5e5e5e5e5e | 1121.2 |",
        )
      ),
    );
    assert.ok(
      runLines.some((l) =>
        l.includes(
          "| ct/msd-spleen | decoder3d | DINOv3-S | 224 | cls | 0 | 1/2 | train 32, valid 9 | 0 |",
        )
      ),
    );

    // --- CSV: the NIH table exactly; the spleen rows with full-precision aggregates.
    assert.equal(await Deno.readTextFile(`${out}/tables/xray_nih14__linear.csv`), EXPECTED_NIH_CSV);
    const all = (await Deno.readTextFile(`${out}/results.csv`)).trimEnd().split("\n").map((l) =>
      l.split(",")
    );
    const header = all[0];
    // With Dice among the columns, the segmentation order (the report's Table 10) leads.
    assert.deepEqual(header.slice(11).filter((_, i) => i % 4 === 0), [
      "dice",
      "hd95",
      "precision",
      "recall",
      "auc",
      "accuracy",
    ]);
    assert.equal(all.length, 1 + 4 + 6);
    const col = (row: string[], name: string): string => row[header.indexOf(name)];
    const s224 = all[1];
    assert.deepEqual(s224.slice(0, 11), [
      "ct/msd-spleen",
      "segmentation",
      "decoder3d",
      "DINOv3-S",
      "dinov3-vits16",
      "true",
      "224",
      "",
      "cls",
      "",
      "2",
    ]);
    assert.ok(Math.abs(Number(col(s224, "dice")) - 0.8943) < 1e-12);
    assert.ok(Math.abs(Number(col(s224, "dice_std")) - 0.0138 / Math.SQRT2) < 1e-12);
    assert.ok(Math.abs(Number(col(s224, "hd95")) - 6.616) < 1e-12);
    assert.equal(col(s224, "dice_ci_low"), "");
    assert.equal(col(s224, "auc"), "");
    assert.equal(col(all[4], "hd95_ci_high"), "6.254");
    assert.equal((await Deno.readTextFile(`${out}/runs.csv`)).trimEnd().split("\n").length, 12);

    // --- SVG figures: well-formed, one line per encoder, in the shared colours.
    const nihSvg = parseXml(
      await Deno.readTextFile(`${out}/plots/resolution__xray_nih14__linear__auc.svg`),
    );
    assert.equal(nihSvg.name, "svg");
    const nihLines = seriesLines(nihSvg);
    assert.equal(nihLines.length, 3);
    assert.deepEqual(nihLines.map((l) => l.stroke).sort(), ["#4c78a8", "#e45756", "#f58518"]);
    for (const l of nihLines) {
      assert.equal(l.d.split("L").length, 2, `two resolutions per line: ${l.d}`);
    }
    // 6 CI bars (all rows have a CI), drawn as rules.
    const rules = findAll(
      nihSvg,
      (e) => e.name === "g" && (e.attrs.class ?? "").includes("ci_marks"),
    );
    assert.equal(rules.flatMap((g) => g.children.filter((c) => c.name === "line")).length, 6);
    const nihTexts = textsOf(nihSvg);
    for (
      const text of [
        "AUC vs input resolution",
        "xray/nih14 · linear",
        "Input resolution (px)",
        "224",
        "512",
        "biomedclip",
        "DINOv3-S",
        "DINOv3-B",
      ]
    ) {
      assert.ok(nihTexts.includes(text), `${text} in ${JSON.stringify(nihTexts)}`);
    }

    const ctSvg = parseXml(
      await Deno.readTextFile(`${out}/plots/resolution__ct_msd-spleen__decoder3d__dice.svg`),
    );
    const ctLines = seriesLines(ctSvg);
    assert.equal(ctLines.length, 2);
    // Same encoder, same colour in every figure: S is the 2nd encoder, B the 3rd.
    assert.deepEqual(ctLines.map((l) => l.stroke).sort(), ["#e45756", "#f58518"]);

    const radarSvg = parseXml(
      await Deno.readTextFile(`${out}/plots/radar__xray__xray_nih14__linear__auc.svg`),
    );
    const radarLines = seriesLines(radarSvg);
    assert.equal(radarLines.length, 3);
    for (const l of radarLines) {
      assert.equal(l.d.split("L").length, 14, "one vertex per label");
      assert.ok(l.d.endsWith("Z"), "closed polygon");
    }
    const radarTexts = textsOf(radarSvg);
    for (const label of NIH_LABELS) assert.ok(radarTexts.includes(label), label);

    // --- HTML: self-contained, every figure inline, tables present.
    const html = await Deno.readTextFile(`${out}/report.html`);
    assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /<script|<link|@import|url\(\s*["']?https?:/i);
    assert.equal(html.match(/<svg\b/g)?.length, 3);
    assert.ok(html.includes('<td class="num best">0.787 [0.778, 0.795]</td>'));
    assert.ok(html.includes("<th>HD95 ↓</th>"));
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, "ids are unique across inline SVGs");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeReport() warns about random weights and rejects empty inputs", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    const rec = (encoder: string, pretrained: boolean, resolution: number): ResultRecord =>
      makeRecord({
        dataset: "xray/rsna",
        task: "binary",
        labels: ["Pneumonia"],
        encoder,
        resolution,
        head: "knn",
        macro: { auc: [0.61, 0.58, 0.64] },
        pretrained,
      });
    await writeReport(
      [rec("dinov3-vits16", false, 224), rec("dinov3-vits16", true, 224)],
      `${root}/a`,
    );
    const md = await Deno.readTextFile(`${root}/a/report.md`);
    assert.match(
      md,
      /> \*\*Random weights\.\*\* 1 of 2 records used encoder weights that are not pretrained/,
    );
    assert.match(
      md,
      /\| DINOv3-S \| 224 \| 0\.610 \[0\.580, 0\.640\] \|\n\| DINOv3-S \(random init\) \| 224 \|/,
    );
    assert.match(md, /No radar for xray: fewer than 3 axes/);
    assert.match(md, /AUC is known at fewer than two input resolutions: no resolution figure\./);
    await Deno.mkdir(`${root}/empty`);
    await assert.rejects(
      writeReport([`${root}/empty`], `${root}/b`),
      /no valid result record was found/,
    );
    await assert.rejects(writeReport([`${root}/missing`], `${root}/b`), Deno.errors.NotFound);
    await Deno.writeTextFile(`${root}/bad.json`, "{}");
    await assert.rejects(
      writeReport([`${root}/bad.json`], `${root}/b`),
      /bad\.json.*field "schema"/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeReport() draws a family radar over datasets, outward = better for VOI", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    // EM: three CREMI volumes, lower-is-better metrics only (no AUC: the radar shows ARAND,
    // the EM primary metric present).
    const records = ["a", "b", "c"].flatMap((v, i) =>
      (["dinov3-vits16", "dinov3-vitl16"] as const).map((encoder) =>
        makeRecord({
          dataset: `em/cremi-${v}`,
          task: "instance-segmentation",
          labels: ["neurons"],
          encoder,
          resolution: 224,
          head: "affinity3d",
          macro: encoder === "dinov3-vits16"
            ? { "voi-split": [1.9 + 0.1 * i, 1.7, 2.3], arand: [0.41, 0.37, 0.45] }
            : { "voi-split": [1.2 + 0.1 * i, 1.0, 1.5], arand: [0.33, 0.30, 0.36] },
        })
      )
    );
    const { files } = await writeReport(records, root);
    const radarFile = `${root}/plots/radar__em__arand.svg`;
    assert.ok(files.includes(radarFile), files.join("\n"));
    const md = await Deno.readTextFile(`${root}/report.md`);
    assert.match(
      md,
      /\*em: ARAND per dataset: each encoder at its lowest-ARAND resolution per dataset; outward is better \(axis reversed: lower is better\)\.\*/,
    );
    assert.match(md, /\| Encoder \| Resolution \| VOI split ↓ \| ARAND ↓ \|\n/);
    assert.match(
      md,
      /\| DINOv3-L \| 224 \| \*\*1\.200 \[1\.000, 1\.500\]\*\* \| \*\*0\.330 \[0\.300, 0\.360\]\*\* \|/,
    );
    const svg = parseXml(await Deno.readTextFile(radarFile));
    const texts = textsOf(svg);
    for (const axis of ["cremi-a", "cremi-b", "cremi-c"]) assert.ok(texts.includes(axis), axis);
    const lines = seriesLines(svg);
    assert.equal(lines.length, 2);
    // Mean distance of the vertices from the centre: DINOv3-L (lower VOI, better) lies outside.
    const radiusOf = (d: string): number => {
      const pts = [...d.matchAll(/[ML]\s*(-?[\d.e-]+)[ ,](-?[\d.e-]+)/g)].map((m) =>
        Math.hypot(+m[1], +m[2])
      );
      assert.equal(pts.length, 3, d);
      return pts.reduce((a, b) => a + b, 0) / pts.length;
    };
    const byColor = Object.fromEntries(lines.map((l) => [l.stroke, radiusOf(l.d)]));
    assert.ok(byColor["#f58518"] > byColor["#4c78a8"] + 20, JSON.stringify(byColor));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("medprobe report writes the report from run folders", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    const inputs = await writeSweep(root);
    const program = new Command("medprobe").exitOverride();
    registerReportCommand(program);
    await program.parseAsync(["report", ...inputs, "--out", `${root}/out`, "--metric", "hd95"], {
      from: "user",
    });
    assert.deepEqual(await listFiles(`${root}/out/plots`), [
      "radar__xray__xray_nih14__linear__auc.png",
      "radar__xray__xray_nih14__linear__auc.svg",
      "resolution__ct_msd-spleen__decoder3d__hd95.png",
      "resolution__ct_msd-spleen__decoder3d__hd95.svg",
      "resolution__xray_nih14__linear__auc.png",
      "resolution__xray_nih14__linear__auc.svg",
    ]);
    const md = await Deno.readTextFile(`${root}/out/report.md`);
    assert.match(md, /HD95 \(lower is better\) against input resolution/);
    assert.match(md, /No HD95 in this table; the figure shows AUC\./);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const requireChromium = Deno.env.get("MEDPROBE_REQUIRE_CHROMIUM") === "1";
let hasChromium = false;
try {
  hasChromium = Deno.statSync(CHROMIUM_PATH).isFile;
} catch { /* not installed */ }

Deno.test({
  name: "report.html opens in headless Chromium without console errors",
  ignore: !hasChromium && !requireChromium,
  async fn() {
    if (!hasChromium) {
      assert.fail(`MEDPROBE_REQUIRE_CHROMIUM=1 but ${CHROMIUM_PATH} does not exist`);
    }
    const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
    const browser = await ChromiumSession.launch();
    try {
      const inputs = await writeSweep(root);
      await writeReport(inputs, `${root}/report`);
      const page = await browser.checkPage(`file://${root}/report/report.html`);
      assert.deepEqual(page.errors, []);
      assert.deepEqual(page.externalRequests, []);
      const size = readPngSize(page.screenshot);
      assert.ok(size, "the screenshot is a PNG");
      assert.equal(size.width, 1200);
      assert.ok(
        size.height >= 900 && page.contentSize.height > 900,
        `page height ${page.contentSize.height}`,
      );
      // Not blank: a good share of the pixels are ink, and the figures' colours are there.
      const png = decodePng(page.screenshot);
      const ch = png.channels;
      let ink = 0;
      let blue = 0;
      for (let i = 0; i < png.data.length; i += ch) {
        const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
        if (r < 200 || g < 200 || b < 200) ink++;
        if (Math.abs(r - 0x4c) < 12 && Math.abs(g - 0x78) < 12 && Math.abs(b - 0xa8) < 12) blue++;
      }
      const pixels = png.data.length / ch;
      assert.ok(ink / pixels > 0.01, `ink share ${(ink / pixels).toFixed(4)}`);
      assert.ok(blue > 50, `pixels in the first encoder's colour: ${blue}`);
      const keep = Deno.env.get("MEDPROBE_REPORT_KEEP");
      if (keep) {
        await Deno.mkdir(`${keep}/plots`, { recursive: true });
        for (
          const f of [
            "report.html",
            "report.md",
            ...(await listFiles(`${root}/report/plots`)).map((f) => `plots/${f}`),
          ]
        ) {
          await Deno.copyFile(`${root}/report/${f}`, `${keep}/${f}`);
        }
        await Deno.writeFile(`${keep}/screenshot.png`, page.screenshot);
      }

      // The checks can fail: a page with a console error, an exception and an
      // external image is caught, and so is an external URL slipped into the
      // report (blocked by its Content-Security-Policy).
      await Deno.writeTextFile(
        `${root}/bad.html`,
        '<!DOCTYPE html><p>bad</p><img src="http://127.0.0.1:9/x.png">' +
          '<script>console.error("deliberate error"); throw new Error("deliberate exception");</script>',
      );
      const bad = await browser.checkPage(`file://${root}/bad.html`);
      assert.ok(bad.errors.some((e) => e.includes("deliberate error")), bad.errors.join("\n"));
      assert.ok(bad.errors.some((e) => e.includes("deliberate exception")), bad.errors.join("\n"));
      assert.deepEqual(bad.externalRequests, ["http://127.0.0.1:9/x.png"]);
      const html = await Deno.readTextFile(`${root}/report/report.html`);
      await Deno.writeTextFile(
        `${root}/report/leaky.html`,
        html.replace("</h1>", '</h1><img src="https://example.invalid/x.png">'),
      );
      const leaky = await browser.checkPage(`file://${root}/report/leaky.html`);
      assert.ok(
        leaky.errors.some((e) => /Content Security Policy/i.test(e)),
        leaky.errors.join("\n"),
      );
    } finally {
      await browser.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * `medprobe report` end to end: realistic result records on disk (a sweep of
 * 3 encoders × 2 resolutions on NIH-14 with a linear probe, 2 encoders × 2
 * resolutions on an MSD spleen segmentation with a lower-is-better HD95 and
 * a 2-fold row) → writeReport → exact Markdown/CSV content, well-formed
 * SVGs with one line per encoder, a self-contained HTML page; the paper's
 * layouts (MSD tasks as columns with their mean, linear and k-NN side by
 * side, PET/CT rows by input channels, seeds as mean ± std), LaTeX and
 * 300-dpi PNG figures. The page in headless Chromium is in
 * report_slow_test.ts.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { decode as decodePng } from "fast-png";
import type { ResultRecord } from "../core/result.ts";
import { renderSvgToPng, writeReport } from "../plugins/report/mod.ts";
import { registerReportCommand } from "../cli/report.ts";
import {
  findAll,
  listFiles,
  makeRecord,
  NIH,
  NIH_LABELS,
  parseXml,
  type RecordSpec,
  seriesLines,
  textsOf,
  writeSweep,
  type XmlElement,
} from "./_report_fixtures.ts";

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
    // CREMI A/B/C side by side, as the report's Table 8, the lowest value of each column in bold.
    assert.match(md, /## CREMI · affinity3d\n/);
    assert.match(
      md,
      /\| Encoder \| Resolution \| CREMI-A VOI split ↓ \| CREMI-A ARAND ↓ \| CREMI-B VOI split ↓ \| CREMI-B ARAND ↓ \| CREMI-C VOI split ↓ \| CREMI-C ARAND ↓ \|\n/,
    );
    assert.match(
      md,
      /\| DINOv3-L \| 224 \| \*\*1\.200 \[1\.000, 1\.500\]\*\* \| \*\*0\.330 \[0\.300, 0\.360\]\*\* \| \*\*1\.300 /,
    );
    const html = await Deno.readTextFile(`${root}/report.html`);
    assert.ok(html.includes('<th colspan="2" class="group">CREMI-B</th>'));
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

/** The `translate(x,y)` of an element, as numbers. */
function translateOf(el: XmlElement): [number, number] {
  const m = (el.attrs.transform ?? "").match(/translate\(\s*(-?[\d.e-]+)[ ,]+(-?[\d.e-]+)\s*\)/);
  if (!m) throw new assert.AssertionError({ message: `no translate in ${el.attrs.transform}` });
  return [Number(m[1]), Number(m[2])];
}

Deno.test("writeReport() lays the tables out as the paper prints them", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    const seg = (dataset: string, dice: number, seed = 0, extra: Partial<RecordSpec> = {}) =>
      makeRecord({
        dataset,
        task: "segmentation",
        labels: ["fg"],
        encoder: "dinov3-vits16",
        resolution: 224,
        head: "decoder3d",
        macro: {
          precision: [dice - 0.2, dice - 0.3, dice - 0.1],
          recall: [dice - 0.1, dice - 0.2, dice],
          dice: [dice, dice - 0.02, dice + 0.02],
          hd95: [8 - 4 * dice, 5, 9],
        },
        seed,
        ...extra,
      });
    const cls = (head: string, auc: number, seed = 0) =>
      makeRecord({
        dataset: "ct/ctrate",
        task: "multilabel",
        labels: ["a", "b"],
        encoder: "dinov3-vitb16",
        resolution: 224,
        head,
        macro: { auc: [auc, auc - 0.01, auc + 0.01], accuracy: [0.7, 0.69, 0.71] },
        seed,
      });
    const records = [
      // MSD: two tasks of two modalities (MRI, CT), Task09 over two seeds (mean ± std), one single-fold record.
      seg("mri/msd-task02", 0.70),
      seg("ct/msd-task09", 0.80, 0),
      seg("ct/msd-task09", 0.90, 1),
      // CT-RATE with both heads: side by side.
      cls("linear", 0.798),
      cls("knn", 0.75),
      // HECKTOR by input channels, one fold with a std of 0 (must not print "± 0.000").
      ...["ct", "pet", "ct+pet"].map((channels, i) =>
        seg("pet/hecktor", 0.3 + 0.1 * i, 0, {
          protocol: { channels, runFolds: 1 },
          std: { dice: 0 },
        })
      ),
      seg("pet/hecktor", 0.35, 0, { resolution: 448, protocol: { channels: "ct", runFolds: 1 } }),
      // AutoPET-II (CT+PET only): printed beside HECKTOR as in Table 10.
      seg("pet/autopet", 0.45, 0, { protocol: { channels: "ct+pet", runFolds: 1 } }),
    ];
    const out = `${root}/report`;
    const result = await writeReport(records, out);
    const md = await Deno.readTextFile(`${out}/report.md`);

    // MSD: one table per metric, Dice first, tasks as columns and their mean from the columns.
    const msd = md.slice(md.indexOf("## MSD · decoder3d · Dice"));
    assert.ok(md.indexOf("## MSD · decoder3d · Dice") >= 0, md);
    assert.ok(
      md.indexOf("## MSD · decoder3d · Dice") < md.indexOf("## MSD · decoder3d · HD95"),
    );
    assert.match(msd, /\| Encoder \| Resolution \| Task02 Heart \| Task09 Spleen \| Mean \|\n/);
    const meanDice = (0.70 + (0.80 + 0.90) / 2) / 2;
    assert.match(
      msd,
      new RegExp(
        `\\| DINOv3-S \\| 224 \\| 0\\.700 \\[0\\.680, 0\\.720\\] \\| 0\\.850 ± 0\\.071 \\(n=2\\) \\| ${
          meanDice.toFixed(3).replace(".", "\\.")
        } \\|`,
      ),
    );
    assert.doesNotMatch(md, /## (ct|mri)\/msd-task0[29]/, "no per-task tables");
    // The per-task notes (and figures) come once, under the first MSD table, not under each metric's.
    assert.equal(md.split("ct/msd-task09 · decoder3d: Dice is known at fewer").length - 1, 1);
    assert.match(md, /## MSD · decoder3d · HD95\n\nHD95 \(lower is better\) per task/);

    // Linear probe and k-NN side by side (Table 5).
    assert.match(
      md,
      /## ct\/ctrate · knn vs linear\n\n.*\n\n\| Encoder \| Resolution \| k-NN AUC \| k-NN ACC \| Linear probe AUC \| Linear probe ACC \|\n/,
    );
    assert.match(
      md,
      /\| DINOv3-B \| 224 \| 0\.750 \[0\.740, 0\.760\] \| 0\.700 \[0\.690, 0\.710\] \| 0\.798 /,
    );

    // PET/CT as Table 10: AutoPET-II and HECKTOR side by side, rows keyed by input channels;
    // Dice first; HD95 best = lowest; no ± 0.000.
    const pet = md.slice(md.indexOf("## PET/CT · decoder3d"));
    assert.ok(md.includes("## PET/CT · decoder3d"), md);
    assert.doesNotMatch(md, /## pet\/(hecktor|autopet)/);
    const petMetrics = (d: string) =>
      ["Dice", "HD95 ↓", "Precision", "Recall"].map((m) => `${d} ${m}`).join(" \\| ");
    assert.match(
      pet,
      new RegExp(
        `\\| Encoder \\| Resolution \\| Input \\| ${petMetrics("AutoPET-II")} \\| ${
          petMetrics("HECKTOR 2022")
        } \\|`,
      ),
    );
    assert.match(
      pet,
      /\| DINOv3-S \| 224 \| CT \| n\/a \| n\/a \| n\/a \| n\/a \| 0\.300 \[0\.280, 0\.320\] \| 6\.800 /,
    );
    assert.match(
      pet,
      /\| DINOv3-S \| 224 \| CT\+PET \| 0\.450 \[0\.430, 0\.470\] \| [^|]+ \| [^|]+ \| [^|]+ \| \*\*0\.500 \[0\.480, 0\.520\]\*\* \| \*\*6\.000 /,
    );
    assert.match(pet, /\| DINOv3-S \| 224 \| PET \| n\/a \| n\/a \| n\/a \| n\/a \| 0\.400 /);
    assert.match(pet, /\| DINOv3-S \| 448 \| CT \| n\/a /);
    assert.doesNotMatch(md, /± 0\.000/);

    // The segmentation figures show Dice by default (not precision, the first column of old).
    assert.ok(
      result.files.includes(`${out}/plots/resolution__pet_hecktor__decoder3d__dice.svg`),
      result.files.join("\n"),
    );
    assert.ok(result.files.every((f) => !/__precision\.svg$/.test(f)), result.files.join("\n"));

    // LaTeX: booktabs, the column groups with \cmidrule, the mean column, bold best.
    const tex = await Deno.readTextFile(`${out}/tables.tex`);
    assert.match(tex, /\\usepackage\{booktabs\}/);
    assert.match(
      tex,
      /\\multicolumn\{2\}\{c\}\{k-NN\} & \\multicolumn\{2\}\{c\}\{Linear probe\} \\\\\n\\cmidrule\(lr\)\{3-4\} \\cmidrule\(lr\)\{5-6\}/,
    );
    assert.match(tex, /Encoder & Resolution & Task02 Heart & Task09 Spleen & Mean \\\\\n\\midrule/);
    assert.match(
      tex,
      /\\multicolumn\{4\}\{c\}\{AutoPET-II\} & \\multicolumn\{4\}\{c\}\{HECKTOR 2022\}/,
    );
    assert.match(tex, /CT\+PET & 0\.450 .* & \\textbf\{0\.500\}/);
    assert.match(tex, /HD95 \$\\downarrow\$/);
    assert.equal(tex.match(/\\begin\{tabular\}/g)?.length, tex.match(/\\bottomrule/g)?.length);
    // Every row of every tabular has as many cells as its column spec (unescaped & + 1), and
    // a \multicolumn header row spans exactly the metric columns.
    for (const m of tex.matchAll(/\\begin\{tabular\}\{([lr]+)\}\n([\s\S]*?)\\end\{tabular\}/g)) {
      const columns = m[1].length;
      const body = m[2].split("\n").filter((l) => l.endsWith("\\\\"));
      assert.ok(body.length >= 2, m[0]);
      for (const line of body) {
        const spans = [...line.matchAll(/\\multicolumn\{(\d+)\}/g)].map((x) => Number(x[1]));
        const cells = line.split(/(?<!\\)&/).length;
        const width = cells - spans.length + spans.reduce((a, b) => a + b, 0);
        assert.equal(width, columns, `row "${line}" of a ${m[1]} tabular`);
      }
    }
    const msdTex = await Deno.readTextFile(`${out}/tables/MSD__decoder3d__dice.tex`);
    assert.match(msdTex, /\\toprule[\s\S]*\\midrule[\s\S]*\\bottomrule/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeReport() figures: resolutions on a quantitative axis, seeds as error bars, bounded AUC, full legend, 300-dpi PNG", async () => {
  const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
  try {
    const rec = (
      encoder: string,
      resolution: number,
      seed: number,
      auc: number,
      pretrained = true,
    ) =>
      makeRecord({
        dataset: "xray/rsna",
        task: "binary",
        labels: ["Pneumonia"],
        encoder,
        resolution,
        head: "linear",
        macro: { auc: [auc, auc - 0.01, Math.min(1, auc + 0.01)] },
        seed,
        pretrained,
      });
    const records = [
      // Three seeds at 224 and 512, one run at 384: the seeds become mean ± std.
      ...[0, 1, 2].flatMap((seed) => [
        rec("dinov3-vits16", 224, seed, 0.95 + 0.01 * seed),
        rec("dinov3-vits16", 512, seed, 0.97 + 0.01 * seed),
      ]),
      rec("dinov3-vits16", 384, 0, 0.96),
      rec("dinov3-vitb16", 224, 0, 0.10, false),
      rec("dinov3-vitb16", 512, 0, 0.12, false),
    ];
    const out = `${root}/report`;
    const written = await writeReport(records, out);
    assert.deepEqual(written.warnings, []);
    const md = await Deno.readTextFile(`${out}/report.md`);
    assert.match(md, /\| DINOv3-S \| 224 \| 0\.960 ± 0\.010 \(n=3\) \|/);
    assert.match(md, /± std where a point is the mean over runs \(seeds, folds\)/);
    const file = `${out}/plots/resolution__xray_rsna__linear__auc.svg`;
    const svgText = await Deno.readTextFile(file);
    const svg = parseXml(svgText);
    // Points sit on their resolution's tick: x positions proportional to the resolution.
    const axisLabels = findAll(svg, (e) => e.name === "text" && /^(224|384|512)$/.test(e.text));
    const tickX = Object.fromEntries(axisLabels.map((e) => [e.text, translateOf(e)[0]]));
    assert.deepEqual(Object.keys(tickX).sort(), ["224", "384", "512"]);
    const ratio = (tickX["384"] - tickX["224"]) / (tickX["512"] - tickX["224"]);
    assert.ok(Math.abs(ratio - (384 - 224) / (512 - 224)) < 1e-3, `tick spacing ${ratio}`);
    const points = findAll(
      svg,
      (e) => e.name === "g" && (e.attrs.class ?? "").includes("points_marks"),
    ).flatMap((g) => g.children.filter((c) => c.name === "path")).map((p) => translateOf(p)[0]);
    assert.equal(points.length, 5);
    for (const x of points) {
      assert.ok(
        Object.values(tickX).some((t) => Math.abs(t + 0.5 - x) < 1),
        `point at x=${x} is on a tick (${JSON.stringify(tickX)})`,
      );
    }
    // Error bars: the two seed rows' bars are mean ± std, the single runs' the CI (5 bars).
    const bars = findAll(svg, (e) => e.name === "g" && (e.attrs.class ?? "").includes("ci_marks"))
      .flatMap((g) => g.children.filter((c) => c.name === "line"));
    assert.equal(bars.length, 5);
    // Bounded metric: no tick below 0 or above 1 although the CI reaches 1.
    const yTicks = findAll(svg, (e) => e.name === "text" && /^-?\d+\.\d+$/.test(e.text))
      .map((e) => Number(e.text));
    assert.ok(yTicks.length >= 3, JSON.stringify(yTicks));
    assert.ok(yTicks.every((v) => v >= 0 && v <= 1), JSON.stringify(yTicks));
    // The legend is whole: the long label is not truncated with an ellipsis.
    const texts = textsOf(svg);
    assert.ok(texts.includes("DINOv3-B (random init)"), JSON.stringify(texts));
    assert.ok(texts.every((t) => !t.includes("…")), JSON.stringify(texts));
    // PNG at 300 dpi: the SVG's size × 300/96, with ink.
    const width = Number(svg.attrs.width);
    const height = Number(svg.attrs.height);
    const png = decodePng(await Deno.readFile(file.replace(/\.svg$/, ".png")));
    assert.equal(png.width, Math.round(width * 300 / 96));
    assert.equal(png.height, Math.round(height * 300 / 96));
    let ink = 0;
    for (let i = 0; i < png.data.length; i += png.channels) if (png.data[i] < 128) ink++;
    assert.ok(ink > 1000, `dark pixels in the PNG: ${ink}`);
    // Text is drawn with a real font (the PNG of the same SVG without a font has less ink).
    const bare = await renderSvgToPng(svgText, { fonts: [] });
    assert.deepEqual(bare.fonts, []);
    const withFont = await renderSvgToPng(svgText);
    assert.equal(withFont.fonts.length, 1, "a font file was found on this machine");
    const inkOf = (bytes: Uint8Array) => {
      const p = decodePng(bytes);
      let n = 0;
      for (let i = 0; i < p.data.length; i += p.channels) if (p.data[i] < 128) n++;
      return n;
    };
    assert.ok(inkOf(withFont.png) > inkOf(bare.png) + 500, "text adds ink");
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

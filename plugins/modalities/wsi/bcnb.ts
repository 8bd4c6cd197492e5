/**
 * BCNB (Early Breast Cancer Core-Needle Biopsy WSI dataset, Xu et al. 2021)
 * read exactly as downloaded from bupt-ai-cz.github.io/BCNB:
 *
 * ```
 * BCNB/WSIs/1.jpg … 1058.jpg        one very large baseline JPEG per patient (+ 1.json annotations)
 * BCNB/patient-clinical-data.xlsx    one row per patient: Patient ID, ER, PR, HER2, Ki67, ALN status, …
 * BCNB/dataset-splitting/{train,val,test}_id.txt   the authors' split (optional)
 * ```
 *
 * The clinical sheet is read with SheetJS (`@e965/xlsx` on npm, the
 * registry mirror of SheetJS's maintained releases; no dependencies). One target per open
 * (`label`, default `"ALN"`): `ALN` status N0 → 0, N+(1-2) and N+(>2) → 1
 * (N0 vs N+); `ER`, `PR`, `HER2`, `Ki67`: Negative → 0, Positive → 1.
 * Patients whose value is missing or other are left out with the reason
 * (`excluded`). The mil task's `--label` picks the target, so all five
 * share one feature cache.
 *
 * Splits: `all` (the report's protocol: 5-fold CV at 7:1:2,
 * `eval wsi/bcnb --folds 5 --cv-ratio 7:1:2 --label ER`), and `train`, `val`,
 * `test` from `dataset-splitting/` when present. Resolution: `mpp` (open
 * option), else the JPEG's JFIF density when it is microscope-scale, else
 * the tile-bag adapter's `fallbackMpp` (recorded as assumed).
 *
 * @module
 */

import * as XLSX from "xlsx";
import type { Dataset, DatasetSpec, Sample, SynthOptions } from "../../../core/plugin.ts";
import { FormatError } from "../../../core/errors.ts";
import { formatFound, joinPath, listTopLevel, statKind } from "../../../core/_fs.ts";
import { createMulberry32 } from "../../../core/random.ts";
import { writeJpegStream } from "../../formats/jpeg_stream/mod.ts";
import { createSlideRowRenderer } from "./_synth.ts";
import { WSI_PROTOCOL, type WsiDataset } from "./camelyon.ts";

/** The BCNB targets and their column in the clinical sheet. */
export const BCNB_TARGETS: Readonly<Record<string, string>> = {
  ALN: "ALN status",
  ER: "ER",
  PR: "PR",
  HER2: "HER2",
  Ki67: "Ki67",
};

/** The files and folders BCNB is read from. */
export const BCNB_LAYOUT: readonly string[] = [
  "WSIs/<patient id>.jpg",
  "patient-clinical-data.xlsx (Patient ID, ER, PR, HER2, Ki67, ALN status)",
  "optional dataset-splitting/train_id.txt, val_id.txt, test_id.txt",
];

/** Maps a clinical value to 0/1 for a target, or undefined when it is neither. */
export function bcnbLabel(target: string, value: unknown): 0 | 1 | undefined {
  const v = String(value ?? "").trim().toLowerCase().replace(/\s+/g, "");
  if (target === "ALN") {
    if (v === "n0") return 0;
    if (v.startsWith("n+")) return 1;
    return undefined;
  }
  if (v === "positive" || v === "pos" || v === "+") return 1;
  if (v === "negative" || v === "neg" || v === "-") return 0;
  return undefined;
}

/** Reads the first sheet of an xlsx file as header → value rows (empty cells absent). */
export async function readXlsxRows(path: string): Promise<Record<string, unknown>[]> {
  let wb: XLSX.WorkBook;
  try {
    wb = XLSX.read(await Deno.readFile(path), { type: "array" });
  } catch (cause) {
    throw new FormatError("Cannot read the spreadsheet as it is not a valid .xlsx file", {
      path,
      cause,
    });
  }
  const name = wb.SheetNames[0];
  if (!name) throw new FormatError("Cannot read the spreadsheet as it has no sheet", { path });
  const rows = XLSX.utils.sheet_to_json<Record<string, unknown>>(wb.Sheets[name]);
  // Header names as written, trimmed.
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.trim(), v])));
}

/** Opens BCNB as downloaded (see the module documentation). */
export async function openBcnb(
  root: string,
  options: { label?: string; mpp?: number } = {},
): Promise<WsiDataset> {
  const target = options.label ?? "ALN";
  const column = BCNB_TARGETS[target];
  if (!column) {
    throw new TypeError(
      `Cannot open wsi/bcnb as label must be one of ${
        Object.keys(BCNB_TARGETS).join(", ")
      }: current value is "${target}"`,
    );
  }
  const sheet = joinPath(root, "patient-clinical-data.xlsx");
  const wsiDir = joinPath(root, "WSIs");
  if ((await statKind(sheet)) !== "file" || (await statKind(wsiDir)) !== "dir") {
    throw new FormatError(
      `Cannot open wsi/bcnb as WSIs/ and patient-clinical-data.xlsx must exist: found ${
        formatFound(await listTopLevel(root))
      } (expected ${BCNB_LAYOUT.join(", ")})`,
      { path: root },
    );
  }
  const rows = await readXlsxRows(sheet);
  if (rows.length > 0 && !rows.some((r) => column in r && "Patient ID" in r)) {
    throw new FormatError(
      `Cannot read wsi/bcnb labels as the sheet must have columns "Patient ID" and "${column}": current columns are ${
        Object.keys(rows[0]).join(", ")
      }`,
      { path: sheet },
    );
  }
  const all: Sample[] = [];
  const excluded: { id: string; reason: string }[] = [];
  for (const row of rows) {
    const id = String(row["Patient ID"] ?? "").trim();
    if (!id) continue;
    const label = bcnbLabel(target, row[column]);
    if (label === undefined) {
      excluded.push({ id, reason: `${column} is "${row[column] ?? ""}", neither class` });
      continue;
    }
    const path = joinPath(wsiDir, `${id}.jpg`);
    all.push({
      id,
      subject: id,
      path,
      target: Float32Array.of(label),
      load: async () => {
        if ((await statKind(path)) !== "file") {
          throw new Deno.errors.NotFound(`Cannot load slide "${id}" as ${path} does not exist`);
        }
        return { kind: "slide", path, ...(options.mpp ? { mpp: options.mpp } : {}) };
      },
    });
  }
  const splits: Record<string, Sample[]> = { all };
  const byId = new Map(all.map((s) => [s.id, s]));
  let official = false;
  for (const name of ["train", "val", "test"]) {
    const file = joinPath(root, "dataset-splitting", `${name}_id.txt`);
    if ((await statKind(file)) !== "file") continue;
    official = true;
    const ids = (await Deno.readTextFile(file)).split(/\s+/).filter(Boolean);
    splits[name] = ids.map((id) => byId.get(id)).filter((s): s is Sample => s !== undefined);
  }
  const ds: WsiDataset = {
    id: "wsi/bcnb",
    root,
    problem: "binary",
    labels: [target === "ALN" ? "ALN N+" : `${target}+`],
    splits: Object.keys(splits),
    samples(split: string): readonly Sample[] {
      const s = splits[split];
      if (!s) {
        throw new RangeError(
          `Cannot list split "${split}" of wsi/bcnb as it must be one of ${
            Object.keys(splits).join(", ")
          }`,
        );
      }
      return s;
    },
    splitInfo: {
      target,
      column,
      encoding: target === "ALN" ? "N0 → 0; N+(1-2), N+(>2) → 1" : "Negative → 0; Positive → 1",
      officialSplit: official,
      protocol: "5-fold CV at 7:1:2 (train:val:test) over split all",
      mpp: options.mpp ??
        "from the JPEG's JFIF density when microscope-scale, else the adapter's fallbackMpp",
    },
    excluded,
    targets: Object.keys(BCNB_TARGETS),
  };
  return ds;
}

/**
 * Writes a synthetic BCNB in the real layout: `WSIs/<id>.jpg` streamed
 * row by row (any size; `width`/`height`, default 2048 × 1536), the
 * clinical sheet as .xlsx, and the authors' split files. Every target is
 * positive exactly when the slide has a tumour region, so each is learnable.
 */
export async function synthesizeBcnb(
  root: string,
  options: SynthOptions & { width?: number; height?: number } = {},
): Promise<void> {
  const count = options.count ?? 10;
  const rng = createMulberry32((options.seed ?? 0) + 1058);
  await Deno.mkdir(joinPath(root, "WSIs"), { recursive: true });
  await Deno.mkdir(joinPath(root, "dataset-splitting"), { recursive: true });
  const sheet: unknown[][] = [[
    "Patient ID",
    "Age(years)",
    "Tumour Size(cm)",
    "ER",
    "PR",
    "HER2",
    "Ki67",
    "ALN status",
  ]];
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const positive = i % 2 === 0;
    const width = options.width ?? 2048, height = options.height ?? 1536;
    await writeJpegStream(joinPath(root, "WSIs", `${i}.jpg`), {
      width,
      height,
      quality: 85,
      pixelsPerCm: 2500, // 4 µm/px, so the small sections pass CLAM's area filter
      rows: createSlideRowRenderer({
        width,
        height,
        seed: Math.floor(rng() * 2 ** 31),
        tumour: positive,
      }),
    });
    const pm = positive ? "Positive" : "Negative";
    sheet.push([
      i,
      40 + Math.floor(rng() * 30),
      1 + Math.round(rng() * 30) / 10,
      pm,
      pm,
      pm,
      pm,
      positive ? (rng() < 0.5 ? "N+(1-2)" : "N+(>2)") : "N0",
    ]);
    ids.push(String(i));
  }
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(sheet), "Sheet1");
  await Deno.writeFile(
    joinPath(root, "patient-clinical-data.xlsx"),
    new Uint8Array(XLSX.write(wb, { type: "array", bookType: "xlsx" })),
  );
  const nTest = Math.max(1, Math.round(count * 0.2)), nVal = Math.max(1, Math.round(count * 0.1));
  const split = {
    test: ids.slice(0, nTest),
    val: ids.slice(nTest, nTest + nVal),
    train: ids.slice(nTest + nVal),
  };
  for (const [name, list] of Object.entries(split)) {
    await Deno.writeTextFile(
      joinPath(root, "dataset-splitting", `${name}_id.txt`),
      list.join("\n") + "\n",
    );
  }
}

/** The `bcnb` dataset of the `wsi` modality. */
export const bcnbDataset: DatasetSpec = {
  name: "bcnb",
  description:
    "BCNB breast core-needle biopsy WSIs (single large JPEGs): ALN (N0 vs N+), ER, PR, HER2, Ki67; 5-fold CV at 7:1:2",
  task: "mil",
  problem: "binary",
  layout: BCNB_LAYOUT,
  protocol: WSI_PROTOCOL,
  open: (root: string, options?: Record<string, unknown>): Promise<Dataset> =>
    openBcnb(root, options as { label?: string; mpp?: number }),
  synthesize: (root: string, options?: SynthOptions): Promise<void> =>
    synthesizeBcnb(root, options),
};

/**
 * `medprobe report RUN... --out DIR`: result records → Markdown/CSV tables,
 * SVG figures and one self-contained HTML page.
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import { writeReport } from "../plugins/report/mod.ts";
import { say, warn } from "./common.ts";

/** Options of `medprobe report`, as commander parses them. */
export interface ReportCommandOptions {
  /** Output folder. */
  out: string;
  /** Metric of the figures (each table's primary metric when absent). */
  metric?: string;
  /** PNG resolution of the figures (0: SVG only). */
  pngDpi: number;
  /** Page title. */
  title?: string;
  /** Decimals in the tables. */
  digits: number;
  /** Fail on an invalid result.json instead of skipping it. */
  strict?: boolean;
  /** Print the written files as JSON. */
  json?: boolean;
}

function parseDigits(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10) {
    throw new InvalidArgumentError(`must be an integer in [0, 10]: current value is "${value}"`);
  }
  return n;
}

function parsePngDpi(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2400) {
    throw new InvalidArgumentError(`must be an integer in [0, 2400]: current value is "${value}"`);
  }
  return n;
}

/** Registers `report` on the program. */
export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description(
      "Aggregate result records (RUN/result.json, record files, or sweep folders searched " +
        "recursively) into Markdown, LaTeX and CSV tables, SVG and PNG plots (metric vs " +
        "resolution, radar per task family) and one self-contained HTML page",
    )
    .argument("<runs...>", "run folders or result record files")
    .requiredOption("--out <dir>", "output folder")
    .option(
      "--metric <name>",
      "metric drawn in the figures (default: AUC for classification, Dice for segmentation, VOI sum for EM)",
    )
    .option(
      "--png-dpi <n>",
      "also write each figure as PNG at this resolution (0: SVG only)",
      parsePngDpi,
      300,
    )
    .option("--digits <n>", "decimals in the tables", parseDigits, 3)
    .option("--title <text>", "page title")
    .option("--strict", "fail on an invalid result.json instead of skipping it")
    .option("--json", "print what was written as JSON")
    .action(async (runs: string[], opts: ReportCommandOptions) => {
      const result = await writeReport(runs, opts.out, {
        metric: opts.metric,
        digits: opts.digits,
        title: opts.title,
        strict: opts.strict,
        pngDpi: opts.pngDpi,
      });
      for (const s of result.skipped) warn(`skipped ${s.path}: ${s.reason}`);
      for (const w of result.warnings) warn(w);
      if (opts.json) {
        say(JSON.stringify(
          {
            records: result.records,
            tables: result.tables.length,
            skipped: result.skipped,
            warnings: result.warnings,
            files: result.files,
          },
          null,
          2,
        ));
        return;
      }
      say(
        `${result.records} record${result.records === 1 ? "" : "s"} → ${result.tables.length} ` +
          `table${
            result.tables.length === 1 ? "" : "s"
          }, ${result.files.length} files in ${opts.out}`,
      );
      say(`  ${opts.out.replace(/\/+$/, "")}/report.html`);
      say(`  ${opts.out.replace(/\/+$/, "")}/report.md`);
    });
}

/**
 * Progress for long stages: a cli-progress bar with ETA on a terminal, plain
 * lines (at most one every few seconds, plus the last) when stderr is not a
 * terminal, nothing when quiet.
 *
 * @module
 */

import cliProgress from "cli-progress";
import process from "node:process";
import type { ProgressFactory, StageProgress } from "../core/plugin.ts";

export type { ProgressFactory, StageProgress };

/** Options of {@linkcode createProgress}. */
export interface ProgressOptions {
  /** Print nothing. */
  quiet?: boolean;
  /** Force line mode (default: line mode unless stderr is a terminal). */
  lines?: boolean;
  /** Seconds between lines in line mode. @default {5} */
  interval?: number;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`;
}

/** Creates a reporter factory: `progress(stage, total, unit)`. */
export function createProgress(options: ProgressOptions = {}): ProgressFactory {
  const isTty = !options.lines && Deno.stderr.isTerminal();
  const interval = (options.interval ?? 5) * 1000;
  return (stage: string, total: number, unit: string): StageProgress => {
    if (options.quiet) return { update() {}, stop() {} };
    const started = performance.now();
    if (isTty) {
      const bar = new cliProgress.SingleBar({
        format: `${
          stage.padEnd(10)
        } [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {note}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
      }, cliProgress.Presets.shades_classic);
      bar.start(total, 0, { rate: "0.0", note: "" });
      return {
        update(done: number, note?: string) {
          const s = (performance.now() - started) / 1000;
          bar.update(done, { rate: (done / Math.max(s, 1e-9)).toFixed(1), note: note ?? "" });
        },
        stop() {
          bar.stop();
        },
      };
    }
    let last = -Infinity;
    let done = 0;
    let lastNote = "";
    const line = (final: boolean) => {
      const s = (performance.now() - started) / 1000;
      const rate = done / Math.max(s, 1e-9);
      const pct = total > 0 ? Math.round((100 * done) / total) : 100;
      const eta = final ? `done in ${formatEta(s)}` : `ETA ${formatEta((total - done) / rate)}`;
      // deno-lint-ignore no-console
      console.error(
        `${stage}: ${done}/${total} ${unit} (${pct}%) ${rate.toFixed(2)} ${unit}/s ${eta}${
          lastNote ? ` ${lastNote}` : ""
        }`,
      );
    };
    return {
      update(n: number, note?: string) {
        done = n;
        if (note !== undefined) lastNote = note;
        const now = performance.now();
        if (now - last >= interval && n < total) {
          last = now;
          line(false);
        }
      },
      stop() {
        line(true);
      },
    };
  };
}

/**
 * A pool of decode workers (`decode_worker.ts`): `load(split, index)`
 * resolves with the decoded sample. Requests are spread round-robin over
 * the workers still alive.
 *
 * Nothing waits forever: a worker that dies (an uncaught error, a module
 * that cannot load without a permission such as `--allow-ffi`) rejects its
 * own pending requests at once and takes no new ones; when every worker is
 * dead, `load` rejects immediately with the reason and, for a missing
 * permission, the flag to add. Start-up has a time limit too.
 *
 * Errors cross the worker boundary by value (name, message, file, offset)
 * and are rebuilt as their own class: a `FormatError` from a reader in a
 * worker is a `FormatError` here, with its `path`.
 *
 * @module
 */

import { FormatError } from "../core/errors.ts";
import type { SampleData } from "../core/plugin.ts";

/** Options of {@linkcode createDecodePool}. */
export interface DecodePoolOptions {
  /** `modality/dataset`. */
  dataset: string;
  /** Dataset root. */
  root: string;
  /** Extra plugin modules (`--plugin`), loaded in each worker. */
  plugins?: string[];
  /** Options passed to the dataset's `open`. */
  openOptions?: Record<string, unknown>;
  /** Number of workers. @default {2} */
  workers?: number;
  /** Pre-resize 2D images to this `[H, W]` in the worker. */
  resize?: [number, number];
  /** Most milliseconds the workers may take to open the dataset. @default {120000} */
  startTimeoutMs?: number;
}

/** A running pool. */
export interface DecodePool {
  /** Decodes sample `index` of `split` in a worker. */
  load(split: string, index: number): Promise<SampleData>;
  /** Stops the workers. */
  close(): void;
}

/** A decode failure reported by a worker whose class is not rebuilt (keeps its name). */
export class DecodeError extends Error {
  /** Creates it with the worker error's name and message. */
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** An error as it crosses the worker boundary. */
export interface SerializedError {
  /** `error.name` (`"FormatError"`, `"NotFound"`, `"TypeError"`...). */
  name: string;
  /** `error.message`. */
  message: string;
  /** `FormatError.path`. */
  path?: string;
  /** `FormatError.offset`. */
  offset?: number;
}

/** Turns any thrown value into a {@linkcode SerializedError} (strings and objects included). */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const out: SerializedError = { name: error.name, message: error.message };
    if (error instanceof FormatError) {
      if (error.path !== undefined) out.path = error.path;
      if (error.offset !== undefined) out.offset = error.offset;
    }
    return out;
  }
  return {
    name: "Error",
    message: typeof error === "string" ? error : JSON.stringify(error) ?? String(error),
  };
}

/**
 * Rebuilds an error from a {@linkcode SerializedError}: `FormatError` with
 * its path and offset, Deno's error classes (`NotFound`, `PermissionDenied`,
 * `NotCapable`...), the built-in `TypeError`/`RangeError`/`SyntaxError`,
 * else a {@linkcode DecodeError} with the original name.
 *
 * @example
 * ```ts
 * import { rebuildError, serializeError } from "./decode_pool.ts";
 * import { FormatError } from "../core/errors.ts";
 * import assert from "node:assert/strict";
 * const e = rebuildError(serializeError(new FormatError("Cannot read x", { path: "a.dcm" })));
 * assert.ok(e instanceof FormatError);
 * assert.equal(e.path, "a.dcm");
 * assert.equal(e.message, "Cannot read x (a.dcm)");
 * ```
 */
export function rebuildError(s: SerializedError): Error {
  let error: Error;
  if (s.name === "FormatError") {
    error = new FormatError("", { path: s.path, offset: s.offset });
  } else if (s.name in Deno.errors) {
    const ctor = (Deno.errors as unknown as Record<string, new (m: string) => Error>)[s.name];
    error = new ctor(s.message);
  } else if (s.name === "TypeError") {
    error = new TypeError(s.message);
  } else if (s.name === "RangeError") {
    error = new RangeError(s.message);
  } else if (s.name === "SyntaxError") {
    error = new SyntaxError(s.message);
  } else {
    error = new DecodeError(s.name, s.message);
  }
  error.message = s.message;
  return error;
}

/** The flag a permission error asks for, from Deno's message or the permission name. */
function permissionHint(message: string): string {
  const flag = message.match(/--allow-[a-z-]+/)?.[0] ??
    (/\bffi\b|native addon|dlopen|\.node\b/i.test(message) ? "--allow-ffi" : undefined);
  return flag ? ` (run deno with ${flag}, or use ./medprobe, which grants every permission)` : "";
}

interface WorkerState {
  worker: Worker;
  alive: boolean;
  pending: Map<number, { resolve: (d: SampleData) => void; reject: (e: Error) => void }>;
}

/** Starts the workers and waits until each has opened the dataset. */
export async function createDecodePool(options: DecodePoolOptions): Promise<DecodePool> {
  const n = Math.max(1, options.workers ?? 2);
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  let nextId = 0;
  let deathReason: string | undefined;
  const states: WorkerState[] = [];
  const ready: Promise<void>[] = [];
  const kill = (state: WorkerState, reason: string) => {
    if (!state.alive) return;
    state.alive = false;
    deathReason ??= reason;
    state.worker.terminate();
    for (const p of state.pending.values()) p.reject(new Error(reason));
    state.pending.clear();
  };
  for (let i = 0; i < n; i++) {
    const worker = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    const state: WorkerState = { worker, alive: true, pending: new Map() };
    states.push(state);
    ready.push(
      new Promise<void>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent) => {
          const m = e.data;
          if (m.type === "ready") resolve();
          else if (m.type === "init-failed") {
            const error = rebuildError(m.error);
            error.message = `Cannot start the decode workers: ${error.message}${
              permissionHint(error.message)
            }`;
            reject(error);
          } else if (m.type === "loaded") {
            state.pending.get(m.id)?.resolve(m.data);
            state.pending.delete(m.id);
          } else if (m.type === "failed") {
            state.pending.get(m.id)?.reject(rebuildError(m.error));
            state.pending.delete(m.id);
          }
        };
        const onDeath = (message: string) => {
          const reason = `decode worker ${i} died: ${message}${permissionHint(message)}`;
          kill(state, reason);
          reject(new Error(reason));
        };
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          onDeath(e.message || String(e.error ?? "unknown error"));
        };
        worker.onmessageerror = () => onDeath("a message could not be deserialised");
      }),
    );
    worker.postMessage({
      type: "init",
      dataset: options.dataset,
      root: options.root,
      plugins: options.plugins ?? [],
      openOptions: options.openOptions,
      resize: options.resize,
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(ready),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `Cannot start the decode workers as opening the dataset must take at most ${startTimeoutMs} ms: they did not answer`,
              ),
            ),
          startTimeoutMs,
        );
      }),
    ]);
  } catch (e) {
    for (const s of states) kill(s, "decode pool start failed");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  let rr = 0;
  return {
    load(split: string, index: number): Promise<SampleData> {
      const alive = states.filter((s) => s.alive);
      if (alive.length === 0) {
        return Promise.reject(
          new Error(
            `Cannot decode sample ${index} of split "${split}" as every decode worker died: ${deathReason}`,
          ),
        );
      }
      const state = alive[rr++ % alive.length];
      const id = nextId++;
      return new Promise((resolve, reject) => {
        state.pending.set(id, { resolve, reject });
        state.worker.postMessage({ type: "load", id, split, index });
      });
    },
    close() {
      for (const s of states) kill(s, "decode pool closed");
    },
  };
}

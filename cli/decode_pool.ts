/**
 * A pool of decode workers (`decode_worker.ts`): `load(split, index)`
 * resolves with the decoded sample. Requests are spread round-robin.
 *
 * @module
 */

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
}

/** A running pool. */
export interface DecodePool {
  /** Decodes sample `index` of `split` in a worker. */
  load(split: string, index: number): Promise<SampleData>;
  /** Stops the workers. */
  close(): void;
}

/** A decode failure reported by a worker (keeps the original error name). */
export class DecodeError extends Error {
  /** Creates it with the worker error's name and message. */
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Starts the workers and waits until each has opened the dataset. */
export async function createDecodePool(options: DecodePoolOptions): Promise<DecodePool> {
  const n = Math.max(1, options.workers ?? 2);
  const pending = new Map<
    number,
    { resolve: (d: SampleData) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    workers.push(w);
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.onmessage = (e: MessageEvent) => {
          const m = e.data;
          if (m.type === "ready") resolve();
          else if (m.type === "init-failed") reject(new Error(m.message));
          else if (m.type === "loaded") {
            pending.get(m.id)?.resolve(m.data);
            pending.delete(m.id);
          } else if (m.type === "failed") {
            pending.get(m.id)?.reject(new DecodeError(m.name, m.message));
            pending.delete(m.id);
          }
        };
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`decode worker failed: ${e.message}`));
          for (const p of pending.values()) {
            p.reject(new Error(`decode worker failed: ${e.message}`));
          }
          pending.clear();
        };
      }),
    );
    w.postMessage({
      type: "init",
      dataset: options.dataset,
      root: options.root,
      plugins: options.plugins ?? [],
      openOptions: options.openOptions,
      resize: options.resize,
    });
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
  let rr = 0;
  return {
    load(split: string, index: number): Promise<SampleData> {
      const id = nextId++;
      const w = workers[rr++ % workers.length];
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ type: "load", id, split, index });
      });
    },
    close() {
      for (const w of workers) w.terminate();
      for (const p of pending.values()) p.reject(new Error("decode pool closed"));
      pending.clear();
    },
  };
}

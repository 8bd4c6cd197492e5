/**
 * A Web Worker that opens a dataset and decodes its samples off the main
 * thread, so images are decoded while the encoder runs. Optionally it also
 * converts 2D images to [0, 1] and resizes them to the encoder input size
 * (the same operations, in the same order, as `core/image.ts`, so the
 * features are identical).
 *
 * Messages: `init {dataset, root, plugins, resize?}` → `ready`;
 * `load {id, split, index}` → `loaded {id, data}` or `failed {id, error}`, where
 * `error` is a `SerializedError` (name, message, file, offset) that the pool
 * rebuilds as its own class. An unhandled rejection ends the worker, which
 * the pool sees as a death (never a silent hang).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { Image2D, SampleData } from "../core/plugin.ts";
import { findDataset } from "../core/experiment.ts";
import { resizeBilinear, toUnitPixels } from "../core/image.ts";
import { loadRegistry } from "./common.ts";
import type { Dataset } from "../core/plugin.ts";
import { serializeError } from "./decode_pool.ts";

interface InitMessage {
  type: "init";
  dataset: string;
  root: string;
  plugins: string[];
  openOptions?: Record<string, unknown>;
  resize?: [number, number];
}
interface LoadMessage {
  type: "load";
  id: number;
  split: string;
  index: number;
}

let dataset: Dataset | undefined;
let resize: [number, number] | undefined;

function transferables(data: SampleData): Transferable[] {
  const out: Transferable[] = [];
  for (const v of Object.values(data)) {
    if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.push(v.buffer);
  }
  return out;
}

function preresize(data: SampleData): SampleData {
  if (!resize || data.kind !== "image") return data;
  const img = data as Image2D;
  const [h, w] = resize;
  const { data: unit, channels: keep } = toUnitPixels(img);
  const out = resizeBilinear(unit, img.height, img.width, keep, h, w);
  return { kind: "image", data: out, width: w, height: h, channels: keep, intensity: "unit" };
}

// An error outside a request (a rejected promise nobody awaits) must end the
// worker loudly so the pool rejects what it was waiting for.
self.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  throw e.reason instanceof Error ? e.reason : new Error(String(e.reason));
});

self.onmessage = async (e: MessageEvent<InitMessage | LoadMessage>) => {
  const m = e.data;
  if (m.type === "init") {
    try {
      const registry = await loadRegistry(m.plugins);
      const { spec } = findDataset(registry, m.dataset);
      dataset = await spec.open(m.root, m.openOptions);
      resize = m.resize;
      self.postMessage({ type: "ready" });
    } catch (err) {
      self.postMessage({ type: "init-failed", error: serializeError(err) });
    }
    return;
  }
  try {
    const sample = dataset!.samples(m.split)[m.index];
    const data = preresize(await sample.load());
    self.postMessage({ type: "loaded", id: m.id, data }, transferables(data));
  } catch (err) {
    self.postMessage({ type: "failed", id: m.id, error: serializeError(err) });
  }
};

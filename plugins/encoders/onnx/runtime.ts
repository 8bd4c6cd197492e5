/**
 * onnxruntime selection: the native `onnxruntime-node` addon when FFI is
 * allowed (`--allow-ffi`), else `onnxruntime-web`'s WebAssembly provider.
 * Both are imported lazily, so importing this module loads neither (and a
 * process without `--allow-ffi` never touches the native addon).
 *
 * @example Picking a runtime without loading it
 * ```ts
 * import { pickOnnxRuntime } from "./runtime.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pickOnnxRuntime("wasm").kind, "wasm");
 * assert.equal(pickOnnxRuntime("auto", false).kind, "wasm");
 * assert.equal(pickOnnxRuntime("auto", true).kind, "node");
 * ```
 *
 * @module
 */

import type { Env, InferenceSession, Tensor } from "onnxruntime-node";

/** Which onnxruntime package runs a model. */
export type OnnxRuntimeRequest = "node" | "wasm" | "auto";

/** The part of the onnxruntime JS API medprobe uses (same in both packages). */
export interface OrtApi {
  /** Session factory. */
  readonly InferenceSession: {
    create(
      buffer: Uint8Array,
      options?: InferenceSession.SessionOptions,
    ): Promise<InferenceSession>;
  };
  /** Tensor constructor. */
  readonly Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => Tensor;
  /** Global settings (`env.wasm.numThreads`...). */
  readonly env: Env;
}

/** Which runtime runs a session and why it was chosen. */
export interface OnnxRuntimeInfo {
  /** `"node"` (native CPU provider) or `"wasm"` (WebAssembly provider). */
  readonly kind: "node" | "wasm";
  /** The `EncoderInfo.backend` string: `"onnx-node"` or `"onnx-wasm"`. */
  readonly backend: "onnx-node" | "onnx-wasm";
  /** One sentence for result records. */
  readonly reason: string;
}

/** A loaded runtime: its info and the onnxruntime API. */
export interface OnnxRuntime extends OnnxRuntimeInfo {
  /** The onnxruntime API. */
  readonly ort: OrtApi;
}

/** Whether this process may load native addons (`--allow-ffi`); false outside Deno. */
export function ffiAllowed(): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno?.permissions?.querySync) return false;
  return deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/**
 * Decides which runtime a request resolves to, without loading it. `"node"`
 * without FFI is refused with a `TypeError` saying how to fix it.
 */
export function pickOnnxRuntime(
  request: OnnxRuntimeRequest,
  ffi: boolean = ffiAllowed(),
): { kind: "node" | "wasm"; reason: string } {
  if (!["node", "wasm", "auto"].includes(request)) {
    throw new TypeError(
      `Cannot choose onnxruntime as it must be "node", "wasm" or "auto": current value is "${request}"`,
    );
  }
  if (request === "wasm") return { kind: "wasm", reason: "onnxruntime-web wasm (requested)" };
  if (request === "node") {
    if (!ffi) {
      throw new TypeError(
        'Cannot load onnxruntime-node as native addons need FFI: run deno with --allow-ffi, or use runtime "wasm"',
      );
    }
    return { kind: "node", reason: "onnxruntime-node CPU provider (requested)" };
  }
  return ffi ? { kind: "node", reason: "onnxruntime-node CPU provider (FFI allowed)" } : {
    kind: "wasm",
    reason: "onnxruntime-web wasm (no --allow-ffi, so the native onnxruntime-node is unavailable)",
  };
}

/** Options of {@linkcode loadOnnxRuntime}. */
export interface LoadOnnxRuntimeOptions {
  /**
   * Threads of the wasm provider, set before its first session (global to
   * the process). @default {navigator.hardwareConcurrency}
   */
  wasmThreads?: number;
}

let wasmModule: Promise<OrtApi> | undefined;
let nodeModule: Promise<OrtApi> | undefined;

function importWasm(threads: number | undefined): Promise<OrtApi> {
  wasmModule ??= (async () => {
    const ort = await import("onnxruntime-web") as unknown as OrtApi;
    const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
      ?.hardwareConcurrency ?? 1;
    ort.env.wasm.numThreads = threads ?? Math.max(1, cores);
    return ort;
  })();
  return wasmModule;
}

/**
 * The environment variable that turns off onnxruntime's built-in telemetry
 * (Microsoft's 1DS client in the native library: without it, the first
 * session writes `~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db`
 * with a device id, an empty `/tmp/mat-debug-<pid>.log`, and queues events
 * for `mobile.events.data.microsoft.com`).
 */
export const ORT_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY";

/**
 * Sets {@linkcode ORT_TELEMETRY_ENV} to `1` in this process (the native
 * library reads it when its environment is created, so this must run before
 * the first session). Returns false when it cannot be set (no
 * `--allow-env`) and is not already set.
 *
 * @example
 * ```ts
 * import { disableOnnxTelemetry, ORT_TELEMETRY_ENV } from "./runtime.ts";
 * import assert from "node:assert/strict";
 * assert.equal(disableOnnxTelemetry(), true);
 * assert.equal(Deno.env.get(ORT_TELEMETRY_ENV), "1");
 * ```
 */
export function disableOnnxTelemetry(): boolean {
  try {
    if (Deno.env.get(ORT_TELEMETRY_ENV) !== "1") Deno.env.set(ORT_TELEMETRY_ENV, "1");
    return true;
  } catch {
    return false;
  }
}

function importNode(): Promise<OrtApi> {
  if (!disableOnnxTelemetry()) {
    return Promise.reject(
      new Error(
        `Cannot load onnxruntime-node as its telemetry must be turned off first: run deno with --allow-env (or --allow-env=${ORT_TELEMETRY_ENV}), or set ${ORT_TELEMETRY_ENV}=1 in the environment`,
      ),
    );
  }
  nodeModule ??= import("onnxruntime-node") as unknown as Promise<OrtApi>;
  return nodeModule;
}

/**
 * Loads the runtime a request resolves to. With `"auto"`, a native addon
 * that fails to load (unsupported platform, missing binary) falls back to
 * wasm and the reason says so; an explicit `"node"` rethrows.
 */
export async function loadOnnxRuntime(
  request: OnnxRuntimeRequest = "auto",
  options: LoadOnnxRuntimeOptions = {},
): Promise<OnnxRuntime> {
  const pick = pickOnnxRuntime(request);
  if (pick.kind === "node") {
    try {
      return { kind: "node", backend: "onnx-node", reason: pick.reason, ort: await importNode() };
    } catch (cause) {
      nodeModule = undefined;
      if (request === "node") {
        throw new Error(`Cannot load onnxruntime-node: ${(cause as Error).message}`, { cause });
      }
      return {
        kind: "wasm",
        backend: "onnx-wasm",
        reason: `onnxruntime-web wasm (onnxruntime-node failed to load: ${
          (cause as Error).message
        })`,
        ort: await importWasm(options.wasmThreads),
      };
    }
  }
  return {
    kind: "wasm",
    backend: "onnx-wasm",
    reason: pick.reason,
    ort: await importWasm(options.wasmThreads),
  };
}

/** Session options medprobe uses for every model (the bench's peer uses the same). */
export function defaultSessionOptions(
  rt: OnnxRuntime,
  threads?: number,
): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    executionProviders: [rt.kind === "node" ? "cpu" : "wasm"],
    graphOptimizationLevel: "all",
  };
  if (threads !== undefined && rt.kind === "node") {
    return { ...options, intraOpNumThreads: threads };
  }
  return options;
}

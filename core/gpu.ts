// This module is browser compatible.
/**
 * The WebGPU device layer: {@linkcode requestGpu} returns a
 * {@linkcode GpuContext} holding the device, a summary of the adapter
 * (software or hardware), its limits and features, a pipeline cache keyed by
 * kernel label and override constants, and upload / readback helpers that
 * respect the device limits.
 *
 * Errors: no adapter → {@linkcode GpuUnavailableError}; a WGSL compile or
 * pipeline validation error → {@linkcode ShaderCompilationError} at the call
 * that created the pipeline; a lost device → {@linkcode DeviceLostError} for
 * every pending and later readback; a buffer over `maxBufferSize` or (for
 * storage buffers) `maxStorageBufferBindingSize` → `RangeError`.
 *
 * @example Requesting a device (needs a GPU or Mesa's software driver)
 * ```ts ignore
 * import { requestGpu } from "./gpu.ts";
 * const gpu = await requestGpu();
 * console.log(gpu.info.description, gpu.info.isSoftware);
 * gpu.destroy();
 * ```
 *
 * @module
 */

import {
  type CompilationMessage,
  DeviceLostError,
  GpuUnavailableError,
  ShaderCompilationError,
} from "./errors.ts";
import { formatShape, type HostTensor, numel } from "./tensor.ts";

/** What medprobe knows about the adapter behind a context. */
export interface GpuAdapterSummary {
  /** Vendor (name or PCI id as a string). */
  readonly vendor: string;
  /** Architecture, when the driver reports one. */
  readonly architecture: string;
  /** Device name or id. */
  readonly device: string;
  /** Human-readable description (e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`). */
  readonly description: string;
  /** True for CPU rasterisers (llvmpipe, lavapipe, SwiftShader, WARP) and fallback adapters. */
  readonly isSoftware: boolean;
}

/** Optional features medprobe uses when present. */
export const OPTIONAL_FEATURES: readonly string[] = ["shader-f16", "subgroups", "timestamp-query"];

/** A tensor resident in a GPU storage buffer (row-major). */
export interface GpuTensor {
  /** The buffer; may be larger than the tensor (pooled). */
  readonly buffer: GPUBuffer;
  /** The extent of each axis. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: "f32" | "f16";
}

/** Options of {@linkcode requestGpu}. */
export interface RequestGpuOptions {
  /** Adapter preference. @default {"high-performance"} */
  powerPreference?: GPUPowerPreference;
  /** Features that must be present; a missing one is a `GpuUnavailableError`. */
  requiredFeatures?: readonly string[];
  /** Wrap pipeline creation and dispatches in validation error scopes. @default {false} */
  debug?: boolean;
}

/** A pipeline-cache key: kernel label, override constants and entry point. */
export interface PipelineSpec {
  /** The kernel label (`"layer_norm"`), also the GPU object label. */
  readonly label: string;
  /** WGSL source. */
  readonly code: string;
  /** Values of WGSL `override` constants. */
  readonly constants?: Readonly<Record<string, number>>;
  /** Entry point. @default {"main"} */
  readonly entryPoint?: string;
}

const SOFTWARE_PATTERN = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|warp/i;

/**
 * Decides whether an adapter is a software rasteriser from its info.
 *
 * @example
 * ```ts
 * import { isSoftwareAdapter } from "./gpu.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }), true);
 * assert.equal(isSoftwareAdapter({ description: "NVIDIA H200", vendor: "nvidia" }), false);
 * ```
 */
export function isSoftwareAdapter(
  info: { description?: string; device?: string; vendor?: string; architecture?: string },
  isFallbackAdapter = false,
): boolean {
  if (isFallbackAdapter) return true;
  const text = [info.description, info.device, info.vendor, info.architecture].join(" ");
  return SOFTWARE_PATTERN.test(text);
}

/** How to get a WebGPU adapter, for error messages. */
export const GPU_HELP: string =
  "WebGPU needs a GPU driver (Vulkan, Metal or D3D12). On Linux without a GPU, install Mesa's software driver " +
  "(Debian/Ubuntu: `sudo apt-get install mesa-vulkan-drivers`), and run Deno with `--unstable-webgpu` " +
  '(or `"unstable": ["webgpu"]` in deno.json). The ONNX backend (`--backend onnx`) needs no GPU';

/**
 * Requests an adapter and a device with the adapter's full limits and the
 * optional features it has.
 *
 * @throws {GpuUnavailableError} when WebGPU is absent or no adapter is found.
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new GpuUnavailableError(`Cannot use WebGPU as navigator.gpu is missing. ${GPU_HELP}`);
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) {
    throw new GpuUnavailableError(`Cannot use WebGPU as no adapter was found. ${GPU_HELP}`);
  }
  for (const f of options.requiredFeatures ?? []) {
    if (!adapter.features.has(f)) {
      throw new GpuUnavailableError(
        `Cannot use the WebGPU adapter as feature "${f}" is required: the adapter has ${
          [...adapter.features].join(", ") || "no optional features"
        }`,
      );
    }
  }
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === "number") requiredLimits[key] = value;
  }
  const requiredFeatures = [
    ...new Set([...(options.requiredFeatures ?? []), ...OPTIONAL_FEATURES]),
  ].filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures,
    label: "medprobe",
  });
  const info = adapter.info;
  const summary: GpuAdapterSummary = {
    vendor: String(info.vendor ?? ""),
    architecture: String(info.architecture ?? ""),
    device: String(info.device ?? ""),
    description: String(info.description ?? ""),
    isSoftware: isSoftwareAdapter(
      info,
      Boolean(
        (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ||
          (info as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ),
    ),
  };
  return new GpuContext(adapter, device, summary, options.debug ?? false);
}

/** A WebGPU device with medprobe's helpers. Create it with {@linkcode requestGpu}. */
export class GpuContext {
  /** The adapter. */
  readonly adapter: GPUAdapter;
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter summary, including whether it is a software rasteriser. */
  readonly info: GpuAdapterSummary;
  /** Whether pipeline creation and dispatches run inside validation error scopes. */
  readonly debug: boolean;
  /** Resolves with a `DeviceLostError` when the device is lost. */
  readonly lost: Promise<DeviceLostError>;
  #lostError: DeviceLostError | undefined;
  #pipelines = new Map<string, Promise<GPUComputePipeline>>();

  /** Wraps an adapter and device; prefer {@linkcode requestGpu}. */
  constructor(adapter: GPUAdapter, device: GPUDevice, info: GpuAdapterSummary, debug = false) {
    this.adapter = adapter;
    this.device = device;
    this.info = info;
    this.debug = debug;
    this.lost = device.lost.then((l) => {
      this.#lostError = new DeviceLostError(
        String(l.reason ?? "unknown"),
        l.message || "no message",
      );
      return this.#lostError;
    });
  }

  /** The device limits. */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** The enabled features. */
  get features(): ReadonlySet<string> {
    return this.device.features as unknown as ReadonlySet<string>;
  }

  /** True when `shader-f16` is enabled. */
  get hasF16(): boolean {
    return this.device.features.has("shader-f16");
  }

  /** True once the device has been lost. */
  get isLost(): boolean {
    return this.#lostError !== undefined;
  }

  /** Throws the `DeviceLostError` when the device is lost. */
  assertAlive(): void {
    if (this.#lostError) throw this.#lostError;
  }

  /**
   * Throws a `RangeError` unless a buffer of `bytes` fits the device limits.
   * Storage buffers must also fit `maxStorageBufferBindingSize`.
   */
  checkBufferSize(bytes: number, label: string, storage = true): void {
    const max = this.device.limits.maxBufferSize;
    if (bytes > max) {
      throw new RangeError(
        `Cannot create buffer "${label}" as its size must be at most maxBufferSize (${max} bytes): current size is ${bytes} bytes; split the work`,
      );
    }
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    if (storage && bytes > maxBinding) {
      throw new RangeError(
        `Cannot create buffer "${label}" as its size must be at most maxStorageBufferBindingSize (${maxBinding} bytes): current size is ${bytes} bytes; split the work`,
      );
    }
  }

  /**
   * Creates a storage buffer (copy source and destination too), checked
   * against the limits. Sizes are rounded up to a multiple of 4 bytes.
   */
  createStorageBuffer(bytes: number, label: string, extraUsage = 0): GPUBuffer {
    this.assertAlive();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    this.checkBufferSize(size, label);
    return this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST |
        extraUsage,
    });
  }

  /** Uploads typed data into a new storage buffer. */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.createStorageBuffer(data.byteLength, label);
    this.write(buffer, data);
    return buffer;
  }

  /** Writes typed data to a buffer at a byte offset (padded to 4 bytes). */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.assertAlive();
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    this.device.queue.writeBuffer(buffer, offset, bytes);
  }

  /** Uploads a host tensor as an f32 GPU tensor. */
  uploadTensor(t: HostTensor, label = "tensor"): GpuTensor {
    return { buffer: this.upload(t.data, label), shape: [...t.shape], dtype: "f32" };
  }

  /**
   * Copies `byteLength` bytes of a buffer back to the host. Rejects with
   * `DeviceLostError` when the device is lost before the copy completes.
   */
  async readback(buffer: GPUBuffer, byteLength = buffer.size, offset = 0): Promise<ArrayBuffer> {
    this.assertAlive();
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({
      label: `${buffer.label || "buffer"}:readback`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = this.device.createCommandEncoder({ label: "readback" });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    try {
      await Promise.race([
        staging.mapAsync(GPUMapMode.READ),
        this.lost.then((e) => Promise.reject(e)),
      ]);
      return staging.getMappedRange().slice(0, byteLength);
    } catch (cause) {
      if (this.#lostError) throw this.#lostError;
      throw cause;
    } finally {
      if (!this.#lostError) {
        try {
          staging.unmap();
        } catch { /* not mapped */ }
      }
      staging.destroy();
    }
  }

  /** Reads an f32 GPU tensor back into a host tensor. */
  async readTensor(t: GpuTensor): Promise<HostTensor> {
    if (t.dtype !== "f32") {
      throw new TypeError(
        `Cannot read tensor as its dtype must be "f32": current dtype is "${t.dtype}"`,
      );
    }
    const n = numel(t.shape);
    const data = new Float32Array(await this.readback(t.buffer, n * 4));
    return { data, shape: [...t.shape] };
  }

  /**
   * Returns the compute pipeline for a kernel, compiling it once per
   * label + constants + entry point. A WGSL error or a pipeline validation
   * error rejects with `ShaderCompilationError` carrying the compiler messages.
   */
  pipeline(spec: PipelineSpec): Promise<GPUComputePipeline> {
    const entryPoint = spec.entryPoint ?? "main";
    const constants = spec.constants ?? {};
    const key = `${spec.label}|${entryPoint}|${
      Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(",")
    }|${hashString(spec.code)}`;
    let p = this.#pipelines.get(key);
    if (!p) {
      p = this.#compile(spec.label, spec.code, entryPoint, constants);
      this.#pipelines.set(key, p);
      p.catch(() => this.#pipelines.delete(key));
    }
    return p;
  }

  /** Number of compiled (or compiling) pipelines in the cache. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  async #compile(
    label: string,
    code: string,
    entryPoint: string,
    constants: Readonly<Record<string, number>>,
  ): Promise<GPUComputePipeline> {
    this.assertAlive();
    const module = this.device.createShaderModule({ label, code });
    const info = await module.getCompilationInfo();
    const messages: CompilationMessage[] = info.messages.map((m) => ({
      type: m.type,
      message: m.message.trim(),
      lineNum: m.lineNum,
      linePos: m.linePos,
    }));
    if (messages.some((m) => m.type === "error")) {
      throw new ShaderCompilationError(label, messages, "WGSL did not compile");
    }
    try {
      return await this.device.createComputePipelineAsync({
        label,
        layout: "auto",
        compute: { module, entryPoint, constants: constants as Record<string, number> },
      });
    } catch (cause) {
      throw new ShaderCompilationError(label, messages, (cause as Error).message, { cause });
    }
  }

  /**
   * Runs `fn` inside a validation error scope and rethrows a validation error
   * as a `TypeError` naming the label. Used around dispatches in debug mode.
   */
  async validate<T>(label: string, fn: () => T): Promise<T> {
    this.device.pushErrorScope("validation");
    let result: T | undefined;
    let thrown: unknown;
    let failed = false;
    try {
      result = fn();
    } catch (e) {
      thrown = e;
      failed = true;
    }
    const error = await this.device.popErrorScope();
    if (failed) throw thrown;
    if (error) {
      throw new TypeError(
        `Cannot run kernel "${label}" as WebGPU validation failed: ${error.message.trim()}`,
      );
    }
    return result as T;
  }

  /** Waits for all submitted work; rejects with `DeviceLostError` if the device is lost. */
  async sync(): Promise<void> {
    this.assertAlive();
    await Promise.race([
      this.device.queue.onSubmittedWorkDone(),
      this.lost.then((e) => Promise.reject(e)),
    ]);
  }

  /** Destroys the device; pending readbacks reject with `DeviceLostError`. */
  destroy(): void {
    this.device.destroy();
  }
}

/** FNV-1a over a string, to key pipelines by their source text. */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

/** Describes a GPU tensor for messages: `f32 [2, 3]`. */
export function describeGpuTensor(t: GpuTensor): string {
  return `${t.dtype} ${formatShape(t.shape)}`;
}

// This module is browser compatible.
/**
 * The only place that touches pipeline plumbing: cached pipelines, dispatch
 * folding beyond `maxComputeWorkgroupsPerDimension`, uniform buffers, bind
 * groups and a reusable buffer pool. Launchers call these; they never create
 * pipelines or bind groups themselves.
 *
 * @module
 */

import type { GpuContext, PipelineSpec } from "../core/gpu.ts";

export type { PipelineSpec };

/** Returns the cached compute pipeline for a kernel (compiled once per device and constants). */
export function getPipeline(ctx: GpuContext, spec: PipelineSpec): Promise<GPUComputePipeline> {
  return ctx.pipeline(spec);
}

/**
 * Folds a 1D workgroup count into `[x, y, 1]` so that neither exceeds
 * `maxComputeWorkgroupsPerDimension` (65535 by default), as ORT does.
 * Kernels recover the linear id as `wid.x + wid.y * num_workgroups.x` and
 * guard against the padding.
 *
 * @example
 * ```ts
 * import { foldWorkgroups } from "./_runtime.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(foldWorkgroups(100, 65535), [100, 1, 1]);
 * assert.deepEqual(foldWorkgroups(70000, 65535), [35000, 2, 1]);
 * ```
 */
export function foldWorkgroups(count: number, maxPerDim: number): [number, number, number] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(
      `Cannot dispatch as the workgroup count must be a non-negative integer: current value is ${count}`,
    );
  }
  if (count <= maxPerDim) return [Math.max(count, 0), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y > maxPerDim) {
    throw new RangeError(
      `Cannot dispatch as the workgroup count must be at most ${maxPerDim}² : current value is ${count}`,
    );
  }
  return [Math.ceil(count / y), y, 1];
}

/** {@linkcode foldWorkgroups} with the context's limit. */
export function normalizeDispatch(ctx: GpuContext, count: number): [number, number, number] {
  return foldWorkgroups(count, ctx.limits.maxComputeWorkgroupsPerDimension);
}

/** Creates a uniform buffer holding `data` (padded to 16 bytes). */
export function writeUniforms(ctx: GpuContext, label: string, data: ArrayBuffer): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = ctx.device.createBuffer({
    label: `${label}:params`,
    size,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
  buffer.unmap();
  return buffer;
}

/** One dispatch: bindings are the buffers in binding order (inputs → outputs → params). */
export interface DispatchSpec {
  /** Kernel label (GPU object label). */
  label: string;
  /** The pipeline. */
  pipeline: GPUComputePipeline;
  /** Buffers bound at @group(0) @binding(0..n-1), in order. */
  buffers: readonly GPUBuffer[];
  /** Workgroup counts, or a 1D count that is folded. */
  workgroups: number | readonly [number, number, number];
  /** Record into this encoder instead of submitting immediately. */
  encoder?: GPUCommandEncoder;
}

/**
 * Records (or submits) one compute dispatch. With `encoder` the caller
 * submits; without, the dispatch is submitted at once. A zero-sized dispatch
 * is skipped.
 */
export function dispatch(ctx: GpuContext, spec: DispatchSpec): void {
  ctx.assertAlive();
  const wg = typeof spec.workgroups === "number"
    ? normalizeDispatch(ctx, spec.workgroups)
    : spec.workgroups;
  if (wg[0] * wg[1] * wg[2] === 0) return;
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (wg.some((n) => n > max)) {
    throw new RangeError(
      `Cannot dispatch kernel "${spec.label}" as each workgroup count must be at most ${max}: current counts are [${
        wg.join(", ")
      }]`,
    );
  }
  const bindGroup = ctx.device.createBindGroup({
    label: spec.label,
    layout: spec.pipeline.getBindGroupLayout(0),
    entries: spec.buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const own = spec.encoder === undefined;
  const encoder = spec.encoder ?? ctx.device.createCommandEncoder({ label: spec.label });
  const pass = encoder.beginComputePass({ label: spec.label });
  pass.setPipeline(spec.pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
  pass.end();
  if (own) ctx.device.queue.submit([encoder.finish()]);
}

/**
 * A pool of storage buffers bucketed by size (powers of two, at least 256
 * bytes), so that activations of successive batches reuse memory. Tracks the
 * bytes it holds and the peak, for memory reports.
 */
export class BufferPool {
  #ctx: GpuContext;
  #free = new Map<number, GPUBuffer[]>();
  #sizes = new WeakMap<GPUBuffer, number>();
  #allocated = 0;
  #peak = 0;

  /** Creates an empty pool on a context. */
  constructor(ctx: GpuContext) {
    this.#ctx = ctx;
  }

  /** Bytes currently allocated by the pool (in use or free). */
  get allocatedBytes(): number {
    return this.#allocated;
  }

  /** Largest `allocatedBytes` seen. */
  get peakBytes(): number {
    return this.#peak;
  }

  /** Takes a buffer of at least `bytes` bytes (checked against the device limits). */
  acquire(bytes: number, label: string): GPUBuffer {
    const max = this.#ctx.limits.maxStorageBufferBindingSize;
    let size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    if (size > max) size = Math.ceil(bytes / 256) * 256;
    const reused = this.#free.get(size)?.pop();
    if (reused) return reused;
    const buffer = this.#ctx.createStorageBuffer(size, label);
    this.#sizes.set(buffer, size);
    this.#allocated += buffer.size;
    this.#peak = Math.max(this.#peak, this.#allocated);
    return buffer;
  }

  /** Returns a buffer to the pool for reuse. */
  release(buffer: GPUBuffer): void {
    const size = this.#sizes.get(buffer);
    if (size === undefined) return;
    const list = this.#free.get(size) ?? [];
    list.push(buffer);
    this.#free.set(size, list);
  }

  /** Destroys every free buffer. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#allocated -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }
}

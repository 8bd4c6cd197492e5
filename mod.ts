/**
 * medprobe: how good are the frozen features of a vision foundation model on
 * medical images? DINOv3 on WebGPU, light heads, the field's metrics.
 *
 * @module
 */
export * from "./core/mod.ts";

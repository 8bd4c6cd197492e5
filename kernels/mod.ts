/**
 * WGSL compute kernels of medprobe: each family has a launcher and a plain
 * TypeScript reference.
 *
 * @module
 */
export {};

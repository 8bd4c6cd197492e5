/**
 * Built-in metrics plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in metrics plugins exported by this module. */
export const BUILTIN_METRICS: readonly string[] = [];

/**
 * Built-in heads plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in heads plugins exported by this module. */
export const BUILTIN_HEADS: readonly string[] = [];

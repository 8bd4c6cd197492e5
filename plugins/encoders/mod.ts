/**
 * Built-in encoders plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in encoders plugins exported by this module. */
export const BUILTIN_ENCODERS: readonly string[] = [];

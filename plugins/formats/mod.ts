/**
 * Built-in formats plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in formats plugins exported by this module. */
export const BUILTIN_FORMATS: readonly string[] = [];

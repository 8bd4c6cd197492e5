/**
 * Built-in adapters plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in adapters plugins exported by this module. */
export const BUILTIN_ADAPTERS: readonly string[] = [];

/**
 * Built-in modalities plugins of medprobe.
 *
 * @module
 */

/** Names of the built-in modalities plugins exported by this module. */
export const BUILTIN_MODALITIES: readonly string[] = [];

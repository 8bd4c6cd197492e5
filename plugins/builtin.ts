/**
 * The built-in plugins, and a registry holding them. Importing this module
 * registers nothing by itself; call {@linkcode createDefaultRegistry}.
 *
 * @module
 */

import { createRegistry, type Registry } from "../core/registry.ts";
import type { Plugin } from "../core/plugin.ts";

/** Every built-in plugin, by kind. */
export function builtinPlugins(): Plugin[] {
  return [];
}

/** A registry with every built-in plugin, plus extra ones (e.g. from `--plugin`). */
export function createDefaultRegistry(extra: readonly Plugin[] = []): Registry {
  return createRegistry([...builtinPlugins(), ...extra]);
}

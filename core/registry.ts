// This module is browser compatible.
/**
 * Explicit plugin registration: `createRegistry([...])`. Plugins are
 * validated on registration; a duplicate name or a malformed plugin throws a
 * `TypeError` naming the plugin and the field.
 *
 * @example Registering and looking up a plugin
 * ```ts
 * import { createRegistry } from "./registry.ts";
 * import type { MetricPlugin } from "./plugin.ts";
 * import assert from "node:assert/strict";
 *
 * const count: MetricPlugin = {
 *   kind: "metric",
 *   name: "count",
 *   description: "Number of positive targets",
 *   higherIsBetter: true,
 *   tasks: ["binary"],
 *   compute: (_p, t) => Float64Array.of((t as number[]).filter((v) => v > 0).length),
 * };
 * const registry = createRegistry([count]);
 * assert.equal(registry.get("metric", "count"), count);
 * assert.throws(() => registry.use(count), TypeError);
 * ```
 *
 * @module
 */

import type {
  DatasetSpec,
  ModalityPlugin,
  Plugin,
  PluginKind,
  PluginLookup,
  ProtocolDefaults,
  TaskPlugin,
  TaskType,
} from "./plugin.ts";
import { importWithTimeout } from "./_import.ts";

const NAME_PATTERN = /^[a-z0-9][a-z0-9._/-]*$/;

/** The plugin kinds, in listing order. */
export const PLUGIN_KINDS: readonly PluginKind[] = [
  "encoder",
  "adapter",
  "head",
  "metric",
  "modality",
  "task",
];

type FieldRule = readonly [
  field: string,
  type: "function" | "string" | "boolean" | "array" | "object",
];

const REQUIRED: Record<PluginKind, readonly FieldRule[]> = {
  encoder: [["create", "function"]],
  adapter: [["accepts", "array"], ["create", "function"]],
  head: [["tasks", "array"], ["defaults", "object"], ["create", "function"], ["load", "function"]],
  metric: [["higherIsBetter", "boolean"], ["tasks", "array"], ["compute", "function"]],
  modality: [["datasets", "array"]],
  task: [
    ["input", "string"],
    ["problems", "array"],
    ["options", "array"],
    ["validateProtocol", "function"],
    ["run", "function"],
  ],
};

const DATASET_FIELDS: readonly FieldRule[] = [
  ["name", "string"],
  ["description", "string"],
  ["task", "string"],
  ["problem", "string"],
  ["layout", "array"],
  ["protocol", "object"],
  ["open", "function"],
  ["synthesize", "function"],
];

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function checkFields(
  owner: string,
  value: Record<string, unknown>,
  rules: readonly FieldRule[],
): void {
  for (const [field, type] of rules) {
    const actual = typeOf(value[field]);
    if (actual !== type) {
      throw new TypeError(
        `Cannot register ${owner} as field "${field}" must be ${
          type === "array" || type === "object" ? "an" : "a"
        } ${type}: current type is ${actual}`,
      );
    }
  }
}

/**
 * Checks that a value is a well-formed plugin and returns it typed.
 * Throws a `TypeError` naming the plugin and the missing or wrong field.
 *
 * @param value The candidate plugin object.
 * @param source Where it came from (a module specifier), for messages.
 */
export function validatePlugin(value: unknown, source?: string): Plugin {
  const from = source ? ` from "${source}"` : "";
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot register plugin${from} as it must be an object: current type is ${typeOf(value)}`,
    );
  }
  const p = value as Record<string, unknown>;
  const label = typeof p.name === "string" ? `"${p.name}"` : "(unnamed)";
  if (!PLUGIN_KINDS.includes(p.kind as PluginKind)) {
    throw new TypeError(
      `Cannot register plugin ${label}${from} as field "kind" must be one of ${
        PLUGIN_KINDS.map((k) => `"${k}"`).join(", ")
      }: current value is ${JSON.stringify(p.kind)}`,
    );
  }
  const kind = p.kind as PluginKind;
  const owner = `${kind} plugin ${label}${from}`;
  if (typeof p.name !== "string" || !NAME_PATTERN.test(p.name)) {
    throw new TypeError(
      `Cannot register ${owner} as field "name" must be a lowercase id matching ${NAME_PATTERN}: current value is ${
        JSON.stringify(p.name)
      }`,
    );
  }
  checkFields(owner, p, [["description", "string"]]);
  if (p.version !== undefined && typeof p.version !== "string") {
    throw new TypeError(
      `Cannot register ${owner} as field "version" must be a string when present: current type is ${
        typeOf(p.version)
      }`,
    );
  }
  checkFields(owner, p, REQUIRED[kind]);
  if (kind === "modality") {
    const seen = new Set<string>();
    (p.datasets as unknown[]).forEach((d, i) => {
      const dataset = typeof d === "object" && d !== null ? d as Record<string, unknown> : {};
      const dname = typeof dataset.name === "string" ? dataset.name : `#${i}`;
      checkFields(`${owner} dataset "${dname}"`, dataset, DATASET_FIELDS);
      if (seen.has(dname)) {
        throw new TypeError(
          `Cannot register ${owner} as dataset "${dname}" is listed twice`,
        );
      }
      seen.add(dname);
    });
  }
  return value as Plugin;
}

/** Plugin of a given kind. */
export type PluginOfKind<K extends PluginKind> = Extract<Plugin, { kind: K }>;

/** The adapters, heads and metrics that fit a task and a learning problem, by name. */
export interface TaskFit {
  /** Adapters whose output is the task's input. */
  adapters: string[];
  /** Heads that consume the task's input and learn the problem. */
  heads: string[];
  /** Metrics defined for the problem. */
  metrics: string[];
}

/**
 * Lists the registered adapters, heads and metrics that fit a task plugin
 * and a learning problem (what an error message offers instead).
 */
export function pluginsFitting(
  registry: PluginLookup,
  task: TaskPlugin,
  problem: TaskType,
): TaskFit {
  return {
    adapters: registry.list("adapter").filter((a) => (a.output ?? "vectors") === task.input)
      .map((a) => a.name),
    heads: registry.list("head").filter((h) =>
      (h.input ?? "vectors") === task.input && h.tasks.includes(problem)
    ).map((h) => h.name),
    metrics: registry.list("metric").filter((m) => m.tasks.includes(problem)).map((m) => m.name),
  };
}

function quoteList(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.map((n) => `"${n}"`).join(", ");
}

/**
 * Checks that named plugins exist and fit a task and problem; returns one
 * message per misfit ("head "abmil" does not fit task "classification"...:
 * heads that fit are ..."), empty when everything fits.
 */
export function checkTaskFit(
  registry: PluginLookup,
  task: TaskPlugin,
  problem: TaskType,
  names: { adapter?: string; heads?: readonly string[]; metrics?: readonly string[] },
): string[] {
  const fit = pluginsFitting(registry, task, problem);
  const problems: string[] = [];
  const where = `task "${task.name}" (${problem}, input ${task.input})`;
  const check = (kind: "adapter" | "head" | "metric", name: string, fits: string[]) => {
    if (!registry.has(kind, name)) {
      problems.push(
        `${kind} "${name}" is not registered: ${kind}s that fit ${where} are ${quoteList(fits)}`,
      );
    } else if (!fits.includes(name)) {
      problems.push(
        `${kind} "${name}" does not fit ${where}: ${kind}s that fit are ${quoteList(fits)}`,
      );
    }
  };
  if (names.adapter !== undefined) check("adapter", names.adapter, fit.adapters);
  for (const h of names.heads ?? []) check("head", h, fit.heads);
  for (const m of names.metrics ?? []) check("metric", m, fit.metrics);
  return problems;
}

/**
 * Checks one dataset of a modality against the registry: its task is a
 * registered task plugin that runs its problem, and its protocol names an
 * adapter, heads and metrics that are registered and fit the task. Throws a
 * `TypeError` naming the dataset and every misfit.
 */
export function validateDataset(
  registry: PluginLookup,
  modality: Pick<ModalityPlugin, "name">,
  spec: DatasetSpec,
): void {
  const id = `${modality.name}/${spec.name}`;
  if (!registry.has("task", spec.task)) {
    throw new TypeError(
      `Cannot register dataset "${id}" as its task "${spec.task}" must be a registered task plugin: registered tasks are ${
        quoteList(registry.list("task").map((t) => t.name))
      }`,
    );
  }
  const task = registry.get("task", spec.task);
  if (!task.problems.includes(spec.problem)) {
    throw new TypeError(
      `Cannot register dataset "${id}" as task "${task.name}" runs ${
        quoteList(task.problems)
      }: current problem is "${spec.problem}"`,
    );
  }
  const p: ProtocolDefaults = spec.protocol;
  const misfits = checkTaskFit(registry, task, spec.problem, {
    adapter: p.adapter,
    heads: p.heads,
    metrics: p.metrics,
  });
  if (p.heads.length === 0) misfits.push("the protocol names no head");
  if (misfits.length > 0) {
    throw new TypeError(`Cannot register dataset "${id}" as ${misfits.join("; ")}`);
  }
  try {
    task.validateProtocol(p, registry);
  } catch (e) {
    throw new TypeError(`Cannot register dataset "${id}": ${(e as Error).message}`, { cause: e });
  }
}

/** A set of registered plugins, looked up by kind and name. */
export interface Registry extends PluginLookup {
  /** Validates and registers a plugin; throws `TypeError` on a duplicate or malformed plugin. */
  use(plugin: Plugin): Registry;
  /** The plugin of a kind and name; throws `TypeError` listing the known names when absent. */
  get<K extends PluginKind>(kind: K, name: string): PluginOfKind<K>;
  /** True when a plugin of this kind and name is registered. */
  has(kind: PluginKind, name: string): boolean;
  /** Registered plugins, of one kind or all, in registration order. */
  list<K extends PluginKind>(kind?: K): PluginOfKind<K>[];
}

/**
 * Creates a registry holding the given plugins (validated, in order).
 * Datasets are checked against the tasks, adapters, heads and metrics once
 * all of `plugins` are in (so the order within the list does not matter);
 * a modality added later with `use` is checked at once, so register its
 * task and plugins first.
 *
 * @param plugins Plugins to register now; more can be added with `use`.
 */
export function createRegistry(plugins: readonly Plugin[] = []): Registry {
  const byKey = new Map<string, Plugin>();
  let building = true;
  const registry: Registry = {
    use(plugin: Plugin): Registry {
      const p = validatePlugin(plugin);
      const key = `${p.kind}:${p.name}`;
      if (byKey.has(key)) {
        throw new TypeError(
          `Cannot register ${p.kind} plugin "${p.name}" as a ${p.kind} with this name is already registered`,
        );
      }
      if (!building && p.kind === "modality") {
        for (const d of p.datasets) validateDataset(registry, p, d);
      }
      byKey.set(key, p);
      return registry;
    },
    get<K extends PluginKind>(kind: K, name: string): PluginOfKind<K> {
      const p = byKey.get(`${kind}:${name}`);
      if (!p) {
        const known = registry.list(kind).map((q) => `"${q.name}"`).join(", ") || "none";
        throw new TypeError(
          `Cannot find ${kind} plugin "${name}" as it is not registered: registered ${kind}s are ${known}`,
        );
      }
      return p as PluginOfKind<K>;
    },
    has(kind: PluginKind, name: string): boolean {
      return byKey.has(`${kind}:${name}`);
    },
    list<K extends PluginKind>(kind?: K): PluginOfKind<K>[] {
      return [...byKey.values()].filter((p) =>
        kind === undefined || p.kind === kind
      ) as PluginOfKind<
        K
      >[];
    },
  };
  for (const p of plugins) registry.use(p);
  building = false;
  for (const m of registry.list("modality")) {
    for (const d of m.datasets) validateDataset(registry, m, d);
  }
  return registry;
}

function isPluginLike(value: unknown): boolean {
  return typeof value === "object" && value !== null && "kind" in value;
}

/**
 * Imports a third-party plugin module by specifier (a file path, `file:`,
 * `https:`, `jsr:` or `npm:` URL) and returns the plugins it exports, each
 * validated like built-in ones. A module exports plugin objects as named
 * exports, or an array named `plugins`.
 *
 * @param specifier The module to import. A relative or absolute path is
 *   resolved against `base`.
 * @param base URL against which relative paths are resolved (the current directory by default).
 */
export async function loadPluginModule(specifier: string, base?: string | URL): Promise<Plugin[]> {
  let url: string;
  if (/^(https?|jsr|npm|file|data):/.test(specifier)) {
    url = specifier;
  } else {
    const root = base ?? (typeof Deno !== "undefined" ? `file://${Deno.cwd()}/` : undefined);
    if (root === undefined) {
      throw new TypeError(
        `Cannot load plugin module "${specifier}" as a relative path needs a base URL`,
      );
    }
    url = new URL(specifier, root).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importWithTimeout(url);
  } catch (cause) {
    throw new TypeError(`Cannot load plugin module "${specifier}": ${(cause as Error).message}`, {
      cause,
    });
  }
  const candidates: unknown[] = [];
  for (const [key, value] of Object.entries(mod)) {
    if (key === "plugins" && Array.isArray(value)) candidates.push(...value);
    else if (isPluginLike(value)) candidates.push(value);
  }
  if (candidates.length === 0) {
    throw new TypeError(
      `Cannot load plugin module "${specifier}" as it exports no plugin: expected named exports with a "kind" field or an array named "plugins"`,
    );
  }
  return candidates.map((c) => validatePlugin(c, specifier));
}

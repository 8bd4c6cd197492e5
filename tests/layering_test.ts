/**
 * The layering rules (docs/architecture.md), checked over the real module
 * graph that `deno info --json` reports for `cli.ts` and `mod.ts`:
 *
 * - `core/` imports only `core/`;
 * - `kernels/` and the format readers (`plugins/formats/`) import only
 *   `core/` (and themselves);
 * - a plugin (`plugins/<family>/<name>/`) never imports another plugin's
 *   implementation; importing a task's protocol *types*
 *   (`plugins/tasks/<task>/types.ts`) and type-only imports are allowed;
 *   formats and kernels are libraries any plugin may use;
 * - modalities never import each other, a task runner or a head;
 * - a task gets heads, adapters and metrics by name from the registry
 *   (no code import of `plugins/heads|adapters|metrics`);
 * - `cli/` talks to tasks only through the registry (no code import of
 *   `plugins/tasks/`).
 */

import assert from "node:assert/strict";

/** One import edge: from a repository path to another, code or type-only. */
export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function area(path: string): { top: string; family?: string; plugin?: string } {
  const parts = path.split("/");
  if (parts[0] !== "plugins") return { top: parts[0] };
  const family = parts[1];
  // plugins/<family>/<name>/..., or a family-level file or private folder
  // (mod.ts, _common.ts, _msd/) that the family's plugins share.
  const isPlugin = parts.length > 3 && !parts[2].startsWith("_");
  return { top: "plugins", family, plugin: isPlugin ? `${family}/${parts[2]}` : undefined };
}

/**
 * Families that are libraries any plugin may use: readers and writers of
 * file formats, and the EM post-processing (watershed, agglomeration).
 */
const LIBRARY_FAMILIES = new Set(["formats", "segment"]);
/**
 * The onnxruntime plumbing (runtime choice, sessions, the protobuf graph
 * builder) is a library too: the encoders and the heads' native CPU path
 * build and run their graphs with it.
 */
const LIBRARY_FILES = new Set([
  "plugins/encoders/onnx/proto.ts",
  "plugins/encoders/onnx/session.ts",
  "plugins/encoders/onnx/runtime.ts",
]);

/** The rule an edge breaks, or undefined. */
export function ruleBroken(e: Edge): string | undefined {
  const a = area(e.from);
  const b = area(e.to);
  if (a.top === "core" && b.top !== "core") return "core/ imports only core/";
  if (a.top === "kernels" && !(b.top === "core" || b.top === "kernels")) {
    return "kernels/ imports only core/ and kernels/";
  }
  if (a.family === "formats" && !(b.top === "core" || b.family === "formats")) {
    return "format readers import only core/ and formats";
  }
  if (a.top === "cli" && b.family === "tasks" && !e.typeOnly) {
    return "cli/ talks to tasks only through the registry";
  }
  if (a.top !== "plugins" || b.top !== "plugins" || e.typeOnly) return undefined;
  if (LIBRARY_FAMILIES.has(b.family!) || LIBRARY_FILES.has(e.to)) return undefined;
  if (b.family === "tasks" && e.to.endsWith("/types.ts")) return undefined; // protocol types
  if (a.family === "modalities" && (b.family === "tasks" || b.family === "heads")) {
    return "modalities never import a task runner or a head";
  }
  if (
    a.family === "modalities" && b.family === "modalities" && a.plugin && b.plugin &&
    a.plugin !== b.plugin
  ) {
    return "modalities never import each other";
  }
  if (
    a.family === "tasks" &&
    (b.family === "heads" || b.family === "adapters" || b.family === "metrics")
  ) {
    return "a task gets heads, adapters and metrics by name from the registry";
  }
  // Plugins of one family may share the family's private helpers (plugins/<family>/_x.ts).
  if (a.family === b.family && !b.plugin) return undefined;
  if (a.plugin && b.plugin && a.plugin !== b.plugin && a.family !== "builtin") {
    return "a plugin never imports another plugin's implementation";
  }
  return undefined;
}

async function edgesOf(entry: string): Promise<Edge[]> {
  const root = new URL("../", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
    }[];
  };
  const rel = (s: string) => s.startsWith(root.href) ? s.slice(root.href.length) : undefined;
  const edges: Edge[] = [];
  for (const m of graph.modules) {
    const from = rel(m.specifier);
    if (!from) continue;
    for (const d of m.dependencies ?? []) {
      const code = d.code?.specifier ? rel(d.code.specifier) : undefined;
      const type = d.type?.specifier ? rel(d.type.specifier) : undefined;
      if (code) edges.push({ from, to: code, typeOnly: false });
      else if (type) edges.push({ from, to: type, typeOnly: true });
    }
  }
  return edges;
}

Deno.test("ruleBroken() catches each kind of layering mistake", () => {
  const bad: [string, string][] = [
    ["core/run.ts", "plugins/metrics/bootstrap.ts"],
    ["kernels/matmul/matmul.ts", "plugins/heads/_common.ts"],
    ["plugins/formats/nifti/reader.ts", "plugins/modalities/ct/ctrate.ts"],
    ["plugins/modalities/pet/hecktor.ts", "plugins/modalities/ct/ctrate.ts"],
    ["plugins/modalities/_msd/msd.ts", "plugins/tasks/segmentation3d/mod.ts"],
    ["plugins/tasks/segmentation3d/mod.ts", "plugins/heads/decoder3d/mod.ts"],
    ["plugins/heads/abmil/model.ts", "plugins/heads/linear/probe.ts"],
    ["cli/eval.ts", "plugins/tasks/classification/mod.ts"],
  ];
  for (const [from, to] of bad) {
    assert.ok(ruleBroken({ from, to, typeOnly: false }), `${from} → ${to} must break a rule`);
  }
  const good: [string, string, boolean][] = [
    ["core/experiment.ts", "core/cache.ts", false],
    ["kernels/matmul/matmul.ts", "core/gpu.ts", false],
    ["plugins/modalities/_msd/msd.ts", "plugins/tasks/segmentation3d/types.ts", false],
    ["plugins/modalities/_msd/msd.ts", "plugins/formats/nifti/mod.ts", false],
    ["plugins/modalities/pet/_common.ts", "plugins/adapters/slice_stack/mod.ts", true],
    ["plugins/heads/abmil/model.ts", "plugins/heads/_common.ts", false],
    ["plugins/tasks/segmentation3d/mod.ts", "plugins/formats/nifti/mod.ts", false],
    ["cli/eval.ts", "core/experiment.ts", false],
  ];
  for (const [from, to, typeOnly] of good) {
    assert.equal(ruleBroken({ from, to, typeOnly }), undefined, `${from} → ${to}`);
  }
});

Deno.test("the module graph of cli.ts and mod.ts keeps the layering rules", async () => {
  const edges = [...await edgesOf("cli.ts"), ...await edgesOf("mod.ts")];
  assert.ok(edges.length > 200, `only ${edges.length} edges: the graph was not read`);
  const broken = [
    ...new Set(
      edges.flatMap((e) => {
        const rule = ruleBroken(e);
        return rule ? [`${e.from} → ${e.to}: ${rule}`] : [];
      }),
    ),
  ].sort();
  assert.deepEqual(broken, []);
});

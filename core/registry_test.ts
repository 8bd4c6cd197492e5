import assert from "node:assert/strict";
import { createRegistry, loadPluginModule, validatePlugin } from "./registry.ts";
import type { MetricPlugin } from "./plugin.ts";

const metric: MetricPlugin = {
  kind: "metric",
  name: "positives",
  description: "Count of positive targets",
  higherIsBetter: true,
  tasks: ["binary"],
  compute: (_p, t) => Float64Array.of((t as number[]).filter((v) => v > 0).length),
};

Deno.test("createRegistry() registers, lists and finds plugins by kind", () => {
  const r = createRegistry([metric]);
  assert.equal(r.get("metric", "positives"), metric);
  assert.equal(r.has("metric", "positives"), true);
  assert.equal(r.has("encoder", "positives"), false);
  assert.deepEqual(r.list("metric").map((p) => p.name), ["positives"]);
  assert.deepEqual(r.list("encoder"), []);
  assert.throws(() => r.get("encoder", "dinov3"), /Cannot find encoder plugin "dinov3".*none/);
});

Deno.test("createRegistry() rejects a duplicate name", () => {
  assert.throws(
    () => createRegistry([metric, { ...metric }]),
    /Cannot register metric plugin "positives" as a metric with this name is already registered/,
  );
});

Deno.test("validatePlugin() names the plugin and the missing or wrong field", () => {
  assert.throws(() => validatePlugin(null), /must be an object: current type is null/);
  assert.throws(
    () => validatePlugin({ kind: "decoder", name: "x" }),
    /field "kind" must be one of/,
  );
  assert.throws(
    () => validatePlugin({ ...metric, name: "Has Spaces" }),
    /field "name" must be a lowercase id/,
  );
  assert.throws(
    () => validatePlugin({ ...metric, compute: undefined }),
    /metric plugin "positives" as field "compute" must be a function: current type is undefined/,
  );
  assert.throws(
    () => validatePlugin({ ...metric, higherIsBetter: "yes" }),
    /field "higherIsBetter" must be a boolean: current type is string/,
  );
  assert.throws(
    () =>
      validatePlugin({
        kind: "modality",
        name: "us",
        description: "ultrasound",
        datasets: [{
          name: "busi",
          description: "d",
          task: "classification",
          problem: "binary",
          layout: [],
          protocol: {},
        }],
      }),
    /modality plugin "us" dataset "busi" as field "open" must be a function/,
  );
});

Deno.test("loadPluginModule() loads a plugin module from disk and rejects a malformed one", async () => {
  const dir = await Deno.makeTempDir();
  const good = `${dir}/good.ts`;
  await Deno.writeTextFile(
    good,
    `export const mean = { kind: "metric", name: "mean-score", description: "Mean score",
       higherIsBetter: true, tasks: ["binary"],
       compute: (p) => Float64Array.of(p.reduce((a, b) => a + b, 0) / p.length) };
     export const notAPlugin = 42;`,
  );
  const plugins = await loadPluginModule(good);
  assert.equal(plugins.length, 1);
  const r = createRegistry(plugins);
  assert.deepEqual([...r.get("metric", "mean-score").compute([1, 3], [])], [2]);

  const bad = `${dir}/bad.ts`;
  await Deno.writeTextFile(
    bad,
    `export const broken = { kind: "head", name: "mlp", description: "no methods", tasks: [] };`,
  );
  await assert.rejects(
    () => loadPluginModule(bad),
    /head plugin "mlp" from ".*bad.ts" as field "defaults" must be an object/,
  );
  const none = `${dir}/none.ts`;
  await Deno.writeTextFile(none, `export const x = 1;`);
  await assert.rejects(() => loadPluginModule(none), /exports no plugin/);
  await assert.rejects(() => loadPluginModule(`${dir}/missing.ts`), /Cannot load plugin module/);
  await Deno.remove(dir, { recursive: true });
});

// A toy task and the plugins that fit it, for the registration checks.
const toyTask = {
  kind: "task" as const,
  name: "toy-task",
  description: "toy",
  input: "vectors",
  problems: ["binary"],
  options: [],
  validateProtocol(protocol: { resolution: number }) {
    if (protocol.resolution > 1000) throw new TypeError("protocol.resolution must be <= 1000");
  },
  run: () => Promise.reject(new Error("not run")),
};
const toyAdapter = {
  kind: "adapter" as const,
  name: "toy-adapter",
  description: "toy",
  accepts: ["image"],
  create: () => ({ featureKinds: ["cls"], settings: {}, extract: () => Promise.resolve({}) }),
};
const toyHead = (name: string, input?: string) => ({
  kind: "head" as const,
  name,
  description: "toy",
  tasks: ["binary"],
  ...(input ? { input } : {}),
  defaults: {},
  create: () => ({}) as never,
  load: () => ({}) as never,
});
const toyModality = (protocol: Record<string, unknown>, task = "toy-task") => ({
  kind: "modality" as const,
  name: "toy",
  description: "toy",
  datasets: [{
    name: "set",
    description: "d",
    task,
    problem: "binary",
    layout: [],
    protocol: {
      adapter: "toy-adapter",
      heads: ["toy-head"],
      metrics: ["positives"],
      resolution: 224,
      feature: "cls",
      trainSplit: "train",
      testSplit: "test",
      ...protocol,
    },
    open: () => Promise.reject(new Error("no")),
    synthesize: () => Promise.resolve(),
  }],
});

Deno.test("createRegistry() checks each dataset's task and protocol at registration", () => {
  const base = [toyTask, toyAdapter, toyHead("toy-head"), toyHead("bag-head", "bags"), metric];
  // Order within the list does not matter: the modality may come first.
  const ok = createRegistry([toyModality({}), ...base] as never);
  assert.equal(ok.get("modality", "toy").datasets[0].task, "toy-task");
  assert.throws(
    () => createRegistry([...base, toyModality({}, "segment-everything")] as never),
    /dataset "toy\/set" as its task "segment-everything" must be a registered task plugin: registered tasks are "toy-task"/,
  );
  assert.throws(
    () => createRegistry([...base, toyModality({ heads: ["bag-head"] })] as never),
    /head "bag-head" does not fit task "toy-task" \(binary, input vectors\): heads that fit are "toy-head"/,
  );
  assert.throws(
    () => createRegistry([...base, toyModality({ metrics: ["dice"] })] as never),
    /metric "dice" is not registered: metrics that fit .* are "positives"/,
  );
  assert.throws(
    () => createRegistry([...base, toyModality({ adapter: "missing" })] as never),
    /adapter "missing" is not registered/,
  );
  assert.throws(
    () => createRegistry([...base, toyModality({ resolution: 4096 })] as never),
    /dataset "toy\/set": protocol.resolution must be <= 1000/,
  );
  // A modality added later with use() is checked at once.
  const later = createRegistry(base as never);
  assert.throws(
    () => later.use(toyModality({ heads: ["nope"] }) as never),
    /head "nope" is not registered/,
  );
});

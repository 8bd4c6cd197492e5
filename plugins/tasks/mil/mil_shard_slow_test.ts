// `extract --shard` for whole slides: two shards of milTask.extract fill the
// cache with the same bags as one process (whole slides per shard).
import assert from "node:assert/strict";
import { readChunks, resolveTask } from "../../../core/experiment.ts";
import { FeatureCache } from "../../../core/cache.ts";
import { createDefaultRegistry } from "../../builtin.ts";
import { synthesizeCamelyon16 } from "../../modalities/wsi/mod.ts";
import { createDinov3OnnxEncoder } from "../../encoders/dinov3/onnx.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

Deno.test({
  name: "mil extract(): whole slides per shard; two shards fill the cache as one process does",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe-mil-shard-" });
    const encoder = await createDinov3OnnxEncoder(`${ROOT}fixtures/dinov3_demo`);
    try {
      await synthesizeCamelyon16(`${dir}/c16`, {
        count: 4,
        testCount: 2,
        seed: 5,
        width: 768,
        height: 512,
      });
      const registry = createDefaultRegistry();
      const task = registry.get("task", "mil");
      const context = (cacheDir: string) =>
        resolveTask(registry, {
          dataset: "wsi/camelyon16",
          root: `${dir}/c16`,
          out: cacheDir,
          cacheDir,
          resolution: 112,
          batchSize: 8,
          adapterOptions: { tileSize: 128 },
          version: "test",
        }, encoder).context;
      const half = (k: number) => (samples: readonly { id: string }[]) =>
        samples.filter((_, i) => i % 2 === k) as never;
      const a = await task.extract!(context(`${dir}/sharded`), half(0));
      const b = await task.extract!(context(`${dir}/sharded`), half(1));
      const one = await task.extract!(context(`${dir}/one`), (s) => s);
      assert.equal(one.samples.length, 6);
      assert.deepEqual([...a.samples, ...b.samples].sort(), [...one.samples].sort());
      assert.equal(a.computed + b.computed, one.computed);
      const rerun = await task.extract!(context(`${dir}/one`), (s) => s);
      assert.deepEqual([rerun.computed, rerun.cached], [0, one.computed]);
      const sharded = await FeatureCache.open(`${dir}/sharded`, await keyOf(a.cacheDir));
      const whole = await FeatureCache.open(`${dir}/one`, await keyOf(one.cacheDir));
      for (const id of one.samples.filter((id) => !one.failed.some((f) => f.id === id))) {
        const x = await readChunks(sharded, id, "bag");
        const y = await readChunks(whole, id, "bag");
        assert.deepEqual(x.shape, y.shape, id);
        assert.deepEqual(x.data, y.data, id);
      }
      sharded.close();
      whole.close();
    } finally {
      encoder.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function keyOf(namespaceDir: string) {
  return JSON.parse(await Deno.readTextFile(`${namespaceDir}/key.json`)).key;
}

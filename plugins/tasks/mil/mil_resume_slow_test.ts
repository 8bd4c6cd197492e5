// A bag extraction killed with SIGKILL between chunks resumes inside the
// slide and ends with exactly the features of an uninterrupted run; two
// processes can fill one cache.
import assert from "node:assert/strict";
import { FeatureCache } from "../../../core/cache.ts";
import { FailureLog, readChunks } from "../../../core/experiment.ts";
import { createToyEncoder } from "../../../core/testdata/toy_extractor.ts";
import { writeSyntheticSlide } from "../../modalities/wsi/_synth.ts";
import { extractSlideBags } from "./mod.ts";
import { BAG_TEST_KEY, createBagTestAdapter } from "./testdata/bag_fixture.ts";

const CHILD = new URL("./testdata/bag_child.ts", import.meta.url).pathname;

function spawnChild(cache: string, slide: string, delayMs: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CHILD, cache, slide, String(delayMs)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function chunksIn(dir: string): Promise<number> {
  const cache = await FeatureCache.open(dir, BAG_TEST_KEY);
  await cache.refresh();
  const n = cache.ids().filter((id) => /#c\d+$/.test(id)).length;
  cache.close();
  return n;
}

async function extractHere(dir: string, slide: string) {
  const cache = await FeatureCache.open(dir, BAG_TEST_KEY);
  const adapter = createBagTestAdapter();
  const r = await extractSlideBags(
    { encoder: createToyEncoder(), resolution: 16, batchSize: 2, strict: true },
    adapter,
    cache,
    [{ id: "slide", load: () => Promise.resolve({ kind: "slide", path: slide }) }],
    new FailureLog(),
  );
  const bag = await readChunks(cache, "slide", "bag");
  const coords = await readChunks(cache, "slide", "coords");
  cache.close();
  return { r, bag, coords, decoded: adapter.stats.tilesDecoded };
}

Deno.test({
  name: "extractSlideBags() killed with SIGKILL resumes inside the slide with identical features",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "medprobe-bag-resume-" });
    const slide = `${dir}/slide.tif`;
    await writeSyntheticSlide(slide, { width: 1024, height: 768, seed: 3, tumour: true });
    try {
      const whole = await extractHere(`${dir}/whole`, slide);
      const total = whole.bag.shape[0];
      assert.ok(total > 12, `tiles ${total}`);
      const child = spawnChild(`${dir}/killed`, slide, 150);
      const t0 = Date.now();
      while ((await chunksIn(`${dir}/killed`)) < 2 && Date.now() - t0 < 60_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      const before = await chunksIn(`${dir}/killed`);
      assert.ok(before >= 2 && before < Math.ceil(total / 4), `chunks before resume ${before}`);
      const resumed = await extractHere(`${dir}/killed`, slide);
      assert.equal(resumed.r.computed, 1);
      assert.ok(resumed.decoded <= total - 4 * before, `decoded ${resumed.decoded} of ${total}`);
      assert.deepEqual(resumed.bag.shape, whole.bag.shape);
      assert.deepEqual(resumed.bag.data, whole.bag.data);
      assert.deepEqual(resumed.coords.data, whole.coords.data);
      // Two processes filling one cache end with the same bag.
      const a = spawnChild(`${dir}/shared`, slide, 20);
      const b = spawnChild(`${dir}/shared`, slide, 20);
      const [sa, sb] = await Promise.all([a.output(), b.output()]);
      assert.ok(
        sa.success && sb.success,
        new TextDecoder().decode(sa.stderr) + new TextDecoder().decode(sb.stderr),
      );
      const shared = await extractHere(`${dir}/shared`, slide);
      assert.equal(shared.r.cached, 1);
      assert.deepEqual(shared.bag.data, whole.bag.data);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

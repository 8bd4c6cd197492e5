// A child process for mil_resume_slow_test.ts: extracts the bag of one slide
// into a cache with a slowed-down toy encoder, so the parent can SIGKILL it
// between chunks. Usage: deno run -A bag_child.ts CACHE_DIR SLIDE DELAY_MS
import { FeatureCache } from "../../../../core/cache.ts";
import { FailureLog } from "../../../../core/experiment.ts";
import { createToyEncoder } from "../../../../core/testdata/toy_extractor.ts";
import { extractSlideBags } from "../mod.ts";
import { BAG_TEST_KEY, createBagTestAdapter } from "./bag_fixture.ts";

const [dir, slide, delayMs] = Deno.args;
const inner = createToyEncoder();
const encoder = {
  ...inner,
  async encode(pixels: Parameters<typeof inner.encode>[0]) {
    await new Promise((r) => setTimeout(r, Number(delayMs)));
    return inner.encode(pixels);
  },
};
const cache = await FeatureCache.open(dir, BAG_TEST_KEY);
const failures = new FailureLog();
const adapter = createBagTestAdapter();
const sample = {
  id: "slide",
  target: Float32Array.of(1),
  load: () => Promise.resolve({ kind: "slide", path: slide }),
};
const r = await extractSlideBags(
  { encoder, resolution: 16, batchSize: 2, strict: true },
  adapter,
  cache,
  [sample],
  failures,
);
Deno.stdout.writeSync(
  new TextEncoder().encode(`done computed=${r.computed} decoded=${adapter.stats.tilesDecoded}\n`),
);
cache.close();

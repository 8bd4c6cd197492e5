// A child process for core/extract_test.ts: extracts toy features into a
// cache and prints one line per event, so the parent can kill it mid-run.
// Usage: deno run -A core/testdata/extract_child.ts CACHE_DIR COUNT SHARD_SIZE DELAY_MS [FIRST]
import { FeatureCache } from "../cache.ts";
import { extractFeatures } from "../extract.ts";
import {
  createToyAdapter,
  createToyEncoder,
  TOY_KEY,
  toySamples,
  toyStats,
} from "./toy_extractor.ts";

const [dir, count, shardSize, delayMs, first] = Deno.args;
const encoder = createToyEncoder();
const cache = await FeatureCache.open(dir, TOY_KEY);
const all = toySamples(Number(count));
const samples = first ? all.slice(Number(first)).concat(all.slice(0, Number(first))) : all;
const enc = new TextEncoder();
const report = await extractFeatures({
  cache,
  samples,
  adapter: createToyAdapter(Number(delayMs)),
  context: { encoder, resolution: 16, batchSize: 1 },
  shardSize: Number(shardSize),
  onProgress(p) {
    const line = p.shard ? `shard ${p.shard}\n` : p.id ? `computed ${p.id}\n` : "";
    if (line) Deno.stdout.writeSync(enc.encode(line));
  },
});
Deno.stdout.writeSync(
  enc.encode(
    `done computed=${report.computed.length} skipped=${report.skipped} encoded=${toyStats.encodedImages}\n`,
  ),
);
cache.close();

// Shared by mil_resume_slow_test.ts and bag_child.ts: one adapter setting and cache key.
import type { FeatureCacheKey } from "../../../../core/cache.ts";
import { createTileBagAdapter, type TileBagAdapter } from "../../../adapters/tile_bag/mod.ts";

/** Small tiles and chunks of 4 tiles, so a slide has many chunks. */
export function createBagTestAdapter(): TileBagAdapter {
  return createTileBagAdapter({
    tileSize: 64,
    overviewDownsample: 8,
    minTissueAreaUm2: 50_000,
    chunkTiles: 4,
  });
}

/** The cache key the test and the child share. */
export const BAG_TEST_KEY: FeatureCacheKey = {
  dataset: "wsi/test",
  encoder: "toy-projection",
  weightsSha256: "0".repeat(63) + "1",
  preprocessing: {},
  resolution: 16,
  adapter: { name: "tile-bag", settings: createBagTestAdapter().settings },
};

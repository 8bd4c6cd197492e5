// deno-lint-ignore-file no-console
// Regenerates fixtures/dinov3_demo: a small DINOv3-architecture model with
// seeded RANDOM weights (not pretrained) for `medprobe demo` and tests.
// Usage: deno run -A tools/make_demo_weights.ts
import { parseDinov3Config } from "../plugins/encoders/dinov3/config.ts";
import { writeRandomDinov3 } from "../plugins/encoders/dinov3/weights.ts";

const dir = new URL("../fixtures/dinov3_demo", import.meta.url).pathname;
const config = parseDinov3Config({
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 512,
  image_size: 112,
});
await writeRandomDinov3(dir, config, 20251128);
console.log(`wrote ${dir}`);

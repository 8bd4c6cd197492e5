/**
 * An example third-party modality plugin: breast ultrasound, the BUSI
 * dataset (Al-Dhabyani et al., 2020) as downloaded, classified into benign,
 * malignant and normal with the report's 2D protocol (frozen CLS features,
 * linear probe or k-NN). It is the plugin `docs/plugins.md` walks through,
 * and `tests/example_plugin_test.ts` loads it by path and runs
 * `medprobe list`, `synth` and `eval` on it.
 *
 * Load it with `--plugin`:
 *
 * ```sh
 * medprobe list --plugin ./examples/ultrasound/mod.ts
 * medprobe synth us/busi --plugin ./examples/ultrasound/mod.ts --out busi/ --count 48
 * medprobe eval us/busi --plugin ./examples/ultrasound/mod.ts --data busi/ --weights W/
 * ```
 *
 * A plugin imports medprobe's **types** (and, as here, public helpers such
 * as the PNG reader) from the package root; it never imports another
 * plugin's implementation. In a published plugin the imports read
 * `jsr:@medprobe/medprobe` instead of the relative `../../mod.ts`.
 *
 * @module
 */

import type {
  Dataset,
  DatasetSpec,
  Image2D,
  ModalityPlugin,
  ProtocolDefaults,
  Sample,
  SynthOptions,
} from "../../mod.ts";
import { formats } from "../../mod.ts";

/** The classes, in target order (the target of a sample is its class index). */
export const BUSI_CLASSES: readonly string[] = ["benign", "malignant", "normal"];

/** The files `open` expects, as the BUSI archive unpacks. */
export const BUSI_LAYOUT: readonly string[] = [
  "Dataset_BUSI_with_GT/benign/benign (<n>).png (and benign (<n>)_mask.png, not read)",
  "Dataset_BUSI_with_GT/malignant/malignant (<n>).png",
  "Dataset_BUSI_with_GT/normal/normal (<n>).png",
];

/**
 * The protocol: the report's 2D classification protocol (CLS token, linear
 * probe first, k-NN second) at 224 px. BUSI has no official split, so the
 * split is a stable hash of the file name, 80 % train and 20 % test: the
 * same file always lands in the same split, on any machine.
 */
export const BUSI_PROTOCOL: ProtocolDefaults = {
  adapter: "image2d",
  heads: ["linear", "knn"],
  metrics: ["auc", "accuracy"],
  resolution: 224,
  feature: "cls",
  trainSplit: "train",
  testSplit: "test",
};

/** FNV-1a of a string mapped to [0, 1): a split that never changes. */
function hashUnit(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 4294967296;
}

/** A seeded generator in [0, 1) (mulberry32). */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IMAGE_NAME = /^(benign|malignant|normal) \((\d+)\)\.png$/;

async function listImages(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && IMAGE_NAME.test(e.name)) names.push(e.name);
  }
  return names.sort((a, b) => Number(a.match(IMAGE_NAME)![2]) - Number(b.match(IMAGE_NAME)![2]));
}

/**
 * Opens BUSI at `root` (the folder holding `Dataset_BUSI_with_GT/`, or that
 * folder itself). A folder that is not BUSI's layout throws
 * `Deno.errors.NotFound` saying what was expected.
 */
export async function openBusi(root: string): Promise<Dataset> {
  let base = `${root.replace(/\/+$/, "")}/Dataset_BUSI_with_GT`;
  try {
    await Deno.stat(base);
  } catch {
    base = root.replace(/\/+$/, "");
  }
  const samples: Record<string, Sample[]> = { train: [], test: [] };
  const missing: string[] = [];
  for (const [index, cls] of BUSI_CLASSES.entries()) {
    let names: string[];
    try {
      names = await listImages(`${base}/${cls}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      missing.push(`${cls}/`);
      continue;
    }
    for (const name of names) {
      const path = `${base}/${cls}/${name}`;
      const split = hashUnit(name) < 0.8 ? "train" : "test";
      samples[split].push({
        id: `${cls}/${name}`,
        target: Float32Array.of(index),
        path,
        load: (): Promise<Image2D> => formats.readImage(path),
      });
    }
  }
  if (missing.length > 0) {
    throw new Deno.errors.NotFound(
      `Cannot open dataset "us/busi" at "${root}" as its layout does not match: expected ${
        BUSI_LAYOUT.join("; ")
      }; missing ${missing.join(", ")}`,
    );
  }
  return {
    id: "us/busi",
    root,
    problem: "multiclass",
    labels: BUSI_CLASSES,
    splits: ["train", "test"],
    samples(split: string): readonly Sample[] {
      const list = samples[split];
      if (!list) {
        throw new RangeError(
          `Cannot list samples of "us/busi" as the split must be "train" or "test": current value is "${split}"`,
        );
      }
      return list;
    },
  };
}

/**
 * Writes a synthetic BUSI in the real layout: grey 8-bit PNGs with speckle,
 * where benign images hold a smooth dark oval, malignant ones an irregular
 * dark mass with a bright rim, and normal ones none (a signal a linear
 * probe on frozen features can learn). `count` images in all (default 48),
 * `size` pixels square (default 64), deterministic for a `seed`.
 */
export async function synthesizeBusi(root: string, options: SynthOptions = {}): Promise<void> {
  const count = options.count ?? 48;
  const size = (options as { size?: number }).size ?? 64;
  const rand = createRandom(options.seed ?? 0);
  const base = `${root.replace(/\/+$/, "")}/Dataset_BUSI_with_GT`;
  for (const cls of BUSI_CLASSES) await Deno.mkdir(`${base}/${cls}`, { recursive: true });
  const numbers: Record<string, number> = { benign: 0, malignant: 0, normal: 0 };
  for (let i = 0; i < count; i++) {
    const cls = BUSI_CLASSES[i % BUSI_CLASSES.length];
    const n = ++numbers[cls];
    const data = new Uint8Array(size * size);
    const cx = size * (0.35 + 0.3 * rand());
    const cy = size * (0.35 + 0.3 * rand());
    const rx = size * (0.12 + 0.08 * rand());
    const ry = size * (0.08 + 0.06 * rand());
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = 110 + 60 * rand() - 20 * (y / size); // speckle over a depth gradient
        const d = Math.hypot((x - cx) / rx, (y - cy) / ry);
        if (cls === "benign" && d < 1) v = 40 + 20 * rand();
        if (cls === "malignant") {
          const edge = 1 + 0.35 * Math.sin(7 * Math.atan2(y - cy, x - cx));
          if (d < edge) v = 30 + 25 * rand();
          else if (d < edge + 0.35) v = 210 + 40 * rand();
        }
        data[y * size + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    const name = `${cls} (${n}).png`;
    await Deno.writeFile(
      `${base}/${cls}/${name}`,
      formats.encodePng({ data, width: size, height: size, channels: 1 }),
    );
  }
}

/** BUSI as a dataset of this modality. */
export const busiDataset: DatasetSpec = {
  name: "busi",
  description:
    "BUSI breast ultrasound: benign / malignant / normal, 2D linear probe, 80/20 hash split",
  task: "classification",
  problem: "multiclass",
  layout: BUSI_LAYOUT,
  protocol: BUSI_PROTOCOL,
  open: (root: string) => openBusi(root),
  synthesize: synthesizeBusi,
};

/** The modality plugin: `us`, one dataset (`us/busi`). */
export const ultrasoundModality: ModalityPlugin = {
  kind: "modality",
  name: "us",
  description: "Ultrasound (example third-party plugin): BUSI breast lesions",
  datasets: [busiDataset],
};

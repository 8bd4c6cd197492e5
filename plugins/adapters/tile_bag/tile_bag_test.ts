import assert from "node:assert/strict";
import {
  assembleBag,
  closeMask,
  createTileBagAdapter,
  detectTissue,
  labelComponents,
  medianBlur,
  otsuThreshold,
  planTiles,
  renderAttentionHeatmap,
  renderTilesThumbnail,
  saturationOf,
  tileGridToJson,
} from "./mod.ts";
import { parsePng } from "../../formats/image/png.ts";
import { writeSyntheticSlide } from "../../modalities/wsi/_synth.ts";
import { createToyEncoder, toyStats } from "../../../core/testdata/toy_extractor.ts";
import type { FeatureRecord } from "../../../core/plugin.ts";

Deno.test("saturationOf() matches OpenCV's HSV saturation", () => {
  const s = saturationOf({
    data: Uint8Array.of(255, 0, 0, 200, 100, 100, 0, 0, 0, 80, 80, 80),
    width: 4,
    height: 1,
  });
  assert.deepEqual([...s], [255, 128, 0, 0]);
});

Deno.test("medianBlur() removes salt noise and keeps edges", () => {
  const w = 9, h = 9;
  const img = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 5; x < w; x++) img[y * w + x] = 200;
  img[2 * w + 2] = 255; // salt
  const out = medianBlur(img, w, h, 3);
  assert.equal(out[2 * w + 2], 0);
  assert.equal(out[4 * w + 4], 0);
  assert.equal(out[4 * w + 5], 200);
  assert.throws(() => medianBlur(img, w, h, 4), RangeError);
});

Deno.test("otsuThreshold() splits a bimodal histogram between the modes", () => {
  const v = new Uint8Array(200);
  v.fill(10, 0, 100);
  v.fill(90, 100);
  const t = otsuThreshold(v);
  assert.ok(t >= 10 && t < 90, `t=${t}`);
});

Deno.test("closeMask() fills a one-pixel gap; labelComponents() counts 8-connected objects", () => {
  const w = 7, h = 3;
  const m = new Uint8Array(w * h);
  for (let x = 0; x < w; x++) if (x !== 3) m[w + x] = 1;
  assert.equal(labelComponents(m, w, h, 1).sizes.length - 1, 2);
  const closed = closeMask(m, w, h, 3);
  assert.equal(closed[w + 3], 1);
  assert.equal(labelComponents(closed, w, h, 1).sizes.length - 1, 1);
});

Deno.test("detectTissue() removes small objects and fills small holes by area in µm²", () => {
  const w = 80, h = 60;
  const rgb = new Uint8Array(w * h * 3).fill(240);
  const pink = (x: number, y: number) => rgb.set([220, 120, 180], (y * w + x) * 3);
  for (let y = 10; y < 50; y++) for (let x = 10; x < 50; x++) pink(x, y); // 40×40 section
  for (let y = 28; y < 32; y++) {
    for (let x = 28; x < 32; x++) rgb.set([240, 240, 240], (y * w + x) * 3); // 4×4 hole
  }
  for (let y = 5; y < 8; y++) for (let x = 70; x < 73; x++) pink(x, y); // 3×3 speck
  // 10 µm/px: section 160,000 µm², hole 1,600 µm², speck 900 µm².
  const t = detectTissue({ data: rgb, width: w, height: h }, {
    mpp: 10,
    medianKernel: 1,
    closeKernel: 0,
    minTissueAreaUm2: 10_000,
    maxHoleAreaUm2: 5_000,
  });
  assert.equal(t.objects, 1);
  assert.equal(t.mask[30 * w + 30], 1, "small hole filled");
  assert.equal(t.mask[6 * w + 71], 0, "speck removed");
  assert.equal(t.tissuePixels, 1600);
  assert.equal(t.tissueAreaUm2, 160_000);
  const keepHole = detectTissue({ data: rgb, width: w, height: h }, {
    mpp: 10,
    medianKernel: 1,
    closeKernel: 0,
    minTissueAreaUm2: 10_000,
    maxHoleAreaUm2: 1_000,
  });
  assert.equal(keepHole.mask[30 * w + 30], 0, "large hole kept");
  const otsu = detectTissue({ data: rgb, width: w, height: h }, {
    mpp: 10,
    method: "otsu",
    minTissueAreaUm2: 10_000,
  });
  assert.ok(otsu.threshold < 116 && otsu.mask[20 * w + 20] === 1 && otsu.mask[0] === 0);
});

Deno.test("planTiles() keeps tiles by tissue fraction, at level 0 or at a requested µm/px", () => {
  // Mask at downsample 8 over a 1024×512 slide: the left half is tissue.
  const mw = 128, mh = 64;
  const mask = new Uint8Array(mw * mh);
  for (let y = 0; y < mh; y++) for (let x = 0; x < 64; x++) mask[y * mw + x] = 1;
  const slide = {
    width: 1024,
    height: 512,
    mpp: 0.25,
    levels: [{ downsample: 1 }, { downsample: 4 }],
  };
  const view = { mask, width: mw, height: mh, downsample: 8 };
  const g = planTiles(slide, view, { tileSize: 128 });
  assert.equal(g.gridTiles, 32);
  assert.equal(g.count, 16);
  assert.ok([...g.x].every((x) => x < 512));
  assert.equal(g.level, 0);
  assert.equal(g.mpp, 0.25);
  // 1 µm/px: 512 level-0 px per tile, read at level 1 (1 µm/px) as 128 px.
  const g1 = planTiles(slide, view, { tileSize: 128, mpp: 1 });
  assert.deepEqual([g1.level, g1.readSize, g1.level0Size, g1.count], [1, 128, 512, 1]);
  const json = tileGridToJson(g1, { id: "s", width: 1024, height: 512, mpp: 0.25 });
  assert.deepEqual(json.coords, [[0, 0]]);
  assert.equal(json.level, 1);
  assert.equal(json.mpp, 1);
  assert.throws(() => planTiles({ ...slide, mpp: undefined }, view, { mpp: 1 }), TypeError);
  assert.throws(() => planTiles(slide, view, { minTissueFraction: 2 }), RangeError);
});

const dir = await Deno.makeTempDir({ prefix: "medprobe-tilebag-" });
const slidePath = `${dir}/tumor.tif`;
await writeSyntheticSlide(slidePath, { width: 1024, height: 768, seed: 3, tumour: true });
const blankPath = `${dir}/blank.tif`;
await writeSyntheticSlide(blankPath, {
  width: 512,
  height: 512,
  seed: 4,
  tumour: false,
  tissue: false,
});
const options = { tileSize: 64, overviewDownsample: 8, minTissueAreaUm2: 50_000, chunkTiles: 7 };

Deno.test("tile-bag adapter: a bag per slide equal to encoding the tiles, in chunks or whole", async () => {
  const adapter = createTileBagAdapter(options);
  const encoder = createToyEncoder();
  const ctx = { encoder, resolution: 16, batchSize: 4 } as const;
  const p = await adapter.plan({ kind: "slide", path: slidePath });
  p.reader.close();
  assert.ok(p.grid.count > 20, `tiles ${p.grid.count}`);
  assert.ok(p.grid.count < p.grid.gridTiles, "background tiles dropped");
  const whole = await adapter.extract({ kind: "slide", path: slidePath }, ctx);
  assert.deepEqual(whole.bag.shape, [p.grid.count, 12]);
  assert.deepEqual(whole.coords.shape, [p.grid.count, 2]);
  assert.equal(whole.coords.data[2], p.grid.x[1]);
  assert.ok(adapter.stats.peakTilesHeld <= 2 * 4, `held ${adapter.stats.peakTilesHeld}`);
  assert.equal(adapter.stats.tilesDecoded, p.grid.count);
  // Chunks skipped are not decoded; the rest equal the whole bag's rows.
  const chunks: FeatureRecord[] = [];
  for await (
    const c of adapter.extractChunks({ kind: "slide", path: slidePath }, ctx, new Set([1]))
  ) {
    assert.notEqual(c.index, 1);
    chunks.push(c.features);
  }
  assert.equal(adapter.stats.tilesDecoded, p.grid.count - 7);
  const all: FeatureRecord[] = [];
  for await (const c of adapter.extractChunks({ kind: "slide", path: slidePath }, ctx)) {
    all.push(c.features);
  }
  assert.deepEqual(assembleBag(all).bag.data, whole.bag.data);
  assert.deepEqual(chunks[1].bag.data, all[2].bag.data);
  // A tile's feature is the encoder's patch mean of that tile.
  const before = toyStats.encodedImages;
  assert.ok(before > 0);
});

Deno.test("tile-bag adapter: a slide without tissue is an error naming it, never an empty bag", async () => {
  const adapter = createTileBagAdapter(options);
  await assert.rejects(
    () =>
      adapter.extract({ kind: "slide", path: blankPath }, {
        encoder: createToyEncoder(),
        resolution: 16,
        batchSize: 4,
      }),
    (e: Error) =>
      e.name === "FormatError" && /no tissue/.test(e.message) && e.message.includes("blank.tif"),
  );
  assert.throws(() => createTileBagAdapter({ tileSize: 0 }), RangeError);
  assert.throws(() => createTileBagAdapter({ bogus: 1 }), TypeError);
  await assert.rejects(
    () =>
      adapter.extract({ kind: "image" } as never, {
        encoder: createToyEncoder(),
        resolution: 16,
        batchSize: 4,
      }),
    TypeError,
  );
});

Deno.test("thumbnails: tissue contour and tiles, and an attention heatmap, as PNG", async () => {
  const adapter = createTileBagAdapter(options);
  const p = await adapter.plan({ kind: "slide", path: slidePath });
  p.reader.close();
  const view = p.overview.image;
  const png = parsePng(
    renderTilesThumbnail(view, { mask: p.mask, width: view.width, height: view.height }, p.grid, {
      downsample: p.overview.downsample,
    }),
    "t.png",
  );
  assert.deepEqual([png.width, png.height, png.channels], [view.width, view.height, 3]);
  // The first tile's top-left corner is outlined in blue.
  const d = p.overview.downsample;
  const o = ((p.grid.y[0] / d) * view.width + p.grid.x[0] / d) * 3;
  assert.deepEqual([...png.data.subarray(o, o + 3)], [30, 60, 255]);
  const att = Float32Array.from({ length: p.grid.count }, (_, i) => i);
  const heat = parsePng(renderAttentionHeatmap(view, p.grid, att, { downsample: d }), "h.png");
  const last = p.grid.count - 1;
  const c = (((p.grid.y[last] + 2 * d) / d) * view.width + (p.grid.x[last] + 2 * d) / d) * 3;
  assert.ok(heat.data[c] > heat.data[c + 2], "highest attention is red");
  assert.throws(() => renderAttentionHeatmap(view, p.grid, [1], { downsample: d }), RangeError);
  await Promise.resolve();
});

Deno.test("a single large JPEG slide: streamed tiles equal crops of the whole decoded image", async () => {
  const { renderSyntheticSlide } = await import("../../modalities/wsi/_synth.ts");
  const { writeJpegStream } = await import("../../formats/jpeg_stream/mod.ts");
  const { decodeJpeg } = await import("../../formats/_jpeg.ts");
  const img = renderSyntheticSlide({ width: 640, height: 480, seed: 5, tumour: true });
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await writeJpegStream(path, {
      width: img.width,
      height: img.height,
      rows: (y, n) => img.data.subarray(y * img.width * 3, (y + n) * img.width * 3),
    });
    const adapter = createTileBagAdapter({ ...options, tileSize: 64, overviewDownsample: 16 });
    const p = await adapter.plan({ kind: "slide", path, mpp: 4 } as never);
    assert.equal(p.reader.format, "jpeg");
    assert.equal(p.overview.downsample, 16);
    assert.ok(p.grid.count > 5, `tiles ${p.grid.count}`);
    const whole = decodeJpeg(await Deno.readFile(path), path);
    let n = 0;
    for await (const t of p.reader.readTiles(p.grid)) {
      const x0 = p.grid.x[t.index], y0 = p.grid.y[t.index];
      for (const [dx, dy] of [[0, 0], [63, 0], [17, 40], [63, 63]]) {
        const s = ((y0 + dy) * img.width + x0 + dx) * 3;
        const d = (dy * 64 + dx) * 3;
        assert.deepEqual([...t.rgb.subarray(d, d + 3)], [...whole.data.subarray(s, s + 3)]);
      }
      n++;
    }
    assert.equal(n, p.grid.count);
    p.reader.close();
    const bag = await adapter.extract({ kind: "slide", path, mpp: 4 } as never, {
      encoder: createToyEncoder(),
      resolution: 16,
      batchSize: 4,
    });
    assert.equal(bag.bag.shape[0], p.grid.count);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("tilesToBatch() equals core's imagesToBatch, with and without a resize", async () => {
  const { tilesToBatch } = await import("./mod.ts");
  const { imagesToBatch, IMAGENET_PREPROCESS } = await import("../../../core/image.ts");
  const tiles = [0, 1].map((k) =>
    Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37 + k * 11) % 256)
  );
  const images = tiles.map((data) => ({
    kind: "image" as const,
    data,
    width: 32,
    height: 32,
    channels: 3,
  }));
  for (const res of [32, 16]) {
    const fast = tilesToBatch(tiles, 32, res, IMAGENET_PREPROCESS);
    const ref = imagesToBatch(images, res, IMAGENET_PREPROCESS);
    assert.deepEqual(fast.shape, ref.shape);
    assert.deepEqual(fast.data, ref.data);
  }
});

Deno.test("TIFF tiles decoded by the streaming JPEG decoder equal the slide reader's own decoding", async () => {
  const { openSlide } = await import("../../formats/tiff/slide.ts");
  const adapter = createTileBagAdapter(options);
  const p = await adapter.plan({ kind: "slide", path: slidePath });
  const slide = await openSlide(slidePath);
  const picks = [0, Math.floor(p.grid.count / 2), p.grid.count - 1];
  for await (const t of p.reader.readTiles(p.grid, picks)) {
    const ref = await slide.readRegion({
      x: p.grid.x[t.index],
      y: p.grid.y[t.index],
      width: 64,
      height: 64,
    });
    assert.deepEqual(t.rgb, ref.data);
  }
  slide.close();
  p.reader.close();
});

Deno.test("a corrupt tile fails the slide with a FormatError naming the tile (never a silent bag)", async () => {
  const { readTiffStructure, getTiffBlocks } = await import("../../formats/tiff/ifd.ts");
  const { createBytesSource } = await import("../../formats/_io.ts");
  const bytes = await Deno.readFile(slidePath);
  const file = await readTiffStructure(createBytesSource(bytes, slidePath));
  const blocks = getTiffBlocks(file, file.ifds[0], "level 0");
  // Level 0 is 4×3 tiles of 256 px; tile 5 (column 1, row 1) lies in the tissue.
  const at = blocks.offsets[5], n = blocks.byteCounts[5];
  bytes.fill(0xff, at + Math.floor(n / 3), at + Math.floor(n / 3) + 64);
  const broken = `${dir}/corrupt.tif`;
  await Deno.writeFile(broken, bytes);
  const adapter = createTileBagAdapter(options);
  await assert.rejects(
    () =>
      adapter.extract({ kind: "slide", path: broken }, {
        encoder: createToyEncoder(),
        resolution: 16,
        batchSize: 4,
      }),
    (e: Error) =>
      e.name === "FormatError" && /Cannot read tile \d+/.test(e.message) &&
      e.message.includes("corrupt.tif"),
  );
});

Deno.test({
  name: "cleanup",
  fn: async () => await Deno.remove(dir, { recursive: true }),
});

/**
 * The report page in headless Chromium (Debian's `chromium`): no console
 * errors, no external requests, a screenshot with ink in the figures'
 * colours, and every text of every figure inside its figure as Chromium
 * lays it out with its own fonts (legends, titles and axis labels never
 * cut). Slow (a browser start): kept out of the fast tier.
 *
 * Chromium runs when /usr/bin/chromium exists, and must exist when
 * MEDPROBE_REQUIRE_CHROMIUM=1. MEDPROBE_REPORT_KEEP=DIR keeps the page, its
 * figures and the screenshot there.
 */

import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import { formatResultRecord } from "../core/result.ts";
import { writeReport } from "../plugins/report/mod.ts";
import { CHROMIUM_PATH, ChromiumSession, readPngSize } from "../plugins/report/_testing.ts";
import { listFiles, makeRecord, NIH_LABELS, writeSweep } from "./_report_fixtures.ts";

const requireChromium = Deno.env.get("MEDPROBE_REQUIRE_CHROMIUM") === "1";
let hasChromium = false;
try {
  hasChromium = Deno.statSync(CHROMIUM_PATH).isFile;
} catch { /* not installed */ }

Deno.test({
  name: "report.html opens in headless Chromium without console errors",
  ignore: !hasChromium && !requireChromium,
  async fn() {
    if (!hasChromium) {
      assert.fail(`MEDPROBE_REQUIRE_CHROMIUM=1 but ${CHROMIUM_PATH} does not exist`);
    }
    const root = await Deno.makeTempDir({ prefix: "medprobe_report_" });
    const browser = await ChromiumSession.launch();
    try {
      const inputs = await writeSweep(root);
      // A long legend entry (random-init weights) that must not be cut.
      for (const resolution of [224, 512]) {
        const dir = `${root}/sweep/nih14/random_${resolution}`;
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(
          `${dir}/result.json`,
          formatResultRecord(makeRecord({
            dataset: "xray/nih14",
            task: "multilabel",
            labels: NIH_LABELS,
            encoder: "dinov3-vitl16",
            resolution,
            head: "linear",
            macro: { auc: [0.55, 0.54, 0.56] },
            pretrained: false,
          })),
        );
      }
      await writeReport(inputs, `${root}/report`);
      // Every text of every figure lies inside its figure, as Chromium lays it out with its
      // own fonts: legends, axis labels and titles are never cut.
      const page = await browser.checkPage(`file://${root}/report/report.html`, {
        evaluate: `(() => {
          const out = [];
          let texts = 0;
          for (const svg of document.querySelectorAll("figure svg")) {
            const box = svg.getBoundingClientRect();
            for (const t of svg.querySelectorAll("text")) {
              const r = t.getBoundingClientRect();
              if (r.width === 0) continue;
              texts++;
              if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
                  r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
                out.push(t.textContent + " " + JSON.stringify([r.left, r.right, box.left, box.right]));
              }
            }
          }
          return { cut: out, texts };
        })()`,
      });
      const layout = page.evaluated as { cut: string[]; texts: number };
      assert.deepEqual(layout.cut, [], "texts outside their figure");
      assert.ok(layout.texts > 50, `texts measured: ${layout.texts}`);
      assert.ok(
        (await Deno.readTextFile(`${root}/report/report.html`)).includes(
          ">DINOv3-L (random init)<",
        ),
      );
      assert.deepEqual(page.errors, []);
      assert.deepEqual(page.externalRequests, []);
      const size = readPngSize(page.screenshot);
      assert.ok(size, "the screenshot is a PNG");
      assert.equal(size.width, 1200);
      assert.ok(
        size.height >= 900 && page.contentSize.height > 900,
        `page height ${page.contentSize.height}`,
      );
      // Not blank: a good share of the pixels are ink, and the figures' colours are there.
      const png = decodePng(page.screenshot);
      const ch = png.channels;
      let ink = 0;
      let blue = 0;
      for (let i = 0; i < png.data.length; i += ch) {
        const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
        if (r < 200 || g < 200 || b < 200) ink++;
        if (Math.abs(r - 0x4c) < 12 && Math.abs(g - 0x78) < 12 && Math.abs(b - 0xa8) < 12) blue++;
      }
      const pixels = png.data.length / ch;
      assert.ok(ink / pixels > 0.01, `ink share ${(ink / pixels).toFixed(4)}`);
      assert.ok(blue > 50, `pixels in the first encoder's colour: ${blue}`);
      const keep = Deno.env.get("MEDPROBE_REPORT_KEEP");
      if (keep) {
        await Deno.mkdir(`${keep}/plots`, { recursive: true });
        for (
          const f of [
            "report.html",
            "report.md",
            ...(await listFiles(`${root}/report/plots`)).map((f) => `plots/${f}`),
          ]
        ) {
          await Deno.copyFile(`${root}/report/${f}`, `${keep}/${f}`);
        }
        await Deno.writeFile(`${keep}/screenshot.png`, page.screenshot);
      }

      // The checks can fail: a page with a console error, an exception and an
      // external image is caught, and so is an external URL slipped into the
      // report (blocked by its Content-Security-Policy).
      await Deno.writeTextFile(
        `${root}/bad.html`,
        '<!DOCTYPE html><p>bad</p><img src="http://127.0.0.1:9/x.png">' +
          '<script>console.error("deliberate error"); throw new Error("deliberate exception");</script>',
      );
      const bad = await browser.checkPage(`file://${root}/bad.html`);
      assert.ok(bad.errors.some((e) => e.includes("deliberate error")), bad.errors.join("\n"));
      assert.ok(bad.errors.some((e) => e.includes("deliberate exception")), bad.errors.join("\n"));
      assert.deepEqual(bad.externalRequests, ["http://127.0.0.1:9/x.png"]);
      const html = await Deno.readTextFile(`${root}/report/report.html`);
      await Deno.writeTextFile(
        `${root}/report/leaky.html`,
        html.replace("</h1>", '</h1><img src="https://example.invalid/x.png">'),
      );
      const leaky = await browser.checkPage(`file://${root}/report/leaky.html`);
      assert.ok(
        leaky.errors.some((e) => /Content Security Policy/i.test(e)),
        leaky.errors.join("\n"),
      );
    } finally {
      await browser.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

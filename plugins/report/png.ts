/**
 * SVG figures to PNG at print resolution with resvg (WebAssembly, no
 * browser, no native code). Text needs a font file: resvg cannot see system
 * fonts from WebAssembly, so the first existing file of
 * {@linkcode FONT_CANDIDATES} (DejaVu Sans, Liberation Sans, Arial,
 * Helvetica) is loaded, or the fonts given in `fonts`.
 *
 * Uses `Deno.readFile` for the WebAssembly module and the fonts.
 *
 * @module
 */

import { createRequire } from "node:module";
import { initWasm, Resvg } from "@resvg/resvg-wasm";

/** Print resolution of the PNG figures, dots per inch (SVG user units are 1/96 inch). */
export const PRINT_DPI = 300;

/** Font files looked for, in order, when no font is given. */
export const FONT_CANDIDATES: readonly { path: string; family: string }[] = [
  { path: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", family: "DejaVu Sans" },
  { path: "/usr/share/fonts/dejavu/DejaVuSans.ttf", family: "DejaVu Sans" },
  { path: "/usr/share/fonts/TTF/DejaVuSans.ttf", family: "DejaVu Sans" },
  {
    path: "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    family: "Liberation Sans",
  },
  {
    path: "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    family: "Liberation Sans",
  },
  { path: "/System/Library/Fonts/Supplemental/Arial.ttf", family: "Arial" },
  { path: "/Library/Fonts/Arial.ttf", family: "Arial" },
  { path: "C:\\Windows\\Fonts\\arial.ttf", family: "Arial" },
];

let ready: Promise<void> | null = null;

function initResvg(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const path = require.resolve("@resvg/resvg-wasm/index_bg.wasm");
    await initWasm(await Deno.readFile(path));
  })();
  return ready;
}

/** Options of {@linkcode renderSvgToPng}. */
export interface PngOptions {
  /** Dots per inch. @default {300} */
  dpi?: number;
  /**
   * Font files (TTF/OTF) and the family name `sans-serif` maps to; the first
   * existing {@linkcode FONT_CANDIDATES} entry when absent.
   */
  fonts?: readonly { path: string; family: string }[];
}

/** A rendered PNG and what it was rendered with. */
export interface PngResult {
  /** The PNG file's bytes. */
  png: Uint8Array;
  /** Pixel size. */
  width: number;
  /** Pixel size. */
  height: number;
  /** The font files used; empty when none was found (text is then left out). */
  fonts: string[];
}

async function loadFonts(
  fonts: readonly { path: string; family: string }[],
): Promise<{ path: string; family: string; bytes: Uint8Array }[]> {
  const out: { path: string; family: string; bytes: Uint8Array }[] = [];
  for (const { path, family } of fonts) {
    try {
      out.push({ path, family, bytes: await Deno.readFile(path) });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return out;
}

/**
 * Renders an SVG document to PNG at `dpi` (300 by default: a 420-px-wide
 * figure becomes 1313 px, 4.4 inches at print resolution) on a white
 * background.
 *
 * @example A small figure
 * ```ts ignore
 * import { renderSvgToPng } from "./png.ts";
 *
 * const { png, width } = await renderSvgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="96" height="48"/>');
 * // width === 300
 * ```
 */
export async function renderSvgToPng(svg: string, options: PngOptions = {}): Promise<PngResult> {
  const dpi = options.dpi ?? PRINT_DPI;
  if (!(dpi > 0 && dpi <= 2400)) {
    throw new RangeError(
      `Cannot render PNG as dpi must be in (0, 2400]: current value is ${dpi}`,
    );
  }
  await initResvg();
  const fonts = options.fonts
    ? await loadFonts(options.fonts)
    : (await loadFonts(FONT_CANDIDATES)).slice(0, 1);
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: dpi / 96 },
    background: "white",
    font: {
      fontBuffers: fonts.map((f) => f.bytes),
      loadSystemFonts: false,
      ...(fonts.length > 0
        ? { defaultFontFamily: fonts[0].family, sansSerifFamily: fonts[0].family }
        : {}),
    },
  });
  try {
    const image = resvg.render();
    try {
      return {
        png: image.asPng(),
        width: image.width,
        height: image.height,
        fonts: fonts.map((f) => f.path),
      };
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}

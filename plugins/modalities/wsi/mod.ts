/**
 * The `wsi` modality: whole-slide pathology datasets in their downloaded
 * layouts — CAMELYON16 (`wsi/camelyon16`), CAMELYON17 (`wsi/camelyon17`)
 * and BCNB (`wsi/bcnb`) — with synthetic generators writing the same
 * layouts. Samples load as `{kind: "slide", path}`; the `tile-bag` adapter
 * tiles and encodes them and the `mil` task trains ABMIL on the bags.
 *
 * @example
 * ```ts ignore
 * import { wsiPlugin } from "./mod.ts";
 * const spec = wsiPlugin.datasets.find((d) => d.name === "camelyon16")!;
 * await spec.synthesize("c16", { count: 8, seed: 1 });
 * const ds = await spec.open("c16");
 * ds.samples("train").length; // 8
 * ```
 *
 * @module
 */

import type { ModalityPlugin } from "../../../core/plugin.ts";
import { camelyon16Dataset, camelyon17Dataset } from "./camelyon.ts";
import { bcnbDataset } from "./bcnb.ts";

export {
  CAMELYON16_DUPLICATE,
  CAMELYON16_LAYOUT,
  camelyon16Dataset,
  CAMELYON17_LAYOUT,
  CAMELYON17_SEEN_CENTERS,
  camelyon17Dataset,
  openCamelyon16,
  openCamelyon17,
  synthesizeCamelyon16,
  synthesizeCamelyon17,
  WSI_PROTOCOL,
  type WsiDataset,
} from "./camelyon.ts";
export {
  BCNB_LAYOUT,
  BCNB_TARGETS,
  bcnbDataset,
  bcnbLabel,
  openBcnb,
  readXlsxRows,
  synthesizeBcnb,
} from "./bcnb.ts";
export { createSlideRowRenderer, type SlideRowOptions } from "./_synth.ts";
export { renderSyntheticSlide, type SyntheticSlideOptions, writeSyntheticSlide } from "./_synth.ts";

/** The `wsi` modality plugin. */
export const wsiPlugin: ModalityPlugin = {
  kind: "modality",
  name: "wsi",
  description: "Whole-slide pathology: CAMELYON16, CAMELYON17 (unseen centres), BCNB",
  version: "0.1.0",
  datasets: [camelyon16Dataset, camelyon17Dataset, bcnbDataset],
};

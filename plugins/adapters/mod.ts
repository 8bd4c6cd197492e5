/**
 * The built-in adapters: `image2d` (2D image → CLS / mean token),
 * `slice-mean` (volume → per-slice features → mean) and `slice-stack`
 * (volume → stacked patch-feature maps for the 3D decoder).
 *
 * @module
 */

export {
  BASE_FEATURE_KINDS,
  createImage2dAdapter,
  type FeatureKind,
  featureKindsFor,
  featuresFromOutput,
  image2dAdapter,
  type Image2dOptions,
  IMAGE_FEATURE_KINDS,
  intermediateLayersFor,
  parseFeatureKind,
} from "./image2d/mod.ts";
export {
  createSliceMeanAdapter,
  SLICE_MEAN_DEFAULTS,
  sliceMeanAdapter,
  type SliceMeanOptions,
  windowSlice,
} from "./slice_mean/mod.ts";
export { sliceStackAdapter, type SliceStackOptions } from "./slice_stack/mod.ts";
export { createTileBagAdapter, tileBagAdapter, type TileBagOptions } from "./tile_bag/mod.ts";

/**
 * The built-in modality plugins: `xray` (NIH ChestX-ray14, RSNA Pneumonia),
 * `ct` (CT-RATE, MSD) and `pet` (AutoPET, HECKTOR).
 *
 * @module
 */

export { xrayPlugin } from "./xray/mod.ts";
export { ctPlugin } from "./ct/mod.ts";
export { mriPlugin } from "./mri/mod.ts";
export { petPlugin } from "./pet/mod.ts";
export { emPlugin } from "./em/mod.ts";
export { wsiPlugin } from "./wsi/mod.ts";

// A small, valid kernel spec for the GPU layer's tests.
import { SCALE_WGSL } from "../../kernels/elementwise/elementwise.wgsl.ts";

/** The elementwise scale kernel, as a pipeline spec. */
export const ELEMENTWISE_SCALE_SPEC = { label: "scale_cache_test", code: SCALE_WGSL } as const;

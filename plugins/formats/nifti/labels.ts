/**
 * Label maps stored as NIfTI (MSD, AutoPET, HECKTOR): read and checked
 * against the image grid and the class count.
 *
 * @module
 */

import { readNifti } from "./reader.ts";

/**
 * Reads a label map (NIfTI) and checks that it lies on the image grid
 * `[D, H, W]` and holds class indices in `[0, numClasses)`.
 * Uses `Deno.open` (read permission).
 */
export async function readLabelVolume(
  path: string,
  shape: readonly [number, number, number],
  numClasses: number,
): Promise<Uint8Array> {
  const image = await readNifti(path);
  const s = image.shape;
  const [d, h, w] = [s[2] ?? 1, s[1] ?? 1, s[0]];
  if (d !== shape[0] || h !== shape[1] || w !== shape[2] || s.slice(3).some((x) => x !== 1)) {
    throw new TypeError(
      `Cannot read labels "${path}" as they must lie on the image grid [${
        shape.join(", ")
      }] (D, H, W): current grid is [${[d, h, w].join(", ")}]`,
    );
  }
  const out = new Uint8Array(d * h * w);
  const src = image.data;
  const slope = image.scaling?.slope ?? 1;
  const inter = image.scaling?.inter ?? 0;
  for (let i = 0; i < out.length; i++) {
    const v = Number(src[i]) * slope + inter;
    const c = Math.round(v);
    if (!(Math.abs(v - c) < 1e-3 && c >= 0 && c < numClasses)) {
      throw new RangeError(
        `Cannot read labels "${path}" as voxels must hold class indices in [0, ${numClasses}): voxel ${i} holds ${v}`,
      );
    }
    out[i] = c;
  }
  return out;
}

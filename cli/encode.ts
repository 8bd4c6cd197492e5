/**
 * `medprobe encode` (DINOv3 features of images to a safetensors file) and
 * `medprobe pca` (the first three principal components of an image's patch
 * features as an RGB map beside the image: the report's Figures 4–5).
 *
 * `encode` images: PNG and JPEG (by magic bytes), DICOM (display window,
 * MONOCHROME1 inverted) and NIfTI (the middle slice of the first volume,
 * min–max scaled). `pca` also reads volumes and takes the slice and axis
 * you choose: NIfTI, DICOM series (a folder), TIFF stacks, HDF5 (EM,
 * `volumes/raw`), and puts a PET volume beside its CT, resliced onto the
 * same plane (`plugins/encoders/dinov3/pca_input.ts`). Grey images are
 * replicated to RGB; preprocessing is `core/image.ts` (antialiased bilinear
 * resize, ImageNet mean/std).
 *
 * @module
 */

import { type Command, InvalidArgumentError } from "commander";
import type { Encoder, Image2D } from "../core/plugin.ts";
import {
  imagesToBatch,
  resizeBilinear,
  type Resolution,
  targetSize,
  toUnitRange,
} from "../core/image.ts";
import { saveSafetensors } from "../core/safetensors.ts";
import { formatShape, type HostTensor } from "../core/tensor.ts";
import { FormatError } from "../core/errors.ts";
import {
  convertDicomToImage,
  convertNiftiToVolume,
  encodePng,
  parseDicom,
  parseImage,
  parseNifti,
} from "../plugins/formats/mod.ts";
import type { BackendRequest } from "../plugins/encoders/backend.ts";
import { createDinov3Encoder } from "../plugins/encoders/dinov3/mod.ts";
import { patchPca, scoresToRgb } from "../plugins/encoders/dinov3/pca.ts";
import {
  findHottestSlice,
  parseSliceAxis,
  type PcaInput,
  readPcaInput,
  readPetBeside,
  type SliceAxis,
} from "../plugins/encoders/dinov3/pca_input.ts";
import { positiveInt, say, VERSION } from "./common.ts";
import { resolveWeightsOption } from "./encoder.ts";

/**
 * Parses `--resolution`: a square side (`224`), `HxW` (`512x384`) or
 * `native` (each image's own size rounded to the patch size).
 *
 * @example
 * ```ts
 * import { parseResolution } from "./encode.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseResolution("224"), 224);
 * assert.deepEqual(parseResolution("512x384"), [512, 384]);
 * assert.equal(parseResolution("native"), "native");
 * assert.throws(() => parseResolution("big"));
 * ```
 */
export function parseResolution(value: string): Resolution {
  if (value === "native") return "native";
  const m = /^(\d+)(?:x(\d+))?$/.exec(value.trim());
  if (!m) {
    throw new InvalidArgumentError(
      `must be a size such as 224, HxW such as 512x384, or native: current value is "${value}"`,
    );
  }
  const h = Number(m[1]);
  const w = m[2] === undefined ? h : Number(m[2]);
  if (!(h > 0 && w > 0)) {
    throw new InvalidArgumentError(`must be positive: current value is "${value}"`);
  }
  return m[2] === undefined ? h : [h, w];
}

function backendOption(value: string): BackendRequest {
  if (!["webgpu", "onnx", "auto"].includes(value)) {
    throw new InvalidArgumentError(`must be webgpu, onnx or auto: current value is "${value}"`);
  }
  return value as BackendRequest;
}

function precisionOption(value: string): "f32" | "f16" {
  if (value !== "f32" && value !== "f16") {
    throw new InvalidArgumentError(`must be f32 or f16: current value is "${value}"`);
  }
  return value;
}

/** The middle slice of the first channel of a volume, as a grey image. */
function middleSlice(data: Float32Array, shape: readonly [number, number, number]): Image2D {
  const [D, H, W] = shape;
  const z = Math.floor(D / 2);
  return {
    kind: "image",
    data: data.slice(z * H * W, (z + 1) * H * W),
    width: W,
    height: H,
    channels: 1,
    intensity: "minmax",
  };
}

/**
 * Decodes an image file for the encoder by its content: PNG or JPEG,
 * DICOM (`DICM` at byte 128), or NIfTI (`.nii`/`.nii.gz`: middle slice).
 * Throws `FormatError` (with the path) for anything else.
 */
export async function readEncoderImage(path: string): Promise<Image2D> {
  const bytes = await Deno.readFile(path);
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isPng || isJpeg) return parseImage(bytes, path);
  const dicm = bytes.length > 132 &&
    String.fromCharCode(bytes[128], bytes[129], bytes[130], bytes[131]) === "DICM";
  if (dicm || /\.dcm$/i.test(path)) return convertDicomToImage(parseDicom(bytes, path));
  if (/\.nii(\.gz)?$/i.test(path)) {
    const volume = convertNiftiToVolume(parseNifti(bytes, path));
    return middleSlice(volume.data, volume.shape);
  }
  throw new FormatError(
    "Cannot read image as it is not PNG, JPEG, DICOM (.dcm or DICM at byte 128) or NIfTI (.nii, .nii.gz)",
    { path },
  );
}

/** Features of many images, one row per image, in input order. */
export interface EncodedImages {
  /** `[N, C]`. */
  cls: HostTensor;
  /** `[N, R, C]`. */
  registers: HostTensor;
  /** `[N, h, w, C]`. */
  patchTokens: HostTensor;
  /** `[N, C]`. */
  patchMean: HostTensor;
  /** Seconds spent in `encoder.encode` (decoding and preprocessing excluded). */
  encodeSeconds: number;
}

function stack(parts: HostTensor[], what: string): HostTensor {
  const shape = parts[0].shape.slice(1);
  for (const p of parts) {
    if (formatShape(p.shape.slice(1)) !== formatShape(shape)) {
      throw new RangeError(
        `Cannot stack ${what} as every image must give the same patch grid: shapes ${
          formatShape(parts[0].shape)
        } and ${formatShape(p.shape)}; use --resolution 224 (or HxW) instead of native`,
      );
    }
  }
  const data = new Float32Array(parts.reduce((s, p) => s + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [parts.reduce((s, p) => s + p.shape[0], 0), ...shape] };
}

/**
 * Encodes image files in batches of `batch` (images of one target size per
 * batch), keeping the argument order.
 */
export async function encodeImages(
  encoder: Encoder,
  paths: readonly string[],
  options: { resolution: Resolution; batch: number },
): Promise<EncodedImages> {
  const spec = encoder.preprocess;
  const out: { cls: HostTensor; registers: HostTensor; patches: HostTensor; mean: HostTensor }[] =
    [];
  let seconds = 0;
  for (let start = 0; start < paths.length; start += options.batch) {
    const images = await Promise.all(
      paths.slice(start, start + options.batch).map(readEncoderImage),
    );
    // One forward pass per target size (native sizes may differ).
    const sizes = images.map((im) =>
      targetSize(options.resolution, im.height, im.width, spec.sizeMultiple).join("x")
    );
    for (const size of new Set(sizes)) {
      const idx = sizes.flatMap((s, i) => s === size ? [i] : []);
      const batch = imagesToBatch(idx.map((i) => images[i]), options.resolution, spec);
      const t0 = performance.now();
      const r = await encoder.encode(batch);
      seconds += (performance.now() - t0) / 1000;
      idx.forEach((i, j) => {
        const row = (t: HostTensor): HostTensor => {
          const per = t.data.length / t.shape[0];
          return { data: t.data.slice(j * per, (j + 1) * per), shape: [1, ...t.shape.slice(1)] };
        };
        out[start + i] = {
          cls: row(r.cls),
          registers: row(r.registers),
          patches: row(r.patches),
          mean: row(r.patchMean),
        };
      });
    }
  }
  return {
    cls: stack(out.map((o) => o.cls), "cls"),
    registers: stack(out.map((o) => o.registers), "registers"),
    patchTokens: stack(out.map((o) => o.patches), "patch tokens"),
    patchMean: stack(out.map((o) => o.mean), "patch means"),
    encodeSeconds: seconds,
  };
}

/** Options of `medprobe encode`. */
interface EncodeCliOptions {
  weights: string;
  resolution: Resolution;
  batch: number;
  backend: BackendRequest;
  precision: "f32" | "f16";
  out: string;
}

/** Options of `medprobe pca` ({@linkcode writePcaFigure}). */
export interface PcaCliOptions {
  /** Weights folder, file or Hugging Face id. */
  weights: string;
  /** Encoder input size. */
  resolution: Resolution;
  /** Where the encoder runs. */
  backend: BackendRequest;
  /** The PNG to write. */
  out: string;
  /** Axis of the slice of a volume input. */
  axis?: SliceAxis;
  /** Slice index (middle when absent), or `"pet-max"`: the CT slice through the hottest PET voxel. */
  slice?: number | "pet-max";
  /** HDF5 dataset. */
  dataset?: string;
  /** Channel of a multi-channel volume. */
  channel?: number;
  /** Intensity window of the (first) input. */
  window?: [number, number];
  /** A PET volume to put beside the CT input, resliced onto its slice. */
  pet?: string;
  /** Intensity window of the PET. */
  petWindow?: [number, number];
}

/** What {@linkcode writePcaFigure} wrote. */
export interface PcaFigureResult {
  /** The PNG's size. */
  width: number;
  /** The PNG's size. */
  height: number;
  /** One line per row of the figure: what was shown and how much variance PC1–3 explain. */
  rows: { description: string; grid: [number, number]; explained: number[] }[];
  /** Encoder id and backend. */
  encoder: string;
}

function parseWindow(value: string): [number, number] {
  const m = /^\s*(-?[\d.eE+-]+)\s*,\s*(-?[\d.eE+-]+)\s*$/.exec(value);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new InvalidArgumentError(
      `must be LOW,HIGH with HIGH > LOW, e.g. -160,240 for CT soft tissue: current value is "${value}"`,
    );
  }
  return [lo, hi];
}

function parseAxis(value: string): SliceAxis {
  try {
    return parseSliceAxis(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function parseSliceOption(value: string): number | "pet-max" {
  return value === "pet-max" ? value : nonNegativeInt(value);
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(`must be an integer ≥ 0: current value is "${value}"`);
  }
  return n;
}

/**
 * Stacks figure rows (each `[H, 2W + 8, 3]`) vertically with an 8-pixel
 * white gap; rows narrower than the widest are padded white on the right.
 */
export function stackFigureRows(
  rows: readonly { data: Uint8Array; width: number; height: number }[],
): { data: Uint8Array; width: number; height: number } {
  const gap = 8;
  const width = Math.max(...rows.map((r) => r.width));
  const height = rows.reduce((s, r) => s + r.height, 0) + gap * (rows.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let y0 = 0;
  for (const r of rows) {
    for (let y = 0; y < r.height; y++) {
      data.set(r.data.subarray(y * r.width * 3, (y + 1) * r.width * 3), ((y0 + y) * width) * 3);
    }
    y0 += r.height + gap;
  }
  return { data, width, height };
}

/**
 * Reads the input(s), encodes each, and writes the PCA figure as PNG: one
 * row `[image | PC1–3 map]` per input (the CT, then the PET resliced onto
 * the CT's slice when `pet` is given).
 */
export async function writePcaFigure(path: string, opts: PcaCliOptions): Promise<PcaFigureResult> {
  const read = (slice?: number) =>
    readPcaInput(path, {
      axis: opts.axis,
      slice,
      dataset: opts.dataset,
      channel: opts.channel,
      window: opts.window,
    });
  let first: PcaInput;
  if (opts.slice === "pet-max") {
    if (!opts.pet) {
      throw new TypeError(
        'Cannot choose slice "pet-max" as it needs --pet: current options have no PET volume',
      );
    }
    const ct = await read();
    const pet = await readPcaInput(opts.pet, { axis: "z", slice: 0 });
    if (!ct.volume || !pet.volume) {
      throw new TypeError(
        'Cannot choose slice "pet-max" as the input and --pet must both be volumes (NIfTI or DICOM series)',
      );
    }
    first = await read(findHottestSlice(pet.volume, ct.volume, opts.axis ?? "z"));
  } else {
    first = await read(opts.slice);
  }
  const inputs: PcaInput[] = [first];
  if (opts.pet) inputs.push(await readPetBeside(opts.pet, inputs[0], { window: opts.petWindow }));
  const encoder = await createDinov3Encoder({
    weights: await resolveWeightsOption(opts.weights),
    backend: opts.backend,
  });
  try {
    const figures = [];
    const rows: PcaFigureResult["rows"] = [];
    for (const input of inputs) {
      const image = input.image;
      const size = targetSize(
        opts.resolution,
        image.height,
        image.width,
        encoder.preprocess.sizeMultiple,
      );
      const out = await encoder.encode(imagesToBatch([image], size, encoder.preprocess));
      const [, h, w] = out.patches.shape;
      const pca = patchPca(out.patches, 3);
      figures.push(composePcaFigure(image, scoresToRgb(pca.scores), [h, w], size));
      rows.push({ description: input.description, grid: [h, w], explained: pca.explained });
    }
    const figure = figures.length === 1 ? figures[0] : stackFigureRows(figures);
    await Deno.writeFile(opts.out, encodePng({ ...figure, channels: 3 }));
    return {
      width: figure.width,
      height: figure.height,
      rows,
      encoder: `${encoder.info.id} on ${encoder.info.backend}`,
    };
  } finally {
    encoder.dispose();
  }
}

/**
 * The image (resized to `H×W`, RGB) and the PCA map (nearest-upsampled to
 * `H×W`) side by side with an 8-pixel white gap: `[H, 2W + 8, 3]` bytes.
 */
export function composePcaFigure(
  image: Image2D,
  rgb: Uint8Array,
  grid: readonly [number, number],
  size: readonly [number, number],
): { data: Uint8Array; width: number; height: number } {
  const [H, W] = size;
  const [h, w] = grid;
  const keep = image.channels === 4 ? 3 : image.channels;
  const unit = toUnitRange(image);
  let src = unit;
  if (image.channels === 4) {
    src = new Float32Array(image.width * image.height * 3);
    for (let i = 0; i < image.width * image.height; i++) {
      for (let c = 0; c < 3; c++) src[i * 3 + c] = unit[i * 4 + c];
    }
  }
  const resized = resizeBilinear(src, image.height, image.width, keep, H, W);
  const gap = 8;
  const width = 2 * W + gap;
  const data = new Uint8Array(H * width * 3).fill(255);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        const v = resized[(y * W + x) * keep + (keep === 1 ? 0 : c)];
        data[(y * width + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        const gy = Math.min(h - 1, Math.floor((y * h) / H));
        const gx = Math.min(w - 1, Math.floor((x * w) / W));
        data[(y * width + W + gap + x) * 3 + c] = rgb[(gy * w + gx) * 3 + c];
      }
    }
  }
  return { data, width, height: H };
}

/** Registers `encode` and `pca`. */
export function registerEncodeCommands(program: Command): void {
  program
    .command("encode")
    .description(
      "Encode images (PNG, JPEG, DICOM, NIfTI middle slice) with DINOv3 and write cls, registers, patch_tokens and patch_mean (one row per image, in argument order) to a safetensors file",
    )
    .argument("<images...>", "image files")
    .requiredOption(
      "--weights <dir>",
      "folder with config.json and model.safetensors, or a Hugging Face id (facebook/dinov3-vits16-pretrain-lvd1689m)",
    )
    .requiredOption("--out <file>", "the .safetensors file to write")
    .option("--resolution <size>", "224, HxW (e.g. 512x384) or native", parseResolution, 224)
    .option("--batch <n>", "images per encoder call", positiveInt, 8)
    .option("--backend <name>", "webgpu, onnx or auto", backendOption, "auto")
    .option("--precision <p>", "f32 or f16 (f16 needs shader-f16)", precisionOption, "f32")
    .action(async (images: string[], opts: EncodeCliOptions) => {
      const t0 = performance.now();
      const encoder = await createDinov3Encoder({
        weights: await resolveWeightsOption(opts.weights),
        backend: opts.backend,
        precision: opts.precision,
      });
      const loadSeconds = (performance.now() - t0) / 1000;
      try {
        say(`encoder ${encoder.info.id} on ${encoder.info.backend}: ${encoder.info.backendReason}`);
        const r = await encodeImages(encoder, images, {
          resolution: opts.resolution,
          batch: opts.batch,
        });
        const f32 = (t: HostTensor) => ({ dtype: "F32" as const, shape: t.shape, data: t.data });
        await saveSafetensors(opts.out, {
          cls: f32(r.cls),
          registers: f32(r.registers),
          "patch_tokens": f32(r.patchTokens),
          "patch_mean": f32(r.patchMean),
        }, {
          medprobe: VERSION,
          encoder: encoder.info.id,
          backend: encoder.info.backend,
          "backend_reason": encoder.info.backendReason,
          "weights_sha256": encoder.info.weightsSha256,
          resolution: String(opts.resolution),
          images: JSON.stringify(images),
        });
        say(
          `wrote ${opts.out}: cls ${formatShape(r.cls.shape)}, registers ${
            formatShape(r.registers.shape)
          }, patch_tokens ${formatShape(r.patchTokens.shape)}, patch_mean ${
            formatShape(r.patchMean.shape)
          }`,
        );
        say(
          `encoder stage: ${images.length} images in ${r.encodeSeconds.toFixed(2)} s = ${
            (images.length / r.encodeSeconds).toFixed(3)
          } images/s (model load ${loadSeconds.toFixed(2)} s, decoding and preprocessing excluded)`,
        );
      } finally {
        encoder.dispose();
      }
    });

  program
    .command("pca")
    .description(
      "Write the first three principal components of an image's DINOv3 patch features as an RGB map beside the image (PNG); volumes at the slice and axis you choose, PET beside its CT",
    )
    .argument(
      "<input>",
      "PNG, JPEG or DICOM image; NIfTI volume; DICOM series folder; TIFF stack; HDF5 file",
    )
    .requiredOption(
      "--weights <dir>",
      "folder with config.json and model.safetensors, or a Hugging Face id (facebook/dinov3-vits16-pretrain-lvd1689m)",
    )
    .requiredOption("--out <file>", "the .png file to write")
    .option("--resolution <size>", "224, HxW (e.g. 512x384) or native", parseResolution, 448)
    .option("--backend <name>", "webgpu, onnx or auto", backendOption, "auto")
    .option(
      "--axis <axis>",
      "slice axis of a volume: z, y, x (axial, coronal, sagittal for axial-first volumes)",
      parseAxis,
      "z" as SliceAxis,
    )
    .option(
      "--slice <n>",
      "slice index along --axis, or pet-max: the CT slice through the hottest PET voxel (default: the middle one)",
      parseSliceOption,
    )
    .option("--dataset <path>", "HDF5 dataset (default: volumes/raw, raw or data)")
    .option("--channel <n>", "channel of a multi-channel volume (4D NIfTI)", nonNegativeInt, 0)
    .option(
      "--window <low,high>",
      "intensity window of the input, e.g. -160,240 for CT (default: 0.5–99.5th percentiles of the slice)",
      parseWindow,
    )
    .option(
      "--pet <file>",
      "PET volume (NIfTI or DICOM series) of the same case: resliced onto the CT slice and shown beside it",
    )
    .option(
      "--pet-window <low,high>",
      "intensity window of the PET, e.g. 0,10 for SUV (default: percentiles)",
      parseWindow,
    )
    .action(async (path: string, opts: PcaCliOptions) => {
      const r = await writePcaFigure(path, opts);
      say(`wrote ${opts.out} (${r.width}×${r.height}) with ${r.encoder}:`);
      for (const row of r.rows) {
        say(
          `  ${row.description}: ${row.grid[0]}×${row.grid[1]} patches, PC1-3 explain ${
            row.explained.map((e) => `${(100 * e).toFixed(1)}%`).join(", ")
          } of the patch-feature variance`,
        );
      }
    });
}

// This module is browser compatible.
/**
 * The JSON descriptor that turns a user's `.onnx` file into a medprobe
 * encoder: which input takes the pixels, how they are normalised, and
 * which outputs hold the CLS token, a pooled vector, all tokens, or a
 * patch/feature grid, in which layout. {@linkcode parseOnnxDescriptor}
 * checks the JSON itself; {@linkcode validateDescriptorAgainstModel}
 * checks it against the model's declared inputs and outputs.
 *
 * ```jsonc
 * {
 *   "name": "vit-b16-in21k",                  // encoder id in result records
 *   "model": "vit-b16.onnx",                  // optional, relative to the descriptor
 *   "input": { "name": "pixel_values", "size": 224, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
 *   "patchSize": 16,                          // pixels per token side (token models)
 *   "outputs": { "tokens": { "name": "last_hidden_state", "cls": true, "registers": 0 } }
 * }
 * ```
 *
 * Output kinds (at least one; `tokens` and `patches` exclude each other):
 * - `cls`: `{ name }`, a `[B, C]` CLS embedding.
 * - `pooled`: `{ name, layout: "BC" | "BC11" }`, a global-pooled vector (CNNs).
 * - `tokens`: `{ name, cls = true, registers = 0 }`, all tokens `[B, N, C]`:
 *   CLS first (when `cls`), then `registers`, then the patch tokens row-major.
 * - `patches`: `{ name, layout: "BNC" | "BHWC" | "BCHW" }`, patch tokens or a
 *   CNN feature map.
 *
 * @example
 * ```ts
 * import { parseOnnxDescriptor } from "./descriptor.ts";
 * import assert from "node:assert/strict";
 * const d = parseOnnxDescriptor({
 *   name: "resnet50",
 *   input: { name: "input", size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 *   outputs: { pooled: { name: "pooled", layout: "BC" } },
 * });
 * assert.deepEqual(d.input.size, [224, 224]);
 * assert.throws(() => parseOnnxDescriptor({ ...d, outputs: {} }), TypeError);
 * ```
 *
 * @module
 */

/** Layout of a `pooled` output. */
export type PooledLayout = "BC" | "BC11";

/** Layout of a `patches` output. */
export type PatchesLayout = "BNC" | "BHWC" | "BCHW";

/** A parsed, checked descriptor (defaults filled in). */
export interface OnnxDescriptor {
  /** Encoder id (lowercase, as plugin names). */
  readonly name: string;
  /** One sentence. */
  readonly description?: string;
  /** Model file, relative to the descriptor file. */
  readonly model?: string;
  /** The pixel input. */
  readonly input: {
    /** Input name in the model. */
    readonly name: string;
    /** Default input size `[H, W]`. */
    readonly size: readonly [number, number];
    /** Per-channel mean (R, G, B) of [0, 1] pixels. */
    readonly mean: readonly [number, number, number];
    /** Per-channel std (R, G, B). */
    readonly std: readonly [number, number, number];
    /** Sides must be multiples of this. @default {patchSize, else 1} */
    readonly sizeMultiple: number;
  };
  /** Pixels per token side, for `tokens` and `BNC` patches. */
  readonly patchSize?: number;
  /** Which outputs hold what. */
  readonly outputs: {
    /** `[B, C]` CLS embedding. */
    readonly cls?: { readonly name: string };
    /** Global-pooled vector. */
    readonly pooled?: { readonly name: string; readonly layout: PooledLayout };
    /** All tokens `[B, N, C]`: CLS, registers, patches. */
    readonly tokens?: { readonly name: string; readonly cls: boolean; readonly registers: number };
    /** Patch tokens or feature map. */
    readonly patches?: { readonly name: string; readonly layout: PatchesLayout };
  };
}

type Json = Record<string, unknown>;

function fail(what: string, must: string, value: unknown): never {
  throw new TypeError(
    `Cannot read ONNX descriptor as ${what} must be ${must}: current value is ${
      JSON.stringify(value) ?? String(value)
    }`,
  );
}

function obj(what: string, v: unknown, keys: readonly string[]): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(what, "an object", v);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k) && !k.startsWith("$") && k !== "comment") {
      throw new TypeError(
        `Cannot read ONNX descriptor as ${what} has unknown field "${k}": known fields are ${
          keys.join(", ")
        }`,
      );
    }
  }
  return v as Json;
}

function str(what: string, v: unknown): string {
  if (typeof v !== "string" || v.length === 0) fail(what, "a non-empty string", v);
  return v;
}

function posInt(what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) <= 0) fail(what, "a positive integer", v);
  return v as number;
}

function triple(what: string, v: unknown, positive: boolean): [number, number, number] {
  if (
    !Array.isArray(v) || v.length !== 3 ||
    !v.every((x) => typeof x === "number" && Number.isFinite(x) && (!positive || x > 0))
  ) {
    fail(what, `an array of 3 ${positive ? "positive " : ""}numbers (R, G, B)`, v);
  }
  return [v[0], v[1], v[2]];
}

function oneOf<T extends string>(what: string, v: unknown, options: readonly T[]): T {
  if (!options.includes(v as T)) fail(what, options.map((o) => `"${o}"`).join(" or "), v);
  return v as T;
}

/**
 * Parses and checks a descriptor object (types, required fields, unknown
 * fields, layouts). Throws `TypeError` naming the field and the value.
 * Fields starting with `$` and `comment` are ignored (for `$schema` and notes).
 */
export function parseOnnxDescriptor(json: unknown): OnnxDescriptor {
  const d = obj("the descriptor", json, [
    "name",
    "description",
    "model",
    "input",
    "patchSize",
    "outputs",
  ]);
  const name = str('"name"', d.name);
  if (!/^[a-z0-9][a-z0-9._/-]*$/.test(name)) {
    fail('"name"', "lowercase letters, digits and . _ / - (a plugin-style id)", name);
  }
  const description = d.description === undefined ? undefined : str('"description"', d.description);
  const model = d.model === undefined ? undefined : str('"model"', d.model);
  const patchSize = d.patchSize === undefined ? undefined : posInt('"patchSize"', d.patchSize);
  const i = obj('"input"', d.input, ["name", "size", "mean", "std", "sizeMultiple"]);
  let size: [number, number];
  if (Array.isArray(i.size)) {
    if (i.size.length !== 2) fail('"input.size"', "a positive integer or [H, W]", i.size);
    size = [posInt('"input.size[0]"', i.size[0]), posInt('"input.size[1]"', i.size[1])];
  } else {
    const s = posInt('"input.size"', i.size);
    size = [s, s];
  }
  const sizeMultiple = i.sizeMultiple === undefined
    ? patchSize ?? 1
    : posInt('"input.sizeMultiple"', i.sizeMultiple);
  if (size[0] % sizeMultiple !== 0 || size[1] % sizeMultiple !== 0) {
    fail('"input.size"', `a multiple of input.sizeMultiple (${sizeMultiple})`, i.size);
  }
  const input = {
    name: str('"input.name"', i.name),
    size,
    mean: triple('"input.mean"', i.mean, false),
    std: triple('"input.std"', i.std, true),
    sizeMultiple,
  } as const;

  const o = obj('"outputs"', d.outputs, ["cls", "pooled", "tokens", "patches"]);
  const outputs: {
    cls?: { name: string };
    pooled?: { name: string; layout: PooledLayout };
    tokens?: { name: string; cls: boolean; registers: number };
    patches?: { name: string; layout: PatchesLayout };
  } = {};
  if (o.cls !== undefined) {
    const c = obj('"outputs.cls"', o.cls, ["name"]);
    outputs.cls = { name: str('"outputs.cls.name"', c.name) };
  }
  if (o.pooled !== undefined) {
    const p = obj('"outputs.pooled"', o.pooled, ["name", "layout"]);
    outputs.pooled = {
      name: str('"outputs.pooled.name"', p.name),
      layout: oneOf('"outputs.pooled.layout"', p.layout ?? "BC", ["BC", "BC11"] as const),
    };
  }
  if (o.tokens !== undefined) {
    const t = obj('"outputs.tokens"', o.tokens, ["name", "cls", "registers"]);
    const cls = t.cls ?? true;
    if (typeof cls !== "boolean") fail('"outputs.tokens.cls"', "a boolean", cls);
    const registers = t.registers ?? 0;
    if (!Number.isInteger(registers) || (registers as number) < 0) {
      fail('"outputs.tokens.registers"', "a non-negative integer", registers);
    }
    outputs.tokens = {
      name: str('"outputs.tokens.name"', t.name),
      cls,
      registers: registers as number,
    };
  }
  if (o.patches !== undefined) {
    const p = obj('"outputs.patches"', o.patches, ["name", "layout"]);
    outputs.patches = {
      name: str('"outputs.patches.name"', p.name),
      layout: oneOf('"outputs.patches.layout"', p.layout, ["BNC", "BHWC", "BCHW"] as const),
    };
  }
  if (!outputs.cls && !outputs.pooled && !outputs.tokens && !outputs.patches) {
    fail('"outputs"', 'at least one of "cls", "pooled", "tokens", "patches"', o);
  }
  if (outputs.tokens && outputs.patches) {
    throw new TypeError(
      'Cannot read ONNX descriptor as "outputs.tokens" and "outputs.patches" exclude each other: tokens already hold the patch tokens',
    );
  }
  if ((outputs.tokens || outputs.patches?.layout === "BNC") && patchSize === undefined) {
    throw new TypeError(
      'Cannot read ONNX descriptor as "patchSize" is required with "outputs.tokens" or "BNC" patches: it maps tokens to the patch grid',
    );
  }
  if (patchSize !== undefined && (size[0] % patchSize !== 0 || size[1] % patchSize !== 0)) {
    fail('"input.size"', `a multiple of "patchSize" (${patchSize})`, i.size);
  }
  return { name, description, model, input, patchSize, outputs };
}

/** A declared model value, as onnxruntime reports it. */
export interface DeclaredValue {
  /** Name. */
  readonly name: string;
  /** Element type, e.g. `"float32"`. */
  readonly type: string;
  /** Shape: numbers fixed, strings symbolic, `[]` unknown. */
  readonly shape: readonly (number | string)[];
}

/** What the model's declarations tell about the encoder. */
export interface ModelCheck {
  /** Embedding width C when the model declares it. */
  readonly dim?: number;
  /** Whether the input's height and width are fixed (then only `input.size` works). */
  readonly fixedSize: boolean;
}

function fmt(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => typeof d === "string" ? d || "?" : d).join(", ")}]`;
}

/**
 * Checks a descriptor against the model's declared inputs and outputs:
 * names exist, the pixel input is the only input and is a float32
 * `[B, 3, H, W]` (fixed H, W must equal `input.size`), each output has the
 * rank of its layout, and the embedding widths agree. Throws `TypeError`
 * listing what the model actually has.
 */
export function validateDescriptorAgainstModel(
  d: OnnxDescriptor,
  inputs: readonly DeclaredValue[],
  outputs: readonly DeclaredValue[],
): ModelCheck {
  const where = `ONNX descriptor "${d.name}"`;
  const list = (vs: readonly DeclaredValue[]) =>
    vs.map((v) => `"${v.name}" ${v.type} ${fmt(v.shape)}`).join(", ");
  const input = inputs.find((v) => v.name === d.input.name);
  if (!input) {
    throw new TypeError(
      `Cannot use ${where} as input "${d.input.name}" is not in the model: model inputs are ${
        list(inputs)
      }`,
    );
  }
  const extra = inputs.filter((v) => v.name !== d.input.name);
  if (extra.length > 0) {
    throw new TypeError(
      `Cannot use ${where} as the model has inputs besides "${d.input.name}" that medprobe cannot feed: ${
        list(extra)
      }`,
    );
  }
  if (input.type !== "float32") {
    throw new TypeError(
      `Cannot use ${where} as input "${input.name}" must be float32: current type is ${input.type}`,
    );
  }
  let fixedSize = false;
  if (input.shape.length > 0) {
    const s = input.shape;
    if (s.length !== 4 || (typeof s[1] === "number" && s[1] !== 3)) {
      throw new TypeError(
        `Cannot use ${where} as input "${input.name}" must have shape [B, 3, H, W]: current shape is ${
          fmt(s)
        }`,
      );
    }
    for (const [axis, want] of [[2, d.input.size[0]], [3, d.input.size[1]]] as const) {
      if (typeof s[axis] === "number") {
        fixedSize = true;
        if (s[axis] !== want) {
          throw new TypeError(
            `Cannot use ${where} as "input.size" must match the model's fixed input ${
              fmt(s)
            }: current size is [${d.input.size.join(", ")}]`,
          );
        }
      }
    }
  }
  const dims: { what: string; dim: number }[] = [];
  const check = (kind: string, name: string, rank: number, channelAxis: number, layout: string) => {
    const v = outputs.find((o) => o.name === name);
    if (!v) {
      throw new TypeError(
        `Cannot use ${where} as output "${name}" (outputs.${kind}) is not in the model: model outputs are ${
          list(outputs)
        }`,
      );
    }
    if (v.type !== "float32") {
      throw new TypeError(
        `Cannot use ${where} as output "${name}" (outputs.${kind}) must be float32: current type is ${v.type}`,
      );
    }
    if (v.shape.length === 0) return v;
    if (v.shape.length !== rank) {
      throw new TypeError(
        `Cannot use ${where} as output "${name}" (outputs.${kind}) must have rank ${rank} for layout ${layout}: current shape is ${
          fmt(v.shape)
        }`,
      );
    }
    const c = v.shape[channelAxis];
    if (typeof c === "number") dims.push({ what: `"${name}" (outputs.${kind})`, dim: c });
    return v;
  };
  const o = d.outputs;
  if (o.cls) check("cls", o.cls.name, 2, 1, "[B, C]");
  if (o.pooled) {
    const v = check("pooled", o.pooled.name, o.pooled.layout === "BC" ? 2 : 4, 1, o.pooled.layout);
    if (
      o.pooled.layout === "BC11" && v.shape.length === 4 &&
      v.shape.slice(2).some((x) => typeof x === "number" && x !== 1)
    ) {
      throw new TypeError(
        `Cannot use ${where} as output "${v.name}" (outputs.pooled) must have shape [B, C, 1, 1] for layout BC11: current shape is ${
          fmt(v.shape)
        }`,
      );
    }
  }
  if (o.tokens) {
    const v = check("tokens", o.tokens.name, 3, 2, "BNC");
    const n = v.shape[1];
    if (fixedSize && typeof n === "number" && d.patchSize) {
      const want = (o.tokens.cls ? 1 : 0) + o.tokens.registers +
        (d.input.size[0] / d.patchSize) * (d.input.size[1] / d.patchSize);
      if (n !== want) {
        throw new TypeError(
          `Cannot use ${where} as output "${v.name}" must hold ${want} tokens (${
            o.tokens.cls ? "1 CLS + " : ""
          }${o.tokens.registers} registers + a ${d.input.size[0] / d.patchSize}x${
            d.input.size[1] / d.patchSize
          } grid): current shape is ${fmt(v.shape)}`,
        );
      }
    }
  }
  if (o.patches) {
    const l = o.patches.layout;
    check(
      "patches",
      o.patches.name,
      l === "BNC" ? 3 : 4,
      l === "BCHW" ? 1 : l === "BHWC" ? 3 : 2,
      l,
    );
  }
  const first = dims[0];
  for (const x of dims) {
    if (x.dim !== first.dim) {
      throw new TypeError(
        `Cannot use ${where} as every output must have the same embedding width: ${first.what} has ${first.dim}, ${x.what} has ${x.dim}`,
      );
    }
  }
  return { dim: first?.dim, fixedSize };
}

/**
 * Opening an encoder from CLI options: a named encoder plugin, or the model
 * described by the weights folder's `config.json` (DINOv3), with the backend
 * chosen by `--backend` (auto: WebGPU on a hardware adapter, ONNX otherwise).
 *
 * @module
 */

import type { Encoder } from "../core/plugin.ts";
import type { Registry } from "../core/registry.ts";
import { SafetensorsFile } from "../core/safetensors.ts";
import type { BackendRequest } from "../plugins/encoders/backend.ts";
import { resolveWeights } from "../plugins/encoders/hub.ts";
import { createProgress, type StageProgress } from "./progress.ts";

/** CLI options that select an encoder. */
export interface EncoderChoice {
  /** Encoder plugin name (`dinov3-vits16`, `onnx`...); default from the weights' config.json. */
  encoder?: string;
  /** Weights folder (HF layout), model file / descriptor, or a Hugging Face repository id (`org/name[@rev]`). */
  weights?: string;
  /** `webgpu`, `onnx` or `auto`. */
  backend?: BackendRequest;
  /** `f32` or `f16`. */
  precision?: "f32" | "f16";
  /** Id to record instead of the plugin's (e.g. a sweep label for a custom model). */
  encoderLabel?: string;
  /**
   * The feature the head will use: `last4`, `last4+mean` and `layer:N` need
   * intermediate blocks, which a DINOv3 ONNX graph must be built with.
   */
  feature?: string;
  /** Adapter options; their `feature`, when set, counts as `feature`. */
  adapterOptions?: Record<string, unknown>;
}

/** The blocks a DINOv3 encoder must be able to return for the chosen feature ([] for cls/mean). */
async function featureLayers(name: string, choice: EncoderChoice): Promise<number[]> {
  const feature = (choice.adapterOptions?.feature as string | undefined) ?? choice.feature;
  if (!feature || !name.startsWith("dinov3") || !choice.weights) return [];
  const { intermediateLayersFor, parseFeatureKind } = await import(
    "../plugins/adapters/_features.ts"
  );
  if (parseFeatureKind(feature).kind === "base") return [];
  const config = JSON.parse(
    await Deno.readTextFile(`${choice.weights.replace(/\/+$/, "")}/config.json`),
  );
  return intermediateLayersFor(feature, Number(config.num_hidden_layers));
}

/** An opened encoder and what the record says about its weights. */
export interface OpenedEncoder {
  /** The encoder. */
  encoder: Encoder;
  /** Weights folder and whether they are pretrained. */
  meta: { weights?: string; pretrained?: boolean };
}

/** True unless the checkpoint carries medprobe's "random weights" marker. */
async function isPretrained(weights: string): Promise<boolean | undefined> {
  try {
    const file = await SafetensorsFile.open(`${weights.replace(/\/+$/, "")}/model.safetensors`);
    const marker = file.header.metadata.medprobe ?? "";
    file.close();
    return !/random/i.test(marker);
  } catch {
    return undefined;
  }
}

/** Picks the encoder plugin for the options (explicit name, else from config.json). */
async function pluginName(registry: Registry, choice: EncoderChoice): Promise<string> {
  if (choice.encoder) return choice.encoder;
  if (!choice.weights) {
    throw new TypeError(
      "Cannot open an encoder as --weights must name a folder with config.json and model.safetensors (e.g. downloaded from facebook/dinov3-vits16-pretrain-lvd1689m)",
    );
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(
      await Deno.readTextFile(`${choice.weights.replace(/\/+$/, "")}/config.json`),
    );
  } catch (cause) {
    throw new TypeError(
      `Cannot open an encoder as ${choice.weights}/config.json could not be read: name the encoder with --encoder, or give a Hugging Face weights folder`,
      { cause },
    );
  }
  if (config.model_type === "dinov3_vit" || config.model_type === undefined) {
    return registry.has("encoder", "dinov3") ? "dinov3" : "dinov3-onnx";
  }
  throw new TypeError(
    `Cannot open an encoder for model_type "${config.model_type}": name one with --encoder (registered: ${
      registry.list("encoder").map((p) => p.name).join(", ")
    })`,
  );
}

/**
 * A `--weights` value as a local path: a Hugging Face repository id
 * (`org/name[@rev]`) becomes its snapshot folder in the hub cache,
 * downloaded (with a progress bar) when it is not there
 * (`plugins/encoders/hub.ts`). Local paths are returned as they are.
 */
export async function resolveWeightsOption(spec: string): Promise<string> {
  const progress = createProgress();
  const bars = new Map<string, StageProgress>();
  const mib = (n: number) => Math.ceil(n / 2 ** 20);
  try {
    return await resolveWeights(spec, {
      onProgress: (p) => {
        let bar = bars.get(p.file);
        if (!bar) {
          bar = progress(`download ${p.file}`, mib(p.total ?? p.received), "MiB");
          bars.set(p.file, bar);
        }
        bar.update(mib(p.received));
      },
    });
  } finally {
    for (const bar of bars.values()) bar.stop();
  }
}

/** The choice with `weights` resolved by {@linkcode resolveWeightsOption}. */
export async function resolveWeightsChoice(choice: EncoderChoice): Promise<EncoderChoice> {
  if (!choice.weights) return choice;
  const weights = await resolveWeightsOption(choice.weights);
  return weights === choice.weights ? choice : { ...choice, weights };
}

/** Opens the encoder the options describe. */
export async function openEncoder(
  registry: Registry,
  original: EncoderChoice,
): Promise<OpenedEncoder> {
  const choice = await resolveWeightsChoice(original);
  const name = await pluginName(registry, choice);
  let encoder: Encoder;
  const layers = await featureLayers(name, choice);
  const inter = layers.length > 0 ? { intermediateLayers: layers } : {};
  if (name === "dinov3-onnx") {
    const { createDinov3OnnxEncoder } = await import("../plugins/encoders/dinov3/onnx.ts");
    encoder = await createDinov3OnnxEncoder(choice.weights!, {
      backendReason: "the WebGPU DINOv3 plugin is not registered",
      ...inter,
    });
  } else {
    encoder = await registry.get("encoder", name).create({
      weights: choice.weights,
      backend: choice.backend ?? "auto",
      precision: choice.precision ?? "f32",
      ...inter,
    });
  }
  const pretrained = choice.weights ? await isPretrained(choice.weights) : undefined;
  if (choice.encoderLabel && choice.encoderLabel !== encoder.info.id) {
    encoder = relabel(encoder, choice.encoderLabel);
  }
  return { encoder, meta: { weights: choice.weights, pretrained } };
}

/** The same encoder recorded (and cached) under another id. */
function relabel(inner: Encoder, id: string): Encoder {
  return {
    info: { ...inner.info, id },
    // the model config (depth) stays visible to adapters that choose blocks
    ...("config" in inner ? { config: (inner as { config: unknown }).config } : {}),
    preprocess: inner.preprocess,
    encode: (pixels, options) => inner.encode(pixels, options),
    dispose: () => inner.dispose(),
  };
}

// This module is browser compatible.
/**
 * The few domain errors of medprobe. Programmer errors use the built-in
 * `TypeError` and `RangeError`; unreadable input uses {@linkcode FormatError};
 * only conditions a caller is expected to catch get a class of their own.
 *
 * @module
 */

/** Options of {@linkcode FormatError}. */
export interface FormatErrorOptions extends ErrorOptions {
  /** The file (or other source name) that could not be read. */
  path?: string;
  /** Byte offset in the file where the problem was found, when known. */
  offset?: number;
}

/**
 * Input that cannot be parsed: a truncated file, a wrong magic number, a
 * header that disagrees with the data. Carries the file path and, when known,
 * the byte offset (like std's `XmlSyntaxError`).
 *
 * @example Catching a format error
 * ```ts
 * import { FormatError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new FormatError("Cannot read header as it is truncated", { path: "a.nii", offset: 12 });
 * assert.equal(error.name, "FormatError");
 * assert.equal(error.path, "a.nii");
 * assert.ok(error instanceof SyntaxError);
 * ```
 */
export class FormatError extends SyntaxError {
  /** The file (or source name) that could not be read. */
  readonly path: string | undefined;
  /** The byte offset of the problem, when known. */
  readonly offset: number | undefined;
  /** The error name. */
  override name = "FormatError";

  /** Creates a format error; the message should name what was expected. */
  constructor(message: string, options: FormatErrorOptions = {}) {
    const where = options.path === undefined
      ? ""
      : ` (${options.path}${options.offset === undefined ? "" : ` at byte ${options.offset}`})`;
    super(message + where, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    this.offset = options.offset;
  }
}

/**
 * No WebGPU adapter could be obtained. The message says how to get one; a
 * caller may fall back to the CPU references or the ONNX backend.
 */
export class GpuUnavailableError extends Error {
  /** The error name. */
  override name = "GpuUnavailableError";
}

/** The GPU device was lost; pending work was rejected with this error. */
export class DeviceLostError extends Error {
  /** The error name. */
  override name = "DeviceLostError";
  /** The reason reported by the device (`"destroyed"` or `"unknown"`). */
  readonly reason: string;

  /** Creates the error from the device's loss reason and message. */
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(`GPU device lost (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** One message of a WGSL compiler, as in `GPUCompilationMessage`. */
export interface CompilationMessage {
  /** `"error"`, `"warning"` or `"info"`. */
  type: string;
  /** The compiler's text. */
  message: string;
  /** 1-based line in the WGSL source (0 when unknown). */
  lineNum: number;
  /** 1-based column in the WGSL source (0 when unknown). */
  linePos: number;
}

/**
 * A WGSL module or compute pipeline failed to compile or validate. Carries
 * the kernel label and the compiler's messages.
 */
export class ShaderCompilationError extends Error {
  /** The error name. */
  override name = "ShaderCompilationError";
  /** The label of the kernel that failed (e.g. `"layer_norm"`). */
  readonly label: string;
  /** The compiler messages (`getCompilationInfo()`), errors first. */
  readonly messages: readonly CompilationMessage[];

  /** Creates the error for a kernel label with its compiler messages. */
  constructor(
    label: string,
    messages: readonly CompilationMessage[],
    detail = "",
    options?: ErrorOptions,
  ) {
    const lines = messages.map((m) => `  ${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`);
    super(
      `Cannot compile kernel "${label}"${detail ? `: ${detail}` : ""}${
        lines.length ? "\n" + lines.join("\n") : ""
      }`,
      options,
    );
    this.label = label;
    this.messages = messages;
  }
}

/**
 * A request that cannot be run as asked: an unknown dataset, a head or
 * metric that does not fit the task, an option out of range. Raised before
 * any work starts; the CLI shows the relevant help and exits 2 (runtime
 * failures exit 1).
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new UsageError('Cannot use head "abmil"', { help: "eval" });
 * assert.equal(e.name, "UsageError");
 * assert.equal(e.help, "eval");
 * ```
 */
export class UsageError extends TypeError {
  /** The error name. */
  override name = "UsageError";
  /** The command whose help is relevant (e.g. `"eval"`), when known. */
  readonly help: string | undefined;

  /** Creates a usage error; the message names the value, the rule and what fits. */
  constructor(message: string, options: ErrorOptions & { help?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.help = options.help;
  }
}

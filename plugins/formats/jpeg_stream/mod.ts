/**
 * Streaming baseline JPEG decoding (placeholder until the decoder lands).
 *
 * @module
 */

/** A band of decoded rows. */
export interface JpegBand {
  /** First row. */
  y: number;
  /** Rows. */
  height: number;
  /** Samples, `height * width * channels`. */
  data: Uint8Array;
  /** 1 or 3. */
  channels: number;
}

/** An open streaming JPEG. */
export interface JpegStream {
  /** Width. */
  readonly width: number;
  /** Height. */
  readonly height: number;
  /** Bands top to bottom. */
  bands(): AsyncGenerator<JpegBand>;
  /** Closes the file. */
  close(): void;
}

/** Opens a JPEG file for streaming. */
export function openJpegStream(path: string): Promise<JpegStream> {
  return Promise.reject(new TypeError(`Cannot stream "${path}" as the decoder is not built yet`));
}

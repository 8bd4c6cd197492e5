/** Types of the vendored jpeg-js decoder (`_jpeg_decoder.js`). Private to `plugins/formats`. */
export declare function decode(
  jpegData: Uint8Array | ArrayBuffer,
  opts: {
    useTArray: true;
    colorTransform?: boolean;
    formatAsRGBA?: boolean;
    tolerantDecoding?: boolean;
    maxResolutionInMP?: number;
    maxMemoryUsageInMB?: number;
  },
): { width: number; height: number; data: Uint8Array; comments?: string[] };

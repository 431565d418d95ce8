/**
 * Image types shared by the whole runtime. Pure types (no Node imports), so the browser demo can
 * use the same detector and crop code.
 */

/** Decoded pixels: 8-bit RGB, interleaved, row by row from the top-left corner. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Raw pixels handed over by the caller (e.g. a video frame or a canvas' RGBA data). */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Anything `loadImage` accepts: a file path, encoded bytes (JPEG, PNG, WebP, GIF's first frame,
 * TIFF, AVIF — whatever sharp decodes), or raw pixels.
 */
export type ImageInput = string | Uint8Array | RawImage | RgbImage;

export type ImageErrorCode = 'empty' | 'corrupt' | 'unsupported' | 'too_large' | 'unreadable';

/** A clear, one-line reason why an input cannot be used as an image. */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

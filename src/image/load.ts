/**
 * `loadImage`: any supported input → 8-bit RGB pixels, upright (EXIF orientation applied).
 * Everything that can go wrong with an input becomes an `ImageError` with a one-line message;
 * oversized images are rejected from their header, before any pixel is decoded.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { ImageError, type ImageInput, type RawImage, type RgbImage } from './types.js';

export { ImageError, type ImageErrorCode, type ImageInput, type RawImage, type RgbImage } from './types.js';

export interface LoadImageOptions {
  /** Largest accepted width × height (default 100 megapixels). */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;

export async function loadImage(input: ImageInput, options: LoadImageOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof input === 'string') return decode(await readImageFile(input), maxPixels, input);
  if (input instanceof Uint8Array) return decode(input, maxPixels);
  if (isPixelObject(input)) return fromRaw(input, maxPixels);
  throw new ImageError('unsupported', 'expected a file path, encoded image bytes or {data, width, height}');
}

function isPixelObject(input: unknown): input is RawImage | RgbImage {
  const candidate = input as Partial<RawImage> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    (candidate.data instanceof Uint8Array || candidate.data instanceof Uint8ClampedArray) &&
    typeof candidate.width === 'number' &&
    typeof candidate.height === 'number'
  );
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (error as Error).message;
    throw new ImageError('unreadable', `${path}: ${reason}`);
  }
}

function checkSize(width: number, height: number, maxPixels: number, label: string): void {
  if (width * height > maxPixels) {
    throw new ImageError(
      'too_large',
      `${label}${width}×${height} pixels is more than the limit of ${maxPixels.toLocaleString('en-US')} pixels`,
    );
  }
}

async function decode(bytes: Uint8Array, maxPixels: number, path?: string): Promise<RgbImage> {
  const label = path ? `${path}: ` : '';
  if (bytes.length === 0) throw new ImageError('empty', `${label}the image is empty (0 bytes)`);

  // The header alone says the format and size: refuse huge images before decoding a pixel.
  let header: Metadata;
  try {
    header = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(error, label);
  }
  if (!header.width || !header.height) throw new ImageError('corrupt', `${label}the image has no size`);
  checkSize(header.width, header.height, maxPixels, label);

  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate() // apply EXIF orientation
      .toColourspace('srgb')
      .flatten() // alpha onto black; grey becomes R = G = B
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels after decoding`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    throw decodeError(error, label);
  }
}

function decodeError(error: unknown, label: string): ImageError {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format/i.test(message)) {
    return new ImageError('unsupported', `${label}not an image (or a format that cannot be decoded)`);
  }
  if (/pixel limit/i.test(message)) return new ImageError('too_large', `${label}${message}`);
  const firstLine = message.split('\n')[0].trim();
  return new ImageError('corrupt', `${label}corrupt image (${firstLine})`);
}

function fromRaw(raw: RawImage | RgbImage, maxPixels: number): RgbImage {
  const { width, height } = raw;
  const channels = 'channels' in raw ? raw.channels : 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError('corrupt', `raw image: invalid size ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4)
    throw new ImageError('unsupported', `raw image: ${channels} channels (expected 3 or 4)`);
  checkSize(width, height, maxPixels, 'raw image: ');
  if (raw.data.length !== width * height * channels) {
    throw new ImageError(
      'corrupt',
      `raw image: ${raw.data.length} bytes do not match ${width}×${height}×${channels}`,
    );
  }
  if (channels === 3) {
    const data =
      raw.data instanceof Uint8Array
        ? raw.data
        : new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
    return { data, width, height };
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let pixel = 0, source = 0, target = 0; pixel < width * height; pixel++, source += 4, target += 3) {
    rgb[target] = raw.data[source];
    rgb[target + 1] = raw.data[source + 1];
    rgb[target + 2] = raw.data[source + 2];
  }
  return { data: rgb, width, height };
}

/**
 * `loadImage`: any supported input → 8-bit RGB pixels, upright (EXIF orientation applied).
 * Everything that can go wrong with an input becomes an `ImageError` with a one-line message in
 * our words (never a decoder's). Hostile input is bounded before any pixel is decoded: files must
 * be regular and under a byte limit, the format is sniffed from the first bytes and must be on an
 * allow-list, the pixel count is checked from the header, and decoding has a time limit.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { formatName, RASTER_FORMATS, SNIFF_BYTES, sniffFormat, type ImageFormat } from './format.js';
import { isSrgbProfile } from './icc.js';
import { ImageError, type ImageInput, type RawImage, type RgbImage } from './types.js';

export { ImageError, type ImageErrorCode, type ImageInput, type RawImage, type RgbImage } from './types.js';
export { RASTER_FORMATS, sniffFormat, type ImageFormat } from './format.js';

export interface LoadImageOptions {
  /** Largest accepted width × height (default 100 megapixels), checked from the header. */
  maxPixels?: number;
  /** Largest accepted file, in bytes (default 256 MiB), checked before reading it. */
  maxBytes?: number;
  /** Decoding stops with `too_large` after this many seconds (default 15). */
  timeoutSeconds?: number;
  /**
   * Formats to accept (default `RASTER_FORMATS`: JPEG, PNG, WebP, GIF, TIFF, AVIF). Adding
   * `'svg'` renders SVG with librsvg: for trusted files only, as the time limit cannot interrupt
   * a render in progress.
   */
  formats?: readonly ImageFormat[];
}

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_TIMEOUT_SECONDS = 15;

type Limits = Required<LoadImageOptions>;

function limits(options: LoadImageOptions): Limits {
  return {
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    timeoutSeconds: options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    formats: options.formats ?? RASTER_FORMATS,
  };
}

export async function loadImage(input: ImageInput, options: LoadImageOptions = {}): Promise<RgbImage> {
  const limit = limits(options);
  if (typeof input === 'string') return decode(await readImageFile(input, limit), limit, `${input}: `);
  if (input instanceof Uint8Array) return decode(input, limit, '');
  if (isPixelObject(input)) return rgbPixels(input, limit.maxPixels);
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

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The bytes of a regular file, refused early: a FIFO, device or directory is never read (they
 * can block or never end), a file over `maxBytes` is refused from its size, and one whose first
 * bytes are not an accepted format is refused before the rest is read.
 */
async function readImageFile(path: string, limit: Limits): Promise<Uint8Array> {
  const label = `${path}: `;
  let file: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    file = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new ImageError('unreadable', label + fileErrorReason(error));
  }
  try {
    const info = await file.stat();
    if (info.isDirectory()) throw new ImageError('unreadable', `${label}is a directory`);
    if (!info.isFile()) throw new ImageError('unreadable', `${label}not a regular file (${fileKind(info)})`);
    if (info.size > limit.maxBytes) {
      throw new ImageError(
        'too_large',
        `${label}the file is ${megabytes(info.size)}, more than the limit of ${megabytes(limit.maxBytes)}`,
      );
    }
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, info.size));
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    acceptedFormat(head.subarray(0, bytesRead), limit, label);
    // Read exactly the size stat gave: a file that grows meanwhile cannot make us read more.
    const bytes = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead: n } = await file.read(bytes, filled, bytes.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return bytes.subarray(0, filled);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    throw new ImageError('unreadable', label + fileErrorReason(error));
  } finally {
    await file.close();
  }
}

/** A file system error (`ENOENT`, `EACCES`, `ELOOP`…) in words, for one-line messages. */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    ENOTDIR: 'no such file (a part of the path is not a folder)',
    EISDIR: 'is a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'symbolic link loop',
    ENAMETOOLONG: 'file name too long',
    EIO: 'input/output error while reading',
  };
  return (code && reasons[code]) ?? `cannot read the file (${code ?? 'unknown error'})`;
}

function fileKind(info: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}) {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

/** The format of `head` (the first bytes), or an `ImageError` saying why it is not accepted. */
function acceptedFormat(head: Uint8Array, limit: Limits, label: string): ImageFormat {
  if (head.length === 0) throw new ImageError('empty', `${label}the image is empty (0 bytes)`);
  const sniffed = sniffFormat(head);
  if (!sniffed) {
    const accepted = limit.formats.map(formatName).join(', ');
    throw new ImageError('unsupported', `${label}not an image in an accepted format (${accepted})`);
  }
  if (sniffed.format === null) throw new ImageError('unsupported', `${label}${sniffed.reason}`);
  if (!limit.formats.includes(sniffed.format)) {
    const why =
      sniffed.format === 'svg'
        ? 'SVG is not accepted by default: rendering it can take unbounded time (opt in with formats)'
        : `${sniffed.name} is not among the accepted formats`;
    throw new ImageError('unsupported', `${label}${why}`);
  }
  return sniffed.format;
}

function checkSize(width: number, height: number, maxPixels: number, label: string): void {
  if (width * height > maxPixels) {
    throw new ImageError(
      'too_large',
      `${label}${width}×${height} pixels is more than the limit of ${maxPixels.toLocaleString('en-US')} pixels`,
    );
  }
}

async function decode(bytes: Uint8Array, limit: Limits, label: string): Promise<RgbImage> {
  const format = acceptedFormat(bytes.subarray(0, SNIFF_BYTES), limit, label);

  // The header alone says the size: refuse huge images before decoding a pixel.
  let header: Metadata;
  try {
    header = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(error, format, limit, label);
  }
  if (!header.width || !header.height) throw new ImageError('corrupt', `${label}the image has no size`);
  checkSize(header.width, header.height, limit.maxPixels, label);

  try {
    // An embedded sRGB profile needs no conversion to sRGB (libvips would still run it: ~30 ms
    // of a 1920×1280 photo); other profiles (Display P3, Adobe RGB, CMYK) are converted.
    const ignoreIcc = header.icc !== undefined && isSrgbProfile(header.icc);
    const { data, info } = await sharp(bytes, {
      limitInputPixels: limit.maxPixels,
      failOn: 'error',
      ignoreIcc,
    })
      .timeout({ seconds: limit.timeoutSeconds })
      .rotate() // apply EXIF orientation
      .toColourspace('srgb') // CMYK, 16-bit, grey → 8-bit sRGB
      .flatten() // alpha onto black; grey becomes R = G = B
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3)
      throw new Error(`unexpected ${info.channels} channels after decoding`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    throw decodeError(error, format, limit, label);
  }
}

/** A decoder failure in our words; the decoder's own message (libvips, glib) is not shown. */
function decodeError(error: unknown, format: ImageFormat, limit: Limits, label: string): ImageError {
  const message = error instanceof Error ? error.message : String(error);
  const name = formatName(format);
  if (/^timeout/i.test(message)) {
    return new ImageError(
      'too_large',
      `${label}decoding the ${name} image took longer than the limit of ${limit.timeoutSeconds} s`,
    );
  }
  if (/pixel limit/i.test(message)) {
    return new ImageError(
      'too_large',
      `${label}more pixels than the limit of ${limit.maxPixels.toLocaleString('en-US')}`,
    );
  }
  if (
    /premature end|truncated|unexpected end|end of (file|stream|data)|short read|not enough data/i.test(
      message,
    )
  )
    return new ImageError('corrupt', `${label}corrupt ${name} image: the data ends early (truncated)`);
  return new ImageError('corrupt', `${label}corrupt ${name} image: the decoder could not read it`);
}

/**
 * Caller-supplied pixels checked and as RGB: positive integer size, 3 or 4 channels, and exactly
 * width × height × channels bytes. RGB data is returned as is (no copy); RGBA drops its alpha.
 */
export function rgbPixels(raw: RawImage | RgbImage, maxPixels = DEFAULT_MAX_PIXELS): RgbImage {
  const { width, height } = raw;
  const channels = 'channels' in raw ? raw.channels : 3;
  if (!(raw.data instanceof Uint8Array || raw.data instanceof Uint8ClampedArray))
    throw new ImageError('unsupported', 'raw image: data must be a Uint8Array or Uint8ClampedArray');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError('corrupt', `raw image: invalid size ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4)
    throw new ImageError('unsupported', `raw image: ${String(channels)} channels (expected 3 or 4)`);
  checkSize(width, height, maxPixels, 'raw image: ');
  if (raw.data.length !== width * height * channels) {
    const actual = raw.data.length / (width * height);
    const hint = Number.isInteger(actual) && actual !== channels ? ` (it looks like ${actual} channels)` : '';
    throw new ImageError(
      'corrupt',
      `raw image: ${raw.data.length} bytes do not match ${width}×${height}×${channels}${hint}`,
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

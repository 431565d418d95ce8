import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageError, loadImage } from '../src/image/load.js';
import { pngHeaderOnly } from './fixtures/png.js';

const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'facemtl-image-'));
});

/** A 4×2 RGB test pattern: every pixel distinct. */
function pattern(width = 4, height = 2): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  return data;
}

async function expectImageError(promise: Promise<unknown>, code: string, message: RegExp) {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ImageError);
  expect((error as ImageError).code).toBe(code);
  expect((error as ImageError).message).toMatch(message);
  expect((error as ImageError).message).not.toContain('\n');
}

describe('loadImage', () => {
  it('decodes a JPEG file path and the same bytes to identical RGB pixels', async () => {
    const fromPath = await loadImage(PHOTO);
    const fromBytes = await loadImage(readFileSync(PHOTO));
    expect(fromPath.width).toBe(1920);
    expect(fromPath.height).toBe(1280);
    expect(fromPath.data.length).toBe(1920 * 1280 * 3);
    expect(Buffer.from(fromBytes.data).equals(Buffer.from(fromPath.data))).toBe(true);
  });

  it('returns PNG pixels exactly, dropping alpha, and grey as R = G = B', async () => {
    const rgb = pattern();
    const png = await sharp(rgb, { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    expect(Buffer.from((await loadImage(png)).data).equals(rgb)).toBe(true);

    const rgba = await sharp(rgb, { raw: { width: 4, height: 2, channels: 3 } })
      .ensureAlpha(1)
      .png()
      .toBuffer();
    expect(Buffer.from((await loadImage(rgba)).data).equals(rgb)).toBe(true);

    const grey = await sharp(Buffer.from([0, 50, 100, 200]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const decoded = await loadImage(grey);
    expect(Array.from(decoded.data)).toEqual([0, 0, 0, 50, 50, 50, 100, 100, 100, 200, 200, 200]);
  });

  it('decodes WebP and the first frame of a GIF', async () => {
    const raw = { raw: { width: 4, height: 2, channels: 3 as const } };
    const webp = await sharp(pattern(), raw).webp({ lossless: true }).toBuffer();
    expect(Buffer.from((await loadImage(webp)).data).equals(pattern())).toBe(true);
    const gif = await sharp(pattern(), raw).gif().toBuffer();
    const frame = await loadImage(gif);
    expect([frame.width, frame.height]).toEqual([4, 2]);
  });

  it('honours EXIF orientation (6 = rotate 90° clockwise to display)', async () => {
    const stored = await sharp(pattern(), { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const upright = await loadImage(stored);
    expect([upright.width, upright.height]).toEqual([2, 4]);
    // Rotating the stored 4×2 image clockwise puts its bottom-left pixel at the top-left.
    const bottomLeft = pattern().subarray(4 * 3, 4 * 3 + 3);
    expect(Array.from(upright.data.subarray(0, 3))).toEqual(Array.from(bottomLeft));
  });

  it('accepts raw RGB and RGBA pixels', async () => {
    const rgb = new Uint8Array(pattern());
    expect((await loadImage({ data: rgb, width: 4, height: 2, channels: 3 })).data).toBe(rgb);
    const rgba = new Uint8ClampedArray(4 * 2 * 4);
    rgba.set([10, 20, 30, 255], 4);
    const converted = await loadImage({ data: rgba, width: 4, height: 2, channels: 4 });
    expect(Array.from(converted.data.subarray(3, 6))).toEqual([10, 20, 30]);
    expect(converted.data.length).toBe(4 * 2 * 3);
  });

  it('rejects each kind of bad input with a typed one-line error', async () => {
    writeFileSync(join(dir, 'empty.jpg'), '');
    writeFileSync(join(dir, 'text.jpg'), 'this is not an image\n');
    const jpeg = await sharp(PHOTO).toBuffer();
    writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, 4000));

    await expectImageError(loadImage(join(dir, 'empty.jpg')), 'empty', /empty\.jpg: .*empty/);
    await expectImageError(loadImage(new Uint8Array(0)), 'empty', /empty/);
    await expectImageError(loadImage(join(dir, 'text.jpg')), 'unsupported', /text\.jpg: not an image/);
    await expectImageError(loadImage(join(dir, 'truncated.jpg')), 'corrupt', /truncated\.jpg: corrupt/);
    await expectImageError(loadImage(join(dir, 'missing.jpg')), 'unreadable', /missing\.jpg: no such file/);
    await expectImageError(loadImage(dir), 'unreadable', /is a directory/);
    await expectImageError(
      loadImage({ data: new Uint8Array(5), width: 4, height: 2, channels: 3 }),
      'corrupt',
      /do not match/,
    );
  });

  it('rejects a 20000×20000 image from its header, without decoding it', async () => {
    const huge = pngHeaderOnly(20000, 20000);
    const started = performance.now();
    await expectImageError(loadImage(huge), 'too_large', /20000×20000 pixels is more than the limit/);
    expect(performance.now() - started).toBeLessThan(1000);
    // The limit is an option.
    const small = await sharp(pattern(), { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    await expectImageError(loadImage(small, { maxPixels: 7 }), 'too_large', /4×2/);
    expect((await loadImage(small, { maxPixels: 8 })).width).toBe(4);
  });
});

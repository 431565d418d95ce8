import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { iccDescription, isSrgbProfile } from '../src/image/icc.js';
import { loadImage } from '../src/image/load.js';

/** face-api's sample: a camera JPEG with the classic 3144-byte "sRGB IEC61966-2.1" (ICC v2) profile. */
const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';

/** A small colourful JPEG whose pixels are tagged with sharp's built-in profile `profile`. */
async function taggedJpeg(profile: 'srgb' | 'p3'): Promise<Buffer> {
  const width = 32;
  const height = 8;
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 53) % 256;
  return sharp(data, { raw: { width, height, channels: 3 } })
    .withIccProfile(profile)
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A minimal ICC v2 profile: the header's colour space and one `desc` tag with `description`. */
function profileWith(description: string, colourSpace = 'RGB '): Uint8Array {
  const tagOffset = 128 + 4 + 12;
  const profile = new Uint8Array(tagOffset + 12 + description.length + 1);
  const view = new DataView(profile.buffer);
  view.setUint32(0, profile.length);
  profile.set(Buffer.from(colourSpace.padEnd(4), 'latin1'), 16);
  view.setUint32(128, 1); // one tag
  profile.set(Buffer.from('desc', 'latin1'), 132);
  view.setUint32(136, tagOffset);
  view.setUint32(140, profile.length - tagOffset);
  profile.set(Buffer.from('desc', 'latin1'), tagOffset);
  view.setUint32(tagOffset + 8, description.length + 1);
  profile.set(Buffer.from(description, 'latin1'), tagOffset + 12);
  return profile;
}

async function profileOf(bytes: Buffer): Promise<Buffer> {
  const { icc } = await sharp(bytes).metadata();
  if (!icc) throw new Error('no embedded profile');
  return icc;
}

/** Pixels as libvips decodes them with (default) or without the embedded profile's conversion. */
async function decodedBy(bytes: Buffer, ignoreIcc: boolean): Promise<Uint8Array> {
  return new Uint8Array(await sharp(bytes, { ignoreIcc }).toColourspace('srgb').raw().toBuffer());
}

describe('ICC profiles', () => {
  it('reads the description of v2 (desc) and v4 (mluc) profiles and tells sRGB apart', async () => {
    const camera = await profileOf(readFileSync(PHOTO));
    expect(iccDescription(camera)).toBe('sRGB IEC61966-2.1');
    expect(isSrgbProfile(camera)).toBe(true);
    const builtInSrgb = await profileOf(await taggedJpeg('srgb'));
    expect(iccDescription(builtInSrgb)).toBe('sRGB');
    expect(isSrgbProfile(builtInSrgb)).toBe(true);
    const displayP3 = await profileOf(await taggedJpeg('p3'));
    expect(iccDescription(displayP3)).toBe('sP3C');
    expect(isSrgbProfile(displayP3)).toBe(false);
  });

  it('goes by the description of an RGB profile: sRGB yes, linear sRGB, Adobe RGB or grey no', () => {
    expect(isSrgbProfile(profileWith('sRGB IEC61966-2.1'))).toBe(true);
    expect(isSrgbProfile(profileWith('Linear sRGB'))).toBe(false);
    expect(isSrgbProfile(profileWith('Adobe RGB (1998)'))).toBe(false);
    expect(isSrgbProfile(profileWith('sRGB', 'GRAY'))).toBe(false);
  });

  it('says no, without throwing, to truncated or garbled profiles', async () => {
    const camera = await profileOf(readFileSync(PHOTO));
    for (const length of [0, 20, 131, 200]) expect(isSrgbProfile(camera.subarray(0, length))).toBe(false);
    const garbled = new Uint8Array(400).map((_, i) => (i * 97) % 256);
    expect(isSrgbProfile(garbled)).toBe(false);
  });

  it('decodes an sRGB-tagged photo exactly as the conversion would, and still converts Display P3', async () => {
    // sRGB: skipping the (identity) conversion changes no pixel.
    const photo = readFileSync(PHOTO);
    const loaded = await loadImage(photo);
    expect(Buffer.compare(Buffer.from(loaded.data), Buffer.from(await decodedBy(photo, false)))).toBe(0);
    // Display P3: the conversion is applied (and it matters for these pixels).
    const p3 = await taggedJpeg('p3');
    const converted = await decodedBy(p3, false);
    expect(Buffer.compare(Buffer.from(converted), Buffer.from(await decodedBy(p3, true)))).not.toBe(0);
    expect(Buffer.compare(Buffer.from((await loadImage(p3)).data), Buffer.from(converted))).toBe(0);
  });
});

/**
 * A hostile-input corpus, generated (nothing binary is committed): every kind of bad, odd or
 * malicious image input seen in issue 11 and the ones that already pass, each with the outcome
 * the loader documents. Used by test/hostile.test.ts against the library and the CLI, and by the
 * server tests (see /work/notes/corpus.md).
 *
 *   const cases = await hostileImages();          // in-memory bytes: library, server uploads
 *   const files = await writeHostileCorpus(dir);  // the same as files, plus FIFO, device, loops…
 *
 * Run as a script to look at the files: `node --experimental-strip-types test/hostile/corpus.ts DIR`
 * (Node ≥ 22.6), or import it from a test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { ImageErrorCode } from '../../src/image/types.js';
import { png, pngHeaderOnly } from '../fixtures/png.js';

/** A photo with three faces, shipped by a dev dependency. */
export const GOOD_PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';

/** What loading a case must give: its upright size, or an `ImageError` code. */
export type HostileOutcome = { ok: { width: number; height: number } } | { error: ImageErrorCode };

export interface HostileImage {
  /** File name to use (its extension is often a lie, on purpose). */
  name: string;
  /** What it is, in a few words. */
  what: string;
  bytes: Buffer;
  expect: HostileOutcome;
}

export interface HostileFile {
  name: string;
  what: string;
  /** Path to give to the loader or the CLI. */
  path: string;
  expect: HostileOutcome;
}

/** The SVG of issue 11: 241 bytes that kept librsvg busy for a minute. */
export const SVG_FILTER_BOMB =
  '<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000"><defs><filter id="f">' +
  '<feTurbulence baseFrequency="0.9" numOctaves="10"/><feMorphology radius="300"/></filter></defs>' +
  '<rect width="2000" height="2000" filter="url(#f)"/></svg>';

const ok = (width: number, height: number): HostileOutcome => ({ ok: { width, height } });
const error = (code: ImageErrorCode): HostileOutcome => ({ error: code });

/** Every in-memory case. Deterministic; takes about a second. */
export async function hostileImages(): Promise<HostileImage[]> {
  const photo = await sharp(GOOD_PHOTO).resize(240).jpeg().toBuffer(); // 240×160
  const pixels = (width: number, height: number, channels: 3 | 4 = 3) => {
    const data = Buffer.alloc(width * height * channels);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    return sharp(data, { raw: { width, height, channels } });
  };
  const frames = Buffer.alloc(16 * 24 * 3); // two 16×12 frames stacked: an animation
  for (let i = 0; i < frames.length; i++) frames[i] = i < frames.length / 2 ? 40 : 200;
  const animated = () => sharp(frames, { raw: { width: 16, height: 24, channels: 3, pageHeight: 12 } });

  return [
    // ---- accepted: the formats and their variants
    { name: 'photo.jpg', what: 'a good JPEG', bytes: photo, expect: ok(240, 160) },
    {
      name: 'cmyk.jpg',
      what: 'CMYK JPEG',
      bytes: await pixels(20, 10).toColourspace('cmyk').jpeg().toBuffer(),
      expect: ok(20, 10),
    },
    {
      name: 'deep.png',
      what: '16-bit PNG',
      bytes: await pixels(20, 10).toColourspace('rgb16').png().toBuffer(),
      expect: ok(20, 10),
    },
    {
      name: 'alpha.png',
      what: 'RGBA PNG',
      bytes: await pixels(20, 10, 4).png().toBuffer(),
      expect: ok(20, 10),
    },
    {
      name: 'rotated.jpg',
      what: 'EXIF orientation 6 (stored 20×10, shown 10×20)',
      bytes: await pixels(20, 10).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      expect: ok(10, 20),
    },
    {
      name: 'animated.gif',
      what: 'animated GIF (first frame)',
      bytes: await animated().gif().toBuffer(),
      expect: ok(16, 12),
    },
    {
      name: 'animated.webp',
      what: 'animated WebP (first frame)',
      bytes: await animated().webp().toBuffer(),
      expect: ok(16, 12),
    },
    { name: 'image.tiff', what: 'TIFF', bytes: await pixels(20, 10).tiff().toBuffer(), expect: ok(20, 10) },
    { name: 'image.avif', what: 'AVIF', bytes: await pixels(20, 10).avif().toBuffer(), expect: ok(20, 10) },
    {
      name: 'png-named.jpg',
      what: 'a PNG named .jpg',
      bytes: await pixels(20, 10).png().toBuffer(),
      expect: ok(20, 10),
    },

    // ---- broken
    { name: 'zero.jpg', what: 'zero bytes', bytes: Buffer.alloc(0), expect: error('empty') },
    {
      name: 'truncated.jpg',
      what: 'a JPEG cut after 3000 bytes',
      bytes: photo.subarray(0, 3000),
      expect: error('corrupt'),
    },
    {
      name: 'garbage-after-magic.jpg',
      what: 'JPEG magic bytes, then noise',
      bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), noise(2000)]),
      expect: error('corrupt'),
    },
    {
      name: 'bad-crc.png',
      what: 'PNG whose pixel data fails its checksum',
      bytes: pngWithBadData(),
      expect: error('corrupt'),
    },
    {
      name: 'header-only.png',
      what: 'PNG cut after its header',
      bytes: pngHeaderOnly(64, 64).subarray(0, 33),
      expect: error('corrupt'),
    },
    { name: 'noise.jpg', what: 'random bytes', bytes: noise(4096), expect: error('unsupported') },
    {
      name: 'text.jpg',
      what: 'a text file named .jpg',
      bytes: Buffer.from('this is not an image\n'),
      expect: error('unsupported'),
    },

    // ---- bombs: refused from the header, before a pixel is decoded
    {
      name: 'bomb-header.png',
      what: 'PNG header claiming 20000×20000',
      bytes: pngHeaderOnly(20000, 20000),
      expect: error('too_large'),
    },
    {
      name: 'bomb-deflate.png',
      what: '30000×30000 PNG of zeros (a real deflate bomb)',
      bytes: pngDeflateBomb(30000),
      expect: error('too_large'),
    },
    {
      name: 'bomb.jpg',
      what: 'JPEG header claiming 60000×60000',
      bytes: jpegClaiming(photo, 60000, 60000),
      expect: error('too_large'),
    },
    {
      name: 'bomb.gif',
      what: 'GIF claiming 65535×65535',
      bytes: gifClaiming(65535, 65535),
      expect: error('too_large'),
    },

    // ---- formats refused by default (vector, documents, HEVC…)
    {
      name: 'filter.svg.jpg',
      what: 'the SVG filter bomb of issue 11, named .jpg',
      bytes: Buffer.from(SVG_FILTER_BOMB),
      expect: error('unsupported'),
    },
    {
      name: 'declared.svg',
      what: 'SVG with BOM, XML declaration, comment and doctype',
      bytes: Buffer.from(
        '\uFEFF<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
          SVG_FILTER_BOMB,
      ),
      expect: error('unsupported'),
    },
    {
      name: 'image.svgz',
      what: 'gzipped SVG',
      bytes: gzipSync(SVG_FILTER_BOMB),
      expect: error('unsupported'),
    },
    {
      name: 'entities.svg',
      what: 'SVG with an XML entity expansion ("billion laughs")',
      bytes: Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>',
      ),
      expect: error('unsupported'),
    },
    {
      name: 'doc.pdf',
      what: 'PDF',
      bytes: Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n'),
      expect: error('unsupported'),
    },
    {
      name: 'image.bmp',
      what: 'BMP header',
      bytes: Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]),
      expect: error('unsupported'),
    },
    {
      name: 'photo.heic',
      what: 'HEIC (HEVC) header',
      bytes: isoHeader('heic'),
      expect: error('unsupported'),
    },
  ];
}

/**
 * The in-memory cases written to `dir`, plus what only a file system has: a FIFO, `/dev/zero`, a
 * folder, a symbolic link loop, a dangling link, a link to a good photo, a sparse 1.5 GB file.
 * FIFO and links are left out where the platform cannot make them.
 */
export async function writeHostileCorpus(dir: string): Promise<HostileFile[]> {
  await mkdir(dir, { recursive: true });
  const files: HostileFile[] = [];
  for (const image of await hostileImages()) {
    const path = join(dir, image.name);
    await writeFile(path, image.bytes);
    files.push({ name: image.name, what: image.what, path, expect: image.expect });
  }
  const add = (name: string, what: string, expect: HostileOutcome, path = join(dir, name)) =>
    files.push({ name, what, path, expect });

  // Sparse: 1.5 GB long, no disk used; must be refused from its size, never read.
  const big = join(dir, 'huge-file.jpg');
  await writeFile(big, await sharp(GOOD_PHOTO).resize(32).jpeg().toBuffer());
  await truncate(big, 1.5 * 1024 ** 3);
  add('huge-file.jpg', 'a 1.5 GB file (sparse)', error('too_large'));

  await mkdir(join(dir, 'folder.jpg'), { recursive: true });
  add('folder.jpg', 'a folder named .jpg', error('unreadable'));
  add('missing.jpg', 'a file that does not exist', error('unreadable'));
  if (existsSync('/dev/zero')) add('/dev/zero', 'a device that never ends', error('unreadable'), '/dev/zero');
  if (process.platform !== 'win32') {
    execFileSync('mkfifo', [join(dir, 'fifo.jpg')]);
    add('fifo.jpg', 'a FIFO named .jpg (reading it would block)', error('unreadable'));
    await symlink('loop-b.jpg', join(dir, 'loop-a.jpg'));
    await symlink('loop-a.jpg', join(dir, 'loop-b.jpg'));
    add('loop-a.jpg', 'a symbolic link loop', error('unreadable'));
    await symlink('nowhere.jpg', join(dir, 'dangling.jpg'));
    add('dangling.jpg', 'a link to nothing', error('unreadable'));
    await symlink('photo.jpg', join(dir, 'link.jpg'));
    add('link.jpg', 'a link to a good photo', ok(240, 160));
  }
  return files;
}

// ---------- byte-level builders ----------

/** Deterministic noise (no Math.random: the corpus is the same on every run). */
function noise(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** A complete 1-bit grey PNG of `side`² black pixels: a few hundred kB that inflate to side²/8 bytes. */
function pngDeflateBomb(side: number): Buffer {
  const row = Buffer.alloc(1 + Math.ceil(side / 8)); // filter byte + packed pixels, all zero
  return png(side, side, 1, 0, deflateSync(Buffer.alloc(row.length * side), { level: 9 }));
}

/** A 16×16 PNG whose IDAT bytes were flipped after its CRC was computed. */
function pngWithBadData(): Buffer {
  const bytes = png(16, 16, 8, 2, deflateSync(Buffer.alloc(16 * (1 + 16 * 3), 7)));
  const idat = bytes.indexOf('IDAT') + 4;
  for (let i = idat; i < idat + 8; i++) bytes[i] ^= 0xff;
  return bytes;
}

/** `jpeg` with the size in its start-of-frame marker replaced. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(jpeg);
  for (let i = 2; i < bytes.length - 9;) {
    if (bytes[i] !== 0xff) break;
    const marker = bytes[i + 1];
    const length = bytes.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
    i += 2 + length;
  }
  throw new Error('no start-of-frame marker');
}

/** A GIF whose logical screen and only frame claim `width` × `height`, with one byte of data. */
function gifClaiming(width: number, height: number): Buffer {
  const u16 = (value: number) => [value & 0xff, value >> 8];
  return Buffer.from([
    ...Buffer.from('GIF89a'),
    ...u16(width),
    ...u16(height),
    0x80,
    0,
    0, // global colour table of 2 entries
    0,
    0,
    0,
    255,
    255,
    255,
    0x2c,
    0,
    0,
    0,
    0,
    ...u16(width),
    ...u16(height),
    0, // image descriptor
    2,
    2,
    0x4c,
    0x01,
    0, // LZW data: a few codes
    0x3b,
  ]);
}

/** The start of an ISO-BMFF file (`ftyp` box) with major brand `brand`. */
function isoHeader(brand: string): Buffer {
  const box = Buffer.alloc(24);
  box.writeUInt32BE(24, 0);
  box.write('ftyp', 4, 'ascii');
  box.write(brand, 8, 'ascii');
  box.write('mif1', 16, 'ascii');
  box.write(brand, 20, 'ascii');
  return Buffer.concat([box, Buffer.alloc(64)]);
}

// `node --experimental-strip-types test/hostile/corpus.ts DIR` writes the corpus and lists it.
if (process.argv[1]?.endsWith('corpus.ts') && process.argv[2]) {
  for (const file of await writeHostileCorpus(process.argv[2]))
    console.log(`${file.path}\t${'ok' in file.expect ? 'ok' : file.expect.error}\t${file.what}`);
}

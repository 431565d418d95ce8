/**
 * Image formats told apart by their first bytes (never by file name or Content-Type, which a
 * careless or hostile client can set to anything). Pure: no Node imports, usable anywhere.
 */

/** Formats `loadImage` can decode. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'svg';

/**
 * Accepted by default: raster formats whose decoding cost is bounded by their pixel count, which
 * is checked from the header. SVG is not among them: rendering it (filters, huge blurs) can take
 * unbounded time and memory whatever its size, so it is opt-in.
 */
export const RASTER_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'];

/** How many leading bytes `sniffFormat` needs to recognise every format it knows. */
export const SNIFF_BYTES = 512;

/** What the first bytes are: a decodable format, or a known one that is never decoded. */
export type SniffResult =
  { format: ImageFormat; name: string } | { format: null; name: string; reason: string } | null;

const NAMES: Record<ImageFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  gif: 'GIF',
  tiff: 'TIFF',
  avif: 'AVIF',
  svg: 'SVG',
};

export function formatName(format: ImageFormat): string {
  return NAMES[format];
}

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0) =>
  bytes.length >= at + signature.length && signature.every((byte, i) => bytes[at + i] === byte);
const ascii = (bytes: Uint8Array, start: number, end: number) =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));

/** ISO-BMFF brands (`ftyp`) of AVIF, and of HEIC (HEVC), which sharp's own libvips cannot decode. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

/** Recognises a format from the first `SNIFF_BYTES` bytes (fewer are fine for most formats). */
export function sniffFormat(bytes: Uint8Array): SniffResult {
  const known = (format: ImageFormat) => ({ format, name: NAMES[format] });
  const refused = (name: string, reason: string) => ({ format: null, name, reason });
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return known('jpeg');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return known('png');
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return known('webp');
  if (/^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return known('gif');
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return known('tiff');
  if (ascii(bytes, 4, 8) === 'ftyp') {
    const brands = [ascii(bytes, 8, 12)];
    const boxSize = (bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
    for (let at = 16; at + 4 <= Math.min(boxSize, bytes.length); at += 4)
      brands.push(ascii(bytes, at, at + 4));
    if (brands.some((brand) => AVIF_BRANDS.has(brand))) return known('avif');
    if (brands.some((brand) => HEIC_BRANDS.has(brand)))
      return refused('HEIC', 'HEIC (HEVC) images cannot be decoded here; convert it to JPEG');
  }
  if (ascii(bytes, 0, 5) === '%PDF-') return refused('PDF', 'PDF documents are not accepted');
  if (startsWith(bytes, [0x1f, 0x8b]))
    return refused('gzip', 'compressed data (gzip, e.g. SVGZ) is not accepted');
  if (ascii(bytes, 0, 2) === 'BM') return refused('BMP', 'BMP images are not accepted; convert it to PNG');
  if (ascii(bytes, 0, 4) === '8BPS') return refused('PSD', 'Photoshop documents are not accepted');
  if (isSvg(bytes)) return known('svg');
  return null;
}

/** Text (after an optional BOM, XML declaration, comments or doctype) whose first element is `<svg`. */
function isSvg(bytes: Uint8Array): boolean {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, SNIFF_BYTES));
  text = text.replace(/^\uFEFF/, '');
  for (;;) {
    const trimmed = text.replace(/^\s+/, '');
    const skipped = trimmed.replace(/^(<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)/i, '');
    if (skipped === trimmed) return /^<svg[\s>:]/i.test(trimmed);
    text = skipped;
  }
}

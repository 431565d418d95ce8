/**
 * Just enough of an ICC colour profile to tell whether it describes sRGB. Most camera and web
 * JPEGs embed one ("sRGB IEC61966-2.1" on all of face-api's samples but one): converting such an
 * image "to sRGB" is an identity that libvips still computes pixel by pixel through lcms, ~30 ms
 * of a 1920×1280 photo's ~40 ms decode (issue 10). Profiles of other spaces (Display P3, Adobe RGB)
 * are still converted. Pure code: no Node imports.
 */

/** Descriptions are a line of text; anything longer is not read. */
const MAX_TEXT = 1024;

/** The profile's description (its `desc` tag: ICC v2 text or v4 multi-language), or null. */
export function iccDescription(profile: Uint8Array): string | null {
  const view = new DataView(profile.buffer, profile.byteOffset, profile.byteLength);
  const tagTable = 128;
  if (profile.length < tagTable + 4) return null;
  const count = view.getUint32(tagTable);
  if (count > 1000 || tagTable + 4 + count * 12 > profile.length) return null;
  for (let index = 0; index < count; index++) {
    const entry = tagTable + 4 + index * 12;
    if (ascii(profile, entry, 4) !== 'desc') continue;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > profile.length || size < 12) return null;
    const type = ascii(profile, offset, 4);
    if (type === 'desc') {
      // textDescriptionType (v2): a 32-bit length, then ASCII with a final NUL.
      const length = view.getUint32(offset + 8);
      if (length < 1 || length > MAX_TEXT || offset + 12 + length > profile.length) return null;
      return ascii(profile, offset + 12, length - 1);
    }
    if (type === 'mluc') {
      // multiLocalizedUnicodeType (v4): records of (language, country, length, offset); UTF-16BE.
      const records = view.getUint32(offset + 8);
      if (records < 1 || size < 28) return null;
      const length = view.getUint32(offset + 20);
      const start = offset + view.getUint32(offset + 24);
      if (length > 2 * MAX_TEXT || start + length > profile.length) return null;
      let text = '';
      for (let at = start; at + 1 < start + length; at += 2) text += String.fromCharCode(view.getUint16(at));
      return text;
    }
    return null;
  }
  return null;
}

/**
 * Whether an embedded profile describes sRGB (so the pixels already are sRGB): an RGB profile whose
 * description names sRGB, and not its linear-light variant.
 */
export function isSrgbProfile(profile: Uint8Array): boolean {
  const colourSpace = profile.length >= 20 ? ascii(profile, 16, 4) : '';
  const description = iccDescription(profile) ?? '';
  return colourSpace === 'RGB ' && /sRGB/.test(description) && !/linear/i.test(description);
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/**
 * Pictures of explanation maps: the face crop next to the crop with the map laid over it as a
 * heat map (blue = hiding this part changes nothing, red = the head relies on it most).
 */
import sharp from 'sharp';
import { escapeXml } from '../video/annotate.js';
import type { HeadMap } from './occlusion.js';

/** A jet-like colour map: 0–1 → RGB 0–255 (the same ramp as training/facemtl/explain.py). */
export function heatColour(value: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, value));
  const channel = (centre: number) =>
    Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - centre))));
  return [channel(3), channel(2), channel(1)];
}

export interface PanelOptions {
  /** Enlargement of the crop (default 4: a 64 px crop becomes 256 px). */
  scale?: number;
  /** Weight of the heat map over the face, 0–1 (default 0.5). */
  alpha?: number;
  /** A caption drawn over the panel, e.g. "emotion: happy 0.62". */
  caption?: string;
  /** Whether the plain crop is drawn left of the overlay (default true); false: the overlay alone. */
  face?: boolean;
}

/**
 * PNG bytes: the crop (CHW, 0–255) | crop with the map over it (or the overlay alone with
 * `face: false`). The map is scaled so its largest positive value is red; negative values (hiding
 * helps the prediction) show as blue.
 */
export async function explanationPng(
  crop: Float32Array,
  size: number,
  head: HeadMap,
  options: PanelOptions = {},
): Promise<Buffer> {
  const scale = options.scale ?? 4;
  const alpha = options.alpha ?? 0.5;
  const columns = options.face === false ? 1 : 2;
  const overlayLeft = (columns - 1) * size;
  const panel = new Uint8Array(size * columns * size * 3);
  const peak = head.max > 0 ? head.max : 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const heat = heatColour(head.map[y * size + x] / peak);
      for (let c = 0; c < 3; c++) {
        const face = crop[c * size * size + y * size + x];
        panel[(y * columns * size + x) * 3 + c] = face; // overwritten by the overlay when alone
        panel[(y * columns * size + overlayLeft + x) * 3 + c] = face * (1 - alpha) + heat[c] * alpha;
      }
    }
  }
  const width = columns * size * scale;
  const height = size * scale;
  let image = sharp(panel, { raw: { width: columns * size, height: size, channels: 3 } }).resize(
    width,
    height,
  );
  if (options.caption) {
    const fontSize = Math.max(10, Math.round(height / 14));
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<text x="4" y="${fontSize + 2}" font-family="sans-serif" font-size="${fontSize}" fill="#fff" stroke="#000" ` +
      `stroke-width="${fontSize / 6}" paint-order="stroke">${escapeXml(options.caption)}</text></svg>`;
    image = sharp(await image.png().toBuffer())
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .removeAlpha();
  }
  return image.png().toBuffer();
}

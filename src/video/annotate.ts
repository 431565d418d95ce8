/**
 * Draws a frame's tracked faces (box, id, labels) onto its pixels, for `--annotate OUT.mp4`.
 */
import sharp from 'sharp';
import { presentAttributes } from '../attributes/binary.js';
import type { RgbImage } from '../image/types.js';
import type { FrameResult, TrackedFace } from './analyzer.js';

/** A copy of `frame` with the faces of `result` drawn on it (same size, RGB). */
export async function annotateFrame(frame: RgbImage, result: FrameResult): Promise<RgbImage> {
  const { width, height } = frame;
  if (result.faces.length === 0) return frame;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${result.faces
    .map((face) => faceSvg(face, Math.max(2, Math.round(Math.max(width, height) / 400))))
    .join('')}</svg>`;
  const { data } = await sharp(frame.data, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}

/** A distinct, stable colour per track id (golden-angle hues). */
const trackColour = (id: number) => `hsl(${(id * 137.5) % 360}, 90%, 55%)`;

function faceSvg(face: TrackedFace, stroke: number): string {
  const { x, y, width: w, height: h } = face.box;
  const fontSize = Math.max(11, Math.round(w / 6));
  const label = [
    `#${face.id} ${face.gender.label[0].toUpperCase()} ${Math.round(face.age.years)} ${face.emotion.label}`,
    ...presentAttributes(face.attributes),
  ].join(' ');
  const labelY = y > fontSize * 1.4 ? y - stroke * 2 : y + h + fontSize;
  const colour = trackColour(face.id);
  return (
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
    `<text x="${x}" y="${labelY}" font-family="sans-serif" font-size="${fontSize}" fill="${colour}" ` +
    `stroke="#000" stroke-width="${Math.max(1, fontSize / 8)}" paint-order="stroke">${escapeXml(label)}</text>`
  );
}

/** Text safe inside SVG markup. */
export const escapeXml = (text: string): string =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/**
 * Drawing the analysis over the picture (boxes, keypoints, a label per face) and the short text
 * summary of a face shown under photos.
 */
import { attributeSummary, presentAttributes } from '../../src/attributes/binary.js';
import type { Analysis, Face } from './types.js';

/** `label 87%` for the most probable class of a probability map. */
function top(probabilities: Readonly<Record<string, number>>): string {
  const [label, p] = Object.entries(probabilities).reduce((best, entry) =>
    entry[1] > best[1] ? entry : best,
  );
  return `${label} ${Math.round(p * 100)}%`;
}

/** Rows of (term, value) describing one face. */
export function faceSummary(face: Face): [string, string][] {
  return [
    ['age', `${Math.round(face.age.years)} (90%: ${Math.round(face.age.low)}–${Math.round(face.age.high)})`],
    ['gender', `${face.gender.label} ${Math.round(face.gender.probability * 100)}%`],
    ['ethnicity', top(face.ethnicity.probabilities)],
    ['emotion', top(face.emotion.probabilities)],
    // Models without the yes/no attributes have no row for them.
    ...(face.attributes ? [['attributes', attributeSummary(face.attributes)] as [string, string]] : []),
    ['detector', `${Math.round(face.score * 100)}%`],
  ];
}

/** The line drawn above a face box. */
function shortLabel(face: Face, index: number): string {
  return `#${index + 1} ${Math.round(face.age.years)} · ${face.gender.label} · ${face.emotion.label}`;
}

/** Draws boxes, keypoints and labels on a canvas that already shows the analysed picture. */
export function drawFaces(context: CanvasRenderingContext2D, analysis: Analysis): void {
  // Canvas pixels per CSS pixel: keeps lines and text readable however much the canvas is shrunk.
  const canvas = context.canvas as HTMLCanvasElement;
  const scale = Math.max(1, canvas.width / (canvas.clientWidth || canvas.width));
  context.lineWidth = 2 * scale;
  context.font = `${14 * scale}px system-ui, sans-serif`;
  context.textBaseline = 'bottom';
  const padding = 3 * scale;
  const lineHeight = 14 * scale + 2 * padding;
  /** A text on a dark band whose bottom is at `bottom`, kept inside the picture. */
  const label = (text: string, x: number, bottom: number) => {
    const textWidth = context.measureText(text).width;
    const base = Math.min(analysis.height, Math.max(lineHeight, bottom));
    const left = Math.max(0, Math.min(x, analysis.width - textWidth - 2 * padding));
    context.fillStyle = 'rgba(20, 30, 50, 0.75)';
    context.fillRect(left, base - lineHeight, textWidth + 2 * padding, lineHeight);
    context.fillStyle = 'white';
    context.fillText(text, left + padding, base - padding);
  };
  analysis.faces.forEach((face, index) => {
    const { x, y, width, height } = face.box;
    context.strokeStyle = '#4dabf7';
    context.strokeRect(x, y, width, height);

    context.fillStyle = '#ffd43b';
    for (const { x: px, y: py } of Object.values(face.landmarks)) {
      context.fillRect(px - 1.5 * scale, py - 1.5 * scale, 3 * scale, 3 * scale);
    }

    label(shortLabel(face, index), x, y); // above the box
    // The attributes it shows (smile, glasses, …) on a second line, below the box.
    const shown = presentAttributes(face.attributes).join(', ');
    if (shown) label(shown, x, y + height + lineHeight);
  });
}

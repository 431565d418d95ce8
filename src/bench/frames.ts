/**
 * Test frames for the pipeline benchmark: 640×480 frames with 1 and with 5 faces, composed from
 * the sample photos shipped with @vladmandic/face-api (faces located with the detector).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../detect/blazeface.js';

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;

/** The sample photos (real photos with several faces each). */
export function samplePhotos(): string[] {
  const require = createRequire(import.meta.url);
  let demo: string;
  try {
    demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  } catch {
    throw new Error(
      'the sample photos of @vladmandic/face-api are not installed (npm install --include=dev)',
    );
  }
  return [1, 2, 3, 4, 5, 6].map((i) => join(demo, `sample${i}.jpg`));
}

/** A region around a face `scale` times its size with the given aspect ratio, inside the photo. */
function regionAround(face: Box, scale: number, aspect: number, photo: { width: number; height: number }) {
  let height = Math.min(face.height * scale, photo.height, photo.width / aspect);
  let width = height * aspect;
  width = Math.round(width);
  height = Math.round(height);
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  const left = Math.round(Math.min(Math.max(0, cx - width / 2), photo.width - width));
  const top = Math.round(Math.min(Math.max(0, cy - height / 2), photo.height - height));
  return { left, top, width, height };
}

export interface FaceSource {
  photo: string;
  width: number;
  height: number;
  face: Box;
}

/** A 640×480 JPEG of one face, framed like a webcam shot (the face about a third of the height). */
export async function oneFaceFrame(source: FaceSource): Promise<Buffer> {
  const region = regionAround(source.face, 3, FRAME_WIDTH / FRAME_HEIGHT, source);
  return sharp(source.photo)
    .extract(region)
    .resize(FRAME_WIDTH, FRAME_HEIGHT)
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A 640×480 JPEG with five faces (each about 90 px), from five face sources, on a gray background. */
export async function fiveFaceFrame(sources: FaceSource[]): Promise<Buffer> {
  if (sources.length < 5) throw new Error(`need 5 faces to compose a frame, found ${sources.length}`);
  const tile = 200;
  const positions = [
    [10, 20],
    [220, 20],
    [430, 20],
    [115, 260],
    [325, 260],
  ];
  const tiles = await Promise.all(
    sources.slice(0, 5).map(async (source, i) => {
      const region = regionAround(source.face, 2.2, 1, source);
      const input = await sharp(source.photo).extract(region).resize(tile, tile).toBuffer();
      return { input, left: positions[i][0], top: positions[i][1] };
    }),
  );
  return sharp({ create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: '#808080' } })
    .composite(tiles)
    .jpeg({ quality: 90 })
    .toBuffer();
}

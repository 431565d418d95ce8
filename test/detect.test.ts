import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANCHOR_COUNT,
  decodeDetections,
  letterbox,
  mapDetection,
  weightedNms,
  type Detection,
} from '../src/detect/blazeface.js';
import { FaceDetector } from '../src/detect/detector.js';
import { loadImage } from '../src/image/load.js';

const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three women, frontal-ish faces
const FOUR_FACES = 'node_modules/@vladmandic/face-api/demo/sample6.jpg';

function detection(x: number, y: number, size: number, score: number): Detection {
  return {
    box: { x, y, width: size, height: size },
    score,
    keypoints: Array.from({ length: 6 }, (): [number, number] => [x + size / 2, y + size / 2]),
  };
}

describe('BlazeFace decoding (pure)', () => {
  it('has 896 anchors: 16×16×2 then 8×8×6', () => {
    expect(ANCHOR_COUNT).toBe(896);
  });

  it('decodes a box and keypoints relative to their anchor, in input pixels', () => {
    const scores = [new Float32Array(512).fill(-10), new Float32Array(384).fill(-10)];
    const boxes = [new Float32Array(512 * 16), new Float32Array(384 * 16)];
    // Anchor 1 of cell (x 3, y 2) of the 8×8 grid: centre ((3.5/8)·128, (2.5/8)·128) = (56, 40).
    const index = (2 * 8 + 3) * 6 + 1;
    scores[1][index] = 3;
    boxes[1].set([4, -2, 30, 36, -8, -6, 8, -6, 0, 2, 0, 10, -14, -4, 14, -4], index * 16);
    const [found, ...rest] = decodeDetections(scores, boxes, 128, { minScore: 0.5 });
    expect(rest).toHaveLength(0);
    expect(found.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    expect(found.box).toEqual({ x: 60 - 15, y: 38 - 18, width: 30, height: 36 });
    expect(found.keypoints[0]).toEqual([48, 34]);
    expect(found.keypoints[3]).toEqual([56, 50]);
  });

  it('weighted NMS blends overlapping detections by score and keeps separate ones', () => {
    const merged = weightedNms(
      [detection(10, 10, 20, 0.9), detection(12, 10, 20, 0.3), detection(100, 100, 20, 0.6)],
      0.3,
    );
    expect(merged).toHaveLength(2);
    expect(merged[0].score).toBe(0.9);
    expect(merged[0].box.x).toBeCloseTo((10 * 0.9 + 12 * 0.3) / 1.2, 6);
    expect(merged[1].box.x).toBe(100);
  });

  it('maps letterboxed input pixels back to the image', () => {
    const box = letterbox(400, 200, 128); // scale 0.32, 128×64 centred: padY 32
    expect(box).toMatchObject({ width: 128, height: 64, padX: 0, padY: 32 });
    const mapped = mapDetection(detection(32, 48, 16, 1), box, 10, 20);
    expect(mapped.box.x).toBeCloseTo(32 / 0.32 + 10, 6);
    expect(mapped.box.y).toBeCloseTo((48 - 32) / 0.32 + 20, 6);
    expect(mapped.box.width).toBeCloseTo(50, 6);
  });
});

describe('FaceDetector', () => {
  let detector: FaceDetector;
  beforeAll(async () => {
    detector = await FaceDetector.create({ threads: 1 });
  });
  afterAll(() => detector.dispose());

  it('finds the three faces of a group photo with plausible boxes and landmark order', async () => {
    const image = await loadImage(PHOTO);
    const faces = await detector.detect(image);
    expect(faces).toHaveLength(3);
    for (const face of faces) {
      expect(face.score).toBeGreaterThan(0.5);
      // Faces here are 8–15% of the width, inside the image.
      expect(face.box.width / image.width).toBeGreaterThan(0.06);
      expect(face.box.width / image.width).toBeLessThan(0.2);
      expect(face.box.x).toBeGreaterThanOrEqual(0);
      expect(face.box.x + face.box.width).toBeLessThanOrEqual(image.width);
      const [rightEye, leftEye, nose, mouth, rightEar, leftEar] = face.keypoints;
      // Subject's right eye/ear are on the image's left for a frontal face.
      expect(rightEye[0]).toBeLessThan(leftEye[0]);
      expect(rightEar[0]).toBeLessThan(leftEar[0]);
      // Nose below the eyes, mouth below the nose; all inside the box.
      expect(nose[1]).toBeGreaterThan(Math.min(rightEye[1], leftEye[1]));
      expect(mouth[1]).toBeGreaterThan(nose[1]);
      for (const [x, y] of [rightEye, leftEye, nose, mouth]) {
        expect(x).toBeGreaterThan(face.box.x);
        expect(x).toBeLessThan(face.box.x + face.box.width);
        expect(y).toBeGreaterThan(face.box.y);
        expect(y).toBeLessThan(face.box.y + face.box.height);
      }
    }
  });

  it('finds the same faces in an EXIF-rotated copy (orientation 6)', async () => {
    const upright = await loadImage(FOUR_FACES);
    // Store the photo turned 90° anticlockwise, tagged "rotate 90° clockwise to display".
    const stored = await sharp(FOUR_FACES)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    const rotated = await loadImage(stored);
    expect([rotated.width, rotated.height]).toEqual([upright.width, upright.height]);
    const expected = (await detector.detect(upright)).sort((a, b) => a.box.x - b.box.x);
    const found = (await detector.detect(rotated)).sort((a, b) => a.box.x - b.box.x);
    expect(expected).toHaveLength(4);
    expect(found).toHaveLength(expected.length);
    found.forEach((face, index) => {
      expect(Math.abs(face.box.x - expected[index].box.x)).toBeLessThan(0.05 * expected[index].box.width);
      expect(Math.abs(face.box.y - expected[index].box.y)).toBeLessThan(0.05 * expected[index].box.width);
    });
  });

  it('honours maxFaces and minFaceSize, and finds nothing in a blank image', async () => {
    const image = await loadImage(PHOTO);
    const limited = await FaceDetector.create({ maxFaces: 1, threads: 1 });
    const best = await limited.detect(image);
    await limited.dispose();
    expect(best).toHaveLength(1);
    const all = await detector.detect(image);
    expect(best[0].score).toBeCloseTo(all[0].score, 5);

    const widest = Math.max(...all.map((face) => face.box.width));
    const large = await FaceDetector.create({ minFaceSize: widest - 1, threads: 1 });
    expect(await large.detect(image)).toHaveLength(1);
    await large.dispose();

    const blank = { data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 };
    expect(await detector.detect(blank)).toEqual([]);
  });

  it('front and back models both find the face of a close-up; refinement fixes the back model’s eyes', async () => {
    const image = await loadImage(PHOTO);
    const face = (await detector.detect(image))[0];
    // A crop around one face: it fills the image, the front model's case.
    const side = Math.round(face.box.width * 1.3);
    const closeUp = await loadImage(
      await sharp(PHOTO)
        .extract({
          left: Math.max(0, Math.round(face.box.x - face.box.width * 0.15)),
          top: Math.max(0, Math.round(face.box.y - face.box.height * 0.15)),
          width: side,
          height: side,
        })
        .png()
        .toBuffer(),
    );
    const eyes: Record<string, [number, number][]> = {};
    for (const model of ['front', 'back'] as const) {
      for (const refine of [false, true]) {
        const single = await FaceDetector.create({ detector: model, refine, threads: 1 });
        const faces = await single.detect(closeUp);
        await single.dispose();
        expect(faces.length, model).toBe(1);
        expect(faces[0].box.width / side, model).toBeGreaterThan(0.3);
        eyes[`${model}${refine ? '+refine' : ''}`] = faces[0].keypoints.slice(0, 2);
      }
    }
    // Refinement puts the back model's eyes where the front model, seeing the face close up, has them.
    const distance = ([a, b]: [number, number][]) => Math.hypot(b[0] - a[0], b[1] - a[1]);
    const reference = distance(eyes.front);
    for (const [i, eye] of eyes['back+refine'].entries()) {
      expect(Math.hypot(eye[0] - eyes.front[i][0], eye[1] - eyes.front[i][1])).toBeLessThan(0.05 * reference);
    }
    expect(distance(eyes['back+refine']) / reference).toBeGreaterThan(0.95);
  });

  it('finds a face that overfills the image only with the zoomed-out retry, in image pixels', async () => {
    const image = await loadImage(PHOTO);
    const face = [...(await detector.detect(image))].sort((a, b) => a.box.x - b.box.x)[1];
    // A square of 0.45 face widths around the box centre: the face is larger than the picture.
    // (Between 0.5 and 0.65 BlazeFace finds a part of the face, e.g. the eyes, at score ~0.55.)
    const side = Math.round(face.box.width * 0.45);
    const closeUp = await loadImage(
      await sharp(PHOTO)
        .extract({
          left: Math.round(face.box.x + face.box.width / 2 - side / 2),
          top: Math.round(face.box.y + face.box.height / 2 - side / 2),
          width: side,
          height: side,
        })
        .png()
        .toBuffer(),
    );
    const withoutRetry = await FaceDetector.create({ zoomOut: false, threads: 1 });
    expect(await withoutRetry.detect(closeUp)).toEqual([]);
    await withoutRetry.dispose();
    const [found, ...rest] = await detector.detect(closeUp);
    expect(rest).toEqual([]);
    // The box is mapped back from the bordered image: about the whole picture, centred on it.
    expect(found.box.width / side).toBeGreaterThan(0.7);
    expect(Math.abs(found.box.x + found.box.width / 2 - side / 2)).toBeLessThan(0.2 * side);
    expect(Math.abs(found.box.y + found.box.height / 2 - side / 2)).toBeLessThan(0.3 * side);
  });

  it('rejects invalid options', async () => {
    await expect(FaceDetector.create({ detector: 'side' as 'front' })).rejects.toThrow(/front, back or auto/);
    await expect(FaceDetector.create({ minScore: 2 })).rejects.toThrow(/minScore/);
    await expect(FaceDetector.create({ maxFaces: 0 })).rejects.toThrow(/maxFaces/);
  });
});

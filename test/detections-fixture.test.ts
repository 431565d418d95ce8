/**
 * Speed work (issue 10) must not move detections or crops: boxes and eyes on the sample photos
 * stay within 1 px of the recorded ones (test/fixtures/detections.json, made by
 * scripts/detection-fixture.mjs), and while the same model file is shipped, the attribute outputs
 * stay within INT8 noise. (The fast front path is checked more loosely.) Re-recorded on 2026-12-02
 * when the accurate path moved from sharp to the in-process resize the browser shares (issue 14):
 * against the sharp recording, eyes moved by a median 1.5% of the eye distance, one chaotic
 * hand-covered face by 35%; on the UTKFace test split through the detector, age MAE −0.02 years,
 * gender +0.3 and ethnicity +0.1 points.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributeModel } from '../src/attributes/model.js';
import { loadImage } from '../src/image/load.js';
import { FaceAnalyzer, type Face } from '../src/pipeline/index.js';

interface RecordedFace {
  box: Face['box'];
  score: number;
  landmarks: Face['landmarks'];
  raw: Record<string, number[]>;
}
interface Fixture {
  model: string;
  modelSha256: string;
  configs: { auto: object; front: object };
  photos: Record<string, Record<'auto' | 'front', { width: number; height: number; faces: RecordedFace[] }>>;
}

const fixture = JSON.parse(readFileSync('test/fixtures/detections.json', 'utf8')) as Fixture;
const sameModel =
  createHash('sha256').update(readFileSync(fixture.model)).digest('hex') === fixture.modelSha256;

/** Largest distance (px) between the recorded and the new box corners and eyes. */
function largestShift(before: RecordedFace, after: Face): number {
  const { box: a } = before;
  const { box: b } = after;
  const shifts = [
    Math.abs(a.x - b.x),
    Math.abs(a.y - b.y),
    Math.abs(a.x + a.width - b.x - b.width),
    Math.abs(a.y + a.height - b.y - b.height),
  ];
  for (const eye of ['rightEye', 'leftEye'] as const) {
    shifts.push(
      Math.hypot(
        before.landmarks[eye].x - after.landmarks[eye].x,
        before.landmarks[eye].y - after.landmarks[eye].y,
      ),
    );
  }
  return Math.max(...shifts);
}

/**
 * "INT8 noise": how far the INT8 model's outputs are from the FP32 model's on the same crops, per
 * output, over all faces of the photos (plus a small floor). A sub-pixel move of the eyes changes
 * the crop by less than quantisation does, so the new outputs must stay within this of the old.
 */
async function int8Noise(analyzer: FaceAnalyzer, crops: Float32Array[]): Promise<Record<string, number>> {
  const fp32 = await AttributeModel.create({ modelPath: fixture.model.replace('int8', 'fp32'), threads: 1 });
  try {
    const [precise, quantised] = [await fp32.runRaw(crops), await analyzer.model.runRaw(crops)];
    const noise: Record<string, number> = {};
    precise.forEach((outputs, face) => {
      for (const [name, values] of Object.entries(outputs)) {
        const largest = Math.max(...values.map((value, k) => Math.abs(value - quantised[face][name][k])));
        noise[name] = Math.max(noise[name] ?? 0.01, largest);
      }
    });
    return noise;
  } finally {
    await fp32.dispose();
  }
}

describe('sample photos, default (accurate) path: as before the speed work', () => {
  const photos = Object.keys(fixture.photos);
  let analyzer: FaceAnalyzer;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ ...fixture.configs.auto, modelPath: fixture.model });
  }, 60_000);
  afterAll(() => analyzer.dispose());

  it('finds the same faces, boxes and eyes within 1 px, attribute outputs within INT8 noise', async () => {
    const crops: Float32Array[] = [];
    const changes: Record<string, number> = {};
    for (const photo of photos) {
      const recorded = fixture.photos[photo].auto;
      const image = await loadImage(photo);
      const { width, height, faces } = await analyzer.analyze(image);
      expect({ width, height }).toEqual({ width: recorded.width, height: recorded.height });
      expect(faces, photo).toHaveLength(recorded.faces.length);
      crops.push(...analyzer.crops(image, await analyzer.detect(image)));
      recorded.faces.forEach((before, index) => {
        // matched by position, not rank: two faces with close scores may swap places
        const after = nearest(before, faces);
        expect(largestShift(before, after), `${photo} face ${index}`).toBeLessThanOrEqual(1);
        expect(Math.abs(after.score - before.score)).toBeLessThanOrEqual(0.02);
        for (const [name, values] of Object.entries(before.raw)) {
          const largest = Math.max(...values.map((value, k) => Math.abs(after.raw![name][k] - value)));
          changes[name] = Math.max(changes[name] ?? 0, largest);
        }
      });
    }
    if (!sameModel) return; // another model file: its outputs are not comparable with the recorded ones
    const noise = await int8Noise(analyzer, crops);
    for (const [name, change] of Object.entries(changes))
      expect(change, name).toBeLessThanOrEqual(noise[name]);
  }, 120_000);
});

/**
 * The fast path (front model) on full photos is not the webcam case it is made for; what must hold
 * is that its clear faces (score ≥ 0.6) are still found, their eyes and box within 10% of the face (sample1: 5.5% since the in-process resize).
 */
describe('sample photos, front detector: its clear faces as before', () => {
  let analyzer: FaceAnalyzer;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ ...fixture.configs.front, modelPath: fixture.model });
  }, 60_000);
  afterAll(() => analyzer.dispose());

  it.each(Object.keys(fixture.photos))(
    '%s',
    async (photo) => {
      const { faces } = await analyzer.analyze(photo);
      for (const before of fixture.photos[photo].front.faces.filter((face) => face.score >= 0.6)) {
        expect(largestShift(before, nearest(before, faces))).toBeLessThanOrEqual(0.1 * before.box.width);
      }
    },
    60_000,
  );
});

function nearest(before: RecordedFace, faces: Face[]): Face {
  return faces.reduce((best, face) =>
    largestShift(before, face) < largestShift(before, best) ? face : best,
  );
}

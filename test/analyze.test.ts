import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelContract } from '../src/attributes/contract.js';
import { AttributeModel } from '../src/attributes/model.js';
import { LANDMARK_NAMES } from '../src/detect/blazeface.js';
import { ImageError } from '../src/image/types.js';
import { FaceAnalyzer, type Face } from '../src/pipeline/index.js';
import { FACE_KEYS } from './fixtures/face.js';

const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as ModelContract;
const labels = (name: string) => contract.outputs[name].labels;
const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample5.jpg'; // five people

function expectDistribution(probabilities: Record<string, number>, expectedLabels: readonly string[]) {
  expect(Object.keys(probabilities)).toEqual([...expectedLabels]);
  const sum = Object.values(probabilities).reduce((total, p) => total + p, 0);
  expect(sum).toBeGreaterThan(0.99);
  expect(sum).toBeLessThan(1.01);
}

function expectFaceSchema(face: Face, width: number, height: number) {
  expect(Object.keys(face).sort()).toEqual(FACE_KEYS);
  expect(face.box.x).toBeGreaterThan(-face.box.width / 2);
  expect(face.box.x + face.box.width).toBeLessThan(width + face.box.width / 2);
  expect(face.box.y + face.box.height).toBeLessThan(height + face.box.height / 2);
  expect(Object.keys(face.landmarks)).toEqual([...LANDMARK_NAMES]);
  expect(face.age.low).toBeGreaterThanOrEqual(0);
  expect(face.age.low).toBeLessThanOrEqual(face.age.years);
  expect(face.age.high).toBeGreaterThanOrEqual(face.age.years);
  // The 90% interval is mean ± 1.645·std, clamped at 0.
  expect(face.age.high - face.age.years).toBeCloseTo(1.645 * face.age.std, 1);
  expect(labels('gender')).toContain(face.gender.label);
  expect(face.gender.probability).toBeGreaterThanOrEqual(0.5);
  expectDistribution(face.ethnicity.probabilities, labels('ethnicity'));
  expectDistribution(face.emotion.probabilities, labels('emotion'));
  for (const estimate of [face.ethnicity, face.emotion]) {
    expect(estimate.probabilities[estimate.label]).toBe(Math.max(...Object.values(estimate.probabilities)));
  }
}

describe('FaceAnalyzer', () => {
  let analyzer: FaceAnalyzer;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ threads: 1 });
  });
  afterAll(() => analyzer.dispose());

  it('returns plain JSON: image size and every face with box, landmarks and attributes', async () => {
    const result = await analyzer.analyze(PHOTO);
    expect(result.width).toBe(1920);
    expect(result.height).toBe(1398);
    expect(result.faces).toHaveLength(5);
    for (const face of result.faces) expectFaceSchema(face, result.width, result.height);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    // The raw outputs stay available (not enumerable, so not in JSON).
    expect(Object.keys(result.faces[0].raw!)).toEqual(Object.keys(contract.outputs));
  });

  it('runs all faces of an image through the model in one batch', async () => {
    const runRaw = vi.spyOn(AttributeModel.prototype, 'runRaw');
    try {
      const result = await analyzer.analyze(PHOTO);
      expect(runRaw).toHaveBeenCalledTimes(1);
      expect(runRaw.mock.calls[0][0]).toHaveLength(result.faces.length);
    } finally {
      runRaw.mockRestore();
    }
  });

  it('detect + attributes separately give the same result as analyzeFrame', async () => {
    const { loadImage } = await import('../src/image/load.js');
    const image = await loadImage(PHOTO);
    const detections = await analyzer.detect(image);
    const attributes = await analyzer.attributes(image, detections);
    const whole = await analyzer.analyzeFrame(image);
    expect(attributes).toHaveLength(whole.faces.length);
    attributes.forEach((face, index) => {
      expect(face.age).toEqual(whole.faces[index].age);
      expect(face.emotion).toEqual(whole.faces[index].emotion);
    });
  });

  it('reports no faces for an image without any, and ImageErrors for bad inputs', async () => {
    const blank = {
      data: new Uint8Array(64 * 48 * 3).fill(200),
      width: 64,
      height: 48,
      channels: 3 as const,
    };
    expect(await analyzer.analyze(blank)).toEqual({ width: 64, height: 48, faces: [] });
    await expect(analyzer.analyze(new Uint8Array(0))).rejects.toBeInstanceOf(ImageError);
    await expect(analyzer.analyze(Buffer.from('not an image'))).rejects.toMatchObject({
      code: 'unsupported',
    });
    await expect(analyzer.analyze(PHOTO, { maxPixels: 1000 })).rejects.toMatchObject({ code: 'too_large' });
  });

  it('selects the FP32 model and rejects unknown precisions and missing model files', async () => {
    const fp32 = await AttributeModel.create({ precision: 'fp32', threads: 1 });
    expect(fp32.modelPath).toMatch(new RegExp(`${contract.files.fp32}$`));
    await fp32.dispose();
    await expect(AttributeModel.create({ precision: 'int4' as 'int8' })).rejects.toThrow(/int8 or fp32/);
    await expect(AttributeModel.create({ modelPath: '/nonexistent/model.onnx' })).rejects.toThrow(
      /not found/,
    );
  });
});

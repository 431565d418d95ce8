/**
 * The platform-independent pieces the browser demo shares with the Node runtime
 * (src/detect/regions.ts, src/pipeline/face.ts): they must not import Node, and must behave.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alignCrop } from '../src/attributes/crop.js';
import { letterbox, type Detection } from '../src/detect/blazeface.js';
import {
  AUTO_TILE_MIN_SIDE,
  CLOSE_UP_MAX_SIDE,
  DEFAULT_DETECTION_SETTINGS,
  detectFaces,
  modelsFor,
  detectionRegions,
  isCutByTileEdge,
  mergeRegionDetections,
  needsRefinement,
  tileGrid,
} from '../src/detect/regions.js';
import { alignedCrops, toFace } from '../src/pipeline/face.js';
import { faceSummary } from '../web/src/render.js';

const detection = (x: number, y: number, size: number, score: number): Detection => ({
  box: { x, y, width: size, height: size },
  score,
  keypoints: [
    [x + 0.3 * size, y + 0.4 * size],
    [x + 0.7 * size, y + 0.4 * size],
    [x + 0.5 * size, y + 0.6 * size],
    [x + 0.5 * size, y + 0.8 * size],
    [x, y + 0.5 * size],
    [x + size, y + 0.5 * size],
  ],
});

describe('code shared by the browser demo and the Node runtime', () => {
  it('imports nothing from Node', () => {
    for (const file of [
      'src/detect/regions.ts',
      'src/pipeline/face.ts',
      'src/detect/blazeface.ts',
      'src/detect/resample.ts',
      'src/detect/resample-wasm.ts',
      'src/attributes/crop.ts',
      'src/attributes/decode.ts',
      'src/attributes/binary.ts',
    ]) {
      const imports = readFileSync(file, 'utf8').match(/^import (?!type )[^;]*?from '[^']+'/gm) ?? [];
      for (const line of imports)
        expect(line, `${file}: ${line}`).not.toMatch(/'node:|'sharp'|'onnxruntime-node'|'fs'/);
    }
  });

  it('searches tiles only on large images with auto, and the tiles cover the whole image', () => {
    expect(tileGrid('auto', undefined, 640, 480)).toBe(0);
    expect(tileGrid('auto', undefined, AUTO_TILE_MIN_SIDE, 700)).toBe(2);
    expect(tileGrid('front', undefined, 4000, 3000)).toBe(0);
    expect(tileGrid('back', 3, 640, 480)).toBe(3);

    expect(detectionRegions(640, 480, 0)).toEqual([{ left: 0, top: 0, width: 640, height: 480 }]);
    const [whole, ...tiles] = detectionRegions(1920, 1281, 3);
    expect(whole).toEqual({ left: 0, top: 0, width: 1920, height: 1281 });
    expect(tiles).toHaveLength(9);
    const covered = new Set<string>();
    for (const tile of tiles) {
      expect(tile.left).toBeGreaterThanOrEqual(0);
      expect(tile.top).toBeGreaterThanOrEqual(0);
      expect(tile.left + tile.width).toBeLessThanOrEqual(1920);
      expect(tile.top + tile.height).toBeLessThanOrEqual(1281);
      for (let x = tile.left; x < tile.left + tile.width; x += 8) {
        for (let y = tile.top; y < tile.top + tile.height; y += 8) covered.add(`${x >> 3},${y >> 3}`);
      }
    }
    expect(covered.size).toBe(Math.ceil(1920 / 8) * Math.ceil(1281 / 8));
  });

  it('drops faces cut by an inner tile edge but keeps those at the image border', () => {
    const box = letterbox(500, 500, 256);
    const image = { width: 1000, height: 1000 };
    const atLeftEdge = detection(0, 100, 40, 0.9); // touches the tile's left side
    expect(isCutByTileEdge(atLeftEdge, box, { left: 500, top: 0, width: 500, height: 500 }, image)).toBe(
      true,
    );
    expect(isCutByTileEdge(atLeftEdge, box, { left: 0, top: 0, width: 500, height: 500 }, image)).toBe(false);
    expect(
      isCutByTileEdge(
        detection(100, 100, 40, 0.9),
        box,
        { left: 500, top: 0, width: 500, height: 500 },
        image,
      ),
    ).toBe(false);
  });

  it('merges one face seen in several regions, then filters, sorts and caps', () => {
    const found = [
      detection(100, 100, 50, 0.8),
      detection(102, 101, 50, 0.9),
      detection(400, 100, 20, 0.7),
      detection(700, 100, 60, 0.6),
    ];
    const merged = mergeRegionDetections(found, 5, { minFaceSize: 30, maxFaces: 10 });
    expect(merged.map((d) => d.score)).toEqual([0.9, 0.6]); // the pair merged, the small face dropped
    expect(merged[0].box.x).toBeGreaterThan(100);
    expect(merged[0].box.x).toBeLessThan(102);
    expect(mergeRegionDetections(found, 5, { minFaceSize: 0, maxFaces: 1 })).toHaveLength(1);
    // A single region is already merged by the decoder: nothing blended there.
    expect(mergeRegionDetections(found, 1, { minFaceSize: 0, maxFaces: 10 })).toHaveLength(4);
  });

  it('detectFaces: searches the regions, merges, refines each face close up with the front model', async () => {
    const calls: string[] = [];
    const face = detection(300, 300, 100, 0.9);
    const refined = detection(305, 302, 96, 0.99);
    const detectRegion = async (region: { left: number; top: number }, model: string) => {
      calls.push(`${model}@${region.left},${region.top}`);
      if (model === 'front') return [refined];
      return region.left === 0 && region.top === 0 ? [face, detection(900, 700, 10, 0.6)] : [];
    };
    const faces = await detectFaces(
      { width: 1200, height: 900 },
      { ...DEFAULT_DETECTION_SETTINGS, minFaceSize: 20 },
      detectRegion,
    );
    // auto on a 1200 px image: the back model on the whole image and 2×2 tiles, then one front run per face.
    expect(calls.filter((call) => call.startsWith('back'))).toHaveLength(5);
    expect(calls.filter((call) => call.startsWith('front'))).toHaveLength(2);
    expect(faces).toHaveLength(1); // the 10 px face is dropped after refinement
    expect(faces[0].box).toEqual(refined.box); // refined box and keypoints…
    expect(faces[0].score).toBe(0.9); // …with the original detection score

    calls.length = 0;
    await detectFaces(
      { width: 640, height: 480 },
      { ...DEFAULT_DETECTION_SETTINGS, refine: false },
      detectRegion,
    );
    expect(calls).toEqual(['back@0,0']);
  });

  it('detectFaces with the front model refines only faces whose eyes are close together in its input', async () => {
    const calls: string[] = [];
    // 640 px wide: the whole-image pass scales by 128 / 640, so eyes 0.4·size apart are 0.08·size input pixels apart
    const large = detection(50, 50, 250, 0.9); // eyes 20 input px apart: sharp enough
    const small = detection(400, 300, 100, 0.8); // 8 px apart: looked at again close up
    const detectRegion = async (region: { left: number; top: number }, model: string) => {
      calls.push(`${model}@${region.left},${region.top}`);
      return region.left === 0 && region.top === 0 ? [large, small] : [detection(405, 302, 96, 0.99)];
    };
    const faces = await detectFaces(
      { width: 640, height: 480 },
      { ...DEFAULT_DETECTION_SETTINGS, detector: 'front' },
      detectRegion,
    );
    expect(calls).toEqual(['front@0,0', 'front@350,250']);
    expect(faces.map((face) => face.box.x)).toEqual([50, 405]);
    expect(needsRefinement(large, 'front', { width: 640, height: 480 })).toBe(false);
    expect(needsRefinement(large, 'back', { width: 640, height: 480 })).toBe(true); // the back model always is
    expect(needsRefinement(large, 'front', { width: 1280, height: 960 })).toBe(true); // half the scale: 10 px
  });

  it('detectFaces: when nothing is found, looks once more at the image inside a border', async () => {
    const calls: [string, { left: number; top: number; width: number; height: number }][] = [];
    const inside = detection(-10, -5, 120, 0.8); // the face reaches past the picture
    const detectRegion = async (
      region: { left: number; top: number; width: number; height: number },
      model: string,
    ) => {
      calls.push([model, region]);
      return region.left < 0 ? [inside] : [];
    };
    const settings = { ...DEFAULT_DETECTION_SETTINGS, refine: false };
    expect(await detectFaces({ width: 100, height: 80 }, settings, detectRegion)).toEqual([inside]);
    // A small image: the close-up search (front model) first, which zooms out too.
    expect(calls).toEqual([
      ['front', { left: 0, top: 0, width: 100, height: 80 }],
      ['front', { left: -25, top: -20, width: 150, height: 120 }],
    ]);
    calls.length = 0;
    expect(
      await detectFaces({ width: 100, height: 80 }, { ...settings, detector: 'back' }, detectRegion),
    ).toEqual([inside]);
    expect(calls).toEqual([
      ['back', { left: 0, top: 0, width: 100, height: 80 }],
      ['back', { left: -25, top: -20, width: 150, height: 120 }],
    ]);

    calls.length = 0;
    expect(
      await detectFaces({ width: 100, height: 80 }, { ...settings, zoomOut: false }, detectRegion),
    ).toEqual([]);
    // Nothing close up: the back model's search follows.
    expect(calls.map(([model]) => model)).toEqual(['front', 'back']);
  });

  it('detectFaces (auto): a small image found by the front model alone; a larger one by the back model', async () => {
    const face = detection(100, 80, 300, 0.9);
    const models: string[] = [];
    const detectRegion = async (_: unknown, model: string) => {
      models.push(model);
      return [face];
    };
    const settings = { ...DEFAULT_DETECTION_SETTINGS, refine: false };
    const side = CLOSE_UP_MAX_SIDE;
    expect(await detectFaces({ width: side, height: side }, settings, detectRegion)).toEqual([face]);
    expect(models).toEqual(['front']);
    models.length = 0;
    await detectFaces({ width: side + 1, height: side }, settings, detectRegion);
    expect(models).toEqual(['back']);
    // The fast detector never runs the back model; auto loads both sessions.
    expect(modelsFor({ detector: 'front', refine: true })).toEqual(['front']);
    expect(modelsFor({ detector: 'auto', refine: false })).toEqual(['back', 'front']);
    expect(modelsFor({ detector: 'back', refine: false })).toEqual(['back']);
  });

  it("aligns detected eyes with the contract's detectorEyes when it has them, else with crop", () => {
    const width = 200;
    const height = 160;
    const data = new Uint8Array(width * height * 3).map((_, index) => (index * 7) % 251); // no flat areas
    const image = { data, width, height };
    const input = { name: 'image', size: 64, layout: 'NCHW', channels: 'RGB', range: [0, 255] } as const;
    const crop = { eyeCenter: [0.5, 0.3], eyeDistance: 0.42 } as const;
    const detectorEyes = { eyeCenter: [0.5, 0.305], eyeDistance: 0.39 } as const;
    const face = detection(40, 30, 100, 0.9);
    const [right, left] = face.keypoints;
    const [withDetectorEyes] = alignedCrops(image, [face], { input, crop, detectorEyes } as never);
    const [withCrop] = alignedCrops(image, [face], { input, crop } as never);
    expect(withDetectorEyes).toEqual(alignCrop(image, right, left, 64, detectorEyes));
    expect(withCrop).toEqual(alignCrop(image, right, left, 64, crop));
    expect(withDetectorEyes).not.toEqual(withCrop);
  });

  it('makes one aligned crop per face and the Face JSON without raw outputs', () => {
    const image = { data: new Uint8Array(200 * 100 * 3).fill(77), width: 200, height: 100 };
    const contract = {
      input: { name: 'image', size: 64, layout: 'NCHW', channels: 'RGB', range: [0, 255] },
      crop: { eyeCenter: [0.5, 0.3], eyeDistance: 0.42 },
    } as const;
    const faces = [detection(20, 20, 50, 0.9), detection(120, 30, 40, 0.8)];
    const crops = alignedCrops(image, faces, contract as never);
    expect(crops).toHaveLength(2);
    expect(crops[0]).toHaveLength(3 * 64 * 64);
    expect(crops[0].every((value) => value === 77)).toBe(true);

    const attributes = {
      age: { years: 30, low: 20, high: 40, std: 6 },
      gender: { label: 'female', probability: 0.7 },
      ethnicity: { label: 'white', probabilities: { white: 1 } },
      emotion: { label: 'happy', probabilities: { happy: 1 } },
    };
    const face = toFace(detection(10.04, 20.06, 50.01, 0.91234), attributes, { age: [30, 6] });
    expect(face.box).toEqual({ x: 10, y: 20.1, width: 50, height: 50 });
    expect(face.score).toBe(0.912);
    expect(face.landmarks.rightEye).toEqual({ x: 25, y: 40.1 });
    expect(face.raw).toEqual({ age: [30, 6] });
    expect(Object.keys(JSON.parse(JSON.stringify(face)))).toEqual([
      'box',
      'score',
      'landmarks',
      'age',
      'gender',
      'ethnicity',
      'emotion',
    ]);
  });

  it('the demo lists the attributes a face shows, and no such row for a model without them', () => {
    const attributes = {
      age: { years: 30, low: 20, high: 40, std: 6 },
      gender: { label: 'female', probability: 0.7 },
      ethnicity: { label: 'white', probabilities: { white: 1 } },
      emotion: { label: 'happy', probabilities: { happy: 1 } },
    };
    const old = toFace(detection(10, 20, 50, 0.9), attributes, {});
    expect(faceSummary(old).map(([term]) => term)).toEqual([
      'age',
      'gender',
      'ethnicity',
      'emotion',
      'detector',
    ]);

    const face = toFace(
      detection(10, 20, 50, 0.9),
      {
        ...attributes,
        attributes: {
          smile: { probability: 0.93, present: true },
          eyeglasses: { probability: 0.991, present: true },
          beard: { probability: 0.2, present: false },
        },
      },
      {},
    );
    expect(Object.keys(JSON.parse(JSON.stringify(face)))).toContain('attributes');
    expect(Object.fromEntries(faceSummary(face)).attributes).toBe('smile 93% · glasses 99%');
  });
});

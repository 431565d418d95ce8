import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadContract } from '../src/attributes/contract.js';
import type { RawOutputs } from '../src/attributes/decode.js';
import { occlusionMaps, squarePositions } from '../src/explain/occlusion.js';
import { explanationPng, heatColour } from '../src/explain/render.js';
import { SHIPPED_ATTRIBUTES } from './fixtures/face.js';

const SIZE = 64;
const contract = loadContract();
const emotionLabels = contract.outputs.emotion.labels;

/**
 * A stand-in model that only looks at the mouth region (rows 44–55, columns 20–43): the brighter
 * it is, the happier the face and the older; every other head is constant.
 */
function mouthModel(calls: number[]) {
  return async (crops: Float32Array[]): Promise<RawOutputs[]> => {
    calls.push(crops.length);
    return crops.map((crop) => {
      let sum = 0;
      for (let y = 44; y < 56; y++) for (let x = 20; x < 44; x++) sum += crop[y * SIZE + x]; // red channel
      const brightness = sum / (12 * 24) / 255;
      const emotion = emotionLabels.map((label) => (label === 'happy' ? brightness : (1 - brightness) / 7));
      const ethnicity = contract.outputs.ethnicity.labels.map((_, k) => (k === 0 ? 0.6 : 0.1));
      return { age: [20 + 40 * brightness, 5], gender: [0.3, 0.7], ethnicity, emotion };
    });
  };
}

const whiteCrop = () => new Float32Array(3 * SIZE * SIZE).fill(255);

describe('occlusion maps', () => {
  it('places squares on a grid that reaches every edge, without duplicates', () => {
    const positions = squarePositions(64, 16, 4);
    expect(positions).toHaveLength(13 * 13);
    expect(new Set(positions.map(String)).size).toBe(positions.length);
    expect(positions.at(-1)).toEqual([48, 48]);
    expect(squarePositions(64, 16, 5).map(([x]) => x)).toContain(48);
  });

  it('is high where the model looks and zero where it does not, for every head', async () => {
    const calls: number[] = [];
    const maps = await occlusionMaps(whiteCrop(), SIZE, mouthModel(calls), contract, { patch: 8, stride: 4 });
    expect(Object.keys(maps)).toEqual(['age', 'gender', 'ethnicity', 'emotion']);
    const emotion = maps.emotion;
    expect(emotion.label).toBe('happy');
    expect(emotion.score).toBeCloseTo(1);
    const at = (x: number, y: number) => emotion.map[y * SIZE + x];
    expect(at(32, 50)).toBeGreaterThan(0.05); // in the mouth region
    expect(at(32, 10)).toBe(0); // forehead: hiding it changes nothing
    expect(at(5, 50)).toBe(0);
    expect(emotion.max).toBeCloseTo(Math.max(...emotion.map), 6);
    expect(maps.age.label).toBe('years');
    expect(maps.age.map[50 * SIZE + 32]).toBeGreaterThan(1); // years of change
    expect(maps.gender).toMatchObject({ label: 'female', max: 0 }); // a constant head ignores everything
    // the baseline, then all 15×15 occluded crops in batches of at most 128
    expect(calls).toEqual([1, 128, 97]);
  });

  it('rejects a crop of the wrong size', async () => {
    await expect(occlusionMaps(new Float32Array(10), SIZE, mouthModel([]), contract)).rejects.toThrow(
      RangeError,
    );
  });
});

describe('explanation pictures', () => {
  it('colours low values blue and high values red', () => {
    expect(heatColour(0)[2]).toBeGreaterThan(100);
    expect(heatColour(0)[0]).toBe(0);
    expect(heatColour(1)[0]).toBeGreaterThan(100);
    expect(heatColour(1)[2]).toBe(0);
  });

  it('draws face | overlay, enlarged', async () => {
    const maps = await occlusionMaps(whiteCrop(), SIZE, mouthModel([]), contract, { patch: 8, stride: 8 });
    const png = await explanationPng(whiteCrop(), SIZE, maps.emotion, {
      scale: 2,
      caption: 'emotion: happy',
    });
    const { width, height, format } = await sharp(png).metadata();
    expect([format, width, height]).toEqual(['png', 256, 128]);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => [...data.subarray((y * 256 + x) * 3, (y * 256 + x) * 3 + 3)];
    expect(pixel(64, 100)).toEqual([255, 255, 255]); // the face half is the crop
    const mouth = pixel(128 + 64, 100);
    expect(mouth[0]).toBeGreaterThan(mouth[2]); // the overlay is red-ish over the mouth

    // The overlay alone: half the width, the same overlay pixels.
    const alone = await explanationPng(whiteCrop(), SIZE, maps.emotion, { scale: 2, face: false });
    const overlay = await sharp(alone).raw().toBuffer({ resolveWithObject: true });
    expect([overlay.info.width, overlay.info.height]).toEqual([128, 128]);
    const at = (x: number, y: number) => [...overlay.data.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3)];
    expect(at(64, 100)).toEqual(mouth);
  });
});

describe('facemtl explain (CLI)', () => {
  const run = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)('node', ['dist/cli/main.js', 'explain', ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('writes one PNG per face and head', async () => {
    const out = mkdtempSync(join(tmpdir(), 'facemtl-explain-'));
    const photo = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
    const { code, stdout } = await run(photo, '--out', out, '--json', '--threads', '1', '--stride', '8');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      faces: { heads: Record<string, { file: string; label: string; regions: Record<string, number> }> }[];
    };
    expect(report.faces.length).toBeGreaterThanOrEqual(2);
    // One map per head, and one per yes/no attribute of a model that has them.
    const heads = ['age', 'gender', 'ethnicity', 'emotion', ...SHIPPED_ATTRIBUTES];
    expect(Object.keys(report.faces[0].heads)).toEqual(heads);
    expect(readdirSync(out)).toHaveLength(report.faces.length * heads.length);
    expect(readdirSync(out)).toContain('sample1-face1-emotion.png');
    for (const name of SHIPPED_ATTRIBUTES) {
      const head = report.faces[0].heads[name];
      expect(['yes', 'no']).toContain(head.label);
      expect(readdirSync(out)).toContain(`sample1-face1-${name}.png`);
    }
    // Shares of the map in the eye, nose and mouth bands: at most all of it together.
    const { regions } = report.faces[0].heads.emotion;
    expect(Object.keys(regions)).toEqual(['eyes_brows', 'nose_cheeks', 'mouth_chin']);
    expect(Object.values(regions).reduce((sum, share) => sum + share, 0)).toBeLessThanOrEqual(1.001);
  }, 60_000);

  it('fails with one line when there is no face', async () => {
    const out = mkdtempSync(join(tmpdir(), 'facemtl-explain-'));
    const blank = join(out, 'blank.png');
    await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
      .png()
      .toFile(blank);
    const { code, stderr } = await run(blank, '--out', out);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`facemtl: no face found in ${blank}`);
  }, 60_000);
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alignCrop, datasetCrop, type Point } from '../src/attributes/crop.js';
import type { ModelContract } from '../src/attributes/contract.js';
import type { RgbImage } from '../src/image/types.js';

const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as ModelContract;
const S = contract.input.size;

function randomImage(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, width, height };
}

/** The contract's eye positions inside an S×S crop, in pixels. */
function cropEyes(size: number, geometry = contract.crop): [Point, Point] {
  const [cx, cy] = geometry.eyeCenter;
  const half = (geometry.eyeDistance * size) / 2;
  return [
    [cx * size - half, cy * size],
    [cx * size + half, cy * size],
  ];
}

/**
 * Independent reference: the similarity that sends the crop's eye positions onto the source eyes,
 * solved as a complex-linear map z ↦ a·z + b, then bilinear sampling on an edge-replicated image.
 */
function naiveCrop(image: RgbImage, eyeRight: Point, eyeLeft: Point, size: number): Float32Array {
  const [cropRight, cropLeft] = cropEyes(size);
  const divide = (p: Point, q: Point): Point => {
    const n = q[0] ** 2 + q[1] ** 2;
    return [(p[0] * q[0] + p[1] * q[1]) / n, (p[1] * q[0] - p[0] * q[1]) / n];
  };
  const times = (p: Point, q: Point): Point => [p[0] * q[0] - p[1] * q[1], p[0] * q[1] + p[1] * q[0]];
  const a = divide([eyeLeft[0] - eyeRight[0], eyeLeft[1] - eyeRight[1]], [cropLeft[0] - cropRight[0], 0]);
  const aRight = times(a, cropRight);
  const b: Point = [eyeRight[0] - aRight[0], eyeRight[1] - aRight[1]];
  const pixel = (x: number, y: number, c: number) => {
    const xi = Math.min(image.width - 1, Math.max(0, x));
    const yi = Math.min(image.height - 1, Math.max(0, y));
    return image.data[(yi * image.width + xi) * 3 + c];
  };
  const out = new Float32Array(3 * size * size);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const mapped = times(a, [u + 0.5, v + 0.5]);
      const x = mapped[0] + b[0] - 0.5; // pixel (i, j) has its centre at (i + 0.5, j + 0.5)
      const y = mapped[1] + b[1] - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      for (let c = 0; c < 3; c++) {
        const value =
          pixel(x0, y0, c) * (1 - fx) * (1 - fy) +
          pixel(x0 + 1, y0, c) * fx * (1 - fy) +
          pixel(x0, y0 + 1, c) * (1 - fx) * fy +
          pixel(x0 + 1, y0 + 1, c) * fx * fy;
        out[c * size * size + v * size + u] = Math.round(value);
      }
    }
  }
  return out;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The image as CHW floats (what an identity crop must return). */
function toChw(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 3 + c];
  return out;
}

describe('alignCrop', () => {
  it('is the identity when the eyes already sit at the contract positions of an S×S image', () => {
    const image = randomImage(S, S);
    const [right, left] = cropEyes(S);
    expect(maxDifference(alignCrop(image, right, left, S, contract.crop), toChw(image))).toBe(0);
  });

  it('undoes a 90° rotation exactly', () => {
    const image = randomImage(S, S, 7);
    // Rotate clockwise: source pixel (x, y) goes to (S − 1 − y, x); continuous points (x, y) → (S − y, x).
    const rotated = new Uint8Array(image.data.length);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        rotated.set(image.data.subarray((y * S + x) * 3, (y * S + x) * 3 + 3), (x * S + (S - 1 - y)) * 3);
      }
    }
    const [right, left] = cropEyes(S);
    const turn = ([x, y]: Point): Point => [S - y, x];
    const crop = alignCrop({ data: rotated, width: S, height: S }, turn(right), turn(left), S, contract.crop);
    expect(maxDifference(crop, toChw(image))).toBe(0);
  });

  it('matches an independent per-pixel implementation for tilted, scaled eyes near the edge', () => {
    const image = randomImage(97, 61, 3);
    const cases: [Point, Point][] = [
      [
        [30.3, 22.7],
        [52.9, 31.1],
      ],
      [
        [5.5, 50.25],
        [18.75, 40.5],
      ], // partly outside the crop's reach: edge pixels replicated
      [
        [70, 10],
        [40, 12],
      ], // upside-down face (eyes swapped)
    ];
    for (const [right, left] of cases) {
      const crop = alignCrop(image, right, left, S, contract.crop);
      expect(maxDifference(crop, naiveCrop(image, right, left, S))).toBeLessThanOrEqual(1);
    }
  });

  it('rejects two eyes at the same place', () => {
    expect(() => alignCrop(randomImage(8, 8), [3, 3], [3, 3], S, contract.crop)).toThrow(RangeError);
  });
});

describe('datasetCrop', () => {
  it('utkface: an S×S image is returned unchanged (the contract’s identity geometry)', () => {
    const image = randomImage(S, S, 11);
    const utk = contract.datasetEyes.utkface;
    expect(utk.eyeCenter).toEqual(contract.crop.eyeCenter);
    expect(maxDifference(datasetCrop(image, 'utkface', contract), toChw(image))).toBe(0);
  });

  it('fer: crops from the virtual eyes of datasetEyes.fer', () => {
    const image = randomImage(48, 48, 5);
    const { eyeCenter, eyeDistance } = contract.datasetEyes.fer;
    const right: Point = [(eyeCenter[0] - eyeDistance / 2) * 48, eyeCenter[1] * 48];
    const left: Point = [(eyeCenter[0] + eyeDistance / 2) * 48, eyeCenter[1] * 48];
    const crop = datasetCrop(image, 'fer', contract);
    expect(crop.length).toBe(3 * S * S);
    expect(maxDifference(crop, naiveCrop(image, right, left, S))).toBeLessThanOrEqual(1);
  });
});

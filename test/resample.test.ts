import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { letterbox } from '../src/detect/blazeface.js';
import type { Region } from '../src/detect/regions.js';
import { availableResampleEngine, letterboxTensor } from '../src/detect/resample.js';
import type { RgbImage } from '../src/image/types.js';

function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    // Smooth gradients plus noise, so that every filter tap matters.
    data[i] = ((i % 3) * 60 + ((i / 3) % width) + (state >>> 26)) & 255;
  }
  return { data, width, height };
}

/** How many values differ (toEqual on 200,000 floats takes seconds). */
function differing(a: Float32Array, b: Float32Array): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/** The detector input for `region` by one engine. */
function input(image: RgbImage, region: Region, size: number, engine: 'wasm' | 'js'): Float32Array {
  const out = new Float32Array(size * size * 3);
  letterboxTensor(image, region, letterbox(region.width, region.height, size), out, { engine });
  return out;
}

describe('letterboxTensor: WebAssembly and JavaScript engines', () => {
  const cases: [string, number, number, Region, number][] = [
    [
      'webcam frame → 128 (block means, then bilinear)',
      640,
      480,
      { left: 0, top: 0, width: 640, height: 480 },
      128,
    ],
    ['small photo enlarged → 256 (Lanczos-3)', 200, 200, { left: 0, top: 0, width: 200, height: 200 }, 256],
    ['odd-sized image → 128 (odd row length)', 333, 251, { left: 0, top: 0, width: 333, height: 251 }, 128],
    ['close-up region enlarged → 128', 640, 480, { left: 301, top: 197, width: 77, height: 77 }, 128],
    ['tile of a large photo → 256', 1920, 1280, { left: 960, top: 0, width: 960, height: 1280 }, 256],
    [
      'zoomed-out region (reaches past the image) → 256',
      300,
      220,
      { left: -60, top: -44, width: 420, height: 308 },
      256,
    ],
    ['factor 3 (3×3 block means) → 128', 384, 384, { left: 0, top: 0, width: 384, height: 384 }, 128],
  ];
  it('Node has WebAssembly SIMD, so the WebAssembly engine is the one that runs', () => {
    expect(availableResampleEngine()).toBe('wasm');
  });

  it.each(cases)('%s: the same input to the bit', (_, width, height, region, size) => {
    const image = randomImage(width, height, width * 7 + height);
    const wasm = input(image, region, size, 'wasm');
    const js = input(image, region, size, 'js');
    expect(differing(wasm, js)).toBe(0);
    // Not all black: the region's pixels are there.
    expect(wasm.filter((value) => value !== -1).length).toBeGreaterThan(size * size);
  });

  it('keeps working when one call needs more memory than the last', () => {
    const small = randomImage(64, 48, 3);
    const large = randomImage(1600, 1200, 4);
    const scratch = { engine: 'wasm' as const };
    const out = new Float32Array(256 * 256 * 3);
    const box = letterbox(64, 48, 256);
    letterboxTensor(small, { left: 0, top: 0, width: 64, height: 48 }, box, out, scratch);
    const first = out.slice();
    letterboxTensor(
      large,
      { left: 0, top: 0, width: 1600, height: 1200 },
      letterbox(1600, 1200, 256),
      out,
      scratch,
    );
    letterboxTensor(small, { left: 0, top: 0, width: 64, height: 48 }, box, out, scratch);
    expect(differing(out, first)).toBe(0);
  });
});

describe('scripts/build-wasm.mjs', () => {
  it('the committed WebAssembly module matches its .wat source', () => {
    // Exit status 1 (and an exception here) when src/detect/wasm/*-module.ts is out of date.
    expect(() =>
      execFileSync('node', ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});

#!/usr/bin/env node
/* global performance, OffscreenCanvas, ImageData, resample, window */
/**
 * The detector-input resize in headless Chromium, per call: a canvas (drawImage + getImageData, what
 * the demo did before) vs the shared in-process `letterboxTensor` (src/detect/resample.ts, what it
 * does now, like Node), its filter passes in JavaScript and in WebAssembly SIMD (the default), on a
 * 640×480 webcam-sized frame. All in one page, interleaved. Writes bench/results/web-resize.md.
 *
 *   npm run build && node bench/web-resize.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './web-browser.mjs';
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage();
// The built modules (dist/), served from a made-up origin, imported as the demo's bundle imports them.
const ORIGIN = 'http://bench.invalid';
await page.route(`${ORIGIN}/**`, (route) => {
  const path = new URL(route.request().url()).pathname;
  if (path === '/')
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' });
  return route.fulfill({ contentType: 'text/javascript', body: readFileSync(`dist${path}`) });
});
await page.goto(`${ORIGIN}/`);
await page.evaluate(async () => {
  window.resample = await import('/detect/resample.js');
});
const result = await page.evaluate(async () => {
  const W = 640,
    H = 480;
  const rgba = new Uint8ClampedArray(W * H * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 7919) % 251; // busy pixels
  const pixels = new ImageData(rgba, W, H);
  const rgb = new Uint8Array(W * H * 3);
  for (let s = 0, t = 0; t < rgb.length; s += 4, t += 3) {
    rgb[t] = rgba[s];
    rgb[t + 1] = rgba[s + 1];
    rgb[t + 2] = rgba[s + 2];
  }
  const image = { data: rgb, width: W, height: H };
  const lb = (w, h, size) => {
    const scale = size / Math.max(w, h);
    const sw = Math.max(1, Math.min(size, Math.round(w * scale)));
    const sh = Math.max(1, Math.min(size, Math.round(h * scale)));
    return {
      inputSize: size,
      scale,
      width: sw,
      height: sh,
      padX: Math.floor((size - sw) / 2),
      padY: Math.floor((size - sh) / 2),
    };
  };
  const cases = [
    ['frame→256', { left: 0, top: 0, width: W, height: H }, 256],
    ['frame→128', { left: 0, top: 0, width: W, height: H }, 128],
    ['face 200²→128', { left: 200, top: 100, width: 200, height: 200 }, 128],
  ];
  const source = new OffscreenCanvas(W, H);
  const sctx = source.getContext('2d');
  const squares = {};
  const canvasWay = (region, box) => {
    const size = box.inputSize;
    const sq = (squares[size] ??= (() => {
      const c = new OffscreenCanvas(size, size).getContext('2d', { willReadFrequently: true });
      c.imageSmoothingQuality = 'high';
      return c;
    })());
    sq.fillStyle = 'black';
    sq.fillRect(0, 0, size, size);
    sq.drawImage(
      source,
      region.left,
      region.top,
      region.width,
      region.height,
      box.padX,
      box.padY,
      box.width,
      box.height,
    );
    const d = sq.getImageData(0, 0, size, size).data;
    const out = new Float32Array(size * size * 3);
    for (let p = 0; p < size * size; p++) {
      out[p * 3] = d[p * 4] / 127.5 - 1;
      out[p * 3 + 1] = d[p * 4 + 1] / 127.5 - 1;
      out[p * 3 + 2] = d[p * 4 + 2] / 127.5 - 1;
    }
    return out;
  };
  const rows = [];
  const puts = [];
  for (let i = 0; i < 60; i++) {
    const s = performance.now();
    sctx.putImageData(pixels, 0, 0);
    sctx.getImageData(0, 0, 1, 1);
    puts.push(performance.now() - s);
  }
  rows.push(`engine available in this browser: ${resample.availableResampleEngine()}`);
  rows.push(
    `putImageData of the 640×480 frame (once per frame, canvas path only): ${puts
      .slice(10)
      .sort((x, y) => x - y)[25]
      .toFixed(2)} ms`,
  );
  for (const [name, region, size] of cases) {
    const box = lb(region.width, region.height, size);
    const out = new Float32Array(size * size * 3);
    const js = { engine: 'js' };
    const wasm = { engine: 'wasm' };
    const t = { canvas: [], js: [], wasm: [] };
    for (let i = 0; i < 60; i++) {
      let s = performance.now();
      canvasWay(region, box);
      t.canvas.push(performance.now() - s);
      s = performance.now();
      resample.letterboxTensor(image, region, box, out, js);
      t.js.push(performance.now() - s);
      s = performance.now();
      resample.letterboxTensor(image, region, box, out, wasm);
      t.wasm.push(performance.now() - s);
    }
    const med = (a) => a.slice(10).sort((x, y) => x - y)[Math.floor((a.length - 10) / 2)];
    rows.push(
      `${name}: canvas ${med(t.canvas).toFixed(2)} ms, shared letterboxTensor ${med(t.js).toFixed(2)} ms with JavaScript passes, ${med(t.wasm).toFixed(2)} ms with WebAssembly SIMD (median of 50 after 10 warm-up)`,
    );
  }
  return rows;
});
const version = await browser.version();
await browser.close();
const lines = [
  '# Browser demo: detector-input resize, canvas vs shared code',
  '',
  'Command: `npm run build && node bench/web-resize.mjs`',
  '',
  `Headless Chromium ${version} (\`--disable-gpu\`: Skia on the CPU), ${new Date().toISOString()}. 1-min load average at the end: ${loadavg()[0].toFixed(1)} (above 1, other work shared the 2 cores: absolute times are pessimistic, compare within a line).`,
  '',
  ...result.map((row) => `- ${row}`),
  '',
  'canvas = drawImage of the region into the square input (imageSmoothingQuality high) + getImageData + RGBA → [-1, 1]; shared = `letterboxTensor` into a reused Float32Array (its `engine` option: the same values to the bit).',
  '',
];
writeFileSync('bench/results/web-resize.md', lines.join('\n'));
console.log(lines.join('\n'));

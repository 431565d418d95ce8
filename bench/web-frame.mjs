#!/usr/bin/env node
/* global setTimeout, window, document */
/**
 * Per-frame time of the browser demo in headless Chromium (onnxruntime-web, WASM): the webcam loop
 * on a fake 640×480 camera made from a sample photo, and single photos. Writes bench/results/web.md.
 *
 *   npm run build && npm run build:web && node bench/web-frame.mjs [--seconds 30] [--warmup 10] [--threads 1,2]
 *
 * Each page first runs `--warmup` seconds unmeasured: Chromium compiles onnxruntime-web's WASM on
 * background threads after it loads, and until that is done (~10 s on 2 cores) a frame is 2–5×
 * slower.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os, { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from '../dist/bench/machine.js';
import { startServer } from '../dist/server/index.js';
import { fakeCameraClip, launchChromium } from './web-browser.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1,2' },
    out: { type: 'string', default: 'bench/results/web.md' },
  },
});
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const threadCounts = args.threads.split(',').map(Number);
const SAMPLE = path.resolve('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const PHOTOS = [1, 2, 3].map((n) => path.resolve(`node_modules/@vladmandic/face-api/demo/sample${n}.jpg`));

const work = mkdtempSync(path.join(os.tmpdir(), 'facemtl-web-bench-'));
// Only static files are needed: the models run in the page.
const server = await startServer({
  port: 0,
  webRoot: 'web/dist',
  analyzer: { analyze: async () => ({ faces: [] }) },
});
const browser = await launchChromium(fakeCameraClip(SAMPLE, work));
const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
};

/** Opens the demo with `query` and waits for the models. */
async function openDemo(query) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/?${query}`);
  await page.waitForFunction(() => window.facemtlDemo.ready || window.facemtlDemo.error, null, {
    timeout: 120_000,
  });
  return page;
}

/** Webcam loop: run `warmup` seconds, then measure for `seconds`. */
async function measureWebcam(page) {
  await page.click('#camera');
  await page.waitForFunction(() => window.facemtlDemo.live.frames >= 1, null, { timeout: 120_000 });
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  const framesBefore = await page.evaluate(() => window.facemtlDemo.live.frames);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const live = await page.evaluate(() => window.facemtlDemo.live);
  await page.close();
  // The page keeps the last 1000 frame times: those of the measured frames are at the end.
  const measured = live.frames - framesBefore;
  return {
    ...stats(live.frameMs.slice(-Math.min(measured, live.frameMs.length))),
    frames: measured,
    fps: (live.frames - framesBefore) / seconds,
    faces: live.lastFaces,
  };
}

/** Photos: time from choosing the file to the result (decode + detect with tiles + attributes). */
async function measurePhotos(page) {
  const rows = [];
  for (const photo of PHOTOS) {
    const before = await page.evaluate(() => window.facemtlDemo.photos.length);
    const started = Date.now();
    await page.setInputFiles('#photos', photo);
    await page.waitForFunction((n) => window.facemtlDemo.photos.length > n, before, { timeout: 120_000 });
    const elapsed = Date.now() - started;
    const faces = await page.evaluate(() => window.facemtlDemo.photos.at(-1).analysis?.faces.length ?? -1);
    const size = await page.evaluate(() => {
      const canvas = document.querySelector('.card canvas');
      return `${canvas.width}×${canvas.height}`;
    });
    rows.push({ name: path.basename(photo), size, faces, ms: elapsed });
  }
  return rows;
}

/** The live modes measured, as URL settings. */
const MODES = [
  { name: 'accurate', query: '' },
  { name: 'fast', query: '&detector=fast' },
  { name: 'fast, every face every frame', query: '&detector=fast&refresh=all' },
];

try {
  const version = await browser.version();
  const webcamRows = [];
  const photoRows = [];
  for (const threads of threadCounts) {
    // A page per setting: onnxruntime-web reads the thread count once, when a page first loads it.
    for (const mode of MODES) {
      const page = await openDemo(`backend=wasm&threads=${threads}${mode.query}`);
      const backend = await page.evaluate(() => window.facemtlDemo.backend);
      if (mode.name === 'accurate') {
        // The first photo also pays for the first run of each session (WASM warm-up).
        for (const row of await measurePhotos(page)) photoRows.push({ ...row, backend });
      }
      webcamRows.push({ ...(await measureWebcam(page)), mode: mode.name, backend });
    }
  }
  const backends = [...new Set(webcamRows.map((row) => row.backend))];

  const machine = machineInfo();
  const fmt = (n) => n.toFixed(1);
  const row = (r) =>
    `| ${r.mode} | ${r.backend} | ${r.faces} | ${r.frames} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.mean)} | ${fmt(r.fps)} |`;
  const lines = [
    '# Browser demo: time per frame',
    '',
    `Command: \`npm run build && npm run build:web && node bench/web-frame.mjs --seconds ${seconds} --warmup ${warmup} --threads ${threadCounts.join(',')}\``,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}. Date: ${machine.date}.`,
    `Browser: headless Chromium ${version} (\`--disable-gpu\`, so no WebGPU), onnxruntime-web backends: ${backends.join(', ')}.`,
    `1-min load average at the end: ${loadavg()[0].toFixed(1)} (the browser, its WASM threads and this script share ${machine.cores} cores; a load above that means other work too, and pessimistic numbers).`,
    '',
    `## Webcam loop (fake 640×480 camera showing sample1.jpg, ${warmup} s warm-up, then ${seconds} s per mode)`,
    '',
    'Frames are analysed back to back, one at a time. "ms" is the analysis of a frame: canvas RGBA →',
    'RGB, face detection, aligned crops, the attribute model, decoding; frames/s also counts reading the',
    'frame (`VideoFrame.copyTo`), drawing the boxes and the page rendering in between. `accurate` (the',
    'default, as in Node): BlazeFace 256 px on the frame, then each face again close up with the 128 px',
    'model; `fast`: the 128 px model once (`?detector=fast`). Live, the attribute model runs on new faces',
    'and on the one face whose attributes are the oldest, the others keep theirs (web/src/live.ts: with',
    'these 3 faces, each is re-estimated every third frame); "every face every frame" (`?refresh=all`)',
    'runs it on all of them each frame.',
    '',
    '| mode | backend | faces | frames | p50 ms | p90 ms | mean ms | frames/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...webcamRows.map(row),
    '',
    '## Photos, accurate mode (from choosing the file to the labels shown; ≥ 1000 px images also searched in 2×2 tiles)',
    '',
    'The first photo of each page also pays for the first run of each session (WASM warm-up).',
    '',
    '| photo | backend | size | faces | ms |',
    '| --- | --- | --- | ---: | ---: |',
    ...photoRows.map((r) => `| ${r.name} | ${r.backend} | ${r.size} | ${r.faces} | ${r.ms} |`),
    '',
  ];
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  await browser.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}

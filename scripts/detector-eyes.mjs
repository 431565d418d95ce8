#!/usr/bin/env node
/**
 * BlazeFace's eyes on dataset images, as the runtime finds them: the median eye geometry of a
 * dataset (fractions of the image size, to set `datasetEyes` in models/facemtl.json), and
 * optionally every image's eyes as JSON lines for the training cache (`prepare --detector-eyes`).
 *
 *   npm run build && node scripts/detector-eyes.mjs DIR [--n 300] [--step 10] [--out eyes.jsonl]
 *
 * DIR is a folder of images (searched recursively, sorted by path); every STEP-th image is taken,
 * at most N (0 = all). Each JSON line: {"name": path relative to DIR, "width", "height", "score",
 * "rightEye": [x, y], "leftEye": [x, y]} in source pixels, the largest face only; images with no
 * face are written with "score": 0 and no eyes.
 */
import { createWriteStream, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { FaceDetector, loadImage } from '../dist/index.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: 'string', default: '300' },
    step: { type: 'string', default: '10' },
    out: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/detector-eyes.mjs DIR [--n 300] [--step 10] [--out eyes.jsonl]');
  process.exit(2);
}
const root = positionals[0];
const limit = Number(args.n);
const step = Number(args.step);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (/\.(jpe?g|png)$/i.test(entry.name)) yield path;
  }
}
const files = [...walk(root)].filter((_, index) => index % step === 0);
const chosen = limit > 0 ? files.slice(0, limit) : files;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const detector = await FaceDetector.create({ threads: Number(args.threads) });
const out = args.out ? createWriteStream(args.out) : null;
const found = [];
let done = 0;
for (const path of chosen) {
  const name = relative(root, path);
  let row = { name, width: 0, height: 0, score: 0 };
  try {
    const image = await loadImage(path);
    row = { name, width: image.width, height: image.height, score: 0 };
    const largest = (await detector.detect(image)).reduce(
      (best, d) => (!best || d.box.width > best.box.width ? d : best),
      undefined,
    );
    if (largest) {
      const round = (p) => [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100];
      row = {
        ...row,
        score: Math.round(largest.score * 1000) / 1000,
        rightEye: round(largest.keypoints[0]),
        leftEye: round(largest.keypoints[1]),
      };
      found.push(row);
    }
  } catch (error) {
    row.error = error.message;
  }
  out?.write(JSON.stringify(row) + '\n');
  if (++done % 1000 === 0) console.error(`${done}/${chosen.length}`);
}
out?.end();
await detector.dispose();

const fx = (r, f) => f(r) / r.width;
const fy = (r, f) => f(r) / r.height;
console.log(
  `${root}: ${found.length}/${chosen.length} images with a face; median BlazeFace eyes (fractions of the image size):`,
);
console.log(
  JSON.stringify({
    eyeCenter: [
      median(found.map((r) => fx(r, (q) => (q.rightEye[0] + q.leftEye[0]) / 2))),
      median(found.map((r) => fy(r, (q) => (q.rightEye[1] + q.leftEye[1]) / 2))),
    ],
    eyeDistance: median(
      found.map((r) => fx(r, (q) => Math.hypot(q.leftEye[0] - q.rightEye[0], q.leftEye[1] - q.rightEye[1]))),
    ),
  }),
);

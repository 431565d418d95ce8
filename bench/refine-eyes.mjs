#!/usr/bin/env node
/* global performance */
/**
 * Does the close-up refinement earn its cost? (issue 10, goal 1.) The detector's eyes with and
 * without refinement, against known eye positions, and the time each setting takes per frame.
 *
 * Known eyes: CelebA's aligned images (`img_align_celeba/`, official test partition) were all
 * warped so that the eyes land on the same two points (the contract's `datasetEyes.celeba`; the
 * per-image scatter of the true landmarks around them is a few pixels, which sets the floor of
 * the error below). Each image is scaled and placed on a gray 640×480 frame, like a webcam
 * frame, at five sizes (`SIZES`); the error of an eye is its distance to the true point over the true eye
 * distance (normalised mean error, NME).
 *
 *   npm run build && node bench/refine-eyes.mjs [--celeba ../data/celeba] [--images 300]
 *     [--out bench/results/refine-eyes.md]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FaceDetector, loadContract } from '../dist/index.js';
import { machineInfo } from '../dist/bench/machine.js';

const { values: args } = parseArgs({
  options: {
    celeba: { type: 'string', default: '../data/celeba' },
    images: { type: 'string', default: '300' },
    out: { type: 'string', default: 'bench/results/refine-eyes.md' },
  },
});
const partition = join(args.celeba, 'list_eval_partition.txt');
if (!existsSync(partition)) {
  console.error(
    `refine-eyes: no CelebA at ${args.celeba} (see ../shared/data/extra/README.md); nothing measured`,
  );
  process.exit(0);
}

const FRAME = { width: 640, height: 480 };
// CelebA aligned images are 178×218 with ~42 px between the eyes: ×1, ×1.5, ×1.8 and ×2.2 (the
// frame's height) put ~42, ~64, ~76 and ~93 px between them; the last size fills the frame with the face.
const SIZES = [
  { scale: 1, fill: false },
  { scale: 1.5, fill: false },
  { scale: 1.8, fill: false },
  { scale: 2.2, fill: false },
  { scale: 480 / 178, fill: true },
];
const SETTINGS = [
  { detector: 'front', refine: false },
  { detector: 'front', refine: true },
  { detector: 'auto', refine: false },
  { detector: 'auto', refine: true },
];

const names = readFileSync(partition, 'utf8')
  .split('\n')
  .map((line) => line.trim().split(/\s+/))
  .filter(([name, split]) => split === '2' && existsSync(join(args.celeba, 'img_align_celeba', name)))
  .map(([name]) => name)
  .slice(0, Number(args.images));

const geometry = loadContract().datasetEyes.celeba;

/**
 * The image scaled by `scale`, centred on a gray frame, and its true eyes in frame pixels. With
 * `fill`, only the square above the chin (rows 20–198) is used, scaled to the frame's height: a
 * face filling the frame, as in a close-up selfie or a face crop.
 */
async function webcamFrame(file, scale, fill) {
  const { width, height } = await sharp(file).metadata();
  const crop = fill ? { left: 0, top: 20, width, height: width } : { left: 0, top: 0, width, height };
  const w = Math.round(crop.width * scale);
  const h = Math.round(crop.height * scale);
  const left = Math.round((FRAME.width - w) / 2);
  const top = Math.round((FRAME.height - h) / 2);
  const scaled = await sharp(file).extract(crop).resize(w, h).toBuffer();
  const { data } = await sharp({
    create: { ...FRAME, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([{ input: scaled, left, top }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Pixel centres at i + 0.5 (the convention of the crops): a fraction f of the image is at f·w.
  const centreX = left + geometry.eyeCenter[0] * width * scale;
  const centreY = top + (geometry.eyeCenter[1] * height - crop.top) * scale;
  const half = (geometry.eyeDistance * width * scale) / 2;
  return {
    image: { data: new Uint8Array(data), ...FRAME },
    eyes: [
      [centreX - half, centreY],
      [centreX + half, centreY],
    ],
  };
}

const detectors = [];
for (const setting of SETTINGS) detectors.push(await FaceDetector.create({ ...setting, threads: 1 }));

const rows = [];
for (const { scale, fill } of SIZES) {
  const frames = [];
  for (const name of names)
    frames.push(await webcamFrame(join(args.celeba, 'img_align_celeba', name), scale, fill));
  const results = SETTINGS.map(() => ({ errors: [], found: 0, ms: [] }));
  for (const detector of detectors) await detector.detect(frames[0].image); // warm-up
  // The settings in alternation, frame by frame: a busy machine slows them all alike.
  for (const { image, eyes } of frames) {
    for (const [index, detector] of detectors.entries()) {
      const start = performance.now();
      const [face] = await detector.detect(image);
      results[index].ms.push(performance.now() - start);
      if (!face) continue;
      results[index].found++;
      const distance = eyes[1][0] - eyes[0][0];
      for (const eye of [0, 1]) {
        const [x, y] = face.keypoints[eye];
        results[index].errors.push(Math.hypot(x - eyes[eye][0], y - eyes[eye][1]) / distance);
      }
    }
  }
  for (const [index, setting] of SETTINGS.entries()) {
    const { errors, found, ms } = results[index];
    errors.sort((a, b) => a - b);
    ms.sort((a, b) => a - b);
    rows.push({
      ...setting,
      size: `${Math.round(frames[0].eyes[1][0] - frames[0].eyes[0][0])}${fill ? ' (fills the frame)' : ''}`,
      found: found / frames.length,
      nme: errors.reduce((sum, e) => sum + e, 0) / Math.max(1, errors.length),
      median: errors[errors.length >> 1] ?? NaN,
      p90: errors[Math.floor(errors.length * 0.9)] ?? NaN,
      over10: errors.filter((e) => e > 0.1).length / Math.max(1, errors.length),
      ms: ms[ms.length >> 1],
    });
    console.log(rows.at(-1));
  }
}
for (const detector of detectors) await detector.dispose();

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const machine = machineInfo();
const lines = [
  '# Close-up refinement: eye accuracy and cost',
  '',
  `Made by \`node bench/refine-eyes.mjs --images ${args.images}\` on ${machine.cpu}, ${machine.cores} cores,`,
  `${new Date().toISOString()}; load average at the end ${loadavg()[0].toFixed(2)}. ${names.length} CelebA test`,
  'images (aligned: true eyes known to a few pixels), each scaled onto a gray 640×480 frame;',
  '`FaceDetector` at 1 thread, the best face per frame. NME: eye error / true eye distance (mean over',
  'both eyes); "> 10%": share of eyes off by more than a tenth of the eye distance (a visibly',
  'misaligned crop). ms / frame: the detector alone, median, the settings in alternation frame by frame.',
  '',
  '| eye distance px | detector | refine | found | NME mean | NME median | NME p90 | > 10% | ms / frame |',
  '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.size} | ${r.detector} | ${r.refine ? 'yes' : 'no'} | ${pct(r.found)} | ${pct(r.nme)} | ${pct(r.median)} | ${pct(r.p90)} | ${pct(r.over10)} | ${r.ms.toFixed(2)} |`,
  ),
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));

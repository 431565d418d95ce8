#!/usr/bin/env node
/**
 * The detector-input resample (src/detect/resample.ts) with its filter passes in JavaScript and in
 * WebAssembly SIMD (the default), in alternation in one process, on the inputs the pipeline makes:
 * webcam frames, close-up refinement regions, a large photo and its tiles, a small photo enlarged.
 * Checks that both engines give the same input to the bit. Writes bench/results/resample.md.
 *
 *   npm run build && node bench/resample.mjs [--budget 1500] [--out bench/results/resample.md]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadImage } from '../dist/index.js';
import { letterbox } from '../dist/detect/blazeface.js';
import { letterboxTensor } from '../dist/detect/resample.js';
import { samplePhotos } from '../dist/bench/frames.js';
import { machineInfo } from '../dist/bench/machine.js';
import { measureInterleaved } from '../dist/bench/timing.js';

const { values: args } = parseArgs({
  options: {
    budget: { type: 'string', default: '1500' },
    out: { type: 'string', default: 'bench/results/resample.md' },
  },
});
const budgetMs = Number(args.budget);

const photoBytes = readFileSync(samplePhotos()[0]);
const photo = await loadImage(photoBytes);
const frame = await loadImage(await sharp(photoBytes).resize(640, 480, { fit: 'cover' }).jpeg().toBuffer());
const small = await loadImage(await sharp(photoBytes).resize(200, 200, { fit: 'cover' }).jpeg().toBuffer());
const whole = (image) => ({ left: 0, top: 0, width: image.width, height: image.height });

/** [what, image, region, input size]: the regions the detector resamples. */
const CASES = [
  ['640×480 frame → 128 (front model)', frame, whole(frame), 128],
  ['640×480 frame → 256 (back model)', frame, whole(frame), 256],
  [
    'close-up region 300×300 → 128 (refinement of a 150 px face)',
    frame,
    { left: 170, top: 90, width: 300, height: 300 },
    128,
  ],
  [
    'close-up region 80×80 → 128 (refinement of a 40 px face: enlarged)',
    frame,
    { left: 280, top: 200, width: 80, height: 80 },
    128,
  ],
  [`${photo.width}×${photo.height} photo → 256 (whole)`, photo, whole(photo), 256],
  [
    `one of its 2×2 tiles, ${photo.width / 2}×${photo.height / 2} → 256`,
    photo,
    { left: 0, top: 0, width: photo.width / 2, height: photo.height / 2 },
    256,
  ],
  ['200×200 photo → 256 (enlarged, Lanczos-3)', small, whole(small), 256],
];

const rows = [];
for (const [name, image, region, size] of CASES) {
  const box = letterbox(region.width, region.height, size);
  const outputs = { js: new Float32Array(size * size * 3), wasm: new Float32Array(size * size * 3) };
  const scratch = { js: { engine: 'js' }, wasm: { engine: 'wasm' } };
  const run = (engine) => () => letterboxTensor(image, region, box, outputs[engine], scratch[engine]);
  run('js')();
  run('wasm')();
  const same = outputs.js.every((value, i) => Object.is(value, outputs.wasm[i]));
  const [js, wasm] = await measureInterleaved([run('js'), run('wasm')], { budgetMs, warmup: 20 });
  rows.push({ name, same, js: js.median_ms, wasm: wasm.median_ms });
  console.log(rows.at(-1));
}

const machine = machineInfo();
const lines = [
  '# Detector-input resample: JavaScript vs WebAssembly SIMD passes',
  '',
  `Made by \`npm run build && node bench/resample.mjs --budget ${budgetMs}\` on ${machine.cpu}, ${machine.cores} cores,`,
  `Node ${process.version}, ${new Date().toISOString()}; load average at the end ${loadavg()[0].toFixed(2)}.`,
  "Images cut from face-api's `demo/sample1.jpg`; `letterboxTensor` into a reused input, the two engines",
  'in alternation (median ms per call). Both include the block means and the taps, made in JavaScript.',
  '',
  '| input | same values to the bit | JavaScript ms | WebAssembly ms | speed-up |',
  '| --- | --- | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.same ? 'yes' : 'NO'} | ${r.js.toFixed(3)} | ${r.wasm.toFixed(3)} | ${(r.js / r.wasm).toFixed(2)}× |`,
  ),
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));
if (rows.some((r) => !r.same)) process.exitCode = 1;

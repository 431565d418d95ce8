#!/usr/bin/env node
/**
 * Photos from bytes to JSON (issue 10, goal 3): today's pipeline against an older build of it, in
 * alternation in one process, with the same model file and 1 thread each. The older build is any
 * checkout's `dist/`; the speed work started after commit c29caed (the detection fixture):
 *
 *   git worktree add /tmp/pre10 c29caed && ln -s "$PWD/node_modules" /tmp/pre10/node_modules
 *   (cd /tmp/pre10 && npx tsc -p tsconfig.build.json)
 *   npm run build && node bench/photo-vs-before.mjs --before /tmp/pre10/dist
 *
 * Also reports whether both find the same faces (count, and the smallest box IoU of matched faces).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FaceAnalyzer } from '../dist/index.js';
import { samplePhotos } from '../dist/bench/frames.js';
import { machineInfo } from '../dist/bench/machine.js';
import { measureInterleaved } from '../dist/bench/timing.js';

const { values: args } = parseArgs({
  options: {
    before: { type: 'string' },
    label: { type: 'string', default: 'c29caed' },
    budget: { type: 'string', default: '3000' },
    out: { type: 'string', default: 'bench/results/photo-vs-before.md' },
  },
});
if (!args.before) {
  console.error('usage: node bench/photo-vs-before.mjs --before DIST_OF_AN_OLDER_CHECKOUT [--label COMMIT]');
  process.exit(2);
}
const budgetMs = Number(args.budget);
const modelPath = resolve('models/facemtl-int8.onnx');
const Before = (await import(pathToFileURL(resolve(args.before, 'index.js')).href)).FaceAnalyzer;
sharp.concurrency(1);
const before = await Before.create({ modelPath, threads: 1 });
const after = await FaceAnalyzer.create({ modelPath, threads: 1, maxConcurrency: 1 });

function iou(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

const rows = [];
for (const path of samplePhotos()) {
  const bytes = readFileSync(path);
  const { width, height } = await sharp(bytes).metadata();
  const [facesBefore, facesAfter] = [(await before.analyze(bytes)).faces, (await after.analyze(bytes)).faces];
  const worstIou = Math.min(
    1,
    ...facesAfter.map((face) => Math.max(0, ...facesBefore.map((other) => iou(face.box, other.box)))),
  );
  const [timeBefore, timeAfter] = await measureInterleaved(
    [
      async () => JSON.stringify(await before.analyze(bytes)),
      async () => JSON.stringify(await after.analyze(bytes)),
    ],
    { budgetMs },
  );
  rows.push({
    name: path.split('/').pop(),
    size: `${width}×${height}`,
    faces: `${facesBefore.length} / ${facesAfter.length}`,
    worstIou,
    before: timeBefore.median_ms,
    after: timeAfter.median_ms,
  });
  console.log(rows.at(-1));
}
await Promise.all([before.dispose(), after.dispose()]);

const machine = machineInfo();
const lines = [
  `# Photos from bytes to JSON: today's pipeline vs ${args.label}`,
  '',
  `Made by \`node bench/photo-vs-before.mjs --before ${args.before} --label ${args.label} --budget ${budgetMs}\``,
  `(how to build the older \`dist/\`: the comment at the top of the script) on ${machine.cpu}, ${machine.cores} cores,`,
  `Node ${process.version}, ${new Date().toISOString()}; load average at the end ${loadavg()[0].toFixed(2)}.`,
  `face-api's sample photos; both pipelines with \`models/facemtl-int8.onnx\`, 1 thread, the default (accurate)`,
  'detector: `analyze(bytes)` then `JSON.stringify`, in alternation, median ms. "Faces": found before / now;',
  '"worst IoU": each face found now against its best match before, the smallest over the photo.',
  '',
  `| photo | size | faces | worst IoU | ${args.label} ms | now ms | speed-up |`,
  '| --- | --- | --- | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.size} | ${r.faces} | ${r.worstIou.toFixed(3)} | ${r.before.toFixed(1)} | ${r.after.toFixed(1)} | ${(r.before / r.after).toFixed(2)}× |`,
  ),
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));

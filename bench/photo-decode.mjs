#!/usr/bin/env node
/**
 * Photos from bytes to JSON (issue 10, goal 3): what skipping the identity colour conversion of
 * sRGB-tagged JPEGs saves (src/image/icc.ts). The path before it is rebuilt here with the same
 * sharp calls plus the conversion libvips applies to any embedded profile, and both run in
 * alternation in one process: the decode alone, and bytes → `analyze` → JSON.
 *
 *   npm run build && node bench/photo-decode.mjs [--budget 4000] [--out bench/results/photo-decode.md]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { FaceAnalyzer, loadImage } from '../dist/index.js';
import { samplePhotos } from '../dist/bench/frames.js';
import { machineInfo } from '../dist/bench/machine.js';
import { iccDescription } from '../dist/image/icc.js';
import { measureInterleaved } from '../dist/bench/timing.js';

const { values: args } = parseArgs({
  options: {
    budget: { type: 'string', default: '4000' },
    out: { type: 'string', default: 'bench/results/photo-decode.md' },
  },
});
const budgetMs = Number(args.budget);

/** The decode before: `loadImage`'s sharp pipeline with libvips' conversion of any embedded profile. */
async function decodeConverting(bytes) {
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .rotate()
    .toColourspace('srgb')
    .flatten()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

sharp.concurrency(1);
const analyzer = await FaceAnalyzer.create({ threads: 1, maxConcurrency: 1 });
const rows = [];
for (const path of samplePhotos()) {
  const bytes = readFileSync(path);
  const { icc, width, height } = await sharp(bytes).metadata();
  const before = await decodeConverting(bytes);
  const after = await loadImage(bytes);
  let maxDifference = 0;
  for (let i = 0; i < after.data.length; i++)
    maxDifference = Math.max(maxDifference, Math.abs(after.data[i] - before.data[i]));
  const sameJson =
    JSON.stringify(await analyzer.analyzeFrame(before)) === JSON.stringify(await analyzer.analyze(bytes));
  const [decodeBefore, decodeAfter] = await measureInterleaved(
    [() => decodeConverting(bytes), () => loadImage(bytes)],
    { budgetMs: budgetMs / 2 },
  );
  const [jsonBefore, jsonAfter] = await measureInterleaved(
    [
      async () => JSON.stringify(await analyzer.analyzeFrame(await decodeConverting(bytes))),
      async () => JSON.stringify(await analyzer.analyze(bytes)),
    ],
    { budgetMs },
  );
  rows.push({
    name: path.split('/').pop(),
    size: `${width}×${height}`,
    profile: icc ? (iccDescription(icc) ?? 'unnamed') : 'none',
    maxDifference,
    sameJson,
    decode: [decodeBefore.median_ms, decodeAfter.median_ms],
    json: [jsonBefore.median_ms, jsonAfter.median_ms],
  });
  console.log(rows.at(-1));
}
await analyzer.dispose();

const machine = machineInfo();
const lines = [
  '# Photos from bytes: the sRGB profile shortcut',
  '',
  `Made by \`node bench/photo-decode.mjs --budget ${budgetMs}\` on ${machine.cpu}, ${machine.cores} cores,`,
  `${new Date().toISOString()}; load average at the end ${loadavg()[0].toFixed(2)}. face-api's sample photos;`,
  '"before": the decode converting the embedded profile to sRGB (what libvips does by default, and',
  '`loadImage` did), "after": `loadImage`, which skips that conversion when the profile is sRGB',
  '(src/image/icc.ts). Median ms, the two in alternation; bytes → JSON is the default (accurate)',
  'detector at 1 thread, `analyze` then `JSON.stringify`.',
  '',
  '| photo | size | profile | pixels max diff | same JSON | decode before | after | bytes → JSON before | after | speed-up |',
  '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.size} | ${r.profile} | ${r.maxDifference} | ${r.sameJson ? 'yes' : 'no'} | ${r.decode[0].toFixed(1)} | ${r.decode[1].toFixed(1)} | ${r.json[0].toFixed(1)} | ${r.json[1].toFixed(1)} | ${(r.json[0] / r.json[1]).toFixed(2)}× |`,
  ),
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));

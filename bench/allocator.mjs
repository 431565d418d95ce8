#!/usr/bin/env node
/* global performance */
/**
 * Does glibc's allocator setting help the Node runtime too? By default glibc gives every freed
 * block over 128 KiB back to the kernel, so each decoded photo's pixel buffers are fresh pages
 * again (page faults). `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…` keeps them (training/python
 * sets it for training, where it made steps 4.9× faster). This runs `analyze(bytes)` on face-api's
 * sample photos in child processes, without and with the setting, in alternating pairs.
 *
 *   npm run build && node bench/allocator.mjs [--pairs 3] [--out bench/results/allocator.md]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824';

if (process.argv[2] === '--child') {
  const { FaceAnalyzer } = await import('../dist/index.js');
  const { samplePhotos } = await import('../dist/bench/frames.js');
  const analyzer = await FaceAnalyzer.create({ threads: 1, maxConcurrency: 1 });
  const photos = samplePhotos().map((path) => readFileSync(path));
  for (const bytes of photos) await analyzer.analyze(bytes); // warm-up
  const times = [];
  for (let round = 0; round < 4; round++) {
    for (const bytes of photos) {
      const start = performance.now();
      await analyzer.analyze(bytes);
      times.push(performance.now() - start);
    }
  }
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ median: times[times.length >> 1] }));
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/allocator.md' },
  },
});
const self = fileURLToPath(import.meta.url);
const child = (env) => {
  const result = spawnSync(process.execPath, [self, '--child'], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout).median;
};
const plain = { ...process.env };
delete plain.GLIBC_TUNABLES;
const rows = [];
for (let pair = 0; pair < Number(args.pairs); pair++) {
  const without = child(plain);
  const withSetting = child({ ...plain, GLIBC_TUNABLES: TUNABLES });
  rows.push({ without, withSetting });
  console.log(rows.at(-1));
}
const lines = [
  "# glibc's allocator and the Node runtime",
  '',
  `Made by \`node bench/allocator.mjs --pairs ${args.pairs}\` on ${new Date().toISOString()}; load average at`,
  `the end ${loadavg()[0].toFixed(2)}. Median ms of \`analyze(bytes)\` over face-api's six sample photos (1920 px`,
  'wide JPEGs), 4 rounds after a warm-up, default (accurate) detector, 1 thread; each pair is two',
  `fresh processes, without and with \`GLIBC_TUNABLES=${TUNABLES}\`.`,
  '',
  '| pair | without | with | with / without |',
  '| ---: | ---: | ---: | ---: |',
  ...rows.map(
    (row, index) =>
      `| ${index + 1} | ${row.without.toFixed(1)} | ${row.withSetting.toFixed(1)} | ${(row.withSetting / row.without).toFixed(2)} |`,
  ),
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));

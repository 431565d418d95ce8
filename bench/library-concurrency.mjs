#!/usr/bin/env node
/* global performance, setInterval, clearInterval */
/**
 * Library concurrency bound (issue 11, item 8): peak resident memory and wall time of N parallel
 * `analyzer.analyze(jpegBytes)` calls with `maxConcurrency` at its default (the cores) and
 * effectively off (= N). Each setting runs in a fresh child process, alternating, so the peaks
 * do not mix. Writes bench/results/library-concurrency.md.
 *
 *   npm run build && node bench/library-concurrency.mjs [--calls 100] [--repeats 2]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '2' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample1.jpg' },
    out: { type: 'string', default: 'bench/results/library-concurrency.md' },
    child: { type: 'string' },
  },
});
const calls = Number(args.calls);

if (args.child) {
  // The measured process: one setting, prints {peak_rss_mib, base_rss_mib, seconds}.
  const { readFileSync } = await import('node:fs');
  const { FaceAnalyzer } = await import('../dist/index.js');
  const bytes = readFileSync(args.image);
  const analyzer = await FaceAnalyzer.create({ threads: 1, maxConcurrency: Number(args.child) });
  await analyzer.analyze(bytes); // warm-up
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: calls }, () => analyzer.analyze(bytes)));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  await analyzer.dispose();
  const mib = (b) => Math.round(b / 1024 / 1024);
  const faces = results.reduce((sum, r) => sum + r.faces.length, 0);
  console.log(JSON.stringify({ peak_rss_mib: mib(peak), base_rss_mib: mib(base), seconds, faces }));
  process.exit(0);
}

const cores = availableParallelism();
const settings = [
  { name: `default (${cores} = the cores)`, limit: cores },
  { name: `off (${calls})`, limit: calls },
];
const runs = settings.map(() => []);
for (let r = 0; r < Number(args.repeats); r++) {
  settings.forEach((setting, i) => {
    const out = execFileSync(
      process.execPath,
      [process.argv[1], '--child', String(setting.limit), '--calls', String(calls), '--image', args.image],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    runs[i].push(JSON.parse(out.trim().split('\n').at(-1)));
    console.error(`${setting.name}: ${out.trim()}`);
  });
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const rows = settings.map((setting, i) => {
  const peak = median(runs[i].map((run) => run.peak_rss_mib));
  const base = median(runs[i].map((run) => run.base_rss_mib));
  const seconds = median(runs[i].map((run) => run.seconds));
  return `| ${setting.name} | ${base} | ${peak} | ${peak - base} | ${seconds.toFixed(1)} | ${runs[i].map((run) => run.peak_rss_mib).join(', ')} |`;
});
const markdown = `# Library: memory of ${calls} parallel \`analyze\` calls

\`node bench/library-concurrency.mjs --calls ${calls} --repeats ${args.repeats}\` (after \`npm run build\`), ${new Date().toISOString().slice(0, 10)}:
${calls} calls of \`analyzer.analyze(bytes)\` started at once on one 1920×1280 JPEG (${args.image.split('/').pop()}, 3 faces), ONNX
Runtime on 1 thread, each setting in a fresh process, settings alternated, ${args.repeats} runs each (median shown; of 2 runs, the lower).
Machine: ${cores} cores, shared with other work (compare the rows of one run, not absolute times).

| \`maxConcurrency\` | RSS before (MiB) | peak RSS (MiB) | peak − before (MiB) | wall time (s) | peak RSS of each run |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

With the bound, at most \`maxConcurrency\` images are decoded (1920×1280×3 = 7 MiB of RGB each, plus
the detector's letterboxed copies) at a time; without it every call decodes at once.
`;
writeFileSync(args.out, markdown);
console.error(`wrote ${args.out}`);

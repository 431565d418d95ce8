#!/usr/bin/env node
/* global setInterval, clearInterval */
/**
 * Load test of `facemtl serve` on loopback: throughput and p50/p99 latency at 1, 2 and 8 concurrent
 * clients posting a real photo, then a longer run sampling the server's resident memory (from its
 * own /metrics) to show it stays flat. Writes bench/results/server-load.md.
 *
 *   npm run build && node bench/server-load.mjs [--duration 20] [--soak 180] [--image path]
 *
 * Bounded in time (3 × duration + soak seconds) and loopback only.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { postImage, residentMemoryMiB, startServer } from './server-process.mjs';
import { machineInfo } from '../dist/bench/machine.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    soak: { type: 'string', default: '180' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample1.jpg' },
    concurrency: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/server-load.md' },
  },
});
const duration = Number(args.duration);
const soakSeconds = Number(args.soak);
const image = readFileSync(args.image);

function load(url, connections, seconds) {
  return autocannon({
    url: `${url}/v1/analyze`,
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: image,
    connections,
    duration: seconds,
    timeout: 60,
  });
}

const { child, url } = await startServer(['--concurrency', args.concurrency, '--queue', '64']);
try {
  // Warm-up: first inference allocates the ONNX Runtime arenas.
  for (let i = 0; i < 3; i++) await postImage(url, image);
  const warmFaces = (await (await postImage(url, image)).json()).faces.length;

  const rows = [];
  for (const connections of [1, 2, 8]) {
    const result = await load(url, connections, duration);
    rows.push({
      connections,
      requests: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      // Other work on the machine (e.g. training) changes these numbers: say how busy it was.
      load: loadavg()[0],
    });
    console.log(rows.at(-1));
  }

  const samples = [{ t: 0, rss: await residentMemoryMiB(child, url), load: loadavg()[0] }];
  const soak = load(url, 2, soakSeconds);
  const started = Date.now();
  const timer = setInterval(async () => {
    samples.push({
      t: Math.round((Date.now() - started) / 1000),
      rss: await residentMemoryMiB(child, url),
      load: loadavg()[0],
    });
  }, 10_000);
  const soakResult = await soak;
  clearInterval(timer);
  samples.push({ t: soakSeconds, rss: await residentMemoryMiB(child, url), load: loadavg()[0] });

  const machine = machineInfo();
  const fmt = (n, digits = 1) => Number(n).toFixed(digits);
  const lines = [
    '# `facemtl serve` load test',
    '',
    `Command: \`npm run build && node bench/server-load.mjs --duration ${duration} --soak ${soakSeconds}\``,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}, Node ${machine.node}, ` +
      `onnxruntime-node ${machine.onnxruntime_node}. Date: ${machine.date}.`,
    '',
    `Server: \`facemtl serve --concurrency ${args.concurrency} --queue 64\` (default model), on loopback. ` +
      `Client: autocannon posting \`${args.image}\` (${image.length} bytes, ${warmFaces} faces found) as image/jpeg. ` +
      'Each request decodes the JPEG, detects and analyses every face.',
    '',
    `## Throughput and latency (${duration} s per row)`,
    '',
    '| clients | requests | req/s | p50 ms | p99 ms | non-2xx | errors | machine load (1 min) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.connections} | ${r.requests} | ${fmt(r.rps, 2)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${fmt(r.load)} |`,
    ),
    '',
    `## Resident memory under load (2 clients, ${soakSeconds} s, ${soakResult.requests.total} requests)`,
    '',
    '| t (s) | RSS (MiB) | machine load (1 min) |',
    '| ---: | ---: | ---: |',
    ...samples.map((s) => `| ${s.t} | ${fmt(s.rss)} | ${fmt(s.load)} |`),
    '',
    `RSS min ${fmt(Math.min(...samples.map((s) => s.rss)))} MiB, max ${fmt(Math.max(...samples.map((s) => s.rss)))} MiB. ` +
      `Server and client share ${machine.cores} cores (load column: above ${machine.cores} means other work too); absolute numbers vary from run to run.`,
    '',
  ];
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.out, lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  child.kill('SIGTERM');
}

#!/usr/bin/env node
/* global setInterval, clearInterval, performance */
/**
 * Load test of `facemtl serve` on loopback: throughput and p50/p99 latency at 1, 2 and 8 concurrent
 * clients posting a real photo, then a longer run sampling the server's resident memory (from its
 * own /metrics) to show it stays flat. Before the server starts, the same image goes through
 * `FaceAnalyzer.analyze` in this process at 1 and 2 calls in flight, for the same time: the pipeline's
 * own frames/s, which the server's req/s is compared with (issue 10: HTTP, multipart and JSON
 * should cost at most 20%). Writes bench/results/server-load.md.
 *
 *   npm run build && node bench/server-load.mjs [--duration 20] [--soak 180] [--image path] [--resize 640x480]
 *
 * Bounded in time (3 × duration + soak seconds) and loopback only.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { postImage, residentMemoryMiB, startServer } from './server-process.mjs';
import { machineInfo } from '../dist/bench/machine.js';
import { FaceAnalyzer } from '../dist/index.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    soak: { type: 'string', default: '180' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample1.jpg' },
    // e.g. 640x480: the image cropped and scaled to this size (a webcam-sized JPEG), quality 90
    resize: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/server-load.md' },
  },
});
const duration = Number(args.duration);
const soakSeconds = Number(args.soak);
const image = args.resize
  ? await sharp(args.image)
      .resize(...args.resize.split('x').map(Number), { fit: 'cover' })
      .jpeg({ quality: 90 })
      .toBuffer()
  : readFileSync(args.image);

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

/** `inFlight` loops of `analyze(image)` for `seconds`: calls per second and latency percentiles. */
async function pipelineRate(analyzer, inFlight, seconds) {
  const latencies = [];
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      await analyzer.analyze(image);
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, loop));
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    inFlight,
    rps: latencies.length / ((performance.now() - started) / 1000),
    p50: at(0.5),
    p99: at(0.99),
  };
}

// The pipeline alone, as the server builds it (default model, maxConcurrency = --concurrency).
const analyzer = await FaceAnalyzer.create({ maxConcurrency: Number(args.concurrency) });
for (let i = 0; i < 3; i++) await analyzer.analyze(image);
const pipeline = [];
for (const inFlight of [1, 2]) pipeline.push(await pipelineRate(analyzer, inFlight, duration));
await analyzer.dispose();
console.log(pipeline);

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
    `Command: \`npm run build && node bench/server-load.mjs --duration ${duration} --soak ${soakSeconds} --image ${args.image}${args.resize ? ` --resize ${args.resize}` : ''}\``,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}, Node ${machine.node}, ` +
      `onnxruntime-node ${machine.onnxruntime_node}. Date: ${machine.date}.`,
    '',
    `Server: \`facemtl serve --concurrency ${args.concurrency} --queue 64\` (default model), on loopback. ` +
      `Client: autocannon posting \`${args.image}\`${args.resize ? ` scaled to ${args.resize}` : ''} (${image.length} bytes, ${warmFaces} faces found) as image/jpeg. ` +
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
    '## Server vs the pipeline alone',
    '',
    `The same image through \`FaceAnalyzer.analyze\` in one process (no HTTP), ${duration} s at 1 and 2 calls in flight,`,
    'just before the server started; the server at as many clients. Share: server req/s ÷ pipeline calls/s.',
    '',
    '| in flight | pipeline calls/s | p50 ms | p99 ms | server req/s | share | server p99 / p50 |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...pipeline.map((p) => {
      const server = rows.find((r) => r.connections === p.inFlight);
      return `| ${p.inFlight} | ${fmt(p.rps, 2)} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${fmt(server.rps, 2)} | ${fmt((100 * server.rps) / p.rps)}% | ${fmt(server.p99 / server.p50, 2)} |`;
    }),
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

#!/usr/bin/env node
/* global fetch, performance, setInterval, clearInterval, setTimeout */
/**
 * Hostile load on `facemtl serve` (issue 11), bounded in time and on loopback only. One healthy
 * client posts a real photo in a loop the whole time while, phase by phase:
 *   - overload: many clients post 9.9 MB bodies as fast as they can;
 *   - slowloris: hundreds of sockets trickle their headers, a few trickle a body;
 *   - SVG: clients post the 241-byte SVG filter bomb of issue 11 disguised as image/jpeg.
 * It samples the server's resident memory, counts what every client got, and reads the server's
 * own error counters. Writes bench/results/server-attack.md.
 *
 *   npm run build && node bench/server-attack.mjs [--phase 20] [--out bench/results/server-attack.md]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { machineInfo } from '../dist/bench/machine.js';
import { postImage, residentMemoryMiB, startServer } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    phase: { type: 'string', default: '20' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample1.jpg' },
    out: { type: 'string', default: 'bench/results/server-attack.md' },
    // Internal: run one attack in this (child) process against --url, print its tally as JSON.
    attack: { type: 'string' },
    url: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const phaseSeconds = Number(args.phase);
const photo = readFileSync(args.image);
const LIMITS = { concurrency: 2, queue: 16, maxBodyMiB: 10, timeoutMs: 10_000 };
const FLAGS = [
  '--concurrency',
  String(LIMITS.concurrency),
  '--queue',
  String(LIMITS.queue),
  '--max-body',
  `${LIMITS.maxBodyMiB}mb`,
  '--timeout',
  String(LIMITS.timeoutMs),
];
/** The SVG of issue 11: 241 bytes that kept librsvg busy for a minute. */
const SVG_BOMB =
  '<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000"><defs><filter id="f">' +
  '<feTurbulence baseFrequency="0.9" numOctaves="10"/><feMorphology radius="300"/></filter></defs>' +
  '<rect width="2000" height="2000" filter="url(#f)"/></svg>';
const bigBody = randomBytes(Math.round(9.9 * 1024 * 1024));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts outcomes by label and keeps latencies of successes. */
class Tally {
  counts = {};
  latencies = [];
  add(label, ms) {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    if (label === '200') this.latencies.push(ms);
  }
  total() {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  percentile(p) {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted.length
      ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))])
      : '–';
  }
  merge(counts) {
    for (const [label, n] of Object.entries(counts)) this.counts[label] = (this.counts[label] ?? 0) + n;
  }
  summary() {
    return Object.entries(this.counts)
      .sort()
      .map(([label, n]) => `${label}: ${n}`)
      .join(', ');
  }
}

/** Posts `body` in a loop until `running()` is false, tallying statuses (or the client error). */
async function postLoop(url, body, type, tally, running) {
  while (running()) {
    const began = performance.now();
    try {
      const response = await postImage(url, body, type);
      await response.arrayBuffer();
      tally.add(String(response.status), performance.now() - began);
    } catch (error) {
      if (process.env.DEBUG_ATTACK)
        console.error(type, Math.round(performance.now() - began), error.cause ?? error);
      tally.add(`client ${error.cause?.code ?? error.name}`, 0);
      await sleep(50);
    }
  }
}

/** A socket that trickles `head` then one `drip` per second until the server closes it; reconnects. */
function trickle(url, head, drip, tally, running) {
  const { hostname, port } = new URL(url);
  const open = () => {
    if (!running()) return;
    const socket = net.connect(Number(port), hostname);
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (!answered) tally.add(String(chunk).split(' ')[1] ?? 'garbled', 0);
      answered = true;
    });
    socket.write(head);
    const timer = setInterval(() => socket.write(drip), 1000);
    socket.on('close', () => {
      clearInterval(timer);
      if (!answered && running()) tally.add('closed without answer', 0);
      setTimeout(open, 200);
    });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  open();
}
const sockets = new Set();

/** The attacks, by name: each starts its clients, which stop when `running()` turns false. */
const ATTACKS = {
  overload: (url, tally, running) => {
    for (let i = 0; i < 64; i++) void postLoop(url, bigBody, 'image/jpeg', tally, running);
  },
  slowloris: (url, tally, running) => {
    const host = new URL(url).host;
    for (let i = 0; i < 400; i++) {
      trickle(url, `POST /v1/analyze HTTP/1.1\r\nHost: ${host}\r\n`, 'X-Slow: 1\r\n', tally, running);
    }
    const head =
      `POST /v1/analyze HTTP/1.1\r\nHost: ${host}\r\nContent-Type: image/jpeg\r\n` +
      `Content-Length: ${bigBody.length}\r\n\r\n`;
    for (let i = 0; i < 8; i++) trickle(url, head, bigBody.subarray(0, 1024), tally, running);
  },
  svg: (url, tally, running) => {
    for (let i = 0; i < 8; i++) void postLoop(url, SVG_BOMB, 'image/jpeg', tally, running);
  },
};

const PHASES = [
  { name: 'baseline (healthy client only)', seconds: phaseSeconds / 2 },
  { name: 'overload: 64 clients posting 9.9 MB bodies', seconds: phaseSeconds, attack: 'overload' },
  {
    name: 'slowloris: 400 sockets trickling headers, 8 trickling 9.9 MB bodies',
    seconds: phaseSeconds * 1.25,
    attack: 'slowloris',
  },
  { name: 'SVG filter bombs: 8 clients, sent as image/jpeg', seconds: phaseSeconds * 0.75, attack: 'svg' },
  { name: 'overload again (does memory climb further?)', seconds: phaseSeconds, attack: 'overload' },
  { name: 'rest (healthy client only)', seconds: phaseSeconds / 2 },
];

/** Child mode: run one attack for `--seconds`, then report its tally to the parent. */
if (args.attack) {
  const tally = new Tally();
  let running = true;
  ATTACKS[args.attack](args.url, tally, () => running);
  await sleep(Number(args.seconds) * 1000);
  running = false;
  for (const socket of sockets) socket.destroy();
  await sleep(500);
  process.send(tally.counts);
  process.exit(0);
}

/** Runs an attack in its own process, so the healthy client's event loop is not the attackers'. */
function attackInChild(name, url, seconds) {
  const child = fork(new URL(import.meta.url).pathname, [
    '--attack',
    name,
    '--url',
    url,
    '--seconds',
    String(seconds),
  ]);
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`attack ${name} exited with ${code}`)),
    );
  });
}

const { child, url } = await startServer(FLAGS);
try {
  for (let i = 0; i < 3; i++) await (await postImage(url, photo)).arrayBuffer(); // warm-up
  const baseRss = await residentMemoryMiB(child, url);
  const rows = [];
  for (const phase of PHASES) {
    let running = true;
    const healthy = new Tally();
    const attackers = new Tally();
    let maxRss = 0;
    const sampler = setInterval(async () => {
      maxRss = Math.max(maxRss, await residentMemoryMiB(child, url));
    }, 250);
    const healthyLoop = postLoop(url, photo, 'image/jpeg', healthy, () => running);
    if (phase.attack) attackers.merge(await attackInChild(phase.attack, url, phase.seconds));
    else await sleep(phase.seconds * 1000);
    running = false;
    await healthyLoop;
    clearInterval(sampler);
    await sleep(1000); // let refused and aborted requests settle before the next phase
    const row = {
      name: phase.name,
      seconds: phase.seconds,
      healthyServed: `${healthy.counts['200'] ?? 0} / ${healthy.total()}`,
      healthy: healthy.summary(),
      p50: healthy.percentile(0.5),
      p99: healthy.percentile(0.99),
      attackers: attackers.summary() || '–',
      maxRss,
      rssAfter: await residentMemoryMiB(child, url),
      load: loadavg()[0],
    };
    rows.push(row);
    console.log(row);
  }
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const errors = [...metrics.matchAll(/^facemtl_errors_total\{code="(\w+)"\} (\d+)/gm)].map(
    ([, code, n]) => `${code} ${n}`,
  );
  const internal = Number(/^facemtl_errors_total\{code="internal"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
  const bound = baseRss + (LIMITS.concurrency + LIMITS.queue) * LIMITS.maxBodyMiB * 2;
  const maxRss = Math.max(...rows.map((r) => r.maxRss));

  const machine = machineInfo();
  const fmt = (n) => Number(n).toFixed(0);
  const lines = [
    '# `facemtl serve` under attack',
    '',
    `Command: \`npm run build && node bench/server-attack.mjs --phase ${phaseSeconds}\` (model training paused while it ran)`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}, Node ${machine.node}. ` +
      `Date: ${machine.date}.`,
    '',
    `Server: \`facemtl serve ${FLAGS.join(' ')}\` (default model; max connections at its default), on loopback. ` +
      `One healthy client posts \`${args.image}\` (${photo.length} bytes) in a loop through every phase.`,
    '',
    '| phase | s | healthy served | healthy answers | healthy p50 / p99 ms | attackers got | max RSS MiB | RSS after MiB | load |',
    '| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.seconds} | ${r.healthyServed} | ${r.healthy} | ${r.p50} / ${r.p99} | ${r.attackers} | ` +
        `${fmt(r.maxRss)} | ${fmt(r.rssAfter)} | ${r.load.toFixed(1)} |`,
    ),
    '',
    `Memory bound: RSS after warm-up ${fmt(baseRss)} MiB + (concurrency ${LIMITS.concurrency} + queue ${LIMITS.queue}) × ` +
      `max body ${LIMITS.maxBodyMiB} MiB × 2 (chunks + the joined body) = ${fmt(bound)} MiB; ` +
      `highest RSS sampled (every 250 ms): ${fmt(maxRss)} MiB — ${maxRss <= bound ? 'within' : 'OVER'} the bound.`,
    '',
    `Server error counters at the end (\`facemtl_errors_total\`): ${errors.join(', ') || 'none'}; ` +
      `\`internal\`: ${internal}.`,
    '',
    'Attacker answers: 503 = refused before the body was read (every place taken), 408 = cut at the ' +
      'request timeout, 415 = not an accepted image format, 400 = undecodable bytes. A 503 for the healthy ' +
      'client during overload is the documented backpressure: it cannot be told apart from the attackers.',
    '',
  ];
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.out, lines.join('\n'));
  console.log(lines.join('\n'));
} finally {
  child.kill('SIGTERM');
}

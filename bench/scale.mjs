#!/usr/bin/env node
/* global fetch, performance, setTimeout, setInterval, clearInterval */
/**
 * Scale benchmark of `facemtl worker` / `submit` on one machine, against a throw-away
 * redis-server (loopback, temp dir, no persistence). Writes bench/results/scale.md.
 *
 *   npm run build && node bench/scale.mjs [--images 300] [--soak 1500]
 *
 * 1. `facemtl analyze` on N images (one process, 1 thread): the baseline per image.
 * 2. The same N images through the queue, 1 worker (1 thread): per-job time, and the queue's own
 *    overhead per job = (queue wall time − the worker's own time per job) and vs step 1.
 * 3. The same N images on a fresh queue, 2 worker processes (1 thread each): throughput ratio.
 * 4. N images, 1 worker killed (SIGKILL) after a third is done and a new one started: every job
 *    completed exactly once (counted from the queue's completed events), none failed.
 * 5. A longer run (soak) of one worker: its resident memory from its own /metrics, and Redis'
 *    memory per stored result.
 *
 * Images: real faces from ../shared/data/utkface/UTKFace.tar.gz (extracted into a temp dir,
 * never into the repository), else resized copies of @vladmandic/face-api's demo photos.
 * The training run is not paused (a run takes ~5 min, more than the shared pause budget allows):
 * other work goes on, so each round alternates the runs it compares and records the load.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { machineInfo } from '../dist/bench/machine.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '300' },
    soak: { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/scale.md' },
  },
});
const N = Number(args.images);
const SOAK = Number(args.soak);
const ROUNDS = Number(args.rounds);
const WARM_UP = 8;
const CLI = 'dist/cli/main.js';
const UTKFACE = '../shared/data/utkface/UTKFace.tar.gz';

const work = mkdtempSync(join(tmpdir(), 'facemtl-scale-'));
const log = (...parts) => console.error('[scale]', ...parts);

// ---------- images ----------

async function prepareImages(count) {
  const dir = join(work, 'images');
  mkdirSync(dir);
  if (existsSync(UTKFACE)) {
    execFileSync('tar', ['-xzf', UTKFACE, '-C', dir, '--wildcards', 'UTKFace/2*']);
    const files = readdirSync(join(dir, 'UTKFace'))
      .sort()
      .map((name) => join(dir, 'UTKFace', name));
    if (files.length >= count)
      return { files: files.slice(0, count), source: 'UTKFace (200×200 face crops)' };
  }
  const demo = 'node_modules/@vladmandic/face-api/demo';
  const photos = readdirSync(demo).filter((name) => /^sample\d\.jpg$/.test(name));
  const files = [];
  for (let i = 0; files.length < count; i++) {
    const file = join(dir, `demo-${i}.jpg`);
    await sharp(join(demo, photos[i % photos.length]))
      .resize({ width: 320 + 8 * Math.floor(i / photos.length) })
      .jpeg()
      .toFile(file);
    files.push(file);
  }
  return { files, source: `resized copies of ${demo}/sample1–6.jpg` };
}

// ---------- processes ----------

function startRedis() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = track(
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', work, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('Ready to accept connections'))
        resolve({ child, url: `redis://127.0.0.1:${port}` });
    });
  });
}

function startWorker(url, queue, ...extra) {
  const child = track(
    spawn(
      process.execPath,
      [CLI, 'worker', '--redis', url, '--queue', queue, '--threads', '1', '--metrics-port', '0', ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      const metrics = /metrics on (\S+)/.exec(String(chunk))?.[1];
      if (metrics) resolve({ child, metrics, exited });
    });
  });
  return ready;
}

async function stopWorker(worker) {
  worker.child.kill('SIGTERM');
  await worker.exited;
}

/**
 * Runs the CLI; resolves its wall time in seconds, its stdout, and `steady`: seconds per result
 * line between the 10th percentile line and the last, as they arrive (no start-up, no warm-up).
 * A result line is one for which `isRow(line)` holds. `cpu`: its CPU seconds (user + system).
 */
const GNU_TIME = '/usr/bin/time';
let cpuRuns = 0;

function timed(cliArgs, isRow = () => false) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // CPU time (user + system) of the command, when GNU time is there to report it.
    const cpuFile = join(work, `cpu-${++cpuRuns}.txt`);
    const command = existsSync(GNU_TIME)
      ? [GNU_TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, CLI, ...cliArgs]]
      : [process.execPath, [CLI, ...cliArgs]];
    const child = track(spawn(...command, { stdio: ['ignore', 'pipe', 'inherit'] }));
    let stdout = '';
    let partial = '';
    const rowTimes = [];
    child.stdout.on('data', (chunk) => {
      const now = performance.now();
      stdout += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) if (isRow(line)) rowTimes.push(now);
    });
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`facemtl ${cliArgs[0]} exited with ${code}`));
      const from = Math.floor(rowTimes.length / 10);
      const last = rowTimes.length - 1;
      const steady = last > from ? (rowTimes[last] - rowTimes[from]) / 1000 / (last - from) : NaN;
      const cpu = existsSync(cpuFile)
        ? readFileSync(cpuFile, 'utf8')
            .trim()
            .split(/\s+/)
            .map(Number)
            .reduce((a, b) => a + b, 0)
        : NaN;
      resolve({ seconds, stdout, steady, cpu });
    });
  });
}

async function scrape(url) {
  const text = await (await fetch(url)).text();
  const value = (pattern) => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    rssMiB: value(/^process_resident_memory_bytes\{[^}]*\} (\S+)/m) / 2 ** 20,
    heapMiB: value(/^nodejs_heap_size_used_bytes\{[^}]*\} (\S+)/m) / 2 ** 20,
    jobSeconds: value(/^facemtl_worker_job_duration_seconds_sum\{[^}]*outcome="completed"[^}]*\} (\S+)/m),
    jobs: value(/^facemtl_worker_job_duration_seconds_count\{[^}]*outcome="completed"[^}]*\} (\S+)/m),
    cpu: value(/^process_cpu_seconds_total\{[^}]*\} (\S+)/m),
  };
}

/** CPU seconds Redis has used so far. */
async function redisCpu(client) {
  const info = await client.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
}

/** Completed events per job id on `queue`: a job completed twice would count 2. */
async function countCompletions(url, queue) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const events = new QueueEvents(queue, { connection });
  await events.waitUntilReady();
  const counts = new Map();
  events.on('completed', ({ jobId }) => counts.set(jobId, (counts.get(jobId) ?? 0) + 1));
  return {
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      await events.close();
      connection.disconnect();
    },
  };
}

/** Every process started here, stopped when this script exits however it exits. */
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------- the run ----------

const { files, source } = await prepareImages(Math.max(N, SOAK) + WARM_UP);
const batch = files.slice(0, N);
const imageDir = join(work, 'images');
const isJsonRow = (line) => line.startsWith('{');
/** Images outside the timed batch: the first inferences of a fresh worker are slower (allocations). */
const warmUpFiles = files.slice(-WARM_UP);
const warmUp = (queue) => timed(['submit', '--redis', redis.url, '--queue', queue, '--wait', ...warmUpFiles]);
const soakFiles = files.slice(0, SOAK);
const redis = await startRedis();
const client = new Redis(redis.url, { maxRetriesPerRequest: null });
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const results = {};
try {
  log(`${N} images from ${source}`);

  // 1–3, in ROUNDS alternating rounds (other work on the machine drifts: compare within a round).
  results.rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // 1. facemtl analyze, one process, one thread.
    const first = await timed(['analyze', '--json', '--threads', '1', batch[0]]);
    const all = await timed(['analyze', '--threads', '1', ...batch], (line) => line.startsWith(imageDir));
    const analyze = {
      seconds: all.seconds,
      startup: first.seconds,
      steady: all.steady,
      cpuPerImage: (all.cpu - first.cpu) / (N - 1),
      load: loadavg()[0],
    };

    // 2. One worker (each round its own queue: ids are per queue, so everything runs again).
    const worker = await startWorker(redis.url, `one-${round}`);
    await warmUp(`one-${round}`);
    const before1 = await scrape(worker.metrics);
    const redis1 = await redisCpu(client);
    const queued1 = await timed(
      ['submit', '--redis', redis.url, '--queue', `one-${round}`, '--wait', ...batch],
      isJsonRow,
    );
    const metrics1 = await scrape(worker.metrics);
    const redisCpu1 = (await redisCpu(client)) - redis1;
    // The submitter's fixed cost (start, connect, one round trip): an image whose result is stored.
    const fixed = await timed(
      ['submit', '--redis', redis.url, '--queue', `one-${round}`, '--wait', batch[0]],
      isJsonRow,
    );
    await stopWorker(worker);
    const one = {
      seconds: queued1.seconds,
      rows: queued1.stdout.trim().split('\n').length,
      workerPerJob: (metrics1.jobSeconds - before1.jobSeconds) / (metrics1.jobs - before1.jobs),
      cpu: {
        worker: (metrics1.cpu - before1.cpu) / (metrics1.jobs - before1.jobs),
        submitter: (queued1.cpu - fixed.cpu) / N,
        redis: redisCpu1 / (metrics1.jobs - before1.jobs),
      },
      submitFixed: fixed.seconds,
      steady: queued1.steady,
      load: loadavg()[0],
    };
    results.distinct = new Set(
      queued1.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).size;

    // 3. Two workers.
    const pair = await Promise.all([1, 2].map(() => startWorker(redis.url, `two-${round}`)));
    await warmUp(`two-${round}`);
    const before2 = await Promise.all(pair.map((w) => scrape(w.metrics)));
    const redis2 = await redisCpu(client);
    const queued2 = await timed(
      ['submit', '--redis', redis.url, '--queue', `two-${round}`, '--wait', ...batch],
      isJsonRow,
    );
    const redisCpu2 = (await redisCpu(client)) - redis2;
    const after2 = await Promise.all(pair.map((w) => scrape(w.metrics)));
    const jobsPerWorker = after2.map((m, i) => m.jobs - before2[i].jobs);
    const jobs2 = jobsPerWorker[0] + jobsPerWorker[1];
    await Promise.all(pair.map(stopWorker));
    const two = {
      seconds: queued2.seconds,
      rows: queued2.stdout.trim().split('\n').length,
      jobsPerWorker,
      cpu: {
        worker: after2.reduce((sum, m, i) => sum + m.cpu - before2[i].cpu, 0) / jobs2,
        submitter: (queued2.cpu - fixed.cpu) / N,
        redis: redisCpu2 / jobs2,
      },
      steady: queued2.steady,
      load: loadavg()[0],
    };
    results.rounds.push({ analyze, one, two });
    log(`round ${round}`, results.rounds.at(-1));
  }
  let worker;

  // 4. Kill one worker mid-run, start another.
  const completions = await countCompletions(redis.url, 'kill');
  worker = await startWorker(redis.url, 'kill', '--lock-duration', '5000');
  await timed(['submit', '--redis', redis.url, '--queue', 'kill', ...batch], isJsonRow);
  const killStarted = performance.now();
  while (completions.total() < results.distinct / 3) await sleep(20);
  const queue = new Queue('kill', { connection: client });
  worker.child.kill('SIGKILL');
  await worker.exited;
  // The jobs it held: still "active", locked by a dead worker until the lock expires.
  const victims = (await queue.getActive()).map((job) => job.id);
  const doneAtKill = completions.total();
  worker = await startWorker(redis.url, 'kill', '--lock-duration', '5000');
  const restartedAfter = (performance.now() - killStarted) / 1000;
  while (completions.counts.size < results.distinct) await sleep(50);
  await sleep(2000); // time for a late duplicate completion to show up, if there were one
  const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
  const rerun = await Promise.all(victims.map(async (id) => (await queue.getJob(id))?.attemptsStarted));
  const replay = await timed(
    ['submit', '--redis', redis.url, '--queue', 'kill', '--wait', ...batch],
    isJsonRow,
  );
  const replayRows = replay.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  results.kill = {
    doneAtKill,
    victims: victims.length,
    victimAttemptsStarted: rerun,
    completedEvents: completions.total(),
    distinctCompleted: completions.counts.size,
    maxCompletionsPerJob: Math.max(...completions.counts.values()),
    counts,
    replayRows: replayRows.length,
    replayDistinctIds: new Set(replayRows.map((row) => row.id)).size,
    replayErrors: replayRows.filter((row) => row.error).length,
    seconds: (performance.now() - killStarted) / 1000,
    restartedAfter,
  };
  await stopWorker(worker);
  await completions.close();
  await queue.close();
  log('kill', results.kill);

  // 5. Soak: one worker, SOAK distinct images, memory sampled from its /metrics.
  const redisBefore = Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
  worker = await startWorker(redis.url, 'soak');
  const samples = [];
  const soakStarted = performance.now();
  const sample = async () => {
    const m = await scrape(worker.metrics);
    samples.push({
      t: (performance.now() - soakStarted) / 1000,
      jobs: m.jobs || 0,
      rss: m.rssMiB,
      heap: m.heapMiB,
    });
  };
  await sample();
  const timer = setInterval(() => void sample(), 5000);
  const soakRun = await timed(
    ['submit', '--redis', redis.url, '--queue', 'soak', '--wait', ...soakFiles],
    isJsonRow,
  );
  clearInterval(timer);
  await sample();
  await stopWorker(worker);
  const redisAfter = Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);
  results.soak = {
    seconds: soakRun.seconds,
    samples,
    redisBytesPerJob: (redisAfter - redisBefore) / SOAK,
  };
  log('soak', { seconds: soakRun.seconds, samples: samples.length });
} finally {
  client.disconnect();
  redis.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

// ---------- report ----------

const machine = machineInfo();
const fmt = (n, digits = 1) => Number(n).toFixed(digits);
const ms = (seconds) => `${fmt(seconds * 1000)} ms`;
const { rounds, distinct, kill, soak } = results;
const rss = soak.samples.map((s) => s.rss);
const lines = [
  '# Queue scale benchmark (`facemtl worker` / `submit` on BullMQ + Redis)',
  '',
  `Command: \`npm run build && node bench/scale.mjs --images ${N} --soak ${SOAK} --rounds ${ROUNDS}\``,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}, Node ${machine.node}, ` +
    `onnxruntime-node ${machine.onnxruntime_node}. Date: ${machine.date}. Redis: a local redis-server on loopback ` +
    `(\`${execFileSync('redis-server', ['--version']).toString().trim().split(' ').slice(0, 3).join(' ')}\`), no persistence. ` +
    (process.env.FACEMTL_BENCH_PAUSED
      ? 'The training run was paused during the run (`/work/notes/paused-bench.sh`); other work went on (see the load column).'
      : 'The training run and other work on the machine went on during the run (see the load column).'),
  '',
  `Images: ${N} files of ${source}, ${distinct} distinct (the job ids are content hashes: a repeated image is one job); ` +
    'every worker and `analyze` with `--threads 1`, default model and detector. Times are wall-clock times of the ' +
    'CLI commands, start-up included unless said otherwise.',
  '',
  '## Throughput: `analyze` vs 1 and 2 workers on one queue',
  '',
  `The three runs alternate, ${ROUNDS} rounds; compare within a round. "Steady" is measured from the times the ` +
    "result lines arrive on the command's stdout, from the 10th-percentile line to the last: no process start-up, " +
    'no model load, no first-inference warm-up. Wall time includes all of those.',
  '',
  '| round | run | wall s | steady per image | steady images/s | machine load (1 min) |',
  '| ---: | --- | ---: | ---: | ---: | ---: |',
  ...rounds.flatMap(({ analyze, one, two }, i) => [
    `| ${i + 1} | \`facemtl analyze\` (1 process) | ${fmt(analyze.seconds, 2)} | ${ms(analyze.steady)} | ${fmt(1 / analyze.steady)} | ${fmt(analyze.load)} |`,
    `| ${i + 1} | \`submit --wait\`, 1 worker | ${fmt(one.seconds, 2)} | ${ms(one.steady)} (the worker's own time per job: ${ms(one.workerPerJob)}) | ${fmt(1 / one.steady)} | ${fmt(one.load)} |`,
    `| ${i + 1} | \`submit --wait\`, 2 workers | ${fmt(two.seconds, 2)} | ${ms(two.steady)} (jobs per worker: ${two.jobsPerWorker.join(' / ')}) | ${fmt(1 / two.steady)} | ${fmt(two.load)} |`,
  ]),
  '',
  '| round | 2 workers vs 1, steady (wall) | queue vs `analyze`, steady per image | queue overhead per job |',
  '| ---: | ---: | ---: | ---: |',
  ...rounds.map(
    ({ analyze, one, two }, i) =>
      `| ${i + 1} | ${fmt(one.steady / two.steady, 2)}× (${fmt(one.seconds / two.seconds, 2)}×) | ` +
      `${ms(one.steady)} vs ${ms(analyze.steady)}: ${ms(one.steady - analyze.steady)} more | ${ms(one.steady - one.workerPerJob)} |`,
  ),
  '',
  `- 2 workers on ${machine.cores} cores: each runs one inference thread and CPU is the limit, so more workers than ` +
    'cores cannot help here; on N machines the same queue spreads over all of them.',
  "- Queue overhead per job = steady time per job through the queue minus the worker's own time per job (its " +
    '`facemtl_worker_job_duration_seconds`): Redis round trips, events, base64, the gap between one job and the ' +
    "next, and the submitter's hashing and reading sharing the cores.",
  `- The submitter's fixed cost (start, connect, one stored result back): ${rounds.map(({ one }) => `${fmt(one.submitFixed, 2)} s`).join(', ')}; ` +
    `\`analyze\` start-up (one image): ${rounds.map(({ analyze }) => `${fmt(analyze.startup, 2)} s`).join(', ')}.`,
  `- All rows came back: ${rounds.map(({ one, two }) => `${one.rows} and ${two.rows}`).join(', ')} JSON lines for ${N} files.`,
  '',
  '## CPU time per image (load-independent)',
  '',
  'Wall times depend on what else the 2 cores run; CPU seconds spent per image do much less. From GNU time for ' +
    "the commands (start-up removed: the one-image run's CPU is subtracted), the worker's `process_cpu_seconds_total` " +
    "(before/after the timed run: no model load, no warm-up) and Redis' `INFO cpu`.",
  '',
  '| round | `analyze` | 1 worker: worker + submitter + Redis = total | 2 workers: workers + submitter + Redis = total |',
  '| ---: | ---: | ---: | ---: |',
  ...rounds.map(({ analyze, one, two }, i) => {
    const sum = (cpu) =>
      `${ms(cpu.worker)} + ${ms(cpu.submitter)} + ${ms(cpu.redis)} = **${ms(cpu.worker + cpu.submitter + cpu.redis)}**`;
    return `| ${i + 1} | **${ms(analyze.cpuPerImage)}** | ${sum(one.cpu)} | ${sum(two.cpu)} |`;
  }),
  '',
  "- The queue's own CPU cost per image = submitter + Redis + (worker − `analyze`): " +
    rounds
      .map(({ analyze, one }) => ms(one.cpu.submitter + one.cpu.redis + one.cpu.worker - analyze.cpuPerImage))
      .join(', ') +
    '.',
  '- With free cores, throughput scales with the workers as long as the CPU per job stays the same with two ' +
    `(1 worker: ${rounds.map(({ one }) => ms(one.cpu.worker)).join(', ')}; 2 workers: ${rounds.map(({ two }) => ms(two.cpu.worker)).join(', ')} per job): ` +
    `${machine.cores} free cores would give about ${fmt(machine.cores / rounds[0].two.cpu.worker, 0)} images/s of these ` +
    'images (derived from CPU time, not measured as a rate).',
  '',
  '## A worker killed mid-run (SIGKILL) and a new one started',
  '',
  `${distinct} jobs, 1 worker with \`--lock-duration 5000\`; killed when ${kill.doneAtKill} jobs were done, with ` +
    `${kill.victims} job left running by it; a new worker started ${fmt(kill.restartedAfter, 1)} s after the run began.`,
  '',
  '| completed events | distinct jobs completed | most completions of one job | failed | left in queue | killed job started (times) | rows on resubmit (distinct ids, errors) |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  `| ${kill.completedEvents} | ${kill.distinctCompleted} | ${kill.maxCompletionsPerJob} | ${kill.counts.failed} | ` +
    `${kill.counts.active + kill.counts.waiting + kill.counts.delayed} | ${kill.victimAttemptsStarted.join(', ') || '—'} | ` +
    `${kill.replayRows} (${kill.replayDistinctIds}, ${kill.replayErrors}) |`,
  '',
  `Nothing lost, nothing twice: ${kill.distinctCompleted === distinct && kill.maxCompletionsPerJob === 1 && kill.counts.failed === 0 ? 'yes' : '**NO**'}. ` +
    `Whole run ${fmt(kill.seconds, 1)} s; the killed job waited for its lock to expire (5 s) before running again.`,
  '',
  `## Soak: one worker, ${SOAK} files (${fmt(soak.seconds, 1)} s)`,
  '',
  '| t (s) | jobs done | RSS (MiB) | JS heap used (MiB) |',
  '| ---: | ---: | ---: | ---: |',
  ...soak.samples.map((s) => `| ${fmt(s.t, 0)} | ${s.jobs} | ${fmt(s.rss)} | ${fmt(s.heap)} |`),
  '',
  `Worker RSS min ${fmt(Math.min(...rss))} MiB, max ${fmt(Math.max(...rss))} MiB (first sample before any job). ` +
    `Redis memory per completed job (result kept, image dropped): ${fmt(soak.redisBytesPerJob / 1024, 2)} KiB.`,
  '',
  `Machine load (1 min) at the end: ${fmt(loadavg()[0])}. Absolute numbers vary from run to run; compare within one run.`,
  '',
];
mkdirSync('bench/results', { recursive: true });
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));

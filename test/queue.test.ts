/**
 * `facemtl worker`, `submit` and `status` against a real redis-server started on a loopback port
 * (test/fixtures/redis.ts), run as a user would: the built CLI in child processes. Skipped when
 * redis-server is absent (`apt-get install -y redis-server`).
 *
 * What is checked is what users rely on: results equal to `facemtl analyze`'s, one job per
 * distinct image, bad images failed at once with analyze's reason, transient failures retried,
 * nothing lost and nothing completed twice when a worker dies or stalls mid-job, SIGTERM lets
 * the running job finish, metrics and status counts agree with the queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli as facemtl } from './fixtures/cli.js';
import { hasRedis, NO_REDIS_REASON, startRedis, type TestRedis } from './fixtures/redis.js';

const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three faces
/** Several worker start-ups and multi-second images per test: generous on a busy 2-core machine. */
const SLOW = 180_000;
if (!hasRedis) console.warn(`queue.test.ts skipped: ${NO_REDIS_REASON}`);

/** A `facemtl worker` child process; `ready` resolves with its start-up line. */
interface WorkerProcess {
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

function startWorker(url: string, queue: string, ...extra: string[]): WorkerProcess {
  const child = spawn('node', [CLI, 'worker', '--redis', url, '--queue', queue, '--threads', '1', ...extra]);
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((text) => text.startsWith('facemtl worker '));
      if (line) resolve(line);
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ready: ${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ready, exited, output: () => output };
}

async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The jobs running now, once there are any. */
const firstActive = (queue: Queue) =>
  until(async () => {
    const active = await queue.getActive();
    return active.length > 0 && active;
  });

/** An image that takes a while to decode and search (~1–3 s on this machine), distinct per seed. */
async function slowImage(path: string, seed: number): Promise<void> {
  const [width, height] = [6000, 4000];
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i + seed) * 2654435761) >>> 24;
  await sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toFile(path);
}

interface Row {
  file: string;
  id: string;
  width?: number;
  faces?: unknown[];
  error?: { code: string; message: string };
}
const rows = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row);

describe.skipIf(!hasRedis)('queue: facemtl worker / submit / status on Redis', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;
  const workers: WorkerProcess[] = [];
  const queues: Queue[] = [];
  const spawnWorker = (queue: string, ...extra: string[]) => {
    const worker = startWorker(redis.url, queue, ...extra);
    workers.push(worker);
    return worker;
  };
  const submit = (queue: string, ...args: string[]) =>
    facemtl('submit', '--redis', redis.url, '--queue', queue, ...args);
  const openQueue = (name: string) => {
    const queue = new Queue(name, { connection: client });
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    if (!existsSync(CLI) || !existsSync('dist/cli/worker.js')) throw new Error('run `npm run build` first');
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    dir = mkdtempSync(join(tmpdir(), 'facemtl-queue-'));
    mkdirSync(join(dir, 'batch'));
    copyFileSync(PHOTO, join(dir, 'batch', 'photo.jpg'));
    copyFileSync(PHOTO, join(dir, 'batch', 'same-photo.jpg'));
    writeFileSync(join(dir, 'batch', 'notes.jpg'), 'not an image');
    writeFileSync(join(dir, 'batch', 'empty.jpg'), '');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } })
      .png()
      .toFile(join(dir, 'batch', 'blank.png'));
    mkdirSync(join(dir, 'slow'));
    for (let seed = 1; seed <= 5; seed++) await slowImage(join(dir, 'slow', `noise-${seed}.jpg`), seed);
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    for (const queue of queues) await queue.close();
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true }); // ~60 MB of generated images
  });

  it(
    'submit --wait: analyze’s results and reasons, one job per distinct image, bad images never retried',
    async () => {
      const worker = spawnWorker('basic', '--concurrency', '2');
      await worker.ready;
      const run = await submit('basic', '--wait', join(dir, 'batch'));
      expect(run.code).toBe(1); // two bad files, like `analyze`
      const got = rows(run.stdout);
      const analyze = await facemtl('analyze', '--json', '--threads', '1', join(dir, 'batch'));
      const expected = JSON.parse(analyze.stdout) as Row[];
      expect(got.map((row) => row.file).sort()).toEqual(expected.map((row) => row.file).sort());
      for (const row of got) {
        const { id, ...result } = row;
        expect(id).toMatch(/^sha256-[0-9a-f]{64}$/);
        // The same JSON as `facemtl analyze` (same model and settings, one thread each).
        expect(result).toEqual(expected.find((entry) => entry.file === row.file));
      }
      const byName = Object.fromEntries(got.map((row) => [row.file.split('/').pop(), row]));
      expect(byName['photo.jpg'].faces).toHaveLength(3);
      expect(byName['same-photo.jpg'].id).toBe(byName['photo.jpg'].id);
      // The stderr lines are analyze's, one per bad file.
      const reasons = (text: string) => text.split('\n').filter((line) => line.startsWith('facemtl: /'));
      expect(reasons(run.stderr).sort()).toEqual(reasons(analyze.stderr).sort());

      const queue = openQueue('basic');
      expect(await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed')).toEqual({
        completed: 2, // photo (twice submitted, one job) and blank
        failed: 2,
        waiting: 0,
        delayed: 0,
      });
      for (const job of await queue.getFailed()) {
        expect(job.attemptsMade).toBe(1); // no retry storm, although 5 attempts were allowed
        expect(job.opts.attempts).toBe(5);
        expect(job.data.image).toBeUndefined(); // the bad bytes are not kept
      }
      for (const job of await queue.getCompleted()) expect(job.data.image).toBeUndefined();

      // Submitted again with no worker left: nothing is queued, the stored results come back.
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      const again = await submit('basic', '--wait', '--csv', join(dir, 'batch'));
      expect(again.code).toBe(1);
      expect(await queue.getJobCounts('completed', 'failed', 'waiting')).toEqual({
        completed: 2,
        failed: 2,
        waiting: 0,
      });
      const csv = await facemtl('analyze', '--csv', '--threads', '1', join(dir, 'batch'));
      expect(again.stdout.split('\n')[0]).toBe(csv.stdout.split('\n')[0]); // the header
      expect(again.stdout.trim().split('\n').sort()).toEqual(csv.stdout.trim().split('\n').sort());

      // status agrees with the queue.
      const status = await facemtl('status', '--redis', redis.url, '--queue', 'basic', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        queue: 'basic',
        waiting: 0,
        active: 0,
        completed: 2,
        failed: 2,
        workers: 0,
        etaSeconds: 0,
      });
      expect(JSON.parse(status.stdout).rate).toBeGreaterThan(0); // two completions within the last minute
    },
    SLOW,
  );

  it(
    'a wrong or unreachable --redis: one line, exit 2',
    async () => {
      const wrong = await facemtl('submit', '--redis', 'http://localhost', PHOTO);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr.trim()).toBe('facemtl: --redis: expected a redis:// or rediss:// URL, got http://');
      const away = await facemtl('status', '--redis', 'redis://127.0.0.1:1');
      expect(away.code).toBe(2);
      expect(away.stderr.trim()).toMatch(
        /^facemtl: cannot connect to Redis at 127\.0\.0\.1:1: .*ECONNREFUSED/,
      );
      expect(away.stderr.trim().split('\n')).toHaveLength(1);
    },
    SLOW,
  );

  it(
    'a file the worker cannot read yet is retried with backoff, then done; metrics count it',
    async () => {
      const file = join(dir, 'transient.jpg');
      const once = join(dir, 'one-attempt.jpg');
      copyFileSync(join(dir, 'slow', 'noise-5.jpg'), file);
      copyFileSync(join(dir, 'slow', 'noise-4.jpg'), once);
      // Sent as paths (shared storage), then taken away before any worker runs.
      expect((await submit('flaky', '--no-inline', '--backoff', '300', file)).code).toBe(0);
      expect((await submit('flaky', '--no-inline', '--attempts', '1', once)).code).toBe(0);
      const queue = openQueue('flaky');
      const waiting = await queue.getJobs(['waiting']);
      const idOf = (path: string) => waiting.find((job) => job.data.file === path)!.id!;
      const [id, onceId] = [idOf(file), idOf(once)];
      for (const path of [file, once]) renameSync(path, `${path}.away`);
      const worker = spawnWorker('flaky', '--metrics-port', '0');
      const metricsUrl = /metrics on (\S+)/.exec(await worker.ready)![1];
      await until(async () => ((await Job.fromId(queue, id))?.attemptsMade ?? 0) >= 1);
      await until(async () => (await queue.getJobState(onceId)) === 'failed'); // its one attempt used
      for (const path of [file, once]) renameSync(`${path}.away`, path);
      await until(async () => (await queue.getJobState(id)) === 'completed');
      const job = (await Job.fromId(queue, id))!;
      expect(job.attemptsMade).toBeGreaterThanOrEqual(2);
      expect(job.data.error).toEqual({ code: 'unreadable', permanent: false });
      expect(job.returnvalue).toMatchObject({ width: 6000, height: 4000, faces: [] });
      expect(worker.output()).toMatch(/will retry: .*transient\.jpg: no such file/);

      const metrics = await (await fetch(metricsUrl)).text();
      const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1]);
      expect(value(/facemtl_worker_jobs_total\{outcome="completed"[^}]*\} (\d+)/)).toBe(1);
      expect(value(/facemtl_worker_jobs_total\{outcome="retried"[^}]*\} (\d+)/)).toBe(job.attemptsMade - 1);
      expect(value(/facemtl_queue_jobs\{state="completed"[^}]*\} (\d+)/)).toBe(1);
      expect(value(/process_resident_memory_bytes\{[^}]*\} (\d+)/)).toBeGreaterThan(0);
      expect(metrics).toMatch(/facemtl_worker_job_duration_seconds_count\{[^}]*outcome="completed"[^}]*\} 1/);
      expect(value(/facemtl_worker_jobs_total\{outcome="failed"[^}]*\} (\d+)/)).toBe(1);

      // Failed for a reason retrying can fix: submitting the image again runs it again.
      expect((await Job.fromId(queue, onceId))!.data.error).toEqual({ code: 'unreadable', permanent: false });
      const again = await submit('flaky', '--no-inline', '--wait', once);
      expect(again.code).toBe(0);
      expect(rows(again.stdout)).toMatchObject([{ file: once, id: onceId, width: 6000, faces: [] }]);
    },
    SLOW,
  );

  /** Counts `completed` events per job id on a queue: a job completed twice would show 2. */
  async function completions(
    name: string,
  ): Promise<{ counts: Map<string, number>; close: () => Promise<void> }> {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(name, { connection });
    await events.waitUntilReady();
    const counts = new Map<string, number>();
    events.on('completed', ({ jobId }) => counts.set(jobId, (counts.get(jobId) ?? 0) + 1));
    return {
      counts,
      close: async () => {
        await events.close();
        connection.disconnect();
      },
    };
  }

  it(
    'a worker killed mid-job: the job runs again elsewhere, nothing lost, nothing twice',
    async () => {
      const queue = openQueue('killed');
      const events = await completions('killed');
      const first = spawnWorker('killed', '--lock-duration', '1500');
      await first.ready;
      expect((await submit('killed', join(dir, 'slow'))).code).toBe(0);
      const [victim] = await firstActive(queue);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = spawnWorker('killed', '--lock-duration', '1500');
      await second.ready;
      const run = await submit('killed', '--wait', join(dir, 'slow'));
      expect(run.code).toBe(0);
      const got = rows(run.stdout);
      expect(got.map((row) => row.file).sort()).toEqual(
        [1, 2, 3, 4, 5].map((n) => join(dir, 'slow', `noise-${n}.jpg`)),
      );
      expect(new Set(got.map((row) => row.id)).size).toBe(5);
      expect(await queue.getJobCounts('completed', 'failed', 'active', 'waiting')).toEqual({
        completed: 5,
        failed: 0,
        active: 0,
        waiting: 0,
      });
      const rerun = (await Job.fromId(queue, victim.id!))!;
      expect(rerun.attemptsStarted).toBeGreaterThanOrEqual(2); // started by the killed worker, then again
      await until(async () => events.counts.size === 5 && events.counts);
      expect([...events.counts.values()]).toEqual([1, 1, 1, 1, 1]);
      await events.close();
    },
    SLOW,
  );

  it(
    'a worker frozen mid-job wakes up after another finished it: still one completion, one result',
    async () => {
      const queue = openQueue('frozen');
      const events = await completions('frozen');
      const frozen = spawnWorker('frozen', '--lock-duration', '1500');
      await frozen.ready;
      expect((await submit('frozen', join(dir, 'slow', 'noise-1.jpg'))).code).toBe(0);
      const [job] = await firstActive(queue);
      frozen.child.kill('SIGSTOP'); // holds the job, stops renewing its lock
      const other = spawnWorker('frozen', '--lock-duration', '1500');
      await other.ready;
      await until(async () => (await queue.getJobState(job.id!)) === 'completed');
      const result = (await Job.fromId(queue, job.id!))!.returnvalue as unknown;
      frozen.child.kill('SIGCONT'); // finishes its (now stale) run and tries to complete it
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(await queue.getJobState(job.id!)).toBe('completed');
      expect((await Job.fromId(queue, job.id!))!.returnvalue).toEqual(result);
      expect(events.counts.get(job.id!)).toBe(1);
      expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
      await events.close();
    },
    SLOW,
  );

  it(
    'SIGTERM: the running job finishes, no new one starts, exit 0',
    async () => {
      const queue = openQueue('sigterm');
      const worker = spawnWorker('sigterm');
      await worker.ready;
      expect((await submit('sigterm', join(dir, 'slow'))).code).toBe(0);
      const [running] = await firstActive(queue);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/SIGTERM received, finishing 1 running job/);
      expect(await queue.getJobState(running.id!)).toBe('completed');
      const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'failed');
      expect(counts.active).toBe(0);
      expect(counts.failed).toBe(0);
      expect(counts.completed + counts.waiting).toBe(5);
      expect(counts.waiting).toBeGreaterThanOrEqual(3); // it stopped taking jobs
    },
    SLOW,
  );
});

/**
 * `AnalysisWorker`: a BullMQ worker that runs `FaceAnalyzer` on the queue's jobs.
 *
 * - A bad image (corrupt, not an image, too large, empty) fails at once with the one-line reason
 *   `facemtl analyze` gives: an `UnrecoverableError`, so it is never retried.
 * - Anything else (the shared file not readable right now, a runtime error) is retried with
 *   exponential backoff, up to the attempts the submitter asked for.
 * - A worker that dies mid-job holds a lock that expires after `lockDurationMs`; another worker
 *   then moves the job back to waiting and runs it again. Completing needs the lock, so a job that
 *   ran twice (a paused worker waking up late) is still completed once, with one result.
 * - `close()` stops taking jobs and lets the running ones finish (what SIGTERM does).
 */
import { hostname } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ImageError } from '../image/types.js';
import { FaceAnalyzer, type Analysis, type FaceAnalyzerOptions } from '../pipeline/index.js';
import { connectRedis, DEFAULT_QUEUE } from './connection.js';
import { imageJobId, readImageBytes, type AnalysisJobData } from './jobs.js';
import { WorkerMetrics } from './metrics.js';

export interface AnalysisWorkerOptions {
  redisUrl: string;
  /** Queue name (default `facemtl`). One queue = one analysis configuration. */
  queue?: string;
  /** Jobs this process runs at the same time (default 1). */
  concurrency?: number;
  /** Shown in metrics and in BullMQ's worker list (default `host:pid`). */
  name?: string;
  /**
   * How long a job stays locked to a worker that stopped renewing it (default 30 s): the time
   * before a dead worker's job runs elsewhere. Also the interval of the stalled-job check.
   */
  lockDurationMs?: number;
  /** Times a job is taken back from a dead worker; one more death and it fails (default 2). */
  maxStalledCount?: number;
  analyzer?: FaceAnalyzerOptions;
}

type AnalysisJob = Job<AnalysisJobData, Analysis>;

export interface JobEvent {
  job: AnalysisJob;
  outcome: 'completed' | 'failed' | 'retried';
  seconds: number;
  faces?: number;
  message?: string;
}

export class AnalysisWorker {
  readonly metrics: WorkerMetrics;
  private readonly worker: Worker<AnalysisJobData, Analysis>;
  private closing: Promise<void> | undefined;
  private runningJobs = 0;

  private constructor(
    readonly name: string,
    private readonly analyzer: FaceAnalyzer,
    private readonly redis: Redis,
    private readonly queue: Queue,
    options: AnalysisWorkerOptions,
    private readonly onJob: (event: JobEvent) => void,
  ) {
    this.metrics = new WorkerMetrics({ queue: queue.name, worker: name }, () => queue.getJobCounts());
    const lockDuration = options.lockDurationMs ?? 30_000;
    this.worker = new Worker(queue.name, (job) => this.process(job), {
      connection: redis,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount: options.maxStalledCount ?? 2,
      autorun: false,
    });
    this.worker.on('completed', (job) => void this.dropImage(job));
    // Connection trouble: ioredis reconnects; say so once per error instead of crashing.
    this.worker.on('error', (error) => console.error(`facemtl worker: ${error.message}`));
  }

  /** Loads the models, connects, and starts taking jobs. */
  static async start(
    options: AnalysisWorkerOptions,
    onJob: (event: JobEvent) => void = () => {},
  ): Promise<AnalysisWorker> {
    const redis = await connectRedis(options.redisUrl);
    let analyzer: FaceAnalyzer | undefined;
    try {
      analyzer = await FaceAnalyzer.create(options.analyzer);
      const queue = new Queue(options.queue ?? DEFAULT_QUEUE, { connection: redis });
      const name = options.name ?? `${hostname()}:${process.pid}`;
      const worker = new AnalysisWorker(name, analyzer, redis, queue, options, onJob);
      void worker.worker.run().catch((error: unknown) => {
        console.error(`facemtl worker: ${error instanceof Error ? error.message : String(error)}`);
      });
      await worker.worker.waitUntilReady();
      return worker;
    } catch (error) {
      await analyzer?.dispose();
      redis.disconnect();
      throw error;
    }
  }

  get queueName(): string {
    return this.queue.name;
  }

  /** Jobs running now. */
  get active(): number {
    return this.runningJobs;
  }

  private async process(job: AnalysisJob): Promise<Analysis> {
    const started = performance.now();
    this.runningJobs++;
    this.metrics.active.inc();
    const finish = (outcome: JobEvent['outcome'], extra: Partial<JobEvent> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.jobs.inc({ outcome });
      this.metrics.duration.observe({ outcome }, seconds);
      this.onJob({ job, outcome, seconds, ...extra });
    };
    try {
      const analysis = await this.analyze(job);
      this.metrics.faces.inc(analysis.faces.length);
      finish('completed', { faces: analysis.faces.length });
      return analysis;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retried =
        !(error instanceof UnrecoverableError) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      finish(retried ? 'retried' : 'failed', { message });
      throw error;
    } finally {
      this.runningJobs--;
      this.metrics.active.dec();
    }
  }

  private async analyze(job: AnalysisJob): Promise<Analysis> {
    const { data } = job;
    let bytes: Uint8Array;
    if (data.image !== undefined) bytes = Buffer.from(data.image, 'base64');
    else if (data.path !== undefined) {
      try {
        bytes = await readImageBytes(data.path);
      } catch (error) {
        // Shared storage can be briefly unavailable: retried with backoff (not an UnrecoverableError).
        await this.markError(job, { code: 'unreadable', permanent: false }, true);
        throw error;
      }
    } else return this.fail(job, 'unsupported', 'the job has neither an image nor a path');

    if (imageJobId(bytes) !== job.id) {
      return this.fail(job, 'changed', `${data.path ?? data.file}: the file changed after it was submitted`);
    }
    try {
      // Plain JSON, as stored: `Face.raw` is not enumerable and so not part of the result.
      return await this.analyzer.analyze(bytes);
    } catch (error) {
      if (error instanceof ImageError) return this.fail(job, error.code, error.message);
      throw error;
    }
  }

  /** A failure retrying cannot fix: straight to failed, with the reason (and without the image). */
  private async fail(job: AnalysisJob, code: string, message: string): Promise<never> {
    await this.markError(job, { code, permanent: true }, false);
    throw new UnrecoverableError(message);
  }

  /** Records the error code on the job, for the submitter's rows (BullMQ keeps only the message). */
  private async markError(
    job: AnalysisJob,
    error: NonNullable<AnalysisJobData['error']>,
    keepImage: boolean,
  ): Promise<void> {
    const data: AnalysisJobData = { ...job.data, error };
    if (!keepImage) delete data.image;
    await job.updateData(data);
  }

  /** A completed job keeps its result, not the image: Redis memory stays per result, not per byte. */
  private async dropImage(job: AnalysisJob): Promise<void> {
    if (job.data.image === undefined) return;
    const data: AnalysisJobData = { ...job.data };
    delete data.image;
    await job.updateData(data).catch(() => {}); // already removed, or Redis away: nothing lost
  }

  /** Stops taking jobs, waits for the running ones to finish, then disconnects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker.close();
      await this.queue.close();
      await this.analyzer.dispose();
      await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closing;
  }
}

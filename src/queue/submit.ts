/**
 * The submitting side: `Submitter` turns image files into jobs (id = content hash, so a repeated
 * image is not queued again) and, when asked to wait, reports each job's outcome once as it
 * completes. Outcomes come from BullMQ's queue events as they happen, backed by a slow sweep of
 * the jobs still pending (an event can be missed while disconnected, or trimmed from the event
 * stream on a very busy queue); a job is reported once however it was noticed.
 */
import { resolve } from 'node:path';
import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { ImageError } from '../image/types.js';
import type { Analysis } from '../pipeline/index.js';
import { connectRedis, DEFAULT_QUEUE } from './connection.js';
import {
  DEFAULT_RETRY,
  imageJobId,
  JOB_NAME,
  jobOptions,
  jobOutcome,
  readImageBytes,
  type AnalysisJobData,
  type JobOutcome,
  type RetryOptions,
} from './jobs.js';

export interface SubmitterOptions {
  redisUrl: string;
  queue?: string;
  /** Images up to this many bytes travel inside the job; larger ones as a path (default 1 MiB). */
  inlineMaxBytes?: number;
  retry?: RetryOptions;
  /** Report outcomes (`watch`); off: only enqueue. */
  wait?: boolean;
}

/** A file's outcome: its job's, or why it could not be submitted. */
export type FileOutcome = { file: string } & (
  | Exclude<JobOutcome, { state: 'pending' }>
  | { id?: undefined; state: 'failed'; error: { code: string; message: string } }
);

export const DEFAULT_INLINE_MAX_BYTES = 1024 * 1024;
const SUBMIT_BATCH = 100;
const SWEEP_INTERVAL_MS = 2000;
const SWEEP_BATCH = 200;

export class Submitter {
  /** Job id → the files (names given to this submitter) that have that content. */
  private readonly pending = new Map<string, string[]>();
  private sweepOrder: string[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;

  private constructor(
    private readonly redis: Redis,
    private readonly queue: Queue<AnalysisJobData, Analysis>,
    private readonly events: QueueEvents | undefined,
    private readonly eventsRedis: Redis | undefined,
    private readonly options: Required<Omit<SubmitterOptions, 'queue' | 'wait' | 'redisUrl'>>,
    private readonly onOutcome: (outcome: FileOutcome) => void,
  ) {
    for (const event of ['completed', 'failed'] as const)
      events?.on(event, ({ jobId }: { jobId: string }) => {
        if (this.pending.has(jobId)) void this.check([jobId]).catch(() => {}); // the sweep tries again
      });
  }

  /** Connects; with `wait`, listens to the queue's events before anything is added. */
  static async open(
    options: SubmitterOptions,
    onOutcome: (outcome: FileOutcome) => void = () => {},
  ): Promise<Submitter> {
    const redis = await connectRedis(options.redisUrl);
    const queue = new Queue<AnalysisJobData, Analysis>(options.queue ?? DEFAULT_QUEUE, { connection: redis });
    let events: QueueEvents | undefined;
    let eventsRedis: Redis | undefined;
    if (options.wait) {
      eventsRedis = await connectRedis(options.redisUrl);
      events = new QueueEvents(queue.name, { connection: eventsRedis });
      await events.waitUntilReady();
    }
    const settings = {
      inlineMaxBytes: options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES,
      retry: options.retry ?? DEFAULT_RETRY,
    };
    return new Submitter(redis, queue, events, eventsRedis, settings, onOutcome);
  }

  get queueName(): string {
    return this.queue.name;
  }

  /**
   * Enqueues `files` in batches. A file that cannot be read is reported as failed (the loader's
   * one-line reason) and the rest go on. Returns the number of distinct images submitted.
   */
  async submit(files: readonly string[], onBatch: (done: number) => void = () => {}): Promise<number> {
    const ids = new Set<string>();
    for (let start = 0; start < files.length; start += SUBMIT_BATCH) {
      const batch = new Map<string, { name: string; data: AnalysisJobData; opts: JobsOptions }>();
      for (const file of files.slice(start, start + SUBMIT_BATCH)) {
        let bytes: Uint8Array;
        try {
          bytes = await readImageBytes(file);
        } catch (error) {
          const code = error instanceof ImageError ? error.code : 'error';
          const message = error instanceof Error ? error.message : String(error);
          this.onOutcome({ file, state: 'failed', error: { code, message } });
          continue;
        }
        const id = imageJobId(bytes);
        ids.add(id);
        if (this.events) this.pending.set(id, [...(this.pending.get(id) ?? []), file]);
        if (batch.has(id)) continue;
        const data: AnalysisJobData =
          bytes.length <= this.options.inlineMaxBytes
            ? { file, image: Buffer.from(bytes).toString('base64') }
            : { file, path: resolve(file) };
        batch.set(id, { name: JOB_NAME, data, opts: jobOptions(id, this.options.retry) });
      }
      // An id already in the queue is not added again: the existing job (and result) stands.
      await this.queue.addBulk([...batch.values()]);
      await this.check([...batch.keys()], true);
      onBatch(Math.min(start + SUBMIT_BATCH, files.length));
    }
    return ids.size;
  }

  /** Resolves once every submitted job has been reported (only with `wait`). */
  async allDone(): Promise<void> {
    if (this.pending.size === 0) return;
    this.sweepTimer ??= setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /**
   * Reports the jobs among `ids` that have finished. Just after submitting (`resubmitted`), a job
   * that already failed for a reason retrying may fix (storage away, attempts used up) runs again
   * instead; a bad image stays failed, with its reason.
   */
  private async check(ids: string[], resubmitted = false): Promise<void> {
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const job = await Job.fromId<AnalysisJobData, Analysis>(this.queue, id);
        const outcome = await jobOutcome(job, id);
        if (resubmitted && job && outcome.state === 'failed' && !job.data.error?.permanent) {
          await job.retry('failed').catch(() => {}); // retried by someone else first: fine
          return { id, state: 'pending' } as const;
        }
        return outcome;
      }),
    );
    for (const outcome of outcomes) {
      if (outcome.state === 'pending') continue;
      const files = this.pending.get(outcome.id);
      if (!files || !this.pending.delete(outcome.id)) continue; // not ours, or already reported
      for (const file of files) this.onOutcome({ file, ...outcome });
    }
    if (this.pending.size === 0) this.idle?.();
  }

  /** Looks at a slice of the pending jobs, round-robin: the safety net under the events. */
  private async sweep(): Promise<void> {
    if (this.sweepOrder.length === 0) this.sweepOrder = [...this.pending.keys()];
    const slice = this.sweepOrder.splice(0, SWEEP_BATCH).filter((id) => this.pending.has(id));
    await this.check(slice).catch(() => {}); // Redis away: the next sweep tries again
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.events?.close();
    await this.queue.close();
    for (const client of [this.redis, this.eventsRedis])
      await client?.quit().catch(() => client.disconnect());
  }
}

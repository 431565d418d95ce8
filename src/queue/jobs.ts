/**
 * What travels through the queue. A job is one image; its id is the SHA-256 of the image bytes,
 * so the same image submitted twice (or under two names) is one job, analysed once, and its
 * result is stored once: on the job itself, as BullMQ's return value. That keyed store is what
 * makes at-least-once delivery safe: a job run twice still completes once, with one result.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Job, JobsOptions } from 'bullmq';
import { loadImage } from '../image/load.js';
import { ImageError } from '../image/types.js';
import type { Analysis } from '../pipeline/index.js';

export const JOB_NAME = 'analyze';

export interface AnalysisJobData {
  /** The name the submitter gave the image, for output rows. */
  file: string;
  /** Where a worker reads the image: a path on storage every worker mounts at the same place. */
  path?: string;
  /** Or the encoded image itself (base64), for small images; dropped once the job completes. */
  image?: string;
  /** Set by the worker when an attempt failed: the error's code and whether retrying can help. */
  error?: { code: string; permanent: boolean };
}

/** One job's final outcome, as the submitter and `--wait` report it. */
export type JobOutcome =
  | { id: string; state: 'completed'; analysis: Analysis }
  | { id: string; state: 'failed'; error: { code: string; message: string } }
  | { id: string; state: 'pending' };

export interface RetryOptions {
  /** Attempts in all for a transient failure (a bad image is never retried). */
  attempts: number;
  /** Delay before the first retry in ms; each next one waits twice as long. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, backoffMs: 1000 };

/** `sha256-<hex>`: BullMQ refuses integer-looking ids and ':', this is neither. */
export function imageJobId(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('hex')}`;
}

export function jobOptions(id: string, retry: RetryOptions): JobsOptions {
  return { jobId: id, attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoffMs } };
}

/**
 * The bytes of an image file, or an `ImageError` with the one-line reason `facemtl analyze` gives
 * for a file it cannot read (no such file, a directory, a FIFO…): the loader's own words.
 */
export async function readImageBytes(path: string): Promise<Uint8Array> {
  const info = await stat(path).catch(() => null);
  if (info?.isFile()) {
    try {
      return await readFile(path);
    } catch {
      // fall through: the loader says why
    }
  }
  await loadImage(path); // throws the loader's reason for this path
  throw new ImageError('unreadable', `${path}: cannot be read`);
}

/** The final outcome of a job as stored in Redis, or `pending` while it may still run. */
export async function jobOutcome(
  job: Job<AnalysisJobData, Analysis> | undefined,
  id: string,
): Promise<JobOutcome> {
  if (!job) {
    return {
      id,
      state: 'failed',
      error: { code: 'removed', message: 'the job was removed from the queue before its result was read' },
    };
  }
  const state = await job.getState();
  if (state === 'completed') return { id, state, analysis: job.returnvalue };
  if (state === 'failed') {
    const code = job.data.error?.code ?? 'error';
    return { id, state, error: { code, message: job.failedReason || 'failed' } };
  }
  return { id, state: 'pending' };
}

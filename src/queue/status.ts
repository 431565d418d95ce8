/**
 * `queueStatus`: how far a queue is — jobs by state, the workers connected, the completion rate
 * over the last minute and the time left at that rate. The rate is read from BullMQ's completed
 * set (a sorted set by finish time), so it costs two Redis calls however many jobs there are.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis, DEFAULT_QUEUE } from './connection.js';

export interface QueueStatus {
  queue: string;
  waiting: number;
  active: number;
  /** Waiting for a retry (backoff) or a delay. */
  delayed: number;
  completed: number;
  failed: number;
  /** Workers connected to the queue now. */
  workers: number;
  /** Jobs completed per second over the last `windowSeconds` (or since the first of them). */
  rate: number;
  windowSeconds: number;
  /** Seconds until waiting + active + delayed are done at `rate`; null when idle or unknown. */
  etaSeconds: number | null;
}

export async function queueStatus(
  redisUrl: string,
  queueName = DEFAULT_QUEUE,
  windowSeconds = 60,
): Promise<QueueStatus> {
  const redis = await connectRedis(redisUrl);
  const queue = new Queue(queueName, { connection: redis });
  try {
    const [counts, workers, rate] = await Promise.all([
      queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
      queue.getWorkersCount(),
      completionRate(redis, queue.toKey('completed'), windowSeconds),
    ]);
    const left = counts.waiting + counts.prioritized + counts.active + counts.delayed;
    return {
      queue: queueName,
      waiting: counts.waiting + counts.prioritized,
      active: counts.active,
      delayed: counts.delayed,
      completed: counts.completed,
      failed: counts.failed,
      workers,
      rate,
      windowSeconds,
      etaSeconds: left === 0 ? 0 : rate > 0 ? left / rate : null,
    };
  } finally {
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Completions per second in the last `windowSeconds`, measured on Redis' clock. */
async function completionRate(redis: Redis, completedKey: string, windowSeconds: number): Promise<number> {
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const since = now - windowSeconds * 1000;
  const [count, first] = await Promise.all([
    redis.zcount(completedKey, `(${since}`, '+inf'),
    redis.zrangebyscore(completedKey, `(${since}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
  ]);
  if (count < 2) return 0;
  // A run that started inside the window: measure from its first completion, not the window's start.
  const elapsed = (now - Number(first[1])) / 1000;
  return elapsed > 0 ? count / elapsed : 0;
}

/** `1h 02m`, `3m 05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatStatus(status: QueueStatus): string {
  const eta =
    status.etaSeconds === 0
      ? 'nothing left'
      : status.etaSeconds === null
        ? 'ETA unknown'
        : `ETA ${formatDuration(status.etaSeconds)}`;
  return (
    `queue ${status.queue}: ${status.waiting} waiting, ${status.active} active, ${status.delayed} delayed (retry), ` +
    `${status.completed} done, ${status.failed} failed; ${status.workers} worker${status.workers === 1 ? '' : 's'}; ` +
    `${status.rate.toFixed(1)} images/s over the last ${status.windowSeconds} s; ${eta}`
  );
}

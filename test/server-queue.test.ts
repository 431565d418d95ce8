/**
 * The server's admission queue on its own: places are taken before a body is read and held until
 * both the request and its job are done; a job past its deadline keeps its slot.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InferenceQueue, QueueTimeoutError } from '../src/server/queue.js';

/** A job that ends when `finish()` is called. */
function controllable() {
  let finish: (value: string) => void = () => {};
  const job = vi.fn((signal: AbortSignal) => {
    void signal;
    return new Promise<string>((resolve) => (finish = resolve));
  });
  return { job, finish: (value = 'done') => finish(value) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('InferenceQueue', () => {
  it('admits at most maxConcurrent + maxQueued requests, uploads included', () => {
    const queue = new InferenceQueue({ maxConcurrent: 2, maxQueued: 1 });
    const places = [queue.admit(), queue.admit(), queue.admit()];
    expect(places.every(Boolean)).toBe(true);
    expect(queue.uploading).toBe(3);
    expect(queue.admit()).toBeNull();
    places[0]!.release();
    places[0]!.release(); // idempotent: frees one place only
    expect(queue.admit()).not.toBeNull();
    expect(queue.admit()).toBeNull();
  });

  it('runs at most maxConcurrent jobs, the others wait in order', async () => {
    const queue = new InferenceQueue({ maxConcurrent: 1, maxQueued: 2 });
    const first = controllable();
    const second = controllable();
    const a = queue.admit()!;
    const b = queue.admit()!;
    const ranA = a.run(first.job, 10_000);
    const ranB = b.run(second.job, 10_000);
    expect(queue.active).toBe(1);
    expect(queue.queued).toBe(1);
    expect(second.job).not.toHaveBeenCalled();
    first.finish('a');
    expect(await ranA).toBe('a');
    await vi.waitFor(() => expect(second.job).toHaveBeenCalledOnce());
    second.finish('b');
    expect(await ranB).toBe('b');
    a.release();
    b.release();
    await queue.onIdle();
  });

  it('keeps the slot and the place of a job past its deadline until it really ends', async () => {
    vi.useFakeTimers();
    const queue = new InferenceQueue({ maxConcurrent: 1, maxQueued: 0 });
    const slow = controllable();
    const place = queue.admit()!;
    const ran = place.run(slow.job, 1000);
    const rejected = expect(ran).rejects.toMatchObject({ phase: 'running' });
    await vi.advanceTimersByTimeAsync(1001);
    await rejected;
    expect(slow.job.mock.calls[0][0].aborted).toBe(true); // the job was told
    place.release(); // the caller answered 504
    expect(queue.active).toBe(1);
    expect(queue.overdue).toBe(1);
    expect(queue.admit()).toBeNull();
    // Expected wait: the overdue job is assumed to run as long again (about 1 s so far).
    await vi.advanceTimersByTimeAsync(1000);
    expect(queue.expectedWaitMs(100)).toBeGreaterThanOrEqual(2000);

    slow.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.active).toBe(0);
    expect(queue.admit()).not.toBeNull();
  });

  it('drops a job still waiting at its deadline, and one whose request went away', async () => {
    vi.useFakeTimers();
    const queue = new InferenceQueue({ maxConcurrent: 1, maxQueued: 2 });
    const running = controllable();
    const waiting = controllable();
    const gone = controllable();
    const [a, b, c] = [queue.admit()!, queue.admit()!, queue.admit()!];
    void a.run(running.job, 10_000);
    const late = b.run(waiting.job, 500);
    void c.run(gone.job, 10_000);
    const rejected = expect(late).rejects.toBeInstanceOf(QueueTimeoutError);
    await vi.advanceTimersByTimeAsync(501);
    await rejected;
    c.release(); // the client hung up while waiting
    expect(queue.queued).toBe(0);
    running.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.job).not.toHaveBeenCalled();
    expect(gone.job).not.toHaveBeenCalled();
    a.release();
    b.release();
    await queue.onIdle();
  });

  it('estimates the wait from the running jobs and the requests ahead', () => {
    const queue = new InferenceQueue({ maxConcurrent: 2, maxQueued: 4 });
    expect(queue.expectedWaitMs(1000)).toBe(0);
    for (let i = 0; i < 4; i++) queue.admit(); // four uploads ahead, both slots free
    // Two slots: the four take two rounds of one average each.
    expect(queue.expectedWaitMs(1000)).toBe(2000);
  });
});

/**
 * A bounded inference queue: at most `maxConcurrent` jobs run, at most `maxQueued` wait, and anything
 * beyond is refused at once (the caller answers 503 + Retry-After). Memory therefore stays bounded
 * however many clients push: a refused request holds no decoded image and no queue slot.
 *
 * Each job has a deadline covering its wait and its run. A job still waiting at its deadline is
 * dropped from the queue. A running job cannot be interrupted (ONNX Runtime has no cancel), so at
 * its deadline the caller is answered and the job keeps its slot until it really ends — the number
 * of inferences in flight never exceeds `maxConcurrent`.
 */

export interface QueueLimits {
  /** Jobs that may run at the same time. */
  maxConcurrent: number;
  /** Jobs that may wait for a slot; 0 = refuse whenever all slots are busy. */
  maxQueued: number;
}

/** All slots busy and the waiting line is full. */
export class QueueFullError extends Error {
  constructor() {
    super('server busy: too many images being analysed, retry later');
    this.name = 'QueueFullError';
  }
}

/** The deadline passed while waiting (`queued`) or while running (`running`). */
export class QueueTimeoutError extends Error {
  constructor(readonly phase: 'queued' | 'running') {
    super(
      phase === 'queued'
        ? 'server busy: the image waited too long for a free slot, retry later'
        : 'analysis took longer than the request timeout',
    );
    this.name = 'QueueTimeoutError';
  }
}

interface Waiter {
  start: () => void;
  cancel: (error: Error) => void;
}

export class InferenceQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(readonly limits: QueueLimits) {
    if (!(limits.maxConcurrent >= 1)) throw new RangeError('maxConcurrent must be at least 1');
    if (!(limits.maxQueued >= 0)) throw new RangeError('maxQueued must be 0 or more');
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Jobs waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `job` when a slot is free. Rejects with QueueFullError at once when the queue is full, and
   * with QueueTimeoutError when `timeoutMs` passes first.
   */
  run<T>(job: () => Promise<T>, timeoutMs: number): Promise<T> {
    if (this.running >= this.limits.maxConcurrent && this.waiting.length >= this.limits.maxQueued) {
      return Promise.reject(new QueueFullError());
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };

      const waiter: Waiter = {
        start: () => {
          this.running++;
          let promise: Promise<T>;
          try {
            promise = job();
          } catch (error) {
            promise = Promise.reject(error);
          }
          promise
            .then(
              (value) => settle(() => resolve(value)),
              (error: unknown) => settle(() => reject(error)),
            )
            .finally(() => this.release());
        },
        cancel: (error) => settle(() => reject(error)),
      };

      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) {
          this.waiting.splice(index, 1);
          waiter.cancel(new QueueTimeoutError('queued'));
          this.notifyIfIdle();
        } else {
          waiter.cancel(new QueueTimeoutError('running'));
        }
      }, timeoutMs);

      if (this.running < this.limits.maxConcurrent) waiter.start();
      else this.waiting.push(waiter);
    });
  }

  /** Resolves once nothing runs and nothing waits (used by graceful shutdown). */
  onIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next.start();
    else this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.running > 0 || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

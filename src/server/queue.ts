/**
 * Admission and scheduling of analyses. A request is admitted *before its body is read*, and holds
 * its place while its body arrives, while it waits and while its analysis runs. At most
 * `maxConcurrent + maxQueued` requests are admitted; beyond that the caller answers 503 +
 * Retry-After without reading a byte of the body, so at most that many bodies are ever in memory.
 *
 * At most `maxConcurrent` analyses run. Each has a deadline covering its wait and its run; a job
 * still waiting at its deadline is dropped. A running job cannot be interrupted from here (ONNX
 * Runtime has no cancel; the job gets an AbortSignal it may honour), so at its deadline the caller
 * is answered and the job keeps its slot and its admission until it really ends: the limits on
 * parallel analyses and on bodies in memory always hold, and Retry-After counts such overdue jobs.
 *
 * Hand-written on purpose (issue 13): p-queue frees a slot when a job's timeout fires although the
 * job goes on running, and has neither a bounded line nor admission before the upload;
 * @fastify/under-pressure sheds load from event-loop and heap measurements, not from queued work.
 */

export interface QueueLimits {
  /** Jobs that may run at the same time. */
  maxConcurrent: number;
  /** Admitted requests beyond the running ones (uploading or waiting); 0 = only as many as slots. */
  maxQueued: number;
}

/** The deadline passed while waiting (`queued`) or while running (`running`). */
export class QueueTimeoutError extends Error {
  constructor(readonly phase: 'queued' | 'running') {
    super(
      phase === 'queued'
        ? 'server busy: the image waited too long for a free slot, retry later'
        : 'the analysis took longer than the request timeout',
    );
    this.name = 'QueueTimeoutError';
  }
}

/** One admitted request's place. */
export interface Admission {
  /**
   * Runs `job` when a slot is free; rejects with QueueTimeoutError when `timeoutMs` passes first
   * (the job's signal aborts then too). Once per admission.
   */
  run<T>(job: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T>;
  /** The request is answered or gone. The place is freed now, or when its job ends. Idempotent. */
  release(): void;
}

interface Job {
  started: number;
  deadline: number;
}

class Place implements Admission {
  state: 'admitted' | 'waiting' | 'running' | 'done' = 'admitted';
  requestOpen = true;
  job: Job | null = null;
  start: () => void = () => {};

  constructor(private readonly queue: InferenceQueue) {}

  run<T>(job: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
    if (this.state !== 'admitted') return Promise.reject(new Error('an admission runs one job'));
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const deadline = performance.now() + timeoutMs;

      this.start = () => {
        this.state = 'running';
        this.job = { started: performance.now(), deadline };
        let promise: Promise<T>;
        try {
          promise = job(controller.signal);
        } catch (error) {
          promise = Promise.reject(error);
        }
        promise
          .then(
            (value) => settle(() => resolve(value)),
            (error: unknown) => settle(() => reject(error)),
          )
          .finally(() => this.queue.jobEnded(this));
      };

      const timer = setTimeout(() => {
        const error = new QueueTimeoutError(this.state === 'running' ? 'running' : 'queued');
        if (this.state === 'waiting') this.queue.dropWaiting(this);
        settle(() => reject(error));
        controller.abort(error);
      }, timeoutMs);

      this.queue.enqueue(this);
    });
  }

  release(): void {
    if (!this.requestOpen) return;
    this.requestOpen = false;
    if (this.state !== 'running') this.queue.free(this);
  }
}

export class InferenceQueue {
  /** Admitted places not freed yet: uploading, waiting, running (overdue ones included). */
  private readonly places = new Set<Place>();
  private readonly waiting: Place[] = [];
  private readonly running = new Set<Place>();
  private idleWaiters: (() => void)[] = [];

  constructor(readonly limits: QueueLimits) {
    if (!(limits.maxConcurrent >= 1)) throw new RangeError('maxConcurrent must be at least 1');
    if (!(limits.maxQueued >= 0)) throw new RangeError('maxQueued must be 0 or more');
  }

  /** Requests that may hold a place at once. */
  get capacity(): number {
    return this.limits.maxConcurrent + this.limits.maxQueued;
  }

  /** Jobs running now (including overdue ones whose caller was already answered). */
  get active(): number {
    return this.running.size;
  }

  /** Jobs waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Admitted requests that have not asked for a slot yet (their body is still arriving). */
  get uploading(): number {
    let count = 0;
    for (const place of this.places) if (place.state === 'admitted') count++;
    return count;
  }

  /** Running jobs past their deadline. */
  get overdue(): number {
    const now = performance.now();
    let count = 0;
    for (const place of this.running) if (place.job && now > place.job.deadline) count++;
    return count;
  }

  /** A place for one more request, or null when all are taken (answer 503 before reading its body). */
  admit(): Admission | null {
    if (this.places.size >= this.capacity) return null;
    const place = new Place(this);
    this.places.add(place);
    return place;
  }

  /**
   * Milliseconds until a request admitted now could start, given the recent average analysis time:
   * each slot frees when its job is expected to end (an overdue job is assumed to run as long
   * again), then the requests ahead take one average each.
   */
  expectedWaitMs(averageMs: number): number {
    const now = performance.now();
    const slots = [...this.running].map(({ job }) => {
      const elapsed = job ? now - job.started : 0;
      return job && now > job.deadline ? elapsed : Math.max(0, averageMs - elapsed);
    });
    while (slots.length < this.limits.maxConcurrent) slots.push(0);
    const ahead = this.places.size - this.running.size;
    for (let i = 0; i < ahead; i++) {
      slots.sort((a, b) => a - b);
      slots[0] += averageMs;
    }
    return Math.min(...slots);
  }

  /** Resolves once no place is held (used by graceful shutdown). */
  onIdle(): Promise<void> {
    if (this.places.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** @internal */ enqueue(place: Place): void {
    if (this.running.size < this.limits.maxConcurrent) this.startJob(place);
    else {
      place.state = 'waiting';
      this.waiting.push(place);
    }
  }

  /** @internal */ dropWaiting(place: Place): void {
    const index = this.waiting.indexOf(place);
    if (index >= 0) this.waiting.splice(index, 1);
    place.state = 'admitted';
  }

  /** @internal */ jobEnded(place: Place): void {
    this.running.delete(place);
    place.state = 'done';
    place.job = null;
    if (!place.requestOpen) this.free(place);
    const next = this.waiting.shift();
    if (next) this.startJob(next);
    else this.notifyIfIdle();
  }

  /** @internal */ free(place: Place): void {
    if (place.state === 'waiting') this.dropWaiting(place);
    place.state = 'done';
    this.places.delete(place);
    this.notifyIfIdle();
  }

  private startJob(place: Place): void {
    this.running.add(place);
    place.start();
  }

  private notifyIfIdle(): void {
    if (this.places.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

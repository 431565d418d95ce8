/**
 * The server's Prometheus metrics, with prom-client: request counts and latency, faces, errors,
 * the queue, and prom-client's default process metrics (CPU, resident memory, heap, event-loop
 * lag, GC). One registry per app, so several servers in one process (tests) do not mix counts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueGauges {
  readonly active: number;
  readonly queued: number;
  readonly uploading: number;
  readonly overdue: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'facemtl_http_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'facemtl_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly faces = new Counter({
    name: 'facemtl_faces_total',
    help: 'Faces found in analysed images.',
    registers: [this.registry],
  });
  readonly images = new Counter({
    name: 'facemtl_images_analyzed_total',
    help: 'Images analysed successfully.',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'facemtl_errors_total',
    help: 'Requests answered with an error, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor(queue: QueueGauges) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('facemtl_inferences_active', 'Analyses running now (overdue ones included).', () => queue.active);
    gauge('facemtl_inferences_queued', 'Analyses waiting for a free slot.', () => queue.queued);
    gauge('facemtl_uploads_active', 'Admitted requests whose body is still arriving.', () => queue.uploading);
    gauge(
      'facemtl_inferences_overdue',
      'Analyses still running past their deadline (their caller got 504).',
      () => queue.overdue,
    );
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

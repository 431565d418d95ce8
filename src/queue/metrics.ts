/**
 * Prometheus metrics of one worker process, on its own registry (prom-client): what it did
 * (jobs by outcome, faces, time per job), what it holds (active jobs, memory, event-loop lag from
 * the default process metrics) and, read at scrape time, the queue it serves (jobs by state), so
 * a dashboard or an autoscaler needs nothing but the workers' /metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type JobOutcomeLabel = 'completed' | 'failed' | 'retried';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'outcome'>;
  readonly faces: Counter;
  readonly duration: Histogram<'outcome'>;
  readonly active: Gauge;

  /**
   * @param labels added to every series (queue name, worker name)
   * @param queueCounts read at scrape time: jobs in the queue by state
   */
  constructor(labels: Record<string, string>, queueCounts: () => Promise<Record<string, number>>) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'facemtl_worker_jobs_total',
      help: 'Job attempts finished by this worker, by outcome (retried: failed, will run again).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['completed', 'failed', 'retried'] as const) this.jobs.inc({ outcome }, 0);
    this.faces = new Counter({ name: 'facemtl_worker_faces_total', help: 'Faces found.', registers });
    this.duration = new Histogram({
      name: 'facemtl_worker_job_duration_seconds',
      help: 'Time per job attempt in this worker (read, decode, detect, attributes), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.active = new Gauge({ name: 'facemtl_worker_jobs_active', help: 'Jobs running now.', registers });
    new Gauge({
      name: 'facemtl_queue_jobs',
      help: 'Jobs in the queue by state, read from Redis when scraped.',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await queueCounts().catch(() => null); // Redis away: leave the gauge as it was
        if (counts) for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
  }

  /** Serves `GET /metrics` (and `GET /healthz`) on `host:port`; port 0 = any free port. */
  async listen(host: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
    const server: Server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' || (path !== '/metrics' && path !== '/healthz')) {
        response.writeHead(404).end('not found\n');
        return;
      }
      if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(`${String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const { port: bound } = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${shownHost}:${bound}/metrics`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
}

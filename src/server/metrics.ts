/**
 * The few Prometheus metrics the server exposes, in the text exposition format (version 0.0.4).
 * Hand-written because we need only counters, one histogram and gauges: no dependency for that.
 */

type Labels = Readonly<Record<string, string>>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',')}}`;
}

interface Metric {
  render(): string[];
}

/** A monotonically increasing count, one series per distinct label set. */
export class Counter implements Metric {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = formatLabels(labels);
    const entry = this.series.get(key);
    if (entry) entry.value += by;
    else this.series.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.series.get(formatLabels(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.series.values())
      lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines;
  }
}

/** A value read when scraped (queue length, memory…). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`];
  }
}

/** Cumulative histogram with fixed upper bounds, one series per distinct label set. */
export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = formatLabels(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound) entry.counts[i]++;
    });
    entry.sum += value;
    entry.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${counts[i]}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${sum}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
    return lines;
  }
}

/** The server's metrics, rendered together for `GET /metrics`. */
export class ServerMetrics {
  readonly requests = new Counter('facemtl_http_requests_total', 'HTTP requests by route and status code.');
  readonly latency = new Histogram(
    'facemtl_http_request_duration_seconds',
    'HTTP request latency in seconds, by route.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly faces = new Counter('facemtl_faces_total', 'Faces found in analysed images.');
  readonly images = new Counter('facemtl_images_analyzed_total', 'Images analysed successfully.');
  readonly errors = new Counter('facemtl_errors_total', 'Requests answered with an error, by error code.');
  private readonly gauges: Gauge[];

  constructor(queue: { readonly active: number; readonly queued: number }) {
    this.gauges = [
      new Gauge('facemtl_inferences_active', 'Analyses running now.', () => queue.active),
      new Gauge('facemtl_inferences_queued', 'Analyses waiting for a free slot.', () => queue.queued),
      new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () =>
        process.memoryUsage.rss(),
      ),
    ];
  }

  render(): string {
    const metrics: Metric[] = [
      this.requests,
      this.latency,
      this.faces,
      this.images,
      this.errors,
      ...this.gauges,
    ];
    return metrics.flatMap((metric) => metric.render()).join('\n') + '\n';
  }
}

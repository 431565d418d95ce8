/**
 * `facemtl worker --redis URL`: analyses the images of a BullMQ queue until stopped. Run one per
 * machine (or several, with `--threads` dividing the cores), all against the same Redis.
 * SIGINT/SIGTERM: take no new job, finish the running ones, exit 0; a second signal exits at once
 * (the running jobs then go back to the queue when their lock expires).
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS } from '../image/load.js';
import { DEFAULT_QUEUE, describeRedis } from '../queue/connection.js';
import { AnalysisWorker, type JobEvent } from '../queue/worker.js';
import { DETECTORS } from '../detect/detector.js';
import { addModelOptions, choice, DETECTOR_HELP, integer } from './options.js';

interface WorkerFlags {
  redis: string;
  queue: string;
  concurrency: number;
  name?: string;
  lockDuration: number;
  metricsPort?: number;
  metricsHost: string;
  log: boolean;
  model?: string;
  precision: 'int8' | 'fp32';
  threads?: number;
  detector: 'front' | 'back' | 'auto';
  maxPixels: number;
}

export function register(program: Command): void {
  addModelOptions(program.command('worker'))
    .description('analyse the images queued by `facemtl submit` (BullMQ on Redis; see docs/scale.md)')
    .requiredOption('--redis <url>', 'Redis to take jobs from, e.g. redis://10.0.0.5:6379')
    .option('--queue <name>', 'queue name: one queue per analysis configuration', DEFAULT_QUEUE)
    .option('--concurrency <n>', 'jobs run at the same time in this process', integer('--concurrency', 1), 1)
    .option('--name <name>', 'worker name in metrics and BullMQ’s worker list (default host:pid)')
    .option(
      '--lock-duration <ms>',
      'a job whose worker stopped answering runs elsewhere after this long',
      integer('--lock-duration', 1000),
      30_000,
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics on this port (0 = any free port)',
      integer('--metrics-port', 0),
    )
    .option('--metrics-host <host>', 'interface for /metrics', '127.0.0.1')
    .option('--log', 'one line per job on stdout', false)
    .option('--detector <detector>', DETECTOR_HELP, choice(DETECTORS), 'auto')
    .option(
      '--max-pixels <n>',
      'refuse images larger than N pixels (checked before decoding)',
      integer('--max-pixels', 1),
      DEFAULT_MAX_PIXELS,
    )
    .action(async (flags: WorkerFlags) => {
      // libvips' operation cache (up to 50 MB) never hits on a stream of distinct images: off, so
      // that a long-running worker's memory stays flat.
      sharp.cache(false);
      // Concurrent jobs share the cores: by default each gets its share of ONNX Runtime threads.
      const threads = flags.threads ?? Math.max(1, Math.floor(availableParallelism() / flags.concurrency));
      const worker = await AnalysisWorker.start(
        {
          redisUrl: flags.redis,
          queue: flags.queue,
          concurrency: flags.concurrency,
          name: flags.name,
          lockDurationMs: flags.lockDuration,
          analyzer: {
            modelPath: flags.model,
            precision: flags.precision,
            threads,
            detector: flags.detector,
            maxPixels: flags.maxPixels,
          },
        },
        (event) => logJob(event, flags.log),
      );
      const metrics =
        flags.metricsPort === undefined
          ? undefined
          : await worker.metrics.listen(flags.metricsHost, flags.metricsPort);
      console.log(
        `facemtl worker ${worker.name}: queue ${worker.queueName} on ${describeRedis(flags.redis)}, ` +
          `concurrency ${flags.concurrency}, ${threads} thread${threads === 1 ? '' : 's'}` +
          (metrics ? `, metrics on ${metrics.url}` : ''),
      );

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(130); // second signal: do not wait any longer
        stopping = true;
        console.log(`facemtl worker: ${signal} received, finishing ${worker.active} running job(s)…`);
        worker
          .close()
          .then(() => metrics?.close())
          .then(
            () => {
              console.log('facemtl worker: stopped');
              process.exit(0);
            },
            (error: unknown) => {
              console.error(`facemtl: ${error instanceof Error ? error.message : String(error)}`);
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

/** Failures always (stderr, one line each); every job with `--log`. */
function logJob({ job, outcome, seconds, faces, message }: JobEvent, all: boolean): void {
  const where = `${job.data.file} (${job.id})`;
  const ms = `${Math.round(seconds * 1000)} ms`;
  if (outcome === 'completed') {
    if (all) console.log(`completed ${where}: ${faces} face${faces === 1 ? '' : 's'}, ${ms}`);
  } else if (outcome === 'retried') {
    console.error(
      `facemtl worker: attempt ${job.attemptsMade + 1} of ${where} failed, will retry: ${message}`,
    );
  } else {
    console.error(`facemtl worker: failed ${where}: ${message}`);
  }
}

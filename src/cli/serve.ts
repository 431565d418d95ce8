/**
 * `facemtl serve`: the HTTP API (and the browser demo when built) on loopback by default.
 * SIGINT/SIGTERM stop accepting requests, let those in flight finish, then exit; a second signal
 * exits at once.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_SERVER_OPTIONS, startServer } from '../server/index.js';
import { DETECTORS } from '../detect/detector.js';
import { addModelOptions, choice, DETECTOR_HELP, integer } from './options.js';

/** Accepts `10485760`, `10mb`, `512kb`. */
export function byteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a size such as 10mb, 512kb or 1048576');
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1) throw new InvalidArgumentError('size must be at least 1 byte');
  return bytes;
}

interface ServeFlags {
  host: string;
  port: number;
  maxBody: number;
  maxPixels: number;
  concurrency: number;
  queue: number;
  timeout: number;
  maxConnections: number;
  web: string | undefined;
  log: boolean;
  model: string | undefined;
  precision: 'int8' | 'fp32';
  detector: 'front' | 'back' | 'auto';
  threads: number | undefined;
}

export function register(program: Command): void {
  const defaults = DEFAULT_SERVER_OPTIONS;
  addModelOptions(program.command('serve'))
    .description('serve the HTTP API (POST /v1/analyze) and the browser demo')
    .option('--host <host>', 'interface to listen on', defaults.host)
    .option('--port <port>', 'TCP port (0 = any free port)', integer('--port', 0), defaults.port)
    .option('--max-body <size>', 'largest request body / upload, e.g. 10mb', byteSize, defaults.maxBodyBytes)
    .option(
      '--max-pixels <n>',
      'largest image in pixels (checked before decoding)',
      integer('--max-pixels', 1),
      defaults.maxPixels,
    )
    .option(
      '--concurrency <n>',
      'analyses run at the same time',
      integer('--concurrency', 1),
      defaults.maxConcurrent,
    )
    .option(
      '--queue <n>',
      'requests that may wait (uploading or queued); beyond that: 503 + Retry-After',
      integer('--queue', 0),
      defaults.maxQueued,
    )
    .option(
      '--timeout <ms>',
      'request timeout in ms: headers and body within it (else 408), the answer within it (503/504)',
      integer('--timeout', 1),
      defaults.timeoutMs,
    )
    .option(
      '--max-connections <n>',
      'open connections (idle and slow ones included); more are closed at once',
      integer('--max-connections', 1),
      defaults.maxConnections,
    )
    .option('--web <dir>', 'built browser demo to serve at / (default: web/dist when built)')
    .option('--log', 'log one line per request (never the image)', false)
    .option('--detector <detector>', DETECTOR_HELP, choice(DETECTORS), 'auto')
    .action(async (flags: ServeFlags) => {
      const server = await startServer({
        host: flags.host,
        port: flags.port,
        maxBodyBytes: flags.maxBody,
        maxPixels: flags.maxPixels,
        maxConcurrent: flags.concurrency,
        maxQueued: flags.queue,
        timeoutMs: flags.timeout,
        maxConnections: flags.maxConnections,
        webRoot: flags.web,
        logRequests: flags.log,
        analyzerOptions: {
          modelPath: flags.model,
          precision: flags.precision,
          detector: flags.detector,
          threads: flags.threads,
        },
      });
      console.log(
        `facemtl serve: listening on ${server.url} (POST /v1/analyze, GET /healthz /metrics /openapi.json)`,
      );

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(130); // second signal: do not wait any longer
        stopping = true;
        console.log(`facemtl serve: ${signal} received, finishing in-flight requests…`);
        server.close().then(
          () => process.exit(0),
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

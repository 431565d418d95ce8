/**
 * `facemtl submit --redis URL <files|folders…>`: queues images for `facemtl worker`s. Each image's
 * job id is its content hash, so an image already queued (or done) is not analysed again. With
 * `--wait`, prints each file's result as it completes — JSON lines (the library's JSON, with
 * `file` and `id`) or CSV (the columns of `facemtl analyze --csv`) — and exits 1 when any failed.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_QUEUE } from '../queue/connection.js';
import { DEFAULT_RETRY } from '../queue/jobs.js';
import { DEFAULT_INLINE_MAX_BYTES, Submitter, type FileOutcome } from '../queue/submit.js';
import { CSV_HEADER, csvRows, errorResult, expandInputs, type FileResult } from './analyze.js';
import { integer } from './options.js';
import { Progress } from './progress.js';
import { byteSize } from './serve.js';

interface SubmitFlags {
  redis: string;
  queue: string;
  wait: boolean;
  csv: boolean;
  inline: number | false;
  attempts: number;
  backoff: number;
  progress: boolean;
}

export function register(program: Command): void {
  program
    .command('submit')
    .description('queue images for `facemtl worker`s (BullMQ on Redis; see docs/scale.md)')
    .argument('<inputs...>', 'image files and/or folders (searched recursively for images)')
    .requiredOption('--redis <url>', 'Redis of the workers, e.g. redis://10.0.0.5:6379')
    .option('--queue <name>', 'queue name: one queue per analysis configuration', DEFAULT_QUEUE)
    .option('--wait', 'wait for the results and print them as they complete (JSON lines)', false)
    .option('--csv', 'with --wait: print CSV instead, one row per face (as `analyze --csv`)', false)
    .option(
      '--inline <size>',
      'images up to this size travel inside the job; larger ones as their absolute path, which workers must see',
      byteSize,
      DEFAULT_INLINE_MAX_BYTES,
    )
    .option('--no-inline', 'send every image as its path (storage shared by all workers)')
    .option(
      '--attempts <n>',
      'attempts for transient failures (bad images never retry)',
      integer('--attempts', 1),
      DEFAULT_RETRY.attempts,
    )
    .option(
      '--backoff <ms>',
      'delay before the first retry; doubles each time',
      integer('--backoff', 0),
      DEFAULT_RETRY.backoffMs,
    )
    .option('--no-progress', 'no progress line on stderr (it only shows on a terminal anyway)')
    .action(async (inputs: string[], flags: SubmitFlags) => {
      if (flags.csv && !flags.wait) throw new InvalidArgumentError('--csv needs --wait');
      process.exitCode = await runSubmit(inputs, flags);
    });
}

async function runSubmit(inputs: string[], flags: SubmitFlags): Promise<number> {
  const candidates = await expandInputs(inputs);
  if (candidates.length === 0) throw new InvalidArgumentError('no image files found in the given folders');
  const progress = new Progress({
    label: flags.wait ? 'submit --wait' : 'submit',
    total: candidates.length,
    unit: 'images',
    enabled: flags.progress && candidates.length > 1,
  });
  let failed = 0;
  let reported = 0; // files with an outcome, for --wait's progress
  const report = (outcome: FileOutcome) => {
    const result: FileResult =
      outcome.state === 'completed'
        ? { file: outcome.file, ...outcome.analysis }
        : errorResult(outcome.file, outcome.error.code, outcome.error.message);
    progress.clear();
    if ('error' in result) {
      failed++;
      console.error(`facemtl: ${result.error.message}`);
    }
    if (flags.csv) process.stdout.write(csvRows(result).join('\n') + '\n');
    else if (flags.wait) process.stdout.write(JSON.stringify({ ...result, id: outcome.id }) + '\n');
    if (flags.wait) progress.update(++reported, failed ? `${failed} failed` : '');
  };

  const submitter = await Submitter.open(
    {
      redisUrl: flags.redis,
      queue: flags.queue,
      inlineMaxBytes: flags.inline === false ? 0 : flags.inline,
      retry: { attempts: flags.attempts, backoffMs: flags.backoff },
      wait: flags.wait,
    },
    report,
  );
  try {
    if (flags.csv) process.stdout.write(CSV_HEADER.join(',') + '\n');
    // Entries already found unreadable while searching the folders.
    for (const { file, error } of candidates) if (error) report({ file, state: 'failed', error });
    const files = candidates.filter((candidate) => !candidate.error).map((candidate) => candidate.file);
    const images = await submitter.submit(files, (done) => {
      if (!flags.wait) progress.update(done);
    });
    if (flags.wait) await submitter.allDone();
    progress.done();
    console.error(
      `facemtl submit: ${images} image${images === 1 ? '' : 's'} on queue ${submitter.queueName}` +
        (flags.wait ? `, ${failed} failed` : ' (follow with `facemtl status`)'),
    );
  } finally {
    progress.done();
    await submitter.close();
  }
  return failed > 0 ? 1 : 0;
}

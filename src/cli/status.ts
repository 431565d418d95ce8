/**
 * `facemtl status --redis URL`: a queue's jobs by state, its workers, the completion rate over
 * the last minute and the ETA at that rate; `--json` for scripts.
 */
import type { Command } from 'commander';
import { DEFAULT_QUEUE } from '../queue/connection.js';
import { formatStatus, queueStatus } from '../queue/status.js';
import { integer } from './options.js';

interface StatusFlags {
  redis: string;
  queue: string;
  window: number;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('jobs waiting/active/done/failed, workers, rate and ETA of a `facemtl worker` queue')
    .requiredOption('--redis <url>', 'Redis of the queue, e.g. redis://10.0.0.5:6379')
    .option('--queue <name>', 'queue name', DEFAULT_QUEUE)
    .option('--window <seconds>', 'rate over the last N seconds', integer('--window', 1), 60)
    .option('--json', 'print one JSON object', false)
    .action(async (flags: StatusFlags) => {
      const status = await queueStatus(flags.redis, flags.queue, flags.window);
      console.log(flags.json ? JSON.stringify(status) : formatStatus(status));
    });
}

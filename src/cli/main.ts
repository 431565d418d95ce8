#!/usr/bin/env node
/**
 * `facemtl` command line. Each subcommand lives in its own module and registers itself here.
 * Errors a user can cause are printed as one line (no stack trace). Exit codes, the same for
 * every command: 0 done; 1 done, but some inputs failed (each with its one-line reason);
 * 2 usage error (unknown command or option, bad value) or nothing could be done.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerCommands } from './commands.js';

const EXIT_USAGE = 2;

const program = new Command('facemtl')
  .description('Real-time face analysis: age, gender, ethnicity and emotion with one small multi-task CNN')
  .version('0.1.0')
  .showHelpAfterError()
  // Commander's errors (it has printed them) reject parseAsync instead of exiting with its own
  // code 1; subcommands registered below inherit this.
  .exitOverride();

registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Commander printed its own errors; an InvalidArgumentError thrown by an action was not printed.
  if (error instanceof CommanderError && !(error instanceof InvalidArgumentError)) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE; // 0: --help, --version
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`facemtl: ${message.split('\n')[0]}`);
  process.exitCode = EXIT_USAGE;
});

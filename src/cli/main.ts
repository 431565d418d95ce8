#!/usr/bin/env node
/**
 * `facemtl` command line. Each subcommand lives in its own module and registers itself here.
 * Errors a user can cause are printed as one line (no stack trace) with a non-zero exit code.
 */
import { Command } from 'commander';
import { registerCommands } from './commands.js';

const program = new Command('facemtl')
  .description('Real-time face analysis: age, gender, ethnicity and emotion with one small multi-task CNN')
  .version('0.1.0')
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`facemtl: ${message}`);
  process.exitCode = 2;
});

/**
 * The list of subcommands. Each module exports `register(program)`; add a line per command.
 */
import type { Command } from 'commander';
import { register as registerServe } from './serve.js';
import { register as registerEval } from './eval.js';
import { register as registerBench } from './bench.js';
import { register as registerAnalyze } from './analyze.js';
import { register as registerVideo } from './video.js';
import { register as registerExplain } from './explain.js';
import { register as registerWorker } from './worker.js';
import { register as registerSubmit } from './submit.js';
import { register as registerStatus } from './status.js';

export function registerCommands(program: Command): void {
  registerServe(program);
  registerEval(program);
  registerBench(program);
  registerAnalyze(program);
  registerVideo(program);
  registerExplain(program);
  registerWorker(program);
  registerSubmit(program);
  registerStatus(program);
  void program;
}

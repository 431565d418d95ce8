/**
 * `facemtl bench`: speed and memory of the model, the detector and the whole pipeline on this
 * machine (see bench/README.md). `npm run bench` regenerates bench/README.md with it.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadContract } from '../attributes/contract.js';
import { BENCH_SECTIONS, runBench, type BenchSection } from '../bench/index.js';
import { benchMarkdown } from '../bench/report.js';
import { memoryProbe } from '../bench/sessions.js';
import { Progress } from './progress.js';

interface BenchCliOptions {
  json?: string;
  markdown?: string;
  budget: number;
  only?: BenchSection[];
  models?: string[];
  baselines?: string;
  memory: boolean;
  memoryProbe?: string[];
  threads?: number;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function sections(value: string): BenchSection[] {
  const chosen = list(value);
  const unknown = chosen.filter((section) => !(BENCH_SECTIONS as readonly string[]).includes(section));
  if (unknown.length)
    throw new InvalidArgumentError(`unknown section ${unknown.join(', ')} (${BENCH_SECTIONS.join(', ')})`);
  return chosen as BenchSection[];
}

function milliseconds(value: string): number {
  const number = Number(value);
  if (!(number > 0)) throw new InvalidArgumentError('expected a positive number of milliseconds');
  return number;
}

/** Measures the RSS that loading `files` adds to a fresh process: this CLI run as a child. */
async function probeInChild(files: string[], threads: number): Promise<number | null> {
  const args = [process.argv[1], 'bench', '--memory-probe', files.join(','), '--threads', String(threads)];
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8' });
    const result = JSON.parse(stdout) as { rss_before_mib: number; rss_after_mib: number };
    return result.rss_after_mib - result.rss_before_mib;
  } catch {
    return null;
  }
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure model, detector and pipeline speed and memory on this machine')
    .option('--json <file>', 'write the results as JSON')
    .option('--markdown <file>', 'write the results as markdown (bench/README.md)')
    .option('--budget <ms>', 'time spent timing each cell, after warm-up', milliseconds, 1500)
    .option('--only <sections>', `run only these parts (${BENCH_SECTIONS.join(',')})`, sections)
    .option(
      '--models <files>',
      'compare these ONNX files, run one after another, with the multi-task model',
      list,
    )
    .option(
      '--baselines <dir>',
      'folder of single-{age,gender,ethnicity,emotion}-{fp32,int8}.onnx (default models/baselines)',
    )
    .option('--no-memory', 'skip the per-model-set memory measurement in child processes')
    // internal: the child process of the memory measurement
    .addOption(new Option('--memory-probe <files>').argParser(list).hideHelp())
    .addOption(new Option('--threads <n>').argParser(Number).hideHelp())
    .action(async (options: BenchCliOptions) => {
      if (options.memoryProbe) {
        const threads = options.threads ?? availableParallelism();
        console.log(JSON.stringify(await memoryProbe(options.memoryProbe, threads, loadContract().input)));
        return;
      }
      const command = ['facemtl', ...process.argv.slice(2)].join(' ');
      // Each measured cell logs a line; the progress line below them counts cells and time.
      const progress = new Progress({ label: 'bench', unit: 'cells' });
      const report = await runBench({
        budgetMs: options.budget,
        sections: options.only,
        models: options.models,
        baselinesDir: options.baselines,
        probeMemory: options.memory ? (files) => probeInChild(files, availableParallelism()) : undefined,
        command,
        log: (line) => {
          progress.clear();
          console.error(line);
          progress.tick();
        },
      });
      progress.done();
      const markdown = benchMarkdown(report);
      if (options.json) {
        await mkdir(dirname(options.json), { recursive: true });
        await writeFile(options.json, JSON.stringify(report, null, 2) + '\n');
      }
      if (options.markdown) {
        await mkdir(dirname(options.markdown), { recursive: true });
        await writeFile(options.markdown, markdown);
      }
      if (!options.markdown) console.log(markdown);
      else console.error(`wrote ${[options.markdown, options.json].filter(Boolean).join(', ')}`);
    });
}

/**
 * `facemtl eval <layout> <path>`: score a model on a labelled dataset (see docs/eval.md).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DETECTORS, type DetectorChoice } from '../detect/detector.js';
import { evaluateDataset, FRAMINGS, LAYOUTS, type Framing } from '../eval/index.js';
import { FOLDER_TASKS } from '../eval/layouts/folders.js';
import { formatTable, writeReport } from '../eval/report.js';
import { choice, DETECTOR_HELP, integer } from './options.js';
import { Progress } from './progress.js';

interface EvalCliOptions {
  model?: string;
  precision?: 'int8' | 'fp32';
  detect?: boolean;
  detector?: DetectorChoice;
  flip?: boolean;
  framing?: Framing;
  json?: string;
  report?: string;
  limit?: number;
  batch: number;
  threads?: number;
  labels?: string;
  usage?: string;
  task?: string;
  only?: string;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description(`score a model on a labelled dataset (layouts: ${LAYOUTS.join(', ')}; see docs/eval.md)`)
    .argument('<layout>', LAYOUTS.join(' | '))
    .argument('<path>', 'dataset folder, archive (.tar.gz) or CSV')
    .option('--model <path>', 'ONNX model to score (default: the shipped model of --precision)')
    .option(
      '--precision <precision>',
      'int8 | fp32 (default int8; with --model: from its file name)',
      choice(['int8', 'fp32']),
    )
    .option('--detect', 'find faces with the detector (full pipeline) instead of using the images as crops')
    .option('--detector <detector>', `with --detect (implies it): ${DETECTOR_HELP}`, choice(DETECTORS))
    .option('--flip', 'also run every face mirrored left–right and average the two outputs (2× model time)')
    .option(
      '--framing <framing>',
      `how images become crops: ${FRAMINGS.join(' | ')} (default: the layout's; folders: utkface; detect = --detect)`,
      choice(FRAMINGS),
    )
    .option('--json <file>', 'write the result object as JSON to FILE (- for stdout)')
    .option('--report <dir>', 'write summary.md, report.json and confusion-matrix PNGs to DIR')
    .option('--limit <n>', 'stop after N scored samples', integer('--limit', 1))
    .option('--batch <n>', 'faces per model run', integer('--batch', 1), 32)
    .option('--threads <n>', "ONNX Runtime threads (default: ONNX Runtime's choice)", integer('--threads', 1))
    .option('--labels <file>', 'ferplus: original FER2013 labels CSV (Usage,Image name,emotion,emotion_name)')
    .option(
      '--usage <usage>',
      'fer2013-csv: only rows of this Usage (Training | PublicTest | PrivateTest); celeba: train | val | test (default) | all; fairface: train | val (default)',
    )
    .option('--task <task>', `folders: ${FOLDER_TASKS.join(' | ')}`)
    .option(
      '--only <file>',
      'score only the samples whose file names FILE lists, one per line (e.g. training/splits/utkface-test.txt)',
    )
    .action(async (layout: string, path: string, options: EvalCliOptions) => {
      // The number of samples is not known before the end (datasets are streamed): no ETA.
      const progress = new Progress({ label: `eval ${layout}`, unit: 'samples' });
      const report = await evaluateDataset({
        layout,
        path,
        modelPath: options.model,
        precision: options.precision,
        detect: Boolean(options.detect),
        detector: options.detector,
        flip: Boolean(options.flip),
        framing: options.framing,
        limit: options.limit,
        batch: options.batch,
        threads: options.threads,
        labels: options.labels,
        usage: options.usage,
        task: options.task,
        only: options.only,
        onProgress: (done, skipped) => progress.update(done, `${skipped} skipped`),
      });
      progress.done();
      // with `--json -` stdout carries only the JSON: everything else goes to stderr
      const jsonToStdout = options.json === '-';
      const say = jsonToStdout ? console.error : console.log;
      say(formatTable(report));
      if (options.json) {
        const json = JSON.stringify(report, null, 2) + '\n';
        if (jsonToStdout) process.stdout.write(json);
        else {
          await writeFile(options.json, json);
          say(`json: ${options.json}`);
        }
      }
      if (options.report) say(`report: ${(await writeReport(report, options.report)).join(', ')}`);
    });
}

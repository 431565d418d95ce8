#!/usr/bin/env node
/**
 * The measured numbers of the model card: runs `facemtl eval` (the library function behind it) on
 * the test splits for the shipped FP32 and INT8 models, plus the full pipeline (--detect) on the
 * UTKFace test split, and writes them between the `measured` markers of models/MODEL_CARD.md and
 * into models/metrics.json.
 *
 *   npm run build && node scripts/model-card.mjs [--data ../shared/data] [--threads 2]
 *   node scripts/model-card.mjs --limit 50 --dry-run      (a quick check: print, write nothing)
 *
 * Test splits: UTKFace — the files listed in training/splits/utkface-test.txt (seeded, stratified;
 * the training code never trains on them); FER — FER2013Valid (the challenge's PublicTest rows),
 * FER+ majority vote and, with fer2013_labels.csv, the original 7 labels. FER2013Valid is taken
 * out of FERPlus-train-valid.tar.gz into .cache/eval-data/ (ignored by git) once.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateDataset } from '../dist/index.js';
import { DATA_DIR, ROOT, evalDataDir } from './eval-data.mjs';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: DATA_DIR },
    threads: { type: 'string', default: '2' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const threads = Number(args.threads);
const limit = args.limit ? Number(args.limit) : undefined;
const dryRun = args['dry-run'];
const utkArchive = join(args.data, 'utkface', 'UTKFace.tar.gz');
const ferArchive = join(args.data, 'fer2013', 'FERPlus-train-valid.tar.gz');
const ferLabels = join(args.data, 'fer2013', 'fer2013_labels.csv');
const utkTestList = join(ROOT, 'training', 'splits', 'utkface-test.txt');
for (const file of [utkArchive, ferArchive, ferLabels]) {
  if (!existsSync(file)) {
    console.error(
      `model-card: ${file} not found (pass --data DIR, the folder described in ../shared/data/README.md)`,
    );
    process.exit(2);
  }
}

const ferValid = evalDataDir('FER2013Valid', args.data);

const rel = (path) => relative(ROOT, path) || '.';
const runs = [
  { name: 'utkface-test-fp32', layout: 'utkface', path: utkArchive, only: utkTestList, precision: 'fp32' },
  { name: 'utkface-test-int8', layout: 'utkface', path: utkArchive, only: utkTestList, precision: 'int8' },
  {
    name: 'utkface-test-int8-detect',
    layout: 'utkface',
    path: utkArchive,
    only: utkTestList,
    precision: 'int8',
    detect: true,
  },
  { name: 'fer-publictest-fp32', layout: 'ferplus', path: ferValid, labels: ferLabels, precision: 'fp32' },
  { name: 'fer-publictest-int8', layout: 'ferplus', path: ferValid, labels: ferLabels, precision: 'int8' },
];

const reports = {};
for (const run of runs) {
  const { name, ...options } = run;
  const report = await evaluateDataset({ ...options, threads, limit });
  reports[name] = { command: evalCommand(run), ...report };
  console.error(`${name}: n ${report.n}, ${report.elapsed_s} s`);
}
if (!dryRun) writeFileSync(join(ROOT, 'models', 'metrics.json'), JSON.stringify(reports, null, 2) + '\n');

/** The `facemtl eval` command line that gives the same report. */
function evalCommand(run) {
  const parts = ['facemtl eval', run.layout, rel(run.path)];
  if (run.only) parts.push('--only', rel(run.only));
  if (run.labels) parts.push('--labels', rel(run.labels));
  parts.push('--precision', run.precision);
  if (run.detect) parts.push('--detect');
  return parts.join(' ');
}

const pct = (value) => (value == null ? '–' : `${(value * 100).toFixed(1)}%`);
const years = (value) => (value == null ? '–' : value.toFixed(2));
const points = (value) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} points`;

function mainTable() {
  const utk = (p) => reports[`utkface-test-${p}`];
  const fer = (p) => reports[`fer-publictest-${p}`];
  const rows = [
    ['UTKFace test: age MAE (years)', (p) => years(utk(p).age.mae), '≤ 5.0'],
    ['UTKFace test: true age inside the 90% interval', (p) => pct(utk(p).age.interval_coverage), '90%'],
    ['UTKFace test: gender accuracy', (p) => pct(utk(p).gender.accuracy), '≥ 93%'],
    ['UTKFace test: ethnicity accuracy (5 classes)', (p) => pct(utk(p).ethnicity.accuracy), '≥ 85%'],
    ['FER2013 PublicTest: original 7 labels', (p) => pct(fer(p).emotion_fer2013.accuracy), '≥ 70%'],
    ['FER2013 PublicTest: FER+ majority vote', (p) => pct(fer(p).emotion_ferplus.accuracy), '≥ 85%'],
    ['FER+ expected calibration error', (p) => pct(fer(p).emotion_ferplus.ece), '–'],
  ];
  return [
    `| metric (n: UTKFace ${utk('int8').n}, FER ${fer('int8').emotion_fer2013.n}) | FP32 | INT8 | target |`,
    '| --- | ---: | ---: | ---: |',
    ...rows.map(([label, cell, target]) => `| ${label} | ${cell('fp32')} | ${cell('int8')} | ${target} |`),
  ].join('\n');
}

function groupTable() {
  const groups = reports['utkface-test-int8'].groups;
  return [
    '| ethnicity / gender | n | age MAE | gender accuracy |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(groups).map(
      ([group, g]) => `| ${group} | ${g.n} | ${years(g.age_mae)} | ${pct(g.gender_accuracy)} |`,
    ),
  ].join('\n');
}

function perClassTable() {
  const lines = ['| head | class | recall | support |', '| --- | --- | ---: | ---: |'];
  const add = (head, result) => {
    for (const [label, c] of Object.entries(result.per_class))
      lines.push(`| ${head} | ${label} | ${pct(c.recall)} | ${c.support} |`);
  };
  add('ethnicity', reports['utkface-test-int8'].ethnicity);
  add('emotion (FER+)', reports['fer-publictest-int8'].emotion_ferplus);
  add('emotion_fer2013', reports['fer-publictest-int8'].emotion_fer2013);
  return lines.join('\n');
}

function pipelineTable() {
  const crops = reports['utkface-test-int8'];
  const pipeline = reports['utkface-test-int8-detect'];
  const row = (label, r) =>
    `| ${label} | ${r.n} | ${r.not_detected} | ${years(r.age.mae)} | ${pct(r.gender.accuracy)} | ${pct(r.ethnicity.accuracy)} |`;
  return [
    '| INT8 model fed | images | faces not found | age MAE | gender | ethnicity |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row("the dataset's own crops", crops),
    row('the runtime pipeline (detect → align → crop)', pipeline),
    `| pipeline − crops | | | ${years(pipeline.age.mae - crops.age.mae)} | ${points(pipeline.gender.accuracy - crops.gender.accuracy)} | ${points(pipeline.ethnicity.accuracy - crops.ethnicity.accuracy)} |`,
  ].join('\n');
}

const commands = Object.values(reports)
  .map((r) => `    ${r.command}`)
  .join('\n');
const measured = `<!-- measured:begin (written by scripts/model-card.mjs; do not edit by hand) -->
Measured ${new Date().toISOString().slice(0, 10)} with \`node scripts/model-card.mjs\`, which runs:

${commands}

### Test-split accuracy

${mainTable()}

### Per group (UTKFace test, INT8): ethnicity × gender

${groupTable()}

Age MAE is over faces whose group is labelled; missed faces count as gender misses.

### Per class (INT8)

${perClassTable()}

### Does the runtime see what the model was trained on?

The same UTKFace test images, once as the dataset's aligned crop (what training saw) and once
through the whole runtime (BlazeFace → eye alignment → crop); age MAE over detected faces, a face
not found counts as a miss for gender and ethnicity.

${pipelineTable()}
<!-- measured:end -->`;

const cardPath = join(ROOT, 'models', 'MODEL_CARD.md');
const card = readFileSync(cardPath, 'utf8');
const pattern = /<!-- measured:begin[\s\S]*?<!-- measured:end -->/;
if (!pattern.test(card)) {
  console.error('model-card: models/MODEL_CARD.md has no measured markers');
  process.exit(2);
}
if (!dryRun) writeFileSync(cardPath, card.replace(pattern, measured));
console.log(measured);

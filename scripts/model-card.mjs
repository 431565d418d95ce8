#!/usr/bin/env node
/**
 * The measured numbers of the model card: runs `facemtl eval` (the library function behind it) on
 * the test splits for the shipped FP32 and INT8 models, plus the full pipeline (--detect) on the
 * UTKFace test split, and writes them between the `measured` markers of models/MODEL_CARD.md and
 * into models/metrics.json.
 *
 *   npm run build && node scripts/model-card.mjs [--data ../shared/data] [--threads 2]
 *   node scripts/model-card.mjs --limit 50 --dry-run      (a quick check: print, write nothing)
 *   node scripts/model-card.mjs --models DIR --out new.json
 *        (a candidate: DIR/facemtl-{fp32,int8}.onnx as `facemtl.export` writes them; its numbers go
 *        to new.json, the card and models/ are left alone; compare with scripts/compare-metrics.mjs)
 *
 * Test splits: UTKFace — the files listed in training/splits/utkface-test.txt (seeded, stratified;
 * the training code never trains on them); FER — FER2013Valid (the challenge's PublicTest rows),
 * FER+ majority vote and, with fer2013_labels.csv, the original 7 labels. FER2013Valid is taken
 * out of FERPlus-train-valid.tar.gz into .cache/eval-data/ (ignored by git) once. CelebA (official
 * test partition) and FairFace (its val split) when found: --celeba DIR / --fairface DIR, default
 * DATA/extra/{celeba,fairface} or ../data/{celeba,fairface} (the output of extra/assemble.sh).
 * Smiles outside CelebA (the smile head against the emotion head's P(happy)) when
 * .cache/eval-data/smile-fer and smile-posed exist (`node scripts/smile-folders.mjs` writes them).
 * Posed expressions (the test performers, through the detector) when --posed DIR is given or
 * .cache/eval-data/posed-test exists: class folders written by
 * `training/python tools/posed_folders.py DATA/posed/taiwanese-expressions.tar.gz DIR` (absolute paths:
 * training/python runs from training/).
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
    celeba: { type: 'string' },
    fairface: { type: 'string' },
    posed: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    models: { type: 'string' },
    out: { type: 'string' },
  },
});
const threads = Number(args.threads);
const limit = args.limit ? Number(args.limit) : undefined;
const dryRun = args['dry-run'];
if (Boolean(args.models) !== Boolean(args.out)) {
  console.error(
    'model-card: --models DIR and --out FILE go together (a candidate model is not written into the card)',
  );
  process.exit(2);
}
/** The model file of a precision: a candidate's (--models), else the shipped one (evaluateDataset's default). */
const modelPath = (precision) => (args.models ? join(args.models, `facemtl-${precision}.onnx`) : undefined);
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
/** An extra dataset's folder (assemble.sh output), or null with a note when it is not there. */
function extraDir(name, given) {
  const found = [given, join(args.data, 'extra', name), join(ROOT, '..', 'data', name)].find(
    (dir) => dir && existsSync(dir),
  );
  if (!found) console.error(`model-card: ${name} not found (--${name} DIR): its tables are left out`);
  return found ?? null;
}
const celeba = extraDir('celeba', args.celeba);
const fairface = extraDir('fairface', args.fairface);
const posed = [args.posed, join(ROOT, '.cache', 'eval-data', 'posed-test')].find(
  (dir) => dir && existsSync(dir),
);
if (!posed) console.error('model-card: no posed-test folders (--posed DIR): the posed table is left out');
const smileSets = [
  { name: 'smile-fer-int8', folder: 'smile-fer', framing: 'fer' },
  { name: 'smile-posed-int8-detect', folder: 'smile-posed', detect: true },
]
  .map(({ folder, ...set }) => ({ ...set, path: join(ROOT, '.cache', 'eval-data', folder) }))
  .filter((set) => existsSync(set.path));
if (smileSets.length < 2)
  console.error('model-card: run scripts/smile-folders.mjs for the smile sets outside CelebA');

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
  // the same two INT8 runs with flip test-time averaging (`--flip`, off by default)
  {
    name: 'utkface-test-int8-flip',
    layout: 'utkface',
    path: utkArchive,
    only: utkTestList,
    precision: 'int8',
    flip: true,
  },
  {
    name: 'fer-publictest-int8-flip',
    layout: 'ferplus',
    path: ferValid,
    labels: ferLabels,
    precision: 'int8',
    flip: true,
  },
  ...(celeba
    ? [
        { name: 'celeba-test-fp32', layout: 'celeba', path: celeba, precision: 'fp32' },
        { name: 'celeba-test-int8', layout: 'celeba', path: celeba, precision: 'int8' },
        { name: 'celeba-test-int8-detect', layout: 'celeba', path: celeba, precision: 'int8', detect: true },
      ]
    : []),
  ...(fairface
    ? [
        { name: 'fairface-val-int8', layout: 'fairface', path: fairface, precision: 'int8' },
        {
          name: 'fairface-val-int8-detect',
          layout: 'fairface',
          path: fairface,
          precision: 'int8',
          detect: true,
        },
      ]
    : []),
  ...(posed
    ? [
        {
          name: 'posed-test-int8-detect',
          layout: 'folders',
          path: posed,
          task: 'emotion',
          precision: 'int8',
          detect: true,
        },
      ]
    : []),
  ...smileSets.map((set) => ({ ...set, layout: 'folders', task: 'smile', precision: 'int8' })),
];

const reports = {};
for (const run of runs) {
  const { name, ...options } = run;
  const report = await evaluateDataset({
    ...options,
    modelPath: modelPath(options.precision),
    threads,
    limit,
  });
  reports[name] = { command: evalCommand(run), ...report };
  console.error(`${name}: n ${report.n}, ${report.elapsed_s} s`);
}
if (!dryRun)
  writeFileSync(args.out ?? join(ROOT, 'models', 'metrics.json'), JSON.stringify(reports, null, 2) + '\n');
if (args.out) process.exit(0);

/** The `facemtl eval` command line that gives the same report. */
function evalCommand(run) {
  const parts = ['facemtl eval', run.layout, rel(run.path)];
  if (run.task) parts.push('--task', run.task);
  if (run.only) parts.push('--only', rel(run.only));
  if (run.labels) parts.push('--labels', rel(run.labels));
  parts.push(args.models ? `--model ${rel(modelPath(run.precision))}` : `--precision ${run.precision}`);
  if (run.framing) parts.push('--framing', run.framing);
  if (run.detect) parts.push('--detect');
  if (run.flip) parts.push('--flip');
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

const ATTRIBUTE_TARGETS = {
  smile: 0.92,
  eyeglasses: 0.99,
  makeup: 0.89,
  lipstick: 0.92,
  beard: 0.94,
  moustache: 0.95,
  sideburns: 0.95,
};

function attributeTable() {
  const crops = reports['celeba-test-int8'];
  const fp32 = reports['celeba-test-fp32'];
  const detect = reports['celeba-test-int8-detect'];
  const row = (label, key, target) => {
    const [c, f, d] = [crops[key], fp32[key], detect[key]];
    return `| ${label} | ${pct(c.base_rate)} | ${c.threshold.toFixed(2)} | ${pct(f.accuracy)} | ${pct(c.accuracy)} | ${pct(c.balanced_accuracy)} | ${c.f1.toFixed(3)} | ${pct(d.accuracy)} / ${pct(d.balanced_accuracy)} | ${target} |`;
  };
  return [
    `| attribute (CelebA test, n ${crops.n}) | base rate | threshold | FP32 acc. | INT8 acc. | INT8 balanced | INT8 F1 | INT8 runtime acc. / balanced | target acc. (balanced ≥ 85%) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(ATTRIBUTE_TARGETS).map(([name, target]) => row(name, name, `≥ ${target * 100}%`)),
    row('smile from the emotion head, P(happy) ≥ 0.5', 'smile_from_happy', 'the bar for smile'),
    `| gender (CelebA \`Male\`) | | | ${pct(fp32.gender.accuracy)} | ${pct(crops.gender.accuracy)} | | | ${pct(detect.gender.accuracy)} | ≥ 97% |`,
  ].join('\n');
}

function attributeGroupTable() {
  const groups = reports['celeba-test-int8'].attribute_groups ?? {};
  const names = Object.keys(ATTRIBUTE_TARGETS);
  const cell = (r) => (r ? `${pct(r.accuracy)} / ${pct(r.balanced_accuracy)} (${pct(r.base_rate)})` : '–');
  return [
    `| predicted ethnicity / gender | n | ${names.join(' | ')} |`,
    `| --- | ---: | ${names.map(() => '---:').join(' | ')} |`,
    ...Object.entries(groups)
      .filter(([, g]) => g.smile.n >= 50)
      .map(([key, g]) => `| ${key} | ${g.smile.n} | ${names.map((n) => cell(g[n])).join(' | ')} |`),
  ].join('\n');
}

function fairfaceTable() {
  const crops = reports['fairface-val-int8'];
  const detect = reports['fairface-val-int8-detect'];
  const recall = (r) =>
    Object.entries(r.ethnicity.per_class)
      .map(([label, c]) => `${label} ${pct(c.recall)}`)
      .join(', ');
  return [
    `| INT8 model fed (FairFace val, n ${crops.n}) | faces not found | gender | ethnicity (5 groups) | ethnicity recall per group |`,
    '| --- | ---: | ---: | ---: | --- |',
    `| FairFace's own crops | – | ${pct(crops.gender.accuracy)} | ${pct(crops.ethnicity.accuracy)} | ${recall(crops)} |`,
    `| the runtime pipeline | ${detect.not_detected} | ${pct(detect.gender.accuracy)} | ${pct(detect.ethnicity.accuracy)} | ${recall(detect)} |`,
  ].join('\n');
}

function flipTable() {
  const [utk, utkFlip] = [reports['utkface-test-int8'], reports['utkface-test-int8-flip']];
  const [fer, ferFlip] = [reports['fer-publictest-int8'], reports['fer-publictest-int8-flip']];
  const row = (label, u, f) =>
    `| ${label} | ${years(u.age.mae)} | ${pct(u.age.interval_coverage)} | ${pct(u.gender.accuracy)} | ${pct(u.ethnicity.accuracy)} | ${pct(f.emotion_fer2013.accuracy)} | ${pct(f.emotion_ferplus.accuracy)} (ECE ${pct(f.emotion_ferplus.ece)}) |`;
  return [
    '| INT8, test splits | age MAE | 90% coverage | gender | ethnicity | FER2013 | FER+ |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('one run per face (default)', utk, fer),
    row('flip-averaged (`--flip`)', utkFlip, ferFlip),
  ].join('\n');
}

function smileTable() {
  const names = {
    'smile-fer-int8': 'FER2013 PublicTest, FER+ majority',
    'smile-posed-int8-detect': 'posed set, test performers (detector)',
  };
  const cells = (r) =>
    `${pct(r.accuracy)} | ${pct(r.balanced_accuracy)} | ${r.f1 == null ? '–' : r.f1.toFixed(3)}`;
  return [
    '| INT8 | n | smile base rate | smile head acc. | balanced | F1 | P(happy) ≥ 0.5 acc. | balanced | F1 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...smileSets.map(({ name }) => {
      const r = reports[name];
      return `| ${names[name]} | ${r.smile.n} | ${pct(r.smile.base_rate)} | ${cells(r.smile)} | ${cells(r.smile_from_happy)} |`;
    }),
  ].join('\n');
}

function posedTable() {
  const emotion = reports['posed-test-int8-detect'].emotion;
  return [
    `| posed expression (n ${emotion.n}) | recall | support |`,
    '| --- | ---: | ---: |',
    ...Object.entries(emotion.per_class)
      .filter(([, c]) => c.support > 0)
      .map(([label, c]) => `| ${label} | ${pct(c.recall)} | ${c.support} |`),
    `| **all** (accuracy) | **${pct(emotion.accuracy)}** | ${emotion.n} |`,
  ].join('\n');
}

const extraSections = [
  celeba
    ? `### The yes/no attributes (CelebA test partition)

Accuracy and balanced accuracy at the contract's thresholds (chosen on CelebA's validation
partition); "runtime": the same images through BlazeFace → eye alignment → crop.

${attributeTable()}

Per group (INT8, CelebA test; accuracy / balanced accuracy (base rate); groups of ≥ 50 faces;
CelebA labels no ethnicity, so the model's own ethnicity answer groups the faces):

${attributeGroupTable()}`
    : '',
  fairface
    ? `### FairFace validation (gender, ethnicity on the model's 5 groups)

${fairfaceTable()}`
    : '',
  smileSets.length
    ? `### Smiles outside CelebA

The smile head against the emotion head used as a smile detector on faces that are not CelebA's
(\`scripts/smile-folders.mjs\`): FER's happy majority, or the posed set's happy expression, is
"smile", every other expression "not smile". FER and the posed set train the emotion head (their
test images never); the smile head learns from them only when the training config sets
\`smile_from_emotion\`.

${smileTable()}`
    : '',
  posed
    ? `### Posed expressions (INT8, through the detector; test performers of the posed-expression set)

Six performers the model never trained on (split by performer in \`training/facemtl/prepare.py\`),
scored on the FER+ emotion output.

${posedTable()}`
    : '',
]
  .filter(Boolean)
  .join('\n\n');

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

### Flip test-time averaging

Each crop also run mirrored, in the same batch, and the outputs averaged (\`flipAverage\`,
\`--flip\`; about 2× the attribute model's time, so off by default):

${flipTable()}

### Does the runtime see what the model was trained on?

The same UTKFace test images, once as the dataset's aligned crop (what training saw) and once
through the whole runtime (BlazeFace → eye alignment → crop); age MAE over detected faces, a face
not found counts as a miss for gender and ethnicity.

${pipelineTable()}
${extraSections ? `\n${extraSections}\n` : ''}<!-- measured:end -->`;

const cardPath = join(ROOT, 'models', 'MODEL_CARD.md');
const card = readFileSync(cardPath, 'utf8');
const pattern = /<!-- measured:begin[\s\S]*?<!-- measured:end -->/;
if (!pattern.test(card)) {
  console.error('model-card: models/MODEL_CARD.md has no measured markers');
  process.exit(2);
}
if (!dryRun) writeFileSync(cardPath, card.replace(pattern, measured));
console.log(measured);

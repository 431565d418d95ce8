#!/usr/bin/env node
/**
 * Side-by-side benchmark of facemtl and the face-attribute models people use today in JavaScript
 * (@vladmandic/human, @vladmandic/face-api), on the same dataset crops: accuracy and
 * milliseconds per face. Writes bench/results/peers.md (and .json). See docs/peers.md.
 *
 *   npm run build && node bench/peers/run.mjs            (or: npm run bench:peers)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { decodeRgb, evenlySpaced, ferSamples, utkfaceSamples } from './datasets.mjs';
import { fromDist, repoRoot } from './dist.mjs';
import { evalDataDir } from '../../scripts/eval-data.mjs';

const dataRoot = path.resolve(repoRoot, '../shared/data');

const USAGE = `usage: node bench/peers/run.mjs [options]
  --peers LIST        comma-separated, of facemtl,facemtl-wasm,facemtl-wasm-fp32,human,face-api (default: all)
  --n-utk N           UTKFace faces, evenly spaced over the test split (default 500)
  --n-fer N           FER2013 PublicTest faces, evenly spaced (default 500)
  --detector-n N      faces per dataset also run through each peer's own detector (default 100, 0 = off)
  --utk-dir DIR       folder of UTKFace *.jpg.chip.jpg (default: .cache/eval-data/UTKFace,
                      extracted from ../shared/data/utkface/UTKFace.tar.gz if missing)
  --utk-list FILE     test split list (default training/splits/utkface-test.txt)
  --fer-dir DIR       FER2013Valid folder with label.csv (default: .cache/eval-data/FER2013Valid,
                      extracted from ../shared/data/fer2013/FERPlus-train-valid.tar.gz if missing)
  --fer-labels FILE   fer2013_labels.csv (default ../shared/data/fer2013/fer2013_labels.csv)
  --model FILE        facemtl ONNX model for facemtl and facemtl-wasm (default models/facemtl-int8.onnx)
  --threads N         facemtl's onnxruntime threads (default 1, like the peers' single-threaded WASM; 0 = all cores)
  --out FILE          markdown report (default bench/results/peers.md; JSON next to it)`;

const PEERS = {
  facemtl: async (options) => (await import('./facemtl.mjs')).create(options),
  'facemtl-wasm': async (options) => (await import('./facemtl.mjs')).createWasm(options),
  'facemtl-wasm-fp32': async (options) =>
    (await import('./facemtl.mjs')).createWasm({ ...options, precision: 'fp32' }),
  human: async (options) => (await import('./human.mjs')).create(options),
  'face-api': async (options) => (await import('./face-api.mjs')).create(options),
};

const TASKS = {
  utkface: [
    { task: 'age', truth: (s) => s.age },
    { task: 'gender', truth: (s) => s.gender },
    { task: 'ethnicity', truth: (s) => s.ethnicity },
  ],
  fer: [
    { task: 'fer2013', truth: (s) => s.fer2013 },
    { task: 'ferplus', truth: (s) => s.ferplus },
  ],
};
const DATASET_NAMES = { utkface: 'UTKFace test', fer: 'FER2013 PublicTest' };
const TASK_NAMES = {
  age: 'age (MAE, years)',
  gender: 'gender (accuracy)',
  ethnicity: 'ethnicity, 5 classes (accuracy)',
  fer2013: 'emotion, FER2013 original 7 labels (accuracy)',
  ferplus: 'emotion, FER+ majority vote (accuracy)',
};

function parseOptions() {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: Object.keys(PEERS).join(',') },
      'n-utk': { type: 'string', default: '500' },
      'n-fer': { type: 'string', default: '500' },
      'detector-n': { type: 'string', default: '100' },
      'utk-dir': { type: 'string' },
      'utk-list': { type: 'string', default: path.join(repoRoot, 'training/splits/utkface-test.txt') },
      'fer-dir': { type: 'string' },
      'fer-labels': { type: 'string', default: path.join(dataRoot, 'fer2013/fer2013_labels.csv') },
      model: { type: 'string' },
      threads: { type: 'string', default: '1' },
      out: { type: 'string', default: path.join(repoRoot, 'bench/results/peers.md') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name} must be a whole number ≥ 0, got '${values[name]}'`);
    return n;
  };
  values['utk-dir'] ??= evalDataDir('UTKFace');
  values['fer-dir'] ??= evalDataDir('FER2013Valid');
  const peers = values.peers.split(',').map((p) => p.trim());
  for (const peer of peers) {
    if (!PEERS[peer]) throw new Error(`unknown peer '${peer}' (${Object.keys(PEERS).join(', ')})`);
  }
  for (const [flag, file] of [
    ['--utk-dir', values['utk-dir']],
    ['--fer-dir', values['fer-dir']],
    ['--fer-labels', values['fer-labels']],
  ]) {
    if (!fs.existsSync(file)) throw new Error(`${flag} ${file} does not exist`);
  }
  return {
    peers,
    nUtk: count('n-utk'),
    nFer: count('n-fer'),
    detectorN: count('detector-n'),
    utkDir: values['utk-dir'],
    utkList: values['utk-list'],
    ferDir: values['fer-dir'],
    ferLabels: values['fer-labels'],
    model: values.model && path.resolve(values.model),
    threads: count('threads') || undefined,
    out: path.resolve(values.out),
  };
}

/** What the benchmark reuses from the project's build: scorers, class names, machine description. */
async function loadDist() {
  return {
    ...(await fromDist('eval/metrics.js')),
    ...(await fromDist('eval/classes.js')),
    ...(await fromDist('bench/machine.js')),
  };
}

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * One (model, dataset, task) cell: a scorer and the per-face times of the model behind it. Class
 * names on both sides go through `canonicalClass` (face-api's 'fearful', FER+'s 'happiness', ...).
 */
function makeRows(metrics) {
  const rows = new Map();
  const canonical = metrics.canonicalClass;
  return {
    canonical,
    get(model, dataset, task, labels) {
      const key = `${model}|${dataset}|${task}`;
      if (!rows.has(key)) {
        const scorer =
          task === 'age' ? new metrics.AgeScore() : new metrics.ClassificationScore(labels.map(canonical));
        rows.set(key, { model, dataset, task, scorer, ms: [] });
      }
      return rows.get(key);
    },
    values: () => [...rows.values()],
  };
}

/** Scores one prediction against one sample; `model` names the row each task's output goes to. */
function score(rows, modelOf, dataset, sample, prediction) {
  for (const { task, truth } of TASKS[dataset]) {
    const output = prediction[task];
    const trueValue = truth(sample);
    if (output === undefined || trueValue === null) continue;
    const model = modelOf(task);
    const row = rows.get(model, dataset, task, output.labels ?? []);
    if (task === 'age') row.scorer.add(trueValue, output, 0);
    else row.scorer.add(rows.canonical(trueValue), output.probs);
    row.ms.push(prediction.ms[model]);
  }
}

/**
 * Every peer on every crop. The peers take turns face by face, so that the load of other jobs on
 * the machine falls on all of them alike; each keeps its crop predictions for the detector stage.
 */
async function runCrops(peers, data, dist) {
  const runs = peers.map((peer) => ({
    peer,
    rows: makeRows(dist),
    modelOf: (task) => peer.models.find((m) => m.tasks.includes(task))?.id,
    predictions: new Map(),
  }));
  // warm-up (kernel compilation, first allocations): not timed, not scored
  for (const { peer } of runs) {
    for (const dataset of Object.keys(data)) {
      const tasks = TASKS[dataset].map((t) => t.task);
      for (let i = 0; i < 3; i++) await peer.predict(data[dataset][0].image, tasks, dataset);
    }
  }
  for (const [dataset, samples] of Object.entries(data)) {
    const tasks = TASKS[dataset].map((t) => t.task);
    const started = Date.now();
    for (const sample of samples) {
      for (const run of runs) {
        const prediction = await run.peer.predict(sample.image, tasks, dataset);
        run.predictions.set(sample, prediction);
        score(run.rows, run.modelOf, dataset, sample, prediction);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${dataset}: ${samples.length} crops × ${runs.length} peers in ${seconds} s`);
  }
  return runs;
}

/**
 * Each library's whole pipeline on an evenly spaced subset, peers again taking turns: miss rate,
 * ms per image, and accuracy on the detected faces next to the crop-mode accuracy of the same faces.
 */
async function runDetectors(runs, data, detectorN, dist) {
  const withDetector = runs.filter((run) => run.peer.detector);
  for (const run of withDetector) {
    run.detection = { pipelineRows: makeRows(dist), cropRows: makeRows(dist), misses: [] };
  }
  for (const [dataset, samples] of Object.entries(data)) {
    const subset = evenlySpaced(samples, detectorN);
    const counts = withDetector.map(() => ({ missed: 0, ms: [] }));
    for (const sample of subset) {
      for (const [i, run] of withDetector.entries()) {
        const { detector } = run.peer;
        const start = performance.now();
        const prediction = await detector.detect(sample.image);
        counts[i].ms.push(prediction?.ms.pipeline ?? performance.now() - start);
        if (!prediction) {
          counts[i].missed++;
          continue;
        }
        score(run.detection.pipelineRows, () => detector.id, dataset, sample, prediction);
        score(run.detection.cropRows, () => detector.id, dataset, sample, run.predictions.get(sample));
      }
    }
    withDetector.forEach((run, i) => {
      const { missed, ms } = counts[i];
      run.detection.misses.push({
        dataset,
        n: subset.length,
        missed,
        ms: { mean: mean(ms), median: median(ms) },
      });
      console.log(`${run.peer.name} detector on ${dataset}: ${missed}/${subset.length} missed`);
    });
  }
}

/** One peer's part of the report. */
function peerReport({ peer, rows, detection }) {
  const bytesOf = (model) => peer.models.find((m) => m.id === model)?.bytes ?? null;
  const report = {
    name: peer.name,
    version: peer.version,
    notes: peer.notes ?? [],
    rows: rows.values().map((row) => summarise(row, bytesOf(row.model))),
    detection: {},
  };
  if (detection) {
    const key = (row) => `${row.dataset}|${row.task}`;
    const crop = new Map(detection.cropRows.values().map((row) => [key(row), summarise(row, null)]));
    report.detection = {
      id: peer.detector.id,
      misses: detection.misses,
      accuracy: detection.pipelineRows.values().map((row) => ({
        ...summarise(row, peer.detector.bytes),
        cropValue: crop.get(key(row))?.value ?? null,
      })),
    };
  }
  return report;
}

function summarise(row, bytes) {
  const result = row.scorer.result();
  const ms = row.ms.filter((v) => typeof v === 'number');
  return {
    model: row.model,
    dataset: row.dataset,
    task: row.task,
    n: result.n,
    value: row.task === 'age' ? result.mae : result.accuracy,
    ms: { mean: mean(ms), median: median(ms) },
    bytes,
    ...(row.task === 'age'
      ? {}
      : { confusion: result.confusion, classes_not_in_model: result.classes_not_in_model }),
  };
}

/** The lines of `lscpu` that bear on inference speed. */
function lscpuExcerpt() {
  const keys = ['Architecture', 'Model name', 'CPU\\(s\\)', 'Thread\\(s\\) per core', 'L2 cache', 'L3 cache'];
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = keys.map((key) => lscpu.match(new RegExp(`^${key}:.*$`, 'm'))?.[0]).filter(Boolean);
    const flags = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) =>
      new RegExp(`\\b${f}\\b`).test(lscpu),
    );
    return [
      ...lines.map((line) => line.replace(/\s+/g, ' ')),
      `SIMD flags (of avx2, fma, avx512f, avx512_vnni, avx_vnni): ${flags.join(' ')}`,
    ];
  } catch {
    return ['(lscpu not available)'];
  }
}

/** The project's machine description (src/bench/machine.ts) plus what matters for these times. */
function machine(dist, tfjsInfo) {
  return {
    ...dist.machineInfo(),
    lscpu: lscpuExcerpt(),
    loadAverage: os.loadavg().map((v) => v.toFixed(2)),
    tfjs: tfjsInfo,
  };
}

const fmt = (value, digits) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits));
const fmtValue = (row) => (row.task === 'age' ? fmt(row.value, 2) : `${fmt(100 * row.value, 1)} %`);
const fmtBytes = (bytes) => (bytes ? `${(bytes / 1e6).toFixed(2)} MB` : '–');

function markdown(report) {
  const lines = [];
  lines.push('# facemtl and its peers: accuracy and speed on the same face crops');
  lines.push('');
  lines.push(
    `Generated by \`bench/peers/run.mjs\` on ${report.date}. Method, peers and how to re-run: [docs/peers.md](../../docs/peers.md).`,
  );
  lines.push('');
  lines.push('## Command');
  lines.push('');
  lines.push('```sh');
  lines.push(report.command);
  lines.push('```');
  lines.push('');
  lines.push('## Samples');
  lines.push('');
  for (const [dataset, info] of Object.entries(report.samples)) {
    lines.push(
      `- ${DATASET_NAMES[dataset]}: n = ${info.n} of ${info.population}, evenly spaced over the sorted list; source ${info.source}.`,
    );
  }
  lines.push('');
  lines.push('## Attribute models on identical crops');
  lines.push('');
  lines.push(
    'Each model gets the dataset image itself as the face crop (its detector skipped) and applies its own',
  );
  lines.push('preprocessing. ms/face: wall time of one face at batch size 1, from decoded RGB pixels to the');
  lines.push("model's output (input conversion, resize, inference), mean (median in brackets).");
  lines.push('');
  lines.push('| model | task | dataset | n | accuracy / MAE | ms/face | model bytes |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const peer of report.peers) {
    for (const row of peer.rows) {
      lines.push(
        `| ${row.model} | ${TASK_NAMES[row.task]} | ${DATASET_NAMES[row.dataset]} | ${row.n} | ${fmtValue(row)} | ${fmt(row.ms.mean, 1)} (${fmt(row.ms.median, 1)}) | ${fmtBytes(row.bytes)} |`,
      );
    }
  }
  const detection = report.peers.filter((p) => p.detection.misses);
  if (detection.length) {
    lines.push('');
    lines.push("## Each library's own pipeline on the same images");
    lines.push('');
    lines.push(
      `The library's detector and attribute models on the whole dataset image, as an application calls`,
    );
    lines.push(
      `them, on an evenly spaced subset. ms/image covers detection, landmarks and all attribute models.`,
    );
    lines.push('');
    lines.push('| pipeline | dataset | n | missed | miss rate | ms/image |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const { name, detection: d } of detection) {
      for (const m of d.misses) {
        const rate = `${fmt((100 * m.missed) / m.n, 1)} %`;
        lines.push(
          `| ${name} (${d.id}) | ${DATASET_NAMES[m.dataset]} | ${m.n} | ${m.missed} | ${rate} | ${fmt(m.ms.mean, 1)} (${fmt(m.ms.median, 1)}) |`,
        );
      }
    }
    lines.push('');
    lines.push(
      'Accuracy on the faces the detector found, next to the same model on the dataset crop of those faces:',
    );
    lines.push('');
    lines.push('| peer | task | dataset | n detected | own pipeline | dataset crop (same faces) |');
    lines.push('| --- | --- | --- | ---: | ---: | ---: |');
    for (const { name, detection: d } of detection) {
      for (const row of d.accuracy) {
        const crop = fmtValue({ task: row.task, value: row.cropValue });
        lines.push(
          `| ${name} | ${TASK_NAMES[row.task]} | ${DATASET_NAMES[row.dataset]} | ${row.n} | ${fmtValue(row)} | ${crop} |`,
        );
      }
    }
  }
  const notes = report.peers.flatMap((p) => p.notes.map((note) => `- ${p.name}: ${note}`));
  if (notes.length) lines.push('', '## Notes from this run', '', ...notes);
  lines.push('');
  lines.push('## Machine');
  lines.push('');
  const m = report.machine;
  lines.push(`- ${m.cpu}, ${m.cores} logical CPUs, ${m.memory_gib} GiB RAM, ${m.os}; lscpu:`);
  lines.push('');
  lines.push('  ```text', ...m.lscpu.map((line) => `  ${line}`), '  ```');
  lines.push('');
  lines.push(
    `- load average at the end of the run (1/5/15 min): ${m.loadAverage.join(' / ')}; other jobs share these cores, so times are indicative`,
  );
  lines.push(`- Node ${m.node}, onnxruntime-node ${m.onnxruntime_node}`);
  if (m.tfjs) {
    lines.push(
      `- TensorFlow.js ${m.tfjs.tfjs}, backend '${m.tfjs.backend}' (SIMD ${m.tfjs.simd}, multithreading ${m.tfjs.threads})`,
    );
  }
  for (const peer of report.peers) lines.push(`- ${peer.name} ${peer.version ?? ''}`.trimEnd());
  lines.push('');
  const caveats = path.join(path.dirname(fileURLToPath(import.meta.url)), 'caveats.md');
  if (fs.existsSync(caveats)) lines.push(fs.readFileSync(caveats, 'utf8').trimEnd(), '');
  return lines.join('\n');
}

async function main() {
  const options = parseOptions();
  const dist = await loadDist();
  const utk = utkfaceSamples({ dir: options.utkDir, splitList: options.utkList, n: options.nUtk });
  const fer = await ferSamples({ dir: options.ferDir, labelsCsv: options.ferLabels, n: options.nFer });
  console.log(`UTKFace: ${utk.samples.length} of ${utk.population} (${utk.source})`);
  console.log(`FER2013 PublicTest: ${fer.samples.length} of ${fer.population}`);
  const data = {};
  for (const [dataset, list] of [
    ['utkface', utk.samples],
    ['fer', fer.samples],
  ]) {
    if (list.length)
      data[dataset] = await Promise.all(list.map(async (s) => ({ ...s, image: await decodeRgb(s.file) })));
  }

  const loaded = [];
  for (const name of options.peers) {
    console.log(`${name}: loading`);
    loaded.push(await PEERS[name]({ model: options.model, threads: options.threads }));
  }
  const runs = await runCrops(loaded, data, dist);
  if (options.detectorN > 0) await runDetectors(runs, data, options.detectorN, dist);
  const peers = runs.map(peerReport);
  let tfjsInfo = null;
  if (!tfjsInfo && options.peers.some((p) => !p.startsWith('facemtl')))
    tfjsInfo = await (await import('./tfjs.mjs')).initTfjs();

  const report = {
    date: new Date().toISOString(),
    command: `node bench/peers/run.mjs ${process.argv.slice(2).join(' ')}`.trimEnd(),
    samples: {
      utkface: { n: utk.samples.length, population: utk.population, source: utk.source },
      fer: { n: fer.samples.length, population: fer.population, source: fer.source },
    },
    machine: machine(dist, tfjsInfo),
    peers,
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, markdown(report));
  fs.writeFileSync(options.out.replace(/\.md$/, '') + '.json', JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), options.out)}`);
}

main().catch((error) => {
  console.error(`bench/peers: ${error instanceof Error ? error.message : error}`);
  process.exit(2);
});

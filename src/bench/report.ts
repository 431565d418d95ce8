/** The `facemtl bench --json` object and its markdown rendering (bench/README.md). */
import type { ModelSetResult } from './compare.js';
import type { MachineInfo } from './machine.js';
import type { StageTimes } from './stages.js';

export interface AttributeCell {
  precision: string;
  threads: number;
  batch: number;
  /** Median milliseconds of one `run` of the whole batch. */
  ms_per_batch: number;
  ms_per_face: number;
  /** The fastest run, per face: less sensitive to other work on the machine than the median. */
  best_ms_per_face: number;
  faces_per_s: number;
  repeats: number;
}

export interface DetectorCell {
  model: string;
  threads: number;
  /** Median milliseconds to detect faces in a 640×480 frame. */
  ms: number;
  faces: number;
  repeats: number;
}

export interface PipelineCell {
  /** ONNX Runtime threads of the detector and the attribute model. */
  threads: number;
  /** Faces composed into the 640×480 frame, and faces the pipeline found in it. */
  faces: number;
  detected: number;
  /** Median milliseconds per frame from decoded pixels (a video frame), and frames per second. */
  ms_per_frame: number;
  fps: number;
  /** Median milliseconds per frame from the JPEG bytes (decoding included). */
  jpeg_ms_per_frame: number;
  repeats: number;
}

export interface BenchReport {
  machine: MachineInfo;
  command: string;
  settings: { budget_ms: number; warmup: number; threads_all: number };
  model_bytes: Record<string, number>;
  /** Side of the attribute model's square input crop, in pixels (the contract's `input.size`). */
  input_size: number;
  attribute: AttributeCell[];
  detector: DetectorCell[];
  pipeline: PipelineCell[];
  /** Where the time of a frame and of a photo goes (`--only stages`). */
  stages?: StageTimes[];
  memory: { rss_start_mib: number; rss_end_mib: number; heap_used_mib: number };
  /** Multi-task vs single-task baselines (or `--models`), per precision; absent when no baselines. */
  comparison?: { precision: string; threads: number; sets: ModelSetResult[] }[];
  notes: string[];
}

const f = (value: number, digits = 2) => value.toFixed(digits);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export function benchMarkdown(report: BenchReport): string {
  const { machine } = report;
  const out: string[] = [
    '# facemtl benchmarks',
    '',
    'Regenerate with `npm run bench` (it builds, runs `facemtl bench`, and rewrites this file and',
    '`bench/results/latest.json`). Every number is the median of repeated runs after a warm-up, on',
    'the machine below; compare ratios within one run, not numbers across machines.',
    '',
    `- command: \`${report.command}\``,
    `- machine: ${machine.cpu}, ${machine.cores} logical cores, ${machine.memory_gib} GiB, ${machine.os}`,
    `- Node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}, ${machine.date}`,
    `- load average (1 min) at the start: ${machine.load_average} on ${machine.cores} cores` +
      (machine.load_average > machine.cores / 2 ? ' (a busy machine: absolute times are pessimistic)' : ''),
    `- timing: ${report.settings.warmup} warm-up calls, then repeats for about ${report.settings.budget_ms} ms per cell (median)`,
    '',
    `## Attribute model (per face crop, ${report.input_size}×${report.input_size})`,
    '',
    'Model sizes: ' +
      Object.entries(report.model_bytes)
        .map(([name, bytes]) => `${name} ${mib(bytes)}`)
        .join(', ') +
      '.',
    '',
    '| precision | threads | batch | ms / batch | ms / face | faces / s | best ms / face |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of report.attribute) {
    out.push(
      `| ${c.precision} | ${c.threads} | ${c.batch} | ${f(c.ms_per_batch)} | ${f(c.ms_per_face, 3)} | ${f(c.faces_per_s, 0)} | ${f(c.best_ms_per_face, 3)} |`,
    );
  }
  const int8 = report.attribute.find((c) => c.precision === 'int8' && c.batch === 1 && c.threads === 1);
  const fp32 = report.attribute.find((c) => c.precision === 'fp32' && c.batch === 1 && c.threads === 1);
  if (int8 && fp32)
    out.push('', `INT8 vs FP32 at batch 1, 1 thread: ${f(fp32.ms_per_face / int8.ms_per_face)}× faster.`);

  out.push(
    '',
    '## Face detector (640×480 frame with 5 faces, whole frame, no tiles)',
    '',
    '| model | threads | faces found | ms / frame |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const c of report.detector) out.push(`| ${c.model} | ${c.threads} | ${c.faces} | ${f(c.ms)} |`);
  for (const threads of new Set(report.detector.map((c) => c.threads))) {
    const [front, back] = ['front', 'back'].map((model) =>
      report.detector.find((c) => c.model === model && c.threads === threads),
    );
    if (front && back)
      out.push(
        '',
        `${threads} thread${threads > 1 ? 's' : ''}: back / front = ${f(back.ms / front.ms)}× the time.`,
      );
  }

  out.push(
    '',
    '## Full pipeline (detect → align → attributes, 640×480 frame, default models)',
    '',
    'From decoded pixels (a video frame); the last column includes decoding the JPEG.',
    '',
    '| threads | faces in frame | faces found | ms / frame | frames / s | ms / frame from JPEG |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const c of report.pipeline) {
    out.push(
      `| ${c.threads} | ${c.faces} | ${c.detected} | ${f(c.ms_per_frame)} | ${f(c.fps, 1)} | ${f(c.jpeg_ms_per_frame)} |`,
    );
  }
  for (const threads of new Set(report.pipeline.map((c) => c.threads))) {
    const [one, five] = [1, 5].map((faces) =>
      report.pipeline.find((c) => c.faces === faces && c.threads === threads),
    );
    if (one && five) {
      out.push(
        '',
        `${threads} thread${threads > 1 ? 's' : ''}: 5 faces / 1 face = ${f(five.ms_per_frame / one.ms_per_frame)}× the time per frame.`,
      );
    }
  }

  if (report.stages?.length) out.push('', ...stagesMarkdown(report.stages));

  if (report.comparison?.length) {
    out.push(
      '',
      '## Multi-task vs single-task models',
      '',
      'The same random batch through the one multi-task model, and through the single-task',
      'models one after another (same session options). Memory: what loading the set and running',
      'one batch adds to the RSS of a fresh Node process.',
    );
    for (const { precision, threads, sets } of report.comparison) {
      const batches = Object.keys(sets[0].ms_per_face);
      out.push(
        '',
        `### ${precision}, ${threads} thread${threads > 1 ? 's' : ''}`,
        '',
        `| models | files | bytes | ${batches.map((b) => `ms / face (batch ${b})`).join(' | ')} | RSS added |`,
        `| --- | ---: | ---: | ${batches.map(() => '---:').join(' | ')} | ---: |`,
      );
      for (const set of sets) {
        const times = batches.map((b) => f(set.ms_per_face[b], 3)).join(' | ');
        const rss = set.rss_added_mib == null ? '–' : `${f(set.rss_added_mib, 1)} MiB`;
        out.push(`| ${set.name} | ${set.files.length} | ${mib(set.bytes)} | ${times} | ${rss} |`);
      }
      const [base, ...others] = sets;
      for (const other of others) {
        const ratios = batches.map((b) => `${f(other.ms_per_face[b] / base.ms_per_face[b])}× (batch ${b})`);
        out.push(
          '',
          `${other.name} / ${base.name}: time ${ratios.join(', ')}, bytes ${f(other.bytes / base.bytes)}×.`,
        );
      }
    }
  }
  out.push(
    '',
    '## Process memory',
    '',
    `RSS at start ${f(report.memory.rss_start_mib, 1)} MiB, at the end ${f(report.memory.rss_end_mib, 1)} MiB (all models above loaded); JS heap ${f(report.memory.heap_used_mib, 1)} MiB.`,
  );
  if (report.notes.length) out.push('', '## Notes', '', ...report.notes.map((note) => `- ${note}`));
  out.push(
    '',
    '## Commands',
    '',
    '- `npm run bench`: everything above, rewriting this file and `bench/results/latest.json`.',
    '- `facemtl bench --only attribute,detector,pipeline,stages,compare`: some parts only; `--budget MS` per cell.',
    '- `facemtl bench --only compare --baselines DIR`: multi-task vs `DIR/single-{age,gender,ethnicity,emotion}-{fp32,int8}.onnx` (default `models/baselines/`).',
    '- `facemtl bench --only compare --models a.onnx,b.onnx`: any files, run one after another, vs the multi-task model.',
    '- `--json FILE`, `--markdown FILE`: where the results go (default: markdown on stdout).',
    '',
    "Frames: the faces the detector finds first in `@vladmandic/face-api`'s `demo/sample1-6.jpg`,",
    'composed with sharp into a 640×480 frame of one face (framed like a webcam) and one of five',
    `faces (200 px tiles on gray). Attribute-model inputs are random ${report.input_size}×${report.input_size} crops (speed does not`,
    'depend on the content).',
    '',
    'Other benchmarks write their tables to `bench/results/`: [peers.md](results/peers.md) (the peer',
    'libraries, `bench/peers/run.mjs`), [video.md](results/video.md) (`bench/video.mjs`: `facemtl video`',
    'frames/s per detector and `--detect-every`, and what fewer model runs cost in ID switches and labels),',
    '[server-load.md](results/server-load.md) and [server-load-640.md](results/server-load-640.md)',
    '(`bench/server-load.mjs`: the server next to the pipeline alone), [server-attack.md](results/server-attack.md)',
    '(`bench/server-attack.mjs`), [web.md](results/web.md) (`bench/web-frame.mjs`),',
    '[refine-eyes.md](results/refine-eyes.md) (`bench/refine-eyes.mjs`: what the close-up refinement does to',
    'the eyes, per face size), [photo-decode.md](results/photo-decode.md) (`bench/photo-decode.mjs`: photos',
    'from bytes, the sRGB shortcut), [resample.md](results/resample.md) (`bench/resample.mjs`: the detector-input',
    "resample's JavaScript and WebAssembly passes). `npm run bench:all` regenerates this file and all of them (about 20",
    'minutes on 2 cores; the peers need `../shared/data`, refine-eyes CelebA).',
  );
  return out.join('\n') + '\n';
}

const STAGE_NAMES: Record<string, string> = {
  decode: 'decode the JPEG (sharp, EXIF orientation)',
  resize: 'resize into the detector input (in process; all regions and refinements)',
  detector: 'detector, whole (resize, model runs, decoding, refinement)',
  decode_boxes_nms: 'decode boxes + weighted NMS (one region)',
  crops: 'eye-aligned crops',
  attribute_model: 'attribute model (one batch)',
  json: 'decode outputs + JSON',
};

/** The per-stage breakdown: the whole call, the bare model runs it makes, each stage alone. */
function stagesMarkdown(stages: StageTimes[]): string[] {
  const out = [
    '## Where the time goes (1 thread)',
    '',
    'The whole call next to the bare ONNX Runtime runs of the models it makes (input ready) and each',
    'stage timed alone, all in alternation in one process. Webcam frames: decoded pixels through',
    "`analyzeFrame` with `{ detector: 'front', threads: 1 }`. Photo: the JPEG bytes through `analyze`",
    'with the default (accurate) detector: back model on the whole image and 2×2 tiles, then each',
    'face refined close up with the front model.',
    '',
    '| input | detector | faces | total ms | total without refinement | model runs | sum of bare runs ms | total / sum |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const s of stages) {
    const runs = Object.entries(s.detector_runs)
      .map(([model, count]) => `${count}× ${model} (${f(s.detector_run_ms[model as 'front' | 'back']!)} ms)`)
      .concat(`1× attributes (${f(s.attribute_run_ms)} ms)`)
      .join(' + ');
    out.push(
      `| ${s.input} | ${s.detector} | ${s.faces} | ${f(s.total_ms)} | ${f(s.total_no_refine_ms)} | ${runs} | ${f(s.model_sum_ms)} | ${f(s.overhead_ratio)}× |`,
    );
  }
  out.push(
    '',
    `| stage (ms, median) | ${stages.map((s) => s.input).join(' | ')} |`,
    `| --- |${stages.map(() => ' ---: |').join('')}`,
  );
  for (const [key, label] of Object.entries(STAGE_NAMES)) {
    const cells = stages.map((s) => (s.stages[key] === undefined ? '–' : f(s.stages[key], 3)));
    if (cells.some((cell) => cell !== '–')) out.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return out;
}

/**
 * `facemtl analyze <files|folders…>`: faces and their attributes in images, as a table, JSON or
 * CSV, optionally with annotated copies. A file that cannot be analysed gets a one-line reason and
 * the batch goes on; the exit code is 1 when any file failed.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import sharp from 'sharp';
import { loadImage } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import { FaceAnalyzer, type Analysis, type Face } from '../pipeline/index.js';
import { addModelOptions, choice, fraction, integer } from './options.js';

const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
]);

interface AnalyzeFlags {
  json?: boolean;
  csv?: boolean;
  annotate?: string;
  model?: string;
  precision: 'int8' | 'fp32';
  threads?: number;
  detector: 'front' | 'back' | 'auto';
  minScore: number;
  maxFaces: number;
  minFaceSize: number;
  tiles?: number;
  maxPixels: number;
  progress: boolean;
}

/** One file's outcome: the analysis, or why there is none. */
type FileResult = { file: string } & (Analysis | { error: { code: string; message: string } });

export function register(program: Command): void {
  addModelOptions(program.command('analyze'))
    .description(
      'detect faces and estimate age, gender, ethnicity and emotion in images (see docs/library.md)',
    )
    .argument('<inputs...>', 'image files and/or folders (searched recursively for images)')
    .option('--json', 'print one JSON array with every file’s result')
    .option('--csv', 'print CSV, one row per face (files without faces or with errors get one row)')
    .option('--annotate <dir>', 'write each image with boxes, landmarks and labels drawn into DIR')
    .option(
      '--detector <detector>',
      'front (128 px, near faces) | back (256 px, smaller faces) | auto (back + tiles on large images)',
      choice(['front', 'back', 'auto']),
      'auto',
    )
    .option('--min-score <score>', 'minimum detection score, 0–1', fraction('--min-score'), 0.5)
    .option('--max-faces <n>', 'at most N faces per image (best first)', integer('--max-faces', 1), 100)
    .option('--min-face-size <px>', 'ignore faces narrower than PX pixels', integer('--min-face-size', 0), 0)
    .option(
      '--tiles <n>',
      'also search an N×N grid of overlapping tiles for small faces (0 = off)',
      integer('--tiles', 0),
    )
    .option(
      '--max-pixels <n>',
      'refuse images larger than N pixels (checked before decoding)',
      integer('--max-pixels', 1),
      100_000_000,
    )
    .option('--no-progress', 'no progress bar on stderr (it only shows on a terminal anyway)')
    // Usage errors (bad option values, missing arguments) exit with 2, like other CLI errors.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (inputs: string[], flags: AnalyzeFlags) => {
      if (flags.json && flags.csv) throw new InvalidArgumentError('choose one of --json and --csv');
      process.exitCode = await runAnalyze(inputs, flags);
    });
}

async function runAnalyze(inputs: string[], flags: AnalyzeFlags): Promise<number> {
  const files = await expandInputs(inputs);
  if (files.length === 0) throw new InvalidArgumentError('no image files found in the given folders');
  const analyzer = await FaceAnalyzer.create({
    modelPath: flags.model,
    precision: flags.precision,
    threads: flags.threads,
    detector: flags.detector,
    minScore: flags.minScore,
    maxFaces: flags.maxFaces,
    minFaceSize: flags.minFaceSize,
    tiles: flags.tiles,
  });
  if (flags.annotate) await mkdir(flags.annotate, { recursive: true });
  const progress = new ProgressBar(files.length, flags.progress && files.length > 1);
  const results: FileResult[] = [];
  const annotatedNames = new Set<string>();
  try {
    if (flags.csv) process.stdout.write(CSV_HEADER.join(',') + '\n');
    for (const file of files) {
      const result = await analyzeFile(analyzer, file, flags, annotatedNames);
      results.push(result);
      progress.clear();
      if ('error' in result) console.error(`facemtl: ${result.error.message}`);
      if (flags.csv) process.stdout.write(csvRows(result).join('\n') + '\n');
      else if (!flags.json) process.stdout.write(tableRows(result).join('\n') + '\n');
      progress.tick();
    }
  } finally {
    progress.clear();
    await analyzer.dispose();
  }
  if (flags.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return results.some((result) => 'error' in result) ? 1 : 0;
}

async function analyzeFile(
  analyzer: FaceAnalyzer,
  file: string,
  flags: AnalyzeFlags,
  annotatedNames: Set<string>,
): Promise<FileResult> {
  try {
    const image = await loadImage(file, { maxPixels: flags.maxPixels });
    const analysis = await analyzer.analyzeFrame(image);
    if (flags.annotate)
      await writeAnnotated(image, analysis, join(flags.annotate, uniqueName(file, annotatedNames)));
    return { file, ...analysis };
  } catch (error) {
    const code =
      typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'error';
    const message = error instanceof Error ? error.message : String(error);
    // Loader messages already name the file; others get it in front.
    return { file, error: { code, message: message.startsWith(file) ? message : `${file}: ${message}` } };
  }
}

/** Files as given; folders → their image files, recursively, sorted. A missing path stays, to fail clearly. */
async function expandInputs(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => null);
    if (!info?.isDirectory()) {
      files.push(input);
      continue;
    }
    const entries = await readdir(input, { recursive: true, withFileTypes: true });
    const images = entries
      .filter((entry) => entry.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()))
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    files.push(...images);
  }
  return files;
}

// ---------- output formats ----------

const percent = (probability: number) => `${Math.round(probability * 100)}%`;

function tableRows(result: FileResult): string[] {
  if ('error' in result) return [`${result.file}  error: ${result.error.code}`];
  if (result.faces.length === 0) return [`${result.file}  ${result.width}×${result.height}  no face`];
  return [
    `${result.file}  ${result.width}×${result.height}  ${result.faces.length} face${result.faces.length === 1 ? '' : 's'}`,
    ...result.faces.map((face, index) => {
      const { x, y, width, height } = face.box;
      return [
        `  #${index + 1}`,
        `box ${Math.round(x)},${Math.round(y)} ${Math.round(width)}×${Math.round(height)}`.padEnd(24),
        `score ${face.score.toFixed(2)}`,
        `age ${face.age.years.toFixed(0)} (${face.age.low.toFixed(0)}–${face.age.high.toFixed(0)})`.padEnd(
          15,
        ),
        `${face.gender.label} ${percent(face.gender.probability)}`.padEnd(12),
        `${face.ethnicity.label} ${percent(face.ethnicity.probabilities[face.ethnicity.label])}`.padEnd(12),
        `${face.emotion.label} ${percent(face.emotion.probabilities[face.emotion.label])}`,
      ].join('  ');
    }),
  ];
}

const CSV_HEADER = [
  'file',
  'face',
  'x',
  'y',
  'width',
  'height',
  'score',
  'age',
  'age_low',
  'age_high',
  'gender',
  'gender_probability',
  'ethnicity',
  'ethnicity_probability',
  'emotion',
  'emotion_probability',
  'error',
];

function csvRows(result: FileResult): string[] {
  const row = (values: (string | number)[]) => values.map(csvField).join(',');
  const empty = Array<string>(CSV_HEADER.length - 2).fill('');
  if ('error' in result) return [row([result.file, '', ...empty.slice(1), result.error.message])];
  if (result.faces.length === 0) return [row([result.file, 0, ...empty])];
  return result.faces.map((face, index) =>
    row([
      result.file,
      index + 1,
      face.box.x,
      face.box.y,
      face.box.width,
      face.box.height,
      face.score,
      face.age.years,
      face.age.low,
      face.age.high,
      face.gender.label,
      face.gender.probability,
      face.ethnicity.label,
      face.ethnicity.probabilities[face.ethnicity.label],
      face.emotion.label,
      face.emotion.probabilities[face.emotion.label],
      '',
    ]),
  );
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// ---------- annotated images ----------

function uniqueName(file: string, taken: Set<string>): string {
  const extension = extname(file).toLowerCase();
  const stem = basename(file, extname(file));
  const outputExtension = ['.jpg', '.jpeg', '.png', '.webp'].includes(extension) ? extension : '.png';
  let name = `${stem}${outputExtension}`;
  for (let n = 2; taken.has(name); n++) name = `${stem}-${n}${outputExtension}`;
  taken.add(name);
  return name;
}

async function writeAnnotated(image: RgbImage, analysis: Analysis, path: string): Promise<void> {
  const overlay = Buffer.from(annotationSvg(analysis));
  const output = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: overlay, top: 0, left: 0 }])
    .toFormat(path.endsWith('.png') ? 'png' : path.endsWith('.webp') ? 'webp' : 'jpeg')
    .toBuffer();
  await writeFile(path, output);
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

function annotationSvg({ width, height, faces }: Analysis): string {
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 500));
  const shapes = faces.map((face: Face) => {
    const { x, y, width: w, height: h } = face.box;
    const fontSize = Math.max(12, Math.round(w / 7));
    const label = `${face.gender.label[0].toUpperCase()} ${Math.round(face.age.years)} · ${face.ethnicity.label} · ${face.emotion.label}`;
    const points = Object.values(face.landmarks)
      .map((p) => `<circle cx="${p.x}" cy="${p.y}" r="${stroke * 1.5}" fill="#ffcc00"/>`)
      .join('');
    const labelY = y > fontSize * 1.4 ? y - stroke * 2 : y + h + fontSize;
    return (
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#00e676" stroke-width="${stroke}"/>` +
      points +
      `<text x="${x}" y="${labelY}" font-family="sans-serif" font-size="${fontSize}" fill="#fff" ` +
      `stroke="#000" stroke-width="${Math.max(1, fontSize / 8)}" paint-order="stroke">${escapeXml(label)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

// ---------- progress and option parsing ----------

/** `[=====     ] 12/100  3.4 images/s` on stderr, redrawn in place; only on a terminal. */
class ProgressBar {
  private done = 0;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    wanted: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = wanted && Boolean(stream.isTTY);
  }

  tick(): void {
    this.done++;
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const rate = this.done / Math.max(1e-3, (performance.now() - this.started) / 1000);
    this.stream.write(
      `\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${this.done}/${this.total}  ${rate.toFixed(1)} images/s\x1b[K`,
    );
  }

  clear(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}

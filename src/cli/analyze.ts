/**
 * `facemtl analyze <files|folders…>`: faces and their attributes in images, as a table, JSON or
 * CSV, optionally with annotated copies. A file or folder that cannot be read or analysed gets a
 * one-line reason and the batch goes on; the exit code is 1 when any of them failed.
 */
import type { Dirent, Stats } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import sharp from 'sharp';
import { binaryLabels, presentAttributes } from '../attributes/binary.js';
import { loadContract } from '../attributes/contract.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, fileErrorReason, loadImage } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import { FaceAnalyzer, type Analysis, type Face } from '../pipeline/index.js';
import { DETECTORS } from '../detect/detector.js';
import { addModelOptions, choice, DETECTOR_HELP, fraction, integer } from './options.js';
import { Progress } from './progress.js';

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
  flip?: boolean;
  detector: 'front' | 'back' | 'auto';
  minScore: number;
  maxFaces: number;
  minFaceSize: number;
  tiles?: number;
  maxPixels: number;
  maxBytes: number;
  progress: boolean;
}

interface FileError {
  error: { code: string; message: string };
}

/**
 * One file's outcome: the analysis (with `annotateError` when its annotated copy could not be
 * written), or why there is none.
 */
export type FileResult = { file: string } & ((Analysis & { annotateError?: string }) | FileError);

/** A file to analyse, or an entry found unreadable while searching the folders. */
type Candidate = { file: string } & Partial<FileError>;

export function register(program: Command): void {
  addModelOptions(program.command('analyze'))
    .description(
      'detect faces and estimate age, gender, ethnicity, emotion and yes/no attributes (smile, eyeglasses, …) in images (see docs/library.md)',
    )
    .argument('<inputs...>', 'image files and/or folders (searched recursively for images)')
    .option('--json', 'print one JSON array with every file’s result')
    .option('--csv', 'print CSV, one row per face (files without faces or with errors get one row)')
    .option('--annotate <dir>', 'write each image with boxes, landmarks and labels drawn into DIR')
    .option('--flip', 'also run every face mirrored left–right and average the two outputs (2× model time)')
    .option('--detector <detector>', DETECTOR_HELP, choice(DETECTORS), 'auto')
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
      DEFAULT_MAX_PIXELS,
    )
    .option(
      '--max-bytes <n>',
      'refuse files larger than N bytes (checked before reading)',
      integer('--max-bytes', 1),
      DEFAULT_MAX_BYTES,
    )
    .option('--no-progress', 'no progress bar on stderr (it only shows on a terminal anyway)')
    .action(async (inputs: string[], flags: AnalyzeFlags) => {
      if (flags.json && flags.csv) throw new InvalidArgumentError('choose one of --json and --csv');
      process.exitCode = await runAnalyze(inputs, flags);
    });
}

async function runAnalyze(inputs: string[], flags: AnalyzeFlags): Promise<number> {
  const candidates = await expandInputs(inputs);
  if (candidates.length === 0) throw new InvalidArgumentError('no image files found in the given folders');
  const analyzer = await FaceAnalyzer.create({
    modelPath: flags.model,
    precision: flags.precision,
    threads: flags.threads,
    flipAverage: Boolean(flags.flip),
    detector: flags.detector,
    minScore: flags.minScore,
    maxFaces: flags.maxFaces,
    minFaceSize: flags.minFaceSize,
    tiles: flags.tiles,
  });
  if (flags.annotate) await mkdir(flags.annotate, { recursive: true });
  const progress = new Progress({
    label: 'analyze',
    total: candidates.length,
    unit: 'images',
    enabled: flags.progress && candidates.length > 1,
  });
  const results: FileResult[] = [];
  const annotatedNames = new Set<string>();
  try {
    if (flags.csv) process.stdout.write(CSV_HEADER.join(',') + '\n');
    for (const candidate of candidates) {
      const result = candidate.error
        ? { file: candidate.file, error: candidate.error }
        : await analyzeFile(analyzer, candidate.file, flags, annotatedNames);
      results.push(result);
      progress.clear();
      if ('error' in result) console.error(`facemtl: ${result.error.message}`);
      else if (result.annotateError) console.error(`facemtl: ${result.annotateError}`);
      if (flags.csv) process.stdout.write(csvRows(result).join('\n') + '\n');
      else if (!flags.json) process.stdout.write(tableRows(result).join('\n') + '\n');
      progress.tick();
    }
  } finally {
    progress.done();
    await analyzer.dispose();
  }
  if (flags.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return results.some((result) => 'error' in result || result.annotateError) ? 1 : 0;
}

async function analyzeFile(
  analyzer: FaceAnalyzer,
  file: string,
  flags: AnalyzeFlags,
  annotatedNames: Set<string>,
): Promise<FileResult> {
  let image: RgbImage;
  let analysis: Analysis;
  try {
    image = await loadImage(file, { maxPixels: flags.maxPixels, maxBytes: flags.maxBytes });
    analysis = await analyzer.analyzeFrame(image);
  } catch (error) {
    const code =
      typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'error';
    return errorResult(file, code, (error instanceof Error ? error.message : String(error)).split('\n')[0]);
  }
  if (!flags.annotate) return { file, ...analysis };
  // A failed write loses the copy only, not the analysis.
  const path = join(flags.annotate, uniqueName(file, annotatedNames));
  try {
    await writeAnnotated(image, analysis, path);
    return { file, ...analysis };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code
      ? fileErrorReason(error)
      : (error as Error).message.split('\n')[0];
    return {
      file,
      ...analysis,
      annotateError: `${file}: cannot write the annotated copy ${path}: ${reason}`,
    };
  }
}

/** A file's error row. Loader messages already name the file; others get it in front. */
export function errorResult(file: string, code: string, message: string): FileResult {
  return { file, error: { code, message: message.startsWith(file) ? message : `${file}: ${message}` } };
}

/**
 * Files as given (a missing or special one stays, to fail with its reason); folders → their image
 * files, recursively, sorted. Links are followed, to files and to folders, except a link back to
 * a folder it is in (a loop). A folder that cannot be listed becomes an entry with its reason.
 */
export async function expandInputs(inputs: string[]): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => null);
    if (!info?.isDirectory()) {
      candidates.push({ file: input });
      continue;
    }
    const found: Candidate[] = [];
    await searchFolder(input, new Set([folderKey(info)]), found);
    candidates.push(...found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)));
  }
  return candidates;
}

const folderKey = (info: Stats) => `${info.dev}:${info.ino}`;
const isImageName = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
const unreadable = (file: string, reason: string): Candidate => ({
  file,
  error: { code: 'unreadable', message: `${file}: ${reason}` },
});

async function searchFolder(folder: string, ancestors: Set<string>, found: Candidate[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    found.push(unreadable(folder, `cannot list the folder (${fileErrorReason(error)})`));
    return;
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (!entry.isDirectory() && !entry.isSymbolicLink()) {
      // Regular files, and FIFOs or devices named like images: loadImage refuses those with a reason.
      if (isImageName(entry.name)) found.push({ file: path });
      continue;
    }
    const target = await stat(path).catch((error: unknown) => error as NodeJS.ErrnoException);
    if (target instanceof Error) {
      // A broken link or a link loop: reported when it is named like an image, else ignored.
      if (isImageName(entry.name)) found.push(unreadable(path, fileErrorReason(target)));
    } else if (target.isDirectory()) {
      const key = folderKey(target);
      if (ancestors.has(key))
        found.push(unreadable(path, 'a link back to a folder it is in (a loop): skipped'));
      else await searchFolder(path, new Set([...ancestors, key]), found);
    } else if (isImageName(entry.name)) {
      found.push({ file: path });
    }
  }
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
        `${face.emotion.label} ${percent(face.emotion.probabilities[face.emotion.label])}`.padEnd(13),
        presentAttributes(face.attributes).join(', '),
      ]
        .join('  ')
        .trimEnd();
    }),
  ];
}

/**
 * The binary attributes of the package's contract: one CSV column each, in the same order whatever
 * model runs (empty for a model without them), so files from different models line up.
 */
const ATTRIBUTE_LABELS = binaryLabels(loadContract());

export const CSV_HEADER = [
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
  ...ATTRIBUTE_LABELS.map((name) => `${name}_probability`),
  'error',
];

export function csvRows(result: FileResult): string[] {
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
      ...ATTRIBUTE_LABELS.map((name) => face.attributes?.[name]?.probability ?? ''),
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
    const above = y > fontSize * 1.4;
    const labelY = above ? y - stroke * 2 : y + h + fontSize;
    // The attributes the face shows (smile, glasses, …) on their own line under the box.
    const shown = presentAttributes(face.attributes).join(', ');
    const text = (line: string, lineY: number) =>
      `<text x="${x}" y="${lineY}" font-family="sans-serif" font-size="${fontSize}" fill="#fff" ` +
      `stroke="#000" stroke-width="${Math.max(1, fontSize / 8)}" paint-order="stroke">${escapeXml(line)}</text>`;
    return (
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#00e676" stroke-width="${stroke}"/>` +
      points +
      text(label, labelY) +
      (shown ? text(shown, y + h + fontSize * (above ? 1 : 2.2)) : '')
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

/**
 * How an evaluation is shown: the `--json` object's type, a plain-text table for the terminal,
 * and the `--report DIR` files (a markdown summary and one confusion-matrix PNG per task).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ATTRIBUTE_TASKS, type AttributeTask } from './layouts/index.js';
import type { AgeResult, BinaryResult, ClassificationResult, GroupResult } from './metrics.js';

/** The classification tasks a report can hold, in report order. */
export const CLASSIFICATION_TASKS = [
  'gender',
  'ethnicity',
  'emotion',
  'emotion_ferplus',
  'emotion_fer2013',
] as const;
export type ClassificationTask = (typeof CLASSIFICATION_TASKS)[number];

/** The `facemtl eval --json` object (documented in docs/eval.md). */
export interface EvalReport {
  layout: string;
  path: string;
  model: string;
  precision: string;
  detect: boolean;
  /** How images became crops: a dataset's framing (`utkface`, `fer`, `celeba`, `fairface`) or `detect`. */
  framing: string;
  /** With `--detect` only: the detector that ran (`auto`, `front` or `back`). */
  detector?: string;
  /** Whether each crop's outputs were averaged with its mirror's (`--flip`). */
  flip: boolean;
  /** Samples scored (including faces `--detect` did not find). */
  n: number;
  /** Samples left out (malformed name, unreadable image, no label, …), by reason in `skipped_reasons`. */
  skipped: number;
  skipped_reasons: Record<string, number>;
  skipped_examples: Record<string, string[]>;
  /** With `--detect`: samples in which no face was found (misses for every task). */
  not_detected: number;
  elapsed_s: number;
  age?: AgeResult;
  gender?: ClassificationResult;
  ethnicity?: ClassificationResult;
  emotion?: ClassificationResult;
  emotion_ferplus?: ClassificationResult;
  emotion_fer2013?: ClassificationResult;
  /** Age MAE and gender accuracy per `"<ethnicity>/<gender>"` group, where both are labelled. */
  groups?: Record<string, GroupResult>;
  /** Yes/no attributes (layouts `celeba` and `folders --task <attribute>`). */
  smile?: BinaryResult;
  eyeglasses?: BinaryResult;
  makeup?: BinaryResult;
  lipstick?: BinaryResult;
  beard?: BinaryResult;
  moustache?: BinaryResult;
  sideburns?: BinaryResult;
  /** Where smiles are labelled: the emotion head as a smile detector, P(happy) ≥ 0.5. */
  smile_from_happy?: BinaryResult;
  /**
   * Where gender and attributes are labelled (celeba): each attribute per
   * `"<predicted ethnicity>/<gender>"` group (the dataset labels no ethnicity).
   */
  attribute_groups?: Record<string, Partial<Record<AttributeTask, AttributeGroupResult>>>;
}

export type AttributeGroupResult = Pick<BinaryResult, 'accuracy' | 'balanced_accuracy' | 'base_rate' | 'n'>;

/** The yes/no rows of a report, in report order, with their labels. */
function binaryRows(report: EvalReport): [string, BinaryResult][] {
  const rows: [string, BinaryResult][] = [];
  for (const task of ATTRIBUTE_TASKS) {
    const result = report[task];
    if (result) rows.push([task, result]);
  }
  if (report.smile_from_happy) rows.push(['smile from P(happy)', report.smile_from_happy]);
  return rows;
}

const percent = (value: number | null | undefined) => (value == null ? '–' : `${(value * 100).toFixed(1)}%`);
const fixed = (value: number | null | undefined, digits: number) =>
  value == null ? '–' : value.toFixed(digits);

/** A compact plain-text summary for the terminal. */
export function formatTable(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`facemtl eval ${report.layout} ${report.path}`);
  lines.push(
    `model ${report.model} (${report.precision})${report.detect ? ', with face detection' : ''}` +
      `${report.flip ? ', flip-averaged' : ''}: ` +
      `${report.n} scored, ${report.skipped} skipped, ${report.not_detected} not detected, ${report.elapsed_s.toFixed(1)} s`,
  );
  for (const [reason, count] of Object.entries(report.skipped_reasons))
    lines.push(`  skipped (${reason}): ${count}`);
  lines.push('');
  const rows: string[][] = [['task', 'n', 'accuracy / MAE', 'ECE / 90% coverage']];
  if (report.age) {
    rows.push([
      'age',
      String(report.age.n),
      `${fixed(report.age.mae, 2)} years`,
      percent(report.age.interval_coverage),
    ]);
  }
  for (const task of CLASSIFICATION_TASKS) {
    const result = report[task];
    if (result) rows.push([task, String(result.n), percent(result.accuracy), fixed(result.ece, 3)]);
  }
  lines.push(...alignColumns(rows));
  const binary = binaryRows(report);
  if (binary.length) {
    const table = [['attribute', 'n', 'accuracy', 'balanced', 'F1', 'base rate', 'threshold']];
    for (const [name, r] of binary) {
      table.push([
        name,
        String(r.n),
        percent(r.accuracy),
        percent(r.balanced_accuracy),
        fixed(r.f1, 3),
        percent(r.base_rate),
        fixed(r.threshold, 2),
      ]);
    }
    lines.push('', ...alignColumns(table));
  }
  for (const task of CLASSIFICATION_TASKS) {
    const result = report[task];
    if (!result) continue;
    const recalls = Object.entries(result.per_class).map(
      ([label, { recall, support }]) => `${label} ${percent(recall)} (${support})`,
    );
    lines.push('', `${task} recall (support): ${recalls.join(', ')}`);
    if (result.classes_not_in_model)
      lines.push(`  classes the model lacks: ${result.classes_not_in_model.join(', ')}`);
  }
  if (report.groups && Object.keys(report.groups).length) {
    lines.push('', 'groups:');
    const groupRows = [['group', 'n', 'age MAE', 'gender accuracy']];
    for (const [group, result] of Object.entries(report.groups)) {
      groupRows.push([group, String(result.n), fixed(result.age_mae, 2), percent(result.gender_accuracy)]);
    }
    lines.push(...alignColumns(groupRows).map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd(),
  );
}

/** Writes `summary.md`, `report.json` and `confusion-<task>.png` files into `dir`. */
export async function writeReport(report: EvalReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const markdown: string[] = [
    `# facemtl eval: ${report.layout}`,
    '',
    `- data: \`${report.path}\``,
    `- model: \`${report.model}\` (${report.precision})${report.detect ? ', faces found by the detector' : ''}` +
      `${report.flip ? ', outputs averaged with the mirrored crop' : ''}`,
    `- scored ${report.n}, skipped ${report.skipped}, not detected ${report.not_detected}`,
  ];
  for (const [reason, count] of Object.entries(report.skipped_reasons))
    markdown.push(`  - skipped (${reason}): ${count}`);
  markdown.push(
    '',
    '| task | n | accuracy / MAE | ECE / 90% interval coverage |',
    '| --- | ---: | ---: | ---: |',
  );
  if (report.age) {
    markdown.push(
      `| age | ${report.age.n} | ${fixed(report.age.mae, 2)} years | ${percent(report.age.interval_coverage)} |`,
    );
  }
  for (const task of CLASSIFICATION_TASKS) {
    const result = report[task];
    if (result)
      markdown.push(`| ${task} | ${result.n} | ${percent(result.accuracy)} | ${fixed(result.ece, 3)} |`);
  }
  const binary = binaryRows(report);
  if (binary.length) {
    markdown.push('', '| attribute | n | accuracy | balanced accuracy | F1 | base rate | threshold |');
    markdown.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, r] of binary) {
      markdown.push(
        `| ${name} | ${r.n} | ${percent(r.accuracy)} | ${percent(r.balanced_accuracy)} | ${fixed(r.f1, 3)} | ${percent(r.base_rate)} | ${fixed(r.threshold, 2)} |`,
      );
    }
  }
  for (const task of CLASSIFICATION_TASKS) {
    const result = report[task];
    if (!result) continue;
    const file = `confusion-${task}.png`;
    await sharp(Buffer.from(confusionSvg(task, result)))
      .png()
      .toFile(join(dir, file));
    written.push(join(dir, file));
    markdown.push('', `## ${task}`, '', '| class | recall | support |', '| --- | ---: | ---: |');
    for (const [label, { recall, support }] of Object.entries(result.per_class)) {
      markdown.push(`| ${label} | ${percent(recall)} | ${support} |`);
    }
    markdown.push('', `![${task} confusion matrix](${file})`);
  }
  if (report.groups && Object.keys(report.groups).length) {
    markdown.push('', '## Groups (ethnicity/gender)', '', '| group | n | age MAE | gender accuracy |');
    markdown.push('| --- | ---: | ---: | ---: |');
    for (const [group, result] of Object.entries(report.groups)) {
      markdown.push(
        `| ${group} | ${result.n} | ${fixed(result.age_mae, 2)} | ${percent(result.gender_accuracy)} |`,
      );
    }
  }
  await writeFile(join(dir, 'summary.md'), markdown.join('\n') + '\n');
  await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  written.push(join(dir, 'summary.md'), join(dir, 'report.json'));
  return written;
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/**
 * A confusion matrix as SVG: rows are true classes, columns predictions; each cell shows its count
 * and is shaded by its share of the row (the recall on the diagonal).
 */
export function confusionSvg(title: string, result: ClassificationResult): string {
  const { labels, matrix } = result.confusion;
  const cell = 56;
  const left = 130;
  const top = 150;
  const size = labels.length * cell;
  const width = left + size + 20;
  const height = top + size + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" font-size="16" text-anchor="middle">${escapeXml(title)}: accuracy ${percent(result.accuracy)}, n ${result.n}</text>`,
    `<text x="${left + size / 2}" y="${height - 12}" font-size="13" text-anchor="middle">predicted</text>`,
    `<text x="16" y="${top + size / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${top + size / 2})">true</text>`,
  ];
  labels.forEach((label, i) => {
    const center = i * cell + cell / 2;
    parts.push(
      `<text x="${left - 8}" y="${top + center + 4}" font-size="12" text-anchor="end">${escapeXml(label)}</text>`,
      `<text x="${left + center + 4}" y="${top - 8}" font-size="12" transform="rotate(-60 ${left + center + 4} ${top - 8})">${escapeXml(label)}</text>`,
    );
  });
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      const share = total ? count / total : 0;
      const shade = Math.round(255 - share * 200);
      const x = left + j * cell;
      const y = top + i * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`,
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="12" text-anchor="middle" fill="${share > 0.6 ? 'white' : 'black'}">${count}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

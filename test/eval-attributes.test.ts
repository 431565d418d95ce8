/**
 * Yes/no attributes in `facemtl eval`: the celeba and fairface layouts, folders with
 * `smile/` + `not_smile/`, and the binary metrics (accuracy, balanced accuracy, F1, base rate).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from './fixtures/layouts.js';
import { evaluate, type Prediction } from '../src/eval/evaluate.js';
import { attributeFolder } from '../src/eval/layouts/folders.js';
import { openLayout } from '../src/eval/layouts/index.js';
import { BinaryScore } from '../src/eval/metrics.js';
import { formatTable, type EvalReport } from '../src/eval/report.js';

const COLUMNS =
  '5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young'.split(
    ' ',
  );

let root: string;
const jpeg = () =>
  sharp({ create: { width: 20, height: 24, channels: 3, background: { r: 90, g: 80, b: 70 } } })
    .jpeg()
    .toBuffer();

function celebaRow(name: string, positives: string[]): string {
  return [name, ...COLUMNS.map((c) => (positives.includes(c) ? ' 1' : '-1'))].join(' ');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'facemtl-attributes-'));
  const celeba = join(root, 'celeba');
  mkdirSync(join(celeba, 'img_align_celeba'), { recursive: true });
  for (const name of ['000001.jpg', '000002.jpg', '000003.jpg'])
    writeFileSync(join(celeba, 'img_align_celeba', name), await jpeg());
  // CRLF, as the official file; 000004 is listed but missing (a subset)
  const rows = [
    '4',
    COLUMNS.join(' '),
    celebaRow('000001.jpg', ['Smiling', 'Wearing_Lipstick', 'No_Beard']),
    celebaRow('000002.jpg', ['Male', 'Eyeglasses', 'Mustache']),
    celebaRow('000003.jpg', ['No_Beard', 'Sideburns']),
    celebaRow('000004.jpg', []),
  ];
  writeFileSync(join(celeba, 'list_attr_celeba.txt'), rows.join('\r\n') + '\r\n');
  writeFileSync(
    join(celeba, 'list_eval_partition.txt'),
    '000001.jpg 2\n000002.jpg 2\n000003.jpg 0\n000004.jpg 2\n',
  );

  const fairface = join(root, 'fairface');
  mkdirSync(join(fairface, 'val'), { recursive: true });
  for (const name of ['1.jpg', '2.jpg']) writeFileSync(join(fairface, 'val', name), await jpeg());
  writeFileSync(
    join(fairface, 'fairface_label_val.csv'),
    'file,age,gender,race,service_test\nval/1.jpg,20-29,Female,Southeast Asian,True\n' +
      'val/2.jpg,50-59,Male,Middle Eastern,False\nval/3.jpg,3-9,Male,Martian,False\n',
  );

  const smiles = join(root, 'smiles');
  for (const folder of ['smile', 'not_smile']) {
    mkdirSync(join(smiles, folder), { recursive: true });
    writeFileSync(join(smiles, folder, 'a.jpg'), await jpeg());
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('celeba layout', () => {
  it('reads the test partition by default, maps the attributes (beard = not No_Beard) and gender', async () => {
    const { reader, samples } = await collect('celeba', join(root, 'celeba'));
    expect(reader.geometry).toBe('celeba');
    expect(samples.map((s) => s.name)).toEqual(['000001.jpg', '000002.jpg']); // 000004 is missing
    expect(samples[0].labels).toEqual({
      gender: 'female',
      smile: true,
      eyeglasses: false,
      makeup: false,
      lipstick: true,
      beard: false,
      moustache: false,
      sideburns: false,
    });
    expect(samples[1].labels).toMatchObject({
      gender: 'male',
      eyeglasses: true,
      moustache: true,
      beard: true,
    });
  });

  it('takes --usage train | val | test | all and refuses anything else', async () => {
    expect(
      (await collect('celeba', join(root, 'celeba'), { usage: 'train' })).samples.map((s) => s.name),
    ).toEqual(['000003.jpg']);
    expect((await collect('celeba', join(root, 'celeba'), { usage: 'all' })).samples).toHaveLength(3);
    await expect(openLayout('celeba', join(root, 'celeba'), { usage: 'PublicTest' })).rejects.toThrow(
      /--usage must be one of train, val, test, all/,
    );
    await expect(collect('celeba', root)).rejects.toThrow(/list_attr_celeba.txt: cannot read it/);
  });
});

describe('fairface layout', () => {
  it('maps the 7 race groups onto the model’s 5 and skips unknown ones', async () => {
    const { reader, samples, skipped } = await collect('fairface', join(root, 'fairface'));
    expect(reader.tasks).toEqual(['gender', 'ethnicity']);
    expect(samples.map((s) => s.labels)).toEqual([
      { gender: 'female', ethnicity: 'asian' },
      { gender: 'male', ethnicity: 'other' },
    ]);
    expect(skipped.counts).toEqual({ 'malformed row': 1 });
  });
});

describe('folders layout with a yes/no attribute', () => {
  it('reads smile/ and not_smile/ as true and false', async () => {
    const { samples } = await collect('folders', join(root, 'smiles'), { task: 'smile' });
    expect(samples.map((s) => [s.name, s.labels.smile])).toEqual([
      ['not_smile/a.jpg', false],
      ['smile/a.jpg', true],
    ]);
    expect(attributeFolder('No-Eyeglasses', 'eyeglasses')).toBe(false);
    expect(attributeFolder('happy', 'smile')).toBeNull();
  });

  it('refuses a class folder that is neither', async () => {
    mkdirSync(join(root, 'smiles', 'maybe'), { recursive: true });
    await expect(collect('folders', join(root, 'smiles'), { task: 'smile' })).rejects.toThrow(
      /expects subfolders smile\/ and not_smile\/, not "maybe\/"/,
    );
    rmSync(join(root, 'smiles', 'maybe'), { recursive: true });
  });
});

describe('binary metrics', () => {
  it('counts a constant answer as 50% balanced accuracy whatever the base rate', () => {
    const score = new BinaryScore(0.5);
    for (let i = 0; i < 95; i++) score.add(false, 0.1);
    for (let i = 0; i < 5; i++) score.add(true, 0.1);
    const r = score.result();
    expect(r.accuracy).toBeCloseTo(0.95);
    expect(r.balanced_accuracy).toBeCloseTo(0.5);
    expect(r.f1).toBe(0);
    expect(r.base_rate).toBeCloseTo(0.05);
  });

  it('scores each attribute at the contract threshold, misses as "no", and the happy-as-smile bar', async () => {
    const reader = {
      tasks: ['smile', 'eyeglasses'] as const,
      geometry: 'celeba' as const,
      async *samples() {
        yield { name: 'a', bytes: Buffer.alloc(0), labels: { smile: true, eyeglasses: false } };
        yield { name: 'b', bytes: Buffer.alloc(0), labels: { smile: true, eyeglasses: true } };
        yield { name: 'c', bytes: Buffer.alloc(0), labels: { smile: false, eyeglasses: false } };
        yield { name: 'd', bytes: Buffer.alloc(0), labels: { smile: true, eyeglasses: true } };
      },
    };
    const out = (smile: number, glasses: number, happy: number): Prediction => ({
      outputs: { attributes: [smile, glasses], emotion: [1 - happy, happy] },
    });
    const predictions: Record<string, Prediction> = {
      a: out(0.7, 0.1, 0.9), // smile 0.7 ≥ 0.6 → yes (right); happy yes (right)
      b: out(0.55, 0.9, 0.2), // smile 0.55 < 0.6 → no (wrong); glasses right; happy no (wrong)
      c: out(0.1, 0.3, 0.1), // all right
      d: { notDetected: true }, // counts as "no" for both: smile wrong, glasses wrong
    };
    const scores = await evaluate(
      { ...reader, tasks: [...reader.tasks] },
      { predict: async (samples) => samples.map((s) => predictions[s.name]) },
      {
        outputLabels: { attributes: ['smile', 'eyeglasses'], emotion: ['neutral', 'happy'] },
        thresholds: { smile: 0.6 },
      },
    );
    expect(scores.smile).toMatchObject({ tp: 1, fn: 2, tn: 1, fp: 0, threshold: 0.6, n: 4 });
    expect(scores.eyeglasses).toMatchObject({ tp: 1, fn: 1, tn: 2, fp: 0, threshold: 0.5 });
    expect(scores.smile_from_happy).toMatchObject({ tp: 1, fn: 2, tn: 1 });
    const table = formatTable({
      layout: 'celeba',
      path: 'x',
      model: 'm',
      precision: 'int8',
      detect: false,
      framing: 'celeba',
      elapsed_s: 0,
      ...scores,
    } as EvalReport);
    expect(table).toMatch(/smile\s+4\s+50\.0%\s+66\.7%/);
    expect(table).toMatch(/smile from P\(happy\)/);
  });

  it('splits the attributes by predicted ethnicity and true gender', async () => {
    const reader = {
      tasks: ['gender' as const, 'makeup' as const],
      geometry: 'celeba' as const,
      async *samples() {
        yield { name: 'a', bytes: Buffer.alloc(0), labels: { gender: 'female', makeup: true } };
        yield { name: 'b', bytes: Buffer.alloc(0), labels: { gender: 'female', makeup: false } };
        yield { name: 'c', bytes: Buffer.alloc(0), labels: { gender: 'male', makeup: false } };
      },
    };
    const out = (female: number, asian: number, makeup: number): Prediction => ({
      outputs: { gender: [1 - female, female], ethnicity: [1 - asian, asian], attributes: [makeup] },
    });
    const predictions: Record<string, Prediction> = {
      a: out(0.9, 0.8, 0.9),
      b: out(0.8, 0.7, 0.7),
      c: out(0.1, 0.1, 0.2),
    };
    const scores = await evaluate(
      reader,
      { predict: async (samples) => samples.map((s) => predictions[s.name]) },
      { outputLabels: { gender: ['male', 'female'], ethnicity: ['white', 'asian'], attributes: ['makeup'] } },
    );
    expect(scores.attribute_groups).toEqual({
      'asian/female': { makeup: { accuracy: 0.5, balanced_accuracy: 0.5, base_rate: 0.5, n: 2 } },
      'white/male': { makeup: { accuracy: 1, balanced_accuracy: null, base_rate: 0, n: 1 } },
    });
  });
});

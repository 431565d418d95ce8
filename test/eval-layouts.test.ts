import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from './fixtures/layouts.js';
import { classMatcher } from '../src/eval/classes.js';
import { ferplusMajority, parseUtkfaceName } from '../src/eval/layouts/index.js';
import { readTar } from '../src/eval/tar.js';

let root: string;

async function jpeg(value: number, size = 40): Promise<Buffer> {
  return sharp({
    create: { width: size, height: size, channels: 3, background: { r: value, g: value, b: value } },
  })
    .jpeg()
    .toBuffer();
}

async function grayPng(value: number): Promise<Buffer> {
  return sharp(Buffer.alloc(48 * 48, value), { raw: { width: 48, height: 48, channels: 1 } })
    .png()
    .toBuffer();
}

const LONG_NAME = `${'9'.repeat(1)}_1_2_${'1'.repeat(120)}.jpg.chip.jpg`; // over tar's 100-byte name field

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'facemtl-layouts-'));
  // UTKFace: a parent folder with UTKFace/ inside, a malformed name, a non-image file
  const utk = join(root, 'utk', 'UTKFace');
  mkdirSync(utk, { recursive: true });
  writeFileSync(join(utk, '25_0_1_20170109150557335.jpg.chip.jpg'), await jpeg(100));
  writeFileSync(join(utk, '3_1_4_20170109150557336.jpg.chip.jpg'), await jpeg(150));
  writeFileSync(join(utk, '61_1_20170109142408075.jpg.chip.jpg'), await jpeg(50)); // no race field
  writeFileSync(join(utk, LONG_NAME), await jpeg(70));
  writeFileSync(join(utk, 'notes.txt'), 'not an image');
  execFileSync('tar', [
    '--format=gnu',
    '-czf',
    join(root, 'UTKFace.tar.gz'),
    '-C',
    join(root, 'utk'),
    'UTKFace',
  ]);
  execFileSync('tar', [
    '--format=pax',
    '-czf',
    join(root, 'UTKFace-pax.tar.gz'),
    '-C',
    join(root, 'utk'),
    'UTKFace',
  ]);

  // FER+: FER2013Test/ with label.csv (majority, tie, unknown, NF, no votes) and the 7-class labels
  const fer = join(root, 'ferplus', 'FER2013Test');
  mkdirSync(fer, { recursive: true });
  const votes: Record<string, number[]> = {
    'fer0000001.png': [1, 8, 1, 0, 0, 0, 0, 0, 0, 0], // happiness
    'fer0000002.png': [0, 0, 0, 5, 5, 0, 0, 0, 0, 0], // tie sadness/anger → sadness (first)
    'fer0000003.png': [2, 0, 0, 0, 0, 0, 0, 0, 6, 2], // unknown
    'fer0000004.png': [0, 0, 0, 0, 0, 0, 0, 0, 0, 10], // not a face
    'fer0000005.png': [0, 0, 0, 0, 0, 0, 0, 1, 0, 0], // contempt
  };
  const lines = Object.entries(votes).map(([name, v]) => `${name},"(0, 0, 48, 48)",${v.join(',')}`);
  writeFileSync(join(fer, 'label.csv'), lines.join('\n') + '\n');
  for (const [i, name] of Object.keys(votes).entries()) writeFileSync(join(fer, name), await grayPng(40 * i));
  writeFileSync(join(fer, 'fer0000006.png'), await grayPng(200)); // no votes, no label
  writeFileSync(
    join(root, 'fer2013_labels.csv'),
    [
      'Usage,Image name,emotion,emotion_name',
      'PrivateTest,fer0000001.png,3,happy',
      'PrivateTest,fer0000003.png,2,fear',
      'PrivateTest,,0,angry',
    ].join('\n'),
  );
  execFileSync('tar', ['-czf', join(root, 'ferplus.tar.gz'), '-C', join(root, 'ferplus'), 'FER2013Test']);

  // fer2013.csv: two PrivateTest rows, one Training row, a row with a bad pixel count, a bad label
  const pixels = (v: number) =>
    Array(48 * 48)
      .fill(v)
      .join(' ');
  writeFileSync(
    join(root, 'fer2013.csv'),
    [
      'emotion,pixels,Usage',
      `0,${pixels(10)},PrivateTest`,
      `6,"${pixels(20)}",PrivateTest`,
      `3,${pixels(30)},Training`,
      `4,1 2 3,PrivateTest`,
      `9,${pixels(40)},PrivateTest`,
    ].join('\n') + '\n',
  );

  // folders: synonyms and a class the model lacks
  for (const [folder, count] of [
    ['Happiness', 2],
    ['angry', 1],
    ['confused', 1],
  ] as const) {
    mkdirSync(join(root, 'classes', folder), { recursive: true });
    for (let i = 0; i < count; i++)
      writeFileSync(join(root, 'classes', folder, `img${i}.jpg`), await jpeg(30 * i));
  }
  writeFileSync(join(root, 'classes', 'README.txt'), 'a file next to the class folders');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('utkface layout', () => {
  it('parses names and rejects malformed ones', () => {
    expect(parseUtkfaceName('UTKFace/25_0_1_20170109150557335.jpg.chip.jpg')).toEqual({
      age: 25,
      gender: 'male',
      ethnicity: 'black',
    });
    expect(parseUtkfaceName('61_1_20170109142408075.jpg.chip.jpg')).toBeNull();
    expect(parseUtkfaceName('30_2_0_20170109142408075.jpg.chip.jpg')).toBeNull();
    expect(parseUtkfaceName('30_1_5_20170109142408075.jpg.chip.jpg')).toBeNull();
  });

  it.each([
    ['the parent folder', 'utk'],
    ['the UTKFace folder', 'utk/UTKFace'],
    ['a GNU tar.gz', 'UTKFace.tar.gz'],
    ['a pax tar.gz', 'UTKFace-pax.tar.gz'],
  ])('reads %s, skipping and counting malformed names', async (_, path) => {
    const { reader, samples, skipped } = await collect('utkface', join(root, path));
    expect(reader.tasks).toEqual(['age', 'gender', 'ethnicity']);
    expect(reader.geometry).toBe('utkface');
    expect(samples.map((s) => s.labels).sort((a, b) => a.age! - b.age!)).toEqual([
      { age: 3, gender: 'female', ethnicity: 'other' },
      { age: 9, gender: 'female', ethnicity: 'asian' },
      { age: 25, gender: 'male', ethnicity: 'black' },
    ]);
    expect(samples.find((s) => s.labels.age === 9)!.name).toBe(LONG_NAME);
    expect(skipped.counts).toEqual({ 'malformed name': 1 });
    const decoded = await sharp(samples[0].bytes).metadata();
    expect(decoded.width).toBe(40);
  });

  it('fails with one line on a missing path or a folder without images', async () => {
    await expect(collect('utkface', join(root, 'nope'))).rejects.toThrow(/no such file/);
    await expect(collect('utkface', join(root, 'ferplus'))).rejects.toThrow(/no UTKFace images/);
  });
});

describe('tar reader', () => {
  it('skips entries the filter declines and rejects a file that is not a tar', async () => {
    const names: string[] = [];
    for await (const entry of readTar(join(root, 'UTKFace.tar.gz'), (name) => name.includes('_0_1_'))) {
      names.push(entry.name);
      expect(entry.data.length).toBeGreaterThan(100);
    }
    expect(names).toEqual(['UTKFace/25_0_1_20170109150557335.jpg.chip.jpg']);
    const consume = async () => {
      for await (const entry of readTar(join(root, 'fer2013.csv'))) void entry;
    };
    await expect(consume()).rejects.toThrow(/not a tar archive/);
    // an archive cut short: a clear error, not a silent partial read
    const whole = readFileSync(join(root, 'UTKFace.tar.gz'));
    writeFileSync(join(root, 'cut.tar.gz'), whole.subarray(0, whole.length >> 1));
    await expect(collect('utkface', join(root, 'cut.tar.gz'))).rejects.toThrow(
      /cut\.tar\.gz: (corrupt gzip|truncated)/,
    );
  });
});

describe('ferplus layout', () => {
  it('takes the vote majority, drops unknown/not-a-face, breaks ties by column order', () => {
    expect(ferplusMajority([1, 8, 1, 0, 0, 0, 0, 0, 0, 0])).toBe('happiness');
    expect(ferplusMajority([0, 0, 0, 5, 5, 0, 0, 0, 0, 0])).toBe('sadness');
    expect(ferplusMajority([2, 0, 0, 0, 0, 0, 0, 0, 6, 2])).toBeNull();
    expect(ferplusMajority([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])).toBeNull();
    expect(ferplusMajority([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBeNull();
    // an emotion tied with 'unknown' comes first in the column order and wins
    expect(ferplusMajority([0, 0, 0, 0, 0, 0, 4, 0, 4, 0])).toBe('fear');
  });

  it.each([
    ['the split folder', 'ferplus/FER2013Test'],
    ['its parent', 'ferplus'],
    ['a tar.gz', 'ferplus.tar.gz'],
  ])('reads %s', async (_, path) => {
    const { reader, samples, skipped } = await collect('ferplus', join(root, path));
    expect(reader.tasks).toEqual(['emotion_ferplus']);
    expect(reader.geometry).toBe('fer');
    expect(Object.fromEntries(samples.map((s) => [s.name, s.labels.emotion_ferplus]))).toEqual({
      'fer0000001.png': 'happiness',
      'fer0000002.png': 'sadness',
      'fer0000005.png': 'contempt',
    });
    expect(skipped.counts).toEqual({ 'FER+ majority is unknown or not-a-face': 2, 'no label': 1 });
  });

  it('adds the original 7-class labels from --labels', async () => {
    const { reader, samples, skipped } = await collect('ferplus', join(root, 'ferplus'), {
      labels: join(root, 'fer2013_labels.csv'),
    });
    expect(reader.tasks).toEqual(['emotion_ferplus', 'emotion_fer2013']);
    const byName = Object.fromEntries(samples.map((s) => [s.name, s.labels]));
    expect(byName['fer0000001.png']).toEqual({ emotion_ferplus: 'happiness', emotion_fer2013: 'happy' });
    // no FER+ majority, but the original label still scores emotion_fer2013
    expect(byName['fer0000003.png']).toEqual({ emotion_fer2013: 'fear' });
    expect(skipped.total).toBe(2);
  });
});

describe('fer2013-csv layout', () => {
  it('reads the rows of one usage and skips bad rows with a reason', async () => {
    const { reader, samples, skipped } = await collect('fer2013-csv', join(root, 'fer2013.csv'), {
      usage: 'PrivateTest',
    });
    expect(reader.tasks).toEqual(['emotion_fer2013']);
    expect(samples.map((s) => s.labels.emotion_fer2013)).toEqual(['angry', 'neutral']);
    expect(skipped.counts).toEqual({ 'pixels are not 2304 values 0-255': 1, 'bad emotion label': 1 });
    const { data, info } = await sharp(samples[1].bytes).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([48, 48]);
    expect(data[0]).toBe(20);
  });

  it('reads every row without --usage', async () => {
    const { samples } = await collect('fer2013-csv', join(root, 'fer2013.csv'));
    expect(samples).toHaveLength(3);
  });

  it('rejects a CSV with other columns', async () => {
    await expect(collect('fer2013-csv', join(root, 'fer2013_labels.csv'))).rejects.toThrow(
      /not a fer2013.csv/,
    );
  });
});

describe('folders layout', () => {
  it('labels images by their folder; synonyms match the model labels, unknown classes stay', async () => {
    const { samples } = await collect('folders', join(root, 'classes'), { task: 'emotion' });
    const match = classMatcher([
      'neutral',
      'happy',
      'surprise',
      'sad',
      'angry',
      'disgust',
      'fear',
      'contempt',
    ]);
    expect(samples.map((s) => match(String(s.labels.emotion)))).toEqual([
      'happy',
      'happy',
      'angry',
      'confused',
    ]);
  });

  it('needs a valid --task', async () => {
    await expect(collect('folders', join(root, 'classes'), { task: 'age' })).rejects.toThrow(/--task/);
    await expect(collect('bogus', root)).rejects.toThrow(/unknown layout/);
  });
});

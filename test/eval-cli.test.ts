import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../src/cli/eval.js';

const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as {
  outputs: Record<string, { labels: string[] }>;
};
const SHARED = join('..', 'shared', 'data');

let root: string;

/** Runs `facemtl eval …` in this process; returns what it printed. */
async function facemtl(...args: string[]): Promise<string> {
  const program = new Command('facemtl').exitOverride();
  register(program);
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts) => void lines.push(parts.join(' ')));
  try {
    await program.parseAsync(['node', 'facemtl', ...args]);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

let runs = 0;

/** Runs `facemtl eval … --json FILE` and returns the parsed JSON report. */
async function evalJson(...args: string[]) {
  const json = join(root, `run-${++runs}.json`);
  await facemtl('eval', ...args, '--json', json);
  return JSON.parse(readFileSync(json, 'utf8'));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'facemtl-eval-cli-'));
  const folder = join(root, 'UTKFace');
  mkdirSync(folder);
  // face-sized crops of a real photo, named like UTKFace files
  const photo = 'node_modules/@vladmandic/face-api/demo/sample1.jpg';
  const names = [
    '23_1_0_20170116174525125.jpg.chip.jpg',
    '35_0_1_20170116174525126.jpg.chip.jpg',
    '8_1_2_20170116174525127.jpg.chip.jpg',
    '61_0_3_20170116174525128.jpg.chip.jpg',
    '44_1_4_20170116174525129.jpg.chip.jpg',
  ];
  for (const [i, name] of names.entries()) {
    const crop = { left: 100 + 250 * i, top: 150, width: 400, height: 400 };
    writeFileSync(join(folder, name), await sharp(photo).extract(crop).resize(200, 200).jpeg().toBuffer());
  }
  writeFileSync(
    join(folder, '39_1_20170116174525125.jpg.chip.jpg'),
    await sharp(photo).resize(200, 200).jpeg().toBuffer(),
  );
  writeFileSync(join(folder, '50_0_0_20170116174525130.jpg.chip.jpg'), Buffer.from('not a jpeg at all'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('facemtl eval (CLI)', () => {
  it('scores a tiny UTKFace folder and writes the documented JSON and report', async () => {
    const json = join(root, 'out.json');
    const reportDir = join(root, 'report');
    const table = await facemtl(
      'eval',
      'utkface',
      root,
      '--json',
      json,
      '--report',
      reportDir,
      '--batch',
      '2',
    );
    expect(table).toMatch(/age/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(report)).toEqual([
      'layout', 'path', 'model', 'precision', 'detect', 'framing', 'flip', 'n', 'skipped', 'skipped_reasons',
      'skipped_examples', 'not_detected', 'elapsed_s', 'age', 'gender', 'ethnicity', 'groups',
    ]); // prettier-ignore
    expect(report).toMatchObject({
      layout: 'utkface',
      path: root,
      precision: 'int8',
      detect: false,
      flip: false,
    });
    expect(report.model).toMatch(/facemtl-int8\.onnx$/);
    expect(report.n).toBe(5);
    expect(report.skipped).toBe(2);
    expect(report.skipped_reasons).toEqual({ 'malformed name': 1, 'unreadable image': 1 });
    expect(report.not_detected).toBe(0);
    expect(report.age.n).toBe(5);
    expect(report.age.mae).toBeGreaterThanOrEqual(0);
    expect(report.age.interval_coverage).toBeGreaterThanOrEqual(0);
    expect(report.age.interval_coverage).toBeLessThanOrEqual(1);
    for (const task of ['gender', 'ethnicity']) {
      const result = report[task];
      expect(Object.keys(result)).toEqual(['accuracy', 'per_class', 'confusion', 'ece', 'n']);
      expect(result.n).toBe(5);
      expect(result.confusion.labels).toEqual(contract.outputs[task].labels);
      const total = result.confusion.matrix.flat().reduce((a: number, b: number) => a + b, 0);
      expect(total).toBe(5);
      expect(Object.keys(result.per_class)).toEqual(contract.outputs[task].labels);
    }
    expect(report.ethnicity.per_class.white.support).toBe(1);
    expect(report.gender.per_class.female.support).toBe(3);
    expect(Object.keys(report.groups).sort()).toEqual([
      'asian/female',
      'black/male',
      'indian/male',
      'other/female',
      'white/female',
    ]);
    for (const file of ['summary.md', 'report.json', 'confusion-gender.png', 'confusion-ethnicity.png']) {
      expect(existsSync(join(reportDir, file))).toBe(true);
    }
    const png = await sharp(join(reportDir, 'confusion-ethnicity.png')).metadata();
    expect(png.width).toBeGreaterThan(200);
  });

  it('stops at --limit and fails with a clear message on a bad layout or path', async () => {
    const limited = await evalJson('utkface', join(root, 'UTKFace'), '--limit', '2', '--precision', 'fp32');
    expect(limited.n).toBe(2);
    expect(limited.model).toMatch(/facemtl-fp32\.onnx$/);
    // --model without --precision: the precision label comes from the file name
    const custom = await evalJson(
      'utkface',
      join(root, 'UTKFace'),
      '--limit',
      '1',
      '--model',
      'models/facemtl-fp32.onnx',
    );
    expect(custom).toMatchObject({ model: 'models/facemtl-fp32.onnx', precision: 'fp32', n: 1 });
    await expect(facemtl('eval', 'nonsense', root)).rejects.toThrow(/unknown layout/);
    await expect(facemtl('eval', 'utkface', join(root, 'missing'))).rejects.toThrow(/no such file/);
    writeFileSync(
      join(root, 'fer2013.csv'),
      `emotion,pixels,Usage\n0,${Array(2304).fill(9).join(' ')},PrivateTest\n`,
    );
    await expect(
      facemtl('eval', 'fer2013-csv', join(root, 'fer2013.csv'), '--usage', 'Test'),
    ).rejects.toThrow(/no fer2013-csv samples found with Usage "Test"/);
  });

  it('--only scores just the listed file names (a split list) and rejects an empty list', async () => {
    const list = join(root, 'test-split.txt');
    writeFileSync(
      list,
      '# the test split\n35_0_1_20170116174525126.jpg.chip.jpg\nUTKFace/44_1_4_20170116174525129.jpg.chip.jpg\n\n',
    );
    const report = await evalJson('utkface', join(root, 'UTKFace'), '--only', list);
    expect(report.n).toBe(2);
    expect(report.gender.per_class.male.support).toBe(1);
    expect(report.ethnicity.per_class.other.support).toBe(1);
    writeFileSync(list, '\n# nothing\n');
    await expect(facemtl('eval', 'utkface', root, '--only', list)).rejects.toThrow(/name list is empty/);
  });

  it('--flip averages each crop with its mirror: mirrored images then score the same', async () => {
    // lossless copies of the crops and of their mirror images (PNG bytes, told apart by content)
    const [upright, mirrored] = [join(root, 'flip', 'upright'), join(root, 'flip', 'mirrored')];
    mkdirSync(upright, { recursive: true });
    mkdirSync(mirrored, { recursive: true });
    for (const name of ['23_1_0_20170116174525125.jpg.chip.jpg', '61_0_3_20170116174525128.jpg.chip.jpg']) {
      const source = join(root, 'UTKFace', name);
      writeFileSync(join(upright, name), await sharp(source).png().toBuffer());
      writeFileSync(join(mirrored, name), await sharp(source).flop().png().toBuffer());
    }
    const table = await facemtl('eval', 'utkface', upright, '--flip');
    expect(table).toMatch(/flip-averaged/);
    const [plain, flipped, flippedMirror] = [
      await evalJson('utkface', upright),
      await evalJson('utkface', upright, '--flip'),
      await evalJson('utkface', mirrored, '--flip'),
    ];
    expect(plain.flip).toBe(false);
    expect(flipped).toMatchObject({ flip: true, n: 2 });
    expect(flipped.age.mae).not.toBe(plain.age.mae);
    // the crop of a mirrored image is the mirrored crop (to rounding): the same two runs, averaged
    expect(Math.abs(flippedMirror.age.mae - flipped.age.mae)).toBeLessThan(0.05);
  });

  it('--detect runs the pipeline; folder classes the model lacks and faces not found are misses', async () => {
    const classes = join(root, 'classes');
    mkdirSync(join(classes, 'Happiness'), { recursive: true });
    mkdirSync(join(classes, 'confused'), { recursive: true });
    const photo = 'node_modules/@vladmandic/face-api/demo/sample2.jpg';
    writeFileSync(join(classes, 'Happiness', 'photo.jpg'), await sharp(photo).resize(960).jpeg().toBuffer());
    const blank = { create: { width: 320, height: 240, channels: 3 as const, background: '#777' } };
    writeFileSync(join(classes, 'confused', 'blank.png'), await sharp(blank).png().toBuffer());
    const report = await evalJson('folders', classes, '--task', 'emotion', '--detect');
    expect(report).toMatchObject({
      layout: 'folders',
      detect: true,
      detector: 'auto',
      n: 2,
      skipped: 0,
      not_detected: 1,
    });
    const emotion = report.emotion;
    expect(emotion.n).toBe(2);
    expect(emotion.classes_not_in_model).toEqual(['confused']);
    expect(emotion.confusion.labels).toEqual([
      ...contract.outputs.emotion.labels,
      'confused',
      'not_detected',
    ]);
    expect(emotion.per_class.happy.support).toBe(1);
    expect(emotion.per_class.confused).toEqual({ recall: 0, support: 1 });
    // the blank image: true class "confused", predicted "not_detected"
    const confused = emotion.confusion.labels.indexOf('confused');
    expect(emotion.confusion.matrix[confused].at(-1)).toBe(1);
    expect(emotion.accuracy).toBeLessThanOrEqual(0.5);
  });

  it('--detector picks the detector (and implies --detect); the report says which ran', async () => {
    const front = await evalJson('utkface', join(root, 'UTKFace'), '--detector', 'front');
    expect(front).toMatchObject({ detect: true, framing: 'detect', detector: 'front' });
    const back = await evalJson('utkface', join(root, 'UTKFace'), '--detect', '--detector', 'back');
    expect(back).toMatchObject({ detect: true, detector: 'back' });
    // Another detector, other eyes, other crops: the same faces scored, not the same numbers.
    expect(back.n).toBe(front.n);
    expect(back.age.mae).not.toBe(front.age.mae);
    await expect(facemtl('eval', 'utkface', root, '--detector', 'side')).rejects.toThrow(/front \| back/);
  });

  it.skipIf(!existsSync(join(SHARED, 'utkface', 'UTKFace.tar.gz')))(
    'scores the first images of the shared UTKFace archive (skipped when ../shared/data is absent)',
    async () => {
      const report = await evalJson('utkface', join(SHARED, 'utkface', 'UTKFace.tar.gz'), '--limit', '64');
      expect(report.n).toBe(64);
      expect(report.age.n).toBe(64);
    },
  );
});

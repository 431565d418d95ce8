import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { pngHeaderOnly } from './fixtures/png.js';
import { FACE_KEYS } from './fixtures/face.js';

// Runs the built CLI, as a user would (`npm test` builds first).
const CLI = 'dist/cli/main.js';
const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three faces
const contract = JSON.parse(readFileSync('models/facemtl.json', 'utf8')) as {
  outputs: Record<string, { labels: string[] }>;
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function facemtl(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'node',
      [CLI, 'analyze', ...args, '--threads', '1'],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI) || !existsSync('dist/cli/analyze.js')) throw new Error('run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'facemtl-cli-analyze-'));
  writeFileSync(join(dir, 'empty.jpg'), '');
  writeFileSync(join(dir, 'notes.jpg'), 'not an image');
  writeFileSync(join(dir, 'truncated.jpg'), readFileSync(PHOTO).subarray(0, 3000));
  writeFileSync(join(dir, 'huge.png'), pngHeaderOnly(20000, 20000));
  await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } })
    .png()
    .toFile(join(dir, 'blank.png'));
});

describe('facemtl analyze', () => {
  it('--json: one entry per file with the library’s face objects; exit 0', async () => {
    const run = await facemtl(PHOTO, join(dir, 'blank.png'), '--json');
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as {
      file: string;
      width: number;
      height: number;
      faces: {
        box: object;
        score: number;
        landmarks: object;
        age: { years: number };
        emotion: { label: string };
      }[];
    }[];
    expect(results.map((result) => result.file)).toEqual([PHOTO, join(dir, 'blank.png')]);
    expect(results[0]).toMatchObject({ width: 1920, height: 1280 });
    expect(results[0].faces).toHaveLength(3);
    for (const face of results[0].faces) {
      expect(Object.keys(face).sort()).toEqual(FACE_KEYS);
      expect(contract.outputs.emotion.labels).toContain(face.emotion.label);
    }
    expect(results[1].faces).toEqual([]);
    expect(run.stderr).toBe('');
  });

  it('bad files get a one-line reason each, the batch goes on, exit 1', async () => {
    const bad = ['empty.jpg', 'notes.jpg', 'truncated.jpg', 'missing.jpg', 'huge.png'].map((name) =>
      join(dir, name),
    );
    const run = await facemtl(bad[0], PHOTO, ...bad.slice(1), '--json');
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout) as { file: string; faces?: unknown[]; error?: { code: string } }[];
    expect(results.map((result) => result.error?.code ?? 'ok')).toEqual([
      'empty',
      'ok',
      'unsupported',
      'corrupt',
      'unreadable',
      'too_large',
    ]);
    expect(results[1].faces).toHaveLength(3);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(5);
    bad.forEach((file, index) => expect(lines[index]).toMatch(new RegExp(`^facemtl: ${file}: \\S`)));
  });

  it('a folder is searched for images; the table names every file', async () => {
    const run = await facemtl(dir);
    expect(run.code).toBe(1); // the folder holds the bad files too
    expect(run.stdout).toContain(`${join(dir, 'blank.png')}  40×30  no face`);
    expect(run.stdout).toContain(`${join(dir, 'empty.jpg')}  error: empty`);
  });

  it('--csv: a header and one row per face', async () => {
    const run = await facemtl(PHOTO, '--csv');
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trim().split('\n');
    expect(header.split(',')).toContain('age_low');
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.split(',')).toHaveLength(header.split(',').length);
  });

  it('--annotate writes each analysed image with the overlay drawn', async () => {
    const out = join(dir, 'annotated');
    const run = await facemtl(PHOTO, '--annotate', out, '--json');
    expect(run.code).toBe(0);
    expect(readdirSync(out)).toEqual(['sample1.jpg']);
    const written = await sharp(join(out, 'sample1.jpg')).raw().toBuffer({ resolveWithObject: true });
    expect([written.info.width, written.info.height]).toEqual([1920, 1280]);
    // The box outline is drawn in green at the face's left edge.
    const face = (
      JSON.parse(run.stdout) as { faces: { box: { x: number; y: number; height: number } }[] }[]
    )[0].faces[0];
    const x = Math.round(face.box.x);
    const y = Math.round(face.box.y + face.box.height / 2);
    const offset = (y * 1920 + x) * 3;
    const [r, g, b] = written.data.subarray(offset, offset + 3);
    expect(g).toBeGreaterThan(150);
    expect(r).toBeLessThan(100);
    expect(b).toBeLessThan(150);
  });

  it('usage errors exit 2; --help documents the options', async () => {
    expect((await facemtl(PHOTO, '--precision', 'int4')).code).toBe(2);
    expect((await facemtl(PHOTO, '--min-score', '2')).code).toBe(2);
    const both = await facemtl(PHOTO, '--json', '--csv');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^facemtl: choose one of --json and --csv/);
    const help = await facemtl('--help');
    expect(help.code).toBe(0);
    for (const option of [
      '--threads',
      '--precision',
      '--detector',
      '--min-score',
      '--max-faces',
      '--model',
      '--annotate',
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});

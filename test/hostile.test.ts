/**
 * The hostile-input corpus (test/hostile/corpus.ts) against the library and the CLI: every case
 * gets its documented outcome — an `ImageError` code and a one-line reason in our words, or its
 * pixels — and a good image in the same batch still works.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError, loadImage, RASTER_FORMATS } from '../src/image/load.js';
import { FaceAnalyzer } from '../src/pipeline/index.js';
import { CLI } from './fixtures/cli.js';
import { GOOD_PHOTO, hostileImages, writeHostileCorpus, type HostileFile } from './hostile/corpus.js';

const CLI = 'dist/cli/main.js';
/** Words of the decoders (libvips, glib, libpng…) that must not reach a user. */
const DECODER_WORDS = /vips|glib|lib(png|jpeg|spng|rsvg|heif|tiff)|\bsharp\b|\n/i;

let dir: string;
let files: HostileFile[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'facemtl-hostile-'));
  files = await writeHostileCorpus(join(dir, 'corpus'));
}, 30_000);

async function outcome(promise: Promise<{ width: number; height: number }>) {
  try {
    const { width, height } = await promise;
    return { ok: { width, height } };
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    expect((error as Error).message).not.toMatch(DECODER_WORDS);
    return { error: (error as ImageError).code, message: (error as Error).message };
  }
}

describe('loadImage on the hostile corpus', () => {
  it('every file gets its documented outcome and a one-line reason naming it', async () => {
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) {
      const result = await outcome(loadImage(file.path));
      expect({ name: file.name, ...result, message: undefined }).toEqual({ name: file.name, ...file.expect });
      if (result.message) expect(result.message.startsWith(`${file.path}: `)).toBe(true);
    }
  });

  it('the same bytes in memory give the same outcomes', async () => {
    for (const image of await hostileImages()) {
      const result = await outcome(loadImage(image.bytes));
      expect({ name: image.name, ...result, message: undefined }).toEqual({
        name: image.name,
        ...image.expect,
      });
    }
  });

  it('refuses SVG by default in a millisecond, and renders a harmless SVG when opted in', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4"><rect width="8" height="4" fill="red"/></svg>',
    );
    const started = performance.now();
    const refused = await outcome(loadImage(svg));
    expect(refused).toMatchObject({
      error: 'unsupported',
      message: expect.stringMatching(/SVG is not accepted/),
    });
    expect(performance.now() - started).toBeLessThan(200);
    const rendered = await loadImage(svg, { formats: [...RASTER_FORMATS, 'svg'] });
    expect([rendered.width, rendered.height, ...rendered.data.subarray(0, 3)]).toEqual([8, 4, 255, 0, 0]);
    // and formats narrows the list: a PNG is refused when only JPEG is accepted
    const png = (await hostileImages()).find((image) => image.name === 'alpha.png')!.bytes;
    expect(await outcome(loadImage(png, { formats: ['jpeg'] }))).toMatchObject({ error: 'unsupported' });
  });

  it('refuses a file over maxBytes from its size', async () => {
    const result = await outcome(loadImage(GOOD_PHOTO, { maxBytes: 1000 }));
    expect(result).toMatchObject({
      error: 'too_large',
      message: expect.stringMatching(/more than the limit/),
    });
  });
});

describe('FaceAnalyzer on hostile input', () => {
  let analyzer: FaceAnalyzer;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ threads: 1, maxConcurrency: 2 });
  }, 30_000);
  afterAll(() => analyzer?.dispose());

  it('a good photo analysed among bad inputs at the same time still finds its faces', async () => {
    const bad = files.filter((file) => 'error' in file.expect).map((file) => file.path);
    const results = await Promise.allSettled([...bad, GOOD_PHOTO].map((path) => analyzer.analyze(path)));
    expect(results.slice(0, -1).every((result) => result.status === 'rejected')).toBe(true);
    const good = results.at(-1)!;
    expect(good.status === 'fulfilled' && good.value.faces.length).toBe(3);
  }, 60_000);

  it('runs at most maxConcurrency calls at once', async () => {
    const detector = analyzer.detector;
    const original = detector.detect.bind(detector);
    let active = 0;
    let most = 0;
    detector.detect = async (...args) => {
      most = Math.max(most, ++active);
      try {
        return await original(...args);
      } finally {
        active--;
      }
    };
    try {
      const image = await loadImage(files.find((file) => file.name === 'photo.jpg')!.path);
      await Promise.all(Array.from({ length: 6 }, () => analyzer.analyzeFrame(image)));
    } finally {
      detector.detect = original;
    }
    expect(most).toBe(2);
  }, 60_000);

  it('analyzeFrame checks its pixels: channels against the data length, short buffers', async () => {
    const rgba = { data: new Uint8Array(4 * 3 * 4), width: 4, height: 3 };
    expect(await outcome(analyzer.analyzeFrame(rgba))).toMatchObject({
      error: 'corrupt',
      message: expect.stringMatching(/48 bytes do not match 4×3×3 \(it looks like 4 channels\)/),
    });
    const short = { data: new Uint8Array(10), width: 4, height: 3, channels: 3 as const };
    expect(await outcome(analyzer.analyzeFrame(short))).toMatchObject({ error: 'corrupt' });
    const rgbaDeclared = { ...rgba, width: 4, height: 3, channels: 4 as const };
    expect((await analyzer.analyzeFrame(rgbaDeclared)).faces).toEqual([]);
  });

  it('dispose is idempotent; calls after it fail clearly', async () => {
    const own = await FaceAnalyzer.create({ threads: 1 });
    const running = own.analyze(GOOD_PHOTO); // a call in progress finishes first
    await Promise.all([own.dispose(), own.dispose()]);
    expect((await running).faces).toHaveLength(3);
    await own.dispose();
    await expect(own.analyze(GOOD_PHOTO)).rejects.toThrow(/disposed/);
  }, 60_000);
});

// ---------- the CLI ----------

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function facemtl(args: string[], prefix: string[] = []): Promise<Run> {
  const [command, ...rest] = [...prefix, 'node', CLI, ...args];
  try {
    const { stdout, stderr } = await promisify(execFile)(command, rest, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

type Entry = {
  file: string;
  faces?: unknown[];
  width?: number;
  height?: number;
  error?: { code: string; message: string };
};

describe('facemtl analyze on the hostile corpus', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error('run `npm run build` first');
  });

  it('every file given gets its code and one stderr line; the good photo still works; exit 1', async () => {
    // (a folder given on the command line is searched for images, so folder.jpg is left out here)
    const given = files.filter((file) => file.name !== 'folder.jpg');
    const paths = [...given.map((file) => file.path), GOOD_PHOTO];
    const run = await facemtl(['analyze', ...paths, '--json', '--threads', '1']);
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout) as Entry[];
    expect(results.map((entry) => entry.file)).toEqual(paths);
    given.forEach((file, index) => {
      const entry = results[index];
      const got = entry.error
        ? { error: entry.error.code }
        : { ok: { width: entry.width, height: entry.height } };
      expect({ name: file.name, ...got }).toEqual({ name: file.name, ...file.expect });
    });
    expect(results.at(-1)!.faces).toHaveLength(3);
    const lines = run.stderr.trim().split('\n');
    const bad = given.filter((file) => 'error' in file.expect);
    expect(lines).toHaveLength(bad.length);
    bad.forEach((file, index) => {
      expect(lines[index].startsWith(`facemtl: ${file.path}: `)).toBe(true);
      expect(lines[index]).not.toMatch(DECODER_WORDS);
    });
  }, 120_000);

  it('a folder: links to files are followed, special files and loops get a reason, the batch goes on', async () => {
    const folder = join(dir, 'corpus');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    symlinkSync('..', join(folder, 'sub', 'up')); // a loop back to the corpus folder
    const run = await facemtl(['analyze', folder, '--json', '--threads', '1']);
    expect(run.code).toBe(1);
    const results = JSON.parse(run.stdout) as Entry[];
    const byName = new Map(results.map((entry) => [entry.file.slice(folder.length + 1), entry]));
    expect(byName.get('link.jpg')).toMatchObject({ width: 240, height: 160 });
    expect(byName.get('photo.jpg')).toMatchObject({ width: 240, height: 160 });
    expect(byName.get('fifo.jpg')?.error?.message).toMatch(/not a regular file \(a FIFO\)/);
    expect(byName.get('loop-a.jpg')?.error?.message).toMatch(/symbolic link loop/);
    expect(byName.get('sub/up')?.error?.message).toMatch(/a loop/);
    expect(byName.get('huge-file.jpg')?.error?.code).toBe('too_large');
  }, 120_000);

  // As root every folder is readable: the CLI runs as `nobody` then (setpriv), to meet EACCES.
  const isRoot = process.getuid?.() === 0;
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  // `nobody` must also be able to read this checkout (a clone in a 0700 temp folder is not).
  const canDropRoot =
    !isRoot ||
    (existsSync('/usr/bin/setpriv') &&
      spawnSync(
        asNobody[0],
        [...asNobody.slice(1), process.execPath, '-e', `require('fs').accessSync('${CLI}')`],
        {
          cwd: process.cwd(),
        },
      ).status === 0);
  if (!canDropRoot)
    console.warn('hostile.test: skipping the unreadable-folder case: cannot run the CLI as nobody here');
  it.skipIf(process.platform === 'win32' || !canDropRoot)(
    'an unreadable subfolder is one line; the rest of the folder is analysed',
    async () => {
      const folder = mkdtempSync(join(tmpdir(), 'facemtl-unreadable-'));
      chmodSync(folder, 0o755);
      mkdirSync(join(folder, 'locked'));
      const photo = (await hostileImages()).find((image) => image.name === 'photo.jpg')!;
      writeFileSync(join(folder, 'photo.jpg'), photo.bytes);
      writeFileSync(join(folder, 'locked', 'hidden.jpg'), photo.bytes);
      chmodSync(join(folder, 'locked'), 0o000);
      const prefix = isRoot ? asNobody : [];
      const run = await facemtl(['analyze', folder, '--json', '--threads', '1'], prefix);
      chmodSync(join(folder, 'locked'), 0o755);
      expect(run.code).toBe(1);
      const results = JSON.parse(run.stdout) as Entry[];
      expect(results.map((entry) => [entry.file, entry.error?.code ?? 'ok'])).toEqual([
        [join(folder, 'locked'), 'unreadable'],
        [join(folder, 'photo.jpg'), 'ok'],
      ]);
      // (as nobody, ONNX Runtime also warns that it cannot keep its telemetry id in HOME)
      expect(run.stderr.split('\n').filter((line) => line.startsWith('facemtl:'))).toEqual([
        `facemtl: ${join(folder, 'locked')}: cannot list the folder (permission denied)`,
      ]);
    },
    60_000,
  );

  it('a failed --annotate write keeps the analysis (reported, exit 1)', async () => {
    const out = join(dir, 'annotated');
    mkdirSync(join(out, 'sample1.jpg'), { recursive: true }); // a folder where the copy should go
    const run = await facemtl(['analyze', GOOD_PHOTO, '--annotate', out, '--json', '--threads', '1']);
    expect(run.code).toBe(1);
    const [entry] = JSON.parse(run.stdout) as (Entry & { annotateError: string })[];
    expect(entry.faces).toHaveLength(3);
    expect(entry.annotateError).toMatch(/cannot write the annotated copy .*sample1\.jpg: is a directory/);
    expect(run.stderr).toBe(`facemtl: ${entry.annotateError}\n`);
    expect(readdirSync(join(out, 'sample1.jpg'))).toEqual([]);
  }, 60_000);

  it('one exit-code convention: usage errors exit 2 for every command, help exits 0', async () => {
    for (const args of [
      ['bogus'],
      ['serve', '--port', 'x'],
      ['serve', '--bogus'],
      ['analyze'],
      ['video'],
      ['eval'],
    ]) {
      const run = await facemtl(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(/error: /);
    }
    expect((await facemtl(['serve', '--help'])).code).toBe(0);
    expect((await facemtl(['--version'])).code).toBe(0);
  }, 60_000);
});

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RgbImage } from '../src/image/types.js';
import { VideoAnalyzer, type FrameResult } from '../src/video/analyzer.js';
import { annotateFrame } from '../src/video/annotate.js';
import { probeVideo, readVideoFrames, VideoError, VideoWriter } from '../src/video/ffmpeg.js';
import { SHIPPED_ATTRIBUTES } from './fixtures/face.js';
import { requireTool } from './fixtures/tools.js';

const hasFfmpeg = requireTool('video.test.ts', 'ffmpeg', 'apt-get install -y ffmpeg');
const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three women, frontal-ish faces
const FRAMES = 9;
const WIDTH = 480;
const HEIGHT = 320;
const dir = mkdtempSync(join(tmpdir(), 'facemtl-video-'));
const clip = join(dir, 'pan.mp4');

/** A slow pan over the photo: a 1440×960 window moving right 12 px per frame, scaled to 480×320. */
async function panFrames(): Promise<RgbImage[]> {
  const frames: RgbImage[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const { data } = await sharp(PHOTO)
      .extract({ left: 120 + 12 * i, top: 100, width: 1440, height: 960 })
      .resize(WIDTH, HEIGHT)
      .raw()
      .toBuffer({ resolveWithObject: true });
    frames.push({ data: new Uint8Array(data), width: WIDTH, height: HEIGHT });
  }
  return frames;
}

let frames: RgbImage[];
let video: VideoAnalyzer;

beforeAll(async () => {
  if (!hasFfmpeg) return;
  frames = await panFrames();
  const writer = VideoWriter.open(clip, { width: WIDTH, height: HEIGHT, fps: 10 });
  for (const frame of frames) await writer.write(frame);
  await writer.close();
  video = await VideoAnalyzer.create({ threads: 1, detector: 'back', detectEvery: 1 });
}, 60_000);

afterAll(async () => {
  await video?.dispose();
});

describe.skipIf(!hasFfmpeg)('FFmpeg frames', () => {
  it('writes a video and reads the same frames back', async () => {
    expect(await probeVideo(clip)).toEqual({ width: WIDTH, height: HEIGHT, fps: 10 });
    const read = [];
    for await (const frame of readVideoFrames(clip)) read.push(frame);
    expect(read.map((f) => f.index)).toEqual([...Array(FRAMES).keys()]);
    expect(read[3].time).toBeCloseTo(0.3);
    // Lossy H.264: close to the source pixels, not equal.
    let error = 0;
    for (let k = 0; k < read[4].data.length; k++) error += Math.abs(read[4].data[k] - frames[4].data[k]);
    expect(error / read[4].data.length).toBeLessThan(6);
  });

  it('scales frames and stops after maxFrames (and stops FFmpeg)', async () => {
    const read = [];
    for await (const frame of readVideoFrames(clip, { width: 240, maxFrames: 2 })) read.push(frame);
    expect(read.map((f) => [f.width, f.height, f.data.length])).toEqual([
      [240, 160, 240 * 160 * 3],
      [240, 160, 240 * 160 * 3],
    ]);
    for await (const frame of readVideoFrames(clip)) if (frame.index === 1) break; // no hang, no leak
  });

  it('reads ahead on a worker; with reuseBuffers a frame’s buffer goes back once the next is asked for', async () => {
    const own: Uint8Array[] = [];
    for await (const frame of readVideoFrames(clip, { readAhead: 1 })) own.push(frame.data);
    const reused: Uint8Array[] = [];
    const sums: number[] = [];
    for await (const frame of readVideoFrames(clip, { reuseBuffers: true, readAhead: 2 })) {
      if (reused.length > 0) expect(reused.at(-1)!.length).toBe(0); // handed back: detached here
      sums.push(frame.data.reduce((sum, value) => sum + value, 0));
      reused.push(frame.data);
    }
    expect(own.every((data) => data.length === WIDTH * HEIGHT * 3)).toBe(true); // kept frames stay whole
    expect(sums).toEqual(own.map((data) => data.reduce((sum, value) => sum + value, 0)));
    const read = async () => {
      for await (const _ of readVideoFrames(clip, { readAhead: 0 })) void _;
    };
    await expect(read()).rejects.toThrow(/readAhead/);
  });

  it('gives one-line errors for a missing file, a bad file and a missing ffmpeg', async () => {
    const bad = join(dir, 'bad.mp4');
    writeFileSync(bad, 'not a video');
    await expect(probeVideo(join(dir, 'nope.mp4'))).rejects.toThrow(
      /cannot read video .*nope\.mp4.*No such file/,
    );
    const read = async () => {
      for await (const _ of readVideoFrames(bad)) void _;
    };
    await expect(read()).rejects.toThrow(VideoError);
    const path = process.env.PATH;
    process.env.PATH = dir; // no ffprobe here
    try {
      await expect(probeVideo(clip)).rejects.toThrow('ffprobe not found: install FFmpeg');
    } finally {
      process.env.PATH = path;
    }
  });
});

describe.skipIf(!hasFfmpeg)('VideoAnalyzer', () => {
  let results: FrameResult[];

  beforeAll(async () => {
    results = [];
    for await (const result of video.analyzeFrames(readVideoFrames(clip))) results.push(result);
  }, 60_000);

  it('tracks each face under one id through the pan', () => {
    const counts = results.map((r) => r.faces.length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(2); // the third face is near the score threshold
    const ids = new Set(results.flatMap((r) => r.faces.map((f) => f.id)));
    expect(ids.size).toBe(Math.max(...counts)); // no track was broken and restarted
    for (const result of results)
      expect(result.faces.map((f) => f.id)).toEqual(expect.arrayContaining([1, 2]));
    // The faces move left as the window pans right.
    const first = results[0].faces.find((f) => f.id === 1)!;
    const last = results.at(-1)!.faces.find((f) => f.id === 1)!;
    expect(last.box.x).toBeLessThan(first.box.x);
    const summaries = video.finish();
    expect(summaries.map((s) => s.id)).toEqual([...ids].sort((a, b) => a - b));
    expect(summaries[0]).toMatchObject({ firstFrame: 0, lastFrame: FRAMES - 1, detections: FRAMES });
  });

  it('runs the models only every Nth frame with detectEvery, predicting boxes in between', async () => {
    const sparse = new VideoAnalyzer(video.analyzer, { detectEvery: 3 });
    const out: FrameResult[] = [];
    for await (const result of sparse.analyzeFrames(frames)) out.push(result);
    expect(out.map((r) => r.detected)).toEqual([true, false, false, true, false, false, true, false, false]);
    // In-between frames carry the tracks of the last detection, with moved boxes and the same labels.
    expect(out[1].faces.map((f) => f.id)).toEqual(out[0].faces.map((f) => f.id));
    expect(out[2].faces[0].emotion).toEqual(out[0].faces[0].emotion);
    for (const result of out) expect(result.faces.map((f) => f.id)).toEqual(expect.arrayContaining([1, 2]));
    expect(sparse.finish()[0]).toMatchObject({ id: 1, detections: 3, lastFrame: 6 });
  });

  it('with detectEvery N runs the models on ⌈frames/N⌉ frames; the others show the last attributes', async () => {
    const detect = vi.spyOn(video.analyzer, 'detect');
    const model = vi.spyOn(video.analyzer.model, 'runRaw');
    try {
      for (const every of [1, 2, 4, 9]) {
        detect.mockClear();
        model.mockClear();
        const sparse = new VideoAnalyzer(video.analyzer, { detectEvery: every });
        const out: FrameResult[] = [];
        for await (const result of sparse.analyzeFrames(frames)) out.push(result);
        expect([detect.mock.calls.length, model.mock.calls.length]).toEqual([
          Math.ceil(FRAMES / every),
          Math.ceil(FRAMES / every),
        ]);
        let shown = new Map<number, unknown>();
        for (const result of out) {
          expect(result.detected).toBe(result.frame % every === 0);
          const labels = result.faces.map((f) => [
            f.id,
            [f.age, f.gender, f.ethnicity, f.emotion, f.attributes],
          ]);
          if (result.detected) shown = new Map(labels as [number, unknown][]);
          else for (const [id, attributes] of labels) expect(attributes).toEqual(shown.get(id as number));
        }
      }
    } finally {
      detect.mockRestore();
      model.mockRestore();
    }
  });

  it('annotates a frame with its faces without changing its size', async () => {
    const annotated = await annotateFrame(frames[0], results[0]);
    expect([annotated.width, annotated.height, annotated.data.length]).toEqual([
      WIDTH,
      HEIGHT,
      WIDTH * HEIGHT * 3,
    ]);
    let changed = 0;
    for (let k = 0; k < annotated.data.length; k++) if (annotated.data[k] !== frames[0].data[k]) changed++;
    expect(changed).toBeGreaterThan(100);
  });

  it('rejects bad options', () => {
    expect(() => new VideoAnalyzer(video.analyzer, { detectEvery: 0 })).toThrow(/detectEvery/);
    expect(() => new VideoAnalyzer(video.analyzer, { smoothing: 2 })).toThrow(/alpha/);
  });
});

describe.skipIf(!hasFfmpeg)('facemtl video (CLI)', () => {
  const run = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)('node', ['dist/cli/main.js', 'video', ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('prints JSON lines: one per frame, then one per track', async () => {
    const { code, stdout } = await run(
      clip,
      '--json',
      '--threads',
      '1',
      '--detector',
      'back',
      '--max-frames',
      '3',
    );
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.slice(0, 3).map((l) => l.frame)).toEqual([0, 1, 2]);
    expect(lines.slice(3).every((l) => l.track && l.track.lastFrame === 2)).toBe(true);
    expect(lines.length).toBeGreaterThan(3);
    // The yes/no attributes of models that have them, on every face and track.
    const faces = [...lines.slice(0, 3).flatMap((l) => l.faces), ...lines.slice(3).map((l) => l.track)];
    expect(faces.length).toBeGreaterThan(3);
    for (const face of faces) expect(Object.keys(face.attributes ?? {})).toEqual([...SHIPPED_ATTRIBUTES]);
  }, 60_000);

  it('fails with one line for a file that is not a video', async () => {
    const bad = join(dir, 'bad.mp4');
    writeFileSync(bad, 'not a video');
    const { code, stderr } = await run(bad);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^facemtl: cannot read video/);
  });
});

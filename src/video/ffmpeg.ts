/**
 * Video in and out through FFmpeg (the `ffmpeg`/`ffprobe` programs on PATH): files and cameras are
 * decoded to raw RGB frames on a pipe, and annotated frames are piped back into an encoder.
 * Cameras are Linux V4L2 devices (`/dev/video0`, read with `-f v4l2`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { RgbImage } from '../image/types.js';

/** A clear, one-line reason why a video cannot be read or written. */
export class VideoError extends Error {
  override readonly name = 'VideoError';
}

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second (the stream's average rate; 30 when the source does not say). */
  fps: number;
}

export interface VideoFrame extends RgbImage {
  /** Frame number, from 0. */
  index: number;
  /** Presentation time in seconds (`index / fps`). */
  time: number;
}

export interface ReadVideoOptions {
  /** Scale frames to this width (and height, keeping the aspect ratio when only one is given). */
  width?: number;
  height?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Input options for FFmpeg before `-i` (default: `-f v4l2` for `/dev/video*`). */
  inputArgs?: string[];
  /**
   * Frames FFmpeg may decode ahead of the consumer (default 3): decoding then overlaps the work on
   * the previous frames instead of waiting for it.
   */
  readAhead?: number;
  /**
   * Reuse the pixel buffers: a frame's `data` is valid only until the next frame is asked for
   * (default false: every frame has buffers of its own that the caller may keep). Saves allocating
   * and collecting a frame-sized buffer per frame.
   */
  reuseBuffers?: boolean;
}

/** True for a V4L2 camera device path such as `/dev/video0`. */
export const isCameraDevice = (source: string): boolean => /^\/dev\/video\d+$/.test(source);

const inputArgsFor = (source: string, options: ReadVideoOptions): string[] =>
  options.inputArgs ?? (isCameraDevice(source) ? ['-f', 'v4l2'] : []);

/** Size and frame rate of a video file or camera, from `ffprobe`. */
export async function probeVideo(source: string, options: ReadVideoOptions = {}): Promise<VideoInfo> {
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,avg_frame_rate,r_frame_rate',
  ];
  const { stdout, stderr, code } = await run('ffprobe', [
    ...args,
    '-of',
    'json',
    ...inputArgsFor(source, options),
    source,
  ]);
  const stream = code === 0 ? (JSON.parse(stdout) as { streams?: ProbedStream[] }).streams?.[0] : undefined;
  if (!stream?.width || !stream.height) {
    const reason = firstLine(stderr) || 'no video stream';
    throw new VideoError(`cannot read video "${source}": ${reason}`);
  }
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 30;
  const size = outputSize(stream.width, stream.height, options);
  return { ...size, fps };
}

interface ProbedStream {
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
}

/**
 * The frames of a video file or camera as RGB images, decoded by FFmpeg. Stopping early (a `break`
 * in `for await`) stops FFmpeg. Throws `VideoError` when FFmpeg is missing or the input is bad.
 *
 * FFmpeg's pipe is read on a worker thread, into up to `readAhead` frames that wait for the
 * consumer: decoding and reading the pipe overlap the consumer's work (ONNX Runtime runs block the
 * main thread's event loop, and with it any pipe read there), and the main thread only receives
 * whole frames.
 */
export async function* readVideoFrames(
  source: string,
  options: ReadVideoOptions = {},
): AsyncGenerator<VideoFrame, void, undefined> {
  const readAhead = options.readAhead ?? 3;
  if (!Number.isInteger(readAhead) || readAhead < 1)
    throw new RangeError(`readAhead must be a positive integer, not ${readAhead}`);
  const info = await probeVideo(source, options);
  const { width, height, fps } = info;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-noautorotate'];
  args.push(...inputArgsFor(source, options), '-i', source, '-map', '0:v:0');
  if (options.maxFrames !== undefined) args.push('-frames:v', String(options.maxFrames));
  args.push('-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const reader = new FrameReader(args, width * height * 3, readAhead);
  let index = 0;
  try {
    for (;;) {
      const message = await reader.next();
      if ('frame' in message) {
        const data = new Uint8Array(message.frame);
        yield { data, width, height, index, time: index / fps };
        index += 1;
        reader.done(data, options.reuseBuffers ?? false);
      } else if ('error' in message) {
        throw message.error === 'ENOENT'
          ? new VideoError('ffmpeg not found: install FFmpeg (e.g. apt-get install ffmpeg)')
          : new Error(message.error);
      } else {
        if (message.exit !== 0) {
          const reason = firstLine(message.stderr) || `ffmpeg exit ${message.exit}`;
          throw new VideoError(`cannot decode "${source}": ${reason}`);
        }
        if (index === 0) throw new VideoError(`cannot decode "${source}": no frames`);
        return;
      }
    }
  } finally {
    await reader.close();
  }
}

type ReaderMessage = { frame: ArrayBuffer } | { error: string } | { exit: number; stderr: string };

/**
 * The worker thread of `readVideoFrames` (CommonJS, run with `eval`, so it needs no file of its
 * own): runs FFmpeg, cuts its output into frames, posts each frame's buffer (transferred, not
 * copied) and pauses the pipe while `readAhead` frames wait. The main thread answers each frame
 * with `{ credit }` or, reusing buffers, `{ recycle: buffer }`.
 */
const READER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { args, frameBytes, readAhead } = workerData;
const ffmpeg = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
ffmpeg.stderr.setEncoding('utf8');
ffmpeg.stderr.on('data', (text) => (stderr = (stderr + text).slice(-65536)));
ffmpeg.on('error', (error) => parentPort.postMessage({ error: error.code === 'ENOENT' ? 'ENOENT' : error.message }));
ffmpeg.on('close', (code, signal) => {
  parentPort.postMessage({ exit: code ?? (signal ? 128 : 1), stderr });
  parentPort.close();
});
const spare = [];
let current;
let filled = 0;
let waiting = 0;
const out = ffmpeg.stdout;
out.on('data', (chunk) => {
  for (let offset = 0; offset < chunk.length; ) {
    current ??= new Uint8Array(spare.pop() ?? new ArrayBuffer(frameBytes));
    const take = Math.min(frameBytes - filled, chunk.length - offset);
    current.set(chunk.subarray(offset, offset + take), filled);
    filled += take;
    offset += take;
    if (filled === frameBytes) {
      parentPort.postMessage({ frame: current.buffer }, [current.buffer]);
      current = undefined;
      filled = 0;
      waiting += 1;
    }
  }
  if (waiting >= readAhead) out.pause();
});
parentPort.on('message', (message) => {
  if (message.stop) return ffmpeg.kill('SIGKILL');
  if (message.recycle) spare.push(message.recycle);
  waiting -= 1;
  if (waiting < readAhead && out.isPaused()) out.resume();
});
`;

/** The main thread's side of the reader worker: its messages in order, and flow control. */
class FrameReader {
  private readonly worker: Worker;
  private readonly messages: ReaderMessage[] = [];
  private wake: (() => void) | undefined;
  private exited = false;

  constructor(args: string[], frameBytes: number, readAhead: number) {
    this.worker = new Worker(READER_WORKER, { eval: true, workerData: { args, frameBytes, readAhead } });
    this.worker.on('message', (message: ReaderMessage) => this.push(message));
    this.worker.on('error', (error: Error) => this.push({ error: error.message }));
    this.worker.on('exit', () => {
      this.exited = true;
      this.push({ error: 'the frame reader stopped' }); // only read when no exit message came first
    });
  }

  async next(): Promise<ReaderMessage> {
    while (this.messages.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.messages.shift()!;
  }

  /** The consumer is done with a frame: lets the worker read one more, reusing its buffer. */
  done(frame: Uint8Array, reuse: boolean): void {
    if (this.exited) return;
    if (reuse) this.worker.postMessage({ recycle: frame.buffer }, [frame.buffer as ArrayBuffer]);
    else this.worker.postMessage({ credit: 1 });
  }

  /** Stops FFmpeg (when still running) and waits for the worker to end. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exit = once(this.worker, 'exit');
    this.worker.postMessage({ stop: true });
    await exit;
  }

  private push(message: ReaderMessage): void {
    this.messages.push(message);
    this.wake?.();
    this.wake = undefined;
  }
}

export interface WriteVideoOptions {
  width: number;
  height: number;
  fps: number;
  /** Output options for FFmpeg (default: H.264, yuv420p, preset veryfast). */
  outputArgs?: string[];
}

/** Encodes RGB frames into a video file through FFmpeg. `write` each frame, then `close`. */
export class VideoWriter {
  private readonly stderr: () => string;
  private readonly exited: Promise<number>;
  private failure: Error | undefined;

  private constructor(
    private readonly ffmpeg: ChildProcess,
    private readonly path: string,
    private readonly frameBytes: number,
  ) {
    this.stderr = collect(ffmpeg.stderr!);
    this.exited = exitCode(ffmpeg);
    // A broken pipe (ffmpeg died) surfaces in `write`/`close` with ffmpeg's own message.
    ffmpeg.stdin!.on('error', (error) => (this.failure ??= error));
  }

  static open(path: string, options: WriteVideoOptions): VideoWriter {
    const { width, height, fps } = options;
    const output = options.outputArgs ?? ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
    args.push('-s', `${width}x${height}`, '-r', String(fps), '-i', '-');
    // yuv420p needs even sides: pad by one pixel when odd.
    args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', ...output, path);
    return new VideoWriter(start('ffmpeg', args, ['pipe', 'ignore', 'pipe']), path, width * height * 3);
  }

  async write(frame: RgbImage): Promise<void> {
    if (frame.data.length !== this.frameBytes)
      throw new RangeError(`frame has ${frame.data.length} bytes, the video ${this.frameBytes}`);
    if (this.failure) await this.close();
    if (!this.ffmpeg.stdin!.write(frame.data)) {
      await Promise.race([once(this.ffmpeg.stdin!, 'drain'), this.exited]);
    }
  }

  /** Finishes the file; throws `VideoError` when FFmpeg failed. */
  async close(): Promise<void> {
    this.ffmpeg.stdin!.end();
    const code = await this.exited;
    if (code !== 0 || this.failure) {
      const reason = firstLine(this.stderr()) || this.failure?.message || `ffmpeg exit ${code}`;
      throw new VideoError(`cannot write video "${this.path}": ${reason}`);
    }
  }
}

// ---------- process helpers ----------

function start(program: string, args: string[], stdio: ('pipe' | 'ignore')[]): ChildProcess {
  const child = spawn(program, args, { stdio: stdio as ['pipe', 'pipe', 'pipe'] });
  child.on('error', () => {}); // reported by exitCode
  return child;
}

/** The exit code; a missing program becomes a `VideoError` that says how to install it. */
function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new VideoError(`${child.spawnfile} not found: install FFmpeg (e.g. apt-get install ffmpeg)`)
          : error,
      ),
    );
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function run(
  program: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = start(program, args, ['ignore', 'pipe', 'pipe']);
  const stdout = collect(child.stdout!);
  const stderr = collect(child.stderr!);
  const code = await exitCode(child);
  return { stdout: stdout(), stderr: stderr(), code };
}

/** Collects a stream's text (the last 64 KiB); call the result to read it. */
function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text = (text + chunk).slice(-65536)));
  return () => text;
}

const firstLine = (text: string) => text.trim().split('\n')[0]?.trim() ?? '';

function rate(fraction: string | undefined): number {
  const [num, den] = (fraction ?? '').split('/').map(Number);
  const value = den ? num / den : num;
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Output size for the width/height options, keeping the aspect ratio; even, at least 2. */
function outputSize(sourceWidth: number, sourceHeight: number, options: ReadVideoOptions) {
  const even = (value: number) => Math.max(2, Math.round(value / 2) * 2);
  if (options.width && options.height) return { width: even(options.width), height: even(options.height) };
  if (options.width)
    return { width: even(options.width), height: even((options.width * sourceHeight) / sourceWidth) };
  if (options.height)
    return { width: even((options.height * sourceWidth) / sourceHeight), height: even(options.height) };
  return { width: sourceWidth, height: sourceHeight };
}

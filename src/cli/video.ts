/**
 * `facemtl video <file|device>`: faces tracked through a video file or camera, with smoothed
 * attributes. Prints a per-track table at the end (or JSON lines with `--json`), and can write an
 * annotated copy of the video (`--annotate OUT.mp4`). See docs/video.md.
 */
import type { Command } from 'commander';
import { presentAttributes } from '../attributes/binary.js';
import type { Precision } from '../attributes/model.js';
import { DETECTORS, type DetectorChoice } from '../detect/detector.js';
import { annotateFrame } from '../video/annotate.js';
import { VideoAnalyzer, type TrackSummary } from '../video/analyzer.js';
import { isCameraDevice, probeVideo, readVideoFrames, VideoWriter } from '../video/ffmpeg.js';
import { addModelOptions, choice, fraction, integer } from './options.js';
import { Progress } from './progress.js';

interface VideoFlags {
  json?: boolean;
  annotate?: string;
  detectEvery: number;
  smoothing: number;
  maxMissed: number;
  minIou: number;
  width?: number;
  maxFrames?: number;
  model?: string;
  precision: Precision;
  threads?: number;
  detector: DetectorChoice;
  minScore: number;
  maxFaces: number;
  minFaceSize: number;
  refine: boolean;
}

export function register(program: Command): void {
  addModelOptions(program.command('video'))
    .description(
      'track faces through a video file or camera (/dev/video0) with smoothed attributes (docs/video.md)',
    )
    .argument('<source>', 'video file (anything FFmpeg reads) or V4L2 camera device such as /dev/video0')
    .option('--json', 'print JSON lines: one per frame, then one per track ({"track": …})')
    .option('--annotate <out>', 'write the video with boxes, track ids and labels to OUT (e.g. out.mp4)')
    .option(
      '--detect-every <n>',
      'run the models on every Nth frame, track in between',
      integer('--detect-every', 1),
      1,
    )
    .option(
      '--smoothing <alpha>',
      'weight of the newest frame in the attribute average (1 = off)',
      fraction('--smoothing'),
      0.3,
    )
    .option(
      '--max-missed <n>',
      'end a track after N detector runs without its face',
      integer('--max-missed', 0),
      15,
    )
    .option('--min-iou <iou>', 'minimum box overlap to continue a track', fraction('--min-iou'), 0.3)
    .option(
      '--width <px>',
      'scale frames to this width first (keeps the aspect ratio)',
      integer('--width', 16),
    )
    .option(
      '--max-frames <n>',
      'stop after N frames (cameras run until interrupted otherwise)',
      integer('--max-frames', 1),
    )
    .option('--detector <detector>', 'front | back | auto (see facemtl analyze)', choice(DETECTORS), 'auto')
    .option('--no-refine', 'skip the close-up re-detection of each face (faster, less exact eyes)')
    .option('--min-score <score>', 'minimum detection score, 0–1', fraction('--min-score'), 0.5)
    .option('--max-faces <n>', 'at most N faces per frame', integer('--max-faces', 1), 20)
    .option('--min-face-size <px>', 'ignore faces narrower than PX pixels', integer('--min-face-size', 0), 0)
    .action(async (source: string, flags: VideoFlags) => runVideo(source, flags));
}

async function runVideo(source: string, flags: VideoFlags): Promise<void> {
  // Without --annotate nothing keeps a frame past its analysis: reuse the buffers.
  const readOptions = { width: flags.width, maxFrames: flags.maxFrames, reuseBuffers: !flags.annotate };
  const info = await probeVideo(source, readOptions); // fails fast, before loading models
  const video = await VideoAnalyzer.create({
    modelPath: flags.model,
    precision: flags.precision,
    threads: flags.threads,
    detector: flags.detector,
    refine: flags.refine,
    minScore: flags.minScore,
    maxFaces: flags.maxFaces,
    minFaceSize: flags.minFaceSize,
    detectEvery: flags.detectEvery,
    smoothing: flags.smoothing,
    maxMissed: flags.maxMissed,
    minIou: flags.minIou,
    fps: info.fps,
  });
  const writer = flags.annotate ? VideoWriter.open(flags.annotate, info) : undefined;
  const started = performance.now();
  const progress = new Progress({ label: 'video', total: flags.maxFrames, unit: 'frames' });
  let frames = 0;
  const stop = () => (stopped = true);
  let stopped = false;
  if (isCameraDevice(source)) process.once('SIGINT', stop); // Ctrl-C ends a camera run cleanly
  try {
    for await (const frame of readVideoFrames(source, readOptions)) {
      const result = await video.analyzeFrame(frame);
      frames += 1;
      if (flags.json) {
        progress.clear();
        process.stdout.write(JSON.stringify(result) + '\n');
      }
      progress.update(frames, `${result.faces.length} faces`);
      if (writer) await writer.write(await annotateFrame(frame, result));
      if (stopped) break;
    }
    await writer?.close();
  } finally {
    progress.done();
    process.off('SIGINT', stop);
    await video.dispose();
  }
  const tracks = video.finish();
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    for (const track of tracks) process.stdout.write(JSON.stringify({ track }) + '\n');
  } else {
    process.stdout.write(trackTable(tracks).join('\n') + '\n');
  }
  console.error(
    `${frames} frames (${info.width}×${info.height}) in ${seconds.toFixed(1)} s: ${(frames / seconds).toFixed(1)} frames/s` +
      (flags.annotate ? `; wrote ${flags.annotate}` : ''),
  );
}

function trackTable(tracks: TrackSummary[]): string[] {
  if (tracks.length === 0) return ['no faces'];
  return tracks.map((t) =>
    (
      `track ${t.id}  ${t.firstTime.toFixed(2)}–${t.lastTime.toFixed(2)} s  ${t.detections} detections  ` +
      `${t.gender.label} (${pct(t.gender.probability)})  age ${t.age.years.toFixed(0)} ` +
      `[${t.age.low.toFixed(0)}–${t.age.high.toFixed(0)}]  ${t.ethnicity.label} (${pct(t.ethnicity.probabilities[t.ethnicity.label])})  ` +
      `${t.emotion.label} (${pct(t.emotion.probabilities[t.emotion.label])})  ` +
      presentAttributes(t.attributes).join(', ')
    ).trimEnd(),
  );
}

const pct = (p: number) => `${Math.round(p * 100)}%`;

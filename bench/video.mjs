#!/usr/bin/env node
/* global performance */
/**
 * Video benchmark: frames per second of `VideoAnalyzer` on a 640×480 clip (FFmpeg decoding
 * included) on 1 and 2 threads, with the models on every frame and on every 3rd, and label
 * stability (label changes per track per second) with and without smoothing.
 *
 * The clip is a slow pan and zoom over a real group photo (face-api's sample6.jpg: four faces),
 * made with FFmpeg's zoompan filter. Writes bench/results/video.md.
 *
 *   npm run build && node bench/video.mjs [--seconds 6] [--image path] [--out bench/results/video.md]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaceAnalyzer, VideoAnalyzer, labelStability, loadContract, readVideoFrames } from '../dist/index.js';
import { machineInfo } from '../dist/bench/machine.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    image: { type: 'string', default: 'node_modules/@vladmandic/face-api/demo/sample6.jpg' },
    out: { type: 'string', default: 'bench/results/video.md' },
  },
});
const seconds = Number(args.seconds);
const fps = 30;
const frames = seconds * fps;
// The heads' labels, and the yes/no attributes' decisions of a model that has them.
const contract = loadContract();
const LABELS = [
  'gender',
  'ethnicity',
  'emotion',
  ...(contract.outputs.attributes?.kind === 'binary' ? contract.outputs.attributes.labels : []),
];

// A slow pan left→right with a slight zoom-in; the photo is upscaled first so zoompan's integer
// crop positions do not make the picture jitter.
const clip = join(mkdtempSync(join(tmpdir(), 'facemtl-bench-video-')), 'pan.mp4');
const zoompan =
  `scale=3840:-2,zoompan=z='1.4+0.002*on':x='(iw-iw/zoom)*on/${frames}':y='(ih-ih/zoom)/2'` +
  `:d=${frames}:s=640x480:fps=${fps}`;
const makeClip = [
  '-hide_banner',
  '-loglevel',
  'error',
  '-y',
  '-i',
  args.image,
  '-vf',
  zoompan,
  '-frames:v',
  String(frames),
];
makeClip.push('-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip);
execFileSync('ffmpeg', makeClip);

async function run({ threads, detectEvery, smoothing }) {
  const analyzer = await FaceAnalyzer.create({ threads });
  const video = new VideoAnalyzer(analyzer, { detectEvery, smoothing, fps });
  const results = [];
  const started = performance.now();
  for await (const frame of readVideoFrames(clip)) results.push(await video.analyzeFrame(frame));
  const elapsed = (performance.now() - started) / 1000;
  const tracks = video.finish();
  await analyzer.dispose();
  const stability = Object.fromEntries(LABELS.map((name) => [name, labelStability(results, name)]));
  return {
    threads,
    detectEvery,
    smoothing,
    frames: results.length,
    fps: results.length / elapsed,
    tracks,
    stability,
  };
}

const runs = [];
for (const threads of [1, 2]) {
  for (const detectEvery of [1, 3]) {
    runs.push(await run({ threads, detectEvery, smoothing: 0.3 }));
    console.error(`threads ${threads}, detect every ${detectEvery}: ${runs.at(-1).fps.toFixed(1)} frames/s`);
  }
}
// Stability does not depend on the thread count: the faster single-thread runs.
const unsmoothed = await run({ threads: 1, detectEvery: 1, smoothing: 1 });
const smoothed = runs.find((r) => r.threads === 1 && r.detectEvery === 1);
const slow = await run({ threads: 1, detectEvery: 1, smoothing: 0.1 });

const machine = machineInfo();
const f1 = (x) => x.toFixed(1);
const machineLine = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}`;
const f2 = (x) => x.toFixed(2);
const lines = [
  '# Video: speed and label stability',
  '',
  `Measured ${new Date().toISOString().slice(0, 16)} UTC by \`npm run build && node bench/video.mjs --seconds ${seconds}\`.`,
  `Machine: ${machineLine}; load average at the end ${loadavg().map(f2).join(' ')}`,
  '(a load near or above the 2 cores means other work shared the CPU: speeds are then lower bounds, and',
  'with one core busy, 2 ONNX Runtime threads wait on each other and run slower than 1).',
  '',
  `Clip: ${seconds} s, ${frames} frames, 640×480 at ${fps} fps, a slow pan and zoom over \`${args.image}\``,
  '(FFmpeg zoompan, H.264). Default detector (`auto`: BlazeFace back model + close-up refinement),',
  `attribute model \`models/facemtl-int8.onnx\` (modified ${statSync('models/facemtl-int8.onnx').mtime.toISOString().slice(0, 16)} UTC).`,
  'Frames per second include FFmpeg decoding and tracking; no annotation output.',
  '',
  '## Speed',
  '',
  '| threads | models run on | frames/s | tracks |',
  '| --- | --- | --- | --- |',
  ...runs.map(
    (r) =>
      `| ${r.threads} | ${r.detectEvery === 1 ? 'every frame' : `every ${r.detectEvery}rd frame`} | ${f1(r.fps)} | ${r.tracks.length} |`,
  ),
  '',
  '## Label stability (models on every frame)',
  '',
  'Label changes per track per second of track time (lower = steadier); smoothing = exponential moving',
  'average of the probabilities weighted by detection score; alpha = weight of the newest frame (1 = each frame on its own).',
  'For the yes/no attributes (smile, eyeglasses, …) a change is the decision (`present`, at the contract threshold) flipping.',
  '',
  '| attribute | smoothing off (alpha 1) | alpha 0.3 (default) | alpha 0.1 |',
  '| --- | --- | --- | --- |',
  ...LABELS.filter((name) => smoothed.stability[name].tracks > 0).map((name) => {
    const cell = (r) =>
      `${f2(r.stability[name].changesPerTrackSecond)} (${r.stability[name].changes} changes)`;
    return `| ${name} | ${cell(unsmoothed)} | ${cell(smoothed)} | ${cell(slow)} |`;
  }),
  '',
  `Tracks: ${smoothed.tracks.length}, ${f1(smoothed.stability.emotion.trackSeconds)} s of track time in all.`,
  '',
];
writeFileSync(args.out, lines.join('\n'));
console.error(`wrote ${args.out}`);
